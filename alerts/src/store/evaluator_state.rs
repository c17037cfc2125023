//! What the evaluator remembers between commits and restarts, in the same database as
//! the outbox: when each rule last alerted, how far each story had spread when it was
//! last reported, and the stories collected for a digest or held in quiet hours.

use super::AlertStore;
use chrono::{DateTime, Utc};
use rusqlite::{params, OptionalExtension};
use yuqing_model::AlertItem;

pub(crate) const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS alert_rule_state (
    rule TEXT PRIMARY KEY,
    last_raised_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS alert_story_state (
    rule TEXT NOT NULL,
    cluster TEXT NOT NULL,
    step INTEGER NOT NULL,
    PRIMARY KEY (rule, cluster)
);
CREATE TABLE IF NOT EXISTS alert_unjudged (
    doc_id TEXT PRIMARY KEY
);
CREATE TABLE IF NOT EXISTS alert_escalation (
    alert_id TEXT PRIMARY KEY,
    rule TEXT NOT NULL,
    due_at TEXT NOT NULL,
    done TEXT
);
CREATE TABLE IF NOT EXISTS alert_collected (
    rule TEXT NOT NULL,
    purpose TEXT NOT NULL,
    period TEXT NOT NULL,
    key TEXT NOT NULL,
    item TEXT NOT NULL,
    sent INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (rule, purpose, key)
);
";

/// Why stories are collected instead of sent at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    Digest,
    Quiet,
}

impl Purpose {
    fn as_str(self) -> &'static str {
        match self {
            Purpose::Digest => "digest",
            Purpose::Quiet => "quiet",
        }
    }
}

impl AlertStore {
    pub fn last_raised(&self, rule: &str) -> rusqlite::Result<Option<DateTime<Utc>>> {
        let text: Option<String> = self
            .db()
            .query_row(
                "SELECT last_raised_at FROM alert_rule_state WHERE rule = ?1",
                [rule],
                |r| r.get(0),
            )
            .optional()?;
        Ok(text
            .and_then(|t| DateTime::parse_from_rfc3339(&t).ok())
            .map(|t| t.with_timezone(&Utc)))
    }

    pub fn set_last_raised(&self, rule: &str, at: DateTime<Utc>) -> rusqlite::Result<()> {
        self.db().execute(
            "INSERT INTO alert_rule_state (rule, last_raised_at) VALUES (?1, ?2)
             ON CONFLICT (rule) DO UPDATE SET last_raised_at = excluded.last_raised_at",
            params![rule, at.to_rfc3339()],
        )?;
        Ok(())
    }

    /// The largest spread step a story was reported at (0: only the first alert).
    pub fn story_step(&self, rule: &str, cluster: &str) -> rusqlite::Result<usize> {
        let step: Option<i64> = self
            .db()
            .query_row(
                "SELECT step FROM alert_story_state WHERE rule = ?1 AND cluster = ?2",
                [rule, cluster],
                |r| r.get(0),
            )
            .optional()?;
        Ok(step.unwrap_or(0) as usize)
    }

    pub fn set_story_step(&self, rule: &str, cluster: &str, step: usize) -> rusqlite::Result<()> {
        self.db().execute(
            "INSERT INTO alert_story_state (rule, cluster, step) VALUES (?1, ?2, ?3)
             ON CONFLICT (rule, cluster) DO UPDATE SET step = max(step, excluded.step)",
            params![rule, cluster, step as i64],
        )?;
        Ok(())
    }

    /// Notes a commit's documents as not yet judged by the rules (in one transaction).
    pub fn remember_unjudged(&self, ids: &[String]) -> rusqlite::Result<()> {
        let mut db = self.db();
        let tx = db.transaction()?;
        for id in ids {
            tx.execute(
                "INSERT OR IGNORE INTO alert_unjudged (doc_id) VALUES (?1)",
                [id],
            )?;
        }
        tx.commit()
    }

    pub fn forget_unjudged(&self, ids: &[String]) -> rusqlite::Result<()> {
        let mut db = self.db();
        let tx = db.transaction()?;
        for id in ids {
            tx.execute("DELETE FROM alert_unjudged WHERE doc_id = ?1", [id])?;
        }
        tx.commit()
    }

