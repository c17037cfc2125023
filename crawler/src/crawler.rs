//! The crawler: what all sources' visits share. One HTTP client per source, robots.txt,
//! the pace and the bounds on requests per host, the claim that keeps two sources from
//! fetching one article at once, and the way to the bus and the seen-store.

use crate::fetch::{Fetcher, FetcherOptions};
use crate::sources::Context;
use crate::{robots, CrawlError, CrawlerSettings, SeenStore, Source, VisitReport};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use yuqing_bus::Producer;
use yuqing_model::{canonical_url, RawDocument};

pub struct Crawler {
    pub(crate) settings: CrawlerSettings,
    /// One HTTP client per source (each source has its own address guard), kept across
    /// visits so connections are reused.
    fetchers: Mutex<HashMap<String, Fetcher>>,
    pub(crate) robots: robots::RobotsCache,
    pub(crate) seen: Arc<SeenStore>,
    pub(crate) output: Producer<RawDocument>,
    /// Whether a published document is safe at once (Kafka acknowledged it) or only after
    /// its index commit (embedded bus), which the wiring then reports to the seen-store.
    pub(crate) handoff_is_durable: bool,
    pub(crate) request_delay: Duration,
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
pub(crate) struct Claim<'a> {
    crawler: &'a Crawler,
    url: String,
}

impl Drop for Claim<'_> {
    fn drop(&mut self) {
        yuqing_model::lock(&self.crawler.in_flight).remove(&self.url);
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

    pub(crate) fn fetcher(&self, source: &Source) -> Result<Fetcher, reqwest::Error> {
        let mut fetchers = yuqing_model::lock(&self.fetchers);
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
            proxy: self.settings.proxy.clone(),
        })?;
        fetchers.insert(source.name().to_string(), fetcher.clone());
        Ok(fetcher)
    }

    /// A page's canonical URL (see [`canonical_url`]), with a mobile twin's host replaced
    /// by its desktop host.
    pub(crate) fn canonical(
        &self,
        url: &url::Url,
    ) -> Result<String, yuqing_model::CanonicalUrlError> {
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
            let mut hosts = yuqing_model::lock(&self.host_slots);
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
    pub(crate) async fn limited<T>(
        &self,
        url: &url::Url,
        request: impl std::future::Future<Output = T>,
    ) -> T {
        let _slot = self.fetch_slot(url).await;
        request.await
    }

    /// Claims an article for this visit, unless another source's visit is fetching it.
    pub(crate) fn claim(&self, url: &str) -> Option<Claim<'_>> {
        let fresh = yuqing_model::lock(&self.in_flight).insert(url.to_string());
        fresh.then(|| Claim {
            crawler: self,
            url: url.to_string(),
        })
    }

    /// Waits for the host's next turn: one article request per `delay` per host,
    /// whichever source asks.
    pub(crate) async fn host_turn(&self, url: &url::Url, delay: Duration) {
        if delay.is_zero() {
            return;
        }
        let host = url.host_str().unwrap_or_default().to_string();
        let turn = {
            let mut pace = yuqing_model::lock(&self.host_pace);
            let now = tokio::time::Instant::now();
            let turn = pace.get(&host).copied().filter(|t| *t > now).unwrap_or(now);
            pace.insert(host, turn + delay);
            turn
        };
        tokio::time::sleep_until(turn).await;
    }

    /// Visits a source once: finds what is new on it and hands it on (see
    /// [`sources`](crate::sources) for what each kind does). A failing article is logged
    /// and counted; only a failure of the source itself (or of the bus or the state
    /// database) fails the visit.
    pub async fn visit(&self, source: &Source) -> Result<VisitReport, CrawlError> {
        let mut cx = Context::new(self, source);
        source.kind.visit(&mut cx).await?;
        Ok(cx.report)
    }
}
