//! The monitoring desk's HTTP API, served by `yuqing run` and `yuqing serve`.
//!
//! - `GET /api/search?q=…&limit=…&sort=relevance|time|risk|spread` → `{"total": N, "hits": [...]}`,
//!   the same shape as `yuqing search --json`, plus `facets` (counts of the whole result
//!   per topic, district, sentiment, risk and source) and `histogram` (by publish time,
//!   Beijing hours or days, leaving out those with no document; `interval=hour|day`,
//!   `facets=false` to skip both); a bad query is a 400 with the
//!   character position of the problem;
//! - `GET /api/documents/{id}` → the document, its analysis with explanations, its cluster;
//! - `GET /api/clusters/{id}` → the reprints of one story, first published first;
//! - `GET /api/health` → `{"status": "ok", "documents": N}`.
//!
//! Errors are `{"message", "code"}` with a 4xx/5xx status; nothing a user types can crash
//! the server or leak an internal error.

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Form, Json, Router};
use serde::{Deserialize, Serialize};
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::net::TcpListener;
use tokio::sync::watch;
use yuqing_alerts::{AlertRule, Case, CaseError, Outbox, RuleBook, RuleBookError};
use yuqing_indexer::query::QueryError;
use yuqing_indexer::{
    Cursor, Interval, SearchError, SearchIndex, SearchRequest, SearchResults, Sort,
};

/// Most hits one request may ask for.
const MAX_LIMIT: usize = 200;
const DEFAULT_LIMIT: usize = 20;

#[derive(Debug, Serialize)]
struct ApiError {
    message: String,
    code: &'static str,
    /// For a bad query: the character of the query where the problem is.
    #[serde(skip_serializing_if = "Option::is_none")]
    position: Option<usize>,
}

enum DeskError {
    BadQuery(QueryError),
    BadParameter(String),
    NotFound(String),
    Conflict(String),
    Internal,
}

impl IntoResponse for DeskError {
    fn into_response(self) -> Response {
        let (status, code, message, position) = match self {
            DeskError::BadQuery(error) => (
                StatusCode::BAD_REQUEST,
                "bad_query",
                error.message,
                Some(error.position),
            ),
            DeskError::BadParameter(message) => {
                (StatusCode::BAD_REQUEST, "bad_parameter", message, None)
            }
            DeskError::NotFound(message) => (StatusCode::NOT_FOUND, "not_found", message, None),
            DeskError::Conflict(message) => (StatusCode::CONFLICT, "conflict", message, None),
            DeskError::Internal => (
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal",
                "the request failed; see the server log".to_string(),
                None,
            ),
        };
        (
            status,
            Json(ApiError {
                message,
                code,
                position,
            }),
        )
            .into_response()
    }
}

#[derive(Debug, Deserialize)]
struct SearchParams {
    #[serde(default)]
    q: String,
    limit: Option<usize>,
    /// relevance (default), time or risk.
    sort: Option<String>,
    /// `false` leaves out the counts per topic, district, … and the time histogram.
    facets: Option<bool>,
    /// hour or day (default): the histogram's buckets.
    interval: Option<String>,
    /// `true`: one row per story, reprints left out (each row has `cluster_size`).
    #[serde(default)]
    collapse: bool,
    /// The `next_cursor` of the previous page.
    cursor: Option<String>,
}

/// A page of results, with the cursor of the next page when there is one.
#[derive(Serialize)]
struct Page {
    #[serde(flatten)]
    results: SearchResults,
    next_cursor: Option<String>,
}

async fn search(
    State(index): State<SearchIndex>,
    Query(params): Query<SearchParams>,
) -> Result<Json<Page>, DeskError> {
    let cursor = match params.cursor.as_deref() {
        None | Some("") => Cursor::first(chrono::Utc::now()),
        Some(token) => Cursor::decode(token).ok_or_else(|| {
            DeskError::BadParameter(format!(
                "cursor `{token}` is not one this server gave (use next_cursor as it came)"
            ))
        })?,
    };
    let sort = match params.sort.as_deref() {
        None | Some("") => Sort::default(),
        Some(text) => text.parse().map_err(DeskError::BadParameter)?,
    };
    let interval = match params.interval.as_deref() {
        None | Some("") | Some("day") => Interval::Day,
        Some("hour") => Interval::Hour,
        Some(other) => {
            return Err(DeskError::BadParameter(format!(
                "interval is hour or day, not `{other}`"
            )))
        }
    };
    let limit = params.limit.unwrap_or(DEFAULT_LIMIT).clamp(1, MAX_LIMIT);
    let mut request = SearchRequest {
        query: params.q,
        limit,
        sort,
        facets: params.facets.unwrap_or(true).then_some(interval),
        collapse: params.collapse,
        among_ids: None,
        fetched_within: None,
        offset: 0,
    };
    cursor
        .apply(&mut request)
        .ok_or_else(|| DeskError::BadParameter("cursor: not a time".into()))?;
    let collapse = request.collapse;
    let result = tokio::task::spawn_blocking(move || index.search(&request)).await;
    match result {
        Ok(Ok(results)) => {
            let more =
                results.hits.len() == limit && (collapse || cursor.offset + limit < results.total);
            let next_cursor = more.then(|| {
                Cursor {
                    offset: cursor.offset + limit,
                    fetched_before: cursor.fetched_before,
                }
                .encode()
            });
            Ok(Json(Page {
                results,
                next_cursor,
            }))
        }
        Ok(Err(SearchError::BadQuery(message))) => Err(DeskError::BadQuery(message)),
        Ok(Err(error)) => {
            tracing::error!(%error, "search failed");
            Err(DeskError::Internal)
        }
        Err(panic) => {
            tracing::error!(%panic, "search panicked");
            Err(DeskError::Internal)
        }
    }
}

