//! The command line: one file per subcommand, each with its arguments and what it does.

pub mod alerts;
pub mod analyze;
pub mod dict;
pub mod extract;
pub mod reanalyze;
pub mod run;
pub mod search;
pub mod serve;
pub mod status;
pub mod users;

use crate::bench::{self, BenchCommand};
use crate::config::Config;
use crate::run::DataDir;
use clap::Subcommand;

#[derive(Subcommand)]
pub enum Command {
    /// Start the whole system: crawler, analyzer, indexer, alerts and the desk.
    Run(run::RunArgs),
    /// Show the state of the system: documents indexed, alerts waiting, sources, Kafka
    /// consumer lag.
    Status(status::StatusArgs),
    /// Search the collected documents (works while `yuqing run` is writing).
    Search(search::SearchArgs),
    /// Serve the desk over the existing data directory, without crawling.
    Serve,
    /// Extract title, publish time, 来源, author and body from article pages (files or
    /// URLs).
    Extract(extract::ExtractArgs),
    /// Analyze text from stdin with the configured rules: topics, sentiment, regions,
    /// schools and risk, with the matched words and their offsets.
    Analyze(analyze::AnalyzeArgs),
    /// Re-tag what is already indexed with the current rules and dictionaries (no
    /// recrawl): first shows how many documents gain or lose each topic, with examples.
    Reanalyze(reanalyze::ReanalyzeArgs),
    /// Dictionary and rule tools for analysts.
    #[command(subcommand)]
    Dict(dict::DictCommand),
    /// The alert case log (台账): list, show, acknowledge, close.
    #[command(subcommand)]
    Alerts(alerts::AlertsCommand),
    /// The desk's users (值班员, 分析员, 管理员): add the first administrator here.
    #[command(subcommand)]
    User(users::UserCommand),
    /// API tokens for scripts, acting as a desk user.
    #[command(subcommand)]
    Token(users::TokenCommand),
    /// Measure the system's speed; prints figures.
    #[command(subcommand)]
    Bench(BenchCommand),
}

impl Command {
    /// Commands that print their answer: their log shows only warnings by default.
    pub fn prints_an_answer(&self) -> bool {
        !matches!(self, Command::Run(_) | Command::Serve)
    }

    pub async fn run(self, config: Config, data: DataDir) -> anyhow::Result<()> {
        match self {
            Command::Run(args) => run::run(config, data, args).await,
            Command::Status(args) => status::run(&config, &data, args),
            Command::Search(args) => search::run(&config, &data, args),
            Command::Serve => serve::run(&config, &data).await,
            Command::Extract(args) => extract::run(&config, args).await,
            Command::Analyze(args) => analyze::run(&config, args),
            Command::Reanalyze(args) => reanalyze::run(&config, &data, args),
            Command::Dict(command) => dict::run(&config, command),
            Command::Alerts(command) => alerts::run(&data, command),
            Command::User(command) => users::run_user(&config, &data, command),
            Command::Token(command) => users::run_token(&config, &data, command),
            Command::Bench(command) => bench::run(&config, command).await,
        }
    }
}
