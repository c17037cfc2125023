//! Rebuilding an index of an older schema version from the documents it stores.

use crate::reprints::PendingPrints;
use crate::schema::{field, SCHEMA_VERSION};
use crate::{IndexError, SearchIndex};
use std::path::Path;
use std::sync::Arc;
use tantivy::schema::Value;
use tantivy::{Index, TantivyDocument};
use yuqing_model::AnalyzedDocument;
use yuqing_segmenter::Segmenter;

/// Older schema versions this build rebuilds on open: every document is stored whole,
/// so a new index is made from the stored documents with the new fields.
pub(crate) const MIGRATES_FROM: &[&str] = &["2", "3"];

/// Rebuilds the index at `path` (schema `found`) with this build's schema, from the
/// documents it stores. The new index is built beside the old one and swapped in; the
/// old one is removed only once the new one is in place.
pub(crate) fn migrate(
    path: &Path,
    found: &str,
    segmenter: &Arc<Segmenter>,
) -> Result<(), IndexError> {
    let tantivy_err = |source| IndexError::Tantivy {
        path: path.to_path_buf(),
        source,
    };
    let io_err = |source| IndexError::Io {
        path: path.to_path_buf(),
        source,
    };
    tracing::warn!(index = %path.display(), from = found, to = SCHEMA_VERSION, "migrating the index to this build's schema");
    let old = Index::open_in_dir(path).map_err(tantivy_err)?;
    let document_field = old
        .schema()
        .get_field(field::DOCUMENT)
        .map_err(tantivy_err)?;
    let reader = old.reader().map_err(tantivy_err)?;
    let searcher = reader.searcher();
    let building = path.with_extension("migrating");
    if building.exists() {
        std::fs::remove_dir_all(&building).map_err(io_err)?;
    }
    let new = SearchIndex::open_or_create(&building, segmenter.clone())?;
    let mut writer = new.writer(64 * 1024 * 1024)?;
    let mut pending = PendingPrints::default();
    let mut moved = 0usize;
    for segment in searcher.segment_readers() {
        let store = segment
            .get_store_reader(16)
            .map_err(|e| tantivy_err(e.into()))?;
        for stored in store.iter::<TantivyDocument>(segment.alive_bitset()) {
            let stored = stored.map_err(tantivy_err)?;
            let Some(json) = stored.get_first(document_field).and_then(|v| v.as_str()) else {
                continue;
            };
            let doc: AnalyzedDocument = serde_json::from_str(json).map_err(|e| {
                tantivy_err(tantivy::TantivyError::InternalError(format!(
                    "stored document: {e}"
                )))
            })?;
            new.upsert(&writer, &doc, &mut pending)?;
            moved += 1;
        }
    }
    writer.commit().map_err(tantivy_err)?;
    drop(writer);
    drop(new);
    drop(searcher);
    drop(reader);
    drop(old);
    let retired = path.with_extension(format!("v{found}"));
    std::fs::rename(path, &retired).map_err(io_err)?;
    std::fs::rename(&building, path).map_err(io_err)?;
    std::fs::remove_dir_all(&retired).map_err(io_err)?;
    tracing::info!(index = %path.display(), documents = moved, "index migrated");
    Ok(())
}
