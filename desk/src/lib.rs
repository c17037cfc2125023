//! The monitoring desk's HTTP API: one router, mounted by `yuqing run` (embedded, or the
//! Kafka role indexer) and by `yuqing serve`, built from the parts the process has
//! ([`DeskParts`]). A route whose part is absent answers 503 with what to start, never
//! 404; a path that is no route answers 404 with code `no_route`.
//!
//! Every request passes [`guard`] first: a Host that is not the desk's is a 421; a route
//! needs a login (session cookie from `POST /api/login`) or an API token
//! (`Authorization: Bearer …`) of a role at least the one listed, else 401 (none) or 403
//! (too low); a change sent with a session cookie must carry the desk's own Origin.
//!
//! The routes ([`ROUTES`] is this list, and a test holds the two together):
//!
//! | route | role | part | answer |
//! | --- | --- | --- | --- |
//! | `GET /api/search` | duty | index | `{total, hits, facets, histogram, next_cursor}`: `q`, `limit`, `sort=relevance\|time\|risk\|spread`, `collapse`, `interval=hour\|day`, `facets=false`, `cursor`; a bad query is a 400 with its character `position` |
//! | `GET /api/search/export.xlsx` | duty | index | the result as XLSX (`q`, `sort`, `collapse`, `limit` up to 10,000): the search in its first row, text cells, links |
//! | `GET /api/documents/{id}` | duty | index | the document, its analysis with explanations, its cluster |
//! | `GET /api/documents/{id}/snapshot` | duty | index | the page as fetched (存证), sandboxed |
//! | `GET /api/clusters/{id}` | duty | index | the reprints of one story, first published first |
//! | `GET /api/alerts` | duty | alert store | the latest cases of the case log (`limit`) |
//! | `GET /api/alerts/export.csv` | duty | alert store | the case log as CSV |
//! | `GET /api/alerts/{id}` | duty | alert store | one case with its deliveries and events |
//! | `POST /api/alerts/{id}/ack` | duty | alert store | 签收 by the user |
//! | `POST /api/alerts/{id}/close` | duty | alert store | 处置, `{"note", "false_alarm"?}` (误报 needs its reason) |
//! | `POST /api/alerts/{id}/assign` | duty | alert store | 指派, `{"to"}`: a desk user's name |
//! | `GET /ack/{id}` | link | alert store | the 签收 page alert messages link to (`?t=` its signed token, or a login) |
//! | `POST /ack/{id}` | link | alert store | its form (`by`, `t`) |
//! | `GET /api/rules` | duty | rule book | the alert rules in force, with `editable` |
//! | `PUT /api/rules/{name}` | analyst | rule book | add or replace a rule of the rules file |
//! | `DELETE /api/rules/{name}` | analyst | rule book | remove a rule of the rules file |
//! | `GET /api/status` | duty | status | documents, outbox, analyzer rules, sources, Kafka |
//! | `GET /metrics` | duty | status | the same in the Prometheus text format |
//! | `GET /api/health` | public | — | `{"status": "ok", "stages": {…}}`, or 503 `"degraded"` while a stage retries a failing step or has failed (for load balancers; no errors shown) |
//! | `GET /` | public | — | the desk's web page (值班台, 信息列表, 详情); it asks the API below with the login cookie |
//! | `GET /assets/{file}` | public | — | its script and style sheet (`app.js`, `app.css`), inside the binary |
//! | `POST /api/login` | public | — | `{"name", "password"}` → the session cookie and `{user, role}` |
//! | `POST /api/logout` | duty | — | ends the session |
//! | `GET /api/me` | duty | — | `{user, role, role_zh, via}` |
//! | `POST /api/me/password` | duty | — | `{"current", "new"}` |
//! | `GET /api/users` | admin | — | the users |
//! | `POST /api/users` | admin | — | `{"name", "role", "password"}` |
//! | `PATCH /api/users/{name}` | admin | — | `{"role"?, "disabled"?, "password"?}` |
//! | `DELETE /api/users/{name}` | admin | — | the user, with their sessions and tokens |
//! | `GET /api/tokens` | duty | — | one's API tokens (an admin's: all) |
//! | `POST /api/tokens` | duty | — | `{"label"}` → a token acting as oneself, its value shown once |
//! | `DELETE /api/tokens/{id}` | duty | — | revokes one's token (an admin: anyone's) |
//! | `GET /api/audit` | admin | — | the audit log, newest first (`limit`, `before`) |
//!
//! Errors are `{"message", "code"}` with a 4xx/5xx status; nothing a user types can crash
//! the server or leak an internal error.

