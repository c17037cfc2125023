//! `kind = "sitemap"`: a sitemap (or news sitemap) of article pages, or a sitemap index
//! of sitemaps, of which the most recently modified few are read.

mod xml;

use super::{articles, Context, Visit, Web};
use crate::{decode, Candidate, CrawlError, Source};
use regex::Regex;
use serde::Deserialize;
use url::Url;
pub(crate) use xml::{parse, Sitemap};

/// Sitemaps of an index read per visit: an index can list a sitemap per month for years.
const CHILD_SITEMAPS: usize = 5;

/// `[source.sitemap]`
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SitemapSettings {
    /// A regular expression the pages' URLs must match (default: every page).
    pub link_pattern: Option<String>,
}

/// [`SitemapSettings`], checked and compiled.
#[derive(Debug, Clone)]
pub(crate) struct SitemapSource {
    link_pattern: Option<Regex>,
}

impl SitemapSource {
    pub(crate) fn build(settings: &SitemapSettings) -> Result<SitemapSource, String> {
        let link_pattern = settings
            .link_pattern
            .as_deref()
            .map(Regex::new)
            .transpose()
            .map_err(|e| format!("link_pattern: {e}"))?;
        Ok(SitemapSource { link_pattern })
    }

    /// The pages a parsed sitemap lists that this source follows.
    fn candidates(&self, source: &Source, sitemap: &Sitemap) -> Vec<Candidate> {
        sitemap
            .pages
            .iter()
            .filter_map(|entry| {
                let url = Url::parse(&entry.loc).ok()?;
                let followed = source.guard.check_url(&url).is_ok()
                    && self
                        .link_pattern
                        .as_ref()
                        .is_none_or(|pattern| pattern.is_match(url.as_str()));
                followed.then(|| Candidate {
                    url,
                    title: entry.title.clone(),
                    published_at: entry.time,
                })
            })
            .collect()
    }

    /// The pages of the sitemaps an index lists: the most recently modified few. A
    /// child that fails is logged; the others still count.
    async fn child_sitemaps(
        &self,
        cx: &Context<'_>,
        web: &Web<'_>,
        index: &Sitemap,
    ) -> Vec<Candidate> {
        let mut children = index.sitemaps.clone();
        children.sort_by_key(|c| std::cmp::Reverse(c.time));
        let mut found = Vec::new();
        for child in children.into_iter().take(CHILD_SITEMAPS) {
            let Ok(url) = Url::parse(&child.loc) else {
                continue;
            };
            let page = match web.get_now(&url).await {
                Ok(page) => page,
                Err(error) => {
                    tracing::warn!(source = cx.name(), %error, "sitemap not read");
                    continue;
                }
            };
            let text = decode(&page.body, page.content_type.as_deref()).text;
            match parse(&text) {
                Ok(map) => found.extend(self.candidates(cx.source, &map)),
                Err(error) => {
                    tracing::warn!(source = cx.name(), url = %url, %error, "sitemap not read")
                }
            }
        }
        found
    }
}

impl Visit for SitemapSource {
    async fn visit(&self, cx: &mut Context<'_>) -> Result<(), CrawlError> {
        let web = cx.web().await?;
        let Some((page, text)) = articles::source_page(cx, &web).await? else {
            return Ok(());
        };
        let map = parse(&text).map_err(|m| cx.failure(&page.url, m))?;
        let mut candidates = self.candidates(cx.source, &map);
        candidates.extend(self.child_sitemaps(cx, &web, &map).await);
        // A sitemap can list years of pages: `max_articles` keeps the recent ones.
        candidates.sort_by_key(|c| std::cmp::Reverse(c.published_at));
        articles::follow(cx, &web, &page, candidates).await
    }
}
