//! Alerts: rules evaluated over each index commit, and their delivery.
//!
//! ```text
//! indexer ──Committed──> evaluator ──Alert (bus)──> notifier ──outbox──> log file / webhook
//! ```
//!
//! A rule is a saved search; the evaluator runs it over the documents a commit added, so a
//! document that arrives late is still judged. An alert is raised once per rule and
//! document. The notifier writes each alert to the durable outbox of the [`AlertStore`]
//! before any delivery attempt and retries with backoff until the channel accepts it.

//! The parts, each a module: [`rules`] and the [`RuleBook`] (rules from the config and
//! the rules file, edited while running), the [`evaluator`], the [`store`] (outbox,
//! evaluator state and case log in one database), the [`notifier`] with its
//! [`channels`] (企业微信, 钉钉, 飞书, webhook; e-mail in `email`), the one place
//! personal data is masked ([`mask`]) and the message text ([`message`]).

pub mod channels;
mod email;
pub mod evaluator;
pub mod mask;
pub mod message;
pub mod notifier;
pub mod redact;
mod rulebook;
pub mod rules;
pub mod store;

pub use channels::{accepted, outgoing, ChannelConfig, ChannelKind, Outgoing};
pub use evaluator::{run_evaluator, Evaluator, EvaluatorLinks, EVALUATOR_STAGE};
pub use mask::mask_alert;
pub use message::{alert_text, render, Extras, Markup};
pub use notifier::{
    run_notifier, AckLinker, Notifier, ESCALATION_PREFIX, LOG_CHANNEL, NOTIFIER_STAGE,
    WEBHOOK_CHANNEL,
};
pub use redact::{redact_address, redact_address_in, Redactor, REDACTED};
pub use rulebook::{QueryCheck, RuleBook, RuleBookError};
pub use rules::{AlertRule, Mode, QuietHours};
pub use store::cases::{
    export_csv, state_zh, Case, CaseError, CaseFacts, DeliveryRecord, Event, Outcome,
};
pub use store::outbox::Pending;
pub use store::AlertStore;
pub use yuqing_netguard::AddressGuard;

use yuqing_bus::BusError;
use yuqing_indexer::{SearchError, SearchIndex, SearchRequest};

impl AlertError {
    /// Whether the error is the state database's (a full disk, a locked or read-only
    /// file), which passes: the step that met it is held and tried again.
    pub fn is_storage(&self) -> bool {
        matches!(self, AlertError::State(_))
    }
}

#[derive(Debug, thiserror::Error)]
pub enum AlertError {
    #[error("alert state: {0}")]
    State(#[from] rusqlite::Error),
    #[error(transparent)]
    Bus(#[from] BusError),
    #[error("rule {rule:?}: {source}")]
    Rule { rule: String, source: SearchError },
    #[error("{0}")]
    Invalid(String),
}

/// Checks that every rule's query is understood by the index's query language.
pub fn validate_rules(index: &SearchIndex, rules: &[AlertRule]) -> Result<(), AlertError> {
    for rule in rules {
        if let Some(problem) = rule.problem() {
            return Err(AlertError::Invalid(problem));
        }
        index
            .search(&SearchRequest {
                query: rule.query.clone(),
                limit: 1,
                among_ids: Some(Vec::new()),
                ..SearchRequest::default()
            })
            .map_err(|source| AlertError::Rule {
                rule: rule.name.clone(),
                source,
            })?;
    }
    Ok(())
}
