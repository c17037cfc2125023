//! The notifier: takes alerts from the bus into the outbox, one delivery per channel,
//! and delivers them with retries until each channel accepts.

use crate::channels::{accepted, outgoing, ChannelConfig, ChannelKind};
use crate::mask::mask_alert;
use crate::message::{render, render_text, Extras, Markup};
use crate::redact::Redactor;
use crate::store::outbox::Pending;
use crate::{email, AlertError, AlertStore, RuleBook};
use chrono::Utc;
use serde::{Deserialize, Serialize};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use yuqing_bus::Consumer;
use yuqing_model::health::Health;
use yuqing_model::{Alert, RiskLevel};
use yuqing_netguard::AddressGuard;

/// The JSON body a webhook receives, and what the outbox keeps of each message.
#[derive(Debug, Serialize)]
struct WebhookBody<'a> {
    #[serde(flatten)]
    alert: &'a Alert,
    /// The message as plain text.
    text: String,
    /// The desk's 签收 link for this alert, where the desk has a public address.
    #[serde(skip_serializing_if = "Option::is_none")]
    ack_url: Option<String>,
}

/// A message read back from the outbox: the alert, so each channel renders it in its
/// own markup with crawled text made inert, and what the delivery adds to it.
#[derive(Debug, Deserialize)]
struct Stored {
    #[serde(flatten)]
    alert: Alert,
    #[serde(default)]
    ack_url: Option<String>,
    #[serde(default)]
    escalated_after_minutes: Option<u64>,
}

/// The message of a stored payload in a channel's markup.
fn message_in(payload: &serde_json::Value, markup: Markup) -> String {
    match Stored::deserialize(payload) {
        Ok(stored) => render(
            &stored.alert,
            Extras {
                ack_url: stored.ack_url.as_deref(),
                escalated_after_minutes: stored.escalated_after_minutes,
            },
            markup,
        ),
        Err(_) => render_text(payload["text"].as_str().unwrap_or_default(), markup),
    }
}

/// Makes the 签收 link of the alert with this id: the desk's public address and a token
/// signed for that alert alone. The desk's access control holds the key, so the caller
/// makes the link; alerts only carry it.
pub type AckLinker = Arc<dyn Fn(&str) -> String + Send + Sync>;

pub struct Notifier {
    outbox: Arc<AlertStore>,
    book: Arc<RuleBook>,
    channels: Vec<ChannelConfig>,
    alert_log: PathBuf,
    /// Messages carry a 签收 link where the desk has a public address.
    ack_link: Option<AckLinker>,
    client: reqwest::Client,
    /// The channels' credentials, kept out of every delivery error.
    redactor: Redactor,
    /// Where robots and webhooks may be: not the bureau's own networks, unless
    /// `[alerts] allowed_networks` says so.
    guard: AddressGuard,
}

pub const LOG_CHANNEL: &str = "log";
pub const WEBHOOK_CHANNEL: &str = "webhook";
/// An escalated alert's delivery on a channel is kept apart from its first delivery
/// there: `escalation:温县分管领导`.
pub const ESCALATION_PREFIX: &str = "escalation:";

impl Notifier {
    pub fn new(
        outbox: Arc<AlertStore>,
        book: Arc<RuleBook>,
        channels: Vec<ChannelConfig>,
        alert_log: PathBuf,
        ack_link: Option<AckLinker>,
        guard: AddressGuard,
    ) -> Result<Self, reqwest::Error> {
        Ok(Notifier {
            outbox,
            book,
            redactor: Redactor::for_channels(&channels),
            channels,
            alert_log,
            ack_link,
            // A webhook or robot that answers with a redirect is not followed: a rule's
            // URL must not be a way to aim the notifier at another address. Proxies in
            // the environment are not used either. Names resolve through the guard.
            client: reqwest::Client::builder()
                .timeout(Duration::from_secs(10))
                .redirect(reqwest::redirect::Policy::none())
                .no_proxy()
                .dns_resolver(Arc::new(guard.clone()))
                .build()?,
            guard,
        })
    }

