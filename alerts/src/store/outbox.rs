//! The durable outbox: every alert is written here, once per channel, before any delivery
//! is attempted, and stays until the channel has accepted it.

use super::AlertStore;
use chrono::{DateTime, Duration, Utc};
use rusqlite::{params, Connection};
use yuqing_model::Alert;

/// Creates the outbox's tables; older databases get the columns they lack.
pub(crate) fn create(db: &Connection) -> rusqlite::Result<()> {
    db.execute_batch(
        "CREATE TABLE IF NOT EXISTS alert_raised (
             alert_id TEXT PRIMARY KEY,
             rule TEXT NOT NULL,
             doc_id TEXT NOT NULL,
             raised_at TEXT NOT NULL
         );
         CREATE TABLE IF NOT EXISTS alert_outbox (
             alert_id TEXT NOT NULL,
             channel TEXT NOT NULL,
             target TEXT NOT NULL,
             payload TEXT NOT NULL,
             status TEXT NOT NULL DEFAULT 'pending',
             attempts INTEGER NOT NULL DEFAULT 0,
             next_attempt_at TEXT NOT NULL,
             last_error TEXT,
             delivered_at TEXT,
             PRIMARY KEY (alert_id, channel)
         );
         -- What is due is asked after every alert: without this, a scan of all.
         CREATE INDEX IF NOT EXISTS alert_outbox_due ON alert_outbox (status, next_attempt_at);",
    )?;
    // Databases from before alerts were kept whole get the column.
    let has_alert_column = db
        .prepare("SELECT 1 FROM pragma_table_info('alert_raised') WHERE name = 'alert'")?
        .exists([])?;
    if !has_alert_column {
        db.execute_batch("ALTER TABLE alert_raised ADD COLUMN alert TEXT")?;
    }
    Ok(())
}

/// One alert waiting for (or done with) delivery on one channel.
#[derive(Debug, Clone, PartialEq)]
pub struct Pending {
    pub alert_id: String,
    pub channel: String,
    /// Where the channel delivers (a webhook URL, a log file).
    pub target: String,
    pub payload: String,
    pub attempts: u32,
}

/// Retry delays grow from 2 s and stop growing at 5 minutes, so a receiver that comes
/// back after ten minutes gets its alerts within minutes.
fn backoff(attempts: u32) -> Duration {
    Duration::seconds(2i64.saturating_pow(attempts.min(8)).min(300))
}

impl AlertStore {
    pub fn was_raised(&self, alert_id: &str) -> rusqlite::Result<bool> {
        self.db()
            .query_row(
                "SELECT count(*) FROM alert_raised WHERE alert_id = ?1",
                [alert_id],
                |r| r.get::<_, i64>(0),
            )
            .map(|n| n > 0)
    }

    /// Notes that an alert was raised. `published` is the alert as sent on the bus (None
    /// for one held back for a quiet-hour summary): kept so that an alert the embedded bus
    /// lost in a crash, before the notifier stored it, is sent again at the next start.
    pub fn mark_raised(
        &self,
        alert_id: &str,
        rule: &str,
        doc_id: &str,
        published: Option<&Alert>,
    ) -> rusqlite::Result<()> {
        let json =
            published.map(|a| serde_json::to_string(a).expect("alerts serialize infallibly"));
        self.db().execute(
            "INSERT OR IGNORE INTO alert_raised (alert_id, rule, doc_id, raised_at, alert) VALUES (?1, ?2, ?3, ?4, ?5)",
            params![alert_id, rule, doc_id, Utc::now().to_rfc3339(), json],
        )?;
        Ok(())
    }

    /// Alerts raised and published that the notifier never stored (no case): with the
    /// embedded bus, those a crash lost in memory.
    pub fn unstored_alerts(&self) -> rusqlite::Result<Vec<Alert>> {
        let db = self.db();
        let mut statement = db.prepare(
            "SELECT r.alert FROM alert_raised r
             WHERE r.alert IS NOT NULL
               AND NOT EXISTS (SELECT 1 FROM alert_case c WHERE c.alert_id = r.alert_id)
             ORDER BY r.raised_at",
        )?;
        let rows = statement.query_map([], |r| r.get::<_, String>(0))?;
        let mut alerts = Vec::new();
        for row in rows {
            if let Ok(alert) = serde_json::from_str(&row?) {
                alerts.push(alert);
            }
        }
        Ok(alerts)
    }

    /// Queues an alert for a channel. Queuing the same alert twice changes nothing, which
    /// is what makes a redelivered bus message harmless.
    pub fn enqueue(
        &self,
        alert_id: &str,
        channel: &str,
        target: &str,
        payload: &str,
    ) -> rusqlite::Result<bool> {
        let inserted = self.db().execute(
            "INSERT OR IGNORE INTO alert_outbox (alert_id, channel, target, payload, next_attempt_at) VALUES (?1, ?2, ?3, ?4, ?5)",
            params![alert_id, channel, target, payload, Utc::now().to_rfc3339()],
        )?;
        Ok(inserted > 0)
    }

    /// Deliveries whose next attempt is due, oldest first.
    pub fn due(&self, now: DateTime<Utc>, limit: usize) -> rusqlite::Result<Vec<Pending>> {
        let db = self.db();
        let mut statement = db.prepare(
            "SELECT alert_id, channel, target, payload, attempts FROM alert_outbox
             WHERE status = 'pending' AND next_attempt_at <= ?1
             ORDER BY next_attempt_at LIMIT ?2",
        )?;
        let rows = statement.query_map(params![now.to_rfc3339(), limit as i64], |row| {
            Ok(Pending {
                alert_id: row.get(0)?,
                channel: row.get(1)?,
                target: row.get(2)?,
                payload: row.get(3)?,
                attempts: row.get(4)?,
            })
        })?;
        rows.collect()
    }

