//! The index's errors: opening, writing (snapshots apart) and searching.

use crate::query::QueryError;
use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum IndexError {
    #[error("no index at {0}: run `yuqing run` first to collect documents")]
    Missing(PathBuf),
    #[error("the index at {path} has schema version {found}, this build uses {expected}: move it aside (or delete it) and run `yuqing run` to rebuild it")]
    SchemaVersion {
        path: PathBuf,
        found: String,
        expected: u32,
    },
    #[error("index at {path}: {source}")]
    Tantivy {
        path: PathBuf,
        source: tantivy::TantivyError,
    },
    #[error("index at {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    /// The page snapshot (存证) of a document could not be written.
    #[error("snapshot of document {id} at {path}: {source}")]
    Snapshot {
        id: String,
        path: PathBuf,
        source: std::io::Error,
    },
}

#[derive(Debug, thiserror::Error)]
pub enum SearchError {
    /// The query could not be understood; the message is safe to show to the user.
    #[error("bad query: {0}")]
    BadQuery(#[from] QueryError),
    /// A page past the rows paging can reach; the message is safe to show.
    #[error("rows past the first {max} of a result are not served (offset {offset}); narrow the search", max = crate::search::MAX_RESULT_WINDOW)]
    BeyondWindow { offset: usize },
    #[error("search failed: {0}")]
    Internal(#[from] tantivy::TantivyError),
}

impl IndexError {
    /// Whether the error is the disk's (full, read-only, failing), which passes: the
    /// step that met it is held and tried again rather than its document given up.
    pub fn is_storage(&self) -> bool {
        match self {
            IndexError::Io { .. } | IndexError::Snapshot { .. } => true,
            IndexError::Tantivy { source, .. } => is_storage(source),
            _ => false,
        }
    }
}

/// Whether a tantivy error comes from the disk rather than from the document.
pub fn is_storage(error: &tantivy::TantivyError) -> bool {
    use tantivy::TantivyError::*;
    matches!(
        error,
        IoError(_) | OpenWriteError(_) | OpenReadError(_) | ErrorInThread(_) | Poisoned
    )
}
