//! Configured sources (信源) and how each kind finds its article links.

use crate::api::ApiMapping;
use crate::extract::ExtractRules;
use crate::guard::AddressGuard;
use chrono::{DateTime, FixedOffset};
use regex::Regex;
use scraper::{Html, Selector};
use serde::Deserialize;
use std::sync::Arc;
use url::Url;
use yuqing_model::{beijing, SourceType};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SourceKind {
    /// An RSS, Atom or JSON Feed whose items link to articles.
    Feed,
    /// A news listing page whose links lead to articles.
    Listing,
    /// A sitemap (or news sitemap) of article pages, or a sitemap index of sitemaps.
    Sitemap,
    /// A JSONL export or a folder of exports and saved pages (`path`), read each visit;
    /// what was imported before is not imported again.
    Import,
    /// A JSON API listing social posts (`[source.api]`: a preset or a field mapping).
    Api,
}

/// One `[[source]]` of the configuration.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SourceConfig {
    /// Shown to the desk as the document's source.
    pub name: String,
    pub kind: SourceKind,
    /// May contain `{sample_site}`, replaced by the bundled sample site's address.
    /// Not for imports.
    #[serde(default)]
    pub url: String,
    /// Imports: the JSONL file or the folder, relative to the configuration file.
    pub path: Option<std::path::PathBuf>,
    #[serde(default = "default_interval_secs")]
    pub interval_secs: u64,
    /// This source's pause between two requests to its site, instead of the crawler's
    /// `request_delay_ms` (robots.txt `Crawl-delay` can still lengthen it).
    pub request_delay_ms: Option<u64>,
    #[serde(default = "default_enabled")]
    pub enabled: bool,
    /// Listing pages: CSS selector of the article links (default: every link).
    pub link_selector: Option<String>,
    /// Listing pages: a regular expression article URLs must match.
    pub link_pattern: Option<String>,
    /// At most this many article links are followed per visit.
    #[serde(default = "default_max_articles")]
    pub max_articles: usize,
    /// Listing pages: how many pages of the listing a visit reads (following its "next
    /// page" link), stopping early at a page whose links were all seen before.
    #[serde(default = "default_listing_pages")]
    pub listing_pages: usize,
    /// Listing pages: CSS selector of the "next page" link (default: a link reading
    /// 下一页, 下页, 后页, › or »).
    pub next_page_selector: Option<String>,
    /// Who publishes here: 官方媒体, 商业媒体 (the default, or 社交平台 for API sources),
    /// 自媒体 or 社交平台 (or official, commercial, self_media, social). It weighs in the
    /// risk of what the source says.
    pub source_type: Option<yuqing_model::SourceType>,
    /// The platform of a social source (weibo, douyin, …), for the desk's `platform:`.
    /// An API preset names its own.
    pub platform: Option<String>,
    /// API sources: where the posts are in the API's answers (see `api.rs`).
    pub api: Option<crate::api::ApiConfig>,
    /// CSS selectors for a site where the generic article extractor goes wrong.
    pub extract: Option<crate::extract::ExtractConfig>,
    /// Networks this source may reach although they are loopback, private or special
    /// (refused by default, so a hostile page cannot point the crawler at the intranet),
    /// e.g. `["127.0.0.0/8"]` for a site served on this machine.
    #[serde(default)]
    pub allowed_networks: Vec<String>,
}

fn default_interval_secs() -> u64 {
    600
}
fn default_enabled() -> bool {
    true
}
fn default_listing_pages() -> usize {
    1
}
fn default_max_articles() -> usize {
    200
}

/// A source ready to crawl: its configuration checked and compiled.
#[derive(Debug, Clone)]
pub struct Source {
    pub config: SourceConfig,
    pub url: Url,
    pub guard: AddressGuard,
    link_selector: Selector,
    link_pattern: Option<Regex>,
    next_page_selector: Option<Selector>,
    /// API sources: the checked field mapping.
    pub api: Option<Arc<ApiMapping>>,
    /// The source's own extraction selectors (none: the generic extractor alone).
    pub extract: ExtractRules,
}

/// An article link found on a source, with what the source already said about it.
#[derive(Debug, Clone, PartialEq)]
pub struct Candidate {
    pub url: Url,
    pub title: Option<String>,
    pub published_at: Option<DateTime<FixedOffset>>,
}

impl SourceConfig {
    /// Who publishes here, as configured or as the kind of source suggests.
    pub fn source_type(&self) -> SourceType {
        self.source_type.unwrap_or(match self.kind {
            SourceKind::Api => SourceType::Social,
            _ => SourceType::default(),
        })
    }

    /// The platform, as configured or as the API preset names it.
    pub fn platform(&self) -> Option<String> {
        self.platform.clone().or_else(|| {
            let preset = self.api.as_ref()?.preset?;
            Some(preset.platform().to_string())
        })
    }

