//! What the crawler's tests share: a site served on loopback, a crawler over an embedded
//! bus with its own seen-store, and a source from its TOML.
#![allow(dead_code)] // each test file uses its own subset

use axum::Router;
use std::sync::Arc;
use yuqing_bus::{Consumer, EmbeddedBus, Producer};
use yuqing_crawler::{Crawler, CrawlerSettings, SeenStore, Source, SourceConfig};
use yuqing_model::RawDocument;

/// Serves `app` on a free loopback port; its base URL.
pub async fn serve(app: Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    base
}

/// A crawler and what it hands on, with its state in a folder of its own.
pub struct Harness {
    pub crawler: Crawler,
    /// The documents handed on (the topic "raw").
    pub raw: Consumer<RawDocument>,
    pub dir: tempfile::TempDir,
}

/// Settings pausing `request_delay_ms` between two requests to one host.
pub fn paced(request_delay_ms: u64) -> CrawlerSettings {
    CrawlerSettings {
        request_delay_ms,
        ..CrawlerSettings::default()
    }
}

/// A crawler with these settings.
pub fn harness(settings: &CrawlerSettings) -> Harness {
    let dir = tempfile::tempdir().unwrap();
    let bus = EmbeddedBus::new(100);
    let raw = Consumer::new(&bus, "raw", "test", "dead").unwrap();
    let seen = Arc::new(SeenStore::open(&dir.path().join("state.sqlite")).unwrap());
    let crawler = Crawler::new(settings, seen, Producer::new(&bus, "raw").unwrap(), true).unwrap();
    Harness { crawler, raw, dir }
}

/// A source from its `[[source]]` table.
pub fn source(toml_text: &str) -> Source {
    toml::from_str::<SourceConfig>(toml_text)
        .unwrap()
        .build("")
        .unwrap()
}
