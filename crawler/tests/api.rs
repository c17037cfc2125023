//! API sources against a loopback server answering with response files written in the
//! real APIs' shapes (the Weibo mobile API, Bilibili's search): posts become documents
//! with their author, time, engagement and shown region; paging follows the cursor or
//! the page number and stops once a visit has caught up; an expired credential is an
//! error of the source, never a quiet empty crawl.

use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use yuqing_bus::{Consumer, EmbeddedBus, Producer};
use yuqing_crawler::{Crawler, CrawlerSettings, SeenStore, Source, SourceConfig};
use yuqing_model::{RawDocument, SourceType};

const WEIBO_1: &str = include_str!("fixtures/api/weibo_timeline_1.json");
const WEIBO_2: &str = include_str!("fixtures/api/weibo_timeline_2.json");
const WEIBO_SEARCH: &str = include_str!("fixtures/api/weibo_search.json");
const WEIBO_LONG: &str = include_str!("fixtures/api/weibo_long_text.json");
const WEIBO_LOGIN: &str = include_str!("fixtures/api/weibo_login_required.json");
const BILI_1: &str = include_str!("fixtures/api/bilibili_search_1.json");
const BILI_2: &str = include_str!("fixtures/api/bilibili_search_2.json");
const BILI_3: &str = include_str!("fixtures/api/bilibili_search_3.json");
const BILI_LOGIN: &str = include_str!("fixtures/api/bilibili_not_logged_in.json");

type Requests = Arc<Mutex<Vec<String>>>;

fn json(body: &'static str) -> Response {
    ([("content-type", "application/json; charset=utf-8")], body).into_response()
}

fn cookie(headers: &HeaderMap) -> &str {
    headers
        .get("cookie")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
}

