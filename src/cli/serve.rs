//! `yuqing serve`: the desk alone, over an existing data directory, without crawling.

use crate::config::{Config, Transport};
use crate::run::{self, DataDir};
use std::sync::Arc;

/// `yuqing serve`: the desk over what the data directory holds, without crawling. A part
/// that is not there yet (no index, no state database) answers 503 saying so.
pub async fn run(config: &Config, data: &DataDir) -> anyhow::Result<()> {
    let (analyzer, index) = match run::open_index(config, data, false) {
        Ok((analyzer, index)) => (Some(analyzer), Some(index)),
        Err(error) => {
            tracing::warn!(%error, "no index to serve; search answers 503 until `yuqing run` has made one");
            (None, None)
        }
    };
    let state_db = data.state_db();
    let (alert_store, seen) = if state_db.exists() {
        (
            Some(Arc::new(yuqing_alerts::AlertStore::open(&state_db)?)),
            yuqing_crawler::SeenStore::open(&state_db)
                .ok()
                .map(Arc::new),
        )
    } else {
        tracing::warn!(path = %state_db.display(), "no state database; the alert routes answer 503");
        (None, None)
    };
    let rule_book = run::load_rule_book(config, index.as_ref())?;
    let kafka = match config.bus.transport {
        Transport::Kafka => Some(Arc::new(yuqing_bus_kafka::KafkaBus::new(
            config.bus.kafka.clone(),
        )?)),
        Transport::Embedded => None,
    };
    let status = run::status::SystemStatus {
        index: index.clone(),
        alert_store: alert_store.clone(),
        analyzer,
        seen,
        kafka,
        health: None,
    };
    data.create()?;
    let access = run::DeskAccess::open(config, data)?;
    let listener = yuqing_desk::bind(config.desk.listen).await?;
    let addr = listener.local_addr()?;
    tracing::info!(url = %format!("http://{addr}"), "desk API listening");
    let router = yuqing_desk::router(
        yuqing_desk::DeskParts {
            index,
            alert_store,
            rule_book: Some(rule_book),
            status: Some(Arc::new(status)),
            health: Arc::default(),
        },
        access.security(config, addr),
    );
    let (stop, shutdown) = tokio::sync::watch::channel(false);
    tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_ok() {
            let _ = stop.send(true);
        }
    });
    yuqing_desk::serve(listener, router, config.desk.serve_limits(), shutdown).await?;
    Ok(())
}
