//! The tantivy index: schema, opening (with a schema version check), upserts and search.

use crate::facets::{Buckets, FacetCache, FacetCollector, FacetCounts, FACET_FIELDS};
use crate::query::{self, QueryError, QueryFields};
use crate::reprints::{self, PendingPrints};
use crate::tokenizer::{JiebaTokenizer, TOKENIZER_NAME};
use chrono::{DateTime, FixedOffset, Utc};
use serde::Serialize;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tantivy::collector::{Count, TopDocs};
use tantivy::directory::MmapDirectory;
use tantivy::query::{BooleanQuery, Occur, Query, RangeQuery, TermQuery, TermSetQuery};
use tantivy::schema::{
    DateOptions, Field, IndexRecordOption, Schema, TextFieldIndexing, TextOptions, Value, FAST,
    STORED, STRING,
};
use tantivy::snippet::SnippetGenerator;
use tantivy::tokenizer::TextAnalyzer;
use tantivy::{
    DocAddress, Index, IndexReader, IndexWriter, Order, ReloadPolicy, TantivyDocument, Term,
};
use yuqing_model::AnalyzedDocument;
use yuqing_segmenter::Segmenter;

/// Raised whenever fields change meaning; an index of another version is not opened.
/// 2: district, school and risk fields.
/// 3: source type and platform. Version 2 indexes are migrated when opened.
pub const SCHEMA_VERSION: u32 = 4;
const VERSION_FILE: &str = "yuqing-schema-version";

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
}

#[derive(Debug, thiserror::Error)]
pub enum SearchError {
    /// The query could not be understood; the message is safe to show to the user.
    #[error("bad query: {0}")]
    BadQuery(#[from] QueryError),
    #[error("search failed: {0}")]
    Internal(#[from] tantivy::TantivyError),
}

#[derive(Clone, Copy)]
pub(crate) struct Fields {
    pub id: Field,
    pub url: Field,
    pub source: Field,
    pub title: Field,
    pub content: Field,
    pub topic: Field,
    pub sentiment: Field,
    pub district: Field,
    pub school: Field,
    pub risk: Field,
    /// Risk and source type once each, in English, for counting (the searchable fields
    /// hold both spellings, which would count every document twice).
    pub risk_level: Field,
    pub source_kind: Field,
    pub risk_score: Field,
    /// Both spellings (`social` and 社交平台), like risk.
    pub source_type: Field,
    pub platform: Field,
    /// The region a platform shows for the poster (IP属地).
    pub ip_region: Field,
    pub reposts: Field,
    pub comments: Field,
    pub likes: Field,
    /// How far the document had spread when indexed: the earlier documents of its
    /// reprint cluster, plus its reposts on a social platform.
    pub spread: Field,
    pub published_at: Field,
    pub fetched_at: Field,
    /// The whole analyzed document as JSON: what the desk shows, explanations included.
    pub document: Field,
    /// Paragraph fingerprints, to find reprints (see `reprints`).
    pub para: Field,
    pub para_count: Field,
    /// The reprint cluster: the id of the first document of the story.
    pub cluster: Field,
}

fn build_schema() -> (Schema, Fields) {
    let mut builder = Schema::builder();
    let text = TextOptions::default().set_indexing_options(
        TextFieldIndexing::default()
            .set_tokenizer(TOKENIZER_NAME)
            .set_index_option(IndexRecordOption::WithFreqsAndPositions),
    );
    let date = DateOptions::default().set_indexed().set_fast();
    let fields = Fields {
        id: builder.add_text_field("id", STRING | STORED),
        url: builder.add_text_field("url", STRING),
        source: builder.add_text_field("source", STRING | FAST),
        title: builder.add_text_field("title", text.clone()),
        content: builder.add_text_field("content", text),
        topic: builder.add_text_field("topic", STRING | FAST),
        sentiment: builder.add_text_field("sentiment", STRING | FAST),
        district: builder.add_text_field("district", STRING | FAST),
        school: builder.add_text_field("school", STRING | FAST),
        // Both spellings, so `risk:高` and `risk:high` find the same documents.
        risk: builder.add_text_field("risk", STRING),
        risk_level: builder.add_text_field("risk_level", FAST),
        source_kind: builder.add_text_field("source_kind", FAST),
        risk_score: builder.add_f64_field("risk_score", FAST),
        source_type: builder.add_text_field("source_type", STRING),
        platform: builder.add_text_field("platform", STRING | FAST),
        ip_region: builder.add_text_field("ip_region", STRING | FAST),
        reposts: builder.add_u64_field("reposts", FAST),
        comments: builder.add_u64_field("comments", FAST),
        likes: builder.add_u64_field("likes", FAST),
        spread: builder.add_u64_field("spread", FAST),
        published_at: builder.add_date_field("published_at", date.clone()),
        fetched_at: builder.add_date_field("fetched_at", date),
        document: builder.add_text_field("document", STORED),
        para: builder.add_text_field("para", STRING),
        para_count: builder.add_u64_field("para_count", STORED),
        cluster: builder.add_text_field("cluster", STRING | STORED | FAST),
    };
    (builder.build(), fields)
}

/// How hits are ordered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Sort {
    /// Best match first; for an empty query, latest published first.
    #[default]
    Relevance,
    /// Latest published first.
    Time,
    /// Highest risk score first.
    Risk,
    /// Furthest spread first: most reprints before it, most reposts.
    Spread,
}

impl std::str::FromStr for Sort {
    type Err = String;
    fn from_str(s: &str) -> Result<Sort, String> {
        match s {
            "relevance" => Ok(Sort::Relevance),
            "time" => Ok(Sort::Time),
            "risk" => Ok(Sort::Risk),
            "spread" => Ok(Sort::Spread),
            other => Err(format!(
                "sort is relevance, time, risk or spread, not `{other}`"
            )),
        }
    }
}

/// Buckets of the time histogram.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Interval {
    Hour,
    #[default]
    Day,
}

