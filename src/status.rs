//! `yuqing status`: what an operator checks first: documents indexed, alerts waiting for
//! delivery, and, with Kafka, how far each consumer group is behind on each partition.

use crate::config::{Config, Transport};
use crate::pipeline::{self, DataDir};
use serde::Serialize;
use yuqing_alerts::Outbox;
use yuqing_bus_kafka::{KafkaBus, PartitionLag};

#[derive(Serialize)]
struct Status {
    documents: Option<u64>,
    alerts_pending: Option<u64>,
    alerts_delivered: Option<u64>,
    kafka: Option<Vec<GroupLag>>,
}

#[derive(Serialize)]
struct GroupLag {
    topic: String,
    group: String,
    lag: i64,
    partitions: Vec<PartitionLag>,
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
    let outbox = Outbox::open(&data.state_db())
        .ok()
        .and_then(|o| o.counts().ok());
    let kafka = match transport.unwrap_or(config.bus.transport) {
        Transport::Embedded => None,
        Transport::Kafka => {
            let bus = KafkaBus::new(config.bus.kafka.clone())?;
            let topics = bus.topics();
            let mut groups = Vec::new();
            for (topic, group) in [
                (&topics.raw, "analyzer"),
                (&topics.analyzed, "indexer"),
                (&topics.alerts, "notifier"),
                (&topics.dead_letter, "dead-letter-log"),
            ] {
                let partitions = bus.lag(topic, group)?;
                groups.push(GroupLag {
                    topic: topic.clone(),
                    group: group.to_string(),
                    lag: partitions.iter().map(|p| p.lag).sum(),
                    partitions,
                });
            }
            Some(groups)
        }
    };
    let status = Status {
        documents,
        alerts_pending: outbox.map(|(pending, _)| pending),
        alerts_delivered: outbox.map(|(_, delivered)| delivered),
        kafka,
    };
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
    if let Some(groups) = &status.kafka {
        println!("Kafka 消费积压（lag）：");
        for g in groups {
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
