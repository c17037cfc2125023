//! The Apache Kafka transport of the bus, through rdkafka.
//!
//! - Publishing waits for the broker's acknowledgement (`acks=all`, idempotent producer);
//!   while Kafka is unreachable a publish is retried with backoff and logged, so nothing
//!   accepted upstream is lost.
//! - Subscriptions are consumer-group members with automatic commit of *stored* offsets
//!   only: an offset is stored by [`Subscription::commit`], which stages call once their
//!   result is safe downstream. Offsets of revoked partitions are committed before the
//!   partitions move to another member.
//! - Keys are document ids, so every version of a document lands in one partition.

use async_trait::async_trait;
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::config::ClientConfig;
use rdkafka::config::RDKafkaLogLevel;
use rdkafka::consumer::{
    BaseConsumer, CommitMode, Consumer, ConsumerContext, Rebalance, StreamConsumer,
};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::Message as _;
use rdkafka::producer::{FutureProducer, FutureRecord, Producer as _};
use rdkafka::{ClientContext, Offset, TopicPartitionList};
use serde::Deserialize;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};
use tokio::sync::watch;
use yuqing_bus::{Bus, BusError, Delivery, Publisher, Subscription, Topics};

/// `[bus.kafka]` in the configuration.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KafkaConfig {
    /// `host:port[,host:port…]`.
    #[serde(default = "default_brokers")]
    pub brokers: String,
    /// Topics are `<prefix>.raw`, `.analyzed`, `.alerts`, `.dead-letter`; consumer groups
    /// are `<prefix>.<stage>`. Lets several deployments share one cluster.
    #[serde(default = "default_prefix")]
    pub prefix: String,
    /// Partitions of each topic created at start (the most consumers a group can use).
    #[serde(default = "default_partitions")]
    pub partitions: i32,
    #[serde(default = "default_replication")]
    pub replication: i32,
}

fn default_brokers() -> String {
    "127.0.0.1:9092".into()
}
fn default_prefix() -> String {
    "yuqing".into()
}
fn default_partitions() -> i32 {
    4
}
fn default_replication() -> i32 {
    1
}

impl Default for KafkaConfig {
    fn default() -> Self {
        KafkaConfig {
            brokers: default_brokers(),
            prefix: default_prefix(),
            partitions: default_partitions(),
            replication: default_replication(),
        }
    }
}

impl KafkaConfig {
    pub fn topics(&self) -> Topics {
        Topics {
            raw: format!("{}.raw", self.prefix),
            analyzed: format!("{}.analyzed", self.prefix),
            alerts: format!("{}.alerts", self.prefix),
            dead_letter: format!("{}.dead-letter", self.prefix),
        }
    }

    fn group_id(&self, group: &str) -> String {
        format!("{}.{}", self.prefix, group)
    }
}

fn transport_error(topic: &str, error: impl std::fmt::Display) -> BusError {
    BusError::Transport {
        topic: topic.to_string(),
        message: error.to_string(),
    }
}

/// Longest pause between two attempts to reach Kafka.
const MAX_BACKOFF: Duration = Duration::from_secs(10);
/// Kafka clients try to reconnect at least this often, so a broker that is back is used
/// within a second or two.
const RECONNECT_BACKOFF_MAX_MS: &str = "1000";
/// Pause after a consumer error event (enough to not spin, short enough to drain).
const CONSUME_ERROR_PAUSE: Duration = Duration::from_millis(20);
/// While Kafka is failing, one log line per client per this interval says so.
const ERROR_LOG_INTERVAL: Duration = Duration::from_secs(10);
/// How long the client itself retries a message before reporting failure to us; we then
/// log and try again, so an outage is visible in the log while it lasts.
const MESSAGE_TIMEOUT_MS: &str = "15000";

/// The producer shared by all publishers of a bus. An idempotent producer can end in a
/// fatal state (after a broker restart it may be told its sequence numbers are out of
/// order); it cannot be used again and is replaced by a new one.
struct SharedProducer {
    brokers: String,
    current: std::sync::RwLock<FutureProducer<KafkaContext>>,
}

