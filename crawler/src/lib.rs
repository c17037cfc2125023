//! The crawler stage: visits each configured source on its own schedule, finds what is
//! new on it (article links of a feed, listing or sitemap; posts of an API; entries of
//! an import), decodes and extracts each article, and hands it to the bus as a
//! [`RawDocument`](yuqing_model::RawDocument).
//!
//! One source failing (unreachable, broken feed) is logged and retried with backoff; it
//! never stops the others. A page is marked seen only after its document is on the bus.
//!
//! | module       | what it does                                                        |
//! |--------------|---------------------------------------------------------------------|
//! | `source`     | `[[source]]`: the shared settings, the old flat form, [`Source`]      |
//! | `sources/`   | one module per kind behind one trait; the hand-on-then-mark-seen step |
//! | `crawler`    | [`Crawler`]: clients, robots.txt, pace, limits, claims               |
//! | `schedule`   | [`run_sources`]: each source on its interval, backoff on failure     |
//! | `fetch`      | HTTP with retries, size bounds, conditional requests                 |
//! | `guard`      | the address guard (no loopback/private hosts unless allowed)         |
//! | `decode`     | bytes to text (charset from headers, meta, or detection)             |
//! | `extract`    | article title, time, author and body from a page                     |
//! | `robots`     | robots.txt rules and `Crawl-delay`                                   |
//! | `seen`       | the seen-store: what was handed on, validators, source health        |

mod crawler;
mod decode;
mod extract;
mod fetch;
pub mod parsing;
mod robots;
mod schedule;
mod seen;
mod settings;
mod source;
mod sources;

pub use crawler::Crawler;
pub use decode::{decode, Decoded};
pub use extract::{
    extract, extract_at, extract_with, parse_chinese_datetime, parse_relative_time, Article,
    ExtractConfig, ExtractRules,
};
pub use fetch::{FetchError, Fetcher, FetcherOptions, Page, Validators};
pub use schedule::run_sources;
pub use seen::{SeenStore, SourceHealth};
pub use settings::CrawlerSettings;
pub use source::{Candidate, MovedKey, Source, SourceConfig, SourceKind};
pub use sources::api::{ApiConfig, Preset};
pub use sources::import::ImportSettings;
pub use sources::listing::ListingSettings;
pub use sources::sitemap::SitemapSettings;
pub use yuqing_netguard::AddressGuard;

use yuqing_bus::BusError;

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
    /// A bug met on the way (a page that finds one): this visit failed, the source goes on.
    #[error("the visit stopped on an internal error: {0}")]
    Panicked(String),
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
