//! `yuqing dict test FILE…` (and `yuqing analyze` without `--json`): what fires on a
//! text and why, explained in Chinese for analysts.

use std::io::Write;
use std::path::PathBuf;
use yuqing_analyzer::Analyzer;

/// `yuqing dict test FILE…`: for each sample text, what fires and why, for an analyst
/// tuning rules and dictionaries. The first line of a file is taken as its title.
pub fn explain_files(analyzer: &Analyzer, files: &[PathBuf]) -> anyhow::Result<()> {
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
        explain(analyzer, &mut out, &file.display().to_string(), title, body)?;
    }
    Ok(())
}

/// What fires on one text and why, in Chinese: topics with their rule and matched
/// words, sentiment words, districts, schools, risk with its explanation.
pub fn explain(
    analyzer: &Analyzer,
    out: &mut impl Write,
    label: &str,
    title: &str,
    body: &str,
) -> std::io::Result<()> {
    let analysis = analyzer.analyze(title.trim(), body);
    let place = |m: &yuqing_model::TermMatch| {
        let field = match m.field {
            yuqing_model::TextField::Title => "标题",
            yuqing_model::TextField::Content => "正文",
        };
        format!("「{}」{field}{}–{}", m.term, m.start, m.end)
    };
    writeln!(out, "== {label}：{}", title.trim())?;
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
    Ok(())
}