    /// Documents a crash left unjudged.
    pub fn unjudged(&self) -> rusqlite::Result<Vec<String>> {
        let db = self.db();
        let mut statement = db.prepare("SELECT doc_id FROM alert_unjudged")?;
        let rows = statement.query_map([], |r| r.get(0))?;
        rows.collect()
    }

    /// Remembers to escalate a 高 alert at `due` unless it is acknowledged by then.
    pub fn schedule_escalation(
        &self,
        alert_id: &str,
        rule: &str,
        due: DateTime<Utc>,
    ) -> rusqlite::Result<()> {
        self.db().execute(
            "INSERT OR IGNORE INTO alert_escalation (alert_id, rule, due_at) VALUES (?1, ?2, ?3)",
            params![alert_id, rule, due.to_rfc3339()],
        )?;
        Ok(())
    }

    /// Escalations due at `now` and not yet done: (alert id, rule, whether the alert is
    /// still unacknowledged).
    pub fn due_escalations(
        &self,
        now: DateTime<Utc>,
    ) -> rusqlite::Result<Vec<(String, String, bool)>> {
        let db = self.db();
        let mut statement = db.prepare(
            "SELECT e.alert_id, e.rule, coalesce(c.state, 'raised') = 'raised'
             FROM alert_escalation e LEFT JOIN alert_case c ON c.alert_id = e.alert_id
             WHERE e.done IS NULL AND e.due_at <= ?1 ORDER BY e.due_at",
        )?;
        let rows = statement.query_map([now.to_rfc3339()], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?))
        })?;
        rows.collect()
    }

    pub fn finish_escalation(&self, alert_id: &str, how: &str) -> rusqlite::Result<()> {
        self.db().execute(
            "UPDATE alert_escalation SET done = ?2 WHERE alert_id = ?1",
            params![alert_id, how],
        )?;
        Ok(())
    }

    /// The message as first queued (the alert log's copy), to escalate it.
    pub fn logged_payload(&self, alert_id: &str) -> rusqlite::Result<Option<String>> {
        self.db()
            .query_row(
                "SELECT payload FROM alert_outbox WHERE alert_id = ?1 AND channel = 'log'",
                [alert_id],
                |r| r.get(0),
            )
            .optional()
    }

    /// Keeps a story for a later message; the same key is kept once.
    pub fn collect(
        &self,
        rule: &str,
        purpose: Purpose,
        period: &str,
        key: &str,
        item: &AlertItem,
    ) -> rusqlite::Result<()> {
        self.db().execute(
            "INSERT OR IGNORE INTO alert_collected (rule, purpose, period, key, item) VALUES (?1, ?2, ?3, ?4, ?5)",
            params![
                rule,
                purpose.as_str(),
                period,
                key,
                serde_json::to_string(item).expect("items serialize infallibly")
            ],
        )?;
        Ok(())
    }

    /// Periods with stories not yet sent, oldest first, each with its stories.
    pub fn collected(
        &self,
        rule: &str,
        purpose: Purpose,
    ) -> rusqlite::Result<Vec<(String, Vec<AlertItem>)>> {
        let db = self.db();
        let mut statement = db.prepare(
            "SELECT period, item FROM alert_collected WHERE rule = ?1 AND purpose = ?2 AND sent = 0
             ORDER BY period, rowid",
        )?;
        let rows = statement.query_map([rule, purpose.as_str()], |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))
        })?;
        let mut periods: Vec<(String, Vec<AlertItem>)> = Vec::new();
        for row in rows {
            let (period, item) = row?;
            let Ok(item) = serde_json::from_str::<AlertItem>(&item) else {
                continue;
            };
            match periods.last_mut() {
                Some((last, items)) if *last == period => items.push(item),
                _ => periods.push((period, vec![item])),
            }
        }
        Ok(periods)
    }

    pub fn mark_collected_sent(
        &self,
        rule: &str,
        purpose: Purpose,
        period: &str,
    ) -> rusqlite::Result<()> {
        self.db().execute(
            "UPDATE alert_collected SET sent = 1 WHERE rule = ?1 AND purpose = ?2 AND period = ?3",
            params![rule, purpose.as_str(), period],
        )?;
        Ok(())
    }
}
