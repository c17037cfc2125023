//! The kinds of source, each a module behind one small trait, [`Visit`]: a visit finds
//! what is new on its source and hands each document on through the [`Context`], which
//! is the one place where a document goes to the bus and is then marked seen.
//!
//! | kind      | module        | its own settings      |
//! |-----------|---------------|-----------------------|
//! | `feed`    | [`feed`]      | none                  |
//! | `listing` | [`listing`]   | `[source.listing]`    |
//! | `sitemap` | [`sitemap`]   | `[source.sitemap]`    |
//! | `import`  | [`import`]    | `[source.import]`     |
//! | `api`     | [`api`]       | `[source.api]`        |
//!
//! Feeds, listings and sitemaps all lead to article pages, which [`articles`] follows
//! and extracts. Adding a kind: a variant of [`SourceKind`](crate::SourceKind), its
//! settings table in [`SourceConfig`](crate::SourceConfig), a module here implementing
//! [`Visit`], and its arm in [`Kind`].

pub(crate) mod api;
mod articles;
pub(crate) mod feed;
pub(crate) mod import;
pub(crate) mod listing;
pub(crate) mod sitemap;

use crate::crawler::Crawler;
use crate::fetch::{FetchError, Fetcher, Page};
use crate::robots::Rules;
use crate::{CrawlError, Source, SourceConfig, SourceKind, VisitReport};
use std::time::Duration;
use url::Url;
use yuqing_model::RawDocument;

/// What a kind of source does on a visit.
pub(crate) trait Visit {
    /// Visits the source once: finds what is new and hands each document on with
    /// [`Context::hand_on`], counting in `cx.report` what it found, skipped and failed.
    /// A failing item is logged and counted; only a failure of the source itself (or of
    /// the bus or the state database) fails the visit.
    async fn visit(&self, cx: &mut Context<'_>) -> Result<(), CrawlError>;
}

/// A source's kind with its own settings compiled.
#[derive(Debug, Clone)]
pub(crate) enum Kind {
    Feed(feed::Feed),
    Listing(listing::Listing),
    Sitemap(sitemap::SitemapSource),
    Import(import::Import),
    Api(api::Api),
}

impl Kind {
    /// Checks and compiles the settings of the source's kind. Errors name the field.
    pub(crate) fn build(config: &SourceConfig) -> Result<Kind, String> {
        Ok(match config.kind {
            SourceKind::Feed => Kind::Feed(feed::Feed),
            SourceKind::Listing => Kind::Listing(listing::Listing::build(
                &config.listing.clone().unwrap_or_default(),
            )?),
            SourceKind::Sitemap => Kind::Sitemap(sitemap::SitemapSource::build(
                &config.sitemap.clone().unwrap_or_default(),
            )?),
            SourceKind::Import => Kind::Import(import::Import::build(config.import.as_ref())?),
            SourceKind::Api => Kind::Api(api::Api::build(config.api.as_ref())?),
        })
    }

    pub(crate) async fn visit(&self, cx: &mut Context<'_>) -> Result<(), CrawlError> {
        match self {
            Kind::Feed(kind) => kind.visit(cx).await,
            Kind::Listing(kind) => kind.visit(cx).await,
            Kind::Sitemap(kind) => kind.visit(cx).await,
            Kind::Import(kind) => kind.visit(cx).await,
            Kind::Api(kind) => kind.visit(cx).await,
        }
    }
}

/// One visit of one source: what the kind needs of the crawler, and what it did.
pub(crate) struct Context<'a> {
    pub crawler: &'a Crawler,
    pub source: &'a Source,
    pub report: VisitReport,
}

impl<'a> Context<'a> {
    pub(crate) fn new(crawler: &'a Crawler, source: &'a Source) -> Self {
        Context {
            crawler,
            source,
            report: VisitReport::default(),
        }
    }

    pub(crate) fn name(&self) -> &str {
        self.source.name()
    }

    /// An error of the source itself, at `url`.
    pub(crate) fn failure(&self, url: &Url, message: impl Into<String>) -> CrawlError {
        CrawlError::Content {
            url: url.to_string(),
            message: message.into(),
        }
    }

    /// Whether the document known by `key` (its canonical URL) was handed on before;
    /// counted as already seen if so.
    pub(crate) fn seen_before(&mut self, key: &str) -> Result<bool, CrawlError> {
        let seen = self.crawler.seen.contains(key)?;
        if seen {
            self.report.already_seen += 1;
        }
        Ok(seen)
    }

    /// Hands a document on to the bus, then marks it seen under `key`: in this order, so
    /// a crash between the two fetches it again rather than losing it.
    pub(crate) async fn hand_on(
        &mut self,
        key: &str,
        document: RawDocument,
    ) -> Result<(), CrawlError> {
        self.crawler.output.send(&document).await?;
        self.crawler.seen.mark(
            key,
            &document.id,
            self.source.name(),
            self.crawler.handoff_is_durable,
        )?;
        self.report.collected += 1;
        Ok(())
    }

    /// The web side of a visit: the source's HTTP client and robots.txt rules, and its
    /// pace. Fails if robots.txt does not let us fetch the source's own page.
    pub(crate) async fn web(&self) -> Result<Web<'a>, CrawlError> {
        let source = self.source;
        let fetcher = self
            .crawler
            .fetcher(source)
            .map_err(|e| self.failure(&source.url, format!("cannot build an HTTP client: {e}")))?;
        let rules = self.crawler.robots.rules_for(&fetcher, &source.url).await?;
        if !rules.allowed(&source.url) {
            return Err(self.failure(&source.url, "robots.txt does not allow fetching this page"));
        }
        // The source's own pace (a fragile site may ask for a slower one), else the
        // crawler's; robots.txt may slow either down.
        let pace = source
            .config
            .request_delay_ms
            .map_or(self.crawler.request_delay, Duration::from_millis);
        let delay = rules.crawl_delay().map_or(pace, |asked| asked.max(pace));
        Ok(Web {
            crawler: self.crawler,
            fetcher,
            rules,
            delay,
        })
    }
}

/// A visit's access to the web: one client, the source site's robots.txt, its pace.
pub(crate) struct Web<'a> {
    crawler: &'a Crawler,
    pub fetcher: Fetcher,
    /// robots.txt of the source's own site.
    pub rules: Rules,
    /// Pause between two requests to one host.
    pub delay: Duration,
}

impl Web<'_> {
    /// Fetches a page in the host's turn (see `request_delay_ms`) and within the limits
    /// of requests in flight.
    pub(crate) async fn get(&self, url: &Url) -> Result<Page, FetchError> {
        self.crawler.host_turn(url, self.delay).await;
        self.crawler.limited(url, self.fetcher.get(url)).await
    }

    /// [`Web::get`] with request headers (an API's credentials).
    pub(crate) async fn get_with_headers(
        &self,
        url: &Url,
        headers: &reqwest::header::HeaderMap,
    ) -> Result<Page, FetchError> {
        self.crawler.host_turn(url, self.delay).await;
        self.crawler
            .limited(url, self.fetcher.get_with_headers(url, headers))
            .await
    }

    /// Fetches a page at once, within the limits of requests in flight but without
    /// waiting for the host's turn (a source's own sitemaps, read back to back).
    pub(crate) async fn get_now(&self, url: &Url) -> Result<Page, FetchError> {
        self.crawler.limited(url, self.fetcher.get(url)).await
    }
}
