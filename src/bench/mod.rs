//! Measuring the system's speed (`yuqing bench …`): one file per bench, and here what
//! they share: the corpus, the statistics and the peers.
//!
//! The corpus is built from the bundled sample site's articles (real Chinese news text
//! written for this project), each document a different mix of their paragraphs.

pub mod alerts;
pub mod analyze;
pub mod crawl;
pub mod index;
pub mod pipeline;

use crate::config::Config;
use anyhow::{bail, Context};
use clap::Subcommand;
use std::time::Duration;
use yuqing_crawler::extract;
use yuqing_model::{doc_id, RawDocument};

#[derive(Subcommand)]
pub enum BenchCommand {
    /// Documents per second from hand-off to index commit, and the latency from hand-off
    /// to searchable, through the embedded bus and (with --kafka) through Kafka.
    Pipeline(pipeline::PipelineBench),
    /// Indexing docs/s, MB/s, size and peak memory, then search latency p50/p99 for the
    /// desk's query mix, on a generated corpus.
    Index(index::IndexBench),
    /// Latency from a document's arrival at the indexer to the webhook request leaving,
    /// with many alert rules loaded (embedded mode).
    Alerts(alerts::AlertsBench),
    /// Pages per second fetched and extracted from a loopback server, extraction alone
    /// in MB/s, and extraction accuracy, beside (with --peer) Python GNE on the same pages.
    Crawl(crawl::CrawlBench),
    /// Analyzer throughput in MB/s beside jieba-rs segmentation alone and (with --peer)
    /// Python jieba on the same text.
    Analyze(analyze::AnalyzeBench),
}

pub async fn run(config: &Config, command: BenchCommand) -> anyhow::Result<()> {
    match command {
        BenchCommand::Pipeline(options) => pipeline::run(config, options).await,
        BenchCommand::Index(options) => index::run(config, options),
        BenchCommand::Alerts(options) => alerts::run(config, options).await,
        BenchCommand::Crawl(options) => crawl::run(config, options).await,
        BenchCommand::Analyze(options) => analyze::run(config, options),
    }
}

/// Paragraphs and titles of the sample site's articles.
pub(crate) fn sample_texts(config: &Config) -> anyhow::Result<(Vec<String>, Vec<String>)> {
    let folder = config.sample_site.root.join("news/2026");
    let mut titles = Vec::new();
    let mut paragraphs = Vec::new();
    let mut entries: Vec<_> = std::fs::read_dir(&folder)
        .with_context(|| format!("bench corpus: cannot read {}", folder.display()))?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .collect();
    entries.sort();
    for path in entries {
        let bytes = std::fs::read(&path)?;
        let article = extract(&yuqing_crawler::decode(&bytes, None).text);
        titles.push(article.title);
        paragraphs.extend(article.content.lines().map(str::to_string));
    }
    if paragraphs.is_empty() {
        bail!("bench corpus: no articles in {}", folder.display());
    }
    Ok((titles, paragraphs))
}

/// `n` documents, each a different mix of the sample site's paragraphs, with URLs under
/// `run` so that the documents of different runs are different documents.
pub(crate) fn corpus(config: &Config, n: usize, run: &str) -> anyhow::Result<Vec<RawDocument>> {
    let (titles, paragraphs) = sample_texts(config)?;
    Ok((0..n)
        .map(|i| {
            let url = format!("http://bench.invalid/{run}/{i}.html");
            // A deterministic mix: 3–6 paragraphs picked by the document number.
            let count = 3 + i % 4;
            let content: Vec<&str> = (0..count)
                .map(|k| paragraphs[(i * 7 + k * 13) % paragraphs.len()].as_str())
                .collect();
            bench_document(
                url,
                format!("{}（{i}）", titles[i % titles.len()]),
                content.join("\n"),
            )
        })
        .collect())
}

/// A bench document at `url` (under `http://bench.invalid/`), fetched now.
pub(crate) fn bench_document(url: String, title: String, content: String) -> RawDocument {
    RawDocument {
        id: doc_id(&url).expect("valid URL"),
        url,
        source: "基准测试".into(),
        title,
        content,
        fetched_at: chrono::Utc::now(),
        charset: "UTF-8".into(),
        ..Default::default()
    }
}

pub(crate) fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[rank]
}

pub(crate) fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

/// A peer script under scripts/peers (peers are installed with pip, never committed).
pub fn peer_script(name: &str) -> anyhow::Result<std::path::PathBuf> {
    [
        std::path::PathBuf::from("scripts/peers").join(name),
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("scripts/peers")
            .join(name),
    ]
    .into_iter()
    .find(|p| p.exists())
    .with_context(|| format!("scripts/peers/{name} not found"))
}

pub(crate) fn megabytes_per_sec(bytes: usize, elapsed: Duration) -> f64 {
    bytes as f64 / 1e6 / elapsed.as_secs_f64()
}
