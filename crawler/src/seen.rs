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
             );",
        )?;
        Ok(SeenStore { db: Mutex::new(db) })
    }

    fn db(&self) -> std::sync::MutexGuard<'_, Connection> {
        self.db.lock().expect("seen-store lock poisoned")
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
}
