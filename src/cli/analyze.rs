//! `yuqing analyze`: the analyzer on text from stdin, for analysts checking rules and for
//! batch evaluation.
//!
//! - without a flag: all of stdin is one text (its first line the title); prints what
//!   fires and why, in Chinese, as `yuqing dict test` does;
//! - `--json`: all of stdin is one text; prints one JSON object.
//! - `--jsonl`: each line is `{"id", "title", "text"}`; prints one result per line, in
//!   input order, with `id`. A line that is not such an object gives
//!   `{"line": N, "error": "…"}` and the rest go on.

use crate::config::Config;
use serde::Deserialize;
use serde_json::{json, Value};
use std::io::{BufRead, Read, Write};
use yuqing_analyzer::Analyzer;

#[derive(Deserialize)]
struct Input {
    #[serde(default)]
    id: Value,
    #[serde(default)]
    title: String,
    #[serde(default)]
    text: String,
}

/// Lines analyzed per batch; batches are split across the cores.
const BATCH_LINES: usize = 4096;

fn analyze_line(analyzer: &Analyzer, number: usize, line: &str) -> Value {
    match serde_json::from_str::<Input>(line) {
        Ok(input) => {
            let analysis = analyzer.analyze(&input.title, &input.text);
            let mut out = serde_json::to_value(&analysis).expect("analysis serializes");
            out["id"] = input.id;
            out
        }
        Err(error) => json!({ "line": number, "error": format!("line {number}: {error}") }),
    }
}

#[derive(clap::Args)]
pub struct AnalyzeArgs {
    /// All of stdin is one text; print one JSON object (without a flag: explained in
    /// Chinese).
    #[arg(long, conflicts_with = "jsonl")]
    json: bool,
    /// Each stdin line is {"id","title","text"}; print one result per line.
    #[arg(long)]
    jsonl: bool,
}

pub fn run(config: &Config, args: AnalyzeArgs) -> anyhow::Result<()> {
    let analyzer = &Analyzer::load(&config.analyzer)?;
    let stdin = std::io::stdin();
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    if !args.jsonl {
        let mut text = String::new();
        stdin.lock().read_to_string(&mut text)?;
        if args.json {
            serde_json::to_writer(&mut out, &analyzer.analyze("", &text))?;
            writeln!(out)?;
        } else {
            let (title, body) = text.split_once('\n').unwrap_or((text.as_str(), ""));
            super::dict::test::explain(analyzer, &mut out, "标准输入", title, body)?;
        }
        out.flush()?;
        return Ok(());
    }
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let mut lines = stdin.lock().lines().enumerate();
    loop {
        let batch: Vec<(usize, String)> = lines
            .by_ref()
            .take(BATCH_LINES)
            .map(|(i, line)| line.map(|l| (i + 1, l)))
            .collect::<Result<_, _>>()?;
        if batch.is_empty() {
            break;
        }
        let batch: Vec<(usize, String)> = batch
            .into_iter()
            .filter(|(_, l)| !l.trim().is_empty())
            .collect();
        let chunk = batch.len().div_ceil(threads).max(1);
        let results: Vec<Vec<Value>> = std::thread::scope(|scope| {
            let workers: Vec<_> = batch
                .chunks(chunk)
                .map(|part| {
                    scope.spawn(move || {
                        part.iter()
                            .map(|(number, line)| analyze_line(analyzer, *number, line))
                            .collect::<Vec<_>>()
                    })
                })
                .collect();
            workers
                .into_iter()
                .map(|w| w.join().expect("analysis thread"))
                .collect()
        });
        for value in results.into_iter().flatten() {
            serde_json::to_writer(&mut out, &value)?;
            writeln!(out)?;
        }
    }
    out.flush()?;
    Ok(())
}
