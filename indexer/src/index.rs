//! An open index: opening it (creating, checking the schema version, migrating) and what
//! writing and searching share. Writing is in [`crate::writing`], searching in
//! [`crate::search`].

use crate::facets::FacetCache;
use crate::migration::{migrate, MIGRATES_FROM};
use crate::schema::{build_schema, Fields, SCHEMA_VERSION, VERSION_FILE};
use crate::tokenizer::{JiebaTokenizer, TOKENIZER_NAME};
use crate::IndexError;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tantivy::collector::TopDocs;
use tantivy::directory::MmapDirectory;
use tantivy::query::TermQuery;
use tantivy::schema::{IndexRecordOption, Value};
use tantivy::tokenizer::TextAnalyzer;
use tantivy::{Index, IndexReader, IndexWriter, ReloadPolicy, TantivyDocument, Term};
use yuqing_model::AnalyzedDocument;
use yuqing_segmenter::Segmenter;

/// An open index. Cheap to clone; readers reload as commits land.
#[derive(Clone)]
pub struct SearchIndex {
    pub(crate) path: PathBuf,
    pub(crate) index: Index,
    pub(crate) reader: IndexReader,
    pub(crate) executor: Arc<tantivy::Executor>,
    /// Facet values decoded per segment; the reader holds it only weakly, as a warmer.
    pub(crate) facet_cache: Arc<FacetCache>,
    pub(crate) fields: Fields,
    pub(crate) segmenter: Arc<Segmenter>,
}

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

    /// Makes the last commit visible to this process's searches.
    pub fn reload(&self) -> tantivy::Result<()> {
        self.reader.reload()
    }

    pub fn num_docs(&self) -> u64 {
        self.reader.searcher().num_docs()
    }

    pub(crate) fn stored_document(
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

    pub(crate) fn document_by_id(
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
