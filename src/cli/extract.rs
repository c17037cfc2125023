//! `yuqing extract FILE_OR_URL…`: the generic article extractor (or a source's
//! selectors) on pages given by path or URL, in order: what it found, in Chinese, or
//! with `--json` one JSON line per input. An input that fails says why (a line with
//! `error`) and the rest go on.

use crate::config::Config;
use serde::Serialize;
use std::io::Write;
use std::time::Duration;
use yuqing_crawler::{decode, extract_with, AddressGuard, ExtractRules, Fetcher, FetcherOptions};

async fn page_bytes(fetcher: &Fetcher, input: &str) -> Result<(Vec<u8>, Option<String>), String> {
    if input.starts_with("http://") || input.starts_with("https://") {
        let url = url::Url::parse(input).map_err(|e| format!("bad URL: {e}"))?;
        let page = fetcher.get(&url).await.map_err(|e| e.to_string())?;
        Ok((page.body, page.content_type))
    } else {
        std::fs::read(input)
            .map(|b| (b, None))
            .map_err(|e| format!("cannot read: {e}"))
    }
}

/// One output line, fields in the documented order.
#[derive(Serialize)]
#[serde(untagged)]
enum Line<'a> {
    Article {
        input: &'a str,
        title: String,
        published_at: Option<String>,
        source: Option<String>,
        author: Option<String>,
        content: String,
    },
    Failed {
        input: &'a str,
        error: String,
    },
}

#[derive(clap::Args)]
pub struct ExtractArgs {
    /// Files or http(s) URLs.
    #[arg(required = true)]
    inputs: Vec<String>,
    /// One JSON object per page (input, title, published_at, source, author, content).
    #[arg(long)]
    json: bool,
    /// Use the `[source.extract]` selectors of this configured source, to check them.
    #[arg(long, value_name = "NAME")]
    source: Option<String>,
}

pub async fn run(config: &Config, args: ExtractArgs) -> anyhow::Result<()> {
    let rules = match &args.source {
        None => ExtractRules::default(),
        Some(name) => config.extract_rules(name)?,
    };
    let settings = &config.crawler;
    // Pages named on the command line are fetched like crawled ones: bounded, and never
    // from loopback or private addresses.
    let fetcher = Fetcher::new(FetcherOptions {
        user_agent: settings.user_agent.clone(),
        timeout: Duration::from_secs(settings.timeout_secs.max(1)),
        max_body_bytes: settings.max_body_bytes,
        max_redirects: settings.max_redirects,
        retries: settings.retries,
        guard: AddressGuard::default(),
        proxy: settings.proxy.clone(),
    })?;
    let mut out = std::io::stdout().lock();
    for input in &args.inputs {
        let line = match page_bytes(&fetcher, input).await {
            Ok((bytes, content_type)) => {
                let text = decode(&bytes, content_type.as_deref()).text;
                let article = extract_with(&text, chrono::Utc::now(), &rules);
                Line::Article {
                    input,
                    title: article.title,
                    published_at: article.published_at.map(|t| t.to_rfc3339()),
                    source: article.origin,
                    author: article.author,
                    content: article.content,
                }
            }
            Err(error) => Line::Failed { input, error },
        };
        if args.json {
            serde_json::to_writer(&mut out, &line)?;
            writeln!(out)?;
        } else {
            line.print(&mut out)?;
        }
    }
    Ok(())
}

impl Line<'_> {
    /// The page as a person checking selectors reads it.
    fn print(&self, out: &mut impl Write) -> std::io::Result<()> {
        let or_none = |value: &Option<String>| value.clone().unwrap_or_else(|| "无".into());
        match self {
            Line::Failed { input, error } => writeln!(out, "== {input}：失败（{error}）\n"),
            Line::Article {
                input,
                title,
                published_at,
                source,
                author,
                content,
            } => {
                writeln!(out, "== {input}")?;
                writeln!(out, "标题：{title}")?;
                writeln!(out, "发布时间：{}", or_none(published_at))?;
                writeln!(out, "来源：{}", or_none(source))?;
                writeln!(out, "作者：{}", or_none(author))?;
                writeln!(out, "正文（{} 字）：", content.chars().count())?;
                writeln!(out, "{content}\n")
            }
        }
    }
}