    /// Checks and compiles the source. `sample_site` replaces `{sample_site}` in the URL.
    /// Errors name the offending field.
    pub fn build(&self, sample_site: &str) -> Result<Source, String> {
        if self.name.trim().is_empty() {
            return Err("name: must not be empty".into());
        }
        if self.kind == SourceKind::Import {
            let Some(path) = &self.path else {
                return Err("path: an import source needs the file or folder to read".into());
            };
            if !self.url.is_empty() || self.link_selector.is_some() || self.link_pattern.is_some() {
                return Err("an import source takes `path`, not url or link settings".into());
            }
            let absolute = std::path::absolute(path).map_err(|e| format!("path: {e}"))?;
            let url = Url::from_file_path(&absolute)
                .map_err(|_| format!("path: {} is not a usable path", path.display()))?;
            return Ok(Source {
                config: self.clone(),
                url,
                guard: AddressGuard::new(Vec::new()),
                link_selector: Selector::parse("a[href]").expect("valid selector"),
                link_pattern: None,
                next_page_selector: None,
                api: None,
                extract: self
                    .extract
                    .as_ref()
                    .map(|e| e.build())
                    .transpose()?
                    .unwrap_or_default(),
            });
        }
        if self.path.is_some() {
            return Err("path: only import sources read files".into());
        }
        let url_text = self.url.replace("{sample_site}", sample_site);
        let url = Url::parse(&url_text).map_err(|e| format!("url: {e}: {url_text:?}"))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(format!(
                "url: only http and https are crawled, got {:?}",
                url.scheme()
            ));
        }
        if self.kind != SourceKind::Listing
            && (self.link_selector.is_some()
                || self.next_page_selector.is_some()
                || self.listing_pages != default_listing_pages())
        {
            return Err(
                "link_selector, next_page_selector and listing_pages apply to listing sources only"
                    .into(),
            );
        }
        if self.listing_pages == 0 {
            return Err("listing_pages: must be at least 1".into());
        }
        let next_page_selector = self
            .next_page_selector
            .as_deref()
            .map(Selector::parse)
            .transpose()
            .map_err(|e| format!("next_page_selector: {e}"))?;
        if matches!(self.kind, SourceKind::Feed | SourceKind::Api) && self.link_pattern.is_some() {
            return Err("link_pattern applies to listing and sitemap sources only".into());
        }
        let api = match (&self.api, self.kind) {
            (Some(api), SourceKind::Api) => Some(Arc::new(api.build()?)),
            (None, SourceKind::Api) => {
                return Err(
                    "api: an API source needs an [source.api] table (a preset or a field mapping)"
                        .into(),
                )
            }
            (Some(_), _) => return Err("api applies to API sources (kind = \"api\") only".into()),
            (None, _) => None,
        };
        let link_selector = Selector::parse(self.link_selector.as_deref().unwrap_or("a[href]"))
            .map_err(|e| format!("link_selector: {e}"))?;
        let link_pattern = self
            .link_pattern
            .as_deref()
            .map(Regex::new)
            .transpose()
            .map_err(|e| format!("link_pattern: {e}"))?;
        if self.interval_secs == 0 {
            return Err("interval_secs: must be at least 1".into());
        }
        let allowed = self
            .allowed_networks
            .iter()
            .map(|net| {
                net.parse::<ipnet::IpNet>()
                    .or_else(|_| net.parse::<std::net::IpAddr>().map(ipnet::IpNet::from))
                    .map_err(|_| {
                        format!("allowed_networks: {net:?} is not a network like \"127.0.0.0/8\"")
                    })
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Source {
            config: self.clone(),
            url,
            guard: AddressGuard::new(allowed),
            link_selector,
            link_pattern,
            next_page_selector,
            api,
            extract: match &self.extract {
                Some(_) if matches!(self.kind, SourceKind::Api) => {
                    return Err(
                        "extract applies to sources of article pages, not API sources".into(),
                    )
                }
                Some(extract) => extract.build()?,
                None => ExtractRules::default(),
            },
        })
    }
}

impl Source {
    pub fn name(&self) -> &str {
        &self.config.name
    }

    /// The article links on a fetched source page (feed document or listing page).
    pub fn candidates(&self, page_url: &Url, text: &str) -> Result<Vec<Candidate>, String> {
        let mut found = match self.config.kind {
            SourceKind::Feed => feed_candidates(page_url, text)?,
            SourceKind::Listing => self.listing_candidates(page_url, text),
            SourceKind::Sitemap => self.sitemap_candidates(&crate::sitemap::parse(text)?),
            SourceKind::Import | SourceKind::Api => Vec::new(),
        };
        let mut seen = std::collections::HashSet::new();
        found.retain(|c| seen.insert(c.url.clone()));
        found.truncate(self.config.max_articles);
        Ok(found)
    }

