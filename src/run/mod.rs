//! `yuqing run`: the stages of one process, linked by the bus.
//!
//! With the embedded bus every stage runs here (role `all`). With Kafka a process runs
//! one role (or all of them), and several processes of a role share the work through a
//! consumer group; the stage code is the same either way.
//!
//! Start-up checks everything first (dictionaries, rules, index, state database, alert
//! queries) and only then starts the stages. Shutdown drains in flow order: the crawler
//! stops, and each stage ends once its input has ended (embedded: the stage before it has
//! ended and the channel is empty; Kafka: the bus was told to stop), committing what it
//! finished, so a document in flight is indexed and an alert in flight is in the outbox.

mod access;
mod data_dir;
mod parts;
mod roles;
pub mod status;

pub use access::DeskAccess;
pub use data_dir::DataDir;
pub use parts::{load_rule_book, open_index};
pub use roles::{Role, Shard};

use crate::config::{Config, Transport};
use crate::sample_site;
use anyhow::{bail, Context};
use parts::{NotifierPart, Parts};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;
use yuqing_alerts::Notifier;
use yuqing_bus::{Bus, Consumer, EmbeddedBus, Producer, Subscription, Topics};
use yuqing_bus_kafka::KafkaBus;
use yuqing_crawler::{Crawler, SeenStore};
use yuqing_indexer::Committed;
use yuqing_model::health::Health;
use yuqing_model::{Alert, AnalyzedDocument, RawDocument};

pub struct RunOptions {
    /// Visit each source once, drain the pipeline and exit (embedded bus only).
    pub once: bool,
    pub role: Role,
    /// Overrides `[bus] transport` of the configuration.
    pub transport: Option<Transport>,
    /// This crawler's share of the sources, when several crawl.
    pub shard: Option<Shard>,
}

/// The transport behind the `Bus` trait, for the two things only the wiring does with
/// it: sealing (embedded) and stopping (Kafka).
enum Link {
    Embedded(Arc<EmbeddedBus>),
    Kafka(Arc<KafkaBus>),
}

impl Link {
    fn bus(&self) -> Arc<dyn Bus> {
        match self {
            Link::Embedded(bus) => bus.clone(),
            Link::Kafka(bus) => bus.clone(),
        }
    }
}

type Stage = JoinHandle<anyhow::Result<()>>;

/// The stages of the process: their tasks, their states, and word of the first to fail.
struct Stages {
    running: Vec<(&'static str, Stage)>,
    health: Arc<Health>,
    failed_tx: mpsc::UnboundedSender<(&'static str, String)>,
}

impl Stages {
    /// Starts a stage. It shows as running in the health report; if it ends with an
    /// error it shows as failed and the process stops (see [`run`]): a stage that could
    /// not get past a fault by itself is started again by the process's supervisor.
    fn spawn<E>(
        &mut self,
        name: &'static str,
        future: impl std::future::Future<Output = Result<(), E>> + Send + 'static,
    ) where
        E: Into<anyhow::Error> + Send + 'static,
    {
        self.health.running(name);
        let (health, failed) = (self.health.clone(), self.failed_tx.clone());
        let task = tokio::spawn(async move {
            let result = future.await.map_err(Into::into);
            if let Err(error) = &result {
                let error = format!("{error:#}");
                health.failed(name, &error);
                let _ = failed.send((name, error));
            }
            result
        });
        self.running.push((name, task));
    }
}

pub async fn run(config: Config, data: DataDir, options: RunOptions) -> anyhow::Result<()> {
    let transport = options.transport.unwrap_or(config.bus.transport);
    let role = options.role;
    if transport == Transport::Embedded && role != Role::All {
        bail!("--role {role:?} needs the Kafka bus (--bus kafka): the embedded bus links stages inside one process");
    }
    if transport == Transport::Kafka && options.once {
        bail!("--once needs the embedded bus: with Kafka the stages do not know when the others are done");
    }

    // ---- checks: nothing has started yet ----
    let Parts {
        crawler: seen,
        analyzer,
        indexer,
        notifier,
    } = Parts::open(&config, &data, role, transport)?;
    // The desk's users and the 签收 link key: for the desk, and for the notifier's links.
    let desk_access = match (&indexer, &notifier) {
        (None, None) => None,
        _ => Some(DeskAccess::open(&config, &data)?),
    };

    let (shutdown_tx, shutdown) = watch::channel(false);
    let stop_signal = shutdown_tx.clone();
    tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_ok() {
            tracing::info!("interrupt received; draining the pipeline");
            let _ = stop_signal.send(true);
        }
    });

    // ---- the bus ----
    let (link, topics) = match transport {
        Transport::Embedded => (
            Link::Embedded(Arc::new(EmbeddedBus::new(config.bus.capacity))),
            Topics::default(),
        ),
        Transport::Kafka => {
            let kafka = Arc::new(KafkaBus::new(config.bus.kafka.clone())?);
            tracing::info!(brokers = %config.bus.kafka.brokers, role = ?role, "connecting to kafka");
            kafka.ensure_topics().await?;
            let topics = kafka.topics();
            (Link::Kafka(kafka), topics)
        }
    };
    let bus = link.bus();
    let mut run_info = serde_json::Map::new();
    run_info.insert("pid".into(), std::process::id().into());
    run_info.insert("role".into(), format!("{role:?}").to_lowercase().into());
    let health = Arc::new(Health::default());
    let (failed_tx, mut failed) = mpsc::unbounded_channel();
    let mut stages = Stages {
        running: Vec::new(),
        health: health.clone(),
        failed_tx,
    };

