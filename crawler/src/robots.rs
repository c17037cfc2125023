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

    pub fn crawl_delay(&self) -> Option<Duration> {
        match self {
            Rules::AllowAll => None,
            Rules::Parsed(robot) => robot
                .delay
                .filter(|d| d.is_finite() && *d > 0.0)
                .map(|d| Duration::from_secs_f32(d).min(MAX_CRAWL_DELAY)),
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
        if let Some((fetched, rules)) = self.sites.lock().expect("robots lock").get(&origin) {
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
        self.sites
            .lock()
            .expect("robots lock")
            .insert(origin, (Instant::now(), rules.clone()));
        Ok(rules)
    }
}
