//! `yuqing bench pipeline`: documents per second from the crawler's hand-off to the index
//! commit, and the latency from hand-off to searchable, through the embedded bus and
//! through Kafka, with the same stage code and the same corpus in one process.

use super::{corpus, median, percentile};
use crate::config::Config;
use anyhow::{bail, Context};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::mpsc;
use yuqing_analyzer::LiveAnalyzer;
use yuqing_bus::{Bus, Consumer, EmbeddedBus, Producer, Topics};
use yuqing_bus_kafka::{KafkaBus, KafkaConfig};
use yuqing_indexer::{IndexerConfig, SearchIndex};
use yuqing_model::{AnalyzedDocument, RawDocument};

#[derive(clap::Args)]
pub struct PipelineBench {
    #[arg(long, default_value_t = 5000)]
    pub docs: usize,
    #[arg(long, default_value_t = 3)]
    pub repeat: usize,
    /// Kafka brokers to measure beside the embedded bus, e.g. 127.0.0.1:9092.
    #[arg(long)]
    pub kafka: Option<String>,
    /// Replaces the configuration's `[indexer] commit_interval_ms`.
    #[arg(long)]
    pub commit_interval_ms: Option<u64>,
    /// Documents per second handed over in the latency run (below what the pipeline can
    /// take, as crawlers hand them over, so that latency is not time spent queueing).
    #[arg(long, default_value_t = 500.0)]
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
        Arc::default(),
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

pub async fn run(config: &Config, options: PipelineBench) -> anyhow::Result<()> {
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