    pub fn delivered(&self, pending: &Pending) -> rusqlite::Result<()> {
        self.db().execute(
            "UPDATE alert_outbox SET status = 'delivered', attempts = attempts + 1, delivered_at = ?3, last_error = NULL
             WHERE alert_id = ?1 AND channel = ?2",
            params![pending.alert_id, pending.channel, Utc::now().to_rfc3339()],
        )?;
        self.record(&pending.alert_id, "delivered", &pending.channel)
    }

    /// Records a failed attempt: the delivery keeps its last error and attempt count, and
    /// the case log tells of the first three failures and then of the 4th, 8th, 16th, …,
    /// so a channel that is down for days adds a few lines to the case, not thousands.
    pub fn failed(&self, pending: &Pending, error: &str) -> rusqlite::Result<DateTime<Utc>> {
        let attempt = pending.attempts + 1;
        let next = Utc::now() + backoff(attempt);
        self.db().execute(
            "UPDATE alert_outbox SET attempts = attempts + 1, last_error = ?3, next_attempt_at = ?4
             WHERE alert_id = ?1 AND channel = ?2",
            params![pending.alert_id, pending.channel, error, next.to_rfc3339()],
        )?;
        if attempt <= 3 || attempt.is_power_of_two() {
            let detail = match attempt {
                1 => format!("{}: {error}", pending.channel),
                n => format!("{}（第 {n} 次尝试）: {error}", pending.channel),
            };
            self.record(&pending.alert_id, "delivery failed", &detail)?;
        }
        Ok(next)
    }

    /// Makes every pending delivery due now. Called at start: a restart is often the
    /// moment a broken receiver has been fixed, so nobody should wait out an old backoff.
    pub fn retry_all_now(&self) -> rusqlite::Result<usize> {
        self.db().execute(
            "UPDATE alert_outbox SET next_attempt_at = ?1 WHERE status = 'pending'",
            [Utc::now().to_rfc3339()],
        )
    }

    /// (pending, delivered) counts, for status output.
    pub fn counts(&self) -> rusqlite::Result<(u64, u64)> {
        self.db().query_row(
            "SELECT coalesce(sum(status = 'pending'), 0), coalesce(sum(status = 'delivered'), 0) FROM alert_outbox",
            [],
            |r| Ok((r.get::<_, i64>(0)? as u64, r.get::<_, i64>(1)? as u64)),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_alert_is_queued_once_and_retried_until_delivered() {
        let dir = tempfile::tempdir().unwrap();
        let outbox = AlertStore::open(&dir.path().join("state.sqlite")).unwrap();
        assert!(outbox
            .enqueue("a1", "webhook", "http://127.0.0.1:9/hook", "{}")
            .unwrap());
        assert!(
            !outbox
                .enqueue("a1", "webhook", "http://127.0.0.1:9/hook", "{}")
                .unwrap(),
            "second enqueue is a no-op"
        );
        assert!(
            outbox.enqueue("a1", "log", "alerts.jsonl", "{}").unwrap(),
            "each channel has its own entry"
        );

        let now = Utc::now() + Duration::seconds(1);
        let due = outbox.due(now, 10).unwrap();
        assert_eq!(due.len(), 2);
        let webhook = due.iter().find(|p| p.channel == "webhook").unwrap();
        let retry_at = outbox.failed(webhook, "connection refused").unwrap();
        assert!(retry_at > Utc::now());
        assert_eq!(
            outbox.due(now, 10).unwrap().len(),
            1,
            "a failed delivery waits for its backoff"
        );
        let later = outbox.due(retry_at + Duration::seconds(1), 10).unwrap();
        let webhook = later.iter().find(|p| p.channel == "webhook").unwrap();
        assert_eq!(webhook.attempts, 1);
        outbox.delivered(webhook).unwrap();
        assert_eq!(outbox.counts().unwrap(), (1, 1));

        // The outbox survives a restart.
        drop(outbox);
        let reopened = AlertStore::open(&dir.path().join("state.sqlite")).unwrap();
        assert_eq!(reopened.counts().unwrap(), (1, 1));
    }

    #[test]
    fn a_channel_down_for_days_adds_a_few_lines_to_the_case_not_thousands() {
        let dir = tempfile::tempdir().unwrap();
        let outbox = AlertStore::open(&dir.path().join("state.sqlite")).unwrap();
        outbox
            .enqueue("a1", "webhook", "http://127.0.0.1:9/hook", "{}")
            .unwrap();
        for attempt in 0..2_000u32 {
            let pending = Pending {
                alert_id: "a1".into(),
                channel: "webhook".into(),
                target: "http://127.0.0.1:9/hook".into(),
                payload: "{}".into(),
                attempts: attempt,
            };
            outbox
                .failed(&pending, &format!("refused #{}", attempt + 1))
                .unwrap();
        }
        let failures: Vec<String> = outbox
            .db()
            .prepare("SELECT detail FROM alert_event WHERE event = 'delivery failed'")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(
            failures.len(),
            3 + 9,
            "1, 2, 3, 4, 8, …, 1024: {failures:?}"
        );
        assert_eq!(failures[0], "webhook: refused #1");
        assert!(failures[11].contains("第 1024 次尝试"), "{failures:?}");
        let (attempts, last): (u32, String) = outbox
            .db()
            .query_row(
                "SELECT attempts, last_error FROM alert_outbox WHERE alert_id = 'a1'",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .unwrap();
        assert_eq!((attempts, last.as_str()), (2_000, "refused #2000"));
    }
}