mod accounts;
mod alerts;
mod error;
mod export;
mod guard;
mod rules;
mod search;
mod server;
mod status;
mod web;

pub use guard::DeskSecurity;
pub use server::{serve, ServeLimits};
pub use status::{StatusReport, StatusSource};
pub use yuqing_access::Role;

use axum::http::{Method, Uri};
use axum::routing::{any, get};
use axum::{Extension, Json, Router};
use error::DeskError;
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::net::TcpListener;
use yuqing_alerts::{AlertStore, RuleBook};
use yuqing_indexer::SearchIndex;
use yuqing_model::health::Health;

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
    /// The process's stages, for `/api/health`.
    pub health: Arc<Health>,
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

/// Who may use a route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Anyone (health, login).
    Public,
    /// A user of at least this role.
    Role(Role),
    /// A signed 签收 link for the alert in the path, or a user of any role: the route
    /// checks which.
    AlertLink,
}

/// One route of the desk.
#[derive(Debug, Clone, Copy)]
pub struct Route {
    pub method: &'static str,
    pub path: &'static str,
    pub access: Access,
    pub part: Part,
}

const DUTY: Access = Access::Role(Role::Duty);
const ANALYST: Access = Access::Role(Role::Analyst);
const ADMIN: Access = Access::Role(Role::Admin);

const fn route(method: &'static str, path: &'static str, access: Access, part: Part) -> Route {
    Route {
        method,
        path,
        access,
        part,
    }
}

/// Every route of the desk, as the crate doc lists them.
pub const ROUTES: &[Route] = &[
    route("GET", "/api/search", DUTY, Part::Index),
    route("GET", "/api/search/export.xlsx", DUTY, Part::Index),
    route("GET", "/api/documents/{id}", DUTY, Part::Index),
    route("GET", "/api/documents/{id}/snapshot", DUTY, Part::Index),
    route("GET", "/api/clusters/{id}", DUTY, Part::Index),
    route("GET", "/api/alerts", DUTY, Part::AlertStore),
    route("GET", "/api/alerts/export.csv", DUTY, Part::AlertStore),
    route("GET", "/api/alerts/{id}", DUTY, Part::AlertStore),
    route("POST", "/api/alerts/{id}/ack", DUTY, Part::AlertStore),
    route("POST", "/api/alerts/{id}/close", DUTY, Part::AlertStore),
    route("POST", "/api/alerts/{id}/assign", DUTY, Part::AlertStore),
    route("GET", "/ack/{id}", Access::AlertLink, Part::AlertStore),
    route("POST", "/ack/{id}", Access::AlertLink, Part::AlertStore),
    route("GET", "/api/rules", DUTY, Part::RuleBook),
    route("PUT", "/api/rules/{name}", ANALYST, Part::RuleBook),
    route("DELETE", "/api/rules/{name}", ANALYST, Part::RuleBook),
    route("GET", "/api/status", DUTY, Part::Status),
    route("GET", "/metrics", DUTY, Part::Status),
    route("GET", "/api/health", Access::Public, Part::Always),
    route("GET", "/", Access::Public, Part::Always),
    route("GET", "/assets/{file}", Access::Public, Part::Always),
    route("POST", "/api/login", Access::Public, Part::Always),
    route("POST", "/api/logout", DUTY, Part::Always),
    route("GET", "/api/me", DUTY, Part::Always),
    route("POST", "/api/me/password", DUTY, Part::Always),
    route("GET", "/api/users", ADMIN, Part::Always),
    route("POST", "/api/users", ADMIN, Part::Always),
    route("PATCH", "/api/users/{name}", ADMIN, Part::Always),
    route("DELETE", "/api/users/{name}", ADMIN, Part::Always),
    route("GET", "/api/tokens", DUTY, Part::Always),
    route("POST", "/api/tokens", DUTY, Part::Always),
    route("DELETE", "/api/tokens/{id}", DUTY, Part::Always),
    route("GET", "/api/audit", ADMIN, Part::Always),
];

