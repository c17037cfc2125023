//! The crawler against a hostile site served on loopback by the test: errors, rate
//! limits, redirect loops, redirects and links into private networks, huge bodies.

use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use yuqing_bus::{Consumer, EmbeddedBus, Producer};
use yuqing_crawler::{Crawler, CrawlerSettings, SeenStore, SourceConfig};
use yuqing_model::RawDocument;

#[derive(Clone, Default)]
struct Hits(Arc<Mutex<HashMap<String, u32>>>);

impl Hits {
    fn count(&self, page: &str) -> u32 {
        self.0.lock().unwrap().get(page).copied().unwrap_or(0)
    }
}

fn article(title: &str) -> String {
    format!(
        "<html><head><meta charset=\"utf-8\"><title>{title}</title></head><body><h1>{title}</h1>\
         <div class=\"info\">发布时间：2026-11-20 09:30 来源：测试日报</div>\
         <div class=\"text\"><p>{title}。这是正文的第一段，足够长以便被识别为正文内容。</p><p>第二段继续说明情况。</p></div></body></html>"
    )
}

async fn page(State(hits): State<Hits>, Path(name): Path<String>) -> Response {
    let seen = {
        let mut hits = hits.0.lock().unwrap();
        let n = hits.entry(name.clone()).or_default();
        *n += 1;
        *n
    };
    match name.as_str() {
        "list.html" => {
            let links = [
                "ok.html",
                "flaky.html",
                "busy.html",
                "gone.html",
                "to-private.html",
                "loop.html",
                "huge.html",
                "http://192.168.1.1/x.html",
                "secret.html",
            ];
            let items: String = links
                .iter()
                .map(|l| format!("<li><a href=\"{l}\">{l}</a></li>"))
                .collect();
            (
                [(header::CONTENT_TYPE, "text/html")],
                format!("<ul class=\"list\">{items}</ul>"),
            )
                .into_response()
        }
        "ok.html" => article("学生安全教育讲座").into_response(),
        "flaky.html" if seen == 1 => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
        "flaky.html" => article("校园食堂检查").into_response(),
        "busy.html" if seen == 1 => {
            (StatusCode::TOO_MANY_REQUESTS, [(header::RETRY_AFTER, "1")]).into_response()
        }
        "busy.html" => article("校车安全检查").into_response(),
        "to-private.html" => (
            StatusCode::FOUND,
            [(header::LOCATION, "http://10.0.0.1/secret")],
        )
            .into_response(),
        "loop.html" => (StatusCode::FOUND, [(header::LOCATION, "/page/loop.html")]).into_response(),
        "huge.html" => "很".repeat(100_000).into_response(),
        _ => StatusCode::NOT_FOUND.into_response(),
    }
}

/// A listing that supports conditional GET: the same ETag while nothing changes.
async fn conditional(
    State(hits): State<Hits>,
    headers: HeaderMap,
    Path(name): Path<String>,
) -> Response {
    let unchanged = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        == Some("\"v1\"");
    let key = if unchanged {
        format!("{name} 304")
    } else {
        name.clone()
    };
    *hits.0.lock().unwrap().entry(key).or_default() += 1;
    match name.as_str() {
        "list.html" if unchanged => StatusCode::NOT_MODIFIED.into_response(),
        "list.html" => (
            [
                (header::CONTENT_TYPE, "text/html"),
                (header::ETAG, "\"v1\""),
            ],
            "<ul class=\"list\"><li><a href=\"a.html\">a</a></li></ul>",
        )
            .into_response(),
        "a.html" => article("家长会通知").into_response(),
        _ => StatusCode::NOT_FOUND.into_response(),
    }
}

async fn robots_txt() -> &'static str {
    "User-agent: *\nDisallow: /page/secret.html\n\nUser-agent: yuqing\nDisallow: /page/secret.html\nCrawl-delay: 0.1\n"
}

async fn serve(hits: Hits) -> String {
    let app = Router::new()
        .route("/page/{name}", get(page))
        .route("/robots.txt", get(robots_txt))
        .route("/cond/{name}", get(conditional))
        .with_state(hits);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    format!("http://{addr}")
}

fn source(base: &str, allowed: &str) -> yuqing_crawler::Source {
    let text = format!(
        "name = \"测试站\"\nkind = \"listing\"\nurl = \"{base}/page/list.html\"\nlink_selector = \".list a\"\nlink_pattern = '.'\nallowed_networks = [{allowed}]\n"
    );
    toml::from_str::<SourceConfig>(&text)
        .unwrap()
        .build("")
        .unwrap()
}

