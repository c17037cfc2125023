//! `kind = "listing"`: a news listing page whose links lead to articles, and, with
//! `pages`, the listing's further pages by their 下一页 link.

use super::{articles, Context, Visit, Web};
use crate::parsing::parse_off_thread;
use crate::{decode, Candidate, CrawlError, Source};
use regex::Regex;
use scraper::{Html, Selector};
use serde::Deserialize;
use std::collections::HashSet;
use url::Url;

/// `[source.listing]`
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListingSettings {
    /// CSS selector of the article links (default: every link).
    pub link_selector: Option<String>,
    /// A regular expression article URLs must match (default: links to the listing's
    /// own site).
    pub link_pattern: Option<String>,
    /// How many pages of the listing a visit reads (default 1), following its "next
    /// page" link and stopping early at a page whose links were all seen before.
    pub pages: Option<usize>,
    /// CSS selector of the "next page" link (default: a link reading 下一页, 下页, 后页,
    /// › or »).
    pub next_page_selector: Option<String>,
}

/// [`ListingSettings`], checked and compiled.
#[derive(Debug, Clone)]
pub(crate) struct Listing {
    link_selector: Selector,
    link_pattern: Option<Regex>,
    pages: usize,
    next_page_selector: Option<Selector>,
}

impl Listing {
    pub(crate) fn build(settings: &ListingSettings) -> Result<Listing, String> {
        let pages = settings.pages.unwrap_or(1);
        if pages == 0 {
            return Err("pages: must be at least 1".into());
        }
        Ok(Listing {
            link_selector: Selector::parse(settings.link_selector.as_deref().unwrap_or("a[href]"))
                .map_err(|e| format!("link_selector: {e}"))?,
            link_pattern: settings
                .link_pattern
                .as_deref()
                .map(Regex::new)
                .transpose()
                .map_err(|e| format!("link_pattern: {e}"))?,
            pages,
            next_page_selector: settings
                .next_page_selector
                .as_deref()
                .map(Selector::parse)
                .transpose()
                .map_err(|e| format!("next_page_selector: {e}"))?,
        })
    }

    /// One page of the listing read: its article links and its next page. Parsed off
    /// the async threads within the parsing budget; a page too deep or too slow to
    /// parse is an error.
    async fn read(
        &self,
        cx: &Context<'_>,
        page_url: &Url,
        html: String,
    ) -> Result<ListingPage, CrawlError> {
        let (listing, source, url) = (self.clone(), cx.source.clone(), page_url.clone());
        parse_off_thread(html, move |html| {
            let doc = Html::parse_document(html);
            ListingPage {
                candidates: listing.candidates(&source, &url, &doc),
                next: listing.next_page(&source, &url, &doc),
            }
        })
        .await
        .map_err(|message| cx.failure(page_url, message))
    }

    /// The article links on one page of the listing.
    fn candidates(&self, source: &Source, page_url: &Url, doc: &Html) -> Vec<Candidate> {
        doc.select(&self.link_selector)
            .filter_map(|a| {
                let href = a.value().attr("href")?;
                let mut url = page_url.join(href.trim()).ok()?;
                url.set_fragment(None);
                let followed = source.guard.check_url(&url).is_ok()
                    && url != *page_url
                    && match &self.link_pattern {
                        Some(pattern) => pattern.is_match(url.as_str()),
                        // Without a pattern, stay on the listing's own site.
                        None => url.host_str() == page_url.host_str(),
                    };
                let title = a.text().collect::<String>().trim().to_string();
                followed.then_some(Candidate {
                    url,
                    title: (!title.is_empty()).then_some(title),
                    published_at: None,
                })
            })
            .collect()
    }

    /// The listing's next page after `page_url`, on the same site.
    fn next_page(&self, source: &Source, page_url: &Url, doc: &Html) -> Option<Url> {
        const NEXT: &[&str] = &[
            "下一页",
            "下页",
            "后页",
            "下一頁",
            "›",
            "»",
            "下一页>",
            "下一页 >",
        ];
        let any_link = Selector::parse("a[href]").expect("valid selector");
        let mut links = doc.select(self.next_page_selector.as_ref().unwrap_or(&any_link));
        let next = links.find(|a| {
            self.next_page_selector.is_some() || NEXT.contains(&a.text().collect::<String>().trim())
        })?;
        let mut url = page_url.join(next.value().attr("href")?.trim()).ok()?;
        url.set_fragment(None);
        let usable = url != *page_url
            && url.host_str() == page_url.host_str()
            && matches!(url.scheme(), "http" | "https")
            && source.guard.check_url(&url).is_ok();
        usable.then_some(url)
    }

