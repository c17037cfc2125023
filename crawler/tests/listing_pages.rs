//! A listing of several pages: a visit follows the "next page" link up to
//! `listing_pages`, and the next visit stops at the first page whose links it has seen.

use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
mod common;
use common::{harness, paced, serve, source};
use std::sync::{Arc, Mutex};
use yuqing_crawler::SourceConfig;

type Requests = Arc<Mutex<Vec<String>>>;

async fn page(State(requests): State<Requests>, Path(name): Path<String>) -> Response {
    requests.lock().unwrap().push(name.clone());
    let listing = |links: &[u32], next: &str| {
        let items: String = links
            .iter()
            .map(|n| format!("<li><a href=\"{n}.html\">第{n}篇</a></li>"))
            .collect();
        format!("<ul class=\"list\">{items}</ul><div class=\"pager\"><a href=\"list.html\">首页</a> <a href=\"{next}\">下一页</a></div>")
    };
    let html = match name.as_str() {
        "list.html" => listing(&[1, 2], "list_2.html"),
        "list_2.html" => listing(&[3, 4], "list_3.html"),
        // The last page's "next" leads back to the first.
        "list_3.html" => listing(&[5], "list.html"),
        n => {
            let n = n.trim_end_matches(".html");
            format!("<html><head><title>第{n}篇</title></head><body><h1>第{n}篇</h1><div><p>第{n}篇：学校开展安全教育活动。</p></div></body></html>")
        }
    };
    ([("content-type", "text/html; charset=utf-8")], html).into_response()
}

#[tokio::test]
async fn a_visit_reads_the_next_pages_and_the_next_visit_stops_at_what_it_knows() {
    let requests = Requests::default();
    let app = Router::new()
        .route("/l/{name}", get(page))
        .with_state(requests.clone());
    let base = serve(app).await;
    let test = harness(&paced(0));
    let crawler = &test.crawler;
    let source = source(&format!(
        "name = \"分页列表\"\nkind = \"listing\"\nurl = \"{base}/l/list.html\"\nallowed_networks = [\"127.0.0.0/8\"]\n[listing]\nlink_selector = \".list a\"\npages = 5\n"
    ));
    let lists = |requests: &Requests| {
        requests
            .lock()
            .unwrap()
            .iter()
            .filter(|r| r.starts_with("list"))
            .cloned()
            .collect::<Vec<_>>()
    };

    let report = crawler.visit(&source).await.unwrap();
    assert_eq!(report.collected, 5, "{report:?}");
    assert_eq!(
        lists(&requests),
        ["list.html", "list_2.html", "list_3.html"],
        "three pages, and no loop back to the first"
    );

    requests.lock().unwrap().clear();
    let again = crawler.visit(&source).await.unwrap();
    assert_eq!((again.collected, again.already_seen), (0, 2), "{again:?}");
    assert_eq!(
        lists(&requests),
        ["list.html"],
        "caught up on the first page"
    );

    let err = toml::from_str::<SourceConfig>(&format!(
        "name = \"x\"\nkind = \"feed\"\nurl = \"{base}/rss.xml\"\nlisting_pages = 3\n"
    ))
    .unwrap_err()
    .to_string();
    assert!(err.contains("apply to listing sources only"), "{err}");
    let err = toml::from_str::<SourceConfig>(&format!(
        "name = \"x\"\nkind = \"feed\"\nurl = \"{base}/rss.xml\"\n[listing]\npages = 3\n"
    ))
    .unwrap()
    .build("")
    .unwrap_err();
    assert!(
        err.contains("[source.listing] applies to listing sources"),
        "{err}"
    );
}
