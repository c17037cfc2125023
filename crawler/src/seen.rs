//! The crawler's memory of article pages it has handed on, kept in the state database so
//! that a restart does not fetch them again.

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
                 handed_on_at TEXT NOT NULL
             );",
        )?;
        Ok(SeenStore { db: Mutex::new(db) })
    }

    pub fn contains(&self, canonical_url: &str) -> rusqlite::Result<bool> {
        let db = self.db.lock().expect("seen-store lock poisoned");
        db.query_row(
            "SELECT 1 FROM crawl_seen WHERE url = ?1",
            [canonical_url],
            |_| Ok(()),
        )
        .optional()
        .map(|row| row.is_some())
    }

    /// Called only after the document is safely on the bus, so a crash before that point
    /// means the page is fetched again, never lost.
    pub fn mark(&self, canonical_url: &str, doc_id: &str, source: &str) -> rusqlite::Result<()> {
        let db = self.db.lock().expect("seen-store lock poisoned");
        db.execute(
            "INSERT OR REPLACE INTO crawl_seen (url, doc_id, source, handed_on_at)
             VALUES (?1, ?2, ?3, datetime('now'))",
            params![canonical_url, doc_id, source],
        )?;
        Ok(())
    }
}
