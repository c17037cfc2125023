//! Serving the desk's router on its listener, with the limits a server open to a
//! building's network needs: a client that never finishes its request headers, or sits
//! on an idle connection, is cut off after [`ServeLimits::header_timeout`]; a request
//! body that stalls fails after [`ServeLimits::body_timeout`]; at most
//! [`ServeLimits::max_connections`] connections are open at once, and one beyond that
//! is closed at once rather than queued. A handler that panics answers 500 for its own
//! request and nothing else.

use axum::Router;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::net::TcpListener;
use tokio::sync::{watch, Semaphore};

/// How much the desk's server holds open, and for how long.
#[derive(Debug, Clone, Copy)]
pub struct ServeLimits {
    /// Connections open at once.
    pub max_connections: usize,
    /// The time a client has to send a request's headers, counted from when the
    /// connection opens or its previous answer was sent (so it is also the idle timeout
    /// of a kept-alive connection).
    pub header_timeout: Duration,
    /// The time a client has to send a request's body.
    pub body_timeout: Duration,
}

impl Default for ServeLimits {
    fn default() -> Self {
        ServeLimits {
            max_connections: 256,
            header_timeout: Duration::from_secs(10),
            body_timeout: Duration::from_secs(30),
        }
    }
}

/// How long open connections may finish their requests once shutdown is asked for.
const DRAIN: Duration = Duration::from_secs(5);

/// Serves the router until `shutdown` turns true, within `limits`.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    limits: ServeLimits,
    mut shutdown: watch::Receiver<bool>,
) -> std::io::Result<()> {
    let service = tower::ServiceBuilder::new()
        .layer(tower_http::catch_panic::CatchPanicLayer::custom(
            crate::error::panicked,
        ))
        .layer(tower_http::timeout::RequestBodyTimeoutLayer::new(
            limits.body_timeout,
        ))
        .service(router);
    let slots = Arc::new(Semaphore::new(limits.max_connections.max(1)));
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let mut last_refusal_logged: Option<Instant> = None;
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    // Out of file descriptors and the like: wait, do not spin or stop.
                    tracing::warn!(%error, "desk: accepting a connection failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
            // The guard `wait_for` returns may not cross threads: drop it at once.
            _ = async { drop(shutdown.wait_for(|stop| *stop).await) } => break,
        };
        let Ok(slot) = slots.clone().try_acquire_owned() else {
            if last_refusal_logged.is_none_or(|at| at.elapsed() > Duration::from_secs(60)) {
                tracing::warn!(
                    max = limits.max_connections,
                    %peer,
                    "desk: connection limit reached; refusing new connections"
                );
                last_refusal_logged = Some(Instant::now());
            }
            drop(stream);
            continue;
        };
        let mut http = hyper::server::conn::http1::Builder::new();
        http.timer(TokioTimer::new())
            .header_read_timeout(limits.header_timeout)
            .max_buf_size(64 * 1024);
        let connection = http.serve_connection(
            TokioIo::new(stream),
            TowerToHyperService::new(service.clone()),
        );
        let connection = graceful.watch(connection);
        tokio::spawn(async move {
            if let Err(error) = connection.await {
                tracing::debug!(%peer, %error, "desk: connection ended with an error");
            }
            drop(slot);
        });
    }
    drop(listener);
    if tokio::time::timeout(DRAIN, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!(
            "desk: connections still open {}s after shutdown; closing them",
            DRAIN.as_secs()
        );
    }
    Ok(())
}