    /// Whether any of `candidates` is not seen before.
    fn any_unseen(cx: &Context<'_>, candidates: &[Candidate]) -> Result<bool, CrawlError> {
        for candidate in candidates {
            let Ok(canonical) = cx.crawler.canonical(&candidate.url) else {
                continue;
            };
            if !cx.crawler.seen.contains(&canonical)? {
                return Ok(true);
            }
        }
        Ok(false)
    }

    /// Follows the listing's "next page" links, adding their article links, until
    /// `pages` are read or a page brings nothing unseen (the visit has caught up). A
    /// next page that fails is logged; what was found so far still counts.
    async fn more_pages(
        &self,
        cx: &Context<'_>,
        web: &Web<'_>,
        first: ListingPage,
        first_url: &Url,
        candidates: &mut Vec<Candidate>,
    ) -> Result<(), CrawlError> {
        let max = cx.source.config.max_articles;
        let mut next_page = first.next;
        let mut fresh_on_page = candidates.len();
        let mut read = HashSet::from([first_url.clone()]);
        for _ in 1..self.pages {
            let fresh = &candidates[candidates.len() - fresh_on_page..];
            if !Self::any_unseen(cx, fresh)? || candidates.len() >= max {
                break;
            }
            let Some(next) = next_page.take() else {
                break;
            };
            if !read.insert(next.clone()) {
                break; // a "next" link back to a page already read
            }
            let page = match web.get(&next).await {
                Ok(page) => page,
                Err(error) => {
                    tracing::warn!(source = cx.name(), %error, "next listing page not read");
                    break;
                }
            };
            let text = decode(&page.body, page.content_type.as_deref()).text;
            let listed = match self.read(cx, &page.url, text).await {
                Ok(listed) => listed,
                Err(error) => {
                    tracing::warn!(source = cx.name(), %error, "next listing page not read");
                    break;
                }
            };
            let known: HashSet<Url> = candidates.iter().map(|c| c.url.clone()).collect();
            let more: Vec<Candidate> = listed
                .candidates
                .into_iter()
                .filter(|c| !known.contains(&c.url))
                .collect();
            fresh_on_page = more.len();
            candidates.extend(more);
            next_page = listed.next;
        }
        Ok(())
    }
}

/// What one page of a listing offers.
struct ListingPage {
    candidates: Vec<Candidate>,
    next: Option<Url>,
}

impl Visit for Listing {
    async fn visit(&self, cx: &mut Context<'_>) -> Result<(), CrawlError> {
        let web = cx.web().await?;
        let Some((page, text)) = articles::source_page(cx, &web).await? else {
            return Ok(());
        };
        let mut first = self.read(cx, &page.url, text).await?;
        let mut candidates = std::mem::take(&mut first.candidates);
        let mut unique = HashSet::new();
        candidates.retain(|c| unique.insert(c.url.clone()));
        if self.pages > 1 {
            self.more_pages(cx, &web, first, &page.url, &mut candidates)
                .await?;
        }
        articles::follow(cx, &web, &page, candidates).await
    }
}

#[cfg(test)]
mod tests {
    use crate::source::tests::source;
    use crate::sources::Kind;

    #[test]
    fn listing_follows_matching_links_once() {
        let listing = source(
            "name = \"示例\"\nkind = \"listing\"\nurl = \"{sample_site}/news/\"\nallowed_networks = [\"127.0.0.0/8\"]\n[listing]\nlink_selector = \".list a\"\nlink_pattern = '/news/\\d+\\.html$'",
        )
        .unwrap();
        let Kind::Listing(kind) = &listing.kind else {
            panic!("{:?}", listing.kind)
        };
        let html = r#"<div class="nav"><a href="/news/9.html">导航</a></div>
            <ul class="list"><li><a href="1.html">学生溺水</a></li><li><a href="2.html#c">评论</a></li>
            <li><a href="/about.html">关于</a></li><li><a href="javascript:void(0)">x</a></li></ul>
            <a href="list-2.html">下一页</a>"#;
        let doc = scraper::Html::parse_document(html);
        let found = kind.candidates(&listing, &listing.url, &doc);
        let urls: Vec<&str> = found.iter().map(|c| c.url.as_str()).collect();
        assert_eq!(
            urls,
            [
                "http://127.0.0.1:9/news/1.html",
                "http://127.0.0.1:9/news/2.html"
            ]
        );
        assert_eq!(found[0].title.as_deref(), Some("学生溺水"));
        assert_eq!(
            kind.next_page(&listing, &listing.url, &doc)
                .unwrap()
                .as_str(),
            "http://127.0.0.1:9/news/list-2.html"
        );
    }
}
