//! The alert rules, read and edited by analysts.

use crate::accounts::audit;
use crate::error::{blocking, DeskError};
use crate::guard::DeskSecurity;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{get, put};
use axum::{Extension, Json, Router};
use serde::Serialize;
use std::sync::Arc;
use yuqing_access::{Identity, Role};
use yuqing_alerts::{redact_address, AlertRule, RuleBook, RuleBookError};

/// The alert rules, read and edited by analysts:
/// - `GET /api/rules` → every rule in force, with `editable` (rules of the rules file);
/// - `PUT /api/rules/{name}` with the rule as JSON → added or replaced in the rules file,
///   in force at once; a wrong rule is a 400 naming what is wrong (a bad query with its
///   position), a rule of the configuration file a 409;
/// - `DELETE /api/rules/{name}`.
pub(crate) fn routes(book: Arc<RuleBook>) -> Router {
    Router::new()
        .route("/api/rules", get(list_rules))
        .route("/api/rules/{name}", put(put_rule).delete(delete_rule))
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
                rule: shown(rule),
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

/// A rule as answers and the audit log show it: its webhook's credentials (a token in
/// the query, a password) replaced by `***`.
fn shown(rule: &AlertRule) -> AlertRule {
    let mut rule = rule.clone();
    rule.webhook = rule
        .webhook
        .map(|url| redact_address(&url).parse().unwrap_or(url));
    rule
}

fn json(rule: &AlertRule) -> serde_json::Value {
    serde_json::to_value(shown(rule)).unwrap_or_default()
}

async fn put_rule(
    State(book): State<Arc<RuleBook>>,
    Extension(security): Extension<Arc<DeskSecurity>>,
    Extension(identity): Extension<Identity>,
    Path(name): Path<String>,
    body: Result<Json<AlertRule>, axum::extract::rejection::JsonRejection>,
) -> Result<Json<AlertRule>, DeskError> {
    let Json(mut rule) =
        body.map_err(|e| DeskError::BadParameter(format!("the rule: {}", e.body_text())))?;
    if rule.name != name {
        return Err(DeskError::BadParameter(format!(
            "the rule's name {:?} differs from the address's {name:?}",
            rule.name
        )));
    }
    let existing = book.rule(&name);
    // Where alerts are sent is an administrator's decision: a rule's webhook is an
    // address the notifier will post to, so an analyst may edit a rule's query but not
    // point it somewhere new.
    let webhook_before = existing.as_ref().and_then(|r| r.webhook.clone());
    // A rule read from this API and sent back shows its webhook redacted: that means
    // "the webhook it has".
    if rule.webhook.is_some() && rule.webhook == existing.as_ref().and_then(|r| shown(r).webhook) {
        rule.webhook = webhook_before.clone();
    }
    if rule.webhook != webhook_before && identity.role < Role::Admin {
        return Err(DeskError::Forbidden(format!(
            "only a 管理员 (admin) may set or change a rule's webhook; {} is {} ({})",
            identity.user,
            identity.role.zh(),
            identity.role
        )));
    }
    let saved = rule.clone();
    let before = existing.map(|rule| json(&rule));
    blocking("rule change", move || book.put(rule))
        .await?
        .map_err(rule_error)?;
    audit(
        &security,
        &identity.user,
        "rule.put",
        &name,
        before,
        Some(json(&saved)),
    )
    .await;
    Ok(Json(shown(&saved)))
}

async fn delete_rule(
    State(book): State<Arc<RuleBook>>,
    Extension(security): Extension<Arc<DeskSecurity>>,
    Extension(identity): Extension<Identity>,
    Path(name): Path<String>,
) -> Result<StatusCode, DeskError> {
    let before = book.rule(&name).map(|rule| json(&rule));
    let target = name.clone();
    blocking("rule deletion", move || book.delete(&name))
        .await?
        .map_err(rule_error)?;
    audit(
        &security,
        &identity.user,
        "rule.delete",
        &target,
        before,
        None,
    )
    .await;
    Ok(StatusCode::NO_CONTENT)
}