impl Interval {
    /// Buckets of an hour, or of a day starting at Beijing midnight (16:00 UTC).
    fn buckets(self) -> Buckets {
        match self {
            Interval::Hour => Buckets {
                width: 1,
                offset: 0,
            },
            Interval::Day => Buckets {
                width: 24,
                offset: 16,
            },
        }
    }
}

/// A search request in the desk's query language (see [`crate::query`]).
#[derive(Debug, Clone, Default)]
pub struct SearchRequest {
    pub query: String,
    pub limit: usize,
    pub sort: Sort,
    /// Also count the whole result per topic, district, sentiment, risk and source, and
    /// by publish time (a histogram in Beijing hours or days).
    pub facets: Option<Interval>,
    /// One row per story: reprints of a story already listed are left out.
    pub collapse: bool,
    /// Only documents with these ids (used to judge the documents of one commit).
    pub among_ids: Option<Vec<String>>,
    /// Only documents fetched in [from, to) (alert windows and baselines).
    pub fetched_within: Option<(DateTime<Utc>, DateTime<Utc>)>,
    /// Rows to skip (a later page; see [`Cursor`]).
    pub offset: usize,
}

/// Where the next page of a result starts: its first row, and the moment the first page
/// was asked for. Documents that arrive later are left out of the later pages, so paging
/// neither repeats nor skips a row while the index grows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cursor {
    pub offset: usize,
    pub fetched_before: i64,
}

impl Cursor {
    /// The first page of a result asked for now.
    pub fn first(now: DateTime<Utc>) -> Cursor {
        Cursor {
            offset: 0,
            // Fetch times are kept in whole seconds: everything fetched up to now is in.
            fetched_before: now.timestamp() + 1,
        }
    }

    /// An opaque token for the desk: `offset.seconds`.
    pub fn encode(&self) -> String {
        format!("{}.{}", self.offset, self.fetched_before)
    }

