//! Searching the index: requests, results with snippets, facets and histogram, one
//! document and one story.

use crate::facets::{Buckets, FacetCollector, FacetCounts, FACET_FIELDS};
use crate::query::{self, QueryFields};
use crate::schema::field;
use crate::snippet::{html_escape, render_snippet, SNIPPET_CHARS};
use crate::writing::count_term;
use crate::{SearchError, SearchIndex};
use chrono::{DateTime, FixedOffset, Utc};
use serde::Serialize;
use tantivy::collector::{Count, TopDocs};
use tantivy::query::{BooleanQuery, Occur, Query, RangeQuery, TermQuery, TermSetQuery};
use tantivy::schema::{IndexRecordOption, Value};
use tantivy::snippet::SnippetGenerator;
use tantivy::{DocAddress, Order, TantivyDocument, Term};
use yuqing_model::AnalyzedDocument;

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

/// Rows of one result that can be reached by paging (as Elasticsearch's
/// `max_result_window`): past them, narrow the search instead.
pub const MAX_RESULT_WINDOW: usize = 10_000;

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

impl SearchIndex {
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

    /// Runs a search of the desk's query language: rows, count, facets and histogram.
    pub fn search(&self, request: &SearchRequest) -> Result<SearchResults, SearchError> {
        // Rows past the window are not served (a huge offset once had tantivy allocate
        // for all the rows before it); a page reaching past it is cut there.
        if request.offset >= MAX_RESULT_WINDOW {
            return Err(SearchError::BeyondWindow {
                offset: request.offset,
            });
        }
        let rows = request.limit.clamp(1, MAX_RESULT_WINDOW - request.offset);
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
            (((request.offset + rows) * 5).min(5000), 0)
        } else {
            (rows, request.offset)
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
                top.order_by_fast_field::<tantivy::DateTime>(field::PUBLISHED_AT, Order::Desc),
                facets,
            )?,
            Sort::Risk => one_pass(
                &self.executor,
                &searcher,
                &*query,
                top.order_by_fast_field::<f64>(field::RISK_SCORE, Order::Desc),
                facets,
            )?,
            Sort::Spread => one_pass(
                &self.executor,
                &searcher,
                &*query,
                top.order_by_fast_field::<u64>(field::SPREAD, Order::Desc),
                facets,
            )?,
            Sort::Relevance => one_pass(&self.executor, &searcher, &*query, top, facets)?,
        };

        let mut content_snippets =
            SnippetGenerator::create(&searcher, &*query, self.fields.content)?;
        content_snippets.set_max_num_chars(SNIPPET_CHARS);

        let mut hits = Vec::with_capacity(rows);
        let mut clusters_shown = std::collections::HashSet::new();
        // Collapsed: the stories of earlier pages are passed over here.
        let mut stories_to_skip = if request.collapse { request.offset } else { 0 };
        for address in addresses {
            if hits.len() >= rows {
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
        topic: top(field::TOPIC),
        district: top(field::DISTRICT),
        sentiment: top(field::SENTIMENT),
        risk: top(field::RISK_LEVEL),
        source: top(field::SOURCE),
        source_type: top(field::SOURCE_KIND),
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