    /// Puts an alert in the outbox for each of its channels.
    pub fn enqueue(&self, alert: &Alert) -> Result<(), AlertError> {
        // Messages leave the system here, whatever the channel: personal data is masked
        // once for all of them (the evaluator has masked the pupils' names already).
        let mut masked = alert.clone();
        mask_alert(&mut masked, &[]);
        let alert = &masked;
        self.outbox.open_case(alert)?;
        let ack_url = self.ack_link.as_ref().map(|link| link(&alert.id));
        let extras = Extras {
            ack_url: ack_url.as_deref(),
            escalated_after_minutes: None,
        };
        let payload = serde_json::to_string(&WebhookBody {
            alert,
            text: render(alert, extras, Markup::Plain),
            ack_url: ack_url.clone(),
        })
        .expect("alerts serialize infallibly");
        let log_target = self.alert_log.display().to_string();
        self.outbox
            .enqueue(&alert.id, LOG_CHANNEL, &log_target, &payload)?;
        let Some(rule) = self.book.rule(&alert.rule) else {
            return Ok(());
        };
        if let Some(url) = &rule.webhook {
            self.outbox
                .enqueue(&alert.id, WEBHOOK_CHANNEL, url.as_str(), &payload)?;
        }
        let mut channels: Vec<&str> = rule.channels.iter().map(String::as_str).collect();
        if rule.route {
            // The contacts for the story's districts and its schools' offices.
            for contact in &self.channels {
                if contact.covers(&alert.districts, &alert.offices)
                    && !channels.contains(&contact.name.as_str())
                {
                    channels.push(&contact.name);
                }
            }
        }
        for channel in channels {
            self.outbox.enqueue(&alert.id, channel, channel, &payload)?;
        }
        if let (Some(minutes), true) = (
            rule.escalate_after_minutes,
            alert.severity == RiskLevel::High,
        ) {
            let due = alert.raised_at + chrono::Duration::minutes(minutes as i64);
            self.outbox
                .schedule_escalation(&alert.id, &rule.name, due)?;
        }
        Ok(())
    }

    /// Sends each 高 alert that nobody acknowledged in time to its rule's `escalate_to`
    /// channels, marked as escalated; an acknowledged one is left alone.
    pub fn escalate_due(&self, now: chrono::DateTime<Utc>) -> Result<usize, AlertError> {
        let mut escalated = 0;
        for (alert_id, rule_name, unacknowledged) in self.outbox.due_escalations(now)? {
            let rule = self.book.rule(&rule_name);
            let (Some(rule), true) = (rule, unacknowledged) else {
                self.outbox.finish_escalation(&alert_id, "not needed")?;
                continue;
            };
            let Some(payload) = self.outbox.logged_payload(&alert_id)? else {
                self.outbox.finish_escalation(&alert_id, "no message")?;
                continue;
            };
            let mut message: serde_json::Value = serde_json::from_str(&payload)
                .map_err(|e| AlertError::Invalid(format!("outbox payload: {e}")))?;
            let minutes = rule.escalate_after_minutes.unwrap_or_default();
            let text = message["text"].as_str().unwrap_or_default();
            message["text"] = format!("【升级：{minutes} 分钟未签收】\n{text}").into();
            message["escalated"] = true.into();
            message["escalated_after_minutes"] = minutes.into();
            let payload = message.to_string();
            for channel in &rule.escalate_to {
                self.outbox.enqueue(
                    &alert_id,
                    &format!("{ESCALATION_PREFIX}{channel}"),
                    channel,
                    &payload,
                )?;
            }
            self.outbox
                .record(&alert_id, "escalated", &rule.escalate_to.join("、"))?;
            self.outbox.finish_escalation(&alert_id, "escalated")?;
            tracing::warn!(alert = %alert_id, to = ?rule.escalate_to, "alert not acknowledged in time; escalated");
            escalated += 1;
        }
        Ok(escalated)
    }