    pub fn decode(token: &str) -> Option<Cursor> {
        let (offset, before) = token.split_once('.')?;
        Some(Cursor {
            offset: offset.parse().ok()?,
            fetched_before: before.parse().ok()?,
        })
    }

    /// The request for this page of `request`'s result.
    pub fn apply(&self, request: &mut SearchRequest) -> Option<()> {
        let before = DateTime::from_timestamp(self.fetched_before, 0)?;
        request.offset = self.offset;
        request.fetched_within = Some((DateTime::<Utc>::UNIX_EPOCH, before));
        Some(())
    }
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct SearchHit {
    pub id: String,
    pub title: String,
    pub url: String,
    pub source: String,
    pub published_at: Option<DateTime<FixedOffset>>,
    pub topics: Vec<String>,
    pub sentiment: String,
    pub districts: Vec<String>,
    pub schools: Vec<String>,
    /// `high`, `medium` or `low`.
    pub risk: String,
    /// 官方媒体, 商业媒体, 自媒体 or 社交平台.
    pub source_type: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub platform: Option<String>,
    /// The region the platform shows for the poster (IP属地), and the post's reposts,
    /// comments and likes, where the source gives them.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ip_region: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub engagement: Option<yuqing_model::Engagement>,
    /// The reprint cluster (the id of the story's first document), how many documents
    /// it has, and where the story was first seen.
    pub cluster: String,
    pub cluster_size: usize,
    pub first_source: String,
    /// HTML-escaped text around the match, matched words in `<mark>…</mark>`.
    pub snippet: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct SearchResults {
    pub total: usize,
    pub hits: Vec<SearchHit>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub facets: Option<Facets>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub histogram: Option<Vec<HistogramBucket>>,
}

/// How many documents of the whole result carry each value, most first.
#[derive(Debug, Clone, Serialize, Default, PartialEq)]
pub struct Facets {
    pub topic: Vec<FacetCount>,
    pub district: Vec<FacetCount>,
    pub sentiment: Vec<FacetCount>,
    pub risk: Vec<FacetCount>,
    pub source: Vec<FacetCount>,
    /// `official`, `commercial`, `self_media`, `social`.
    pub source_type: Vec<FacetCount>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct FacetCount {
    pub key: String,
    pub count: u64,
}

/// Documents published in the hour or day starting at `start` (Beijing time).
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct HistogramBucket {
    pub start: DateTime<FixedOffset>,
    pub count: u64,
}

const FACET_SIZE: usize = 50;

/// Older schema versions this build rebuilds on open: every document is stored whole,
/// so a new index is made from the stored documents with the new fields.
const MIGRATES_FROM: &[&str] = &["2", "3"];

/// Rebuilds the index at `path` (schema `found`) with this build's schema, from the
/// documents it stores. The new index is built beside the old one and swapped in; the
/// old one is removed only once the new one is in place.
fn migrate(path: &Path, found: &str, segmenter: &Arc<Segmenter>) -> Result<(), IndexError> {
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
    let document_field = old.schema().get_field("document").map_err(tantivy_err)?;
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
            new.upsert(&writer, &doc, &mut pending)
                .map_err(tantivy_err)?;
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

/// An open index. Cheap to clone; readers reload as commits land.
#[derive(Clone)]
pub struct SearchIndex {
    path: PathBuf,
    index: Index,
    reader: IndexReader,
    executor: Arc<tantivy::Executor>,
    /// Facet values decoded per segment; the reader holds it only weakly, as a warmer.
    facet_cache: Arc<FacetCache>,
    fields: Fields,
    segmenter: Arc<Segmenter>,
}

const SNIPPET_CHARS: usize = 120;

impl SearchIndex {
    /// Opens the index at `path`, creating it when absent (the writer's side).
    pub fn open_or_create(path: &Path, segmenter: Arc<Segmenter>) -> Result<Self, IndexError> {
        std::fs::create_dir_all(path).map_err(|source| IndexError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        let version_file = path.join(VERSION_FILE);
        if !version_file.exists() {
            let empty = std::fs::read_dir(path)
                .map_err(|source| IndexError::Io {
                    path: path.to_path_buf(),
                    source,
                })?
                .next()
                .is_none();
            if empty {
                std::fs::write(&version_file, SCHEMA_VERSION.to_string()).map_err(|source| {
                    IndexError::Io {
                        path: path.to_path_buf(),
                        source,
                    }
                })?;
            }
        }
        Self::open_checked(path, segmenter, true)
    }

    /// Opens an existing index for reading (a search while `yuqing run` writes).
    pub fn open(path: &Path, segmenter: Arc<Segmenter>) -> Result<Self, IndexError> {
        Self::open_checked(path, segmenter, false)
    }

    fn open_checked(
        path: &Path,
        segmenter: Arc<Segmenter>,
        create: bool,
    ) -> Result<Self, IndexError> {
        let version_file = path.join(VERSION_FILE);
        match std::fs::read_to_string(&version_file) {
            Ok(found) if found.trim() == SCHEMA_VERSION.to_string() => {}
            Ok(found) if create && MIGRATES_FROM.contains(&found.trim()) => {
                migrate(path, found.trim(), &segmenter)?;
            }
            Ok(found) => {
                return Err(IndexError::SchemaVersion {
                    path: path.to_path_buf(),
                    found: found.trim().to_string(),
                    expected: SCHEMA_VERSION,
                })
            }
            Err(_) if !path.join("meta.json").exists() && !create => {
                return Err(IndexError::Missing(path.to_path_buf()))
            }
            Err(_) => {
                return Err(IndexError::SchemaVersion {
                    path: path.to_path_buf(),
                    found: "unknown (no version file)".into(),
                    expected: SCHEMA_VERSION,
                })
            }
        }
        let tantivy_err = |source| IndexError::Tantivy {
            path: path.to_path_buf(),
            source,
        };
        let (schema, fields) = build_schema();
        let directory = MmapDirectory::open(path).map_err(|e| tantivy_err(e.into()))?;
        let index = if create {
            Index::open_or_create(directory, schema).map_err(tantivy_err)?
        } else {
            if !Index::exists(&directory).map_err(|e| tantivy_err(e.into()))? {
                return Err(IndexError::Missing(path.to_path_buf()));
            }
            Index::open(directory).map_err(tantivy_err)?
        };
        index.tokenizers().register(
            TOKENIZER_NAME,
            TextAnalyzer::builder(JiebaTokenizer::new(segmenter.clone())).build(),
        );
        // The writer's process reloads explicitly after each commit (so alert rules see
        // the commit they judge); another process follows commits through the file watch.
        let policy = if create {
            ReloadPolicy::Manual
        } else {
            ReloadPolicy::OnCommitWithDelay
        };
        // New segments' facet values are decoded as the reader loads them, before a
        // search needs them.
        let facet_cache = Arc::new(FacetCache::default());
        let warmer: std::sync::Weak<dyn tantivy::Warmer> = Arc::downgrade(&facet_cache) as _;
        let reader = index
            .reader_builder()
            .reload_policy(policy)
            .warmers(vec![warmer])
            .try_into()
            .map_err(tantivy_err)?;
        // The desk's searches run over the segments in parallel, one thread per core: at a
        // million documents a broad query's facets count a hundred thousand of them. The
        // small lookups of indexing stay on their own thread (a hand-off costs them more).
        let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
        let executor = Arc::new(
            tantivy::Executor::multi_thread(threads, "yuqing-search-")
                .map_err(|e| tantivy_err(tantivy::TantivyError::SystemError(e.to_string())))?,
        );
        Ok(SearchIndex {
            path: path.to_path_buf(),
            index,
            executor,
            facet_cache,
            reader,
            fields,
            segmenter,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn writer(&self, memory_budget_bytes: usize) -> Result<IndexWriter, IndexError> {
        self.index
            .writer(memory_budget_bytes)
            .map_err(|source| IndexError::Tantivy {
                path: self.path.clone(),
                source,
            })
    }

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
        let Some(column) = segment.fast_fields().str("cluster")? else {
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
    ) -> tantivy::Result<()> {
        let f = &self.fields;
        let raw = &doc.document;
        let prints = reprints::fingerprints(&raw.content);
        let cluster = match self.committed_cluster_for(&prints)? {
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
            count_term(&self.reader.searcher(), &term)? as u64 + pending.members(&cluster)
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
        // The evidence goes to its own file; the index keeps the document without it.
        let stored_json = match &raw.snapshot {
            Some(bytes) => {
                self.store_snapshot(&raw.id, bytes).map_err(|e| {
                    tantivy::TantivyError::InternalError(format!("snapshot of {}: {e}", raw.id))
                })?;
                let mut without = doc.clone();
                without.document.snapshot = None;
                serde_json::to_string(&without)
            }
            None => serde_json::to_string(doc),
        }
        .expect("documents serialize infallibly");
        tdoc.add_text(f.document, stored_json);
        for print in &prints {
            tdoc.add_text(f.para, reprints::term_text(*print));
        }
        tdoc.add_u64(f.para_count, prints.len() as u64);
        tdoc.add_text(f.cluster, &cluster);
        writer.add_document(tdoc)?;
        Ok(())
    }

    /// Every committed document, segment by segment (for re-tagging what is indexed).
    /// Documents whose stored form does not decode are passed as errors, not skipped.
    pub fn for_each_document(
        &self,
        mut f: impl FnMut(tantivy::Result<AnalyzedDocument>),
    ) -> tantivy::Result<()> {
        let searcher = self.reader.searcher();
        for segment in searcher.segment_readers() {
            let store = segment.get_store_reader(16)?;
            for stored in store.iter::<TantivyDocument>(segment.alive_bitset()) {
                match stored {
                    Ok(stored) => match self.stored_document(&stored) {
                        Ok(Some(doc)) => f(Ok(doc)),
                        Ok(None) => {}
                        Err(error) => f(Err(error)),
                    },
                    Err(error) => f(Err(error)),
                }
            }
        }
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

    fn store_snapshot(&self, id: &str, compressed: &[u8]) -> std::io::Result<()> {
        let Some(path) = self.snapshot_path(id) else {
            return Ok(()); // not an id this index makes: nothing to keep
        };
        std::fs::create_dir_all(path.parent().expect("a folder"))?;
        // Written whole then renamed, so a reader never sees half a file.
        let partial = path.with_extension("lz4.partial");
        std::fs::write(&partial, compressed)?;
        std::fs::rename(&partial, &path)
    }

    /// The page as it was fetched, if a snapshot was kept.
    pub fn snapshot(&self, id: &str) -> Option<Vec<u8>> {
        let compressed = std::fs::read(self.snapshot_path(id)?).ok()?;
        lz4_flex::decompress_size_prepended(&compressed).ok()
    }

    /// Makes the last commit visible to this process's searches.
    pub fn reload(&self) -> tantivy::Result<()> {
        self.reader.reload()
    }

    pub fn num_docs(&self) -> u64 {
        self.reader.searcher().num_docs()
    }

    fn parse_query(&self, text: &str) -> Result<Box<dyn Query>, SearchError> {
        let f = &self.fields;
        let fields = QueryFields {
            title: f.title,
            content: f.content,
            topic: f.topic,
            district: f.district,
            school: f.school,
            source: f.source,
            sentiment: f.sentiment,
            risk: f.risk,
            source_type: f.source_type,
            platform: f.platform,
            ip_region: f.ip_region,
            published_at: f.published_at,
            fetched_at: f.fetched_at,
        };
        let node = query::parse(text)?;
        Ok(query::compile(
            &node,
            &fields,
            &self.segmenter,
            chrono::Utc::now(),
        )?)
    }

    pub fn search(&self, request: &SearchRequest) -> Result<SearchResults, SearchError> {
        let user_query = self.parse_query(&request.query)?;
        let mut filters: Vec<(Occur, Box<dyn Query>)> = Vec::new();
        if let Some(ids) = &request.among_ids {
            let terms = ids
                .iter()
                .map(|id| Term::from_field_text(self.fields.id, id));
            filters.push((Occur::Must, Box::new(TermSetQuery::new(terms))));
        }
        if let Some((from, to)) = request.fetched_within {
            let term = |t: DateTime<Utc>| {
                Term::from_field_date(
                    self.fields.fetched_at,
                    tantivy::DateTime::from_timestamp_secs(t.timestamp()),
                )
            };
            filters.push((
                Occur::Must,
                Box::new(RangeQuery::new(
                    std::ops::Bound::Included(term(from)),
                    std::ops::Bound::Excluded(term(to)),
                )),
            ));
        }
        let query: Box<dyn Query> = if filters.is_empty() {
            user_query
        } else {
            filters.push((Occur::Must, user_query));
            Box::new(BooleanQuery::new(filters))
        };
        let searcher = self.reader.searcher();
        // Collapsing reprints needs more candidates than rows shown, counted from the
        // top: a story's rows are only known once the rows before it are.
        let (limit, offset) = if request.collapse {
            (((request.offset + request.limit.max(1)) * 5).min(5000), 0)
        } else {
            (request.limit.max(1), request.offset)
        };
        let sort = match request.sort {
            Sort::Relevance if request.query.trim().is_empty() => Sort::Time,
            other => other,
        };
        // Rows, count and facets in one pass over the matching documents.
        let facets = request.facets.map(|interval| FacetCollector {
            cache: self.facet_cache.clone(),
            buckets: interval.buckets(),
        });
        let top = TopDocs::with_limit(limit).and_offset(offset);
        let (addresses, total, counted) = match sort {
            Sort::Time => one_pass(
                &self.executor,
                &searcher,
                &*query,
                top.order_by_fast_field::<tantivy::DateTime>("published_at", Order::Desc),
                facets,
            )?,
            Sort::Risk => one_pass(
                &self.executor,
                &searcher,
                &*query,
                top.order_by_fast_field::<f64>("risk_score", Order::Desc),
                facets,
            )?,
            Sort::Spread => one_pass(
                &self.executor,
                &searcher,
                &*query,
                top.order_by_fast_field::<u64>("spread", Order::Desc),
                facets,
            )?,
            Sort::Relevance => one_pass(&self.executor, &searcher, &*query, top, facets)?,
        };

        let mut content_snippets =
            SnippetGenerator::create(&searcher, &*query, self.fields.content)?;
        content_snippets.set_max_num_chars(SNIPPET_CHARS);

        let mut hits = Vec::with_capacity(request.limit.max(1));
        let mut clusters_shown = std::collections::HashSet::new();
        // Collapsed: the stories of earlier pages are passed over here.
        let mut stories_to_skip = if request.collapse { request.offset } else { 0 };
        for address in addresses {
            if hits.len() >= request.limit.max(1) {
                break;
            }
            let stored: TantivyDocument = searcher.doc(address)?;
            let Some(doc) = self.stored_document(&stored)? else {
                continue;
            };
            let raw = doc.document;
            let cluster = stored
                .get_first(self.fields.cluster)
                .and_then(|v| v.as_str())
                .unwrap_or(&raw.id)
                .to_string();
            if request.collapse && !clusters_shown.insert(cluster.clone()) {
                continue; // a reprint of a story already shown
            }
            if stories_to_skip > 0 {
                stories_to_skip -= 1;
                continue;
            }
            let cluster_size = count_term(
                &searcher,
                &Term::from_field_text(self.fields.cluster, &cluster),
            )?;
            let first_source = if cluster == raw.id {
                raw.source.clone()
            } else {
                self.document_by_id(&searcher, &cluster)?
                    .map_or_else(|| raw.source.clone(), |first| first.document.source)
            };
            let mut snippet = render_snippet(&content_snippets.snippet(&raw.content));
            if snippet.is_empty() {
                // The match was in the title only: show how the article begins.
                snippet = html_escape(&raw.content.chars().take(SNIPPET_CHARS).collect::<String>());
            }
            hits.push(SearchHit {
                id: raw.id,
                title: raw.title,
                url: raw.url,
                source: raw.source,
                published_at: raw.published_at,
                topics: doc
                    .analysis
                    .topics
                    .into_iter()
                    .map(|t| t.name.into())
                    .collect(),
                sentiment: doc.analysis.sentiment.label.as_str().to_string(),
                districts: doc
                    .analysis
                    .regions
                    .into_iter()
                    .map(|r| r.name.into())
                    .collect(),
                schools: doc
                    .analysis
                    .schools
                    .into_iter()
                    .map(|s| s.name.into())
                    .collect(),
                risk: doc.analysis.risk.level.as_str().to_string(),
                source_type: raw.source_type.zh().to_string(),
                platform: raw.platform.clone(),
                ip_region: raw.ip_region.clone(),
                engagement: raw.engagement,
                cluster,
                cluster_size,
                first_source,
                snippet,
            });
        }
        let (facets, histogram) = match counted {
            Some(counts) => {
                let (facets, histogram) = facets_of(&counts);
                (Some(facets), Some(histogram))
            }
            None => (None, None),
        };
        Ok(SearchResults {
            total,
            hits,
            facets,
            histogram,
        })
    }

    /// One document with everything known about it (its analysis and explanations), and
    /// its reprint cluster.
    pub fn document(&self, id: &str) -> tantivy::Result<Option<(AnalyzedDocument, String)>> {
        let searcher = self.reader.searcher();
        let query = TermQuery::new(
            Term::from_field_text(self.fields.id, id),
            IndexRecordOption::Basic,
        );
        let Some((_, address)) = searcher
            .search(&query, &TopDocs::with_limit(1))?
            .into_iter()
            .next()
        else {
            return Ok(None);
        };
        let stored: TantivyDocument = searcher.doc(address)?;
        let cluster = stored
            .get_first(self.fields.cluster)
            .and_then(|v| v.as_str())
            .unwrap_or(id)
            .to_string();
        Ok(self.stored_document(&stored)?.map(|doc| (doc, cluster)))
    }

    /// The documents of a reprint cluster, first published first.
    pub fn cluster_members(
        &self,
        cluster: &str,
        limit: usize,
    ) -> tantivy::Result<Vec<AnalyzedDocument>> {
        let searcher = self.reader.searcher();
        let query = TermQuery::new(
            Term::from_field_text(self.fields.cluster, cluster),
            IndexRecordOption::Basic,
        );
        let mut members = Vec::new();
        for (_, address) in searcher.search(&query, &TopDocs::with_limit(limit.max(1)))? {
            if let Some(doc) = self.stored_document(&searcher.doc(address)?)? {
                members.push(doc);
            }
        }
        members.sort_by_key(|d| {
            (
                d.document.published_at.is_none(),
                d.document.published_at,
                d.document.fetched_at,
            )
        });
        Ok(members)
    }

    fn stored_document(
        &self,
        stored: &TantivyDocument,
    ) -> tantivy::Result<Option<AnalyzedDocument>> {
        let Some(json) = stored
            .get_first(self.fields.document)
            .and_then(|v| v.as_str())
        else {
            return Ok(None);
        };
        serde_json::from_str(json)
            .map(Some)
            .map_err(|e| tantivy::TantivyError::InternalError(format!("stored document: {e}")))
    }

    fn document_by_id(
        &self,
        searcher: &tantivy::Searcher,
        id: &str,
    ) -> tantivy::Result<Option<AnalyzedDocument>> {
        let query = TermQuery::new(
            Term::from_field_text(self.fields.id, id),
            IndexRecordOption::Basic,
        );
        match searcher.search(&query, &TopDocs::with_limit(1))?.first() {
            Some((_, address)) => self.stored_document(&searcher.doc(*address)?),
            None => Ok(None),
        }
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
fn count_term(searcher: &tantivy::Searcher, term: &Term) -> tantivy::Result<usize> {
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

/// Runs `query` once for the top rows, the count and (when asked) the facets.
fn one_pass<C>(
    executor: &tantivy::Executor,
    searcher: &tantivy::Searcher,
    query: &dyn Query,
    top: C,
    facets: Option<FacetCollector>,
) -> Result<(Vec<DocAddress>, usize, Option<FacetCounts>), SearchError>
where
    C: tantivy::collector::Collector,
    C::Fruit: IntoIterator,
    <C::Fruit as IntoIterator>::Item: HasAddress,
{
    let addresses = |fruit: C::Fruit| fruit.into_iter().map(|hit| hit.address()).collect();
    let scoring = |needed: bool| {
        if needed {
            tantivy::query::EnableScoring::enabled_from_searcher(searcher)
        } else {
            tantivy::query::EnableScoring::disabled_from_searcher(searcher)
        }
    };
    Ok(match facets {
        Some(facets) => {
            let collector = (top, Count, facets);
            let scoring = scoring(tantivy::collector::Collector::requires_scoring(&collector));
            let (hits, total, result) =
                searcher.search_with_executor(query, &collector, executor, scoring)?;
            (addresses(hits), total, Some(result))
        }
        None => {
            let collector = (top, Count);
            let scoring = scoring(tantivy::collector::Collector::requires_scoring(&collector));
            let (hits, total) =
                searcher.search_with_executor(query, &collector, executor, scoring)?;
            (addresses(hits), total, None)
        }
    })
}

/// A row of a top-documents result, whatever it is ranked by.
trait HasAddress {
    fn address(&self) -> DocAddress;
}

impl<S> HasAddress for (S, DocAddress) {
    fn address(&self) -> DocAddress {
        self.1
    }
}

/// Facet counts and histogram buckets, in the result's terms.
fn facets_of(counts: &FacetCounts) -> (Facets, Vec<HistogramBucket>) {
    let top = |field: &str| -> Vec<FacetCount> {
        let index = FACET_FIELDS
            .iter()
            .position(|f| *f == field)
            .expect("a counted field");
        counts
            .top(index, FACET_SIZE)
            .into_iter()
            .map(|(key, count)| FacetCount { key, count })
            .collect()
    };
    let facets = Facets {
        topic: top("topic"),
        district: top("district"),
        sentiment: top("sentiment"),
        risk: top("risk_level"),
        source: top("source"),
        source_type: top("source_kind"),
    };
    let histogram = counts
        .histogram
        .iter()
        .filter_map(|(&millis, &count)| {
            let start =
                DateTime::from_timestamp_millis(millis)?.with_timezone(&yuqing_model::beijing());
            Some(HistogramBucket { start, count })
        })
        .collect();
    (facets, histogram)
}

/// Renders a snippet as HTML: text escaped, matches in `<mark>`.
fn render_snippet(snippet: &tantivy::snippet::Snippet) -> String {
    let fragment = snippet.fragment();
    let mut out = String::with_capacity(fragment.len() + 32);
    let mut at = 0;
    for range in snippet.highlighted() {
        if range.start < at {
            continue;
        }
        out.push_str(&html_escape(&fragment[at..range.start]));
        out.push_str("<mark>");
        out.push_str(&html_escape(&fragment[range.clone()]));
        out.push_str("</mark>");
        at = range.end;
    }
    out.push_str(&html_escape(&fragment[at..]));
    out.trim().to_string()
}

pub fn html_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

impl SearchHit {
    /// The snippet as plain text for terminals and chat messages, matches in 【】.
    pub fn snippet_text(&self) -> String {
        let text = self
            .snippet
            .replace("<mark>", "【")
            .replace("</mark>", "】");
        html_unescape(&text.replace('\n', " "))
    }
}

fn html_unescape(text: &str) -> String {
    text.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&amp;", "&")
}
