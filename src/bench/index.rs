//! `yuqing bench index`: indexing speed, size and peak memory, then search latency for
//! the desk's query mix.

use super::{corpus, megabytes_per_sec, percentile};
use crate::config::Config;
use std::time::{Duration, Instant};
use yuqing_analyzer::Analyzer;
use yuqing_indexer::SearchIndex;
use yuqing_model::doc_id;

#[derive(clap::Args)]
pub struct IndexBench {
    #[arg(long, default_value_t = 100_000)]
    pub docs: usize,
    /// How many times each query of the mix runs after indexing.
    #[arg(long, default_value_t = 25)]
    pub searches: usize,
    /// Keep the index in this folder; when it already holds one, skip indexing and only
    /// measure searches (a million documents take minutes to index).
    #[arg(long)]
    pub index_dir: Option<std::path::PathBuf>,
}

/// Peak resident memory of this process (VmHWM), in MB.
fn peak_memory_mb() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024.0)
}

fn folder_size(path: &std::path::Path) -> u64 {
    std::fs::read_dir(path)
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .map(|e| match e.metadata() {
                    Ok(m) if m.is_dir() => folder_size(&e.path()),
                    Ok(m) => m.len(),
                    Err(_) => 0,
                })
                .sum()
        })
        .unwrap_or(0)
}

/// Indexing speed, size and memory, then search latency for the desk's query mix, on a
/// corpus generated from the sample site's articles (analyzed once, then varied).
pub fn run(config: &Config, options: IndexBench) -> anyhow::Result<()> {
    let analyzer = Analyzer::load(&config.analyzer)?;
    let temporary;
    let dir = match &options.index_dir {
        Some(dir) => dir.clone(),
        None => {
            temporary = tempfile::tempdir()?;
            temporary.path().to_path_buf()
        }
    };
    let reuse = dir.join("meta.json").exists();
    if reuse {
        println!(
            "index benchmark: searching the index kept in {}, not indexing",
            dir.display()
        );
    } else {
        build_bench_index(config, &analyzer, &dir, options.docs)?;
    }
    let index = SearchIndex::open(&dir, analyzer.segmenter())?;
    if reuse {
        println!("{} documents in the index", index.num_docs());
    }
    search_mix(&index, options.searches)
}

/// Indexes `docs` generated documents into `dir` and prints the indexing figures.
fn build_bench_index(
    config: &Config,
    analyzer: &Analyzer,
    dir: &std::path::Path,
    docs: usize,
) -> anyhow::Result<()> {
    let templates: Vec<yuqing_model::AnalyzedDocument> = corpus(config, 500, "template")?
        .into_iter()
        .map(|document| {
            let analysis = analyzer.analyze(&document.title, &document.content);
            yuqing_model::AnalyzedDocument { document, analysis }
        })
        .collect();
    let index = SearchIndex::open_or_create(dir, analyzer.segmenter())?;
    let mut writer = index.writer(256 * 1024 * 1024)?;
    let mut pending = yuqing_indexer::PendingPrints::default();
    let base =
        chrono::DateTime::parse_from_rfc3339("2026-11-29T12:00:00+08:00").expect("valid time");
    let mut bytes = 0usize;
    let start = Instant::now();
    for i in 0..docs {
        let mut doc = templates[i % templates.len()].clone();
        let url = format!("http://bench.invalid/index/{i}.html");
        doc.document.id = doc_id(&url)?;
        doc.document.url = url;
        doc.document.title = format!("{}·{i}", doc.document.title);
        // Spread over 60 days so that time filters and histograms have work to do.
        doc.document.published_at =
            Some(base - chrono::Duration::minutes((i as i64 * 37) % (60 * 24 * 60)));
        bytes += doc.document.title.len() + doc.document.content.len();
        index.upsert(&writer, &doc, &mut pending)?;
        if (i + 1) % 100_000 == 0 {
            writer.commit()?;
            index.reload()?;
            pending.clear();
        }
    }
    writer.commit()?;
    writer.wait_merging_threads()?;
    let elapsed = start.elapsed();
    println!(
        "index benchmark: {docs} documents, {:.0} MB of text (templates from the sample site, reprint clustering on)",
        bytes as f64 / 1e6
    );
    println!(
        "indexing: {:.0} docs/s, {:.1} MB/s (one writer, 2 cores), index {:.0} MB on disk, peak memory {:.0} MB",
        docs as f64 / elapsed.as_secs_f64(),
        megabytes_per_sec(bytes, elapsed),
        folder_size(dir) as f64 / 1e6,
        peak_memory_mb().unwrap_or(f64::NAN)
    );
    Ok(())
}

/// Search latency for the desk's query mix: each query's median and slowest, then p50
/// and p99 over all.
fn search_mix(index: &SearchIndex, searches: usize) -> anyhow::Result<()> {
    let queries = [
        "溺水",
        "学生 食堂",
        "topic:食品安全 district:温县",
        "\"安全教育\"",
        "risk:高 since:30d",
        "溺水 | 腹泻 -演练",
        "校车 sentiment:negative",
        "from:2026-11-01 to:2026-11-07 topic:校园欺凌",
    ];
    let request = |query: &str| yuqing_indexer::SearchRequest {
        query: query.to_string(),
        limit: 20,
        sort: Default::default(),
        facets: Some(yuqing_indexer::Interval::Day),
        collapse: false,
        among_ids: None,
        fetched_within: None,
        offset: 0,
    };
    // One round first, not counted: the first search of a freshly opened index pages
    // its files in, which a desk running all day pays once.
    for query in queries {
        index.search(&request(query))?;
    }
    let mut latencies = Vec::new();
    let mut by_query: Vec<Vec<Duration>> = vec![Vec::new(); queries.len()];
    for _ in 0..searches.max(1) {
        for (query, times) in queries.iter().zip(&mut by_query) {
            let start = Instant::now();
            let results = index.search(&request(query))?;
            latencies.push(start.elapsed());
            times.push(start.elapsed());
            std::hint::black_box(results.total);
        }
    }
    for (query, times) in queries.iter().zip(&mut by_query) {
        times.sort();
        let total = index
            .search(&yuqing_indexer::SearchRequest {
                query: query.to_string(),
                limit: 1,
                ..Default::default()
            })?
            .total;
        println!(
            "  {:>7.1} ms median, {:>7.1} ms slowest, {total:>8} matches: {query}",
            percentile(times, 0.5).as_secs_f64() * 1000.0,
            percentile(times, 1.0).as_secs_f64() * 1000.0,
        );
    }
    latencies.sort();
    println!(
        "search ({} queries after a warm-up round: words, phrases, fields, time ranges, OR/NOT; 20 hits with snippets, facets and a day histogram): p50 {:.1} ms, p99 {:.1} ms",
        latencies.len(),
        percentile(&latencies, 0.5).as_secs_f64() * 1000.0,
        percentile(&latencies, 0.99).as_secs_f64() * 1000.0
    );
    Ok(())
}
