//! `kind = "api"`: a JSON API listing social posts, read page by page through the
//! mapping of `[source.api]` (see [`mapping`]).

mod mapping;

use super::{Context, Visit};
use crate::fetch::FetchError;
use crate::CrawlError;
use chrono::{DateTime, Utc};
pub use mapping::{ApiConfig, Preset};
use mapping::{ApiMapping, Post};
use std::sync::Arc;
use yuqing_model::{doc_id, RawDocument};

/// `[source.api]`, checked and compiled.
#[derive(Debug, Clone)]
pub(crate) struct Api {
    mapping: Arc<ApiMapping>,
}

impl Api {
    pub(crate) fn build(settings: Option<&ApiConfig>) -> Result<Api, String> {
        let Some(settings) = settings else {
            return Err(
                "api: an API source needs an [source.api] table (a preset or a field mapping)"
                    .into(),
            );
        };
        Ok(Api {
            mapping: Arc::new(settings.build()?),
        })
    }
}

impl Visit for Api {
    /// Reads the API's pages of posts, newest first, until a page holds nothing new (the
    /// visit has caught up with the last one), the API has no next page, or `max_pages`
    /// are read. A refusal (an expired credential) fails the visit, so it shows as the
    /// source's error, never as a quiet empty crawl.
    async fn visit(&self, cx: &mut Context<'_>) -> Result<(), CrawlError> {
        let api = &self.mapping;
        let web = cx.web().await?;
        let max_articles = cx.source.config.max_articles;
        let hint = || {
            api.credential_hint()
                .map(|h| format!(" ({h})"))
                .unwrap_or_default()
        };
        let headers = api.headers().map_err(|m| cx.failure(&cx.source.url, m))?;
        let mut url = api.first_page(&cx.source.url);
        for _ in 0..api.max_pages {
            if !web.rules.allowed(&url) {
                cx.report.blocked += 1;
                break;
            }
            let page = match web.get_with_headers(&url, &headers).await {
                Err(FetchError::Status {
                    status: status @ (401 | 403),
                    ..
                }) => {
                    let message = format!("HTTP {status}: the API refused the request{}", hint());
                    return Err(cx.failure(&url, message));
                }
                other => other?,
            };
            let fetched_at = Utc::now();
            let read = api
                .read(&url, &page.body, fetched_at)
                .map_err(|e| cx.failure(&url, format!("{e}{}", hint())))?;
            let collected_before = cx.report.collected;
            for post in read.posts {
                if cx.report.links >= max_articles {
                    break;
                }
                cx.report.links += 1;
                let mut post = match post {
                    Ok(post) => post,
                    Err(error) => {
                        tracing::warn!(source = cx.name(), url = %url, %error, "post not read");
                        cx.report.failed += 1;
                        continue;
                    }
                };
                let Ok(canonical) = cx.crawler.canonical(&post.url) else {
                    cx.report.failed += 1;
                    continue;
                };
                if cx.seen_before(&canonical)? {
                    continue;
                }
                if let Some(long) = post.long_text_url.clone() {
                    // The whole text of a cut post; if it cannot be had, the cut one.
                    let fetched = web.get_with_headers(&long, &headers).await;
                    match fetched.map(|page| api.read_long_text(&page.body)) {
                        Ok(Some(text)) => post.text = text,
                        Ok(None) => {
                            tracing::warn!(source = cx.name(), url = %long, "no long text in the answer; the cut text is kept")
                        }
                        Err(error) => {
                            tracing::warn!(source = cx.name(), %error, "long text not fetched; the cut text is kept")
                        }
                    }
                }
                let document = post_document(cx, &canonical, post, fetched_at);
                cx.hand_on(&canonical, document).await?;
            }
            let fresh = cx.report.collected > collected_before;
            match read.next {
                Some(next) if fresh && cx.report.links < max_articles => url = next,
                _ => break,
            }
        }
        Ok(())
    }
}

/// The document of a post read from an API.
fn post_document(
    cx: &Context<'_>,
    canonical: &str,
    post: Post,
    fetched_at: DateTime<Utc>,
) -> RawDocument {
    let config = &cx.source.config;
    RawDocument {
        id: doc_id(canonical).expect("canonical URLs are valid"),
        url: canonical.to_string(),
        source: config.name.clone(),
        author: post.author,
        title: post.title,
        content: post.text,
        published_at: post.published_at,
        fetched_at,
        charset: "UTF-8".into(),
        source_type: config.source_type(),
        platform: config.platform(),
        ip_region: post.ip_region,
        engagement: post.engagement,
        snapshot: Some(lz4_flex::compress_prepend_size(&post.raw)),
        ..Default::default()
    }
}
