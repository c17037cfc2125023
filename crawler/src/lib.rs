//! The crawler stage: visits each configured source on its own schedule, follows article
//! links, decodes and extracts each article, and hands it to the bus as a
//! [`RawDocument`].
//!
//! One source failing (unreachable, broken feed) is logged and retried with backoff; it
//! never stops the others. A page is marked seen only after its document is on the bus.

pub mod api;
mod decode;
mod extract;
mod fetch;
mod guard;
pub mod import;
mod robots;
mod seen;
pub mod sitemap;
mod source;

pub use decode::{decode, Decoded};
pub use extract::{
    extract, extract_at, extract_with, parse_chinese_datetime, parse_relative_time, Article,
    ExtractConfig, ExtractRules,
};
pub use fetch::{FetchError, Fetcher, FetcherOptions, Page, Validators};
pub use guard::AddressGuard;
pub use seen::{SeenStore, SourceHealth};
pub use source::{Candidate, Source, SourceConfig, SourceKind};

use chrono::Utc;
use serde::Deserialize;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::watch;
use yuqing_bus::{BusError, Producer};
use yuqing_model::{canonical_url, doc_id, RawDocument};

/// `[crawler]` in the configuration: settings shared by all sources.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CrawlerSettings {
    #[serde(default = "default_user_agent")]
    pub user_agent: String,
    #[serde(default = "default_timeout_secs")]
    pub timeout_secs: u64,
    #[serde(default = "default_max_body_bytes")]
    pub max_body_bytes: usize,
    #[serde(default = "default_max_redirects")]
    pub max_redirects: usize,
    /// Pause between two requests of one source.
    #[serde(default = "default_request_delay_ms")]
    pub request_delay_ms: u64,
    /// Further attempts of a request that timed out or got 5xx or 429.
    #[serde(default = "default_retries")]
    pub retries: u32,
    /// Mobile and desktop twins: a page on the first host is the page at the same path
    /// on the second (`"m.example.com" = "www.example.com"`), one document for both.
    #[serde(default)]
    pub host_twins: std::collections::BTreeMap<String, String>,
    /// Requests in flight at once, all sources together.
    #[serde(default = "default_max_concurrent_fetches")]
    pub max_concurrent_fetches: usize,
    /// Requests in flight at once to one host, whichever sources ask.
    #[serde(default = "default_max_per_host")]
    pub max_per_host: usize,
}

fn default_max_concurrent_fetches() -> usize {
    16
}
fn default_max_per_host() -> usize {
    2
}

fn default_retries() -> u32 {
    2
}

fn default_user_agent() -> String {
    format!(
        "yuqing/{} (school-safety monitoring)",
        env!("CARGO_PKG_VERSION")
    )
}
fn default_timeout_secs() -> u64 {
    20
}
fn default_max_body_bytes() -> usize {
    5 * 1024 * 1024
}
fn default_max_redirects() -> usize {
    5
}
fn default_request_delay_ms() -> u64 {
    500
}

