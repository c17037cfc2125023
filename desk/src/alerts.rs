//! The alert case log (台账) over HTTP, and the 签收 page the alert messages link to.

use crate::error::{blocking, DeskError};
use crate::{DEFAULT_LIMIT, MAX_LIMIT};
use axum::extract::{Path, Query, State};
use axum::response::{Html, IntoResponse};
use axum::routing::{get, post};
use axum::{Form, Json, Router};
use serde::Deserialize;
use std::sync::Arc;
use yuqing_alerts::{AlertStore, Case, CaseError};

/// The alert case log over HTTP:
/// - `GET /api/alerts?limit=N` → the latest cases with deliveries and events;
/// - `GET /api/alerts/{id}` → one case;
/// - `POST /api/alerts/{id}/ack` with `{"by": "…"}` → 签收;
/// - `POST /api/alerts/{id}/close` with `{"note": "…"}` → 处置.
pub(crate) fn routes(store: Arc<AlertStore>) -> Router {
    Router::new()
        .route("/api/alerts", get(list_alerts))
        .route("/api/alerts/export.csv", get(export_alerts))
        .route("/api/alerts/{id}", get(show_alert))
        .route("/api/alerts/{id}/ack", post(ack_alert))
        .route("/api/alerts/{id}/close", post(close_alert))
        .route("/ack/{id}", get(ack_page).post(ack_form))
        .with_state(store)
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
    State(store): State<Arc<AlertStore>>,
    Path(id): Path<String>,
) -> Result<Html<String>, DeskError> {
    let case = case_work(move || store.case(&id)?.ok_or(CaseError::NotFound(id))).await?;
    Ok(Html(ack_html(&case, None)))
}

async fn ack_form(
    State(store): State<Arc<AlertStore>>,
    Path(id): Path<String>,
    Form(form): Form<AckBody>,
) -> Result<Html<String>, DeskError> {
    let by = form.by.trim().chars().take(40).collect::<String>();
    let (case, message) = case_work(move || {
        let message = match store.acknowledge(&id, &by) {
            Ok(()) => "签收成功".to_string(),
            Err(CaseError::WrongState { .. }) => "此预警已被签收".to_string(),
            Err(error) => return Err(error),
        };
        Ok((store.case(&id)?.ok_or(CaseError::NotFound(id))?, message))
    })
    .await?;
    Ok(Html(ack_html(&case, Some(&message))))
}

#[derive(Deserialize)]
struct ListParams {
    limit: Option<usize>,
}

/// Runs work on the case log off the async threads, its errors as the desk's.
async fn case_work<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, CaseError> + Send + 'static,
) -> Result<T, DeskError> {
    match blocking("case log", work).await? {
        Ok(value) => Ok(value),
        Err(CaseError::NotFound(id)) => Err(DeskError::NotFound(format!("no alert with id {id}"))),
        Err(error @ CaseError::WrongState { .. }) => Err(DeskError::Conflict(error.to_string())),
        Err(error) => {
            tracing::error!(%error, "alert case log failed");
            Err(DeskError::Internal)
        }
    }
}

async fn list_alerts(
    State(store): State<Arc<AlertStore>>,
    Query(params): Query<ListParams>,
) -> Result<Json<Vec<Case>>, DeskError> {
    let limit = params.limit.unwrap_or(DEFAULT_LIMIT).clamp(1, MAX_LIMIT);
    case_work(move || store.cases(limit).map_err(CaseError::from))
        .await
        .map(Json)
}

/// The case log (台账) as a CSV download.
async fn export_alerts(
    State(store): State<Arc<AlertStore>>,
) -> Result<impl IntoResponse, DeskError> {
    let csv = case_work(move || {
        let mut out = Vec::new();
        yuqing_alerts::export_csv(&store.cases(1_000_000)?, &mut out)?;
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
    State(store): State<Arc<AlertStore>>,
    Path(id): Path<String>,
) -> Result<Json<Case>, DeskError> {
    case_work(move || store.case(&id)?.ok_or(CaseError::NotFound(id)))
        .await
        .map(Json)
}

#[derive(Deserialize)]
struct AckBody {
    by: String,
}

async fn ack_alert(
    State(store): State<Arc<AlertStore>>,
    Path(id): Path<String>,
    Json(body): Json<AckBody>,
) -> Result<Json<Case>, DeskError> {
    case_work(move || {
        store.acknowledge(&id, &body.by)?;
        store.case(&id)?.ok_or(CaseError::NotFound(id))
    })
    .await
    .map(Json)
}

#[derive(Deserialize)]
struct CloseBody {
    note: String,
}

async fn close_alert(
    State(store): State<Arc<AlertStore>>,
    Path(id): Path<String>,
    Json(body): Json<CloseBody>,
) -> Result<Json<Case>, DeskError> {
    case_work(move || {
        store.close(&id, &body.note)?;
        store.case(&id)?.ok_or(CaseError::NotFound(id))
    })
    .await
    .map(Json)
}
