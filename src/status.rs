//! What an operator checks first: documents indexed, alerts waiting for delivery, and,
//! with Kafka, whether it answers and how far each consumer group is behind on each
//! partition. Printed by `yuqing status` and served as `GET /api/status` by the desk.

use crate::config::{Config, Transport};
use crate::pipeline::{self, DataDir};
use serde::Serialize;
use std::sync::Arc;
use yuqing_alerts::AlertStore;
use yuqing_analyzer::{LiveAnalyzer, ReloadStatus};
use yuqing_bus_kafka::{KafkaBus, PartitionLag};
use yuqing_crawler::{SeenStore, SourceHealth};
use yuqing_desk::{StatusReport, StatusSource};
use yuqing_indexer::SearchIndex;

/// A Prometheus label value: backslashes, quotes and line breaks escaped.
fn label(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

#[derive(Serialize)]
pub struct Status {
    documents: Option<u64>,
    alerts_pending: Option<u64>,
    alerts_delivered: Option<u64>,
    /// The analyzer's rules: which version runs, and the error of a failed reload.
    analyzer_rules: Option<ReloadStatus>,
    /// Each source's last visits: whether it works, and why not.
    sources: Option<Vec<SourceHealth>>,
    kafka: Option<KafkaStatus>,
}

#[derive(Serialize)]
struct KafkaStatus {
    reachable: bool,
    /// Why Kafka could not be asked, when it could not.
    error: Option<String>,
    groups: Vec<GroupLag>,
}

#[derive(Serialize)]
struct GroupLag {
    topic: String,
    group: String,
    lag: i64,
    partitions: Vec<PartitionLag>,
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
) -> Status {
    let counts = store.and_then(|o| o.counts().ok());
    Status {
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
}

impl StatusSource for SystemStatus {
    fn collect(&self) -> StatusReport {
        let status = collect(
            self.index.as_ref().map(SearchIndex::num_docs),
            self.alert_store.as_deref(),
            self.analyzer.as_ref().map(|a| a.status()),
            self.seen.as_deref(),
            self.kafka.as_deref(),
        );
        StatusReport {
            json: serde_json::to_value(&status).unwrap_or_default(),
            prometheus: status.prometheus(),
        }
    }
}

pub fn print(
    config: &Config,
    data: &DataDir,
    transport: Option<Transport>,
    json: bool,
) -> anyhow::Result<()> {
    let documents = pipeline::open_index(config, data, false)
        .ok()
        .map(|(_, index)| index.num_docs());
    let store = AlertStore::open(&data.state_db()).ok();
    let kafka = match transport.unwrap_or(config.bus.transport) {
        Transport::Embedded => None,
        Transport::Kafka => Some(KafkaBus::new(config.bus.kafka.clone())?),
    };
    // Whether the rule files on disk load now (a running system keeps its last good
    // version when they do not).
    let rules = match LiveAnalyzer::load(config.analyzer.clone()) {
        Ok(live) => live.status(),
        Err(error) => ReloadStatus {
            version: 0,
            loaded_at: chrono::Utc::now(),
            error: Some(error.to_string()),
        },
    };
    let seen = SeenStore::open(&data.state_db()).ok();
    let status = collect(
        documents,
        store.as_ref(),
        Some(rules),
        seen.as_ref(),
        kafka.as_ref(),
    );
    if json {
        println!("{}", serde_json::to_string(&status)?);
        return Ok(());
    }
    let or_none = |n: Option<u64>| n.map(|n| n.to_string()).unwrap_or_else(|| "无".into());
    println!("已索引文档：{}", or_none(status.documents));
    println!(
        "待投递预警：{}，已投递：{}",
        or_none(status.alerts_pending),
        or_none(status.alerts_delivered)
    );
    if let Some(error) = status
        .analyzer_rules
        .as_ref()
        .and_then(|r| r.error.as_ref())
    {
        println!("分析规则文件有误（运行中的系统继续使用上一个正确版本）：{error}");
    } else {
        println!("分析规则文件：正常");
    }
    // Times as the desk reads them: Beijing time, to the second.
    let beijing = |at: &str| {
        chrono::DateTime::parse_from_rfc3339(at)
            .map(|t| {
                t.with_timezone(&yuqing_model::beijing())
                    .format("%Y-%m-%d %H:%M:%S")
                    .to_string()
            })
            .unwrap_or_else(|_| at.to_string())
    };
    for source in status.sources.iter().flatten() {
        let visited = beijing(&source.last_visit_at);
        match &source.last_error {
            None => println!(
                "信源「{}」：正常，上次采集 {} 篇，累计 {} 篇（{visited}）",
                source.source, source.last_collected, source.collected_total
            ),
            Some(error) => println!(
                "信源「{}」：连续失败 {} 次（{visited}）：{error}",
                source.source, source.consecutive_failures
            ),
        }
    }
    if let Some(kafka) = &status.kafka {
        if let Some(error) = &kafka.error {
            println!("Kafka 无法连接：{error}");
        }
        println!("Kafka 消费积压（lag）：");
        for g in &kafka.groups {
            let parts: Vec<String> = g
                .partitions
                .iter()
                .map(|p| format!("p{}={}", p.partition, p.lag))
                .collect();
            println!(
                "  {} / {}：{}（{}）",
                g.topic,
                g.group,
                g.lag,
                parts.join(" ")
            );
        }
    }
    Ok(())
}
