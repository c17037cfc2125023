//! What an operator checks first: documents indexed, alerts waiting for delivery, and,
//! with Kafka, whether it answers and how far each consumer group is behind on each
//! partition. Printed by `yuqing status` and served by the desk (`GET /api/status`,
//! `GET /metrics`) through [`SystemStatus`].

use serde::Serialize;
use std::collections::BTreeMap;
use std::sync::Arc;
use yuqing_alerts::AlertStore;
use yuqing_analyzer::{LiveAnalyzer, ReloadStatus};
use yuqing_bus_kafka::{KafkaBus, PartitionLag};
use yuqing_crawler::{SeenStore, SourceHealth};
use yuqing_desk::{StatusReport, StatusSource};
use yuqing_indexer::SearchIndex;
use yuqing_model::health::{Health, StageState};

/// A Prometheus label value: backslashes, quotes and line breaks escaped.
fn label(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

#[derive(Serialize)]
pub struct Status {
    pub documents: Option<u64>,
    pub alerts_pending: Option<u64>,
    pub alerts_delivered: Option<u64>,
    /// The analyzer's rules: which version runs, and the error of a failed reload.
    pub analyzer_rules: Option<ReloadStatus>,
    /// Each source's last visits: whether it works, and why not.
    pub sources: Option<Vec<SourceHealth>>,
    pub kafka: Option<KafkaStatus>,
    /// Each stage of this process: running, retrying a step (with the error and since
    /// when) or failed.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub stages: BTreeMap<String, StageState>,
}

#[derive(Serialize)]
pub struct KafkaStatus {
    pub reachable: bool,
    /// Why Kafka could not be asked, when it could not.
    pub error: Option<String>,
    pub groups: Vec<GroupLag>,
}

#[derive(Serialize)]
pub struct GroupLag {
    pub topic: String,
    pub group: String,
    pub lag: i64,
    pub partitions: Vec<PartitionLag>,
}

impl Status {
    /// The status in the Prometheus text format, for the bureau's monitoring.
    pub fn prometheus(&self) -> String {
        use std::fmt::Write;
        let mut out = String::new();
        let mut gauge = |name: &str, help: &str, value: Option<f64>| {
            if let Some(value) = value {
                let _ = writeln!(
                    out,
                    "# HELP {name} {help}\n# TYPE {name} gauge\n{name} {value}"
                );
            }
        };
        gauge(
            "yuqing_documents",
            "Documents in the index.",
            self.documents.map(|n| n as f64),
        );
        gauge(
            "yuqing_alerts_pending",
            "Alert deliveries waiting in the outbox (retries included).",
            self.alerts_pending.map(|n| n as f64),
        );
        gauge(
            "yuqing_alerts_delivered",
            "Alert deliveries a channel accepted.",
            self.alerts_delivered.map(|n| n as f64),
        );
        if let Some(rules) = &self.analyzer_rules {
            gauge(
                "yuqing_analyzer_rules_version",
                "Version of the analyzer rules in use (1 at start, one more per reload).",
                Some(rules.version as f64),
            );
            gauge(
                "yuqing_analyzer_rules_error",
                "1 when the rule files on disk do not load (the last good version runs).",
                Some(f64::from(u8::from(rules.error.is_some()))),
            );
        }
        if let Some(kafka) = &self.kafka {
            gauge(
                "yuqing_kafka_reachable",
                "1 when the Kafka brokers answer.",
                Some(f64::from(u8::from(kafka.reachable))),
            );
            let _ = writeln!(
                out,
                "# HELP yuqing_kafka_lag Messages a consumer group has not processed yet.\n# TYPE yuqing_kafka_lag gauge"
            );
            for group in &kafka.groups {
                for p in &group.partitions {
                    let _ = writeln!(
                        out,
                        "yuqing_kafka_lag{{topic=\"{}\",group=\"{}\",partition=\"{}\"}} {}",
                        group.topic, group.group, p.partition, p.lag
                    );
                }
            }
        }
        if let Some(sources) = &self.sources {
            type Value = fn(&SourceHealth) -> u64;
            let per_source: [(&str, &str, &str, Value); 2] = [
                (
                    "yuqing_source_consecutive_failures",
                    "Visits of the source failed in a row (0: it works).",
                    "gauge",
                    |s| s.consecutive_failures,
                ),
                (
                    "yuqing_source_documents_total",
                    "Documents the source brought in.",
                    "counter",
                    |s| s.collected_total,
                ),
            ];
            for (name, help, kind, value) in per_source {
                let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
                for s in sources {
                    let _ = writeln!(
                        out,
                        "{name}{{source=\"{}\"}} {}",
                        label(&s.source),
                        value(s)
                    );
                }
            }
        }
        if !self.stages.is_empty() {
            let _ = writeln!(
                out,
                "# HELP yuqing_stage_up 1 while the stage runs, 0 while it retries a failing step or has failed.\n# TYPE yuqing_stage_up gauge"
            );
            for (stage, state) in &self.stages {
                let up = u8::from(*state == StageState::Running);
                let _ = writeln!(out, "yuqing_stage_up{{stage=\"{stage}\"}} {up}");
            }
        }
        out
    }
}

fn kafka_status(bus: &KafkaBus) -> KafkaStatus {
    let topics = bus.topics();
    let mut groups = Vec::new();
    for (topic, group) in [
        (&topics.raw, "analyzer"),
        (&topics.analyzed, "indexer"),
        (&topics.alerts, "notifier"),
    ] {
        match bus.lag(topic, group) {
            Ok(partitions) => groups.push(GroupLag {
                topic: topic.clone(),
                group: group.to_string(),
                lag: partitions.iter().map(|p| p.lag).sum(),
                partitions,
            }),
            Err(error) => {
                return KafkaStatus {
                    reachable: false,
                    error: Some(error.to_string()),
                    groups,
                }
            }
        }
    }
    KafkaStatus {
        reachable: true,
        error: None,
        groups,
    }
}

/// Gathers the status. Blocking: it may wait a few seconds for Kafka.
pub fn collect(
    documents: Option<u64>,
    store: Option<&AlertStore>,
    analyzer_rules: Option<ReloadStatus>,
    sources: Option<&SeenStore>,
    kafka: Option<&KafkaBus>,
    health: Option<&Health>,
) -> Status {
    let counts = store.and_then(|o| o.counts().ok());
    Status {
        stages: health.map(Health::stages).unwrap_or_default(),
        documents,
        alerts_pending: counts.map(|(pending, _)| pending),
        alerts_delivered: counts.map(|(_, delivered)| delivered),
        analyzer_rules,
        sources: sources.and_then(|s| s.source_health().ok()),
        kafka: kafka.map(kafka_status),
    }
}

/// The parts of a running process the desk's `/api/status` and `/metrics` report on.
pub struct SystemStatus {
    pub index: Option<SearchIndex>,
    pub alert_store: Option<Arc<AlertStore>>,
    pub analyzer: Option<Arc<LiveAnalyzer>>,
    pub seen: Option<Arc<SeenStore>>,
    pub kafka: Option<Arc<KafkaBus>>,
    pub health: Option<Arc<Health>>,
}

impl StatusSource for SystemStatus {
    fn collect(&self) -> StatusReport {
        let status = collect(
            self.index.as_ref().map(SearchIndex::num_docs),
            self.alert_store.as_deref(),
            self.analyzer.as_ref().map(|a| a.status()),
            self.seen.as_deref(),
            self.kafka.as_deref(),
            self.health.as_deref(),
        );
        StatusReport {
            json: serde_json::to_value(&status).unwrap_or_default(),
            prometheus: status.prometheus(),
        }
    }
}