    async fn deliver(&self, pending: &Pending) -> Result<(), String> {
        match pending.channel.as_str() {
            LOG_CHANNEL => append_log(std::slice::from_ref(pending)).await,
            name => {
                // A rule's plain `webhook = "…"` is an unsigned webhook channel.
                let legacy;
                let channel = if name == WEBHOOK_CHANNEL {
                    let url = url::Url::parse(&pending.target)
                        .map_err(|e| format!("the rule's webhook is not an address: {e}"))?;
                    legacy = ChannelConfig::new(WEBHOOK_CHANNEL, ChannelKind::Webhook, url);
                    &legacy
                } else {
                    // Routed, escalated and named deliveries all keep the channel's
                    // name as their target.
                    let target = pending.target.as_str();
                    self.channels
                        .iter()
                        .find(|c| c.name == target)
                        .ok_or_else(|| format!("channel {target:?} is no longer configured"))?
                };
                let payload: serde_json::Value = serde_json::from_str(&pending.payload)
                    .map_err(|e| format!("outbox payload: {e}"))?;
                let text = message_in(
                    &payload,
                    match channel.kind {
                        ChannelKind::Wecom => Markup::WecomMarkdown,
                        ChannelKind::Dingtalk => Markup::DingtalkMarkdown,
                        ChannelKind::Feishu => Markup::FeishuText,
                        ChannelKind::Webhook | ChannelKind::Email => Markup::Plain,
                    },
                );
                let title = text.lines().next().unwrap_or("舆情预警");
                if channel.kind == ChannelKind::Email {
                    return email::send(channel, &pending.alert_id, title, &text).await;
                }
                let now_ms = Utc::now().timestamp_millis();
                let request = outgoing(
                    channel,
                    &pending.alert_id,
                    &pending.payload,
                    title,
                    &text,
                    now_ms,
                )?;
                self.guard.check_url(&request.url)?;
                let mut call = self.client.post(request.url.clone()).body(request.body);
                for (header, value) in &request.headers {
                    call = call.header(header.as_str(), value.as_str());
                }
                let response = call.send().await.map_err(describe)?;
                let status = response.status().as_u16();
                let body = response.text().await.unwrap_or_default();
                accepted(channel.kind, status, &body)
            }
        }
    }

    /// Attempts every due delivery once. Returns how many were delivered.
    ///
    /// Deliveries to different channels and of different alerts go out together; the
    /// alert log's lines are appended with one write and one flush to disk.
    pub async fn deliver_due(&self) -> Result<usize, AlertError> {
        let (logged, sent): (Vec<Pending>, Vec<Pending>) = self
            .outbox
            .due(Utc::now(), 100)?
            .into_iter()
            .partition(|p| p.channel == LOG_CHANNEL);
        let log_result = if logged.is_empty() {
            Ok(())
        } else {
            append_log(&logged).await
        };
        let mut outcomes: Vec<(&Pending, Result<(), String>)> =
            logged.iter().map(|p| (p, log_result.clone())).collect();
        let results = futures_util::future::join_all(sent.iter().map(|p| self.deliver(p))).await;
        outcomes.extend(sent.iter().zip(results));
        let mut delivered = 0;
        for (pending, outcome) in outcomes {
            match outcome {
                Ok(()) => {
                    self.outbox.delivered(pending)?;
                    delivered += 1;
                    tracing::info!(alert = %pending.alert_id, channel = %pending.channel, "alert delivered");
                }
                Err(error) => {
                    let error = self.redacted(pending, &error);
                    let retry_at = self.outbox.failed(pending, &error)?;
                    tracing::warn!(
                        alert = %pending.alert_id,
                        channel = %pending.channel,
                        %error,
                        %retry_at,
                        "alert delivery failed; will retry"
                    );
                }
            }
        }
        Ok(delivered)
    }

