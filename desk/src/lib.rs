//! The monitoring desk's HTTP API: one router, mounted by `yuqing run` (embedded, or the
//! Kafka role indexer) and by `yuqing serve`, built from the parts the process has
//! ([`DeskParts`]). A route whose part is absent answers 503 with what to start, never
//! 404; a path that is no route answers 404 with code `no_route`.
//!
//! The routes ([`ROUTES`] is this list, and a test holds the two together):
//!
//! | route | part | answer |
//! | --- | --- | --- |
//! | `GET /api/search` | index | `{total, hits, facets, histogram, next_cursor}`: `q`, `limit`, `sort=relevance\|time\|risk\|spread`, `collapse`, `interval=hour\|day`, `facets=false`, `cursor`; a bad query is a 400 with its character `position` |
//! | `GET /api/documents/{id}` | index | the document, its analysis with explanations, its cluster |
//! | `GET /api/documents/{id}/snapshot` | index | the page as fetched (存证), sandboxed |
//! | `GET /api/clusters/{id}` | index | the reprints of one story, first published first |
//! | `GET /api/alerts` | alert store | the latest cases of the case log (`limit`) |
//! | `GET /api/alerts/export.csv` | alert store | the case log as CSV |
//! | `GET /api/alerts/{id}` | alert store | one case with its deliveries and events |
//! | `POST /api/alerts/{id}/ack` | alert store | 签收, `{"by"}` |
//! | `POST /api/alerts/{id}/close` | alert store | 处置, `{"note"}` |
//! | `GET /ack/{id}` | alert store | the 签收 page alert messages link to |
//! | `POST /ack/{id}` | alert store | its form (`by`) |
//! | `GET /api/rules` | rule book | the alert rules in force, with `editable` |
//! | `PUT /api/rules/{name}` | rule book | add or replace a rule of the rules file |
//! | `DELETE /api/rules/{name}` | rule book | remove a rule of the rules file |
//! | `GET /api/status` | status | documents, outbox, analyzer rules, sources, Kafka |
//! | `GET /metrics` | status | the same in the Prometheus text format |
//! | `GET /api/health` | — | `{"status": "ok", "documents": N}` |
//!
//! Errors are `{"message", "code"}` with a 4xx/5xx status; nothing a user types can crash
//! the server or leak an internal error.

mod alerts;
mod error;
mod rules;
mod search;
mod status;

pub use status::{StatusReport, StatusSource};

use axum::extract::State;
use axum::http::{Method, Uri};
use axum::routing::{any, get};
use axum::{Json, Router};
use error::DeskError;
use serde::Serialize;
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::net::TcpListener;
use tokio::sync::watch;
use yuqing_alerts::{AlertStore, RuleBook};
use yuqing_indexer::SearchIndex;

/// Most hits (or cases) one request may ask for.
pub(crate) const MAX_LIMIT: usize = 200;
pub(crate) const DEFAULT_LIMIT: usize = 20;

/// What the desk serves from; each part that is `None` makes its routes answer 503.
#[derive(Default)]
pub struct DeskParts {
    pub index: Option<SearchIndex>,
    pub alert_store: Option<Arc<AlertStore>>,
    pub rule_book: Option<Arc<RuleBook>>,
    pub status: Option<Arc<dyn StatusSource>>,
}

/// The part of the system a route needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Part {
    Index,
    AlertStore,
    RuleBook,
    Status,
    /// Served whatever runs.
    Always,
}

impl Part {
    /// What a 503 says: which part is missing and what serves it.
    fn missing(self) -> &'static str {
        match self {
            Part::Index => "this process has no search index: the desk's search is served by `yuqing run` (role all, or indexer with Kafka) and by `yuqing serve` over an index `yuqing run` created",
            Part::AlertStore => "this process has no alert store: the case log is kept in state.sqlite of the notifier's data directory; start `yuqing run` (role all, indexer or notifier), or `yuqing serve` with that --data-dir",
            Part::RuleBook => "this process has no alert rule book: start `yuqing run` (role all or indexer) or `yuqing serve`",
            Part::Status => "this process has no status source: start `yuqing run` or `yuqing serve`",
            Part::Always => "",
        }
    }
}

/// One route of the desk.
#[derive(Debug, Clone, Copy)]
pub struct Route {
    pub method: &'static str,
    pub path: &'static str,
    pub part: Part,
}

