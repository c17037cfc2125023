//! The indexer stage and the search side of the index.
//!
//! Documents are upserted by id into a tantivy index whose text fields are tokenized by
//! the shared jieba segmentation. The stage commits by count or by time, whichever comes
//! first; bus messages are committed only after the index commit that holds them, and
//! each commit's document ids are handed to the alert evaluator.
//!
//! The crate by concern, as tantivy's own tree is:
//!
//! | module | concern |
//! | --- | --- |
//! | [`schema`] | field names ([`schema::field`]), tantivy handles, the schema version |
//! | `index` | [`SearchIndex`]: opening, creating, the version check, reading stored documents |
//! | `migration` | rebuilding an index of an older schema from its stored documents |
//! | `writing` | upsert by id, the reprint cluster a document joins, page snapshots (存证) |
//! | `reprints` | paragraph fingerprints and the uncommitted batch's clusters |
//! | `search` | requests, results, cursors, one document, one story |
//! | `snippet` | highlighted snippets as escaped HTML and as plain text |
//! | `facets` | counts per topic, district, … and the histogram, in the search's pass |
//! | [`query`] | the desk's query language (shared with the alert rules) |
//! | `tokenizer` | the jieba tokenizer registered under [`TOKENIZER_NAME`] |
//! | `stage` | the indexer stage on the bus |
//! | `error` | [`IndexError`] (opening, writing, snapshots) and [`SearchError`] |
//!
//! ## Adding a field
//!
//! 1. `schema.rs`: its name in [`schema::field`], its handle in `Fields`, its
//!    `builder.add_…` line in `build_schema`; raise [`SCHEMA_VERSION`] (with a line on
//!    what it added) and add the previous version to `migration::MIGRATES_FROM`, so
//!    existing indexes are rebuilt from their stored documents when opened.
//! 2. `writing.rs`: `upsert` fills it from the analyzed document.
//! 3. To search it with `name:value`: a handle in `query::QueryFields`, an arm in
//!    `query::compile`, and the handle passed in `search.rs` (`parse_query`); the
//!    README's query language section.
//! 4. To count it: `facets.rs` (`FACET_FIELDS`, with a fast field) and `Facets` and
//!    `facets_of` in `search.rs`.
//! 5. To show it in hits: `SearchHit` in `search.rs`, filled in `search`.
//! 6. A test in this file that indexes a document with it and finds it.

mod error;
mod facets;
mod index;
mod migration;
pub mod query;
mod reprints;
pub mod schema;
mod search;
mod snippet;
mod stage;
mod tokenizer;
mod writing;

