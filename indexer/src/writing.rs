//! Writing the index: upserts by id, the reprint cluster a document joins, and the page
//! snapshots (存证) kept beside the index.

use crate::reprints::{self, PendingPrints};
use crate::schema::field;
use crate::{IndexError, SearchIndex};
use std::path::PathBuf;
use tantivy::schema::{IndexRecordOption, Value};
use tantivy::{DocAddress, IndexWriter, TantivyDocument, Term};
use yuqing_model::AnalyzedDocument;

impl SearchIndex {
    /// The committed story that a document with these fingerprints reprints, if any.
    ///
    /// Runs for every document indexed, so it reads postings and the cluster column
    /// directly instead of searching and loading stored documents: a fingerprint's first
    /// live holder is enough, since all its holders are in one story.
    fn committed_cluster_for(&self, prints: &[u64]) -> tantivy::Result<Option<String>> {
        let f = &self.fields;
        let searcher = self.reader.searcher();
        // Per story found: how many fingerprints it shares, and one holder of them.
        let mut shared: Vec<(String, usize, DocAddress)> = Vec::new();
        for print in prints.iter().take(reprints::LOOKUPS) {
            let term = Term::from_field_text(f.para, &reprints::term_text(*print));
            let Some(address) = first_live_holder(&searcher, &term)? else {
                continue;
            };
            let Some(cluster) = self.cluster_of(&searcher, address)? else {
                continue;
            };
            match shared.iter_mut().find(|(c, _, _)| *c == cluster) {
                Some(entry) => entry.1 += 1,
                None => shared.push((cluster, 1, address)),
            }
        }
        let mut found = Vec::new();
        for (cluster, count, holder) in shared {
            // The holder's own number of fingerprints matters only when one is shared by
            // a document that has several (see `reprints::needed`): only then is the
            // stored document read.
            let theirs = if count == 1 && prints.len() > 1 {
                let stored: TantivyDocument = searcher.doc(holder)?;
                stored
                    .get_first(f.para_count)
                    .and_then(|v| v.as_u64())
                    .unwrap_or(2) as usize
            } else {
                count.max(2)
            };
            found.extend(std::iter::repeat_n((cluster, theirs), count));
        }
        Ok(reprints::best_cluster(prints.len(), found))
    }

    /// The story (cluster id) of a committed document, from the cluster column.
    fn cluster_of(
        &self,
        searcher: &tantivy::Searcher,
        address: DocAddress,
    ) -> tantivy::Result<Option<String>> {
        let segment = searcher.segment_reader(address.segment_ord);
        let Some(column) = segment.fast_fields().str(field::CLUSTER)? else {
            return Ok(None);
        };
        let Some(ord) = column.term_ords(address.doc_id).next() else {
            return Ok(None);
        };
        let mut cluster = String::new();
        Ok(column.ord_to_str(ord, &mut cluster)?.then_some(cluster))
    }

    /// Replaces any document with the same id: crawling a page again leaves one document.
    /// The document joins the reprint cluster of an earlier one (committed, or in
    /// `pending`, the uncommitted batch) when they share paragraphs.
    pub fn upsert(
        &self,
        writer: &IndexWriter,
        doc: &AnalyzedDocument,
        pending: &mut PendingPrints,
    ) -> Result<(), IndexError> {
        let tantivy_err = |source| IndexError::Tantivy {
            path: self.path.clone(),
            source,
        };
        let f = &self.fields;
        let raw = &doc.document;
        // The evidence goes to its own file first, so a failure to write it (a full
        // disk) leaves the batch as it was and the upsert can simply be repeated.
        let stored_json = match &raw.snapshot {
            Some(bytes) => {
                self.store_snapshot(&raw.id, bytes)?;
                let mut without = doc.clone();
                without.document.snapshot = None;
                serde_json::to_string(&without)
            }
            None => serde_json::to_string(doc),
        }
        .expect("documents serialize infallibly");
        let prints = reprints::fingerprints(&raw.content);
        let cluster = match self.committed_cluster_for(&prints).map_err(tantivy_err)? {
            Some(cluster) => cluster,
            None => pending
                .cluster_for(&prints)
                .unwrap_or_else(|| raw.id.clone()),
        };
        // The story's documents indexed before this one, committed or in this batch.
        let earlier = if cluster == raw.id {
            0
        } else {
            let term = Term::from_field_text(f.cluster, &cluster);
            count_term(&self.reader.searcher(), &term).map_err(tantivy_err)? as u64
                + pending.members(&cluster)
        };
        pending.add(&cluster, &prints);
        writer.delete_term(Term::from_field_text(f.id, &raw.id));
        let mut tdoc = TantivyDocument::default();
        tdoc.add_text(f.id, &raw.id);
        tdoc.add_text(f.url, &raw.url);
        tdoc.add_text(f.source, &raw.source);
        tdoc.add_text(f.title, &raw.title);
        tdoc.add_text(f.content, &raw.content);
        for topic in &doc.analysis.topics {
            tdoc.add_text(f.topic, &topic.name);
        }
        tdoc.add_text(f.sentiment, doc.analysis.sentiment.label.as_str());
        for region in &doc.analysis.regions {
            tdoc.add_text(f.district, &region.name);
        }
        for school in &doc.analysis.schools {
            tdoc.add_text(f.school, &school.name);
        }
        let risk = doc.analysis.risk.level;
        tdoc.add_text(f.risk, risk.as_str());
        tdoc.add_text(f.risk, risk.zh());
        tdoc.add_text(f.risk_level, risk.as_str());
        tdoc.add_text(f.source_kind, raw.source_type.as_str());
        tdoc.add_f64(f.risk_score, f64::from(doc.analysis.risk.score));
        tdoc.add_text(f.source_type, raw.source_type.as_str());
        tdoc.add_text(f.source_type, raw.source_type.zh());
        if let Some(platform) = &raw.platform {
            tdoc.add_text(f.platform, platform.to_lowercase());
        }
        if let Some(region) = &raw.ip_region {
            tdoc.add_text(f.ip_region, region);
        }
        let engagement = raw.engagement.unwrap_or_default();
        tdoc.add_u64(f.reposts, engagement.reposts);
        tdoc.add_u64(f.comments, engagement.comments);
        tdoc.add_u64(f.likes, engagement.likes);
        tdoc.add_u64(f.spread, earlier + engagement.reposts);
        if let Some(published) = raw.published_at {
            tdoc.add_date(
                f.published_at,
                tantivy::DateTime::from_timestamp_secs(published.timestamp()),
            );
        }
        tdoc.add_date(
            f.fetched_at,
            tantivy::DateTime::from_timestamp_secs(raw.fetched_at.timestamp()),
        );
        // The index keeps the document without its evidence.
        tdoc.add_text(f.document, stored_json);
        for print in &prints {
            tdoc.add_text(f.para, reprints::term_text(*print));
        }
        tdoc.add_u64(f.para_count, prints.len() as u64);
        tdoc.add_text(f.cluster, &cluster);
        writer.add_document(tdoc).map_err(tantivy_err)?;
        Ok(())
    }

