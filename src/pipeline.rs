//! `yuqing run`: every stage in one process, linked by the bus.
//!
//! Start-up checks everything first (dictionaries, rules, index, state database, alert
//! queries) and only then starts the stages. Shutdown drains in flow order: the crawler
//! stops, and each stage ends once the stage before it has ended and its topic is empty,
//! so a document in flight is indexed and an alert in flight is in the outbox.

use crate::config::{Config, Transport};
use crate::sample_site;
use anyhow::Context;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tokio::sync::{mpsc, watch};
use yuqing_alerts::{Notifier, Outbox};
use yuqing_analyzer::Analyzer;
use yuqing_bus::{Bus, Consumer, EmbeddedBus, Producer, Subscription, Topics};
use yuqing_crawler::{Crawler, SeenStore};
use yuqing_indexer::SearchIndex;
use yuqing_model::{Alert, AnalyzedDocument, RawDocument};

/// Where everything the system writes lives, under `--data-dir`.
pub struct DataDir {
    root: PathBuf,
}

impl DataDir {
    pub fn new(root: &Path) -> Self {
        DataDir {
            root: root.to_path_buf(),
        }
    }
    pub fn create(&self) -> anyhow::Result<()> {
        std::fs::create_dir_all(&self.root)
            .with_context(|| format!("cannot create data directory {}", self.root.display()))
    }
    pub fn index(&self) -> PathBuf {
        self.root.join("index")
    }
    pub fn state_db(&self) -> PathBuf {
        self.root.join("state.sqlite")
    }
    pub fn alert_log(&self) -> PathBuf {
        self.root.join("alerts.jsonl")
    }
    pub fn dead_letters(&self) -> PathBuf {
        self.root.join("dead-letter.jsonl")
    }
    /// Addresses of the running services, for scripts and tests.
    pub fn run_info(&self) -> PathBuf {
        self.root.join("run.json")
    }
}

/// Loads the analyzer (rules and dictionaries) and opens the index with its segmentation.
pub fn open_index(
    config: &Config,
    data: &DataDir,
    create: bool,
) -> anyhow::Result<(Arc<Analyzer>, SearchIndex)> {
    let analyzer = Arc::new(Analyzer::load(&config.analyzer)?);
    let index = if create {
        SearchIndex::open_or_create(&data.index(), analyzer.segmenter())?
    } else {
        SearchIndex::open(&data.index(), analyzer.segmenter())?
    };
    Ok((analyzer, index))
}

pub struct RunOptions {
    /// Visit each source once, drain the pipeline and exit.
    pub once: bool,
}

