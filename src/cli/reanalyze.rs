//! `yuqing reanalyze`: re-tags what is already indexed with the current rules and
//! dictionaries, without crawling again. It first shows what would change (how many
//! documents gain or lose each topic, with examples); `--apply` writes the new tags.
//!
//! Re-tagged documents do not raise alerts: alerts are for news as it arrives, and a
//! rule change is not news. The index keeps its segmentation (see
//! `run::open_index`), so only tags change, never what a search finds by words.

use crate::config::Config;
use crate::run::{self, DataDir};
use anyhow::Context;
use std::collections::BTreeMap;
use yuqing_model::{Analysis, AnalyzedDocument};

/// How a topic's documents change.
#[derive(Default)]
struct TopicChange {
    gained: usize,
    lost: usize,
    gained_examples: Vec<String>,
    lost_examples: Vec<String>,
}

#[derive(Default)]
struct Summary {
    documents: usize,
    changed: usize,
    topics: BTreeMap<String, TopicChange>,
    sentiment_changed: usize,
    risk_changed: usize,
    places_changed: usize,
    unreadable: Vec<String>,
}

fn names<T>(tags: &[T], name: impl Fn(&T) -> &str) -> Vec<String> {
    let mut names: Vec<String> = tags.iter().map(|t| name(t).to_string()).collect();
    names.sort();
    names
}

/// Records the difference between the stored tags and the new ones; whether any differ.
fn compare(summary: &mut Summary, doc: &AnalyzedDocument, new: &Analysis, examples: usize) -> bool {
    let old = &doc.analysis;
    let (before, after) = (
        names(&old.topics, |t| &t.name),
        names(&new.topics, |t| &t.name),
    );
    let example = || format!("{}（{}）", doc.document.title, doc.document.id);
    for name in after.iter().filter(|n| !before.contains(n)) {
        let change = summary.topics.entry(name.clone()).or_default();
        change.gained += 1;
        if change.gained_examples.len() < examples {
            change.gained_examples.push(example());
        }
    }
    for name in before.iter().filter(|n| !after.contains(n)) {
        let change = summary.topics.entry(name.clone()).or_default();
        change.lost += 1;
        if change.lost_examples.len() < examples {
            change.lost_examples.push(example());
        }
    }
    let sentiment = old.sentiment.label != new.sentiment.label;
    let risk = old.risk.level != new.risk.level;
    let places = names(&old.regions, |r| &r.name) != names(&new.regions, |r| &r.name)
        || names(&old.schools, |s| &s.name) != names(&new.schools, |s| &s.name);
    summary.sentiment_changed += usize::from(sentiment);
    summary.risk_changed += usize::from(risk);
    summary.places_changed += usize::from(places);
    // Scores and evidence count too: the explanation shown to users must be current.
    let changed = before != after || sentiment || risk || places || old != new;
    summary.changed += usize::from(changed);
    changed
}

#[derive(clap::Args)]
pub struct ReanalyzeArgs {
    /// Write the new tags into the index (stop `yuqing run` first).
    #[arg(long)]
    apply: bool,
    /// Examples shown per topic and direction.
    #[arg(long, default_value_t = 3)]
    examples: usize,
}

pub fn run(config: &Config, data: &DataDir, args: ReanalyzeArgs) -> anyhow::Result<()> {
    let ReanalyzeArgs { apply, examples } = args;
    let (live, index) = run::open_index(config, data, false)?;
    let analyzer = live.current();
    let mut writer = if apply {
        Some(index.writer(64 * 1024 * 1024).with_context(|| {
            format!(
                "cannot write to the index at {}: is `yuqing run` using it? Stop it first, \
                 or run reanalyze without --apply to see what would change",
                data.index().display()
            )
        })?)
    } else {
        None
    };
    let mut pending = yuqing_indexer::PendingPrints::default();
    let mut summary = Summary::default();
    let mut write_error = None;
    index.for_each_document(|stored| {
        let doc = match stored {
            Ok(doc) => doc,
            Err(error) => {
                summary.unreadable.push(error.to_string());
                return;
            }
        };
        summary.documents += 1;
        let analysis = analyzer.analyze_document(&doc.document);
        if !compare(&mut summary, &doc, &analysis, examples) {
            return;
        }
        if let (Some(writer), None) = (&writer, &write_error) {
            let updated = AnalyzedDocument {
                document: doc.document,
                analysis,
            };
            if let Err(error) = index.upsert(writer, &updated, &mut pending) {
                write_error = Some(error);
            }
        }
    })?;
    if let Some(error) = write_error {
        return Err(error).context("re-tagging failed; the index is unchanged");
    }
    print(&summary, apply);
    if let Some(writer) = writer.as_mut() {
        writer
            .commit()
            .context("committing the re-tagged documents")?;
        println!("已写入索引：{} 篇文档的标签已更新。", summary.changed);
    }
    Ok(())
}

fn print(summary: &Summary, apply: bool) {
    println!(
        "按当前规则重新分析 {} 篇已索引文档：{} 篇的标签会变化。",
        summary.documents, summary.changed
    );
    for (topic, change) in &summary.topics {
        println!(
            "话题「{topic}」：新增 {} 篇，移除 {} 篇",
            change.gained, change.lost
        );
        for example in &change.gained_examples {
            println!("    + {example}");
        }
        for example in &change.lost_examples {
            println!("    − {example}");
        }
    }
    println!(
        "情感标签变化 {} 篇，风险等级变化 {} 篇，属地或学校变化 {} 篇。",
        summary.sentiment_changed, summary.risk_changed, summary.places_changed
    );
    if !summary.unreadable.is_empty() {
        println!(
            "有 {} 篇文档无法读取，未处理（首个错误：{}）。",
            summary.unreadable.len(),
            summary.unreadable[0]
        );
    }
    if !apply && summary.changed > 0 {
        println!(
            "以上为预演，索引未改动。确认后加 --apply 写入（需先停止正在运行的 yuqing run）。"
        );
    }
}
