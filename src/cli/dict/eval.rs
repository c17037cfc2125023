//! `yuqing dict eval LABELLED.jsonl`: how well the schemes and the sentiment lexicon do
//! on texts an analyst has labelled, so that a rule change is judged by numbers.
//!
//! Each line: `{"id", "title", "text", "topics": ["防溺水", …], "sentiment":
//! "negative|neutral|positive"}`. `topics` lists every topic the text is about (an empty
//! list for none); `sentiment` may be left out for texts labelled for topics only.

use anyhow::Context;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;
use yuqing_analyzer::Analyzer;
use yuqing_model::Sentiment;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Labelled {
    pub id: String,
    #[serde(default)]
    pub title: String,
    pub text: String,
    pub topics: Vec<String>,
    pub sentiment: Option<Sentiment>,
}

/// Reads a labelled file; a bad line is named by file:line and stops the evaluation
/// (a silently skipped example would change the scores).
pub fn read_labelled(path: &Path) -> anyhow::Result<Vec<Labelled>> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    let mut examples = Vec::new();
    for (number, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let example: Labelled = serde_json::from_str(line).with_context(|| {
            format!("{}:{}: not a labelled example", path.display(), number + 1)
        })?;
        examples.push(example);
    }
    Ok(examples)
}

#[derive(Debug, Default, Clone, Copy, Serialize, PartialEq)]
pub struct Counts {
    pub true_positives: u32,
    pub false_positives: u32,
    pub false_negatives: u32,
}

impl Counts {
    pub fn precision(&self) -> f64 {
        ratio(
            self.true_positives,
            self.true_positives + self.false_positives,
        )
    }
    pub fn recall(&self) -> f64 {
        ratio(
            self.true_positives,
            self.true_positives + self.false_negatives,
        )
    }
    pub fn f1(&self) -> f64 {
        let (p, r) = (self.precision(), self.recall());
        if p + r == 0.0 {
            0.0
        } else {
            2.0 * p * r / (p + r)
        }
    }
}

fn ratio(a: u32, b: u32) -> f64 {
    if b == 0 {
        0.0
    } else {
        f64::from(a) / f64::from(b)
    }
}

/// The scores of one run over a labelled set.
#[derive(Debug, Default, Serialize)]
pub struct Report {
    pub examples: usize,
    pub topics: BTreeMap<String, Counts>,
    /// All topics together (micro average).
    pub overall: Counts,
    pub sentiment_labelled: usize,
    pub sentiment_correct: usize,
    /// Wrong answers, for the analyst to read: id, what was expected, what came out.
    pub mistakes: Vec<Mistake>,
}

#[derive(Debug, Serialize)]
pub struct Mistake {
    pub id: String,
    pub kind: &'static str,
    pub expected: String,
    pub found: String,
}

impl Report {
    pub fn sentiment_accuracy(&self) -> f64 {
        ratio(
            self.sentiment_correct as u32,
            self.sentiment_labelled as u32,
        )
    }
}

/// Scores `analyzer` on `examples`. Topics the rules do not define are still counted
/// (as all misses), so a renamed scheme shows up instead of vanishing.
pub fn evaluate(analyzer: &Analyzer, examples: &[Labelled]) -> Report {
    let mut report = Report {
        examples: examples.len(),
        ..Report::default()
    };
    for name in analyzer.topics().names() {
        report.topics.insert(name.to_string(), Counts::default());
    }
    for example in examples {
        let analysis = analyzer.analyze(&example.title, &example.text);
        let found: Vec<&str> = analysis.topics.iter().map(|t| t.name.as_str()).collect();
        let expected: Vec<&str> = example.topics.iter().map(String::as_str).collect();
        // Each (example, topic) pair is counted once.
        let mut names: Vec<&str> = found.iter().chain(&expected).copied().collect();
        names.sort_unstable();
        names.dedup();
        for name in names {
            let counts = report.topics.entry(name.to_string()).or_default();
            match (found.contains(&name), expected.contains(&name)) {
                (true, true) => counts.true_positives += 1,
                (true, false) => counts.false_positives += 1,
                (false, true) => counts.false_negatives += 1,
                (false, false) => unreachable!("the name came from one of the lists"),
            }
        }
        if found_set_differs(&found, &expected) {
            report.mistakes.push(Mistake {
                id: example.id.clone(),
                kind: "topics",
                expected: expected.join("、"),
                found: found.join("、"),
            });
        }
        if let Some(label) = example.sentiment {
            report.sentiment_labelled += 1;
            if analysis.sentiment.label == label {
                report.sentiment_correct += 1;
            } else {
                report.mistakes.push(Mistake {
                    id: example.id.clone(),
                    kind: "sentiment",
                    expected: label.zh().to_string(),
                    found: format!(
                        "{}（{}）",
                        analysis.sentiment.label.zh(),
                        analysis.sentiment.score
                    ),
                });
            }
        }
    }
    for counts in report.topics.values() {
        report.overall.true_positives += counts.true_positives;
        report.overall.false_positives += counts.false_positives;
        report.overall.false_negatives += counts.false_negatives;
    }
    report
}

