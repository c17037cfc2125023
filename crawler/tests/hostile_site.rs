//! The crawler against a hostile site served on loopback by the test: errors, rate
//! limits, redirect loops, redirects and links into private networks, huge bodies,
//! stalled and slow responses, pages in Big5 and GB18030 (labelled, unlabelled and
//! mislabelled) and malformed HTML.

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

/// Pages that are slow, stalled, in legacy encodings or broken.
async fn rough(Path(name): Path<String>) -> Response {
    use axum::body::Body;
    use futures_util::StreamExt;
    let bytes = |content_type: &'static str, body: Vec<u8>| {
        ([(header::CONTENT_TYPE, content_type)], body).into_response()
    };
    let page = |meta: &str, title: &str, body: &str| {
        format!("<html><head>{meta}<title>{title}</title></head><body><h1>{title}</h1><div class=\"text\"><p>{body}</p></div></body></html>")
    };
    let traditional = page(
        "<meta charset=\"big5\">",
        "香港學校舉行防火演習",
        "全校師生參加了消防演習，學習如何安全疏散。",
    );
    match name.as_str() {
        "list.html" => {
            let items: String = [
                "stalled.html",
                "slow.html",
                "big5.html",
                "unlabelled-big5.html",
                "mislabelled-gbk.html",
                "gb18030.html",
                "broken.html",
                "nested-spans.html",
                "nested-divs.html",
            ]
            .iter()
            .map(|l| format!("<li><a href=\"{l}\">{l}</a></li>"))
            .collect();
            bytes("text/html", format!("<ul class=\"list\">{items}</ul>").into_bytes())
        }
        // The first bytes, then nothing, for ever.
        "stalled.html" => {
            let first = futures_util::stream::once(async {
                Ok::<_, std::io::Error>(axum::body::Bytes::from_static(b"<html><head>"))
            });
            let body = Body::from_stream(first.chain(futures_util::stream::pending()));
            ([(header::CONTENT_TYPE, "text/html")], body).into_response()
        }
        // A whole page, a piece every 150 ms.
        "slow.html" => {
            let html = article("慢速页面里的安全教育");
            let pieces: Vec<String> = html
                .chars()
                .collect::<Vec<_>>()
                .chunks(html.chars().count() / 4 + 1)
                .map(|c| c.iter().collect())
                .collect();
            let stream = futures_util::stream::iter(pieces).then(|piece| async move {
                tokio::time::sleep(std::time::Duration::from_millis(150)).await;
                Ok::<_, std::io::Error>(piece)
            });
            ([(header::CONTENT_TYPE, "text/html")], Body::from_stream(stream)).into_response()
        }
        "big5.html" => bytes("text/html", encoding_rs::BIG5.encode(&traditional).0.into_owned()),
        "unlabelled-big5.html" => bytes(
            "text/html",
            encoding_rs::BIG5
                .encode(&traditional.replace("<meta charset=\"big5\">", ""))
                .0
                .into_owned(),
        ),
        "mislabelled-gbk.html" => bytes(
            "text/html; charset=utf-8",
            encoding_rs::GBK
                .encode(&page("", "县教育局通报食堂检查结果", "检查发现两所学校食堂存在问题，已责令整改。"))
                .0
                .into_owned(),
        ),
        "gb18030.html" => bytes(
            "text/html",
            encoding_rs::GB18030
                .encode(&page("<meta charset=\"gb18030\">", "学生王䶮获评安全小卫士", "王䶮同学在消防演练中表现突出。"))
                .0
                .into_owned(),
        ),
        "broken.html" => bytes(
            "text/html; charset=utf-8",
            "<html><head><title>校园安全检查</title><body><h1>校园安全检查<div class=text><p>学校开展安全检查，排查隐患十余处。<p>检查组要求限期整改<b>落实责任</div></div></span></td><p>第三段<i>未闭合的标签"
                .as_bytes()
                .to_vec(),
        ),
        // Nesting no real page has: 200,000 spans (2.6 MB), and 60,000 divs, which the
        // tree builder's scope checks take quadratic time over (minutes, unchecked).
        "nested-spans.html" => bytes(
            "text/html; charset=utf-8",
            page(
                "",
                "嵌套页面",
                &format!("{}正文{}", "<span>".repeat(200_000), "</span>".repeat(200_000)),
            )
            .into_bytes(),
        ),
        "nested-divs.html" => bytes(
            "text/html; charset=utf-8",
            page("", "嵌套页面", &format!("{}正文", "<div>".repeat(60_000))).into_bytes(),
        ),
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
        .route("/rough/{name}", get(rough))
        .with_state(hits);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    format!("http://{addr}")
}

