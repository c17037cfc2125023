//! The alert case log (台账) over HTTP, and the 签收 page the alert messages link to.

use crate::accounts::audit;
use crate::error::{blocking, DeskError};
use crate::guard::DeskSecurity;
use crate::{DEFAULT_LIMIT, MAX_LIMIT};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Extension, Form, Json, Router};
use serde::Deserialize;
use std::sync::Arc;
use yuqing_access::Identity;
use yuqing_alerts::{AlertStore, Case, CaseError, Outcome};

/// The alert case log over HTTP:
/// - `GET /api/alerts?limit=N` → the latest cases with deliveries and events;
/// - `GET /api/alerts/{id}` → one case;
/// - `POST /api/alerts/{id}/ack` → 签收 by the user;
/// - `POST /api/alerts/{id}/close` with `{"note": "…"}` → 处置.
pub(crate) fn routes(store: Arc<AlertStore>) -> Router {
    Router::new()
        .route("/api/alerts", get(list_alerts))
        .route("/api/alerts/export.csv", get(export_alerts))
        .route("/api/alerts/{id}", get(show_alert))
        .route("/api/alerts/{id}/ack", post(ack_alert))
        .route("/api/alerts/{id}/close", post(close_alert))
        .route("/api/alerts/{id}/assign", post(assign_alert))
        .route("/ack/{id}", get(ack_page).post(ack_form))
        .with_state(store)
}

/// The page the 签收 link of an alert message opens: what the alert is and a button.
/// Acknowledging takes the button (a POST), so a chat app fetching a link preview does
/// not acknowledge anything. `holder` is how the page was reached: a logged-in user
/// acknowledges as themselves, a link holder types their name.
fn ack_html(case: &Case, message: Option<&str>, holder: &Holder) -> String {
    let e = yuqing_indexer::html_escape;
    let state = yuqing_alerts::state_zh(&case.state);
    let form = match (case.state.as_str(), holder) {
        ("raised", Holder::User(user)) => format!(
            "<form method=\"post\"><p>签收人：{}</p><button type=\"submit\">签收</button></form>",
            e(user)
        ),
        ("raised", Holder::Link(token)) => format!(
            "<form method=\"post\"><input type=\"hidden\" name=\"t\" value=\"{}\"><label>签收人 <input name=\"by\" required maxlength=\"40\"></label> <button type=\"submit\">签收</button></form>",
            e(token)
        ),
        _ => format!(
            "<p>签收人：{}（{}）</p>",
            e(case.acknowledged_by.as_deref().unwrap_or("")),
            e(case.acknowledged_at.as_deref().unwrap_or(""))
        ),
    };
    format!(
        "<!doctype html><html lang=\"zh-CN\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width\"><title>舆情预警签收</title></head><body><h1>{title}</h1><p>规则：{rule} · 状态：{state}</p><p><a href=\"{url}\">查看原文</a></p>{message}{form}</body></html>",
        title = e(&case.title),
        rule = e(&case.rule),
        url = e(&case.url),
        message = message.map(|m| format!("<p><strong>{}</strong></p>", e(m))).unwrap_or_default(),
    )
}

/// Who is at the 签收 page.
enum Holder {
    /// A logged-in user (any role may acknowledge).
    User(String),
    /// Someone holding the alert's signed link token.
    Link(String),
}

/// A refusal as a page, for a person on a phone rather than a script.
fn refused(status: StatusCode, message: &str) -> Response {
    let e = yuqing_indexer::html_escape;
    (
        status,
        Html(format!(
            "<!doctype html><html lang=\"zh-CN\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width\"><title>舆情预警签收</title></head><body><p><strong>{}</strong></p></body></html>",
            e(message)
        )),
    )
        .into_response()
}

/// Who may acknowledge alert `id` here: a logged-in user, or the holder of a link token
/// signed for this alert that has not expired. Checked before the alert is looked up,
/// so the page tells nobody else whether an alert exists.
fn holder(
    security: &DeskSecurity,
    identity: Option<Identity>,
    id: &str,
    token: Option<&str>,
) -> Result<Holder, (StatusCode, String)> {
    if let Some(identity) = identity {
        return Ok(Holder::User(identity.user));
    }
    let Some(token) = token.filter(|t| !t.is_empty()) else {
        return Err((
            StatusCode::UNAUTHORIZED,
            "请通过预警消息中的签收链接打开此页，或先登录舆情值班台".into(),
        ));
    };
    match security.links.verify(id, token, chrono::Utc::now()) {
        Ok(()) => Ok(Holder::Link(token.to_string())),
        Err(error) => Err((StatusCode::FORBIDDEN, error.to_string())),
    }
}

#[derive(Deserialize)]
struct LinkParams {
    t: Option<String>,
}

async fn ack_page(
    State(store): State<Arc<AlertStore>>,
    Extension(security): Extension<Arc<DeskSecurity>>,
    identity: Option<Extension<Identity>>,
    Path(id): Path<String>,
    Query(params): Query<LinkParams>,
) -> Result<Response, DeskError> {
    let holder = match holder(&security, identity.map(|i| i.0), &id, params.t.as_deref()) {
        Ok(holder) => holder,
        Err((status, message)) => return Ok(refused(status, &message)),
    };
    let case = case_work(move || store.case(&id)?.ok_or(CaseError::NotFound(id))).await?;
    Ok(Html(ack_html(&case, None, &holder)).into_response())
}