/// The desk's router over the parts it has, behind its [`guard`].
pub fn router(parts: DeskParts, security: DeskSecurity) -> Router {
    let DeskParts {
        index,
        alert_store,
        rule_book,
        status,
        health,
    } = parts;
    let security = Arc::new(security);
    Router::new()
        .route("/api/health", get(health_report).with_state(health))
        .merge(web::routes())
        .merge(accounts::routes(security.clone()))
        .merge(index.map_or_else(|| unavailable(Part::Index), search::routes))
        .merge(alert_store.map_or_else(|| unavailable(Part::AlertStore), alerts::routes))
        .merge(rule_book.map_or_else(|| unavailable(Part::RuleBook), rules::routes))
        .merge(status.map_or_else(|| unavailable(Part::Status), status::routes))
        .route_layer(axum::middleware::from_fn_with_state(
            security.clone(),
            guard::check_route,
        ))
        .layer(Extension(security.clone()))
        .fallback(no_route)
        .layer(axum::middleware::from_fn_with_state(
            security,
            guard::check_host,
        ))
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

/// Anyone may ask it (load balancers, monitoring probes), so it says no more than each
/// stage's state: 200 `{"status": "ok"}` while every stage runs, 503 `"degraded"` while
/// one retries a failing step or has failed (`/api/status` has the errors).
async fn health_report(
    axum::extract::State(health): axum::extract::State<Arc<Health>>,
) -> (axum::http::StatusCode, Json<serde_json::Value>) {
    let stages: serde_json::Map<String, serde_json::Value> = health
        .stages()
        .into_iter()
        .map(|(stage, state)| (stage, state.name().into()))
        .collect();
    if health.all_running() {
        let report = serde_json::json!({"status": "ok", "stages": stages});
        (axum::http::StatusCode::OK, Json(report))
    } else {
        let report = serde_json::json!({"status": "degraded", "stages": stages});
        (axum::http::StatusCode::SERVICE_UNAVAILABLE, Json(report))
    }
}

/// Binds the desk's address; returns the listener so the caller learns the real port
/// (the configuration may say port 0) before serving.
pub async fn bind(addr: SocketAddr) -> std::io::Result<TcpListener> {
    TcpListener::bind(addr).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body;
    use axum::http::{Request, StatusCode};
    use tower::ServiceExt;
    use yuqing_access::{AccessStore, AlertLinks};

    /// The routes as the crate doc's table lists them, with the role column.
    fn documented() -> Vec<(String, String, String)> {
        include_str!("lib.rs")
            .lines()
            .filter_map(|line| line.strip_prefix("//! | `"))
            .filter_map(|rest| rest.split_once('`'))
            .filter_map(|(route, rest)| {
                let (method, path) = route.split_once(' ')?;
                let role = rest.split(" | ").nth(1)?.trim();
                Some((method.to_string(), path.to_string(), role.to_string()))
            })
            .collect()
    }

    fn access_name(access: Access) -> String {
        match access {
            Access::Public => "public".into(),
            Access::AlertLink => "link".into(),
            Access::Role(role) => role.to_string(),
        }
    }

    #[test]
    fn the_crate_doc_lists_exactly_the_routes_with_their_roles() {
        let listed: Vec<(String, String, String)> = ROUTES
            .iter()
            .map(|r| {
                (
                    r.method.to_string(),
                    r.path.to_string(),
                    access_name(r.access),
                )
            })
            .collect();
        assert_eq!(documented(), listed);
    }

    const HOST: &str = "127.0.0.1:8730";
    const PASSWORD: &str = "duty desk password";

    /// A desk's security over a fresh state database with one user (and API token) of
    /// each role; the tokens are returned by role.
    fn security(dir: &std::path::Path) -> (DeskSecurity, Vec<(Role, String)>) {
        let access = AccessStore::open(&dir.join("state.sqlite"), Default::default()).unwrap();
        let now = chrono::Utc::now();
        let mut tokens = Vec::new();
        for role in Role::ALL {
            let name = format!("{}-user", role.as_str());
            access.add_user("test", &name, role, PASSWORD, now).unwrap();
            tokens.push((role, access.add_token("test", &name, "", now).unwrap().1));
        }
        let security = DeskSecurity {
            links: AlertLinks::new(access.link_key().unwrap(), chrono::Duration::days(7)),
            access: Arc::new(access),
            public_url: Some("https://yq.example.gov.cn".into()),
            listen: HOST.parse().unwrap(),
            allowed_hosts: Vec::new(),
        };
        (security, tokens)
    }

    fn token(tokens: &[(Role, String)], role: Role) -> String {
        tokens.iter().find(|(r, _)| *r == role).unwrap().1.clone()
    }

    struct Answer {
        status: StatusCode,
        headers: axum::http::HeaderMap,
        body: serde_json::Value,
    }

    async fn send(router: &Router, request: Request<Body>) -> Answer {
        let response = router.clone().oneshot(request).await.unwrap();
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = axum::body::to_bytes(response.into_body(), 1 << 20)
            .await
            .unwrap();
        Answer {
            status,
            headers,
            body: serde_json::from_slice(&bytes).unwrap_or_default(),
        }
    }

    /// A request to a route as its table lists it, with a plausible body, as `token`.
    fn request(method: &str, path: &str, token: Option<&str>) -> Request<Body> {
        let path = path
            .replace("{id}", "no-such-id")
            .replace("{name}", "无此规则");
        let body = match method {
            "PUT" => r#"{"name": "无此规则", "query": "溺水"}"#,
            "POST" | "PATCH" if path.starts_with("/api/") => r#"{"note": "已处置"}"#,
            _ => "",
        };
        let (content_type, body) = if path.starts_with("/ack/") {
            ("application/x-www-form-urlencoded", "by=张三")
        } else {
            ("application/json", body)
        };
        let mut builder = Request::builder()
            .method(method)
            .uri(urlencode(&path))
            .header("host", HOST)
            .header("content-type", content_type);
        if let Some(token) = token {
            builder = builder.header("authorization", format!("Bearer {token}"));
        }
        builder.body(Body::from(body)).unwrap()
    }

    async fn call(
        router: &Router,
        method: &str,
        path: &str,
        token: &str,
    ) -> (StatusCode, serde_json::Value) {
        let answer = send(router, request(method, path, Some(token))).await;
        (answer.status, answer.body)
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
        let dir = tempfile::tempdir().unwrap();
        let (security, tokens) = security(dir.path());
        let admin = token(&tokens, Role::Admin);
        let router = router(DeskParts::default(), security);
        for route in ROUTES {
            let (status, body) = call(&router, route.method, route.path, &admin).await;
            if route.part == Part::Always {
                assert_ne!(status, StatusCode::SERVICE_UNAVAILABLE, "{route:?}");
                continue;
            }
            assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{route:?}");
            assert_eq!(body["code"], "unavailable", "{route:?}");
            assert!(
                body["message"].as_str().unwrap().contains("yuqing"),
                "{route:?}: {body}"
            );
        }
        let (status, body) = call(&router, "GET", "/api/no-such-route", &admin).await;
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

    fn full_desk(dir: &std::path::Path) -> (Router, Vec<(Role, String)>) {
        let segmenter = Arc::new(yuqing_segmenter::Segmenter::new());
        let index = SearchIndex::open_or_create(&dir.join("index"), segmenter).unwrap();
        let store = AlertStore::open(&dir.join("state.sqlite")).unwrap();
        let (security, tokens) = security(dir);
        let router = router(
            DeskParts {
                index: Some(index),
                alert_store: Some(Arc::new(store)),
                rule_book: Some(RuleBook::fixed(Vec::new())),
                status: Some(Arc::new(FixedStatus)),
                health: Arc::default(),
            },
            security,
        );
        (router, tokens)
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn a_desk_with_every_part_serves_every_route() {
        let dir = tempfile::tempdir().unwrap();
        let (router, tokens) = full_desk(dir.path());
        let admin = token(&tokens, Role::Admin);
        for route in ROUTES {
            let (status, body) = call(&router, route.method, route.path, &admin).await;
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
            &admin,
        )
        .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
        assert!(
            body["message"].as_str().unwrap().contains("first 10000"),
            "{body}"
        );
        // A 5 KB query of nested `-(` once overflowed the stack and aborted the process.
        let nested = format!("{}溺水{}", "-(".repeat(1200), ")".repeat(1200));
        let (status, body) = call(&router, "GET", &format!("/api/search?q={nested}"), &admin).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
        assert!(
            body["message"].as_str().unwrap().contains("deeper than 32"),
            "{body}"
        );
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn every_route_checks_its_role_401_without_credentials_403_below_it() {
        let dir = tempfile::tempdir().unwrap();
        let (router, tokens) = full_desk(dir.path());
        for route in ROUTES {
            let anonymous = send(&router, request(route.method, route.path, None)).await;
            match route.access {
                Access::Public => {
                    assert_ne!(anonymous.status, StatusCode::UNAUTHORIZED, "{route:?}");
                    continue;
                }
                Access::AlertLink => {
                    assert_eq!(anonymous.status, StatusCode::UNAUTHORIZED, "{route:?}");
                    continue;
                }
                Access::Role(needed) => {
                    assert_eq!(anonymous.status, StatusCode::UNAUTHORIZED, "{route:?}");
                    assert_eq!(anonymous.body["code"], "unauthorized", "{route:?}");
                    assert!(
                        anonymous.headers.contains_key("www-authenticate"),
                        "{route:?}"
                    );
                    for (role, token) in &tokens {
                        let (status, body) = call(&router, route.method, route.path, token).await;
                        if *role < needed {
                            assert_eq!(
                                status,
                                StatusCode::FORBIDDEN,
                                "{route:?} as {role}: {body}"
                            );
                            assert!(
                                body["message"].as_str().unwrap().contains(needed.zh()),
                                "{body}"
                            );
                        } else {
                            assert!(
                                ![StatusCode::UNAUTHORIZED, StatusCode::FORBIDDEN]
                                    .contains(&status),
                                "{route:?} as {role}: {status} {body}"
                            );
                        }
                    }
                }
            }
        }
        // An analyst edits rules but may not aim one at a new address: a webhook is an
        // administrator's to set (the fixed rule book then refuses the edit as such).
        let with_webhook = |token: &str| {
            Request::builder()
                .method("PUT")
                .uri(urlencode("/api/rules/溺水预警"))
                .header("host", HOST)
                .header("content-type", "application/json")
                .header("authorization", format!("Bearer {token}"))
                .body(Body::from(
                    r#"{"name": "溺水预警", "query": "溺水", "webhook": "https://hooks.example.cn/hook"}"#,
                ))
                .unwrap()
        };
        let analyst = send(&router, with_webhook(&token(&tokens, Role::Analyst))).await;
        assert_eq!(analyst.status, StatusCode::FORBIDDEN, "{}", analyst.body);
        assert!(analyst.body["message"]
            .as_str()
            .unwrap()
            .contains("webhook"));
        let admin = send(&router, with_webhook(&token(&tokens, Role::Admin))).await;
        assert_eq!(admin.status, StatusCode::CONFLICT, "{}", admin.body);

        // A token that was never issued is refused as such, not taken as anonymous.
        let (status, body) = call(&router, "GET", "/api/search?q=", "yqt_0_forged").await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    }

    fn login_request(origin: Option<&str>, password: &str) -> Request<Body> {
        let mut builder = Request::builder()
            .method("POST")
            .uri("/api/login")
            .header("host", HOST)
            .header("content-type", "application/json");
        if let Some(origin) = origin {
            builder = builder.header("origin", origin);
        }
        builder
            .body(Body::from(
                serde_json::json!({"name": "analyst-user", "password": password}).to_string(),
            ))
            .unwrap()
    }

    fn with_cookie(method: &str, path: &str, cookie: &str, origin: Option<&str>) -> Request<Body> {
        let mut builder = Request::builder()
            .method(method)
            .uri(urlencode(path))
            .header("host", HOST)
            .header("cookie", cookie)
            .header("content-type", "application/json");
        if let Some(origin) = origin {
            builder = builder.header("origin", origin);
        }
        let body = if method == "PUT" {
            r#"{"name": "食堂预警", "query": "腹泻"}"#
        } else {
            ""
        };
        builder.body(Body::from(body)).unwrap()
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn a_login_is_an_httponly_strict_cookie_and_changes_need_the_desks_origin() {
        let dir = tempfile::tempdir().unwrap();
        let (router, _) = full_desk(dir.path());
        let own = "https://yq.example.gov.cn";
        let wrong = send(&router, login_request(Some(own), "not the password")).await;
        assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
        assert!(!wrong.headers.contains_key("set-cookie"));
        // A login form posted from another site is refused before the password is read.
        let forged = send(
            &router,
            login_request(Some("https://evil.example"), PASSWORD),
        )
        .await;
        assert_eq!(forged.status, StatusCode::FORBIDDEN, "{}", forged.body);
        let login = send(&router, login_request(Some(own), PASSWORD)).await;
        assert_eq!(login.status, StatusCode::OK, "{}", login.body);
        assert_eq!(login.body["role"], "analyst");
        let set_cookie = login.headers["set-cookie"].to_str().unwrap().to_string();
        for attribute in ["HttpOnly", "SameSite=Strict", "Secure", "Path=/"] {
            assert!(set_cookie.contains(attribute), "{set_cookie}");
        }
        let cookie = set_cookie.split(';').next().unwrap().to_string();
        let me = send(&router, with_cookie("GET", "/api/me", &cookie, None)).await;
        assert_eq!(
            (me.status, me.body["user"].as_str()),
            (StatusCode::OK, Some("analyst-user"))
        );

        // A change with the session: from the desk's own page it is made; with another
        // site's Origin, or with none, it is refused.
        let path = "/api/rules/食堂预警";
        for (origin, expected) in [
            (Some("https://evil.example"), StatusCode::FORBIDDEN),
            (None, StatusCode::FORBIDDEN),
            (Some("null"), StatusCode::FORBIDDEN),
            (Some(own), StatusCode::CONFLICT), // a fixed rule book: the change is judged
        ] {
            let answer = send(&router, with_cookie("PUT", path, &cookie, origin)).await;
            assert_eq!(answer.status, expected, "{origin:?}: {}", answer.body);
        }

        let logout = send(
            &router,
            with_cookie("POST", "/api/logout", &cookie, Some(own)),
        )
        .await;
        assert_eq!(logout.status, StatusCode::NO_CONTENT);
        let after = send(&router, with_cookie("GET", "/api/me", &cookie, None)).await;
        assert_eq!(after.status, StatusCode::UNAUTHORIZED);
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn other_hosts_are_refused_and_every_answer_forbids_framing() {
        let dir = tempfile::tempdir().unwrap();
        let (router, tokens) = full_desk(dir.path());
        let admin = token(&tokens, Role::Admin);
        let mut rebound = request("GET", "/api/search?q=", Some(&admin));
        rebound
            .headers_mut()
            .insert("host", "rebound.evil.example:8730".parse().unwrap());
        let answer = send(&router, rebound).await;
        assert_eq!(
            answer.status,
            StatusCode::MISDIRECTED_REQUEST,
            "{}",
            answer.body
        );
        for path in ["/api/health", "/api/search?q=", "/api/nowhere"] {
            let answer = send(&router, request("GET", path, Some(&admin))).await;
            let csp = answer.headers["content-security-policy"].to_str().unwrap();
            assert!(csp.contains("frame-ancestors 'none'"), "{path}: {csp}");
            assert_eq!(answer.headers["x-content-type-options"], "nosniff");
            assert_eq!(answer.headers["referrer-policy"], "no-referrer");
        }
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn a_desk_without_users_says_how_to_make_the_first() {
        let dir = tempfile::tempdir().unwrap();
        let access =
            AccessStore::open(&dir.path().join("state.sqlite"), Default::default()).unwrap();
        let security = DeskSecurity {
            links: AlertLinks::new([1; 32], chrono::Duration::days(7)),
            access: Arc::new(access),
            public_url: None,
            listen: HOST.parse().unwrap(),
            allowed_hosts: Vec::new(),
        };
        let router = router(DeskParts::default(), security);
        let answer = send(&router, request("GET", "/api/search?q=", None)).await;
        assert_eq!(answer.status, StatusCode::UNAUTHORIZED);
        assert!(
            answer.body["message"]
                .as_str()
                .unwrap()
                .contains("yuqing user add"),
            "{}",
            answer.body
        );
    }
}