    /// The pages a parsed sitemap lists that this source follows, newest first (a
    /// sitemap can list years of pages; `max_articles` keeps the recent ones).
    pub fn sitemap_candidates(&self, sitemap: &crate::sitemap::Sitemap) -> Vec<Candidate> {
        let mut pages: Vec<Candidate> = sitemap
            .pages
            .iter()
            .filter_map(|entry| {
                let url = Url::parse(&entry.loc).ok()?;
                let followed = self.guard.check_url(&url).is_ok()
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
            .collect();
        pages.sort_by_key(|c| std::cmp::Reverse(c.published_at));
        pages
    }

    /// The listing's next page after `page_url`, on the same site.
    pub fn next_listing_page(&self, page_url: &Url, html: &str) -> Option<Url> {
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
        let doc = Html::parse_document(html);
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
            && self.guard.check_url(&url).is_ok();
        usable.then_some(url)
    }

    fn listing_candidates(&self, page_url: &Url, html: &str) -> Vec<Candidate> {
        let doc = Html::parse_document(html);
        doc.select(&self.link_selector)
            .filter_map(|a| {
                let href = a.value().attr("href")?;
                let mut url = page_url.join(href.trim()).ok()?;
                url.set_fragment(None);
                let followed = self.guard.check_url(&url).is_ok()
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
}

fn feed_candidates(feed_url: &Url, text: &str) -> Result<Vec<Candidate>, String> {
    let feed = feed_rs::parser::parse(text.as_bytes())
        .map_err(|e| format!("{feed_url}: not a feed: {e}"))?;
    Ok(feed
        .entries
        .into_iter()
        .filter_map(|entry| {
            let link = entry.links.first()?;
            let url = feed_url.join(link.href.trim()).ok()?;
            let published_at = entry
                .published
                .or(entry.updated)
                .map(|t| t.with_timezone(&beijing()));
            Some(Candidate {
                url,
                title: entry.title.map(|t| t.content.trim().to_string()),
                published_at,
            })
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn source(toml_text: &str) -> Result<Source, String> {
        let config: SourceConfig = toml::from_str(toml_text).map_err(|e| e.to_string())?;
        config.build("http://127.0.0.1:9")
    }

    #[test]
    fn listing_follows_matching_links_once() {
        let listing = source(
            "name = \"示例\"\nkind = \"listing\"\nurl = \"{sample_site}/news/\"\nlink_selector = \".list a\"\nlink_pattern = '/news/\\d+\\.html$'\nallowed_networks = [\"127.0.0.0/8\"]",
        )
        .unwrap();
        let html = r#"<div class="nav"><a href="/news/9.html">导航</a></div>
            <ul class="list"><li><a href="1.html">学生溺水</a></li><li><a href="1.html#c">评论</a></li>
            <li><a href="/about.html">关于</a></li><li><a href="javascript:void(0)">x</a></li></ul>"#;
        let found = listing.candidates(&listing.url, html).unwrap();
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].url.as_str(), "http://127.0.0.1:9/news/1.html");
        assert_eq!(found[0].title.as_deref(), Some("学生溺水"));
    }

    #[test]
    fn feed_items_bring_their_links_and_dates() {
        let feed =
            source("name = \"f\"\nkind = \"feed\"\nurl = \"http://127.0.0.1:9/rss.xml\"").unwrap();
        let rss = r#"<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel><title>t</title>
            <item><title>校车检查</title><link>/a/1.html</link><pubDate>Fri, 20 Nov 2026 01:30:00 GMT</pubDate></item>
            </channel></rss>"#;
        let found = feed.candidates(&feed.url, rss).unwrap();
        assert_eq!(found[0].url.as_str(), "http://127.0.0.1:9/a/1.html");
        assert_eq!(
            found[0].published_at.unwrap().to_rfc3339(),
            "2026-11-20T09:30:00+08:00"
        );
        assert!(feed
            .candidates(&feed.url, "<html>not a feed</html>")
            .unwrap_err()
            .contains("not a feed"));
    }

    #[test]
    fn bad_source_settings_name_the_field() {
        let err = source(
            "name = \"x\"\nkind = \"listing\"\nurl = \"http://a.cn\"\nlink_selector = \"((\"",
        )
        .unwrap_err();
        assert!(err.starts_with("link_selector:"), "{err}");
        let err =
            source("name = \"x\"\nkind = \"feed\"\nurl = \"file:///etc/passwd\"").unwrap_err();
        assert!(err.contains("only http and https"), "{err}");
        let err = source("name = \"x\"\nkind = \"atlas\"\nurl = \"http://a.cn\"").unwrap_err();
        assert!(err.contains("unknown variant `atlas`"), "{err}");
    }
}