async fn weibo(
    State(requests): State<Requests>,
    headers: HeaderMap,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    requests.lock().unwrap().push(format!("weibo {query:?}"));
    if cookie(&headers) != "SUB=_2A25valid" {
        return json(WEIBO_LOGIN);
    }
    let container = query.get("containerid").map(String::as_str).unwrap_or("");
    if container.starts_with("100103") {
        return json(WEIBO_SEARCH);
    }
    match query.get("since_id").map(String::as_str) {
        None => json(WEIBO_1),
        Some("5106123456789012") => json(WEIBO_2),
        Some(_) => json(r#"{"ok":1,"data":{"cards":[]}}"#),
    }
}

async fn bilibili(
    State(requests): State<Requests>,
    headers: HeaderMap,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    requests.lock().unwrap().push(format!("bilibili {query:?}"));
    if !cookie(&headers).contains("buvid3=") {
        return json(BILI_LOGIN);
    }
    match query.get("page").map(String::as_str) {
        Some("1") => json(BILI_1),
        Some("2") => json(BILI_2),
        _ => json(BILI_3),
    }
}

async fn serve() -> (String, Requests) {
    let requests = Requests::default();
    let app = Router::new()
        .route("/api/container/getIndex", get(weibo))
        .route("/x/web-interface/search/type", get(bilibili))
        .route(
            "/statuses/extend",
            get(|Query(query): Query<HashMap<String, String>>| async move {
                match query.get("id").map(String::as_str) {
                    Some("5106270000000007") => json(WEIBO_LONG),
                    _ => json(r#"{"ok":0,"msg":"微博不存在"}"#),
                }
            }),
        )
        .route(
            "/broken",
            get(|| async { json(r#"{"ok":1,"data":{"cards":["#) }),
        )
        .route(
            "/login",
            get(|| async {
                (
                    [("content-type", "text/html")],
                    "<html><body>微博 - 登录</body></html>",
                )
            }),
        )
        .with_state(requests.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (base, requests)
}

struct Rig {
    crawler: Crawler,
    raw: Consumer<RawDocument>,
    _dir: tempfile::TempDir,
}

fn rig() -> Rig {
    let dir = tempfile::tempdir().unwrap();
    let bus = EmbeddedBus::new(100);
    let raw = Consumer::new(&bus, "raw", "test", "dead").unwrap();
    let settings = CrawlerSettings {
        request_delay_ms: 0,
        retries: 0,
        ..CrawlerSettings::default()
    };
    let seen = Arc::new(SeenStore::open(&dir.path().join("state.sqlite")).unwrap());
    let crawler = Crawler::new(&settings, seen, Producer::new(&bus, "raw").unwrap(), true).unwrap();
    Rig {
        crawler,
        raw,
        _dir: dir,
    }
}

fn source(toml_text: &str) -> Source {
    toml::from_str::<SourceConfig>(toml_text)
        .unwrap()
        .build("")
        .unwrap()
}

async fn received(raw: &mut Consumer<RawDocument>, n: usize) -> Vec<RawDocument> {
    let mut out = Vec::new();
    for _ in 0..n {
        let next = tokio::time::timeout(std::time::Duration::from_secs(5), raw.recv())
            .await
            .expect("a document in time")
            .unwrap()
            .unwrap();
        out.push(next.message);
    }
    out
}

#[tokio::test]
async fn a_weibo_timeline_is_read_page_by_page_and_a_second_visit_stops_at_what_it_knows() {
    let (base, requests) = serve().await;
    std::env::set_var("YUQING_TEST_WEIBO_COOKIE_OK", "SUB=_2A25valid");
    let weibo = source(&format!(
        "name = \"微博·温县家长小李\"\nkind = \"api\"\nurl = \"{base}/api/container/getIndex?containerid=1076035812345678\"\nallowed_networks = [\"127.0.0.0/8\"]\n[api]\npreset = \"weibo\"\ncookie_env = \"YUQING_TEST_WEIBO_COOKIE_OK\"\n"
    ));
    let Rig {
        crawler, mut raw, ..
    } = rig();

    let report = crawler.visit(&weibo).await.unwrap();
    // Page 1: three posts (the card_type 31 card is no post); page 2: two posts and one
    // without an id, which is counted as failed while the others are taken.
    assert_eq!(
        (report.links, report.collected, report.failed),
        (6, 5, 1),
        "{report:?}"
    );
    let docs = received(&mut raw, 5).await;
    let canteen = &docs[0];
    assert_eq!(canteen.url, "https://m.weibo.cn/detail/5106234567890123");
    assert_eq!(
        canteen.content,
        "温县某中学食堂今天中午的菜有异味，好几个同学吃完肚子疼[哭]\n学校到现在还没有说法 #温县#"
    );
    assert_eq!(
        canteen.title,
        "温县某中学食堂今天中午的菜有异味，好几个同学吃完肚子疼[哭]"
    );
    assert_eq!(canteen.author.as_deref(), Some("温县家长小李"));
    assert_eq!(
        canteen.published_at.unwrap().to_rfc3339(),
        "2026-11-28T10:05:00+08:00"
    );
    let engagement = canteen.engagement.unwrap();
    assert_eq!(
        (engagement.reposts, engagement.comments, engagement.likes),
        (12_000, 386, 2041)
    );
    assert_eq!(canteen.ip_region.as_deref(), Some("河南"));
    assert_eq!(canteen.platform.as_deref(), Some("weibo"));
    assert_eq!(canteen.source_type, SourceType::Social);
    assert_eq!(canteen.source, "微博·温县家长小李");
    // The post's own JSON is kept as evidence.
    let evidence = lz4_flex::decompress_size_prepended(canteen.snapshot.as_ref().unwrap()).unwrap();
    let evidence: serde_json::Value = serde_json::from_slice(&evidence).unwrap();
    assert_eq!(evidence["bid"], "PbQx1a2b3");
    assert_eq!(
        docs.iter().map(|d| d.title.as_str()).collect::<Vec<_>>()[3..],
        [
            "今天学校组织了防溺水安全教育，孩子回家讲得头头是道[赞]",
            "焦作市第一中学门口的红绿灯坏了好几天了，上学高峰很乱"
        ]
    );
    assert_eq!(requests.lock().unwrap().len(), 2, "two pages");

    // Nothing new on the first page: the visit has caught up and reads no further.
    requests.lock().unwrap().clear();
    let again = crawler.visit(&weibo).await.unwrap();
    assert_eq!((again.collected, again.already_seen), (0, 3), "{again:?}");
    assert_eq!(requests.lock().unwrap().len(), 1, "one page");
}

#[tokio::test]
async fn a_weibo_search_nests_its_posts_in_card_groups_and_pages_by_number() {
    let (base, _) = serve().await;
    let search = source(&format!(
        "name = \"微博搜索·焦作 校园欺凌\"\nkind = \"api\"\nurl = \"{base}/api/container/getIndex?containerid=100103type%3D1%26q%3D%E7%84%A6%E4%BD%9C\"\nallowed_networks = [\"127.0.0.0/8\"]\n[api]\npreset = \"weibo\"\ncookie = \"SUB=_2A25valid\"\npage_param = \"page\"\n"
    ));
    let Rig {
        crawler, mut raw, ..
    } = rig();
    let report = crawler.visit(&search).await.unwrap();
    assert_eq!((report.collected, report.failed), (3, 0), "{report:?}");
    let docs = received(&mut raw, 3).await;
    assert!(
        docs[0].content.contains("这就是校园欺凌"),
        "{}",
        docs[0].content
    );
    let engagement = docs[0].engagement.unwrap();
    assert_eq!(
        (engagement.reposts, engagement.comments, engagement.likes),
        (1_000_000, 34_000, 120_000)
    );
    // 「3小时前」 and 「昨天 22:10」 are counted from the time of the visit.
    let age = chrono::Utc::now() - docs[0].published_at.unwrap().with_timezone(&chrono::Utc);
    assert!((age.num_minutes() - 180).abs() <= 1, "{age}");
    // A long post comes cut ("…全文"): its whole text is fetched.
    assert_eq!(docs[1].author.as_deref(), Some("一位焦作家长"));
    assert!(
        docs[1]
            .content
            .ends_with("我们希望学校和教育局认真调查处理，保护孩子的安全。"),
        "{}",
        docs[1].content
    );
    assert!(!docs[1].content.contains("全文"));
    assert_eq!(docs[2].author.as_deref(), Some("河南日报"));
}

#[tokio::test]
async fn an_expired_or_missing_credential_fails_the_source_with_the_reason() {
    let (base, requests) = serve().await;
    std::env::set_var("YUQING_TEST_WEIBO_COOKIE_OLD", "SUB=_2A25expired");
    let url = format!("{base}/api/container/getIndex?containerid=1076035812345678");
    let Rig { crawler, .. } = rig();
    let expired = source(&format!(
        "name = \"微博\"\nkind = \"api\"\nurl = \"{url}\"\nallowed_networks = [\"127.0.0.0/8\"]\n[api]\npreset = \"weibo\"\ncookie_env = \"YUQING_TEST_WEIBO_COOKIE_OLD\"\n"
    ));
    let error = crawler.visit(&expired).await.unwrap_err().to_string();
    assert!(error.contains("请先登录"), "{error}");
    assert!(
        error.contains("the cookie in YUQING_TEST_WEIBO_COOKIE_OLD may have expired"),
        "{error}"
    );

    let unset = source(&format!(
        "name = \"微博\"\nkind = \"api\"\nurl = \"{url}\"\nallowed_networks = [\"127.0.0.0/8\"]\n[api]\npreset = \"weibo\"\ncookie_env = \"YUQING_TEST_UNSET_VARIABLE\"\n"
    ));
    requests.lock().unwrap().clear();
    let error = crawler.visit(&unset).await.unwrap_err().to_string();
    assert!(
        error.contains("YUQING_TEST_UNSET_VARIABLE holding the credential is not set"),
        "{error}"
    );
    assert!(
        requests.lock().unwrap().is_empty(),
        "nothing sent without it"
    );

    let bilibili = source(&format!(
        "name = \"B站\"\nkind = \"api\"\nurl = \"{base}/x/web-interface/search/type?search_type=video&keyword=%E7%84%A6%E4%BD%9C\"\nallowed_networks = [\"127.0.0.0/8\"]\n[api]\npreset = \"bilibili\"\n"
    ));
    let error = crawler.visit(&bilibili).await.unwrap_err().to_string();
    assert!(error.contains("/code = -101: 账号未登录"), "{error}");
}

#[tokio::test]
async fn a_bilibili_search_pages_by_number_until_a_page_is_empty() {
    let (base, requests) = serve().await;
    let bilibili = source(&format!(
        "name = \"B站搜索·焦作\"\nkind = \"api\"\nurl = \"{base}/x/web-interface/search/type?search_type=video&keyword=%E7%84%A6%E4%BD%9C\"\nallowed_networks = [\"127.0.0.0/8\"]\n[api]\npreset = \"bilibili\"\nheaders = {{ cookie = \"buvid3=0A1B2C3D\" }}\n"
    ));
    let Rig {
        crawler, mut raw, ..
    } = rig();
    let report = crawler.visit(&bilibili).await.unwrap();
    assert_eq!((report.collected, report.failed), (3, 0), "{report:?}");
    assert_eq!(
        requests.lock().unwrap().len(),
        3,
        "pages 1, 2 and the empty 3"
    );
    let docs = received(&mut raw, 3).await;
    let first = &docs[0];
    assert_eq!(
        first.title,
        "焦作某小学门口接孩子的电动车把路堵死了，校车根本进不去"
    );
    assert_eq!(first.content, "今天下午放学实拍，太危险了");
    assert_eq!(first.url, "http://www.bilibili.com/video/BV1Ab4y1c7De");
    assert_eq!(
        first.published_at.unwrap().to_rfc3339(),
        "2026-11-28T10:05:00+08:00"
    );
    assert_eq!(first.platform.as_deref(), Some("bilibili"));
    let counts = docs[1].engagement.unwrap();
    assert_eq!((counts.comments, counts.likes), (12, 21_000));
    // A video without a description is still a post: its text is its title.
    assert_eq!(docs[1].content, "探访焦作中学新食堂：明厨亮灶");
}

#[tokio::test]
async fn answers_that_are_not_json_are_errors_that_say_what_came_back() {
    let (base, _) = serve().await;
    let Rig { crawler, .. } = rig();
    let mapping = "[api]\nitems = [\"/data/cards\"]\nid = \"/id\"\ntext = \"/text\"\nurl_template = \"https://example.invalid/{id}\"\n";
    let broken = source(&format!(
        "name = \"坏接口\"\nkind = \"api\"\nurl = \"{base}/broken\"\nallowed_networks = [\"127.0.0.0/8\"]\n{mapping}"
    ));
    let error = crawler.visit(&broken).await.unwrap_err().to_string();
    assert!(error.contains("/broken: the answer is not JSON"), "{error}");
    let login = source(&format!(
        "name = \"登录页\"\nkind = \"api\"\nurl = \"{base}/login\"\nallowed_networks = [\"127.0.0.0/8\"]\n{mapping}"
    ));
    let error = crawler.visit(&login).await.unwrap_err().to_string();
    assert!(error.contains("a web page came back instead"), "{error}");
}
