//! Visiting every source on its own schedule, with backoff for the failing ones.

use crate::{CrawlError, Crawler, Source};
use chrono::Utc;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;

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
