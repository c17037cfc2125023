//! `yuqing bench pipeline`: documents per second from the crawler's hand-off to the index
//! commit, and the latency from hand-off to searchable, through the embedded bus and
//! through Kafka, with the same stage code and the same corpus in one process.
//!
//! The corpus is built from the bundled sample site's articles (real Chinese news text
//! written for this project), each document a different mix of their paragraphs.

use crate::config::Config;
use anyhow::{bail, Context};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::mpsc;
use yuqing_analyzer::{Analyzer, LiveAnalyzer};
use yuqing_bus::{Bus, Consumer, EmbeddedBus, Producer, Topics};
use yuqing_bus_kafka::{KafkaBus, KafkaConfig};
use yuqing_crawler::extract;
use yuqing_indexer::{IndexerConfig, SearchIndex};
use yuqing_model::{doc_id, AnalyzedDocument, RawDocument};

pub struct PipelineBench {
    pub docs: usize,
    pub repeat: usize,
    pub kafka: Option<String>,
    /// Replaces the configuration's `[indexer] commit_interval_ms`.
    pub commit_interval_ms: Option<u64>,
    /// Documents per second handed over in the latency run (below what the pipeline can
    /// take, as crawlers hand them over, so that latency is not time spent queueing).
    pub rate: f64,
}

/// How the corpus is handed to the pipeline.
#[derive(Clone, Copy)]
enum Feed {
    /// As fast as the bus takes it, 64 documents in flight: throughput.
    Flood,
    /// At this many documents per second: latency.
    Rate(f64),
}

struct Measurement {
    docs_per_sec: f64,
    p50: Duration,
    p99: Duration,
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

fn corpus(config: &Config, n: usize, run: &str) -> anyhow::Result<Vec<RawDocument>> {
    let (titles, paragraphs) = sample_texts(config)?;
    Ok((0..n)
        .map(|i| {
            let url = format!("http://bench.invalid/{run}/{i}.html");
            // A deterministic mix: 3–6 paragraphs picked by the document number.
            let count = 3 + i % 4;
            let content: Vec<&str> = (0..count)
                .map(|k| paragraphs[(i * 7 + k * 13) % paragraphs.len()].as_str())
                .collect();
            RawDocument {
                id: doc_id(&url).expect("valid URL"),
                url,
                source: "基准测试".into(),
                origin: None,
                author: None,
                title: format!("{}（{i}）", titles[i % titles.len()]),
                content: content.join("\n"),
                published_at: None,
                fetched_at: chrono::Utc::now(),
                charset: "UTF-8".into(),
                ..Default::default()
            }
        })
        .collect())
}

pub(crate) fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[rank]
}

