//! HTTP fetching with the bounds every crawled response gets: a timeout, a redirect
//! limit checked hop by hop against the [`AddressGuard`], a maximum body size read
//! incrementally (a hostile server cannot make the crawler buffer more than that), and
//! retries with exponential backoff and jitter on timeouts, 5xx and 429 (honouring
//! `Retry-After`).

use std::sync::Arc;
use std::time::Duration;
use url::Url;
use yuqing_netguard::AddressGuard;

#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    #[error("{url}: {message}")]
    Request { url: String, message: String },
    #[error("{url}: HTTP {status}")]
    Status { url: String, status: u16 },
    #[error("{url}: body larger than {limit} bytes")]
    TooLarge { url: String, limit: usize },
}

#[derive(Debug)]
pub struct Page {
    /// Where the page was finally served from, after redirects.
    pub url: Url,
    pub content_type: Option<String>,
    pub body: Vec<u8>,
    /// The server answered 304: the page is as it was when `validators` were taken
    /// (the body is empty).
    pub not_modified: bool,
    /// What to send next time so that an unchanged page costs a 304.
    pub validators: Validators,
}

/// The `ETag` and `Last-Modified` of a page, for conditional GET.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Validators {
    pub etag: Option<String>,
    pub last_modified: Option<String>,
}

#[derive(Clone)]
pub struct Fetcher {
    client: reqwest::Client,
    max_body_bytes: usize,
    retries: u32,
    guard: AddressGuard,
}

pub struct FetcherOptions {
    pub user_agent: String,
    pub timeout: Duration,
    pub max_body_bytes: usize,
    pub max_redirects: usize,
    /// Attempts after the first one, for failures that may pass (timeouts, 5xx, 429).
    pub retries: u32,
    pub guard: AddressGuard,
    /// `[crawler] proxy`: the only proxy used. `HTTP_PROXY`/`HTTPS_PROXY` in the
    /// environment are ignored: they would send requests past the address guard.
    pub proxy: Option<Url>,
}

/// First retry delay; doubled each attempt, plus up to half of it at random.
const RETRY_BASE: Duration = Duration::from_millis(500);
/// The longest `Retry-After` honoured; a server asking for more fails this visit.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(60);

/// Describes a reqwest error with its causes ("connection refused", "timed out"): the
/// top-level message alone says only "error sending request".
fn describe(error: &reqwest::Error) -> String {
    let mut message = error.to_string();
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        message.push_str(": ");
        message.push_str(&cause.to_string());
        source = cause.source();
    }
    message
}

impl Fetcher {
    pub fn new(options: FetcherOptions) -> Result<Self, reqwest::Error> {
        let guard = options.guard.clone();
        let max_redirects = options.max_redirects;
        let redirects = reqwest::redirect::Policy::custom(move |attempt| {
            if attempt.previous().len() > max_redirects {
                return attempt.error(format!("more than {max_redirects} redirects"));
            }
            match guard.check_url(attempt.url()) {
                Ok(()) => attempt.follow(),
                Err(refused) => attempt.error(refused),
            }
        });
        let builder = reqwest::Client::builder()
            .user_agent(options.user_agent)
            .connect_timeout(options.timeout.min(Duration::from_secs(10)))
            .timeout(options.timeout)
            .redirect(redirects)
            .dns_resolver(Arc::new(options.guard.clone()));
        let builder = match &options.proxy {
            Some(proxy) => {
                // Only where host, scheme and port are: a proxy URL may hold a password.
                tracing::warn!(
                    proxy = %format!("{}://{}:{}", proxy.scheme(), proxy.host_str().unwrap_or(""), proxy.port_or_known_default().unwrap_or(0)),
                    "crawler requests go through the configured proxy; the proxy resolves host names, so the address guard checks only addresses written in URLs"
                );
                builder.proxy(reqwest::Proxy::all(proxy.as_str())?)
            }
            None => builder.no_proxy(),
        };
        let client = builder.build()?;
        Ok(Fetcher {
            client,
            max_body_bytes: options.max_body_bytes,
            retries: options.retries,
            guard: options.guard,
        })
    }

    /// GET with retries: timeouts, connection failures, 5xx and 429 are tried again
    /// after a growing pause (or the server's `Retry-After`); anything else fails at once.
    pub async fn get(&self, url: &Url) -> Result<Page, FetchError> {
        self.get_conditional(url, &Validators::default()).await
    }

