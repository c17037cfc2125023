//! What feeds, listings and sitemaps share: a source page that lists article links, and
//! the articles behind them, each fetched once, extracted and handed on.

use super::{Context, Web};
use crate::fetch::Page;
use crate::parsing::parse_off_thread;
use crate::{decode, extract_with, Candidate, CrawlError};
use chrono::Utc;
use yuqing_model::{doc_id, RawDocument};

/// The source's own page, asked for with the validators of the last complete visit:
/// `None` when it answered 304 (nothing changed), which the report then says.
pub(super) async fn source_page(
    cx: &mut Context<'_>,
    web: &Web<'_>,
) -> Result<Option<(Page, String)>, CrawlError> {
    let url = &cx.source.url;
    let known = cx.crawler.seen.validators(url.as_str())?;
    let page = cx
        .crawler
        .limited(url, web.fetcher.get_conditional(url, &known))
        .await?;
    if page.not_modified {
        cx.report.unchanged = true;
        return Ok(None);
    }
    let text = decode(&page.body, page.content_type.as_deref()).text;
    Ok(Some((page, text)))
}

/// Fetches and hands on every article among `candidates` not seen before (each link
/// once, `max_articles` at most). Only a visit that took everything stores the source
/// page's validators, so the next one may stop at a 304: otherwise the articles that
/// failed would never be tried again.
pub(super) async fn follow(
    cx: &mut Context<'_>,
    web: &Web<'_>,
    source_page: &Page,
    mut candidates: Vec<Candidate>,
) -> Result<(), CrawlError> {
    let mut unique = std::collections::HashSet::new();
    candidates.retain(|c| unique.insert(c.url.clone()));
    candidates.truncate(cx.source.config.max_articles);
    cx.report.links = candidates.len();
    let mut complete = true;
    for candidate in candidates {
        let canonical = match cx.crawler.canonical(&candidate.url) {
            Ok(url) => url,
            Err(error) => {
                tracing::debug!(source = cx.name(), %error, "link skipped");
                continue;
            }
        };
        // Checked after the claim: the source that held it may have just handed it on.
        let Some(_claim) = cx.crawler.claim(&canonical) else {
            cx.report.already_seen += 1;
            continue;
        };
        if cx.seen_before(&canonical)? {
            continue;
        }
        // Articles may live on another site than the source: ask that site's robots.txt.
        let allowed = match cx
            .crawler
            .robots
            .rules_for(&web.fetcher, &candidate.url)
            .await
        {
            Ok(rules) => rules.allowed(&candidate.url),
            Err(error) => {
                tracing::warn!(source = cx.name(), %error, "robots.txt unavailable; article skipped for now");
                complete = false;
                false
            }
        };
        if !allowed {
            cx.report.blocked += 1;
            continue;
        }
        match collect(cx, web, &candidate, &canonical).await {
            Ok(document) => cx.hand_on(&canonical, document).await?,
            Err(error) => {
                tracing::warn!(source = cx.name(), %error, "article not collected; will retry on the next visit");
                cx.report.failed += 1;
            }
        }
    }
    if complete && cx.report.failed == 0 {
        cx.crawler
            .seen
            .store_validators(cx.source.url.as_str(), &source_page.validators)?;
    }
    Ok(())
}

/// Fetches one article page and extracts its document; a page without article text is
/// an error (a link to a gallery, a login wall).
async fn collect(
    cx: &Context<'_>,
    web: &Web<'_>,
    candidate: &Candidate,
    canonical: &str,
) -> Result<RawDocument, CrawlError> {
    let source = cx.source;
    let page = web.get(&candidate.url).await?;
    let decoded = decode(&page.body, page.content_type.as_deref());
    let fetched_at = Utc::now();
    let rules = source.extract.clone();
    let article = parse_off_thread(decoded.text, move |html| {
        extract_with(html, fetched_at, &rules)
    })
    .await
    .map_err(|message| cx.failure(&candidate.url, message))?;
    if article.content.trim().is_empty() {
        return Err(cx.failure(&candidate.url, "no article text found on the page"));
    }
    let title = if article.title.is_empty() {
        candidate.title.clone().unwrap_or_default()
    } else {
        article.title
    };
    Ok(RawDocument {
        id: doc_id(canonical).expect("canonical URLs are valid"),
        url: canonical.to_string(),
        source: source.name().to_string(),
        origin: article.origin,
        author: article.author,
        title,
        content: article.content,
        published_at: article.published_at.or(candidate.published_at),
        fetched_at,
        charset: decoded.charset.to_string(),
        source_type: source.config.source_type(),
        platform: source.config.platform(),
        snapshot: Some(lz4_flex::compress_prepend_size(&page.body)),
        ..Default::default()
    })
}
