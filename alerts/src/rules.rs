//! Alert rules: a saved search plus how it alerts (its mode), how urgently, where, and
//! the noise controls on-call staff need to keep reading the channel.

use chrono::{DateTime, NaiveTime, Timelike, Utc};
use serde::{Deserialize, Serialize};
use url::Url;
use yuqing_model::{beijing, RiskLevel};

/// One `[[alert]]` of the configuration (and of the rules API).
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct AlertRule {
    pub name: String,
    /// A search in the desk's query language.
    pub query: String,
    #[serde(default)]
    pub mode: Mode,
    /// 高 / 中 / 低. Without it a story alert takes the story's risk level and an
    /// aggregate alert is 中.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub severity: Option<String>,
    /// Where to POST the alert as JSON, besides the alert log (a webhook without
    /// signature; use `channels` for signed webhooks, robots and e-mail).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub webhook: Option<Url>,
    /// Names of `[[channel]]`s that receive the alert.
    #[serde(default)]
    pub channels: Vec<String>,
    #[serde(default = "default_true")]
    pub enabled: bool,
    /// Threshold and spike: the window counted, in minutes.
    #[serde(default = "default_window")]
    pub window_minutes: u64,
    /// Threshold: alert when the window holds at least this many matching documents…
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_documents: Option<usize>,
    /// …or at least this many sources.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_sources: Option<usize>,
    /// Spike: the baseline is the rate over this many preceding days.
    #[serde(default = "default_baseline_days")]
    pub baseline_days: u32,
    /// Spike: the window must hold this many times the baseline's documents per window…
    #[serde(default = "default_spike_ratio")]
    pub spike_ratio: f64,
    /// …and at least this many.
    #[serde(default = "default_min_count")]
    pub min_count: usize,
    /// Threshold and spike: no new alert from the rule within this many minutes.
    #[serde(default = "default_realert")]
    pub realert_minutes: u64,
    /// Story modes: a follow-up when a story alerted on reaches this many documents.
    #[serde(default = "default_spread_steps")]
    pub spread_steps: Vec<usize>,
    /// Beijing time, e.g. "22:00-07:00": only 高 alerts go out; the rest are summarised
    /// in one message when the quiet hours end.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quiet_hours: Option<String>,
    /// Digest mode: when (Beijing time) the day's stories are sent, e.g. "08:00".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub digest_at: Option<String>,
    /// Also send each story to the channels that are the contact for its districts or
    /// its schools' offices (`districts` / `offices` of a `[[channel]]`).
    #[serde(default = "default_true")]
    pub route: bool,
    /// A 高 alert nobody has acknowledged after this many minutes is sent again, marked
    /// as escalated, to the `escalate_to` channels (the next contact).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub escalate_after_minutes: Option<u64>,
    #[serde(default)]
    pub escalate_to: Vec<String>,
}

#[derive(Debug, Clone, Copy, Default, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    /// Every matching story, once (reprints of it raise nothing new).
    #[default]
    Every,
    /// Only stories seen for the first time (their first document matches).
    NewStory,
    /// At least `min_documents` documents or `min_sources` sources in the window.
    Threshold,
    /// The window's count far above the preceding days' rate.
    Spike,
    /// The matching stories collected and sent once a day at `digest_at`.
    Digest,
}

fn default_true() -> bool {
    true
}
fn default_window() -> u64 {
    60
}
fn default_baseline_days() -> u32 {
    7
}
fn default_spike_ratio() -> f64 {
    3.0
}
fn default_min_count() -> usize {
    5
}
fn default_realert() -> u64 {
    360
}
fn default_spread_steps() -> Vec<usize> {
    vec![10, 50]
}

/// A daily span of Beijing time; it may run over midnight.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct QuietHours {
    pub start: NaiveTime,
    pub end: NaiveTime,
}

fn parse_time(text: &str) -> Option<NaiveTime> {
    NaiveTime::parse_from_str(text.trim(), "%H:%M").ok()
}

impl QuietHours {
    pub fn parse(text: &str) -> Option<QuietHours> {
        let (start, end) = text.split_once('-')?;
        let (start, end) = (parse_time(start)?, parse_time(end)?);
        (start != end).then_some(QuietHours { start, end })
    }

    pub fn contains(&self, at: DateTime<Utc>) -> bool {
        let time = at.with_timezone(&beijing()).time();
        if self.start < self.end {
            self.start <= time && time < self.end
        } else {
            time >= self.start || time < self.end
        }
    }

