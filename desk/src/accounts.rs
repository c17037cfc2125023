//! Logging in and out, the desk's users (administrators manage them), API tokens, and
//! the audit log.

use crate::error::{blocking, DeskError};
use crate::guard::{cookie, DeskSecurity, SESSION_COOKIE};
use crate::{DEFAULT_LIMIT, MAX_LIMIT};
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, patch, post};
use axum::{Extension, Json, Router};
use chrono::Utc;
use serde::Deserialize;
use std::sync::Arc;
use tokio::sync::Semaphore;
use yuqing_access::{AccessError, Identity, Role, UserChange};

/// Password checks run at most this many at once: each takes 19 MiB and tens of
/// milliseconds, so a flood of logins cannot exhaust memory or the blocking threads.
static PASSWORD_CHECKS: Semaphore = Semaphore::const_new(4);

/// Waits for a turn to hash or check a password; the turn lasts as long as the permit.
async fn password_turn() -> Result<tokio::sync::SemaphorePermit<'static>, DeskError> {
    // The semaphore is never closed, so acquiring fails only in theory.
    PASSWORD_CHECKS
        .acquire()
        .await
        .map_err(|_| DeskError::Internal)
}

pub(crate) fn routes(security: Arc<DeskSecurity>) -> Router {
    Router::new()
        .route("/api/login", post(login))
        .route("/api/logout", post(logout))
        .route("/api/me", get(me))
        .route("/api/me/password", post(change_password))
        .route("/api/users", get(list_users).post(add_user))
        .route("/api/users/{name}", patch(update_user).delete(remove_user))
        .route("/api/tokens", get(list_tokens).post(add_token))
        .route("/api/tokens/{id}", delete(revoke_token))
        .route("/api/audit", get(audit_log))
        .with_state(security)
}

fn access_error(error: AccessError) -> DeskError {
    match error {
        AccessError::BadName(_) | AccessError::BadPassword(_) => {
            DeskError::BadParameter(error.to_string())
        }
        AccessError::Exists(_) | AccessError::LastAdmin(_) => {
            DeskError::Conflict(error.to_string())
        }
        AccessError::NoUser(_) | AccessError::NoToken(_) => DeskError::NotFound(error.to_string()),
        AccessError::BadLogin => DeskError::Unauthorized(error.to_string()),
        AccessError::Locked(..) => DeskError::TooMany(error.to_string()),
        AccessError::State(error) => {
            tracing::error!(%error, "access state");
            DeskError::Internal
        }
    }
}

/// Runs work on the access tables off the async threads, its errors as the desk's.
async fn access_work<T: Send + 'static>(
    security: &Arc<DeskSecurity>,
    work: impl FnOnce(&yuqing_access::AccessStore) -> Result<T, AccessError> + Send + 'static,
) -> Result<T, DeskError> {
    let security = security.clone();
    blocking("access", move || work(&security.access))
        .await?
        .map_err(access_error)
}

/// A JSON body, or a 400 naming what is wrong with it.
type Body<T> = Result<Json<T>, axum::extract::rejection::JsonRejection>;

