//! The indexer stage: consumes analyzed documents, upserts them, commits by count or by
//! time (whichever comes first), commits bus messages only after the index commit that
//! holds them, and hands each commit's document ids to the alert evaluator.

use crate::{IndexError, PendingPrints, SearchIndex};
use serde::Deserialize;
use std::sync::Arc;
use std::time::Duration;
use tantivy::IndexWriter;
use tokio::sync::mpsc;
use tokio::time::Instant;
use yuqing_bus::{Consumer, Delivery};
use yuqing_model::health::Health;
use yuqing_model::AnalyzedDocument;

/// `[indexer]` in the configuration.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IndexerConfig {
    /// Longest time a received document waits before it is committed (and searchable).
    #[serde(default = "default_commit_interval_ms")]
    pub commit_interval_ms: u64,
    /// Commit as soon as this many documents are waiting.
    #[serde(default = "default_commit_max_docs")]
    pub commit_max_docs: usize,
    /// tantivy writer memory budget.
    #[serde(default = "default_writer_memory_mb")]
    pub writer_memory_mb: usize,
}

fn default_commit_interval_ms() -> u64 {
    1000
}
fn default_commit_max_docs() -> usize {
    1000
}
fn default_writer_memory_mb() -> usize {
    64
}

impl Default for IndexerConfig {
    fn default() -> Self {
        IndexerConfig {
            commit_interval_ms: default_commit_interval_ms(),
            commit_max_docs: default_commit_max_docs(),
            writer_memory_mb: default_writer_memory_mb(),
        }
    }
}

/// The documents one index commit made searchable.
#[derive(Debug, Default)]
pub struct Committed {
    pub ids: Vec<String>,
    /// Answered once the receiver (the alert evaluator) has stored the ids durably: only
    /// then does the indexer let the bus forget the documents, so a crash in between has
    /// them delivered, indexed and judged again.
    pub stored: Option<tokio::sync::oneshot::Sender<()>>,
}

impl Committed {
    pub fn new(ids: Vec<String>) -> Self {
        Committed { ids, stored: None }
    }
}

/// How long the indexer waits for the evaluator to store a commit's ids before it lets
/// the bus forget the documents anyway (a stuck evaluator must not stop indexing).
const HANDOFF_WAIT: Duration = Duration::from_secs(30);