#[derive(Deserialize)]
struct AckForm {
    #[serde(default)]
    by: String,
    t: Option<String>,
}

async fn ack_form(
    State(store): State<Arc<AlertStore>>,
    Extension(security): Extension<Arc<DeskSecurity>>,
    identity: Option<Extension<Identity>>,
    Path(id): Path<String>,
    Form(form): Form<AckForm>,
) -> Result<Response, DeskError> {
    let holder = match holder(&security, identity.map(|i| i.0), &id, form.t.as_deref()) {
        Ok(holder) => holder,
        Err((status, message)) => return Ok(refused(status, &message)),
    };
    let by = match &holder {
        Holder::User(user) => user.clone(),
        Holder::Link(_) => form.by.trim().chars().take(40).collect::<String>(),
    };
    if by.is_empty() {
        return Ok(refused(StatusCode::BAD_REQUEST, "请填写签收人"));
    }
    let actor = match &holder {
        Holder::User(user) => user.clone(),
        Holder::Link(_) => format!("{by}（签收链接）"),
    };
    let target = id.clone();
    let (case, message, acknowledged) = case_work(move || {
        let (message, acknowledged) = match store.acknowledge(&id, &by) {
            Ok(()) => ("签收成功".to_string(), true),
            Err(CaseError::WrongState { .. }) => ("此预警已被签收".to_string(), false),
            Err(error) => return Err(error),
        };
        Ok((
            store.case(&id)?.ok_or(CaseError::NotFound(id))?,
            message,
            acknowledged,
        ))
    })
    .await?;
    if acknowledged {
        let after =
            serde_json::json!({"state": case.state, "acknowledged_by": case.acknowledged_by});
        audit(&security, &actor, "alert.ack", &target, None, Some(after)).await;
    }
    Ok(Html(ack_html(&case, Some(&message), &holder)).into_response())
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
        Err(error @ CaseError::NeedsReason) => Err(DeskError::BadParameter(error.to_string())),
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

/// 签收 by the user making the request.
async fn ack_alert(
    State(store): State<Arc<AlertStore>>,
    Extension(security): Extension<Arc<DeskSecurity>>,
    Extension(identity): Extension<Identity>,
    Path(id): Path<String>,
) -> Result<Json<Case>, DeskError> {
    let (by, target) = (identity.user.clone(), id.clone());
    let case = case_work(move || {
        store.acknowledge(&id, &by)?;
        store.case(&id)?.ok_or(CaseError::NotFound(id))
    })
    .await?;
    let after = serde_json::json!({"state": case.state, "acknowledged_by": case.acknowledged_by});
    audit(
        &security,
        &identity.user,
        "alert.ack",
        &target,
        None,
        Some(after),
    )
    .await;
    Ok(Json(case))
}

#[derive(Deserialize)]
struct AssignBody {
    /// A desk user's name.
    to: String,
}

/// `POST /api/alerts/{id}/assign`: gives the case to a desk user (指派).
async fn assign_alert(
    State(store): State<Arc<AlertStore>>,
    Extension(security): Extension<Arc<DeskSecurity>>,
    Extension(identity): Extension<Identity>,
    Path(id): Path<String>,
    Json(body): Json<AssignBody>,
) -> Result<Json<Case>, DeskError> {
    let to = body.to.trim().to_string();
    let access = security.access.clone();
    let known = blocking("user lookup", {
        let to = to.clone();
        move || access.user(&to)
    })
    .await?
    .map_err(|error| {
        tracing::error!(%error, "desk access state");
        DeskError::Internal
    })?;
    match known {
        Some(user) if !user.disabled => {}
        _ => {
            return Err(DeskError::BadParameter(format!(
                "no enabled desk user named {to:?} to assign the alert to"
            )))
        }
    }
    let (target, by, assignee) = (id.clone(), identity.user.clone(), to.clone());
    let case = case_work(move || {
        store.assign(&id, &assignee, &by)?;
        store.case(&id)?.ok_or(CaseError::NotFound(id))
    })
    .await?;
    audit(
        &security,
        &identity.user,
        "alert.assign",
        &target,
        None,
        Some(serde_json::json!({"assignee": to})),
    )
    .await;
    Ok(Json(case))
}

#[derive(Deserialize)]
struct CloseBody {
    note: String,
    /// 误报: the alert was wrong (the note says why).
    #[serde(default)]
    false_alarm: bool,
}

async fn close_alert(
    State(store): State<Arc<AlertStore>>,
    Extension(security): Extension<Arc<DeskSecurity>>,
    Extension(identity): Extension<Identity>,
    Path(id): Path<String>,
    Json(body): Json<CloseBody>,
) -> Result<Json<Case>, DeskError> {
    let target = id.clone();
    let outcome = if body.false_alarm {
        Outcome::FalseAlarm
    } else {
        Outcome::Handled
    };
    let by = identity.user.clone();
    let case = case_work(move || {
        let before = store
            .case(&id)?
            .ok_or_else(|| CaseError::NotFound(id.clone()))?;
        store.close(&id, &by, &body.note, outcome)?;
        let after = store.case(&id)?.ok_or(CaseError::NotFound(id))?;
        Ok((before.state, after))
    })
    .await;
    let (before, case) = case?;
    audit(
        &security,
        &identity.user,
        "alert.close",
        &target,
        Some(serde_json::json!({"state": before})),
        Some(serde_json::json!({"state": case.state, "outcome": case.outcome, "note": case.note})),
    )
    .await;
    Ok(Json(case))
}