    // ---- the stages, downstream first so that every consumer exists before its producer ----
    if let Link::Embedded(_) = link {
        // Read at byte level: a dead letter is kept as it is, never dead-lettered again.
        let dead_in = bus.subscribe(&topics.dead_letter, "dead-letter-log")?;
        stages.spawn(
            "dead-letter log",
            log_dead_letters(dead_in, data.dead_letters(), health.clone()),
        );
    }
    if let Some(NotifierPart {
        alert_store,
        rule_book,
    }) = notifier
    {
        let alerts_in: Consumer<Alert> =
            Consumer::new(&*bus, &topics.alerts, "notifier", &topics.dead_letter)?;
        let notifier = Arc::new(Notifier::new(
            alert_store,
            rule_book,
            config.alert_channels(),
            data.alert_log(),
            desk_access.as_ref().and_then(|a| a.ack_linker(&config)),
            config.alert_guard(),
        )?);
        stages.spawn(
            yuqing_alerts::NOTIFIER_STAGE,
            yuqing_alerts::run_notifier(notifier, alerts_in, health.clone()),
        );
    }
    let documents = indexer.as_ref().map(|i| i.index.clone());
    if let Some(indexer) = &indexer {
        let index = &indexer.index;
        let analyzed_in: Consumer<AnalyzedDocument> =
            Consumer::new(&*bus, &topics.analyzed, "indexer", &topics.dead_letter)?;
        let alerts_out: Producer<Alert> = Producer::new(&*bus, &topics.alerts)?;
        let (commit_tx, commit_rx) = mpsc::channel(64);
        // With the embedded bus a page is safe only once its document is committed and
        // judged by the alert rules: a crash before that has it fetched again.
        let judged = match (&link, &seen) {
            (Link::Embedded(_), Some(seen)) => {
                let (judged, confirming) = confirm_judged(seen.clone());
                // A stage of its own, waited for at the end: the last commit's pages are
                // confirmed before the process exits.
                stages.spawn("seen-store confirmation", confirming);
                Some(judged)
            }
            _ => None,
        };
        stages.spawn(
            yuqing_alerts::EVALUATOR_STAGE,
            yuqing_alerts::run_evaluator(
                index.clone(),
                indexer.rule_book.clone(),
                indexer.alert_store.clone(),
                commit_rx,
                alerts_out,
                yuqing_alerts::EvaluatorLinks {
                    replay_unstored: matches!(link, Link::Embedded(_)),
                    judged,
                    health: health.clone(),
                },
            ),
        );
        stages.spawn(
            yuqing_indexer::INDEXER_STAGE,
            yuqing_indexer::run_stage(
                index.clone(),
                config.indexer.clone(),
                analyzed_in,
                commit_tx,
                health.clone(),
            ),
        );
        let desk_listener = yuqing_desk::bind(config.desk.listen)
            .await
            .with_context(|| format!("desk: cannot listen on {}", config.desk.listen))?;
        let desk_addr = desk_listener.local_addr()?;
        let desk_url = format!("http://{desk_addr}");
        tracing::info!(url = %desk_url, "desk API listening");
        run_info.insert("desk".into(), desk_url.into());
        let kafka = match &link {
            Link::Kafka(kafka) => Some(kafka.clone()),
            Link::Embedded(_) => None,
        };
        let status = status::SystemStatus {
            index: Some(index.clone()),
            alert_store: Some(indexer.alert_store.clone()),
            analyzer: Some(indexer.analyzer.clone()),
            // The crawler's store, or on a desk without a crawler the one beside it.
            seen: seen
                .clone()
                .or_else(|| SeenStore::open(&data.state_db()).ok().map(Arc::new)),
            kafka,
            health: Some(health.clone()),
        };
        let router = yuqing_desk::router(
            yuqing_desk::DeskParts {
                index: Some(index.clone()),
                alert_store: Some(indexer.alert_store.clone()),
                rule_book: Some(indexer.rule_book.clone()),
                status: Some(Arc::new(status)),
                health: health.clone(),
            },
            desk_access
                .as_ref()
                .expect("opened where there is an indexer")
                .security(&config, desk_addr),
        );
        stages.spawn(
            "desk",
            yuqing_desk::serve(
                desk_listener,
                router,
                config.desk.serve_limits(),
                shutdown.clone(),
            ),
        );
    }
    if let Some(analyzer) = &analyzer {
        let raw_in: Consumer<RawDocument> =
            Consumer::new(&*bus, &topics.raw, "analyzer", &topics.dead_letter)?;
        let analyzed_out: Producer<AnalyzedDocument> = Producer::new(&*bus, &topics.analyzed)?;
        stages.spawn(
            "analyzer",
            yuqing_analyzer::run_stage(analyzer.clone(), raw_in, analyzed_out),
        );
        // Ends with the process; an aborted check loses nothing.
        analyzer.watch(Duration::from_secs(config.analyzer.reload_secs));
    }
    let mut crawler_stage = None;
    if let Some(seen) = seen.clone() {
        let sample_site = if config.sample_site.enabled {
            let (base, _task) = sample_site::start(
                config.sample_site.listen,
                config.sample_site.root.clone(),
                shutdown.clone(),
            )
            .await?;
            tracing::info!(url = %base, "sample site serving");
            run_info.insert("sample_site".into(), base.clone().into());
            base
        } else {
            crate::config::SAMPLE_SITE_PLACEHOLDER.to_string()
        };
        let mut sources = config.enabled_sources(&sample_site)?;
        if let Some(shard) = options.shard {
            sources.retain(|s| shard.owns(s.name()));
            tracing::info!(shard = %format!("{}/{}", shard.index, shard.count), sources = sources.len(), "crawling this shard's sources");
        }
        let raw_out: Producer<RawDocument> = Producer::new(&*bus, &topics.raw)?;
        let durable = transport == Transport::Kafka;
        let crawler = Arc::new(Crawler::new(&config.crawler, seen, raw_out, durable)?);
        tracing::info!(
            sources = sources.len(),
            once = options.once,
            "crawler starting"
        );
        crawler_stage = Some(tokio::spawn(yuqing_crawler::run_sources(
            crawler,
            sources,
            options.once,
            shutdown.clone(),
        )));
    }
    if let Link::Embedded(embedded) = &link {
        // Every publisher exists now; from here a topic ends when its publishers are gone.
        embedded.close();
    }
    drop(bus);
    std::fs::write(
        data.run_info(),
        serde_json::Value::Object(run_info).to_string(),
    )?;

