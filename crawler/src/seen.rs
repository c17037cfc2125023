//! The crawler's memory of article pages it has handed on, kept in the state database so
//! that a restart does not fetch them again.
//!
//! A page is `handed` once its document is on the bus and `done` once it is safe: at
//! once with Kafka (the broker acknowledged it), after the index commit that holds it with
//! the embedded bus (whose channels die with the process). At start, pages still `handed`
//! are forgotten, so a crash in between means a refetch, never a lost document.

use crate::fetch::Validators;
use rusqlite::{params, Connection, OptionalExtension};
use std::path::Path;
use std::sync::Mutex;

/// How a source has been doing: shown by `yuqing status`, `/api/status` and `/metrics`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct SourceHealth {
    pub source: String,
    pub last_visit_at: String,
    pub last_success_at: Option<String>,
    /// Visits failed in a row (0: the last one succeeded).
    pub consecutive_failures: u64,
    /// Why the last visit failed (an expired credential, an unreachable site, …).
    pub last_error: Option<String>,
    pub last_collected: u64,
    pub collected_total: u64,
}

pub struct SeenStore {
    db: Mutex<Connection>,
}

impl SeenStore {
    pub fn open(path: &Path) -> rusqlite::Result<Self> {
        let db = Connection::open(path)?;
        // WAL lets `yuqing search` and other readers work while the crawler writes.
        db.pragma_update(None, "journal_mode", "WAL")?;
        db.pragma_update(None, "synchronous", "NORMAL")?;
        db.busy_timeout(std::time::Duration::from_secs(5))?;
        db.execute_batch(
            "CREATE TABLE IF NOT EXISTS crawl_seen (
                 url TEXT PRIMARY KEY,
                 doc_id TEXT NOT NULL,
                 source TEXT NOT NULL,
                 state TEXT NOT NULL,
                 handed_on_at TEXT NOT NULL
             );
             CREATE INDEX IF NOT EXISTS crawl_seen_doc ON crawl_seen (doc_id);
             CREATE TABLE IF NOT EXISTS crawl_validators (
                 url TEXT PRIMARY KEY,
                 etag TEXT,
                 last_modified TEXT
             );
             CREATE TABLE IF NOT EXISTS crawl_source_health (
                 source TEXT PRIMARY KEY,
                 last_visit_at TEXT NOT NULL,
                 last_success_at TEXT,
                 consecutive_failures INTEGER NOT NULL,
                 last_error TEXT,
                 last_collected INTEGER NOT NULL,
                 collected_total INTEGER NOT NULL
             );",
        )?;
        Ok(SeenStore { db: Mutex::new(db) })
    }

    fn db(&self) -> std::sync::MutexGuard<'_, Connection> {
        yuqing_model::lock(&self.db)
    }

    pub fn contains(&self, canonical_url: &str) -> rusqlite::Result<bool> {
        self.db()
            .query_row(
                "SELECT 1 FROM crawl_seen WHERE url = ?1",
                [canonical_url],
                |_| Ok(()),
            )
            .optional()
            .map(|row| row.is_some())
    }

    /// Records a page whose document is on the bus; `safe` says whether the bus already
    /// guarantees it (Kafka) or [`SeenStore::confirm`] will (embedded).
    pub fn mark(
        &self,
        canonical_url: &str,
        doc_id: &str,
        source: &str,
        safe: bool,
    ) -> rusqlite::Result<()> {
        self.db().execute(
            "INSERT OR REPLACE INTO crawl_seen (url, doc_id, source, state, handed_on_at)
             VALUES (?1, ?2, ?3, ?4, datetime('now'))",
            params![
                canonical_url,
                doc_id,
                source,
                if safe { "done" } else { "handed" }
            ],
        )?;
        Ok(())
    }

    /// Marks the pages of these documents safe (their index commit happened).
    pub fn confirm(&self, doc_ids: &[String]) -> rusqlite::Result<()> {
        let mut db = self.db();
        let tx = db.transaction()?;
        {
            let mut update = tx.prepare(
                "UPDATE crawl_seen SET state = 'done' WHERE doc_id = ?1 AND state = 'handed'",
            )?;
            for id in doc_ids {
                update.execute([id])?;
            }
        }
        tx.commit()
    }

    /// The validators of a source page's last complete visit, for conditional GET.
    pub fn validators(&self, url: &str) -> rusqlite::Result<Validators> {
        self.db()
            .query_row(
                "SELECT etag, last_modified FROM crawl_validators WHERE url = ?1",
                [url],
                |row| {
                    Ok(Validators {
                        etag: row.get(0)?,
                        last_modified: row.get(1)?,
                    })
                },
            )
            .optional()
            .map(Option::unwrap_or_default)
    }

    pub fn store_validators(&self, url: &str, validators: &Validators) -> rusqlite::Result<()> {
        self.db().execute(
            "INSERT OR REPLACE INTO crawl_validators (url, etag, last_modified) VALUES (?1, ?2, ?3)",
            params![url, validators.etag, validators.last_modified],
        )?;
        Ok(())
    }

    /// Records the outcome of a visit of `source`: what it collected, or why it failed.
    pub fn record_visit(
        &self,
        source: &str,
        outcome: Result<usize, &str>,
        at: chrono::DateTime<chrono::Utc>,
    ) -> rusqlite::Result<()> {
        let at = at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
        match outcome {
            Ok(collected) => self.db().execute(
                "INSERT INTO crawl_source_health VALUES (?1, ?2, ?2, 0, NULL, ?3, ?3)
                 ON CONFLICT (source) DO UPDATE SET last_visit_at = ?2, last_success_at = ?2,
                     consecutive_failures = 0, last_error = NULL, last_collected = ?3,
                     collected_total = collected_total + ?3",
                params![source, at, collected as i64],
            )?,
            Err(error) => self.db().execute(
                "INSERT INTO crawl_source_health VALUES (?1, ?2, NULL, 1, ?3, 0, 0)
                 ON CONFLICT (source) DO UPDATE SET last_visit_at = ?2,
                     consecutive_failures = consecutive_failures + 1, last_error = ?3,
                     last_collected = 0",
                params![source, at, error],
            )?,
        };
        Ok(())
    }

    /// Every source's last visits, by name.
    pub fn source_health(&self) -> rusqlite::Result<Vec<SourceHealth>> {
        let db = self.db();
        let mut statement = db.prepare(
            "SELECT source, last_visit_at, last_success_at, consecutive_failures, last_error,
                    last_collected, collected_total
             FROM crawl_source_health ORDER BY source",
        )?;
        let rows = statement.query_map([], |row| {
            Ok(SourceHealth {
                source: row.get(0)?,
                last_visit_at: row.get(1)?,
                last_success_at: row.get(2)?,
                consecutive_failures: row.get::<_, i64>(3)? as u64,
                last_error: row.get(4)?,
                last_collected: row.get::<_, i64>(5)? as u64,
                collected_total: row.get::<_, i64>(6)? as u64,
            })
        })?;
        rows.collect()
    }

    /// Forgets pages handed on but never confirmed (the process died in between), so they
    /// are fetched again. Returns how many.
    pub fn forget_unconfirmed(&self) -> rusqlite::Result<usize> {
        self.db()
            .execute("DELETE FROM crawl_seen WHERE state = 'handed'", [])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_handed_on_but_never_confirmed_are_fetched_again_after_a_crash() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.sqlite");
        let store = SeenStore::open(&path).unwrap();
        store.mark("http://a.cn/1", "d1", "s", false).unwrap();
        store.mark("http://a.cn/2", "d2", "s", false).unwrap();
        store.mark("http://a.cn/3", "d3", "s", true).unwrap();
        store.confirm(&["d1".to_string()]).unwrap();
        assert!(
            store.contains("http://a.cn/2").unwrap(),
            "in flight counts as seen while running"
        );
        drop(store); // the process dies before d2's index commit

        let store = SeenStore::open(&path).unwrap();
        assert_eq!(store.forget_unconfirmed().unwrap(), 1);
        assert!(store.contains("http://a.cn/1").unwrap());
        assert!(!store.contains("http://a.cn/2").unwrap());
        assert!(store.contains("http://a.cn/3").unwrap());
    }

    #[test]
    fn a_source_s_health_counts_failures_in_a_row_and_what_it_collected() {
        let dir = tempfile::tempdir().unwrap();
        let store = SeenStore::open(&dir.path().join("state.sqlite")).unwrap();
        let now = chrono::Utc::now();
        store.record_visit("微博", Ok(3), now).unwrap();
        store.record_visit("微博", Err("请先登录"), now).unwrap();
        store.record_visit("微博", Err("请先登录"), now).unwrap();
        let health = &store.source_health().unwrap()[0];
        assert_eq!(
            (health.consecutive_failures, health.collected_total),
            (2, 3)
        );
        assert_eq!(health.last_error.as_deref(), Some("请先登录"));
        assert!(health.last_success_at.is_some());
        store.record_visit("微博", Ok(2), now).unwrap();
        let health = &store.source_health().unwrap()[0];
        assert_eq!(
            (health.consecutive_failures, health.collected_total),
            (0, 5)
        );
        assert_eq!(health.last_error, None);
    }
}
