//! `[crawler]`: the settings all sources share.

use serde::Deserialize;

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
    /// An HTTP(S) proxy for every crawler request (`http://host:port`). Without it no
    /// proxy is used, whatever `HTTP_PROXY`/`HTTPS_PROXY` say.
    #[serde(default)]
    pub proxy: Option<url::Url>,
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
            proxy: None,
        }
    }
}