/// Runs analyzer and indexer stages on `bus`, feeds the corpus, and times it.
async fn measure(
    bus: Arc<dyn Bus>,
    topics: &Topics,
    analyzer: &Arc<LiveAnalyzer>,
    corpus: &[RawDocument],
    indexer_config: IndexerConfig,
    feed: Feed,
    seal: impl FnOnce(),
) -> anyhow::Result<(Measurement, tempfile::TempDir)> {
    let dir = tempfile::tempdir()?;
    let index = SearchIndex::open_or_create(dir.path(), analyzer.current().segmenter())?;
    let raw_in: Consumer<RawDocument> =
        Consumer::new(&*bus, &topics.raw, "analyzer", &topics.dead_letter)?;
    let analyzed_out: Producer<AnalyzedDocument> = Producer::new(&*bus, &topics.analyzed)?;
    let analyzed_in: Consumer<AnalyzedDocument> =
        Consumer::new(&*bus, &topics.analyzed, "indexer", &topics.dead_letter)?;
    let raw_out: Producer<RawDocument> = Producer::new(&*bus, &topics.raw)?;
    seal();
    let (commit_tx, mut commits) = mpsc::channel(1024);
    let analyzer_stage = tokio::spawn(yuqing_analyzer::run_stage(
        analyzer.clone(),
        raw_in,
        analyzed_out,
    ));
    let indexer_stage = tokio::spawn(yuqing_indexer::run_stage(
        index.clone(),
        indexer_config,
        analyzed_in,
        commit_tx,
    ));

    let n = corpus.len();
    let collector = tokio::spawn(async move {
        let mut committed_at = HashMap::with_capacity(n);
        while committed_at.len() < n {
            let Some(commit) = commits.recv().await else {
                break;
            };
            let now = Instant::now();
            for id in commit.ids {
                committed_at.entry(id).or_insert(now);
            }
        }
        committed_at
    });

    let start = Instant::now();
    let mut sent_at = HashMap::with_capacity(n);
    // Hand documents over as many crawler tasks would: several in flight at once.
    let chunk_len = match feed {
        Feed::Flood => 64,
        Feed::Rate(_) => 8,
    };
    for (k, chunk) in corpus.chunks(chunk_len).enumerate() {
        if let Feed::Rate(rate) = feed {
            let due = start + Duration::from_secs_f64((k * chunk_len) as f64 / rate);
            tokio::time::sleep_until(due.into()).await;
        }
        let now = Instant::now();
        for doc in chunk {
            sent_at.insert(doc.id.clone(), now);
        }
        futures_util::future::try_join_all(chunk.iter().map(|doc| raw_out.send(doc))).await?;
    }
    drop(raw_out);
    let committed_at = tokio::time::timeout(Duration::from_secs(600), collector)
        .await
        .context("the pipeline did not index the corpus within 10 minutes")??;
    if committed_at.len() < n {
        bail!("only {} of {n} documents were indexed", committed_at.len());
    }
    let end = committed_at.values().max().copied().unwrap_or(start);
    let mut latencies: Vec<Duration> = committed_at
        .iter()
        .filter_map(|(id, at)| {
            sent_at
                .get(id)
                .map(|sent| at.saturating_duration_since(*sent))
        })
        .collect();
    latencies.sort();
    // Stages on Kafka wait for more input forever: stop them, so that they take no CPU
    // from the runs after this one, and wait until they are gone (with their writer).
    analyzer_stage.abort();
    indexer_stage.abort();
    let _ = analyzer_stage.await;
    let _ = indexer_stage.await;
    Ok((
        Measurement {
            docs_per_sec: n as f64 / end.duration_since(start).as_secs_f64(),
            p50: percentile(&latencies, 0.5),
            p99: percentile(&latencies, 0.99),
        },
        dir,
    ))
}

pub(crate) fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

/// Prints the median throughput of `runs` (and each run's) and returns it.
fn summarize_throughput(name: &str, runs: &[Measurement]) -> f64 {
    let rate = median(runs.iter().map(|m| m.docs_per_sec).collect());
    let all: Vec<String> = runs
        .iter()
        .map(|m| format!("{:.0}", m.docs_per_sec))
        .collect();
    println!("{name:<9} {rate:>8.0} docs/s   (runs: {})", all.join(", "));
    rate
}

/// The configuration's `[indexer]`, with the bench's commit interval if it sets one.
fn indexer_config(config: &Config, options: &PipelineBench) -> IndexerConfig {
    let mut indexer = config.indexer.clone();
    if let Some(interval) = options.commit_interval_ms {
        indexer.commit_interval_ms = interval;
    }
    indexer
}

/// One run of the corpus `docs` through the analyzer and indexer on `bus`: embedded
/// without one, else on fresh topics on Kafka.
async fn run_once(
    config: &Config,
    analyzer: &Arc<LiveAnalyzer>,
    kafka: Option<&str>,
    docs: usize,
    name: &str,
    options: &PipelineBench,
    feed: Feed,
) -> anyhow::Result<Measurement> {
    // The embedded bus ends its topics once sealed; Kafka topics are fresh per run.
    type Seal = Box<dyn FnOnce()>;
    let (bus, topics, seal, kafka_bus, corpus_name): (Arc<dyn Bus>, _, Seal, _, _) = match kafka {
        None => {
            let bus = Arc::new(EmbeddedBus::new(config.bus.capacity));
            let seal_bus = bus.clone();
            let seal = Box::new(move || seal_bus.close());
            (
                bus,
                Topics::default(),
                seal,
                None,
                format!("embedded-{name}"),
            )
        }
        Some(brokers) => {
            let prefix = format!(
                "bench-{}-{name}-{}",
                std::process::id(),
                chrono::Utc::now().timestamp_millis()
            );
            let bus = Arc::new(KafkaBus::new(KafkaConfig {
                brokers: brokers.to_string(),
                prefix: prefix.clone(),
                ..config.bus.kafka.clone()
            })?);
            bus.ensure_topics().await?;
            let topics = bus.topics();
            (bus.clone(), topics, Box::new(|| {}), Some(bus), prefix)
        }
    };
    let corpus = corpus(config, docs, &corpus_name)?;
    let indexer = indexer_config(config, options);
    let (m, _dir) = measure(bus, &topics, analyzer, &corpus, indexer, feed, seal).await?;
    if let Some(kafka) = kafka_bus {
        kafka.shutdown();
    }
    Ok(m)
}

