//! HTTP fetching with the bounds every crawled response gets: a timeout, a redirect
//! limit, and a maximum body size read incrementally (a hostile server cannot make the
//! crawler buffer more than that).

use std::time::Duration;
use url::Url;

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
}

#[derive(Clone)]
pub struct Fetcher {
    client: reqwest::Client,
    max_body_bytes: usize,
}

pub struct FetcherOptions {
    pub user_agent: String,
    pub timeout: Duration,
    pub max_body_bytes: usize,
    pub max_redirects: usize,
}

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
        let client = reqwest::Client::builder()
            .user_agent(options.user_agent)
            .connect_timeout(options.timeout.min(Duration::from_secs(10)))
            .timeout(options.timeout)
            .redirect(reqwest::redirect::Policy::limited(options.max_redirects))
            .build()?;
        Ok(Fetcher {
            client,
            max_body_bytes: options.max_body_bytes,
        })
    }

    pub async fn get(&self, url: &Url) -> Result<Page, FetchError> {
        let request_error = |e: reqwest::Error| FetchError::Request {
            url: url.to_string(),
            message: describe(&e),
        };
        let mut response = self
            .client
            .get(url.clone())
            .send()
            .await
            .map_err(request_error)?;
        let status = response.status();
        if !status.is_success() {
            return Err(FetchError::Status {
                url: url.to_string(),
                status: status.as_u16(),
            });
        }
        let too_large = || FetchError::TooLarge {
            url: url.to_string(),
            limit: self.max_body_bytes,
        };
        if response
            .content_length()
            .is_some_and(|n| n as usize > self.max_body_bytes)
        {
            return Err(too_large());
        }
        let final_url = response.url().clone();
        let content_type = response
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(request_error)? {
            if body.len() + chunk.len() > self.max_body_bytes {
                return Err(too_large());
            }
            body.extend_from_slice(&chunk);
        }
        Ok(Page {
            url: final_url,
            content_type,
            body,
        })
    }
}