impl Default for CrawlerSettings {
    fn default() -> Self {
        CrawlerSettings {
            user_agent: default_user_agent(),
            timeout_secs: default_timeout_secs(),
            max_body_bytes: default_max_body_bytes(),
            max_redirects: default_max_redirects(),
            request_delay_ms: default_request_delay_ms(),
            retries: default_retries(),
            host_twins: Default::default(),
            max_concurrent_fetches: default_max_concurrent_fetches(),
            max_per_host: default_max_per_host(),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum CrawlError {
    #[error(transparent)]
    Fetch(#[from] FetchError),
    #[error("{url}: {message}")]
    Content { url: String, message: String },
    #[error("seen-store: {0}")]
    State(#[from] rusqlite::Error),
    #[error(transparent)]
    Bus(#[from] BusError),
}

/// What one visit of a source did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct VisitReport {
    /// The source page answered 304: nothing changed since the last complete visit.
    pub unchanged: bool,
    pub links: usize,
    /// Links robots.txt does not let us fetch.
    pub blocked: usize,
    pub already_seen: usize,
    pub collected: usize,
    pub failed: usize,
}

pub struct Crawler {
    settings: CrawlerSettings,
    /// One HTTP client per source (each source has its own address guard), kept across
    /// visits so connections are reused.
    fetchers: Mutex<HashMap<String, Fetcher>>,
    robots: robots::RobotsCache,
    seen: Arc<SeenStore>,
    output: Producer<RawDocument>,
    /// Whether a published document is safe at once (Kafka acknowledged it) or only after
    /// its index commit (embedded bus), which the wiring then reports to the seen-store.
    handoff_is_durable: bool,
    request_delay: Duration,
    /// When each host may next be asked for an article: sources on one host share its
    /// pace, so two listings of one site do not double the load on it.
    host_pace: Mutex<HashMap<String, tokio::time::Instant>>,
    /// Articles being fetched now: a page two sources link (a feed and a listing of one
    /// site) is fetched once, by whichever source gets to it first.
    in_flight: Mutex<std::collections::HashSet<String>>,
    /// Bounds on requests in flight: all together, and per host.
    fetch_slots: Arc<tokio::sync::Semaphore>,
    host_slots: Mutex<HashMap<String, Arc<tokio::sync::Semaphore>>>,
}

/// Leave to send one request: a global slot and one of the host's.
struct FetchSlot {
    _global: tokio::sync::OwnedSemaphorePermit,
    _host: tokio::sync::OwnedSemaphorePermit,
}

/// A claim on an article being fetched, given up when dropped.
struct Claim<'a> {
    crawler: &'a Crawler,
    url: String,
}

impl Drop for Claim<'_> {
    fn drop(&mut self) {
        self.crawler
            .in_flight
            .lock()
            .expect("in-flight lock poisoned")
            .remove(&self.url);
    }
}

impl Crawler {
    pub fn new(
        settings: &CrawlerSettings,
        seen: Arc<SeenStore>,
        output: Producer<RawDocument>,
        handoff_is_durable: bool,
    ) -> Result<Self, reqwest::Error> {
        Ok(Crawler {
            settings: settings.clone(),
            fetchers: Mutex::new(HashMap::new()),
            robots: robots::RobotsCache::default(),
            seen,
            output,
            handoff_is_durable,
            request_delay: Duration::from_millis(settings.request_delay_ms),
            host_pace: Mutex::new(HashMap::new()),
            in_flight: Mutex::new(std::collections::HashSet::new()),
            fetch_slots: Arc::new(tokio::sync::Semaphore::new(
                settings.max_concurrent_fetches.max(1),
            )),
            host_slots: Mutex::new(HashMap::new()),
        })
    }

    fn fetcher(&self, source: &Source) -> Result<Fetcher, reqwest::Error> {
        let mut fetchers = self.fetchers.lock().expect("fetcher cache lock poisoned");
        if let Some(fetcher) = fetchers.get(source.name()) {
            return Ok(fetcher.clone());
        }
        let fetcher = Fetcher::new(FetcherOptions {
            user_agent: self.settings.user_agent.clone(),
            timeout: Duration::from_secs(self.settings.timeout_secs.max(1)),
            max_body_bytes: self.settings.max_body_bytes,
            max_redirects: self.settings.max_redirects,
            retries: self.settings.retries,
            guard: source.guard.clone(),
        })?;
        fetchers.insert(source.name().to_string(), fetcher.clone());
        Ok(fetcher)
    }

    /// A page's canonical URL (see [`canonical_url`]), with a mobile twin's host replaced
    /// by its desktop host.
    fn canonical(&self, url: &url::Url) -> Result<String, yuqing_model::CanonicalUrlError> {
        let canonical = canonical_url(url.as_str())?;
        let Some(twin) = url
            .host_str()
            .and_then(|host| self.settings.host_twins.get(host))
        else {
            return Ok(canonical);
        };
        let mut rewritten = url::Url::parse(&canonical).expect("canonical URLs parse");
        if rewritten.set_host(Some(twin)).is_err() {
            return Ok(canonical);
        }
        Ok(rewritten.to_string())
    }

    /// Waits until a request to `url`'s host may go out (see `max_concurrent_fetches`
    /// and `max_per_host`); the request holds the returned slot while it runs.
    async fn fetch_slot(&self, url: &url::Url) -> FetchSlot {
        let host = {
            let mut hosts = self.host_slots.lock().expect("host slots lock poisoned");
            hosts
                .entry(url.host_str().unwrap_or_default().to_string())
                .or_insert_with(|| {
                    Arc::new(tokio::sync::Semaphore::new(
                        self.settings.max_per_host.max(1),
                    ))
                })
                .clone()
        };
        // Host first: waiting on a busy host must not hold a global slot.
        let host = host.acquire_owned().await.expect("never closed");
        let global = self
            .fetch_slots
            .clone()
            .acquire_owned()
            .await
            .expect("never closed");
        FetchSlot {
            _global: global,
            _host: host,
        }
    }

    /// Sends a request once its host and the crawler have room for it (see
    /// [`Crawler::fetch_slot`]); the request holds its slot until it is answered.
    async fn limited<T>(&self, url: &url::Url, request: impl std::future::Future<Output = T>) -> T {
        let _slot = self.fetch_slot(url).await;
        request.await
    }

    /// Claims an article for this visit, unless another source's visit is fetching it.
    fn claim(&self, url: &str) -> Option<Claim<'_>> {
        let fresh = self
            .in_flight
            .lock()
            .expect("in-flight lock poisoned")
            .insert(url.to_string());
        fresh.then(|| Claim {
            crawler: self,
            url: url.to_string(),
        })
    }

    /// Waits for the host's next turn: one article request per `delay` per host,
    /// whichever source asks.
    async fn host_turn(&self, url: &url::Url, delay: Duration) {
        if delay.is_zero() {
            return;
        }
        let host = url.host_str().unwrap_or_default().to_string();
        let turn = {
            let mut pace = self.host_pace.lock().expect("host pace lock poisoned");
            let now = tokio::time::Instant::now();
            let turn = pace.get(&host).copied().filter(|t| *t > now).unwrap_or(now);
            pace.insert(host, turn + delay);
            turn
        };
        tokio::time::sleep_until(turn).await;
    }

    /// Visits a source once: fetches its page, then every article link not seen before.
    /// A failing article is logged and counted; only a failure of the source page itself
    /// (or of the bus or state database) fails the visit.
    pub async fn visit(&self, source: &Source) -> Result<VisitReport, CrawlError> {
        if source.config.kind == SourceKind::Import {
            return self.import(source).await;
        }
        let fetcher = self.fetcher(source).map_err(|e| CrawlError::Content {
            url: source.url.to_string(),
            message: format!("cannot build an HTTP client: {e}"),
        })?;
        let rules = self.robots.rules_for(&fetcher, &source.url).await?;
        if !rules.allowed(&source.url) {
            return Err(CrawlError::Content {
                url: source.url.to_string(),
                message: "robots.txt does not allow fetching this page".into(),
            });
        }
        // The source's own pace (a fragile site may ask for a slower one), else the
        // crawler's; robots.txt may slow either down.
        let pace = source
            .config
            .request_delay_ms
            .map_or(self.request_delay, Duration::from_millis);
        let delay = rules.crawl_delay().map_or(pace, |asked| asked.max(pace));
        if source.config.kind == SourceKind::Api {
            return self.visit_api(source, &fetcher, &rules, delay).await;
        }
        let known = self.seen.validators(source.url.as_str())?;
        let page = self
            .limited(&source.url, fetcher.get_conditional(&source.url, &known))
            .await?;
        if page.not_modified {
            return Ok(VisitReport {
                unchanged: true,
                ..VisitReport::default()
            });
        }
        let text = decode(&page.body, page.content_type.as_deref()).text;
        let mut candidates =
            source
                .candidates(&page.url, &text)
                .map_err(|message| CrawlError::Content {
                    url: page.url.to_string(),
                    message,
                })?;
        if source.config.kind == SourceKind::Sitemap {
            candidates.extend(self.child_sitemaps(&fetcher, source, &text).await);
            candidates.sort_by_key(|c| std::cmp::Reverse(c.published_at));
            let mut seen = std::collections::HashSet::new();
            candidates.retain(|c| seen.insert(c.url.clone()));
            candidates.truncate(source.config.max_articles);
        }
        if source.config.kind == SourceKind::Listing && source.config.listing_pages > 1 {
            self.more_listing_pages(&fetcher, source, &page.url, text, delay, &mut candidates)
                .await?;
        }
        let mut report = VisitReport {
            links: candidates.len(),
            ..VisitReport::default()
        };
        let mut complete = true;
        for candidate in candidates {
            let canonical = match self.canonical(&candidate.url) {
                Ok(url) => url,
                Err(error) => {
                    tracing::debug!(source = source.name(), %error, "link skipped");
                    continue;
                }
            };
            // Checked after the claim: the source that held it may have just handed it on.
            let Some(_claim) = self.claim(&canonical) else {
                report.already_seen += 1;
                continue;
            };
            if self.seen.contains(&canonical)? {
                report.already_seen += 1;
                continue;
            }
            // Articles may live on another site than the listing: ask that site's robots.txt.
            let allowed = match self.robots.rules_for(&fetcher, &candidate.url).await {
                Ok(rules) => rules.allowed(&candidate.url),
                Err(error) => {
                    tracing::warn!(source = source.name(), %error, "robots.txt unavailable; article skipped for now");
                    complete = false;
                    false
                }
            };
            if !allowed {
                report.blocked += 1;
                continue;
            }
            self.host_turn(&candidate.url, delay).await;
            match self.collect(&fetcher, source, &candidate, &canonical).await {
                Ok(document) => {
                    self.output.send(&document).await?;
                    self.seen.mark(
                        &canonical,
                        &document.id,
                        source.name(),
                        self.handoff_is_durable,
                    )?;
                    report.collected += 1;
                }
                Err(CrawlError::Bus(error)) => return Err(CrawlError::Bus(error)),
                Err(error) => {
                    tracing::warn!(source = source.name(), %error, "article not collected; will retry on the next visit");
                    report.failed += 1;
                }
            }
        }
        // Only a visit that took everything lets the next one stop at a 304: otherwise
        // the articles that failed would never be tried again.
        if complete && report.failed == 0 {
            self.seen
                .store_validators(source.url.as_str(), &page.validators)?;
        }
        Ok(report)
    }

    /// Follows the listing's "next page" links, adding their article links, until
    /// `listing_pages` are read or a page brings nothing unseen (the visit has caught up).
    /// A next page that fails is logged; what was found so far still counts.
    async fn more_listing_pages(
        &self,
        fetcher: &Fetcher,
        source: &Source,
        first_url: &url::Url,
        first_text: String,
        delay: Duration,
        candidates: &mut Vec<Candidate>,
    ) -> Result<(), CrawlError> {
        let (mut url, mut text) = (first_url.clone(), first_text);
        let mut fresh_on_page = candidates.len();
        let mut read = std::collections::HashSet::from([url.clone()]);
        for _ in 1..source.config.listing_pages {
            let unseen = candidates[candidates.len() - fresh_on_page..]
                .iter()
                .filter_map(|c| self.canonical(&c.url).ok())
                .map(|c| self.seen.contains(&c))
                .collect::<Result<Vec<_>, _>>()?
                .contains(&false);
            if !unseen || candidates.len() >= source.config.max_articles {
                break;
            }
            let Some(next) = source.next_listing_page(&url, &text) else {
                break;
            };
            if !read.insert(next.clone()) {
                break; // a "next" link back to a page already read
            }
            self.host_turn(&next, delay).await;
            let fetched = self.limited(&next, fetcher.get(&next)).await;
            let page = match fetched {
                Ok(page) => page,
                Err(error) => {
                    tracing::warn!(source = source.name(), %error, "next listing page not read");
                    break;
                }
            };
            text = decode(&page.body, page.content_type.as_deref()).text;
            url = page.url;
            let known: std::collections::HashSet<url::Url> =
                candidates.iter().map(|c| c.url.clone()).collect();
            let more: Vec<Candidate> = source
                .candidates(&url, &text)
                .unwrap_or_default()
                .into_iter()
                .filter(|c| !known.contains(&c.url))
                .collect();
            fresh_on_page = more.len();
            candidates.extend(more);
        }
        candidates.truncate(source.config.max_articles);
        Ok(())
    }

    /// Visits an API source: reads its pages of posts, newest first, until a page holds
    /// nothing new (the visit has caught up with the last one), the API has no next
    /// page, or `max_pages` are read. A refusal (an expired credential) fails the visit,
    /// so it shows as the source's error, never as a quiet empty crawl.
    async fn visit_api(
        &self,
        source: &Source,
        fetcher: &Fetcher,
        rules: &robots::Rules,
        delay: Duration,
    ) -> Result<VisitReport, CrawlError> {
        let api = source.api.as_ref().expect("API sources have a mapping");
        let failed = |url: &url::Url, message: String| CrawlError::Content {
            url: url.to_string(),
            message,
        };
        let hint = || {
            api.credential_hint()
                .map(|h| format!(" ({h})"))
                .unwrap_or_default()
        };
        let headers = api.headers().map_err(|m| failed(&source.url, m))?;
        let mut report = VisitReport::default();
        let mut url = api.first_page(&source.url);
        for _ in 0..api.max_pages {
            if !rules.allowed(&url) {
                report.blocked += 1;
                break;
            }
            self.host_turn(&url, delay).await;
            let fetched = self
                .limited(&url, fetcher.get_with_headers(&url, &headers))
                .await;
            let page = match fetched {
                Err(FetchError::Status {
                    status: status @ (401 | 403),
                    ..
                }) => {
                    let message = format!("HTTP {status}: the API refused the request{}", hint());
                    return Err(failed(&url, message));
                }
                other => other?,
            };
            let fetched_at = Utc::now();
            let read = api
                .read(&url, &page.body, fetched_at)
                .map_err(|e| failed(&url, format!("{e}{}", hint())))?;
            let mut fresh = 0;
            for post in read.posts {
                if report.links >= source.config.max_articles {
                    break;
                }
                report.links += 1;
                let post = match post {
                    Ok(post) => post,
                    Err(error) => {
                        tracing::warn!(source = source.name(), url = %url, %error, "post not read");
                        report.failed += 1;
                        continue;
                    }
                };
                let Ok(canonical) = self.canonical(&post.url) else {
                    report.failed += 1;
                    continue;
                };
                if self.seen.contains(&canonical)? {
                    report.already_seen += 1;
                    continue;
                }
                let mut post = post;
                if let Some(long) = post.long_text_url.clone() {
                    // The whole text of a cut post; if it cannot be had, the cut one.
                    self.host_turn(&long, delay).await;
                    let fetched = self
                        .limited(&long, fetcher.get_with_headers(&long, &headers))
                        .await;
                    match fetched.map(|page| api.read_long_text(&page.body)) {
                        Ok(Some(text)) => post.text = text,
                        Ok(None) => {
                            tracing::warn!(source = source.name(), url = %long, "no long text in the answer; the cut text is kept")
                        }
                        Err(error) => {
                            tracing::warn!(source = source.name(), %error, "long text not fetched; the cut text is kept")
                        }
                    }
                }
                let document = post_document(source, &canonical, post, fetched_at);
                self.output.send(&document).await?;
                self.seen.mark(
                    &canonical,
                    &document.id,
                    source.name(),
                    self.handoff_is_durable,
                )?;
                report.collected += 1;
                fresh += 1;
            }
            match read.next {
                Some(next) if fresh > 0 && report.links < source.config.max_articles => url = next,
                _ => break,
            }
        }
        Ok(report)
    }

    /// The pages of the sitemaps a sitemap index lists: the most recently modified few
    /// (an index can list a sitemap per month for years). A child that fails is logged;
    /// the others still count.
    async fn child_sitemaps(
        &self,
        fetcher: &Fetcher,
        source: &Source,
        index: &str,
    ) -> Vec<Candidate> {
        const CHILD_SITEMAPS: usize = 5;
        let Ok(map) = sitemap::parse(index) else {
            return Vec::new();
        };
        let mut children = map.sitemaps;
        children.sort_by_key(|c| std::cmp::Reverse(c.time));
        let mut found = Vec::new();
        for child in children.into_iter().take(CHILD_SITEMAPS) {
            let Ok(url) = url::Url::parse(&child.loc) else {
                continue;
            };
            let fetched = self.limited(&url, fetcher.get(&url)).await;
            let page = match fetched {
                Ok(page) => page,
                Err(error) => {
                    tracing::warn!(source = source.name(), %error, "sitemap not read");
                    continue;
                }
            };
            let text = decode(&page.body, page.content_type.as_deref()).text;
            match sitemap::parse(&text) {
                Ok(map) => found.extend(source.sitemap_candidates(&map)),
                Err(error) => {
                    tracing::warn!(source = source.name(), url = %url, %error, "sitemap not read")
                }
            }
        }
        found
    }

    /// Reads an import source's files and hands on what was not imported before.
    async fn import(&self, source: &Source) -> Result<VisitReport, CrawlError> {
        let path = source.config.path.clone().unwrap_or_default();
        let files = import::files(&path).map_err(|message| CrawlError::Content {
            url: source.url.to_string(),
            message,
        })?;
        let mut report = VisitReport::default();
        for file in files {
            let (config, limit) = (source.config.clone(), self.settings.max_body_bytes);
            let entries = tokio::task::spawn_blocking(move || {
                import::read(&file, &config, limit, Utc::now())
            })
            .await
            .map_err(|e| CrawlError::Content {
                url: source.url.to_string(),
                message: format!("import failed: {e}"),
            })?;
            for entry in entries {
                report.links += 1;
                match entry {
                    Ok((key, _)) if self.seen.contains(&key)? => report.already_seen += 1,
                    Ok((key, document)) => {
                        self.output.send(&document).await?;
                        self.seen.mark(
                            &key,
                            &document.id,
                            source.name(),
                            self.handoff_is_durable,
                        )?;
                        report.collected += 1;
                    }
                    Err(error) => {
                        tracing::warn!(source = source.name(), %error, "import entry skipped");
                        report.failed += 1;
                    }
                }
            }
        }
        Ok(report)
    }

    async fn collect(
        &self,
        fetcher: &Fetcher,
        source: &Source,
        candidate: &Candidate,
        canonical: &str,
    ) -> Result<RawDocument, CrawlError> {
        let page = self
            .limited(&candidate.url, fetcher.get(&candidate.url))
            .await?;
        let decoded = decode(&page.body, page.content_type.as_deref());
        let fetched_at = Utc::now();
        let article = extract_with(&decoded.text, fetched_at, &source.extract);
        if article.content.trim().is_empty() {
            return Err(CrawlError::Content {
                url: candidate.url.to_string(),
                message: "no article text found on the page".into(),
            });
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
}

/// The document of a post read from an API.
fn post_document(
    source: &Source,
    canonical: &str,
    post: api::Post,
    fetched_at: chrono::DateTime<Utc>,
) -> RawDocument {
    RawDocument {
        id: doc_id(canonical).expect("canonical URLs are valid"),
        url: canonical.to_string(),
        source: source.name().to_string(),
        author: post.author,
        title: post.title,
        content: post.text,
        published_at: post.published_at,
        fetched_at,
        charset: "UTF-8".into(),
        source_type: source.config.source_type(),
        platform: source.config.platform(),
        ip_region: post.ip_region,
        engagement: post.engagement,
        snapshot: Some(lz4_flex::compress_prepend_size(&post.raw)),
        ..Default::default()
    }
}

/// Longest wait between retries of a failing source, as a multiple of its interval.
const MAX_BACKOFF_FACTOR: u32 = 8;

/// Crawls every source on its own schedule until `shutdown` turns true, or, with `once`,
/// visits each source one time and returns. A failing source is retried with growing
/// delay and never holds up the others.
pub async fn run_sources(
    crawler: Arc<Crawler>,
    sources: Vec<Source>,
    once: bool,
    shutdown: watch::Receiver<bool>,
) -> Result<(), CrawlError> {
    let mut tasks = tokio::task::JoinSet::new();
    for source in sources {
        let crawler = crawler.clone();
        let mut shutdown = shutdown.clone();
        tasks.spawn(async move {
            let interval = Duration::from_secs(source.config.interval_secs);
            let mut failures = 0u32;
            loop {
                let visit = crawler.visit(&source).await;
                let outcome = match &visit {
                    Ok(report) => Ok(report.collected),
                    Err(error) => Err(error.to_string()),
                };
                if let Err(error) = crawler.seen.record_visit(
                    source.name(),
                    outcome.as_ref().map(|n| *n).map_err(String::as_str),
                    Utc::now(),
                ) {
                    tracing::warn!(source = source.name(), %error, "source health not recorded");
                }
                let delay = match visit {
                    Ok(report) => {
                        failures = 0;
                        tracing::info!(
                            source = source.name(),
                            unchanged = report.unchanged,
                            links = report.links,
                            collected = report.collected,
                            already_seen = report.already_seen,
                            blocked = report.blocked,
                            failed = report.failed,
                            "source visited"
                        );
                        interval
                    }
                    Err(CrawlError::Bus(error)) => return Err(CrawlError::Bus(error)),
                    Err(error) => {
                        failures += 1;
                        // First retry within a minute, then doubling, up to 8×.
                        let delay = interval.min(Duration::from_secs(60))
                            * 2u32
                                .pow(failures.saturating_sub(1).min(3))
                                .min(MAX_BACKOFF_FACTOR);
                        tracing::warn!(
                            source = source.name(),
                            %error,
                            retry_in_secs = delay.as_secs(),
                            "source visit failed"
                        );
                        delay
                    }
                };
                if once {
                    return Ok(());
                }
                tokio::select! {
                    _ = tokio::time::sleep(delay) => {}
                    _ = shutdown.wait_for(|stop| *stop) => return Ok(()),
                }
            }
        });
    }
    let mut result = Ok(());
    while let Some(joined) = tasks.join_next().await {
        match joined {
            Ok(Ok(())) => {}
            Ok(Err(error)) => result = Err(error),
            Err(panic) => tracing::error!(%panic, "a source task panicked"),
        }
    }
    result
}