    /// GET with the source's own headers (credentials for an API).
    pub async fn get_with_headers(
        &self,
        url: &Url,
        headers: &reqwest::header::HeaderMap,
    ) -> Result<Page, FetchError> {
        self.get_full(url, &Validators::default(), headers).await
    }

    /// GET that sends `If-None-Match` / `If-Modified-Since` from `validators`; an
    /// unchanged page comes back with `not_modified` set.
    pub async fn get_conditional(
        &self,
        url: &Url,
        validators: &Validators,
    ) -> Result<Page, FetchError> {
        self.get_full(url, validators, &reqwest::header::HeaderMap::new())
            .await
    }

    async fn get_full(
        &self,
        url: &Url,
        validators: &Validators,
        headers: &reqwest::header::HeaderMap,
    ) -> Result<Page, FetchError> {
        self.guard
            .check_url(url)
            .map_err(|message| FetchError::Request {
                url: url.to_string(),
                message,
            })?;
        let mut attempt = 0;
        loop {
            let (result, retry_after) = self.get_once(url, validators, headers).await;
            let retryable = match &result {
                Ok(_) => false,
                Err(FetchError::Status { status, .. }) => *status == 429 || *status >= 500,
                Err(FetchError::Request { message, .. }) => !message.contains("refused "),
                Err(FetchError::TooLarge { .. }) => false,
            };
            if !retryable || attempt >= self.retries {
                return result;
            }
            let backoff = RETRY_BASE * 2u32.pow(attempt);
            let jitter = backoff.mul_f64(jitter_fraction() * 0.5);
            let wait = match retry_after {
                Some(asked) if asked > MAX_RETRY_AFTER => return result,
                Some(asked) => asked,
                None => backoff + jitter,
            };
            tracing::debug!(%url, attempt, wait_ms = wait.as_millis() as u64, "retrying fetch");
            tokio::time::sleep(wait).await;
            attempt += 1;
        }
    }

    async fn get_once(
        &self,
        url: &Url,
        validators: &Validators,
        headers: &reqwest::header::HeaderMap,
    ) -> (Result<Page, FetchError>, Option<Duration>) {
        let request_error = |e: reqwest::Error| FetchError::Request {
            url: url.to_string(),
            message: describe(&e),
        };
        let mut request = self.client.get(url.clone()).headers(headers.clone());
        if let Some(etag) = &validators.etag {
            request = request.header(reqwest::header::IF_NONE_MATCH, etag);
        }
        if let Some(date) = &validators.last_modified {
            request = request.header(reqwest::header::IF_MODIFIED_SINCE, date);
        }
        let mut response = match request.send().await {
            Ok(response) => response,
            Err(error) => return (Err(request_error(error)), None),
        };
        let status = response.status();
        let header = |name: reqwest::header::HeaderName| {
            response
                .headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string)
        };
        let page_validators = Validators {
            etag: header(reqwest::header::ETAG),
            last_modified: header(reqwest::header::LAST_MODIFIED),
        };
        if status == reqwest::StatusCode::NOT_MODIFIED {
            let page = Page {
                url: response.url().clone(),
                content_type: None,
                body: Vec::new(),
                not_modified: true,
                validators: validators.clone(),
            };
            return (Ok(page), None);
        }
        if !status.is_success() {
            let retry_after = response
                .headers()
                .get(reqwest::header::RETRY_AFTER)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.trim().parse::<u64>().ok())
                .map(Duration::from_secs);
            let error = FetchError::Status {
                url: url.to_string(),
                status: status.as_u16(),
            };
            return (Err(error), retry_after);
        }
        let too_large = || FetchError::TooLarge {
            url: url.to_string(),
            limit: self.max_body_bytes,
        };
        if response
            .content_length()
            .is_some_and(|n| n as usize > self.max_body_bytes)
        {
            return (Err(too_large()), None);
        }
        let final_url = response.url().clone();
        let content_type = response
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let mut body = Vec::new();
        loop {
            match response.chunk().await {
                Ok(Some(chunk)) => {
                    if body.len() + chunk.len() > self.max_body_bytes {
                        return (Err(too_large()), None);
                    }
                    body.extend_from_slice(&chunk);
                }
                Ok(None) => break,
                Err(error) => return (Err(request_error(error)), None),
            }
        }
        let page = Page {
            url: final_url,
            content_type,
            body,
            not_modified: false,
            validators: page_validators,
        };
        (Ok(page), None)
    }
}

/// A number in [0, 1) that differs between calls, for retry jitter (no need for a
/// random number generator: it only spreads retries of many tasks apart).
fn jitter_fraction() -> f64 {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    f64::from(nanos % 1000) / 1000.0
}
