//! The counts of a whole result per topic, district, sentiment, risk, source and source
//! type, and its histogram by publish time, counted in the same pass as its rows.
//!
//! A broad query at a million documents matches hundreds of thousands of them, and each
//! is counted six times over. Read through tantivy's columns (bit-packed, behind dynamic
//! calls) or its aggregations, that cost twice the rest of the search. So each segment's
//! facet values are decoded once into plain arrays, when a reader first sees the segment
//! (a tantivy [`Warmer`]). Then a document's single-valued fields (sentiment, risk,
//! source, source type) are one key and one increment, its topics and districts a short
//! list, its day or hour a table lookup; ordinals become words once per segment, only
//! for the terms counted. The arrays take about 40 MB per million documents and are
//! dropped with their segment.

use crate::schema::field;
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use tantivy::collector::{Collector, SegmentCollector};
use tantivy::columnar::{Cardinality, StrColumn};
use tantivy::index::SegmentId;
use tantivy::{DocId, Score, Searcher, SegmentOrdinal, SegmentReader, Warmer};

/// The fast fields counted, in the order of [`FacetCounts::terms`].
pub(crate) const FACET_FIELDS: [&str; 6] = [
    field::TOPIC,
    field::DISTRICT,
    field::SENTIMENT,
    field::RISK_LEVEL,
    field::SOURCE,
    field::SOURCE_KIND,
];

/// The field whose time the histogram counts.
const TIME_FIELD: &str = field::PUBLISHED_AT;

const HOUR_MS: i64 = 3_600_000;

/// Histogram buckets: `width` hours long, starting `offset` hours past the epoch's
/// hour boundaries (Beijing midnight is 16:00 UTC).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Buckets {
    pub width: i32,
    pub offset: i32,
}

impl Buckets {
    /// The bucket an hour (since the epoch) falls in, numbered from the epoch.
    fn of(&self, hour: i32) -> i32 {
        (hour - self.offset).div_euclid(self.width)
    }

    /// When bucket `bucket` starts, in milliseconds since the epoch.
    fn start_ms(&self, bucket: i32) -> i64 {
        (i64::from(bucket) * i64::from(self.width) + i64::from(self.offset)) * HOUR_MS
    }
}

/// A field with at most one term per document (sentiment, risk, source, ...).
struct SingleField {
    /// Its index in [`FACET_FIELDS`].
    field: usize,
    column: StrColumn,
    /// Its terms, plus one value for "none".
    radix: u32,
}

/// Single-valued fields counted together: each document's terms in these fields make
/// one key (in mixed radix), so a document costs one increment for all of them. A
/// segment has few sentiments, risk levels and source types, and tens of sources.
struct Pack {
    fields: Vec<SingleField>,
    /// Each document's key.
    keys: Vec<u32>,
    /// The number of keys: the product of the fields' radixes.
    size: usize,
}

/// Largest number of keys of a [`Pack`]: its counts are cleared at each search.
const MAX_PACK: u64 = 1 << 12;

/// A field with several terms per document (topics, districts).
struct MultiField {
    field: usize,
    column: StrColumn,
    /// Document `d`'s terms are `ords[starts[d]..starts[d + 1]]`.
    starts: Vec<u32>,
    ords: Vec<u32>,
}

/// The hour of an undated document.
const NO_HOUR: i32 = i32::MIN;
/// Hours from the epoch beyond which a (nonsense) publish time is counted as this far:
/// about 120,000 years, far from overflowing bucket arithmetic.
const MAX_HOURS: i64 = 1 << 30;

/// One segment's facet values, decoded.
pub(crate) struct SegmentColumns {
    packs: Vec<Pack>,
    multis: Vec<MultiField>,
    /// Each document's publish hour since the epoch, or [`NO_HOUR`].
    hours: Vec<i32>,
    /// Earliest and latest publish hour in the segment.
    hour_range: Option<(i32, i32)>,
}

impl SegmentColumns {
    fn decode(segment: &SegmentReader) -> tantivy::Result<SegmentColumns> {
        let fast = segment.fast_fields();
        let docs = segment.max_doc();
        let mut packs: Vec<Pack> = Vec::new();
        let mut multis = Vec::new();
        for (field, name) in FACET_FIELDS.iter().enumerate() {
            let Some(column) = fast.str(name)? else {
                continue;
            };
            if column.ords().get_cardinality() == Cardinality::Multivalued {
                let mut starts = Vec::with_capacity(docs as usize + 1);
                let mut ords = Vec::new();
                for doc in 0..docs {
                    starts.push(ords.len() as u32);
                    ords.extend(column.term_ords(doc).map(|ord| ord as u32));
                }
                starts.push(ords.len() as u32);
                multis.push(MultiField {
                    field,
                    column,
                    starts,
                    ords,
                });
                continue;
            }
            let terms = column.num_terms() as u64;
            let radix = terms + 1;
            // Into the last pack when its keys stay few, else into a new one.
            let pack = match packs.last_mut() {
                Some(pack) if pack.size as u64 * radix <= MAX_PACK => pack,
                _ => {
                    packs.push(Pack {
                        fields: Vec::new(),
                        keys: vec![0; docs as usize],
                        size: 1,
                    });
                    packs.last_mut().expect("just pushed")
                }
            };
            let weight = pack.size as u32;
            for (doc, key) in pack.keys.iter_mut().enumerate() {
                let ord = column.term_ords(doc as DocId).next().unwrap_or(terms);
                *key += ord as u32 * weight;
            }
            pack.size *= radix as usize;
            pack.fields.push(SingleField {
                field,
                column,
                radix: radix as u32,
            });
        }
        let published = fast.date(TIME_FIELD)?;
        let mut hour_range: Option<(i32, i32)> = None;
        let hours = (0..docs)
            .map(|doc| match published.first(doc) {
                Some(time) => {
                    let hour = time.into_timestamp_millis().div_euclid(HOUR_MS);
                    let hour = hour.clamp(-MAX_HOURS, MAX_HOURS) as i32;
                    hour_range = Some(hour_range.map_or((hour, hour), |(first, last)| {
                        (first.min(hour), last.max(hour))
                    }));
                    hour
                }
                None => NO_HOUR,
            })
            .collect();
        Ok(SegmentColumns {
            packs,
            multis,
            hours,
            hour_range,
        })
    }
}