    /// A delivery error with the credentials of the configured channels and of the
    /// delivery's own address taken out.
    fn redacted(&self, pending: &Pending, error: &str) -> String {
        match url::Url::parse(&pending.target) {
            Ok(url) if pending.channel == WEBHOOK_CHANNEL => {
                self.redactor.with_address(&url).redact(error)
            }
            _ => self.redactor.redact(error),
        }
    }
}

/// What went wrong with a request, without its address (which may carry a robot's key):
/// the error and its causes, e.g. "error sending request: client error (Connect): tcp
/// connect error: Connection refused".
fn describe(error: reqwest::Error) -> String {
    let error = error.without_url();
    let mut text = error.to_string();
    let mut cause = std::error::Error::source(&error);
    while let Some(inner) = cause {
        text.push_str(": ");
        text.push_str(&inner.to_string());
        cause = inner.source();
    }
    text
}

/// Appends alerts to the alert log (one JSON line each) and flushes it to disk once.
async fn append_log(pending: &[Pending]) -> Result<(), String> {
    let mut by_file: Vec<(PathBuf, String)> = Vec::new();
    for p in pending {
        let line = format!("{}\n", p.payload);
        match by_file
            .iter_mut()
            .find(|(path, _)| path.as_os_str() == p.target.as_str())
        {
            Some((_, lines)) => lines.push_str(&line),
            None => by_file.push((PathBuf::from(&p.target), line)),
        }
    }
    tokio::task::spawn_blocking(move || -> Result<(), String> {
        for (path, lines) in by_file {
            yuqing_model::append_durably(&path, lines.as_bytes())
                .map_err(|e| format!("{}: {e}", path.display()))?;
        }
        Ok(())
    })
    .await
    .map_err(|e| e.to_string())?
}

/// How often due deliveries (retries included) are looked for.
const DELIVERY_TICK: Duration = Duration::from_millis(500);

/// The notifier's name in the process's [`Health`].
pub const NOTIFIER_STAGE: &str = "notifier";

/// Takes alerts from the bus into the outbox (committing each only once it is stored) and
/// delivers from the outbox, until the alert topic ends.
///
/// A fault of the outbox's storage (a full disk) stops nothing: an alert taken from the
/// bus is held and stored again until it is stored, and delivery rounds that fail are
/// tried at the next tick; the stage shows as retrying in `health` meanwhile.
pub async fn run_notifier(
    notifier: Arc<Notifier>,
    mut input: Consumer<Alert>,
    health: Arc<Health>,
) -> Result<(), AlertError> {
    const STAGE: &str = NOTIFIER_STAGE;
    health.running(STAGE);
    // Deliver whatever a previous run left in the outbox, without waiting out its backoff.
    let left_over = health
        .retry(STAGE, "read the outbox", || async {
            notifier.outbox.retry_all_now()
        })
        .await;
    if left_over > 0 {
        tracing::info!(
            pending = left_over,
            "retrying alert deliveries left by the previous run"
        );
    }
    let deliver = || async {
        health.note(STAGE, "deliver alerts", notifier.deliver_due().await);
    };
    deliver().await;
    let mut tick = tokio::time::interval(DELIVERY_TICK);
    loop {
        tokio::select! {
            received = input.recv() => {
                let Some(received) = received? else { break };
                health
                    .retry_if(
                        STAGE,
                        "store an alert in the outbox",
                        || async { notifier.enqueue(&received.message) },
                        AlertError::is_storage,
                    )
                    .await?;
                input.commit(&received.delivery).await?;
                deliver().await;
            }
            _ = tick.tick() => {
                health.note(STAGE, "escalate alerts", notifier.escalate_due(Utc::now()));
                deliver().await;
            }
        }
    }
    deliver().await;
    Ok(())
}