fn crawler(dir: &std::path::Path, bus: &EmbeddedBus) -> Crawler {
    let settings = CrawlerSettings {
        request_delay_ms: 0,
        max_body_bytes: 64 * 1024,
        timeout_secs: 5,
        retries: 2,
        ..CrawlerSettings::default()
    };
    let seen = Arc::new(SeenStore::open(&dir.join("state.sqlite")).unwrap());
    Crawler::new(&settings, seen, Producer::new(bus, "raw").unwrap(), true).unwrap()
}

/// The hostile site on loopback, and a crawler with its bus and state.
struct Site {
    hits: Hits,
    base: String,
    raw: Consumer<RawDocument>,
    crawler: Crawler,
    _dir: tempfile::TempDir,
    _bus: EmbeddedBus,
}

impl Site {
    async fn start() -> Site {
        let hits = Hits::default();
        let base = serve(hits.clone()).await;
        let dir = tempfile::tempdir().unwrap();
        let bus = EmbeddedBus::new(64);
        let raw = Consumer::new(&bus, "raw", "test", "dead").unwrap();
        let crawler = crawler(dir.path(), &bus);
        Site {
            hits,
            base,
            raw,
            crawler,
            _dir: dir,
            _bus: bus,
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_pages_fail_alone_and_passing_troubles_are_retried() {
    let Site {
        hits,
        base,
        mut raw,
        crawler,
        _dir,
        _bus,
    } = Site::start().await;

    let report = crawler
        .visit(&source(&base, "\"127.0.0.0/8\""))
        .await
        .unwrap();
    assert_eq!(
        report.links, 8,
        "the link into 192.168.1.1 is not followed: {report:?}"
    );
    assert_eq!(
        report.blocked, 1,
        "robots.txt disallows secret.html: {report:?}"
    );
    assert_eq!(hits.count("secret.html"), 0);
    assert_eq!(report.collected, 3, "{report:?}");
    assert_eq!(
        report.failed, 4,
        "404, private redirect, redirect loop, huge body: {report:?}"
    );
    assert_eq!(hits.count("flaky.html"), 2, "a 500 is retried");
    assert_eq!(
        hits.count("busy.html"),
        2,
        "a 429 is retried after Retry-After"
    );
    assert_eq!(hits.count("gone.html"), 1, "a 404 is not retried");
    assert_eq!(
        hits.count("to-private.html"),
        1,
        "a refused redirect is not retried"
    );

    let mut titles = Vec::new();
    for _ in 0..3 {
        titles.push(raw.recv().await.unwrap().unwrap().message.title);
    }
    titles.sort();
    assert_eq!(
        titles,
        vec!["学生安全教育讲座", "校园食堂检查", "校车安全检查"]
    );

    // A second visit fetches only what failed before, and nothing of what was collected.
    let again = crawler
        .visit(&source(&base, "\"127.0.0.0/8\""))
        .await
        .unwrap();
    assert_eq!((again.collected, again.already_seen), (0, 3), "{again:?}");
    assert_eq!(hits.count("ok.html"), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_source_on_loopback_is_refused_unless_allowed() {
    let Site {
        hits,
        base,
        raw: _raw,
        crawler,
        _dir,
        _bus,
    } = Site::start().await;
    let error = crawler
        .visit(&source(&base, ""))
        .await
        .unwrap_err()
        .to_string();
    assert!(
        error.contains("refused") && error.contains("allowed_networks"),
        "{error}"
    );
    assert_eq!(hits.count("list.html"), 0, "no request was sent");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unchanged_listing_costs_a_304_and_nothing_else() {
    let Site {
        hits,
        base,
        raw: _raw,
        crawler,
        _dir,
        _bus,
    } = Site::start().await;
    let text = format!(
        "name = \"条件请求\"\nkind = \"listing\"\nurl = \"{base}/cond/list.html\"\nlink_selector = \".list a\"\nallowed_networks = [\"127.0.0.0/8\"]\n"
    );
    let source = toml::from_str::<SourceConfig>(&text)
        .unwrap()
        .build("")
        .unwrap();

    let first = crawler.visit(&source).await.unwrap();
    assert_eq!((first.unchanged, first.collected), (false, 1), "{first:?}");
    let second = crawler.visit(&source).await.unwrap();
    assert!(second.unchanged, "{second:?}");
    assert_eq!(
        hits.count("list.html 304"),
        1,
        "the second visit asked with If-None-Match"
    );
    assert_eq!(hits.count("a.html"), 1);
}
