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
                let visit = isolated({
                    let (crawler, source) = (crawler.clone(), source.clone());
                    async move { crawler.visit(&source).await }
                })
                .await;
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
    // Visits run isolated, so a source task ends only when the bus has failed.
    while let Some(joined) = tasks.join_next().await {
        match joined {
            Ok(Ok(())) => {}
            Ok(Err(error)) => result = Err(error),
            Err(panic) => tracing::error!(%panic, "a source task panicked"),
        }
    }
    result
}

/// Runs one visit in a task of its own, so that a panic in it (a bug a hostile page
/// finds) fails this visit alone: it is recorded and retried with backoff like any
/// failed visit, shown in the source's health, and the source keeps its schedule.
async fn isolated<T: Send + 'static>(
    visit: impl std::future::Future<Output = Result<T, CrawlError>> + Send + 'static,
) -> Result<T, CrawlError> {
    match tokio::spawn(visit).await {
        Ok(outcome) => outcome,
        Err(error) => {
            let message = match error.try_into_panic() {
                Ok(panic) => panic
                    .downcast_ref::<String>()
                    .cloned()
                    .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                    .unwrap_or_else(|| "(no message)".to_string()),
                Err(cancelled) => cancelled.to_string(),
            };
            tracing::error!(panic = %message, "a source visit panicked");
            Err(CrawlError::Panicked(message))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_panicking_visit_is_a_failed_visit_not_a_dead_source() {
        let depths: Vec<usize> = Vec::new();
        let failed: Result<(), CrawlError> = isolated(async move {
            // A bug of the kind a hostile page finds: an index past the end.
            let deepest = depths[depths.len()];
            assert!(deepest < 10, "a page nested past what the parser takes");
            Ok(())
        })
        .await;
        let error = failed.unwrap_err().to_string();
        assert!(
            error.contains("internal error: index out of bounds"),
            "{error}"
        );
        let fine = isolated(async { Ok::<_, CrawlError>(7) }).await.unwrap();
        assert_eq!(fine, 7);
    }
}