fn found_set_differs(found: &[&str], expected: &[&str]) -> bool {
    found.iter().any(|f| !expected.contains(f)) || expected.iter().any(|e| !found.contains(e))
}

/// SnowNLP's sentiment accuracy on the same file (scripts/peers/snownlp_sentiment.py;
/// needs `pip install snownlp`).
pub fn snownlp_accuracy(labelled: &Path) -> anyhow::Result<f64> {
    let script = crate::bench::peer_script("snownlp_sentiment.py")?;
    let output = std::process::Command::new("python3")
        .arg(script)
        .arg(labelled)
        .output()
        .context("cannot run python3")?;
    if !output.status.success() {
        anyhow::bail!(
            "the SnowNLP peer failed (pip install snownlp?): {}",
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    let result: serde_json::Value = serde_json::from_slice(&output.stdout)?;
    result["accuracy"]
        .as_f64()
        .context("the SnowNLP peer printed no accuracy")
}

/// Prints the report as a table in Chinese (or JSON), with the SnowNLP peer's sentiment
/// accuracy beside ours when it was run.
pub fn print(report: &Report, peer_accuracy: Option<f64>, json: bool) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    if json {
        let mut value = serde_json::to_value(report)?;
        value["sentiment_accuracy"] = report.sentiment_accuracy().into();
        if let Some(peer) = peer_accuracy {
            value["snownlp_sentiment_accuracy"] = peer.into();
        }
        writeln!(out, "{value}")?;
        return Ok(());
    }
    writeln!(out, "标注样本 {} 条", report.examples)?;
    writeln!(
        out,
        "{:<14}{:>8}{:>8}{:>8}{:>6}{:>6}{:>6}",
        "话题", "精确率", "召回率", "F1", "TP", "FP", "FN"
    )?;
    let row = |out: &mut std::io::StdoutLock, name: &str, c: &Counts| {
        // Chinese characters are two columns wide: pad by display width.
        let width = name
            .chars()
            .map(|ch| if ch.is_ascii() { 1 } else { 2 })
            .sum::<usize>();
        writeln!(
            out,
            "{name}{}{:>10.3}{:>10.3}{:>10.3}{:>6}{:>6}{:>6}",
            " ".repeat(20usize.saturating_sub(width)),
            c.precision(),
            c.recall(),
            c.f1(),
            c.true_positives,
            c.false_positives,
            c.false_negatives
        )
    };
    for (name, counts) in &report.topics {
        row(&mut out, name, counts)?;
    }
    row(&mut out, "全部（微平均）", &report.overall)?;
    writeln!(
        out,
        "情感准确率 {:.3}（{}/{}）",
        report.sentiment_accuracy(),
        report.sentiment_correct,
        report.sentiment_labelled
    )?;
    if let Some(peer) = peer_accuracy {
        writeln!(out, "SnowNLP 情感准确率 {peer:.3}（同一批样本）")?;
    }
    if !report.mistakes.is_empty() {
        writeln!(out, "\n错误（{} 处）：", report.mistakes.len())?;
        for m in &report.mistakes {
            let kind = if m.kind == "topics" {
                "话题"
            } else {
                "情感"
            };
            writeln!(
                out,
                "  {} {kind}：应为「{}」，得到「{}」",
                m.id, m.expected, m.found
            )?;
        }
    }
    Ok(())
}