/// The decoded columns of the segments readers currently see, by segment.
#[derive(Default)]
pub(crate) struct FacetCache {
    segments: Mutex<HashMap<SegmentId, Arc<SegmentColumns>>>,
}

impl FacetCache {
    /// The segment's decoded columns, decoded now when the segment is new.
    fn columns(&self, segment: &SegmentReader) -> tantivy::Result<Arc<SegmentColumns>> {
        let id = segment.segment_id();
        if let Some(columns) = self.lock().get(&id) {
            return Ok(columns.clone());
        }
        // Decoded outside the lock: another search may decode the same segment at the
        // same time, and the first to finish is kept.
        let columns = Arc::new(SegmentColumns::decode(segment)?);
        Ok(self.lock().entry(id).or_insert(columns).clone())
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<SegmentId, Arc<SegmentColumns>>> {
        // The map holds no invariant a panic elsewhere could break.
        self.segments
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

impl Warmer for FacetCache {
    fn warm(&self, searcher: &Searcher) -> tantivy::Result<()> {
        for segment in searcher.segment_readers() {
            self.columns(segment)?;
        }
        Ok(())
    }

    fn garbage_collect(&self, live: &[&tantivy::SearcherGeneration]) {
        self.lock()
            .retain(|id, _| live.iter().any(|g| g.segments().contains_key(id)));
    }
}

/// Counts for the whole result: per field of [`FACET_FIELDS`], each term's documents;
/// and documents per histogram bucket (by bucket start, in milliseconds), leaving out
/// buckets with none.
#[derive(Debug, Default)]
pub(crate) struct FacetCounts {
    pub terms: [HashMap<String, u64>; FACET_FIELDS.len()],
    pub histogram: BTreeMap<i64, u64>,
}

impl FacetCounts {
    /// The `size` commonest terms of field `index` of [`FACET_FIELDS`], commonest first
    /// (ties in term order, so that the order is the same at every search).
    pub fn top(&self, index: usize, size: usize) -> Vec<(String, u64)> {
        let mut terms: Vec<(String, u64)> = self.terms[index]
            .iter()
            .map(|(term, &count)| (term.clone(), count))
            .collect();
        terms.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        terms.truncate(size);
        terms
    }
}

pub(crate) struct FacetCollector {
    pub cache: Arc<FacetCache>,
    pub buckets: Buckets,
}

/// Widest span of publish hours counted in arrays (about seven years); a segment whose
/// documents span more (a page dated 1970 among this year's) counts in a map instead.
const MAX_DENSE_HOURS: i64 = 1 << 16;

/// A segment's documents per histogram bucket.
enum BucketCounts {
    /// By the hour's offset from the segment's first hour, a table gives the bucket's
    /// offset from its first bucket (no division per document).
    Dense {
        first_hour: i32,
        bucket_of_hour: Vec<u32>,
        first_bucket: i32,
        counts: Vec<u64>,
    },
    /// By bucket number.
    Sparse(BTreeMap<i32, u64>),
}

impl BucketCounts {
    fn new(hour_range: Option<(i32, i32)>, buckets: Buckets) -> BucketCounts {
        let Some((first_hour, last_hour)) = hour_range else {
            return BucketCounts::Sparse(BTreeMap::new());
        };
        if i64::from(last_hour) - i64::from(first_hour) >= MAX_DENSE_HOURS {
            return BucketCounts::Sparse(BTreeMap::new());
        }
        let first_bucket = buckets.of(first_hour);
        let bucket_of_hour: Vec<u32> = (first_hour..=last_hour)
            .map(|hour| (buckets.of(hour) - first_bucket) as u32)
            .collect();
        let span = bucket_of_hour.last().map_or(0, |last| *last as usize + 1);
        BucketCounts::Dense {
            first_hour,
            bucket_of_hour,
            first_bucket,
            counts: vec![0; span],
        }
    }

    fn add(&mut self, hour: i32, buckets: Buckets) {
        match self {
            BucketCounts::Dense {
                first_hour,
                bucket_of_hour,
                counts,
                ..
            } => {
                // Every hour of the segment is within its range.
                let bucket = bucket_of_hour[(hour - *first_hour) as usize];
                counts[bucket as usize] += 1;
            }
            BucketCounts::Sparse(counts) => *counts.entry(buckets.of(hour)).or_default() += 1,
        }
    }

    /// Non-empty buckets by number, with their documents.
    fn into_counts(self) -> Vec<(i32, u64)> {
        match self {
            BucketCounts::Dense {
                first_bucket,
                counts,
                ..
            } => counts
                .into_iter()
                .enumerate()
                .filter(|(_, count)| *count > 0)
                .map(|(index, count)| (first_bucket + index as i32, count))
                .collect(),
            BucketCounts::Sparse(counts) => counts.into_iter().collect(),
        }
    }
}

pub(crate) struct SegmentFacets {
    columns: Arc<SegmentColumns>,
    /// Per pack, documents per key.
    pack_counts: Vec<Vec<u64>>,
    /// Per multi-valued field, documents per term ordinal.
    multi_counts: Vec<Vec<u64>>,
    buckets: Buckets,
    by_time: BucketCounts,
}

impl Collector for FacetCollector {
    type Fruit = FacetCounts;
    type Child = SegmentFacets;

    fn for_segment(
        &self,
        _segment_local_id: SegmentOrdinal,
        segment: &SegmentReader,
    ) -> tantivy::Result<SegmentFacets> {
        let columns = self.cache.columns(segment)?;
        let pack_counts = columns.packs.iter().map(|p| vec![0; p.size]).collect();
        let multi_counts = columns
            .multis
            .iter()
            .map(|m| vec![0; m.column.num_terms()])
            .collect();
        let by_time = BucketCounts::new(columns.hour_range, self.buckets);
        Ok(SegmentFacets {
            columns,
            pack_counts,
            multi_counts,
            buckets: self.buckets,
            by_time,
        })
    }

    fn requires_scoring(&self) -> bool {
        false
    }

    fn merge_fruits(&self, segments: Vec<FacetCounts>) -> tantivy::Result<FacetCounts> {
        let mut all = FacetCounts::default();
        for segment in segments {
            for (into, from) in all.terms.iter_mut().zip(segment.terms) {
                for (term, count) in from {
                    *into.entry(term).or_default() += count;
                }
            }
            for (start, count) in segment.histogram {
                *all.histogram.entry(start).or_default() += count;
            }
        }
        Ok(all)
    }
}

impl SegmentCollector for SegmentFacets {
    type Fruit = FacetCounts;

    fn collect(&mut self, doc: DocId, _score: Score) {
        let doc = doc as usize;
        for (pack, counts) in self.columns.packs.iter().zip(&mut self.pack_counts) {
            counts[pack.keys[doc] as usize] += 1;
        }
        for (field, counts) in self.columns.multis.iter().zip(&mut self.multi_counts) {
            let (from, to) = (field.starts[doc] as usize, field.starts[doc + 1] as usize);
            for &ord in &field.ords[from..to] {
                counts[ord as usize] += 1;
            }
        }
        let hour = self.columns.hours[doc];
        if hour != NO_HOUR {
            self.by_time.add(hour, self.buckets);
        }
    }

    fn harvest(self) -> FacetCounts {
        let mut result = FacetCounts::default();
        let mut add = |field: usize, column: &StrColumn, ord: usize, count: u64| {
            let mut term = String::new();
            // A term the column lists is always found; an unreadable one is left out of
            // the counts rather than failing the whole search.
            if column.ord_to_str(ord as u64, &mut term).unwrap_or(false) {
                *result.terms[field].entry(term).or_default() += count;
            }
        };
        for (pack, counts) in self.columns.packs.iter().zip(&self.pack_counts) {
            // Per field of the pack, documents per term ordinal (the last is "none").
            let mut by_field: Vec<Vec<u64>> = pack
                .fields
                .iter()
                .map(|f| vec![0; f.radix as usize])
                .collect();
            for (mut key, &count) in counts.iter().enumerate().filter(|(_, c)| **c > 0) {
                for (single, by_ord) in pack.fields.iter().zip(&mut by_field) {
                    by_ord[key % single.radix as usize] += count;
                    key /= single.radix as usize;
                }
            }
            for (single, by_ord) in pack.fields.iter().zip(by_field) {
                let terms = &by_ord[..single.radix as usize - 1];
                for (ord, &count) in terms.iter().enumerate().filter(|(_, c)| **c > 0) {
                    add(single.field, &single.column, ord, count);
                }
            }
        }
        for (multi, counts) in self.columns.multis.iter().zip(&self.multi_counts) {
            for (ord, &count) in counts.iter().enumerate().filter(|(_, c)| **c > 0) {
                add(multi.field, &multi.column, ord, count);
            }
        }
        for (bucket, count) in self.by_time.into_counts() {
            *result
                .histogram
                .entry(self.buckets.start_ms(bucket))
                .or_default() += count;
        }
        result
    }
}