const fn route(method: &'static str, path: &'static str, part: Part) -> Route {
    Route { method, path, part }
}

/// Every route of the desk, as the crate doc lists them.
pub const ROUTES: &[Route] = &[
    route("GET", "/api/search", Part::Index),
    route("GET", "/api/documents/{id}", Part::Index),
    route("GET", "/api/documents/{id}/snapshot", Part::Index),
    route("GET", "/api/clusters/{id}", Part::Index),
    route("GET", "/api/alerts", Part::AlertStore),
    route("GET", "/api/alerts/export.csv", Part::AlertStore),
    route("GET", "/api/alerts/{id}", Part::AlertStore),
    route("POST", "/api/alerts/{id}/ack", Part::AlertStore),
    route("POST", "/api/alerts/{id}/close", Part::AlertStore),
    route("GET", "/ack/{id}", Part::AlertStore),
    route("POST", "/ack/{id}", Part::AlertStore),
    route("GET", "/api/rules", Part::RuleBook),
    route("PUT", "/api/rules/{name}", Part::RuleBook),
    route("DELETE", "/api/rules/{name}", Part::RuleBook),
    route("GET", "/api/status", Part::Status),
    route("GET", "/metrics", Part::Status),
    route("GET", "/api/health", Part::Always),
];

/// The desk's router over the parts it has.
pub fn router(parts: DeskParts) -> Router {
    let DeskParts {
        index,
        alert_store,
        rule_book,
        status,
    } = parts;
    let health = Router::new()
        .route("/api/health", get(health))
        .with_state(index.clone());
    health
        .merge(index.map_or_else(|| unavailable(Part::Index), search::routes))
        .merge(alert_store.map_or_else(|| unavailable(Part::AlertStore), alerts::routes))
        .merge(rule_book.map_or_else(|| unavailable(Part::RuleBook), rules::routes))
        .merge(status.map_or_else(|| unavailable(Part::Status), status::routes))
        .fallback(no_route)
}

/// The routes of an absent part: each answers 503 saying what to start.
fn unavailable(part: Part) -> Router {
    let mut router = Router::new();
    let mut paths: Vec<&str> = ROUTES
        .iter()
        .filter(|r| r.part == part)
        .map(|r| r.path)
        .collect();
    paths.dedup();
    for path in paths {
        router = router.route(
            path,
            any(move || async move { DeskError::Unavailable(part.missing()) }),
        );
    }
    router
}

async fn no_route(method: Method, uri: Uri) -> DeskError {
    DeskError::NoRoute(format!(
        "no desk route {method} {}; the routes are listed in the README (\"The desk API\")",
        uri.path()
    ))
}

#[derive(Serialize)]
struct Health {
    status: &'static str,
    /// Absent where this process has no index.
    #[serde(skip_serializing_if = "Option::is_none")]
    documents: Option<u64>,
}

async fn health(State(index): State<Option<SearchIndex>>) -> Json<Health> {
    Json(Health {
        status: "ok",
        documents: index.map(|index| index.num_docs()),
    })
}

/// Binds the desk's address; returns the listener so the caller learns the real port
/// (the configuration may say port 0) before serving.
pub async fn bind(addr: SocketAddr) -> std::io::Result<TcpListener> {
    TcpListener::bind(addr).await
}