#[derive(Serialize)]
struct Health {
    status: &'static str,
    documents: u64,
}

async fn health(State(index): State<SearchIndex>) -> Json<Health> {
    Json(Health {
        status: "ok",
        documents: index.num_docs(),
    })
}

/// `GET /api/documents/{id}/snapshot`: the page as it was fetched (存证), even if its
/// site has removed it. Crawled pages are hostile: the page is served sandboxed, with
/// no script, style or request allowed, and never sniffed as anything else.
async fn snapshot(
    State(index): State<SearchIndex>,
    Path(id): Path<String>,
) -> Result<Response, DeskError> {
    let missing = format!("no snapshot of document {id}");
    let bytes = tokio::task::spawn_blocking(move || index.snapshot(&id))
        .await
        .map_err(|_| DeskError::Internal)?
        .ok_or(DeskError::NotFound(missing))?;
    Ok((
        [
            (axum::http::header::CONTENT_TYPE, "text/html"),
            (
                axum::http::header::CONTENT_SECURITY_POLICY,
                "sandbox; default-src 'none'",
            ),
            (axum::http::header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
            (axum::http::header::REFERRER_POLICY, "no-referrer"),
        ],
        bytes,
    )
        .into_response())
}

/// `GET /api/documents/{id}`: the document with its analysis (every tag with the rule
/// and the matched words and offsets) and its reprint cluster.
async fn document(
    State(index): State<SearchIndex>,
    Path(id): Path<String>,
) -> Result<Response, DeskError> {
    let found = tokio::task::spawn_blocking(move || index.document(&id))
        .await
        .map_err(|_| DeskError::Internal)?
        .map_err(|error| {
            tracing::error!(%error, "document lookup failed");
            DeskError::Internal
        })?;
    Ok(match found {
        Some((document, cluster)) => Json(serde_json::json!({
            "document": document.document,
            "analysis": document.analysis,
            "cluster": cluster,
        }))
        .into_response(),
        None => DeskError::NotFound("no document with this id".into()).into_response(),
    })
}

/// `GET /api/clusters/{id}`: the documents of one story (its reprints), first published
/// first.
async fn cluster(
    State(index): State<SearchIndex>,
    Path(id): Path<String>,
) -> Result<Response, DeskError> {
    let members = tokio::task::spawn_blocking(move || index.cluster_members(&id, MAX_LIMIT))
        .await
        .map_err(|_| DeskError::Internal)?
        .map_err(|error| {
            tracing::error!(%error, "cluster lookup failed");
            DeskError::Internal
        })?;
    if members.is_empty() {
        return Ok(DeskError::NotFound("no cluster with this id".into()).into_response());
    }
    let rows: Vec<serde_json::Value> = members
        .into_iter()
        .map(|d| {
            serde_json::json!({
                "id": d.document.id,
                "title": d.document.title,
                "url": d.document.url,
                "source": d.document.source,
                "origin": d.document.origin,
                "published_at": d.document.published_at,
                "fetched_at": d.document.fetched_at,
            })
        })
        .collect();
    Ok(Json(serde_json::json!({ "cluster": rows.first().map(|r| r["id"].clone()), "size": rows.len(), "members": rows })).into_response())
}

pub fn app(index: SearchIndex) -> Router {
    Router::new()
        .route("/api/search", get(search))
        .route("/api/documents/{id}", get(document))
        .route("/api/documents/{id}/snapshot", get(snapshot))
        .route("/api/clusters/{id}", get(cluster))
        .route("/api/health", get(health))
        .with_state(index)
}

/// Binds the desk's address; returns the listener so the caller learns the real port
/// (the configuration may say port 0) before serving.
pub async fn bind(addr: SocketAddr) -> std::io::Result<TcpListener> {
    TcpListener::bind(addr).await
}

/// Serves the desk until `shutdown` turns true.
pub async fn serve(
    listener: TcpListener,
    index: SearchIndex,
    shutdown: watch::Receiver<bool>,
) -> std::io::Result<()> {
    serve_router(listener, app(index), shutdown).await
}

/// Serves the desk's routes with more merged in (for example `/api/status`, which needs
/// parts of the system the desk does not know).
pub async fn serve_router(
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

/// The alert case log over HTTP:
/// - `GET /api/alerts?limit=N` → the latest cases with deliveries and events;
/// - `GET /api/alerts/{id}` → one case;
/// - `POST /api/alerts/{id}/ack` with `{"by": "…"}` → 签收;
/// - `POST /api/alerts/{id}/close` with `{"note": "…"}` → 处置.
pub fn alert_routes(outbox: Arc<Outbox>) -> Router {
    Router::new()
        .route("/api/alerts", get(list_alerts))
        .route("/api/alerts/export.csv", get(export_alerts))
        .route("/api/alerts/{id}", get(show_alert))
        .route("/api/alerts/{id}/ack", post(ack_alert))
        .route("/api/alerts/{id}/close", post(close_alert))
        .route("/ack/{id}", get(ack_page).post(ack_form))
        .with_state(outbox)
}

/// The alert rules, read and edited by analysts:
/// - `GET /api/rules` → every rule in force, with `editable` (rules of the rules file);
/// - `PUT /api/rules/{name}` with the rule as JSON → added or replaced in the rules file,
///   in force at once; a wrong rule is a 400 naming what is wrong (a bad query with its
///   position), a rule of the configuration file a 409;
/// - `DELETE /api/rules/{name}`.
pub fn rule_routes(book: Arc<RuleBook>) -> Router {
    Router::new()
        .route("/api/rules", get(list_rules))
        .route(
            "/api/rules/{name}",
            axum::routing::put(put_rule).delete(delete_rule),
        )
        .with_state(book)
}

#[derive(Serialize)]
struct ListedRule {
    #[serde(flatten)]
    rule: AlertRule,
    editable: bool,
}

async fn list_rules(State(book): State<Arc<RuleBook>>) -> Json<Vec<ListedRule>> {
    let rules = book.rules();
    Json(
        rules
            .iter()
            .map(|rule| ListedRule {
                editable: book.editable(&rule.name),
                rule: rule.clone(),
            })
            .collect(),
    )
}

fn rule_error(error: RuleBookError) -> DeskError {
    match error {
        RuleBookError::Invalid(message) => DeskError::BadParameter(message),
        RuleBookError::NotFound(name) => {
            DeskError::NotFound(format!("no alert rule named {name:?}"))
        }
        error @ (RuleBookError::Fixed(_) | RuleBookError::NoFile) => {
            DeskError::Conflict(error.to_string())
        }
        RuleBookError::Io(message) => {
            tracing::error!(%message, "alert rules file");
            DeskError::Internal
        }
    }
}

async fn put_rule(
    State(book): State<Arc<RuleBook>>,
    Path(name): Path<String>,
    body: Result<Json<AlertRule>, axum::extract::rejection::JsonRejection>,
) -> Result<Json<AlertRule>, DeskError> {
    let Json(rule) =
        body.map_err(|e| DeskError::BadParameter(format!("the rule: {}", e.body_text())))?;
    if rule.name != name {
        return Err(DeskError::BadParameter(format!(
            "the rule's name {:?} differs from the address's {name:?}",
            rule.name
        )));
    }
    let saved = rule.clone();
    tokio::task::spawn_blocking(move || book.put(rule))
        .await
        .map_err(|_| DeskError::Internal)?
        .map_err(rule_error)?;
    Ok(Json(saved))
}

async fn delete_rule(
    State(book): State<Arc<RuleBook>>,
    Path(name): Path<String>,
) -> Result<StatusCode, DeskError> {
    tokio::task::spawn_blocking(move || book.delete(&name))
        .await
        .map_err(|_| DeskError::Internal)?
        .map_err(rule_error)?;
    Ok(StatusCode::NO_CONTENT)
}

/// The page the 签收 link of an alert message opens: what the alert is and a button.
/// Acknowledging takes the button (a POST), so a chat app fetching a link preview does
/// not acknowledge anything.
fn ack_html(case: &Case, message: Option<&str>) -> String {
    let e = yuqing_indexer::html_escape;
    let state = yuqing_alerts::state_zh(&case.state);
    let form = if case.state == "raised" {
        "<form method=\"post\"><label>签收人 <input name=\"by\" required maxlength=\"40\"></label> <button type=\"submit\">签收</button></form>".to_string()
    } else {
        format!(
            "<p>签收人：{}（{}）</p>",
            e(case.acknowledged_by.as_deref().unwrap_or("")),
            e(case.acknowledged_at.as_deref().unwrap_or(""))
        )
    };
    format!(
        "<!doctype html><html lang=\"zh-CN\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width\"><title>舆情预警签收</title></head><body><h1>{title}</h1><p>规则：{rule} · 状态：{state}</p><p><a href=\"{url}\">查看原文</a></p>{message}{form}</body></html>",
        title = e(&case.title),
        rule = e(&case.rule),
        url = e(&case.url),
        message = message.map(|m| format!("<p><strong>{}</strong></p>", e(m))).unwrap_or_default(),
    )
}

async fn ack_page(
    State(outbox): State<Arc<Outbox>>,
    Path(id): Path<String>,
) -> Result<Html<String>, DeskError> {
    let case = blocking(move || outbox.case(&id)?.ok_or(CaseError::NotFound(id))).await?;
    Ok(Html(ack_html(&case, None)))
}

async fn ack_form(
    State(outbox): State<Arc<Outbox>>,
    Path(id): Path<String>,
    Form(form): Form<AckBody>,
) -> Result<Html<String>, DeskError> {
    let by = form.by.trim().chars().take(40).collect::<String>();
    let (case, message) = blocking(move || {
        let message = match outbox.acknowledge(&id, &by) {
            Ok(()) => "签收成功".to_string(),
            Err(CaseError::WrongState { .. }) => "此预警已被签收".to_string(),
            Err(error) => return Err(error),
        };
        Ok((outbox.case(&id)?.ok_or(CaseError::NotFound(id))?, message))
    })
    .await?;
    Ok(Html(ack_html(&case, Some(&message))))
}

#[derive(Deserialize)]
struct ListParams {
    limit: Option<usize>,
}

async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, CaseError> + Send + 'static,
) -> Result<T, DeskError> {
    match tokio::task::spawn_blocking(work).await {
        Ok(Ok(value)) => Ok(value),
        Ok(Err(CaseError::NotFound(id))) => {
            Err(DeskError::NotFound(format!("no alert with id {id}")))
        }
        Ok(Err(error @ CaseError::WrongState { .. })) => {
            Err(DeskError::Conflict(error.to_string()))
        }
        Ok(Err(error)) => {
            tracing::error!(%error, "alert case log failed");
            Err(DeskError::Internal)
        }
        Err(_) => Err(DeskError::Internal),
    }
}

async fn list_alerts(
    State(outbox): State<Arc<Outbox>>,
    Query(params): Query<ListParams>,
) -> Result<Json<Vec<Case>>, DeskError> {
    let limit = params.limit.unwrap_or(DEFAULT_LIMIT).clamp(1, MAX_LIMIT);
    blocking(move || outbox.cases(limit).map_err(CaseError::from))
        .await
        .map(Json)
}

/// The case log (台账) as a CSV download.
async fn export_alerts(State(outbox): State<Arc<Outbox>>) -> Result<impl IntoResponse, DeskError> {
    let csv = blocking(move || {
        let mut out = Vec::new();
        yuqing_alerts::export_csv(&outbox.cases(1_000_000)?, &mut out)?;
        Ok::<_, CaseError>(out)
    })
    .await?;
    Ok((
        [
            (axum::http::header::CONTENT_TYPE, "text/csv; charset=utf-8"),
            (
                axum::http::header::CONTENT_DISPOSITION,
                "attachment; filename=\"yuqing-alerts.csv\"",
            ),
        ],
        csv,
    ))
}

async fn show_alert(
    State(outbox): State<Arc<Outbox>>,
    Path(id): Path<String>,
) -> Result<Json<Case>, DeskError> {
    blocking(move || outbox.case(&id)?.ok_or(CaseError::NotFound(id)))
        .await
        .map(Json)
}

#[derive(Deserialize)]
struct AckBody {
    by: String,
}

async fn ack_alert(
    State(outbox): State<Arc<Outbox>>,
    Path(id): Path<String>,
    Json(body): Json<AckBody>,
) -> Result<Json<Case>, DeskError> {
    blocking(move || {
        outbox.acknowledge(&id, &body.by)?;
        outbox.case(&id)?.ok_or(CaseError::NotFound(id))
    })
    .await
    .map(Json)
}

#[derive(Deserialize)]
struct CloseBody {
    note: String,
}

async fn close_alert(
    State(outbox): State<Arc<Outbox>>,
    Path(id): Path<String>,
    Json(body): Json<CloseBody>,
) -> Result<Json<Case>, DeskError> {
    blocking(move || {
        outbox.close(&id, &body.note)?;
        outbox.case(&id)?.ok_or(CaseError::NotFound(id))
    })
    .await
    .map(Json)
}
