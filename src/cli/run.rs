//! `yuqing run`: the whole system, or one role of it over Kafka.

use crate::config::{Config, Transport};
use crate::run::{self, DataDir, Role, RunOptions, Shard};

#[derive(clap::Args)]
pub struct RunArgs {
    /// Visit each source once, finish indexing and alerting, then exit (embedded bus).
    #[arg(long)]
    once: bool,
    /// The bus linking the stages (default: `[bus] transport` of the configuration).
    #[arg(long = "bus", value_enum)]
    transport: Option<Transport>,
    /// The stages this process runs; roles other than `all` need `--bus kafka`.
    #[arg(long, value_enum, default_value = "all")]
    role: Role,
    /// K/N: crawl only this process's share of the sources (N crawler processes).
    #[arg(long)]
    shard: Option<Shard>,
}

pub async fn run(config: Config, data: DataDir, args: RunArgs) -> anyhow::Result<()> {
    let RunArgs {
        once,
        transport,
        role,
        shard,
    } = args;
    run::run(
        config,
        data,
        RunOptions {
            once,
            role,
            transport,
            shard,
        },
    )
    .await
}
