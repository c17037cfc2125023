//! robots.txt (RFC 9309): fetched once per site and kept for an hour; its rules for our
//! agent decide which pages may be fetched, and its `Crawl-delay` slows the visit.

use crate::fetch::{FetchError, Fetcher};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use url::Url;

/// The product token matched against `User-agent:` lines.
pub const AGENT: &str = "yuqing";
const KEEP: Duration = Duration::from_secs(3600);
/// Longest `Crawl-delay` honoured; a larger one is capped (the visit would never end).
const MAX_CRAWL_DELAY: Duration = Duration::from_secs(60);

#[derive(Clone)]
pub enum Rules {
    AllowAll,
    Parsed(Arc<texting_robots::Robot>),
}

impl Rules {
    pub fn allowed(&self, url: &Url) -> bool {
        match self {
            Rules::AllowAll => true,
            Rules::Parsed(robot) => robot.allowed(url.as_str()),
        }
    }

    /// The site's `Crawl-delay`, at most [`MAX_CRAWL_DELAY`]: capped before it becomes a
    /// duration, as `Crawl-delay: 1e30` is no duration at all.
    pub fn crawl_delay(&self) -> Option<Duration> {
        match self {
            Rules::AllowAll => None,
            Rules::Parsed(robot) => robot
                .delay
                .filter(|d| d.is_finite() && *d > 0.0)
                .map(|d| Duration::from_secs_f32(d.min(MAX_CRAWL_DELAY.as_secs_f32()))),
        }
    }
}

#[derive(Default)]
pub struct RobotsCache {
    sites: Mutex<HashMap<String, (Instant, Rules)>>,
}

impl RobotsCache {
    /// The rules for the site of `url`. A missing robots.txt (4xx) allows everything; a
    /// server error or an unreachable site is an error (RFC 9309: assume everything is
    /// disallowed), so the visit fails and is retried later, and nothing is cached.
    pub async fn rules_for(&self, fetcher: &Fetcher, url: &Url) -> Result<Rules, FetchError> {
        let origin = url.origin().ascii_serialization();
        if let Some((fetched, rules)) = yuqing_model::lock(&self.sites).get(&origin) {
            if fetched.elapsed() < KEEP {
                return Ok(rules.clone());
            }
        }
        let robots_url =
            Url::parse(&format!("{origin}/robots.txt")).map_err(|e| FetchError::Request {
                url: origin.clone(),
                message: e.to_string(),
            })?;
        let rules = match fetcher.get(&robots_url).await {
            Ok(page) => match texting_robots::Robot::new(AGENT, &page.body) {
                Ok(robot) => Rules::Parsed(Arc::new(robot)),
                Err(error) => {
                    tracing::warn!(url = %robots_url, %error, "unreadable robots.txt; treating it as absent");
                    Rules::AllowAll
                }
            },
            Err(FetchError::Status { status, .. }) if (400..500).contains(&status) => {
                Rules::AllowAll
            }
            Err(error) => return Err(error),
        };
        yuqing_model::lock(&self.sites).insert(origin, (Instant::now(), rules.clone()));
        Ok(rules)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn delay(robots_txt: &str) -> Option<Duration> {
        let robot = texting_robots::Robot::new(AGENT, robots_txt.as_bytes()).unwrap();
        Rules::Parsed(Arc::new(robot)).crawl_delay()
    }

    #[test]
    fn any_crawl_delay_a_site_writes_is_a_bounded_wait() {
        assert_eq!(
            delay("User-agent: *\nCrawl-delay: 2.5\n"),
            Some(Duration::from_millis(2500))
        );
        for huge in ["1e30", "3.4e38", "99999999999", "inf", "NaN", "-5", "0"] {
            let got = delay(&format!("User-agent: *\nCrawl-delay: {huge}\n"));
            assert!(
                got.is_none_or(|d| d <= MAX_CRAWL_DELAY),
                "Crawl-delay: {huge} gave {got:?}"
            );
        }
        assert_eq!(
            delay("User-agent: *\nCrawl-delay: 1e30\n"),
            Some(MAX_CRAWL_DELAY)
        );
    }
}
