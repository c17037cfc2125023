//! `yuqing status`: what an operator checks first, read from the data directory (and
//! Kafka): documents, alerts waiting, the analyzer's rule files, each source's health,
//! consumer lag.

use crate::config::{Config, Transport};
use crate::run::{self, status, DataDir};
use yuqing_alerts::AlertStore;
use yuqing_analyzer::{LiveAnalyzer, ReloadStatus};
use yuqing_bus_kafka::KafkaBus;
use yuqing_crawler::SeenStore;

#[derive(clap::Args)]
pub struct StatusArgs {
    #[arg(long)]
    json: bool,
    /// The bus to inspect (default: `[bus] transport` of the configuration).
    #[arg(long = "bus", value_enum)]
    transport: Option<Transport>,
}

pub fn run(config: &Config, data: &DataDir, args: StatusArgs) -> anyhow::Result<()> {
    let StatusArgs { json, transport } = args;
    let documents = run::open_index(config, data, false)
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
    let status = status::collect(
        documents,
        store.as_ref(),
        Some(rules),
        seen.as_ref(),
        kafka.as_ref(),
        None,
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
