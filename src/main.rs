//! `yuqing`: school-safety public-opinion monitoring.
//!
//! ```text
//! yuqing run                 # the whole system: crawl → analyze → index → alert, and the desk API
//! yuqing search 溺水 温县     # search what has been collected
//! yuqing serve               # the desk alone, over an existing data directory
//! ```

/// Every crawled document becomes many small strings (words, tags, explanations, index
/// terms); mimalloc serves them faster than the C library's allocator and leaves the
/// segmenter's dictionary in the cache more often (analyzer: about 10% faster).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

mod bench;
mod cli;
mod config;
mod run;
mod sample_site;

use clap::Parser;
use config::Config;
use run::DataDir;
use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "yuqing",
    version,
    about = "School-safety public-opinion (舆情) monitoring"
)]
struct Cli {
    /// The configuration file.
    #[arg(long, global = true, default_value = "config/default.toml")]
    config: PathBuf,
    /// Where the index, the state database and the alert log are kept.
    #[arg(long, global = true, default_value = "data")]
    data_dir: PathBuf,
    #[command(subcommand)]
    command: cli::Command,
}

fn init_logging(default: &str) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        // Colour codes only for a person at a terminal, never in log files.
        .with_ansi(std::io::stderr().is_terminal())
        .init();
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let quiet = cli.command.prints_an_answer();
    init_logging(if quiet {
        "warn"
    } else {
        "info,tantivy=warn,html5ever=error,selectors=error"
    });

    // The configuration is checked before anything else happens.
    let config = match Config::load(&cli.config) {
        Ok(config) => config,
        Err(error) => {
            eprintln!("error: {error}");
            return ExitCode::from(2);
        }
    };
    for warning in &config.warnings {
        tracing::warn!("{warning}");
    }
    let data = DataDir::new(&cli.data_dir);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    let result = runtime.block_on(cli.command.run(config, data));
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}