fn body<T>(body: Body<T>) -> Result<T, DeskError> {
    body.map(|Json(value)| value)
        .map_err(|e| DeskError::BadParameter(format!("the request body: {}", e.body_text())))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LoginBody {
    name: String,
    password: String,
}

/// `POST /api/login`: a session cookie (HttpOnly, SameSite=Strict, Secure over https).
async fn login(
    State(security): State<Arc<DeskSecurity>>,
    request: Body<LoginBody>,
) -> Result<Response, DeskError> {
    let LoginBody { name, password } = body(request)?;
    let _turn = password_turn().await?;
    let (value, identity) = access_work(&security, move |access| {
        access.login(&name, &password, Utc::now())
    })
    .await?;
    let secure = if security.secure_cookies() {
        "; Secure"
    } else {
        ""
    };
    let cookie = format!("{SESSION_COOKIE}={value}; Path=/; HttpOnly; SameSite=Strict{secure}");
    let mut response = Json(me_json(&identity)).into_response();
    response.headers_mut().insert(
        header::SET_COOKIE,
        HeaderValue::from_str(&cookie).map_err(|_| DeskError::Internal)?,
    );
    Ok(response)
}

/// `POST /api/logout`: ends the session and clears its cookie.
async fn logout(
    State(security): State<Arc<DeskSecurity>>,
    headers: HeaderMap,
) -> Result<Response, DeskError> {
    if let Some(value) = cookie(&headers, SESSION_COOKIE).map(str::to_string) {
        access_work(&security, move |access| access.logout(&value)).await?;
    }
    let mut response = StatusCode::NO_CONTENT.into_response();
    response.headers_mut().insert(
        header::SET_COOKIE,
        HeaderValue::from_str(&format!(
            "{SESSION_COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0"
        ))
        .map_err(|_| DeskError::Internal)?,
    );
    Ok(response)
}

fn me_json(identity: &Identity) -> serde_json::Value {
    serde_json::json!({
        "user": identity.user,
        "role": identity.role,
        "role_zh": identity.role.zh(),
        "via": identity.via,
    })
}

/// `GET /api/me`: who is logged in, with which role.
async fn me(Extension(identity): Extension<Identity>) -> Json<serde_json::Value> {
    Json(me_json(&identity))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PasswordBody {
    current: String,
    new: String,
}

/// `POST /api/me/password`: a user changes their own password (all their sessions end).
async fn change_password(
    State(security): State<Arc<DeskSecurity>>,
    Extension(identity): Extension<Identity>,
    request: Body<PasswordBody>,
) -> Result<StatusCode, DeskError> {
    let PasswordBody { current, new } = body(request)?;
    let _turn = password_turn().await?;
    access_work(&security, move |access| {
        access.change_password(&identity.user, &current, &new, Utc::now())
    })
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn list_users(
    State(security): State<Arc<DeskSecurity>>,
) -> Result<Json<Vec<yuqing_access::User>>, DeskError> {
    access_work(&security, |access| access.users())
        .await
        .map(Json)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewUser {
    name: String,
    role: String,
    password: String,
}

fn role(text: &str) -> Result<Role, DeskError> {
    text.parse()
        .map_err(|message| DeskError::BadParameter(format!("role: {message}")))
}

/// `POST /api/users` (管理员): a new user with a role and an initial password.
async fn add_user(
    State(security): State<Arc<DeskSecurity>>,
    Extension(identity): Extension<Identity>,
    request: Body<NewUser>,
) -> Result<(StatusCode, Json<yuqing_access::User>), DeskError> {
    let NewUser {
        name,
        role: role_name,
        password,
    } = body(request)?;
    let role = role(&role_name)?;
    let _turn = password_turn().await?;
    let user = access_work(&security, move |access| {
        access.add_user(&identity.user, &name, role, &password, Utc::now())
    })
    .await?;
    Ok((StatusCode::CREATED, Json(user)))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ChangeBody {
    role: Option<String>,
    disabled: Option<bool>,
    password: Option<String>,
}

/// `PATCH /api/users/{name}` (管理员): role, disabled, or a new password.
async fn update_user(
    State(security): State<Arc<DeskSecurity>>,
    Extension(identity): Extension<Identity>,
    Path(name): Path<String>,
    request: Body<ChangeBody>,
) -> Result<Json<yuqing_access::User>, DeskError> {
    let change = body(request)?;
    let change = UserChange {
        role: change.role.as_deref().map(role).transpose()?,
        disabled: change.disabled,
        password: change.password,
    };
    let _turn = password_turn().await?;
    access_work(&security, move |access| {
        access.update_user(&identity.user, &name, change, Utc::now())
    })
    .await
    .map(Json)
}

/// `DELETE /api/users/{name}` (管理员): the user, their sessions and tokens.
async fn remove_user(
    State(security): State<Arc<DeskSecurity>>,
    Extension(identity): Extension<Identity>,
    Path(name): Path<String>,
) -> Result<StatusCode, DeskError> {
    access_work(&security, move |access| {
        access.remove_user(&identity.user, &name, Utc::now())
    })
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /api/tokens`: one's own API tokens; an administrator sees everyone's.
async fn list_tokens(
    State(security): State<Arc<DeskSecurity>>,
    Extension(identity): Extension<Identity>,
) -> Result<Json<Vec<yuqing_access::TokenInfo>>, DeskError> {
    access_work(&security, move |access| {
        let user = (identity.role < Role::Admin).then_some(identity.user.as_str());
        access.tokens(user)
    })
    .await
    .map(Json)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewToken {
    #[serde(default)]
    label: String,
}

/// `POST /api/tokens`: an API token acting as oneself; its value is in this answer only.
async fn add_token(
    State(security): State<Arc<DeskSecurity>>,
    Extension(identity): Extension<Identity>,
    request: Body<NewToken>,
) -> Result<(StatusCode, Json<serde_json::Value>), DeskError> {
    let NewToken { label } = body(request)?;
    let (info, value) = access_work(&security, move |access| {
        access.add_token(&identity.user, &identity.user, &label, Utc::now())
    })
    .await?;
    let mut answer = serde_json::to_value(info).map_err(|_| DeskError::Internal)?;
    answer["token"] = value.into();
    Ok((StatusCode::CREATED, Json(answer)))
}

/// `DELETE /api/tokens/{id}`: one's own token, or (管理员) anyone's.
async fn revoke_token(
    State(security): State<Arc<DeskSecurity>>,
    Extension(identity): Extension<Identity>,
    Path(id): Path<String>,
) -> Result<StatusCode, DeskError> {
    access_work(&security, move |access| {
        match access.token_info(&id)? {
            Some(token) if token.user == identity.user || identity.role == Role::Admin => {
                access.revoke_token(&identity.user, &id, Utc::now())
            }
            // Someone else's token is as absent as a token that does not exist.
            _ => Err(AccessError::NoToken(id)),
        }
    })
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize)]
struct AuditParams {
    limit: Option<usize>,
    /// Entries older than this id (the `id` of the last entry of the previous page).
    before: Option<i64>,
}

/// `GET /api/audit` (管理员): every change, newest first.
async fn audit_log(
    State(security): State<Arc<DeskSecurity>>,
    Query(params): Query<AuditParams>,
) -> Result<Json<Vec<yuqing_access::AuditEntry>>, DeskError> {
    let limit = params.limit.unwrap_or(DEFAULT_LIMIT).clamp(1, MAX_LIMIT);
    access_work(&security, move |access| {
        access.audit_log(limit, params.before)
    })
    .await
    .map(Json)
}

/// Records a change a route made (an alert rule, an alert's handling) in the audit log.
/// The change is made already: a failure to record it is logged, not undone.
pub(crate) async fn audit(
    security: &Arc<DeskSecurity>,
    actor: &str,
    action: &'static str,
    target: &str,
    before: Option<serde_json::Value>,
    after: Option<serde_json::Value>,
) {
    let (security, actor, target) = (security.clone(), actor.to_string(), target.to_string());
    let recorded = blocking("audit", move || {
        security
            .access
            .audit(Utc::now(), &actor, action, &target, before, after)
    })
    .await;
    if let Ok(Err(error)) = recorded {
        tracing::error!(%error, action, "the audit log could not record a change");
    }
}