fn source(base: &str, allowed: &str) -> yuqing_crawler::Source {
    let text = format!(
        "name = \"测试站\"\nkind = \"listing\"\nurl = \"{base}/page/list.html\"\nallowed_networks = [{allowed}]\n[listing]\nlink_selector = \".list a\"\nlink_pattern = '.'\n"
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
        "name = \"条件请求\"\nkind = \"listing\"\nurl = \"{base}/cond/list.html\"\nallowed_networks = [\"127.0.0.0/8\"]\n[listing]\nlink_selector = \".list a\"\n"
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stalled_slow_legacy_encoded_and_broken_pages() {
    let hits = Hits::default();
    let base = serve(hits).await;
    let dir = tempfile::tempdir().unwrap();
    let bus = EmbeddedBus::new(64);
    let mut raw: Consumer<RawDocument> = Consumer::new(&bus, "raw", "test", "dead").unwrap();
    let settings = CrawlerSettings {
        request_delay_ms: 0,
        timeout_secs: 2,
        retries: 1,
        ..CrawlerSettings::default()
    };
    let seen = Arc::new(SeenStore::open(&dir.path().join("state.sqlite")).unwrap());
    let crawler = Crawler::new(&settings, seen, Producer::new(&bus, "raw").unwrap(), true).unwrap();
    let source = toml::from_str::<SourceConfig>(&format!(
        "name = \"粗糙站\"\nkind = \"listing\"\nurl = \"{base}/rough/list.html\"\nallowed_networks = [\"127.0.0.0/8\"]\n[listing]\nlink_selector = \".list a\"\n"
    ))
    .unwrap()
    .build("")
    .unwrap();

    let started = std::time::Instant::now();
    let report = crawler.visit(&source).await.unwrap();
    assert_eq!(
        (report.collected, report.failed),
        (6, 3),
        "only the stalled page and the two nested past any real page fail: {report:?}"
    );
    assert!(
        started.elapsed() < std::time::Duration::from_secs(20),
        "a stalled or absurdly nested page costs its own time, not the visit's: {:?}",
        started.elapsed()
    );
    let mut docs = HashMap::new();
    for _ in 0..6 {
        let doc = raw.recv().await.unwrap().unwrap().message;
        let page = doc.url.rsplit('/').next().unwrap().to_string();
        docs.insert(page, doc);
    }
    assert_eq!(docs["slow.html"].title, "慢速页面里的安全教育");
    for page in ["big5.html", "unlabelled-big5.html"] {
        assert_eq!(docs[page].title, "香港學校舉行防火演習", "{page}");
        assert_eq!(docs[page].charset, "Big5", "{page}");
        assert_eq!(
            docs[page].content,
            "全校師生參加了消防演習，學習如何安全疏散。"
        );
    }
    assert_eq!(
        docs["mislabelled-gbk.html"].title,
        "县教育局通报食堂检查结果"
    );
    assert_eq!(
        docs["gb18030.html"].content,
        "王䶮同学在消防演练中表现突出。"
    );
    let broken = &docs["broken.html"];
    assert_eq!(broken.title, "校园安全检查");
    assert!(
        broken
            .content
            .contains("学校开展安全检查，排查隐患十余处。")
            && broken.content.contains("检查组要求限期整改"),
        "{}",
        broken.content
    );
}