pub use error::{IndexError, SearchError};
pub use index::SearchIndex;
pub use reprints::{fingerprints, PendingPrints};
pub use schema::SCHEMA_VERSION;
pub use search::{
    Cursor, FacetCount, Facets, HistogramBucket, Interval, SearchHit, SearchRequest, SearchResults,
    Sort, MAX_RESULT_WINDOW,
};
pub use snippet::html_escape;
pub use stage::{run_stage, Committed, IndexerConfig, StageError, INDEXER_STAGE};
pub use tokenizer::{JiebaTokenizer, TOKENIZER_NAME};

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Utc;
    use std::sync::Arc;
    use tokio::sync::mpsc;
    use yuqing_bus::{Consumer, EmbeddedBus, Producer};
    use yuqing_model::AnalyzedDocument;
    use yuqing_model::{doc_id, Analysis, RawDocument, RiskTag, Sentiment, SentimentTag, TopicTag};
    use yuqing_segmenter::Segmenter;

    fn document(url: &str, title: &str, content: &str, topic: &str) -> AnalyzedDocument {
        AnalyzedDocument {
            document: RawDocument {
                id: doc_id(url).unwrap(),
                url: url.into(),
                source: "测试源".into(),
                origin: None,
                author: None,
                title: title.into(),
                content: content.into(),
                published_at: None,
                fetched_at: Utc::now(),
                charset: "UTF-8".into(),
                ..Default::default()
            },
            analysis: Analysis {
                topics: vec![TopicTag {
                    name: topic.into(),
                    score: 1.0,
                    matches: vec![],
                    rule: Default::default(),
                }],
                sentiment: SentimentTag {
                    label: Sentiment::Negative,
                    score: -0.4,
                    matches: vec![],
                    official_report: false,
                },
                regions: vec![],
                schools: vec![],
                minors: vec![],
                risk: RiskTag::unknown(),
            },
        }
    }

    #[test]
    fn a_snapshot_that_cannot_be_written_is_its_own_error_naming_the_document() {
        let dir = tempfile::tempdir().unwrap();
        let index =
            SearchIndex::open_or_create(&dir.path().join("index"), Arc::new(Segmenter::new()))
                .unwrap();
        // A file where the snapshots' folder belongs: no snapshot can be written.
        std::fs::write(dir.path().join("snapshots"), b"not a folder").unwrap();
        let mut doc = document("http://news.example/1.html", "溺水", "学生溺水", "防溺水");
        doc.document.snapshot = Some(b"<html>page</html>".to_vec());
        let writer = index.writer(15_000_000).unwrap();
        let error = index
            .upsert(&writer, &doc, &mut PendingPrints::default())
            .unwrap_err();
        match &error {
            IndexError::Snapshot { id, path, .. } => {
                assert_eq!(id, &doc.document.id);
                assert!(path.starts_with(dir.path().join("snapshots")), "{path:?}");
            }
            other => panic!("not a snapshot error: {other}"),
        }
        assert!(error.to_string().contains(&doc.document.id), "{error}");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn reindexing_a_page_leaves_one_document_and_commits_are_announced() {
        let dir = tempfile::tempdir().unwrap();
        let segmenter = Arc::new(Segmenter::new());
        let index = SearchIndex::open_or_create(dir.path(), segmenter.clone()).unwrap();
        let bus = EmbeddedBus::new(16);
        let input = Consumer::new(&bus, "analyzed", "indexer", "dead").unwrap();
        let producer = Producer::new(&bus, "analyzed").unwrap();
        let (tx, mut commits) = mpsc::channel(8);
        let config = IndexerConfig {
            commit_interval_ms: 50,
            ..IndexerConfig::default()
        };
        let stage = tokio::spawn(run_stage(
            index.clone(),
            config,
            input,
            tx,
            std::sync::Arc::default(),
        ));

        producer
            .send(&document(
                "http://a.cn/1.html",
                "学生溺水",
                "旧的正文",
                "防溺水",
            ))
            .await
            .unwrap();
        producer
            .send(&document(
                "http://a.cn/1.html?utm_source=x",
                "学生溺水",
                "新的正文 <script>",
                "防溺水",
            ))
            .await
            .unwrap();
        producer
            .send(&document(
                "http://a.cn/2.html",
                "食堂检查",
                "后厨卫生",
                "食品安全",
            ))
            .await
            .unwrap();
        let committed = commits.recv().await.unwrap();
        assert_eq!(committed.ids.len(), 3);

        let results = index
            .search(&SearchRequest {
                query: "溺水".into(),
                limit: 10,
                sort: Default::default(),
                facets: None,
                collapse: false,
                among_ids: None,
                fetched_within: None,
                offset: 0,
            })
            .unwrap();
        assert_eq!(results.total, 1);
        let hit = &results.hits[0];
        assert_eq!(hit.title, "学生溺水");
        assert_eq!(hit.topics, vec!["防溺水"]);
        assert_eq!(hit.sentiment, "negative");
        assert_eq!(
            hit.snippet, "新的正文 &lt;script&gt;",
            "title-only match shows escaped content"
        );

        let body = index
            .search(&SearchRequest {
                query: "后厨".into(),
                limit: 10,
                sort: Default::default(),
                facets: None,
                collapse: false,
                among_ids: Some(vec![doc_id("http://a.cn/2.html").unwrap()]),
                fetched_within: None,
                offset: 0,
            })
            .unwrap();
        assert_eq!(body.hits[0].snippet, "<mark>后厨</mark>卫生");
        assert_eq!(body.hits[0].snippet_text(), "【后厨】卫生");
        let elsewhere = index
            .search(&SearchRequest {
                query: "后厨".into(),
                limit: 10,
                sort: Default::default(),
                facets: None,
                collapse: false,
                among_ids: Some(vec![doc_id("http://a.cn/1.html").unwrap()]),
                fetched_within: None,
                offset: 0,
            })
            .unwrap();
        assert_eq!(elsewhere.total, 0);
        assert_eq!(
            index
                .search(&SearchRequest {
                    limit: 10,
                    ..Default::default()
                })
                .unwrap()
                .total,
            2
        );

        bus.close();
        drop(producer);
        stage.await.unwrap().unwrap();

        // Another process (here: another handle) sees the committed documents.
        let reader = SearchIndex::open(dir.path(), segmenter).unwrap();
        assert_eq!(reader.num_docs(), 2);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn words_inside_longer_words_are_found_and_phrases_still_match() {
        let dir = tempfile::tempdir().unwrap();
        let mut segmenter = Segmenter::new();
        segmenter.add_words(["防溺水"]);
        let index = SearchIndex::open_or_create(dir.path(), Arc::new(segmenter)).unwrap();
        let mut writer = index.writer(15 * 1024 * 1024).unwrap();
        let doc = document(
            "http://a.cn/1.html",
            "学校开展防溺水教育",
            "暑假前开展防溺水安全教育。",
            "防溺水",
        );
        index
            .upsert(&writer, &doc, &mut PendingPrints::default())
            .unwrap();
        writer.commit().unwrap();
        index.reload().unwrap();
        let total = |query: &str| {
            index
                .search(&SearchRequest {
                    query: query.into(),
                    limit: 5,
                    sort: Default::default(),
                    facets: None,
                    collapse: false,
                    among_ids: None,
                    fetched_within: None,
                    offset: 0,
                })
                .unwrap()
                .total
        };
        assert_eq!(total("溺水"), 1, "a word inside 防溺水");
        assert_eq!(total("防溺水"), 1);
        assert_eq!(
            total("\"防溺水安全教育\""),
            1,
            "a phrase across the longer word"
        );
        assert_eq!(total("\"安全防溺水\""), 0, "word order still counts");
        let hit = index
            .search(&SearchRequest {
                query: "溺水".into(),
                limit: 5,
                sort: Default::default(),
                facets: None,
                collapse: false,
                among_ids: None,
                fetched_within: None,
                offset: 0,
            })
            .unwrap()
            .hits
            .remove(0);
        assert_eq!(hit.snippet, "暑假前开展防<mark>溺水</mark>安全教育");
    }

    #[test]
    fn bad_queries_and_missing_or_foreign_indexes_are_explained() {
        let dir = tempfile::tempdir().unwrap();
        let segmenter = Arc::new(Segmenter::new());
        let missing = SearchIndex::open(&dir.path().join("none"), segmenter.clone())
            .err()
            .unwrap();
        assert!(
            missing.to_string().contains("run `yuqing run` first"),
            "{missing}"
        );

        let index = SearchIndex::open_or_create(dir.path(), segmenter.clone()).unwrap();
        let err = index
            .search(&SearchRequest {
                query: "title:(溺水".into(),
                limit: 5,
                sort: Default::default(),
                facets: None,
                collapse: false,
                among_ids: None,
                fetched_within: None,
                offset: 0,
            })
            .unwrap_err();
        assert!(matches!(err, SearchError::BadQuery(_)), "{err}");

        std::fs::write(dir.path().join("yuqing-schema-version"), "0").unwrap();
        let old = SearchIndex::open(dir.path(), segmenter).err().unwrap();
        assert!(
            old.to_string().contains(&format!(
                "schema version 0, this build uses {}",
                SCHEMA_VERSION
            )),
            "{old}"
        );
    }

    #[test]
    fn pages_follow_each_other_without_repeats_while_documents_arrive() {
        let dir = tempfile::tempdir().unwrap();
        let index = SearchIndex::open_or_create(dir.path(), Arc::new(Segmenter::new())).unwrap();
        let started = Utc::now();
        let add = |n: std::ops::Range<usize>, fetched_at: chrono::DateTime<Utc>| {
            let mut writer = index.writer(15 * 1024 * 1024).unwrap();
            let mut pending = PendingPrints::default();
            for k in n {
                let mut doc = document(
                    &format!("http://page.example/{k}.html"),
                    &format!("第{k}条校园新闻"),
                    &format!("第{k}号：学校开展安全教育活动，内容各不相同{k}。"),
                    "消防安全",
                );
                doc.document.fetched_at = fetched_at;
                doc.document.published_at = Some(
                    (started - chrono::Duration::minutes(k as i64))
                        .with_timezone(&yuqing_model::beijing()),
                );
                index.upsert(&writer, &doc, &mut pending).unwrap();
            }
            writer.commit().unwrap();
            index.reload().unwrap();
        };
        add(0..25, started - chrono::Duration::seconds(30));
        let mut cursor = Cursor::first(started);
        let mut seen = Vec::new();
        for page in 0..3 {
            let mut request = SearchRequest {
                query: "学校".into(),
                limit: 10,
                sort: Sort::Time,
                ..SearchRequest::default()
            };
            cursor.apply(&mut request).unwrap();
            let results = index.search(&request).unwrap();
            assert_eq!(results.total, 25, "page {page}");
            seen.extend(results.hits.into_iter().map(|h| h.title));
            cursor.offset += 10;
            // Newer stories arrive between pages: they belong to a new first page.
            add(
                100 + page * 5..105 + page * 5,
                started + chrono::Duration::seconds(5),
            );
            cursor = Cursor::decode(&cursor.encode()).unwrap();
        }
        let expected: Vec<String> = (0..25).map(|k| format!("第{k}条校园新闻")).collect();
        assert_eq!(seen, expected, "each row once, in order");
        assert_eq!(Cursor::decode("x"), None);

        // A cursor far past the result (`1000000000000.…`) once had tantivy allocate
        // for every row before it and abort the process: now it is refused, and a page
        // reaching past the window is cut at it.
        for (offset, collapse) in [
            (1_000_000_000_000, false),
            (usize::MAX, true),
            (MAX_RESULT_WINDOW, false),
        ] {
            let request = SearchRequest {
                query: "学校".into(),
                limit: 10,
                offset,
                collapse,
                ..SearchRequest::default()
            };
            let error = index.search(&request).unwrap_err();
            assert!(matches!(error, SearchError::BeyondWindow { .. }), "{error}");
            assert!(error.to_string().contains("first 10000"), "{error}");
        }
        let last = SearchRequest {
            query: "学校".into(),
            limit: usize::MAX,
            offset: MAX_RESULT_WINDOW - 1,
            ..SearchRequest::default()
        };
        assert!(
            index.search(&last).unwrap().hits.is_empty(),
            "past the 40 documents"
        );
    }

    /// A result's histogram as (bucket start, documents).
    fn histogram_of(results: &SearchResults) -> Vec<(String, u64)> {
        results
            .histogram
            .as_ref()
            .unwrap()
            .iter()
            .map(|b| (b.start.to_rfc3339(), b.count))
            .collect()
    }

    #[test]
    fn facets_count_the_whole_result_once_per_live_document_and_days_start_at_beijing_midnight() {
        let dir = tempfile::tempdir().unwrap();
        let index = SearchIndex::open_or_create(dir.path(), Arc::new(Segmenter::new())).unwrap();
        let at = |rfc3339: &str| Some(chrono::DateTime::parse_from_rfc3339(rfc3339).unwrap());
        // (page, topics, district, published)
        let pages = [
            (
                1,
                vec!["食品安全", "校园欺凌"],
                "温县",
                at("2026-11-20T23:59:00+08:00"),
            ),
            (2, vec!["食品安全"], "温县", at("2026-11-21T00:00:00+08:00")),
            (3, vec!["防溺水"], "孟州市", at("2026-11-21T09:30:00+08:00")),
            (4, vec!["食品安全"], "孟州市", None),
        ];
        // Two commits, so two segments are counted and merged.
        for batch in [&pages[..2], &pages[2..]] {
            let mut writer = index.writer(15 * 1024 * 1024).unwrap();
            let mut pending = PendingPrints::default();
            for (page, topics, district, published) in batch {
                let mut doc = document(
                    &format!("http://facets.example/{page}.html"),
                    &format!("学校通报{page}"),
                    &format!("第{page}号通报，内容互不相同{page}。"),
                    topics[0],
                );
                for topic in &topics[1..] {
                    let mut tag = doc.analysis.topics[0].clone();
                    tag.name = (*topic).into();
                    doc.analysis.topics.push(tag);
                }
                doc.analysis.regions = vec![yuqing_model::RegionTag {
                    name: (*district).into(),
                    matches: vec![],
                }];
                doc.document.published_at = *published;
                // Single-valued facets counted together must still come apart.
                if *page == 3 {
                    doc.analysis.sentiment.label = Sentiment::Positive;
                    doc.analysis.risk.level = yuqing_model::RiskLevel::High;
                }
                index.upsert(&writer, &doc, &mut pending).unwrap();
            }
            writer.commit().unwrap();
        }
        // Page 1 is indexed again, no longer about bullying: its old version is deleted.
        let mut writer = index.writer(15 * 1024 * 1024).unwrap();
        let mut again = document(
            "http://facets.example/1.html",
            "学校通报1",
            "第1号通报，内容互不相同1。",
            "食品安全",
        );
        again.analysis.regions = vec![yuqing_model::RegionTag {
            name: "温县".into(),
            matches: vec![],
        }];
        again.document.published_at = at("2026-11-20T23:59:00+08:00");
        index
            .upsert(&writer, &again, &mut PendingPrints::default())
            .unwrap();
        writer.commit().unwrap();
        index.reload().unwrap();

        let search = |interval| {
            index
                .search(&SearchRequest {
                    query: "学校".into(),
                    limit: 10,
                    facets: Some(interval),
                    ..SearchRequest::default()
                })
                .unwrap()
        };
        let results = search(Interval::Day);
        assert_eq!(results.total, 4);
        let facets = results.facets.as_ref().unwrap();
        let counts = |facet: &[FacetCount]| -> Vec<(String, u64)> {
            facet.iter().map(|f| (f.key.clone(), f.count)).collect()
        };
        assert_eq!(
            counts(&facets.topic),
            [("食品安全".to_string(), 3), ("防溺水".to_string(), 1)],
            "commonest first; the deleted version's 校园欺凌 is not counted"
        );
        assert_eq!(
            counts(&facets.district),
            [("孟州市".to_string(), 2), ("温县".to_string(), 2)]
        );
        assert_eq!(
            counts(&facets.sentiment),
            [("negative".to_string(), 3), ("positive".to_string(), 1)]
        );
        assert_eq!(
            counts(&facets.risk),
            [("low".to_string(), 3), ("high".to_string(), 1)]
        );
        assert_eq!(counts(&facets.source), [("测试源".to_string(), 4)]);
        let days = histogram_of(&results);
        assert_eq!(
            days,
            [
                ("2026-11-20T00:00:00+08:00".to_string(), 1),
                ("2026-11-21T00:00:00+08:00".to_string(), 2)
            ],
            "23:59 and 00:00 Beijing time are different days; the undated page is left out"
        );
        let hours: Vec<String> = search(Interval::Hour)
            .histogram
            .unwrap()
            .iter()
            .map(|b| b.start.to_rfc3339())
            .collect();
        assert_eq!(
            hours,
            [
                "2026-11-20T23:00:00+08:00",
                "2026-11-21T00:00:00+08:00",
                "2026-11-21T09:00:00+08:00"
            ]
        );
    }

    #[test]
    fn a_page_dated_decades_off_still_lands_in_its_own_histogram_bucket() {
        let dir = tempfile::tempdir().unwrap();
        let index = SearchIndex::open_or_create(dir.path(), Arc::new(Segmenter::new())).unwrap();
        let mut writer = index.writer(15 * 1024 * 1024).unwrap();
        let mut pending = PendingPrints::default();
        // Crawled pages carry nonsense dates: one segment then spans decades.
        for (page, published) in [
            (1, "1969-12-31T23:30:00+08:00"),
            (2, "2026-11-20T10:00:00+08:00"),
            (3, "2026-11-20T11:00:00+08:00"),
        ] {
            let mut doc = document(
                &format!("http://dates.example/{page}.html"),
                &format!("学校通报{page}"),
                &format!("第{page}号通报。"),
                "防溺水",
            );
            doc.document.published_at =
                Some(chrono::DateTime::parse_from_rfc3339(published).unwrap());
            index.upsert(&writer, &doc, &mut pending).unwrap();
        }
        writer.commit().unwrap();
        index.reload().unwrap();
        let results = index
            .search(&SearchRequest {
                query: "学校".into(),
                limit: 10,
                facets: Some(Interval::Day),
                ..SearchRequest::default()
            })
            .unwrap();
        let days = histogram_of(&results);
        assert_eq!(
            days,
            [
                ("1969-12-31T00:00:00+08:00".to_string(), 1),
                ("2026-11-20T00:00:00+08:00".to_string(), 2)
            ]
        );
    }

    #[test]
    fn sorting_by_spread_puts_the_most_reprinted_and_reposted_story_first() {
        let dir = tempfile::tempdir().unwrap();
        let index = SearchIndex::open_or_create(dir.path(), Arc::new(Segmenter::new())).unwrap();
        let mut writer = index.writer(15 * 1024 * 1024).unwrap();
        let mut pending = PendingPrints::default();
        let story = "温县某中学食堂发生学生集体腹泻事件，县教育局已经介入调查处理。";
        // A news story reprinted by two more sites, the second in a later commit.
        for (k, commit) in [(0, false), (1, true), (2, true)] {
            let doc = document(
                &format!("http://site{k}.example/shitang.html"),
                &format!("食堂腹泻（转载{k}）"),
                story,
                "食品安全",
            );
            index.upsert(&writer, &doc, &mut pending).unwrap();
            if commit {
                writer.commit().unwrap();
                index.reload().unwrap();
                pending.clear();
            }
        }
        // A post reposted five times, shown as posted from 河南; and a quiet page.
        let mut post = document(
            "https://m.weibo.cn/detail/1",
            "学校门口校车超载",
            "孩子放学路上看到校车超载，一辆面包车挤了十几个孩子。",
            "校车与交通安全",
        );
        post.document.ip_region = Some("河南".into());
        post.document.engagement = Some(yuqing_model::Engagement {
            reposts: 5,
            comments: 1,
            likes: 9,
        });
        let quiet = document(
            "http://quiet.example/1.html",
            "学校召开家长会",
            "学校召开期中家长会，介绍学生在校情况。",
            "师德师风",
        );
        for doc in [&post, &quiet] {
            index.upsert(&writer, doc, &mut pending).unwrap();
        }
        writer.commit().unwrap();
        index.reload().unwrap();

        let by_spread = index
            .search(&SearchRequest {
                limit: 10,
                sort: Sort::Spread,
                collapse: true,
                ..SearchRequest::default()
            })
            .unwrap();
        let titles: Vec<&str> = by_spread.hits.iter().map(|h| h.title.as_str()).collect();
        assert_eq!(
            titles,
            ["学校门口校车超载", "食堂腹泻（转载2）", "学校召开家长会"],
            "reposts 5, then the story with two earlier documents, then nothing"
        );
        assert_eq!(by_spread.hits[1].cluster_size, 3);
        // A reprint indexed again (its old version deleted, not yet merged away) is still
        // one document of the story.
        let again = document(
            "http://site1.example/shitang.html",
            "食堂腹泻（转载1）",
            story,
            "食品安全",
        );
        index.upsert(&writer, &again, &mut pending).unwrap();
        writer.commit().unwrap();
        index.reload().unwrap();
        let story_hit = index
            .search(&SearchRequest {
                query: "食堂腹泻".into(),
                limit: 1,
                ..SearchRequest::default()
            })
            .unwrap()
            .hits
            .remove(0);
        assert_eq!(story_hit.cluster_size, 3);
        let henan = index
            .search(&SearchRequest {
                query: "ip:河南".into(),
                limit: 10,
                ..SearchRequest::default()
            })
            .unwrap();
        assert_eq!(henan.total, 1);
        assert_eq!(henan.hits[0].ip_region.as_deref(), Some("河南"));
        assert_eq!(henan.hits[0].engagement.map(|e| e.reposts), Some(5));
        assert_eq!("spread".parse::<Sort>(), Ok(Sort::Spread));
    }

    #[test]
    fn an_index_of_the_previous_schema_is_migrated_from_its_stored_documents() {
        use tantivy::schema::{Schema, STORED};
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("index");
        // A version 2 index, as far as migration reads it: the documents stored whole.
        {
            let mut builder = Schema::builder();
            let stored = builder.add_text_field("document", STORED);
            std::fs::create_dir_all(&path).unwrap();
            let old = tantivy::Index::create_in_dir(&path, builder.build()).unwrap();
            let mut writer = old.writer(15 * 1024 * 1024).unwrap();
            for k in 0..3 {
                let doc = document(
                    &format!("http://old.example/{k}.html"),
                    &format!("旧索引中的第{k}篇"),
                    &format!("学生溺水事件报道第{k}篇，内容不同{k}。"),
                    "防溺水",
                );
                let mut tdoc = tantivy::TantivyDocument::default();
                tdoc.add_text(stored, serde_json::to_string(&doc).unwrap());
                writer.add_document(tdoc).unwrap();
            }
            writer.commit().unwrap();
            std::fs::write(path.join("yuqing-schema-version"), "2").unwrap();
        }
        let index = SearchIndex::open_or_create(&path, Arc::new(Segmenter::new())).unwrap();
        let found = index
            .search(&SearchRequest {
                query: "topic:防溺水 source_type:商业媒体".into(),
                limit: 10,
                ..SearchRequest::default()
            })
            .unwrap();
        assert_eq!(found.total, 3);
        assert_eq!(
            std::fs::read_to_string(path.join("yuqing-schema-version")).unwrap(),
            SCHEMA_VERSION.to_string()
        );
        assert!(
            !dir.path().join("index.v2").exists() && !dir.path().join("index.migrating").exists()
        );
        // A reader-only open of an old index says what to do instead of guessing.
        std::fs::write(path.join("yuqing-schema-version"), "1").unwrap();
        let error = SearchIndex::open(&path, Arc::new(Segmenter::new()))
            .err()
            .unwrap()
            .to_string();
        assert!(error.contains("schema version 1"), "{error}");
    }

    /// Whatever a desk user types or a rule says, and whatever page a cursor names, the
    /// search answers or refuses with an error that says where: it never panics,
    /// overflows its stack or allocates without bound.
    mod properties {
        use super::*;
        use crate::search::{Cursor, SearchRequest, Sort};
        use proptest::prelude::*;
        use std::sync::OnceLock;

        fn index() -> &'static SearchIndex {
            static INDEX: OnceLock<(tempfile::TempDir, SearchIndex)> = OnceLock::new();
            &INDEX
                .get_or_init(|| {
                    let dir = tempfile::tempdir().unwrap();
                    let index = SearchIndex::open_or_create(dir.path(), Arc::new(Segmenter::new()))
                        .unwrap();
                    let writer = index.writer(15_000_000).unwrap();
                    let mut prints = PendingPrints::default();
                    for (n, (title, topic)) in
                        [("孟州学生溺水", "防溺水"), ("食堂学生腹泻", "食品安全")]
                            .iter()
                            .enumerate()
                    {
                        let url = format!("http://news.example/{n}.html");
                        let doc = document(&url, title, &format!("{title}。学校通报情况。"), topic);
                        index.upsert(&writer, &doc, &mut prints).unwrap();
                    }
                    let mut writer = writer;
                    writer.commit().unwrap();
                    index.reload().unwrap();
                    (dir, index)
                })
                .1
        }

        /// Pieces of the query language and of what people paste into it.
        fn piece() -> impl Strategy<Value = String> {
            prop_oneof![
                prop::sample::select(vec![
                    "(",
                    ")",
                    "-",
                    "\"",
                    " ",
                    "|",
                    "AND ",
                    "OR ",
                    "NOT ",
                    "topic:",
                    "since:",
                    "risk:",
                    "高",
                    "sentiment:",
                    "district:",
                    "school:",
                    "source:",
                    "溺水",
                    "学校",
                    "d",
                    "h",
                    "m",
                    "*",
                    "?",
                    ":",
                    ".",
                    "\\",
                    "~",
                    "^",
                    "[",
                    "]",
                    "{",
                    "}",
                    "！",
                    "（",
                    "）",
                    "“",
                    "”",
                ])
                .prop_map(String::from),
                any::<u64>().prop_map(|n| n.to_string()),
                any::<char>().prop_map(String::from),
            ]
        }

        fn search(query: &str, offset: usize, limit: usize) -> Result<(), TestCaseError> {
            let request = SearchRequest {
                query: query.to_string(),
                limit,
                offset,
                sort: Sort::Relevance,
                facets: Some(crate::search::Interval::Day),
                collapse: true,
                ..SearchRequest::default()
            };
            match index().search(&request) {
                Ok(_) | Err(SearchError::BeyondWindow { .. }) => Ok(()),
                Err(SearchError::BadQuery(error)) => {
                    prop_assert!(
                        error.position <= query.chars().count(),
                        "position {} past the query {query:?}",
                        error.position
                    );
                    prop_assert!(!error.message.is_empty());
                    Ok(())
                }
                Err(other) => Err(TestCaseError::fail(format!("{query:?}: {other}"))),
            }
        }

        proptest! {
            #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

            #[test]
            fn any_query_is_answered_or_refused_at_its_position(
                pieces in prop::collection::vec(piece(), 0..80),
            ) {
                search(&pieces.concat(), 0, 20)?;
            }

            #[test]
            fn nesting_and_length_of_any_depth_are_refused_not_overflowed(
                depth in 0usize..crate::query::MAX_QUERY_CHARS,
                opener in prop::sample::select(vec!["(", "-", "NOT ", "(-"]),
            ) {
                search(&format!("{}溺水", opener.repeat(depth)), 0, 20)?;
            }

            #[test]
            fn any_cursor_and_page_size_is_served_or_refused(
                cursor in (any::<u64>(), any::<i64>()).prop_map(|(o, b)| format!("{o}.{b}")),
                offset in any::<usize>(),
                limit in any::<usize>(),
            ) {
                search("学校", offset, limit)?;
                if let Some(cursor) = Cursor::decode(&cursor) {
                    search("学校", cursor.offset, limit)?;
                }
            }
        }
    }
}