impl SharedProducer {
    fn create(brokers: &str) -> Result<FutureProducer<KafkaContext>, KafkaError> {
        ClientConfig::new()
            .set("bootstrap.servers", brokers)
            .set("acks", "all")
            .set("enable.idempotence", "true")
            .set("message.timeout.ms", MESSAGE_TIMEOUT_MS)
            .set("linger.ms", "5")
            .set("compression.type", "lz4")
            .set("reconnect.backoff.max.ms", RECONNECT_BACKOFF_MAX_MS)
            .create_with_context(KafkaContext::new("producer"))
    }

    fn get(&self) -> FutureProducer<KafkaContext> {
        self.current
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Replaces the producer if it is in a fatal state; says whether it did.
    fn renew_if_fatal(&self) -> bool {
        let mut current = self.current.write().unwrap_or_else(PoisonError::into_inner);
        let Some((code, reason)) = current.client().fatal_error() else {
            return false;
        };
        match Self::create(&self.brokers) {
            Ok(fresh) => {
                tracing::warn!(%code, reason, "kafka producer failed fatally; replaced by a new one");
                *current = fresh;
                true
            }
            Err(error) => {
                tracing::warn!(%error, "kafka producer failed fatally and cannot be replaced yet");
                false
            }
        }
    }
}

pub struct KafkaBus {
    config: KafkaConfig,
    producer: Arc<SharedProducer>,
    shutdown: watch::Receiver<bool>,
    stop: watch::Sender<bool>,
}

impl KafkaBus {
    /// Connects (lazily: nothing fails here if the broker is down) and prepares the
    /// producer. Call [`KafkaBus::ensure_topics`] before use.
    pub fn new(config: KafkaConfig) -> Result<Self, BusError> {
        let producer = Arc::new(SharedProducer {
            current: std::sync::RwLock::new(
                SharedProducer::create(&config.brokers)
                    .map_err(|e| transport_error("(producer)", e))?,
            ),
            brokers: config.brokers.clone(),
        });
        let (stop, shutdown) = watch::channel(false);
        Ok(KafkaBus {
            config,
            producer,
            shutdown,
            stop,
        })
    }

    pub fn topics(&self) -> Topics {
        self.config.topics()
    }

    /// Creates the topics that do not exist yet, waiting (with backoff) while the broker
    /// cannot be reached, until `shutdown`.
    pub async fn ensure_topics(&self) -> Result<(), BusError> {
        let admin: AdminClient<DefaultClientContext> = ClientConfig::new()
            .set("bootstrap.servers", &self.config.brokers)
            .create()
            .map_err(|e| transport_error("(admin)", e))?;
        let topics = self.config.topics();
        let names = [
            &topics.raw,
            &topics.analyzed,
            &topics.alerts,
            &topics.dead_letter,
        ];
        let new_topics: Vec<NewTopic> = names
            .iter()
            .map(|name| {
                NewTopic::new(
                    name,
                    self.config.partitions,
                    TopicReplication::Fixed(self.config.replication),
                )
            })
            .collect();
        let options = AdminOptions::new().operation_timeout(Some(Duration::from_secs(10)));
        let mut backoff = Duration::from_millis(500);
        loop {
            match admin.create_topics(&new_topics, &options).await {
                Ok(results) => {
                    for result in results {
                        match result {
                            Ok(name) => {
                                tracing::info!(topic = %name, partitions = self.config.partitions, "kafka topic created")
                            }
                            Err((_, RDKafkaErrorCode::TopicAlreadyExists)) => {}
                            Err((name, code)) => return Err(transport_error(&name, code)),
                        }
                    }
                    return Ok(());
                }
                Err(error) => {
                    tracing::warn!(brokers = %self.config.brokers, %error, retry_in_ms = backoff.as_millis() as u64, "kafka unreachable; waiting to create topics");
                    let mut shutdown = self.shutdown.clone();
                    tokio::select! {
                        _ = tokio::time::sleep(backoff) => {}
                        _ = shutdown.wait_for(|s| *s) => return Err(transport_error("(admin)", "stopped while waiting for kafka")),
                    }
                    backoff = (backoff * 2).min(MAX_BACKOFF);
                }
            }
        }
    }