pub async fn run(config: Config, data: DataDir, options: RunOptions) -> anyhow::Result<()> {
    // ---- checks: nothing has started yet ----
    data.create()?;
    let (analyzer, index) = open_index(&config, &data, true)?;
    let rules = config.alert_rules();
    for (rule, spanned) in rules.iter().zip(&config.alerts) {
        yuqing_alerts::validate_rules(&index, std::slice::from_ref(rule))
            .map_err(|e| config.error_at(spanned.span().start, e.to_string()))?;
    }
    let seen = SeenStore::open(&data.state_db())
        .with_context(|| format!("cannot open state database {}", data.state_db().display()))?;
    let outbox =
        Arc::new(Outbox::open(&data.state_db()).with_context(|| {
            format!("cannot open state database {}", data.state_db().display())
        })?);

    let (shutdown_tx, shutdown) = watch::channel(false);

    // ---- the sample site and the desk ----
    let sample_site = if config.sample_site.enabled {
        let (base, _task) = sample_site::start(
            config.sample_site.listen,
            config.sample_site.root.clone(),
            shutdown.clone(),
        )
        .await?;
        tracing::info!(url = %base, "sample site serving");
        base
    } else {
        "http://127.0.0.1:1".to_string()
    };
    let sources = config.enabled_sources(&sample_site)?;
    let desk_listener = yuqing_desk::bind(config.desk.listen)
        .await
        .with_context(|| format!("desk: cannot listen on {}", config.desk.listen))?;
    let desk_addr = desk_listener.local_addr()?;
    let desk_task = tokio::spawn(yuqing_desk::serve(
        desk_listener,
        index.clone(),
        shutdown.clone(),
    ));
    tracing::info!(url = %format!("http://{desk_addr}"), "desk API listening");
    std::fs::write(
        data.run_info(),
        serde_json::json!({
            "desk": format!("http://{desk_addr}"),
            "sample_site": sample_site,
            "pid": std::process::id(),
        })
        .to_string(),
    )?;

    // ---- the bus and the stages ----
    let Transport::Embedded = config.bus.transport;
    let embedded = Arc::new(EmbeddedBus::new(config.bus.capacity));
    let bus: Arc<dyn Bus> = embedded.clone();
    let topics = Topics::default();
    let raw_out: Producer<RawDocument> = Producer::new(&*bus, &topics.raw)?;
    let raw_in: Consumer<RawDocument> =
        Consumer::new(&*bus, &topics.raw, "analyzer", &topics.dead_letter)?;
    let analyzed_out: Producer<AnalyzedDocument> = Producer::new(&*bus, &topics.analyzed)?;
    let analyzed_in: Consumer<AnalyzedDocument> =
        Consumer::new(&*bus, &topics.analyzed, "indexer", &topics.dead_letter)?;
    let alerts_out: Producer<Alert> = Producer::new(&*bus, &topics.alerts)?;
    let alerts_in: Consumer<Alert> =
        Consumer::new(&*bus, &topics.alerts, "notifier", &topics.dead_letter)?;
    // Read at byte level: a dead letter is kept as it is, never dead-lettered again.
    let dead_in = bus.subscribe(&topics.dead_letter, "dead-letter-log")?;
    // Every publisher exists now; from here a topic ends when its publishers are gone.
    embedded.close();

    let dead_letter_task = tokio::spawn(log_dead_letters(dead_in, data.dead_letters()));
    let notifier = Arc::new(Notifier::new(
        outbox.clone(),
        rules.clone(),
        data.alert_log(),
    )?);
    let notifier_task = tokio::spawn(yuqing_alerts::run_notifier(notifier, alerts_in));
    let (commit_tx, commit_rx) = mpsc::channel(64);
    let evaluator_task = tokio::spawn(yuqing_alerts::run_evaluator(
        index.clone(),
        rules,
        outbox,
        commit_rx,
        alerts_out,
    ));
    let indexer_task = tokio::spawn(yuqing_indexer::run_stage(
        index.clone(),
        config.indexer.clone(),
        analyzed_in,
        commit_tx,
    ));
    let analyzer_task = tokio::spawn(yuqing_analyzer::run_stage(analyzer, raw_in, analyzed_out));
    let crawler = Arc::new(Crawler::new(&config.crawler, seen, raw_out)?);
    tracing::info!(
        sources = sources.len(),
        once = options.once,
        "crawler starting"
    );
    let crawler_task = tokio::spawn(yuqing_crawler::run_sources(
        crawler,
        sources,
        options.once,
        shutdown.clone(),
    ));

    // ---- run until the crawl is done (--once) or we are told to stop ----
    let stop_signal = shutdown_tx.clone();
    tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_ok() {
            tracing::info!("interrupt received; draining the pipeline");
            let _ = stop_signal.send(true);
        }
    });
    crawler_task.await?.context("crawler")?;
    analyzer_task.await?.context("analyzer")?;
    indexer_task.await?.context("indexer")?;
    evaluator_task.await?.context("alert evaluator")?;
    // The notifier delivers what is due once more after its topic ends.
    notifier_task.await?.context("notifier")?;
    let _ = shutdown_tx.send(true);
    desk_task.await?.context("desk")?;
    dead_letter_task.await??;
    tracing::info!(documents = index.num_docs(), "stopped");
    Ok(())
}

/// Appends every dead letter to a JSON-lines file in the data directory: nothing that
/// failed is silently dropped.
async fn log_dead_letters(mut input: Box<dyn Subscription>, path: PathBuf) -> anyhow::Result<()> {
    use std::io::Write;
    while let Some(delivery) = input.recv().await? {
        let line = String::from_utf8_lossy(&delivery.payload);
        let mut file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .with_context(|| format!("cannot write {}", path.display()))?;
        writeln!(file, "{line}")?;
        input.commit(&delivery).await?;
    }
    Ok(())
}
