//! `yuqing extract FILE_OR_URL… --json`: the generic article extractor on pages given by
//! path or URL, one JSON line per input in order; an input that fails gives a line with
//! `error` and the rest go on.

use serde::Serialize;
use std::io::Write;
use std::time::Duration;
use yuqing_crawler::{
    decode, extract_with, AddressGuard, CrawlerSettings, ExtractRules, Fetcher, FetcherOptions,
};

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

pub async fn run(
    settings: &CrawlerSettings,
    inputs: &[String],
    rules: &ExtractRules,
) -> anyhow::Result<()> {
    // Pages named on the command line are fetched like crawled ones: bounded, and never
    // from loopback or private addresses.
    let fetcher = Fetcher::new(FetcherOptions {
        user_agent: settings.user_agent.clone(),
        timeout: Duration::from_secs(settings.timeout_secs.max(1)),
        max_body_bytes: settings.max_body_bytes,
        max_redirects: settings.max_redirects,
        retries: settings.retries,
        guard: AddressGuard::default(),
    })?;
    let mut out = std::io::stdout().lock();
    for input in inputs {
        let line = match page_bytes(&fetcher, input).await {
            Ok((bytes, content_type)) => {
                let text = decode(&bytes, content_type.as_deref()).text;
                let article = extract_with(&text, chrono::Utc::now(), rules);
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
        serde_json::to_writer(&mut out, &line)?;
        writeln!(out)?;
    }
    Ok(())
}