    /// Ends every subscription (their `recv` returns `None` after the message in hand),
    /// so stages finish their current work, commit and stop.
    pub fn shutdown(&self) {
        let _ = self.stop.send(true);
    }

    /// Waits until everything produced is acknowledged (at most `timeout`).
    pub fn flush(&self, timeout: Duration) {
        if let Err(error) = self.producer.get().flush(timeout) {
            tracing::warn!(%error, "kafka producer flush incomplete");
        }
    }

    /// Consumer lag of one group on one topic, per partition.
    pub fn lag(&self, topic: &str, group: &str) -> Result<Vec<PartitionLag>, BusError> {
        let consumer: BaseConsumer = ClientConfig::new()
            .set("bootstrap.servers", &self.config.brokers)
            .set("group.id", self.config.group_id(group))
            .set("enable.auto.commit", "false")
            .create()
            .map_err(|e| transport_error(topic, e))?;
        let timeout = Duration::from_secs(5);
        let metadata = consumer
            .fetch_metadata(Some(topic), timeout)
            .map_err(|e| transport_error(topic, e))?;
        let mut tpl = TopicPartitionList::new();
        for t in metadata.topics() {
            for p in t.partitions() {
                tpl.add_partition(topic, p.id());
            }
        }
        let committed = consumer
            .committed_offsets(tpl, timeout)
            .map_err(|e| transport_error(topic, e))?;
        let mut lags = Vec::new();
        for element in committed.elements() {
            let (low, high) = consumer
                .fetch_watermarks(topic, element.partition(), timeout)
                .map_err(|e| transport_error(topic, e))?;
            let committed = match element.offset() {
                Offset::Offset(n) => Some(n),
                _ => None,
            };
            lags.push(PartitionLag {
                partition: element.partition(),
                committed,
                end: high,
                lag: high - committed.unwrap_or(low).max(low),
            });
        }
        lags.sort_by_key(|l| l.partition);
        Ok(lags)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct PartitionLag {
    pub partition: i32,
    /// The group's committed offset (the next message it will read), if any.
    pub committed: Option<i64>,
    /// The partition's end offset (high watermark).
    pub end: i64,
    /// Messages not yet processed by the group.
    pub lag: i64,
}

impl Bus for KafkaBus {
    fn publisher(&self, topic: &str) -> Result<Arc<dyn Publisher>, BusError> {
        Ok(Arc::new(KafkaPublisher {
            topic: topic.to_string(),
            producer: self.producer.clone(),
        }))
    }

    fn subscribe(&self, topic: &str, group: &str) -> Result<Box<dyn Subscription>, BusError> {
        let consumer: StreamConsumer<KafkaContext> = ClientConfig::new()
            .set("bootstrap.servers", &self.config.brokers)
            .set("group.id", self.config.group_id(group))
            .set("auto.offset.reset", "earliest")
            // Commit only what the stage stored as done, and commit it often.
            .set("enable.auto.commit", "true")
            .set("enable.auto.offset.store", "false")
            .set("auto.commit.interval.ms", "1000")
            // Under load, fetch 64 KB at a time rather than a request per new batch: the
            // broker's CPU is often the stages' CPU too. Idle, a message waits 20 ms more.
            .set("fetch.min.bytes", "65536")
            .set("fetch.wait.max.ms", "20")
            .set("session.timeout.ms", "10000")
            .set("heartbeat.interval.ms", "1000")
            .set("max.poll.interval.ms", "300000")
            .set("reconnect.backoff.max.ms", RECONNECT_BACKOFF_MAX_MS)
            .create_with_context(KafkaContext::new(&self.config.group_id(group)))
            .map_err(|e| transport_error(topic, e))?;
        consumer
            .subscribe(&[topic])
            .map_err(|e| transport_error(topic, e))?;
        Ok(Box::new(KafkaSubscription {
            topic: topic.to_string(),
            consumer,
            shutdown: self.shutdown.clone(),
        }))
    }
}

struct KafkaPublisher {
    topic: String,
    producer: Arc<SharedProducer>,
}

#[async_trait]
impl Publisher for KafkaPublisher {
    async fn publish(&self, key: &str, payload: Vec<u8>) -> Result<(), BusError> {
        let mut backoff = Duration::from_millis(200);
        loop {
            let record = FutureRecord::to(&self.topic).key(key).payload(&payload);
            let producer = self.producer.get();
            match producer.send(record, Duration::from_secs(30)).await {
                Ok(_) => return Ok(()),
                Err((error, _)) if is_fatal(&error) => {
                    return Err(transport_error(&self.topic, error));
                }
                Err(_) if self.producer.renew_if_fatal() => {
                    // Sent again at once through the new producer.
                }
                Err((error, _)) => {
                    tracing::warn!(topic = %self.topic, key, %error, retry_in_ms = backoff.as_millis() as u64, "kafka publish failed; retrying");
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(MAX_BACKOFF);
                }
            }
        }
    }

    fn topic(&self) -> &str {
        &self.topic
    }
}

/// Errors that retrying cannot fix (the message itself is refused).
fn is_fatal(error: &KafkaError) -> bool {
    matches!(
        error.rdkafka_error_code(),
        Some(RDKafkaErrorCode::MessageSizeTooLarge)
            | Some(RDKafkaErrorCode::InvalidMessage)
            | Some(RDKafkaErrorCode::TopicAuthorizationFailed)
            | Some(RDKafkaErrorCode::UnknownTopicOrPartition)
    )
}

struct KafkaSubscription {
    topic: String,
    consumer: StreamConsumer<KafkaContext>,
    shutdown: watch::Receiver<bool>,
}

#[async_trait]
impl Subscription for KafkaSubscription {
    async fn recv(&mut self) -> Result<Option<Delivery>, BusError> {
        loop {
            if *self.shutdown.borrow() {
                return Ok(None);
            }
            let received = tokio::select! {
                received = self.consumer.recv() => received,
                _ = self.shutdown.wait_for(|s| *s) => return Ok(None),
            };
            match received {
                Ok(message) => {
                    return Ok(Some(Delivery {
                        topic: message.topic().to_string(),
                        partition: message.partition(),
                        offset: message.offset(),
                        key: message
                            .key()
                            .map(|k| String::from_utf8_lossy(k).into_owned())
                            .unwrap_or_default(),
                        payload: message.payload().map(<[u8]>::to_vec).unwrap_or_default(),
                    }));
                }
                Err(error) => {
                    // Errors arrive as events in the message stream, one per call, and
                    // librdkafka reconnects by itself (the client context reports the outage).
                    // Drain them quickly: a long pause here lets a backlog of outage events
                    // hold the stream up long after Kafka is back.
                    tracing::debug!(topic = %self.topic, %error, "kafka consume error");
                    tokio::time::sleep(CONSUME_ERROR_PAUSE).await;
                }
            }
        }
    }

    async fn commit(&mut self, delivery: &Delivery) -> Result<(), BusError> {
        // Stores offset+1 for the next automatic commit. A partition revoked meanwhile
        // refuses the store: its new owner reprocesses the message (at-least-once).
        if let Err(error) =
            self.consumer
                .store_offset(&delivery.topic, delivery.partition, delivery.offset)
        {
            tracing::debug!(topic = %delivery.topic, partition = delivery.partition, offset = delivery.offset, %error, "offset not stored (partition revoked?)");
        }
        Ok(())
    }
}

impl Drop for KafkaSubscription {
    fn drop(&mut self) {
        // Leave nothing processed uncommitted when a stage stops.
        if let Err(error) = self.consumer.commit_consumer_state(CommitMode::Sync) {
            if !matches!(error.rdkafka_error_code(), Some(RDKafkaErrorCode::NoOffset)) {
                tracing::warn!(topic = %self.topic, %error, "final offset commit failed");
            }
        }
    }
}

/// Logs what librdkafka reports, without flooding: while the broker is unreachable the
/// client reports every reconnect attempt, and one line per interval is enough. For
/// consumers it also commits stored offsets before partitions are taken away.
struct KafkaContext {
    client: String,
    last_error: Mutex<Option<(Instant, u64)>>,
}

impl KafkaContext {
    fn new(client: &str) -> Self {
        KafkaContext {
            client: client.to_string(),
            last_error: Mutex::new(None),
        }
    }

    fn report(&self, message: &str) {
        let mut last = self
            .last_error
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        match &mut *last {
            Some((at, suppressed)) if at.elapsed() < ERROR_LOG_INTERVAL => *suppressed += 1,
            _ => {
                let suppressed = last.map(|(_, n)| n).unwrap_or(0);
                tracing::warn!(client = %self.client, suppressed, "kafka: {message}");
                *last = Some((Instant::now(), 0));
            }
        }
    }
}

impl ClientContext for KafkaContext {
    fn log(&self, level: RDKafkaLogLevel, facility: &str, message: &str) {
        match level {
            RDKafkaLogLevel::Emerg
            | RDKafkaLogLevel::Alert
            | RDKafkaLogLevel::Critical
            | RDKafkaLogLevel::Error
            | RDKafkaLogLevel::Warning => self.report(&format!("{facility} {message}")),
            _ => tracing::debug!(client = %self.client, "librdkafka {facility} {message}"),
        }
    }

    fn error(&self, error: KafkaError, reason: &str) {
        self.report(&format!("{error}: {reason}"));
    }
}

impl ConsumerContext for KafkaContext {
    fn pre_rebalance(&self, consumer: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        if let Rebalance::Revoke(partitions) = rebalance {
            if partitions.count() > 0 {
                match consumer.commit_consumer_state(CommitMode::Sync) {
                    Ok(()) => {}
                    Err(error)
                        if matches!(
                            error.rdkafka_error_code(),
                            Some(RDKafkaErrorCode::NoOffset)
                                | Some(RDKafkaErrorCode::AssignmentLost)
                        ) => {}
                    Err(error) => {
                        tracing::warn!(group = %self.client, %error, "offset commit before revoke failed")
                    }
                }
                tracing::info!(group = %self.client, partitions = partitions.count(), "kafka partitions revoked");
            }
        }
    }

    fn post_rebalance(&self, _consumer: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        match rebalance {
            Rebalance::Assign(partitions) => {
                let assigned: Vec<String> = partitions
                    .elements()
                    .iter()
                    .map(|e| format!("{}/{}", e.topic(), e.partition()))
                    .collect();
                tracing::info!(group = %self.client, partitions = ?assigned, "kafka partitions assigned");
            }
            Rebalance::Error(error) => {
                tracing::warn!(group = %self.client, %error, "kafka rebalance error")
            }
            Rebalance::Revoke(_) => {}
        }
    }
}

/// For tests that need a broker.
pub mod testing {
    /// The Kafka broker of the test run (`YUQING_KAFKA`, set by scripts/test). Without one
    /// the caller should skip, and this says so on the terminal; in CI (`CI=true`) a
    /// missing broker is a failure, so nothing is skipped silently there.
    pub fn broker_from_env() -> Option<String> {
        match std::env::var("YUQING_KAFKA") {
            Ok(address) if !address.is_empty() => Some(address),
            _ if std::env::var("CI").as_deref() == Ok("true") => {
                panic!("CI=true but YUQING_KAFKA is not set: the Kafka broker did not start")
            }
            _ => {
                // Written to the stream itself: the test harness hides `eprintln!` of
                // passing tests.
                use std::io::Write;
                let _ = writeln!(
                    std::io::stderr(),
                    "\nSKIPPED: no Kafka broker (run ./scripts/test, or scripts/kafka start and set YUQING_KAFKA)"
                );
                None
            }
        }
    }
}