    // ---- run until the crawl is done (--once) or we are told to stop ----
    let running = async {
        if let Some(crawler) = crawler_stage {
            crawler.await?.context("crawler")?;
        }
        if let Link::Kafka(kafka) = &link {
            let mut shutdown = shutdown.clone();
            let _ = shutdown.wait_for(|stop| *stop).await;
            kafka.shutdown();
        }
        anyhow::Ok(())
    };
    tokio::select! {
        done = running => done?,
        // Faults a stage can get past (a full disk) it waits out by itself; one that
        // ends it stops the process, so that its supervisor (systemd, Kubernetes) starts
        // it again. What was accepted is in the outbox, the index and the bus.
        Some((name, error)) = failed.recv() => {
            let _ = shutdown_tx.send(true);
            bail!("the {name} stage failed: {error}; stopping so that the process is started again");
        }
    }
    // The desk goes last: it serves searches until the index has its final commit.
    let mut stages = stages.running;
    let desk = stages
        .iter()
        .position(|(name, _)| *name == "desk")
        .map(|i| stages.remove(i));
    for (name, stage) in stages {
        stage.await?.with_context(|| name.to_string())?;
    }
    let _ = shutdown_tx.send(true);
    if let Some((_, desk)) = desk {
        desk.await?.context("desk")?;
    }
    if let Link::Kafka(kafka) = &link {
        kafka.flush(Duration::from_secs(10));
    }
    match &documents {
        Some(index) => tracing::info!(documents = index.num_docs(), "stopped"),
        None => tracing::info!("stopped"),
    }
    Ok(())
}

/// Marks the pages of each judged commit safe in the crawler's seen-store.
/// Ends once the evaluator, holding the sender, has ended and every commit is confirmed.
fn confirm_judged(
    seen: Arc<SeenStore>,
) -> (
    mpsc::Sender<Committed>,
    impl std::future::Future<Output = anyhow::Result<()>>,
) {
    let (tx, mut judged) = mpsc::channel::<Committed>(64);
    let confirming = async move {
        while let Some(committed) = judged.recv().await {
            let seen = seen.clone();
            match tokio::task::spawn_blocking(move || seen.confirm(&committed.ids)).await {
                Ok(Ok(())) => {}
                Ok(Err(error)) => {
                    tracing::error!(%error, "seen-store: cannot confirm indexed pages; they will be refetched")
                }
                Err(panic) => tracing::error!(%panic, "seen-store confirmation panicked"),
            }
        }
        Ok(())
    };
    (tx, confirming)
}

/// Appends every dead letter to a JSON-lines file in the data directory: nothing that
/// failed is silently dropped. A letter that cannot be written (a full disk) is held and
/// written again until it is, before it is let go.
async fn log_dead_letters(
    mut input: Box<dyn Subscription>,
    path: PathBuf,
    health: Arc<Health>,
) -> anyhow::Result<()> {
    while let Some(delivery) = input.recv().await? {
        let line = format!("{}\n", String::from_utf8_lossy(&delivery.payload));
        health
            .retry("dead-letter log", "write a dead letter", || async {
                yuqing_model::append_durably(&path, line.as_bytes())
                    .map_err(|e| format!("{}: {e}", path.display()))
            })
            .await;
        input.commit(&delivery).await?;
    }
    Ok(())
}
