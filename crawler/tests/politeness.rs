//! Two sources on one site share its pace: their article requests, made at the same
//! time, reach the site one `request_delay_ms` apart, not two at a time; and however
//! fast the pace, no more than `max_per_host` requests are in flight to one host. A source
//! may set a pace of its own.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use axum::Router;
mod common;
use common::{harness, paced, serve, source};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use yuqing_crawler::CrawlerSettings;

type Requests = Arc<Mutex<Vec<Instant>>>;

async fn page(State(requests): State<Requests>, Path(name): Path<String>) -> Response {
    if name == "robots.txt" {
        return StatusCode::NOT_FOUND.into_response();
    }
    if let Some(list) = name.strip_prefix("list-") {
        let links: String = (0..3)
            .map(|k| format!("<li><a href=\"/a-{list}-{k}\">文章{k}</a></li>"))
            .collect();
        return Html(format!("<ul class=\"list\">{links}</ul>")).into_response();
    }
    requests.lock().unwrap().push(Instant::now());
    Html(format!(
        "<html><body><h1>{name}</h1><div><p>{name}：学校开展安全教育活动，这一段正文足够长，可以被识别为文章内容。</p></div></body></html>"
    ))
    .into_response()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sources_on_one_host_share_its_pace() {
    let requests: Requests = Arc::default();
    let app = Router::new()
        .route("/{name}", get(page))
        .with_state(requests.clone());
    let base = serve(app).await;

    let test = harness(&paced(150));
    let crawler = &test.crawler;
    let source = |list: &str| {
        source(&format!(
            "name = \"{list}\"\nkind = \"listing\"\nurl = \"{base}/list-{list}\"\nallowed_networks = [\"127.0.0.0/8\"]\n[listing]\nlink_selector = \".list a\"\n"
        ))
    };
    let (one, two) = (source("one"), source("two"));
    let (a, b) = tokio::join!(crawler.visit(&one), crawler.visit(&two));
    assert_eq!((a.unwrap().collected, b.unwrap().collected), (3, 3));
    let mut times = requests.lock().unwrap().clone();
    times.sort();
    assert_eq!(times.len(), 6);
    for pair in times.windows(2) {
        let gap = pair[1] - pair[0];
        assert!(
            gap >= Duration::from_millis(140),
            "two article requests {gap:?} apart"
        );
    }
}

/// Requests in flight now, and the most at once.
#[derive(Clone, Default)]
struct InFlight(Arc<Mutex<(usize, usize)>>);

async fn slow(State(in_flight): State<InFlight>, Path(name): Path<String>) -> Response {
    if name == "robots.txt" {
        return StatusCode::NOT_FOUND.into_response();
    }
    if let Some(list) = name.strip_prefix("list-") {
        let links: String = (0..3)
            .map(|k| format!("<li><a href=\"/a-{list}-{k}\">文章{k}</a></li>"))
            .collect();
        return Html(format!("<ul class=\"list\">{links}</ul>")).into_response();
    }
    {
        let mut counts = in_flight.0.lock().unwrap();
        counts.0 += 1;
        counts.1 = counts.1.max(counts.0);
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    in_flight.0.lock().unwrap().0 -= 1;
    Html(format!(
        "<html><body><h1>{name}</h1><div><p>{name}：学校开展安全教育活动，这一段正文足够长，可以被识别为文章内容。</p></div></body></html>"
    ))
    .into_response()
}

async fn most_in_flight(max_per_host: usize) -> usize {
    let in_flight = InFlight::default();
    let app = Router::new()
        .route("/{name}", get(slow))
        .with_state(in_flight.clone());
    let base = serve(app).await;
    let test = harness(&CrawlerSettings {
        request_delay_ms: 0,
        max_per_host,
        ..CrawlerSettings::default()
    });
    let crawler = &test.crawler;
    let source = |list: &str| {
        source(&format!(
            "name = \"{list}\"\nkind = \"listing\"\nurl = \"{base}/list-{list}\"\nallowed_networks = [\"127.0.0.0/8\"]\n[listing]\nlink_selector = \".list a\"\n"
        ))
    };
    let (one, two, three) = (source("one"), source("two"), source("three"));
    let (a, b, c) = tokio::join!(
        crawler.visit(&one),
        crawler.visit(&two),
        crawler.visit(&three)
    );
    assert_eq!(
        (
            a.unwrap().collected,
            b.unwrap().collected,
            c.unwrap().collected
        ),
        (3, 3, 3)
    );
    let most = in_flight.0.lock().unwrap().1;
    most
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_more_than_max_per_host_requests_are_in_flight_to_one_host() {
    assert_eq!(most_in_flight(1).await, 1);
    assert_eq!(
        most_in_flight(3).await,
        3,
        "three sources at once, when the host allows it"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_source_may_keep_a_slower_pace_of_its_own() {
    let requests: Requests = Arc::default();
    let app = Router::new()
        .route("/{name}", get(page))
        .with_state(requests.clone());
    let base = serve(app).await;
    let test = harness(&paced(0));
    let crawler = &test.crawler;
    let source = source(&format!(
        "name = \"慢站\"\nkind = \"listing\"\nurl = \"{base}/list-slow\"\nrequest_delay_ms = 150\nallowed_networks = [\"127.0.0.0/8\"]\n[listing]\nlink_selector = \".list a\"\n"
    ));
    assert_eq!(crawler.visit(&source).await.unwrap().collected, 3);
    let mut times = requests.lock().unwrap().clone();
    times.sort();
    for pair in times.windows(2) {
        let gap = pair[1] - pair[0];
        assert!(
            gap >= Duration::from_millis(140),
            "two article requests {gap:?} apart"
        );
    }
}