#[derive(Debug, thiserror::Error)]
pub enum StageError {
    #[error(transparent)]
    Index(#[from] IndexError),
    #[error("index commit failed: {0}")]
    Commit(tantivy::TantivyError),
    #[error(transparent)]
    Bus(#[from] yuqing_bus::BusError),
}

/// The indexer's name in the process's [`Health`].
pub const INDEXER_STAGE: &str = "indexer";

/// Consumes analyzed documents until the topic ends, committing the index by count and
/// time and announcing each commit on `on_commit`.
///
/// A fault of the disk (full, read-only) stops nothing: the batch in hand is kept, the
/// stage shows as retrying in `health`, and once the disk takes writes again the batch
/// is written again from the last commit and committed. Only a document the index
/// cannot take for itself goes to the dead letters.
pub async fn run_stage(
    index: SearchIndex,
    config: IndexerConfig,
    mut input: Consumer<AnalyzedDocument>,
    on_commit: mpsc::Sender<Committed>,
    health: Arc<Health>,
) -> Result<(), StageError> {
    const STAGE: &str = INDEXER_STAGE;
    health.running(STAGE);
    let memory = config.writer_memory_mb.max(15) * 1024 * 1024;
    let mut writer = open_writer(&index, memory, &health).await;
    let interval = Duration::from_millis(config.commit_interval_ms.max(1));
    let mut pending: Vec<Delivery> = Vec::new();
    // The batch since the last commit, kept to be written again after a failed commit.
    let mut batch: Vec<AnalyzedDocument> = Vec::new();
    let mut deadline: Option<Instant> = None;
    let mut indexed = 0u64;
    // Paragraph fingerprints of the batch not yet committed (searches cannot see it).
    let mut pending_prints = PendingPrints::default();

    loop {
        let received = match deadline {
            Some(at) => tokio::select! {
                received = input.recv() => Some(received?),
                _ = tokio::time::sleep_until(at) => None,
            },
            None => Some(input.recv().await?),
        };
        let ended = match received {
            Some(Some(received)) => {
                let mut retrier = health.retrier(STAGE, "index a document");
                let upserted = loop {
                    let upserted = tokio::task::block_in_place(|| {
                        index.upsert(&writer, &received.message, &mut pending_prints)
                    });
                    match upserted {
                        Err(error) if error.is_storage() => {
                            retrier.failed(&error).await;
                            // The writer may not have survived the fault.
                            writer = rewrite_batch(
                                writer,
                                &index,
                                memory,
                                &health,
                                &batch,
                                &mut pending_prints,
                            )
                            .await;
                        }
                        upserted => break upserted,
                    }
                };
                retrier.succeeded();
                match upserted {
                    Ok(()) => {
                        batch.push(received.message);
                        pending.push(received.delivery);
                        deadline.get_or_insert_with(|| Instant::now() + interval);
                    }
                    Err(error) => {
                        input
                            .dead_letter(
                                &received.delivery,
                                &format!("index upsert failed: {error}"),
                            )
                            .await?;
                    }
                }
                false
            }
            Some(None) => true,
            None => false,
        };
        let due = deadline.is_some_and(|at| at <= Instant::now());
        if !pending.is_empty() && (ended || due || pending.len() >= config.commit_max_docs) {
            let mut retrier = health.retrier(STAGE, "commit the index");
            while let Err(error) = tokio::task::block_in_place(|| writer.commit()) {
                if !crate::error::is_storage(&error) {
                    return Err(StageError::Commit(error));
                }
                retrier.failed(&error).await;
                writer =
                    rewrite_batch(writer, &index, memory, &health, &batch, &mut pending_prints)
                        .await;
            }
            retrier.succeeded();
            health
                .retry(STAGE, "open the new commit for searches", || async {
                    index.reload()
                })
                .await;
            // The evaluator stores the ids before the bus may forget the documents.
            let ids = batch.drain(..).map(|doc| doc.document.id).collect();
            let (stored, handed_over) = tokio::sync::oneshot::channel();
            let committed = Committed {
                ids,
                stored: Some(stored),
            };
            if on_commit.send(committed).await.is_ok() {
                if tokio::time::timeout(HANDOFF_WAIT, handed_over)
                    .await
                    .is_err()
                {
                    tracing::warn!("the alert evaluator did not take the commit in time");
                }
            } else {
                tracing::debug!("no alert evaluator listening for commits");
            }
            for delivery in &pending {
                input.commit(delivery).await?;
            }
            indexed += pending.len() as u64;
            tracing::info!(
                documents = pending.len(),
                total = index.num_docs(),
                "index commit"
            );
            pending.clear();
            pending_prints.clear();
            deadline = None;
        } else if pending.is_empty() {
            deadline = None;
        }
        if ended {
            break;
        }
    }
    writer.wait_merging_threads().ok();
    tracing::info!(indexed, "indexer stage finished");
    Ok(())
}

/// The index writer, opened again while the disk refuses.
async fn open_writer(index: &SearchIndex, memory: usize, health: &Health) -> IndexWriter {
    health
        .retry(INDEXER_STAGE, "open the index writer", || async {
            index.writer(memory)
        })
        .await
}

/// The writer back at the last commit with the batch since then written again, tried
/// until the disk takes it all.
async fn rewrite_batch(
    mut writer: IndexWriter,
    index: &SearchIndex,
    memory: usize,
    health: &Health,
    batch: &[AnalyzedDocument],
    prints: &mut PendingPrints,
) -> IndexWriter {
    let mut retrier = health.retrier(INDEXER_STAGE, "write the batch again");
    'again: loop {
        writer = reset_writer(writer, index, memory, health).await;
        prints.clear();
        for doc in batch {
            match tokio::task::block_in_place(|| index.upsert(&writer, doc, prints)) {
                Err(error) if error.is_storage() => {
                    retrier.failed(&error).await;
                    continue 'again;
                }
                // Each was taken once: only the disk can refuse it now.
                Err(error) => {
                    tracing::error!(%error, "a document of the batch was not taken again")
                }
                Ok(()) => {}
            }
        }
        retrier.succeeded();
        return writer;
    }
}

/// The writer back at the last commit: rolled back, or, where a failed commit killed
/// it, closed and opened anew.
async fn reset_writer(
    mut writer: IndexWriter,
    index: &SearchIndex,
    memory: usize,
    health: &Health,
) -> IndexWriter {
    match tokio::task::block_in_place(|| writer.rollback()) {
        Ok(_) => writer,
        Err(error) => {
            tracing::warn!(%error, "the index writer could not roll back; opening a new one");
            drop(writer);
            open_writer(index, memory, health).await
        }
    }
}