pub async fn pipeline(config: &Config, options: PipelineBench) -> anyhow::Result<()> {
    if !(options.rate.is_finite() && options.rate > 0.0) {
        bail!(
            "--rate must be a number of documents per second above 0, got {}",
            options.rate
        );
    }
    let analyzer = LiveAnalyzer::load(config.analyzer.clone())?;
    let probe = corpus(config, options.docs.min(100), "probe")?;
    let average_bytes = probe
        .iter()
        .map(|d| d.title.len() + d.content.len())
        .sum::<usize>()
        / probe.len().max(1);
    let indexer = indexer_config(config, &options);
    println!(
        "pipeline benchmark: {} documents of {:.1} KB on average, analyzer + indexer stages, index commit every {} ms or {} documents, {} run(s) each, medians",
        options.docs,
        average_bytes as f64 / 1024.0,
        indexer.commit_interval_ms,
        indexer.commit_max_docs,
        options.repeat
    );
    let transports: Vec<(&str, Option<&str>)> = std::iter::once(("embedded", None))
        .chain(options.kafka.as_deref().map(|k| ("kafka", Some(k))))
        .collect();

    // One run each first, not counted: a freshly started broker runs its first minute
    // on the JVM's interpreter and compilers, which a broker in service has long left.
    for (name, kafka) in &transports {
        let warm_up = format!("{name}-warm-up");
        run_once(
            config,
            &analyzer,
            *kafka,
            options.docs,
            &warm_up,
            &options,
            Feed::Flood,
        )
        .await?;
    }
    // Throughput: the corpus handed over as fast as the bus takes it, the transports'
    // runs interleaved so that both see the same machine.
    let mut runs: Vec<Vec<Measurement>> = transports.iter().map(|_| Vec::new()).collect();
    for run in 0..options.repeat.max(1) {
        for ((name, kafka), runs) in transports.iter().zip(&mut runs) {
            let m = run_once(
                config,
                &analyzer,
                *kafka,
                options.docs,
                &format!("{name}-{run}"),
                &options,
                Feed::Flood,
            )
            .await?;
            runs.push(m);
        }
    }
    println!("throughput (as fast as the bus takes documents, after a warm-up run each):");
    let rates: Vec<f64> = transports
        .iter()
        .zip(&runs)
        .map(|((name, _), runs)| summarize_throughput(name, runs))
        .collect();
    if let [embedded, kafka] = rates[..] {
        println!(
            "kafka / embedded throughput: {:.0}%",
            100.0 * kafka / embedded
        );
    } else {
        println!("(add --kafka 127.0.0.1:9092 to measure the Kafka transport beside it)");
    }

    // Latency: from hand-off to searchable, at a rate the pipeline keeps up with (a
    // flood measures time spent waiting in the queue instead).
    let docs = options
        .docs
        .min((options.rate * 10.0).ceil() as usize)
        .max(1);
    println!(
        "latency from hand-off to searchable, {docs} documents handed over at {:.0} docs/s:",
        options.rate
    );
    for (name, kafka) in &transports {
        let m = run_once(
            config,
            &analyzer,
            *kafka,
            docs,
            &format!("{name}-latency"),
            &options,
            Feed::Rate(options.rate),
        )
        .await?;
        println!(
            "{name:<9} p50 {:>6.0} ms   p99 {:>6.0} ms",
            m.p50.as_secs_f64() * 1000.0,
            m.p99.as_secs_f64() * 1000.0
        );
    }
    Ok(())
}

