//! `yuqing alerts …`: the case log (台账) of alerts from the command line — list them,
//! show one with its deliveries and events, acknowledge (签收) and close (处置).

use crate::run::DataDir;
use anyhow::Context;
use clap::Subcommand;
use yuqing_alerts::{state_zh, AlertStore};

#[derive(Subcommand)]
pub enum AlertsCommand {
    /// The latest alerts, newest first.
    List {
        #[arg(long, default_value_t = 20)]
        limit: usize,
        /// One JSON object per line (all fields, for export).
        #[arg(long)]
        json: bool,
    },
    /// One alert with its delivery log per channel and its events.
    Show { id: String },
    /// The case log (台账) as CSV on standard output, for the record.
    Export {
        #[arg(long, default_value_t = 100_000)]
        limit: usize,
    },
    /// Acknowledge (签收) an alert.
    Ack {
        id: String,
        /// Who takes it.
        #[arg(long, default_value = "值班人员")]
        by: String,
    },
    /// Close an alert with what was done (处置说明), or as a false alarm (误报) with
    /// its reason.
    Close {
        id: String,
        #[arg(long)]
        note: String,
        #[arg(long)]
        false_alarm: bool,
    },
}

pub fn run(data: &DataDir, command: AlertsCommand) -> anyhow::Result<()> {
    let outbox = AlertStore::open(&data.state_db())
        .with_context(|| format!("cannot open state database {}", data.state_db().display()))?;
    match command {
        AlertsCommand::Export { limit } => {
            yuqing_alerts::export_csv(&outbox.cases(limit)?, std::io::stdout().lock())?;
        }
        AlertsCommand::List { limit, json } => {
            for case in outbox.cases(limit)? {
                if json {
                    println!("{}", serde_json::to_string(&case)?);
                } else {
                    let delivered = case
                        .deliveries
                        .iter()
                        .filter(|d| d.status == "delivered")
                        .count();
                    println!(
                        "{}  {}  [{}]  {}  （{}，已投递 {}/{}）",
                        case.alert_id,
                        case.raised_at.get(..16).unwrap_or(&case.raised_at),
                        state_zh(&case.state),
                        case.title,
                        case.rule,
                        delivered,
                        case.deliveries.len()
                    );
                }
            }
        }
        AlertsCommand::Show { id } => {
            let case = outbox
                .case(&id)?
                .with_context(|| format!("no alert with id {id}"))?;
            println!(
                "{}  [{}]  {}",
                case.alert_id,
                state_zh(&case.state),
                case.title
            );
            println!("规则：{}  链接：{}", case.rule, case.url);
            println!("投递：");
            for d in &case.deliveries {
                println!(
                    "  {}  {}  尝试 {} 次{}",
                    d.channel,
                    if d.status == "delivered" {
                        "已送达"
                    } else {
                        "待重试"
                    },
                    d.attempts,
                    d.last_error
                        .as_deref()
                        .map(|e| format!("，最近错误：{e}"))
                        .unwrap_or_default()
                );
            }
            println!("台账：");
            for e in &case.events {
                println!(
                    "  {}  {}  {}",
                    e.at.get(..19).unwrap_or(&e.at),
                    e.event,
                    e.detail.as_deref().unwrap_or("")
                );
            }
        }
        AlertsCommand::Ack { id, by } => {
            outbox.acknowledge(&id, &by)?;
            println!("已签收 {id}");
        }
        AlertsCommand::Close {
            id,
            note,
            false_alarm,
        } => {
            let outcome = if false_alarm {
                yuqing_alerts::Outcome::FalseAlarm
            } else {
                yuqing_alerts::Outcome::Handled
            };
            let by = format!("cli:{}", std::env::var("USER").unwrap_or_default());
            outbox.close(&id, &by, &note, outcome)?;
            println!("已处置 {id}（{}）", outcome.zh());
        }
    }
    Ok(())
}
