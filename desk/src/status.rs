//! `GET /api/status` and `GET /metrics`: the facts an operator checks first, gathered by
//! whatever knows them (the binary, which sees every part of the system).

use crate::error::{blocking, DeskError};
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use std::sync::Arc;

/// The system's state, as one report in two forms.
pub struct StatusReport {
    /// `GET /api/status`.
    pub json: serde_json::Value,
    /// `GET /metrics`, in the Prometheus text format.
    pub prometheus: String,
}

/// Gathers the system's state. Called on a blocking thread: it may wait seconds (Kafka).
pub trait StatusSource: Send + Sync + 'static {
    fn collect(&self) -> StatusReport;
}

type Source = Arc<dyn StatusSource>;

pub(crate) fn routes(source: Source) -> Router {
    Router::new()
        .route("/api/status", get(status))
        .route("/metrics", get(metrics))
        .with_state(source)
}

async fn status(State(source): State<Source>) -> Result<Response, DeskError> {
    let report = blocking("status", move || source.collect()).await?;
    Ok(Json(report.json).into_response())
}

async fn metrics(State(source): State<Source>) -> Result<Response, DeskError> {
    let report = blocking("metrics", move || source.collect()).await?;
    Ok((
        [(
            axum::http::header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        report.prometheus,
    )
        .into_response())
}
