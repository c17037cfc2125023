//! The alert store: everything the alert stages keep, in one SQLite database (the state
//! database of the data directory, beside the crawler's seen pages).
//!
//! One [`AlertStore`] with a module per group of tables:
//!
//! | module | tables | kept for |
//! | --- | --- | --- |
//! | [`outbox`] | `alert_raised`, `alert_outbox` | each alert once, and its delivery on each channel until accepted |
//! | [`evaluator_state`] | `alert_rule_state`, `alert_story_state`, `alert_unjudged`, `alert_escalation`, `alert_collected` | what the evaluator remembers between commits and restarts |
//! | [`cases`] | `alert_case`, `alert_event` | the case log (台账): raised, delivered, acknowledged, closed |

pub mod cases;
pub mod evaluator_state;
pub mod outbox;

use rusqlite::Connection;
use std::path::Path;
use std::sync::{Mutex, MutexGuard};

pub struct AlertStore {
    db: Mutex<Connection>,
}

impl AlertStore {
    /// Opens (creating where missing) the alert tables in the database at `path`.
    pub fn open(path: &Path) -> rusqlite::Result<Self> {
        let db = Connection::open(path)?;
        db.pragma_update(None, "journal_mode", "WAL")?;
        // With WAL, NORMAL keeps every committed change through a crash of the process
        // (kill -9); only a power cut can lose the last moments. It saves an fsync per
        // change, which matters when a story raises alerts on many channels at once.
        db.pragma_update(None, "synchronous", "NORMAL")?;
        db.busy_timeout(std::time::Duration::from_secs(5))?;
        outbox::create(&db)?;
        db.execute_batch(cases::SCHEMA)?;
        cases::migrate(&db)?;
        db.execute_batch(evaluator_state::SCHEMA)?;
        Ok(AlertStore { db: Mutex::new(db) })
    }

    /// The connection. A panic while it was held leaves no half-done change behind
    /// (each change is one statement or one transaction), so a poisoned lock is taken
    /// as it is rather than failing every later caller.
    pub(crate) fn db(&self) -> MutexGuard<'_, Connection> {
        yuqing_model::lock(&self.db)
    }
}