    /// Where the page snapshots (存证) live: `snapshots/` beside the index folder, one
    /// lz4 file per document in 256 subfolders.
    fn snapshot_path(&self, id: &str) -> Option<PathBuf> {
        let safe = id.len() >= 2 && id.bytes().all(|b| b.is_ascii_hexdigit());
        safe.then(|| {
            self.path
                .with_file_name("snapshots")
                .join(&id[..2])
                .join(format!("{id}.lz4"))
        })
    }

    fn store_snapshot(&self, id: &str, compressed: &[u8]) -> Result<(), IndexError> {
        let Some(path) = self.snapshot_path(id) else {
            return Ok(()); // not an id this index makes: nothing to keep
        };
        // Written whole then renamed, so a reader never sees half a file.
        let partial = path.with_extension("lz4.partial");
        let write = || -> std::io::Result<()> {
            std::fs::create_dir_all(path.parent().expect("a folder"))?;
            std::fs::write(&partial, compressed)?;
            std::fs::rename(&partial, &path)
        };
        write().map_err(|source| IndexError::Snapshot {
            id: id.to_string(),
            path: path.clone(),
            source,
        })
    }

    /// The page as it was fetched, if a snapshot was kept.
    pub fn snapshot(&self, id: &str) -> Option<Vec<u8>> {
        let compressed = std::fs::read(self.snapshot_path(id)?).ok()?;
        lz4_flex::decompress_size_prepended(&compressed).ok()
    }
}

/// Calls `visit` with each live document of `segment` holding `term`, in order, until it
/// answers `Break`.
fn visit_live_postings(
    segment: &tantivy::SegmentReader,
    term: &Term,
    mut visit: impl FnMut(tantivy::DocId) -> std::ops::ControlFlow<()>,
) -> tantivy::Result<()> {
    use tantivy::DocSet;
    let index = segment.inverted_index(term.field())?;
    let Some(mut postings) = index.read_postings(term, IndexRecordOption::Basic)? else {
        return Ok(());
    };
    let alive = segment.alive_bitset();
    let mut doc = postings.doc();
    while doc != tantivy::TERMINATED {
        if alive.is_none_or(|bits| bits.is_alive(doc)) && visit(doc).is_break() {
            break;
        }
        doc = postings.advance();
    }
    Ok(())
}

/// A live document holding `term`, if any.
fn first_live_holder(
    searcher: &tantivy::Searcher,
    term: &Term,
) -> tantivy::Result<Option<DocAddress>> {
    for (ord, segment) in searcher.segment_readers().iter().enumerate() {
        let mut first = None;
        visit_live_postings(segment, term, |doc| {
            first = Some(DocAddress::new(ord as u32, doc));
            std::ops::ControlFlow::Break(())
        })?;
        if first.is_some() {
            return Ok(first);
        }
    }
    Ok(None)
}

/// How many live documents hold `term`: read from the term dictionary in segments
/// without deletions (a big story's cluster has tens of thousands of documents, and a
/// result page asks for twenty clusters), counted over the postings in the others.
pub(crate) fn count_term(searcher: &tantivy::Searcher, term: &Term) -> tantivy::Result<usize> {
    let mut total = 0usize;
    for segment in searcher.segment_readers() {
        if segment.num_deleted_docs() == 0 {
            total += segment
                .inverted_index(term.field())?
                .get_term_info(term)?
                .map_or(0, |info| info.doc_freq as usize);
            continue;
        }
        visit_live_postings(segment, term, |_| {
            total += 1;
            std::ops::ControlFlow::Continue(())
        })?;
    }
    Ok(total)
}
