//! `yuqing search …`: the desk's search from the command line, as text or JSON. Works
//! while `yuqing run` is writing the index.

use crate::config::Config;
use crate::run::{self, DataDir};
use std::io::Write;
use yuqing_indexer::{SearchRequest, SearchResults, Sort};

#[derive(clap::Args)]
pub struct SearchArgs {
    /// Words to search for; all must appear. Empty: the newest documents.
    query: Vec<String>,
    /// Print `{"total": N, "hits": [...]}` instead of text.
    #[arg(long)]
    json: bool,
    #[arg(long, default_value_t = 10)]
    limit: usize,
    /// relevance (default; time for an empty query), time, risk or spread.
    #[arg(long, default_value = "relevance")]
    sort: Sort,
    /// One row per story: leave out reprints of a story already listed.
    #[arg(long)]
    collapse: bool,
}

pub fn run(config: &Config, data: &DataDir, args: SearchArgs) -> anyhow::Result<()> {
    let SearchArgs {
        query,
        json,
        limit,
        sort,
        collapse,
    } = args;
    let query = query.join(" ");
    let (_, index) = run::open_index(config, data, false)?;
    let results = index.search(&SearchRequest {
        query,
        limit: limit.max(1),
        sort,
        facets: None,
        collapse,
        among_ids: None,
        fetched_within: None,
        offset: 0,
    })?;
    let mut out = std::io::stdout().lock();
    if json {
        serde_json::to_writer(&mut out, &results)?;
        writeln!(out)?;
    } else {
        print_results(&mut out, &results)?;
    }
    Ok(())
}

fn print_results(out: &mut impl Write, results: &SearchResults) -> std::io::Result<()> {
    writeln!(
        out,
        "共 {} 条结果，显示 {} 条",
        results.total,
        results.hits.len()
    )?;
    for (n, hit) in results.hits.iter().enumerate() {
        let time = hit
            .published_at
            .map(|t| t.format("%Y-%m-%d %H:%M").to_string())
            .unwrap_or_else(|| "时间未知".into());
        let topics = if hit.topics.is_empty() {
            "无".to_string()
        } else {
            hit.topics.join("、")
        };
        let sentiment = yuqing_model::Sentiment::parse(&hit.sentiment)
            .map(|s| s.zh())
            .unwrap_or("未知");
        writeln!(out, "\n{}. {}", n + 1, hit.title)?;
        let districts = if hit.districts.is_empty() {
            String::new()
        } else {
            format!(" | 属地：{}", hit.districts.join("、"))
        };
        let risk = yuqing_model::RiskLevel::parse(&hit.risk).map_or("未知", |r| r.zh());
        writeln!(
            out,
            "   来源：{} | {} | 话题：{} | 情感：{} | 风险：{}{}",
            hit.source, time, topics, sentiment, risk, districts
        )?;
        if hit.cluster_size > 1 {
            writeln!(
                out,
                "   转载 {} 篇，首发：{}",
                hit.cluster_size, hit.first_source
            )?;
        }
        if let Some(e) = hit.engagement {
            let region = hit
                .ip_region
                .as_deref()
                .map(|r| format!(" | IP属地：{r}"))
                .unwrap_or_default();
            writeln!(
                out,
                "   转发 {} | 评论 {} | 点赞 {}{region}",
                e.reposts, e.comments, e.likes
            )?;
        }
        writeln!(out, "   {}", hit.snippet_text())?;
        writeln!(out, "   {}", hit.url)?;
    }
    Ok(())
}
