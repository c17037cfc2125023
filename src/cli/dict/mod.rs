//! `yuqing dict …`: tools for analysts tuning rules and dictionaries.

pub mod eval;
pub mod test;

use crate::config::Config;
use clap::Subcommand;
use std::path::PathBuf;
use yuqing_analyzer::Analyzer;

#[derive(Subcommand)]
pub enum DictCommand {
    /// Show, for sample texts (first line = title), what fires and why: topics with their
    /// matched words and offsets, sentiment words, districts, schools, risk.
    Test {
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// Score the rules on a labelled JSONL file (`{"id","title","text","topics":[…],
    /// "sentiment"}` per line): per-topic precision, recall and F1, sentiment accuracy,
    /// and the examples that came out wrong.
    Eval {
        labelled: PathBuf,
        #[arg(long)]
        json: bool,
        /// Also run SnowNLP's sentiment on the same texts (needs `pip install snownlp`).
        #[arg(long)]
        peer: bool,
    },
}

pub fn run(config: &Config, command: DictCommand) -> anyhow::Result<()> {
    let analyzer = Analyzer::load(&config.analyzer)?;
    match command {
        DictCommand::Test { files } => test::explain_files(&analyzer, &files),
        DictCommand::Eval {
            labelled,
            json,
            peer,
        } => {
            let examples = eval::read_labelled(&labelled)?;
            let report = eval::evaluate(&analyzer, &examples);
            let peer = if peer {
                Some(eval::snownlp_accuracy(&labelled)?)
            } else {
                None
            };
            eval::print(&report, peer, json)
        }
    }
}
