//! `yuqing analyze`: the analyzer on text from stdin, for analysts checking rules and for
//! batch evaluation.
//!
//! - `--json`: all of stdin is one text; prints one JSON object.
//! - `--jsonl`: each line is `{"id", "title", "text"}`; prints one result per line, in
//!   input order, with `id`. A line that is not such an object gives
//!   `{"line": N, "error": "…"}` and the rest go on.

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

pub fn run(analyzer: &Analyzer, jsonl: bool) -> anyhow::Result<()> {
    let stdin = std::io::stdin();
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    if !jsonl {
        let mut text = String::new();
        stdin.lock().read_to_string(&mut text)?;
        serde_json::to_writer(&mut out, &analyzer.analyze("", &text))?;
        writeln!(out)?;
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

/// `yuqing dict test FILE…`: for each sample text, what fires and why, for an analyst
/// tuning rules and dictionaries. The first line of a file is taken as its title.
pub fn explain_files(analyzer: &Analyzer, files: &[std::path::PathBuf]) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    for file in files {
        let text = match std::fs::read_to_string(file) {
            Ok(text) => text,
            Err(error) => {
                writeln!(out, "== {}：无法读取（{error}）", file.display())?;
                continue;
            }
        };
        let (title, body) = text.split_once('\n').unwrap_or((text.as_str(), ""));
        let analysis = analyzer.analyze(title.trim(), body);
        let place = |m: &yuqing_model::TermMatch| {
            let field = match m.field {
                yuqing_model::TextField::Title => "标题",
                yuqing_model::TextField::Content => "正文",
            };
            format!("「{}」{field}{}–{}", m.term, m.start, m.end)
        };
        writeln!(out, "== {}：{}", file.display(), title.trim())?;
        if analysis.topics.is_empty() {
            writeln!(out, "话题：无")?;
        }
        for topic in &analysis.topics {
            let terms: Vec<String> = topic.matches.iter().map(place).collect();
            writeln!(
                out,
                "话题：{}（得分 {}，规则 {}）← {}",
                topic.name,
                topic.score,
                topic.rule,
                terms.join("，")
            )?;
        }
        let words: Vec<String> = analysis.sentiment.matches.iter().map(place).collect();
        writeln!(
            out,
            "情感：{}（{}）← {}",
            analysis.sentiment.label.zh(),
            analysis.sentiment.score,
            if words.is_empty() {
                "无情感词".to_string()
            } else {
                words.join("，")
            }
        )?;
        if analysis.sentiment.official_report {
            writeln!(
                out,
                "　　视为工作报道（有工作类词、无事件类词）：负面词按 0.2 计"
            )?;
        }
        for region in &analysis.regions {
            let terms: Vec<String> = region.matches.iter().map(place).collect();
            writeln!(out, "属地：{} ← {}", region.name, terms.join("，"))?;
        }
        for school in &analysis.schools {
            let source = if school.rule == "registry" {
                "学校名录"
            } else {
                "名称形式"
            };
            writeln!(
                out,
                "学校：{}（{source}{}）",
                school.name,
                school
                    .district
                    .as_deref()
                    .map(|d| format!("，{d}"))
                    .unwrap_or_default()
            )?;
        }
        writeln!(
            out,
            "风险：{}（{}）",
            analysis.risk.level.zh(),
            analysis.risk.explanation
        )?;
        writeln!(out)?;
    }
    Ok(())
}
