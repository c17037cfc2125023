//! Mobile and desktop twins: where `host_twins` says a mobile host mirrors a desktop
//! one, a page linked on both is one document (and one fetch), kept at its desktop
//! address. Here `localhost` plays the mobile site of `127.0.0.1`.

use axum::extract::Path;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
mod common;
use common::{harness, source};

async fn page(port: u16, Path(name): Path<String>) -> Response {
    let html = match name.as_str() {
        "list.html" => format!(
            "<ul class=\"list\"><li><a href=\"http://127.0.0.1:{port}/a/1.html\">桌面版</a></li><li><a href=\"http://localhost:{port}/a/1.html\">手机版</a></li></ul>"
        ),
        _ => "<html><head><title>校车安全检查</title></head><body><h1>校车安全检查</h1><div><p>县教育局开展校车安全检查，覆盖全部校车。</p></div></body></html>".to_string(),
    };
    ([("content-type", "text/html; charset=utf-8")], html).into_response()
}

async fn crawl(twins: &str) -> (usize, Vec<String>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let app = Router::new().route("/a/{name}", get(move |path| page(port, path)));
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    let mut test = harness(&toml::from_str(&format!("request_delay_ms = 0\n{twins}")).unwrap());
    let crawler = &test.crawler;
    let source = source(&format!(
        "name = \"双版本\"\nkind = \"listing\"\nurl = \"http://127.0.0.1:{port}/a/list.html\"\nallowed_networks = [\"127.0.0.0/8\"]\n[listing]\nlink_selector = \".list a\"\nlink_pattern = '.'\n"
    ));
    let report = crawler.visit(&source).await.unwrap();
    let mut urls = Vec::new();
    for _ in 0..report.collected {
        let doc = test.raw.recv().await.unwrap().unwrap().message;
        urls.push(doc.url.replace(&port.to_string(), "PORT"));
    }
    (report.collected, urls)
}

#[tokio::test]
async fn a_page_on_twin_hosts_is_one_document_at_its_desktop_address() {
    let (collected, urls) = crawl("[host_twins]\nlocalhost = \"127.0.0.1\"\n").await;
    assert_eq!(collected, 1, "{urls:?}");
    assert_eq!(urls, ["http://127.0.0.1:PORT/a/1.html"]);
    let (collected, _) = crawl("").await;
    assert_eq!(
        collected, 2,
        "without host_twins the two addresses are two pages"
    );
}