    /// When the quiet hours that contain `at` end.
    pub fn end_after(&self, at: DateTime<Utc>) -> DateTime<Utc> {
        let local = at.with_timezone(&beijing());
        let mut end = local
            .with_hour(self.end.hour())
            .and_then(|t| t.with_minute(self.end.minute()))
            .and_then(|t| t.with_second(0))
            .and_then(|t| t.with_nanosecond(0))
            .expect("a valid time of day");
        if end <= local {
            end += chrono::Duration::days(1);
        }
        end.with_timezone(&Utc)
    }
}

impl AlertRule {
    /// What is wrong with the rule (besides its query, which the index checks).
    pub fn problem(&self) -> Option<String> {
        let name = &self.name;
        if name.trim().is_empty() {
            return Some("an alert rule needs a name".into());
        }
        if let Some(severity) = &self.severity {
            if RiskLevel::parse(severity).is_none() {
                return Some(format!(
                    "alert {name:?}: severity is 高/中/低 (high/medium/low), not {severity:?}"
                ));
            }
        }
        if let Some(quiet) = &self.quiet_hours {
            if QuietHours::parse(quiet).is_none() {
                return Some(format!(
                    "alert {name:?}: quiet_hours is like \"22:00-07:00\", not {quiet:?}"
                ));
            }
        }
        if self.escalate_after_minutes.is_some() == self.escalate_to.is_empty() {
            return Some(format!(
                "alert {name:?}: escalation needs both escalate_after_minutes and escalate_to"
            ));
        }
        if self.window_minutes == 0 {
            return Some(format!("alert {name:?}: window_minutes must be above 0"));
        }
        match self.mode {
            Mode::Threshold if self.min_documents.is_none() && self.min_sources.is_none() => Some(
                format!("alert {name:?}: a threshold rule needs min_documents or min_sources"),
            ),
            Mode::Spike if self.baseline_days == 0 || self.spike_ratio <= 0.0 => Some(format!(
                "alert {name:?}: a spike rule needs baseline_days ≥ 1 and spike_ratio > 0"
            )),
            Mode::Digest if self.digest_at.as_deref().and_then(parse_time).is_none() => Some(
                format!("alert {name:?}: a digest rule needs digest_at like \"08:00\""),
            ),
            _ => None,
        }
    }

    /// The rule's own severity, if it sets one.
    pub fn severity(&self) -> Option<RiskLevel> {
        self.severity.as_deref().and_then(RiskLevel::parse)
    }

    pub fn quiet_hours(&self) -> Option<QuietHours> {
        self.quiet_hours.as_deref().and_then(QuietHours::parse)
    }

    pub fn digest_time(&self) -> Option<NaiveTime> {
        self.digest_at.as_deref().and_then(parse_time)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text)
            .unwrap()
            .with_timezone(&Utc)
    }

    #[test]
    fn quiet_hours_run_over_midnight_in_beijing_time() {
        let quiet = QuietHours::parse("22:00-07:00").unwrap();
        assert!(quiet.contains(at("2026-11-29T23:30:00+08:00")));
        assert!(quiet.contains(at("2026-11-30T06:59:00+08:00")));
        assert!(!quiet.contains(at("2026-11-30T07:00:00+08:00")));
        assert!(!quiet.contains(at("2026-11-29T12:00:00+08:00")));
        assert_eq!(
            quiet.end_after(at("2026-11-29T23:30:00+08:00")),
            at("2026-11-30T07:00:00+08:00")
        );
        assert_eq!(
            quiet.end_after(at("2026-11-30T01:00:00+08:00")),
            at("2026-11-30T07:00:00+08:00")
        );
        let lunch = QuietHours::parse("12:00-14:00").unwrap();
        assert!(lunch.contains(at("2026-11-29T13:00:00+08:00")));
        assert!(!lunch.contains(at("2026-11-29T21:00:00+08:00")));
        assert!(QuietHours::parse("22:00").is_none());
    }

    #[test]
    fn rules_say_what_their_mode_lacks() {
        let rule = |extra: &str| -> AlertRule {
            toml::from_str(&format!("name = \"r\"\nquery = \"topic:防溺水\"\n{extra}")).unwrap()
        };
        assert_eq!(rule("").problem(), None);
        assert!(rule("mode = \"threshold\"")
            .problem()
            .unwrap()
            .contains("min_documents"));
        assert_eq!(
            rule("mode = \"threshold\"\nmin_sources = 3").problem(),
            None
        );
        assert!(rule("mode = \"digest\"")
            .problem()
            .unwrap()
            .contains("digest_at"));
        assert!(rule("severity = \"紧急\"")
            .problem()
            .unwrap()
            .contains("高/中/低"));
        assert!(rule("quiet_hours = \"晚上\"")
            .problem()
            .unwrap()
            .contains("22:00-07:00"));
        assert_eq!(rule("severity = \"高\"").severity(), Some(RiskLevel::High));
    }
}