pub struct AnalyzeBench {
    pub docs: usize,
    pub repeat: usize,
    /// Also time Python jieba on the same text (scripts/peers/jieba_cut.py; needs
    /// `pip install jieba`).
    pub peer: bool,
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

fn megabytes_per_sec(bytes: usize, elapsed: Duration) -> f64 {
    bytes as f64 / 1e6 / elapsed.as_secs_f64()
}

/// Documents timed at a time in `bench analyze`: long enough to time well (about 20 ms),
/// short enough that the machine's speed holds while both are timed.
const ANALYZE_CHUNK: usize = 250;

/// Throughput of the analyzer beside jieba-rs segmentation alone (and Python jieba).
pub fn analyze(config: &Config, options: AnalyzeBench) -> anyhow::Result<()> {
    let analyzer = Analyzer::load(&config.analyzer)?;
    let segmenter = analyzer.segmenter();
    let docs = corpus(config, options.docs, "analyze")?;
    let bytes: usize = docs.iter().map(|d| d.title.len() + d.content.len()).sum();
    println!(
        "analyzer benchmark: {} documents, {:.1} MB of Chinese text, {} run(s), medians, one thread",
        docs.len(),
        bytes as f64 / 1e6,
        options.repeat
    );
    // The two are timed on the same chunk of documents one after the other, chunk by
    // chunk, so that this machine's changes of speed (which come and go within seconds)
    // fall on both alike; which goes first alternates, so neither always finds the
    // chunk's text already in the cache. The ratio is the median of the chunks' ratios.
    let segment = |chunk: &[RawDocument]| -> usize {
        chunk
            .iter()
            .map(|d| segmenter.words(&d.title).len() + segmenter.words(&d.content).len())
            .sum()
    };
    let analyze = |chunk: &[RawDocument]| -> usize {
        chunk
            .iter()
            .map(|d| analyzer.analyze(&d.title, &d.content).topics.len())
            .sum()
    };
    let words = segment(&docs);
    std::hint::black_box(analyze(&docs)); // warm-up, not counted
    let (mut segmentation, mut analysis, mut ratios) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..options.repeat.max(1) {
        let (mut segmentation_time, mut analysis_time) = (Duration::ZERO, Duration::ZERO);
        for (k, chunk) in docs.chunks(ANALYZE_CHUNK).enumerate() {
            let time = |work: &dyn Fn(&[RawDocument]) -> usize| {
                let start = Instant::now();
                std::hint::black_box(work(chunk));
                start.elapsed()
            };
            let (seg, all) = if k % 2 == 0 {
                let seg = time(&segment);
                (seg, time(&analyze))
            } else {
                let all = time(&analyze);
                (time(&segment), all)
            };
            segmentation_time += seg;
            analysis_time += all;
            ratios.push(seg.as_secs_f64() / all.as_secs_f64());
        }
        segmentation.push(megabytes_per_sec(bytes, segmentation_time));
        analysis.push(megabytes_per_sec(bytes, analysis_time));
    }
    let segmentation = median(segmentation);
    let analysis = median(analysis);
    let ratio = median(ratios);
    println!("jieba-rs segmentation  {segmentation:>7.2} MB/s   ({words} words)");
    println!(
        "yuqing analyzer        {analysis:>7.2} MB/s   ({:.0}% of segmentation alone, median of {}-document chunks)",
        100.0 * ratio,
        ANALYZE_CHUNK
    );
    if options.peer {
        let file = tempfile::NamedTempFile::new()?;
        let text: String = docs
            .iter()
            .map(|d| format!("{} {}\n", d.title, d.content.replace('\n', " ")))
            .collect();
        std::fs::write(file.path(), text)?;
        let script = peer_script("jieba_cut.py")?;
        let output = std::process::Command::new("python3")
            .arg(script)
            .arg(file.path())
            .arg(options.repeat.max(1).to_string())
            .output()
            .context("cannot run python3")?;
        if !output.status.success() {
            bail!(
                "the Python jieba peer failed (pip install jieba?): {}",
                String::from_utf8_lossy(&output.stderr).trim()
            );
        }
        let result: serde_json::Value = serde_json::from_slice(&output.stdout)?;
        let python = result["mb_per_sec"]
            .as_f64()
            .context("peer printed no mb_per_sec")?;
        println!(
            "Python jieba (peer)    {python:>7.2} MB/s   (analyzer {:.0}×, segmentation {:.0}× faster)",
            analysis / python,
            segmentation / python
        );
    }
    Ok(())
}

pub struct IndexBench {
    pub docs: usize,
    /// Times each query of the mix is run after indexing.
    pub searches: usize,
    /// Where to keep the index; one already there is searched without indexing again.
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
pub fn index(config: &Config, options: IndexBench) -> anyhow::Result<()> {
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