/// Serves the router until `shutdown` turns true.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    mut shutdown: watch::Receiver<bool>,
) -> std::io::Result<()> {
    axum::serve(listener, router)
        .with_graceful_shutdown(async move {
            let _ = shutdown.wait_for(|stop| *stop).await;
        })
        .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body;
    use axum::http::{Request, StatusCode};
    use tower::ServiceExt;

    /// The routes as the crate doc's table lists them.
    fn documented() -> Vec<(String, String)> {
        include_str!("lib.rs")
            .lines()
            .filter_map(|line| line.strip_prefix("//! | `"))
            .filter_map(|rest| rest.split_once('`'))
            .filter_map(|(route, _)| route.split_once(' '))
            .map(|(method, path)| (method.to_string(), path.to_string()))
            .collect()
    }

    #[test]
    fn the_crate_doc_lists_exactly_the_routes() {
        let listed: Vec<(String, String)> = ROUTES
            .iter()
            .map(|r| (r.method.to_string(), r.path.to_string()))
            .collect();
        assert_eq!(documented(), listed);
    }

    async fn call(router: &Router, method: &str, path: &str) -> (StatusCode, serde_json::Value) {
        let path = path
            .replace("{id}", "no-such-id")
            .replace("{name}", "无此规则");
        let body = match method {
            "PUT" => r#"{"name": "无此规则", "query": "溺水"}"#,
            "POST" if path.starts_with("/api/") => r#"{"by": "张三", "note": "已处置"}"#,
            _ => "",
        };
        let content_type = if path.starts_with("/ack/") {
            "application/x-www-form-urlencoded"
        } else {
            "application/json"
        };
        let request = Request::builder()
            .method(method)
            .uri(urlencode(&path))
            .header("content-type", content_type)
            .body(Body::from(if path.starts_with("/ack/") {
                "by=张三"
            } else {
                body
            }))
            .unwrap();
        let response = router.clone().oneshot(request).await.unwrap();
        let status = response.status();
        let bytes = axum::body::to_bytes(response.into_body(), 1 << 20)
            .await
            .unwrap();
        (status, serde_json::from_slice(&bytes).unwrap_or_default())
    }

    /// Percent-encodes what a URI may not hold as it is (the Chinese of a rule's name).
    fn urlencode(path: &str) -> String {
        path.bytes()
            .map(|b| match b {
                b'/'
                | b'.'
                | b'-'
                | b'_'
                | b'?'
                | b'='
                | b'&'
                | b'a'..=b'z'
                | b'A'..=b'Z'
                | b'0'..=b'9' => (b as char).to_string(),
                _ => format!("%{b:02X}"),
            })
            .collect()
    }

    #[tokio::test]
    async fn a_desk_without_its_parts_says_what_to_start_on_every_route() {
        let router = router(DeskParts::default());
        for route in ROUTES {
            let (status, body) = call(&router, route.method, route.path).await;
            if route.part == Part::Always {
                assert_eq!(status, StatusCode::OK, "{route:?}");
                continue;
            }
            assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{route:?}");
            assert_eq!(body["code"], "unavailable", "{route:?}");
            assert!(
                body["message"].as_str().unwrap().contains("yuqing"),
                "{route:?}: {body}"
            );
        }
        let (status, body) = call(&router, "GET", "/api/no-such-route").await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        assert_eq!(body["code"], "no_route");
    }

    struct FixedStatus;
    impl StatusSource for FixedStatus {
        fn collect(&self) -> StatusReport {
            StatusReport {
                json: serde_json::json!({"documents": 0}),
                prometheus: "yuqing_documents 0\n".into(),
            }
        }
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn a_desk_with_every_part_serves_every_route() {
        let dir = tempfile::tempdir().unwrap();
        let segmenter = Arc::new(yuqing_segmenter::Segmenter::new());
        let index = SearchIndex::open_or_create(&dir.path().join("index"), segmenter).unwrap();
        let store = AlertStore::open(&dir.path().join("state.sqlite")).unwrap();
        let router = router(DeskParts {
            index: Some(index),
            alert_store: Some(Arc::new(store)),
            rule_book: Some(RuleBook::fixed(Vec::new())),
            status: Some(Arc::new(FixedStatus)),
        });
        for route in ROUTES {
            let (status, body) = call(&router, route.method, route.path).await;
            assert_ne!(status, StatusCode::METHOD_NOT_ALLOWED, "{route:?}");
            assert_ne!(status, StatusCode::SERVICE_UNAVAILABLE, "{route:?}");
            assert!(!status.is_server_error(), "{route:?}: {status} {body}");
            assert_ne!(body["code"], "no_route", "{route:?}");
        }
        // A cursor far past any result is refused with the limit, not served at the
        // cost of the process.
        let (status, body) = call(
            &router,
            "GET",
            "/api/search?q=&cursor=1000000000000.9999999999",
        )
        .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
        assert!(
            body["message"].as_str().unwrap().contains("first 10000"),
            "{body}"
        );
        // A 5 KB query of nested `-(` once overflowed the stack and aborted the process.
        let nested = format!("{}溺水{}", "-(".repeat(1200), ")".repeat(1200));
        let (status, body) = call(&router, "GET", &format!("/api/search?q={nested}")).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
        assert!(
            body["message"].as_str().unwrap().contains("deeper than 32"),
            "{body}"
        );
    }
}
