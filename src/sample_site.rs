//! Serves the bundled sample news site on loopback, so that `yuqing run` shows results on
//! a machine without internet. A plain static file server: the crawler must find the
//! charset of each page the way it does on the real web (the GBK page says so only in
//! its `<meta>`).

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{header, StatusCode};
use axum::response::Response;
use axum::Router;
use std::net::SocketAddr;
use std::path::{Component, Path, PathBuf};
use tokio::net::TcpListener;
use tokio::sync::watch;

fn content_type(path: &Path) -> &'static str {
    match path.extension().and_then(|e| e.to_str()) {
        Some("html") | Some("htm") => "text/html",
        Some("xml") => "application/rss+xml",
        Some("css") => "text/css",
        Some("txt") => "text/plain",
        Some("json") => "application/json",
        _ => "application/octet-stream",
    }
}

async fn serve_file(State(root): State<PathBuf>, request: Request) -> Response {
    let mut path = root.clone();
    for component in Path::new(request.uri().path().trim_start_matches('/')).components() {
        match component {
            Component::Normal(part) => path.push(part),
            // No way out of the site's folder.
            _ => return status(StatusCode::NOT_FOUND),
        }
    }
    if path.is_dir() {
        path.push("index.html");
    }
    match tokio::fs::read(&path).await {
        Ok(bytes) => Response::builder()
            .header(header::CONTENT_TYPE, content_type(&path))
            .body(Body::from(bytes))
            .unwrap_or_else(|_| status(StatusCode::INTERNAL_SERVER_ERROR)),
        Err(_) => status(StatusCode::NOT_FOUND),
    }
}

fn status(code: StatusCode) -> Response {
    let mut response = Response::new(Body::empty());
    *response.status_mut() = code;
    response
}

/// Binds the site and serves it until `shutdown`; returns the base URL (`http://127.0.0.1:PORT`).
pub async fn start(
    listen: SocketAddr,
    root: PathBuf,
    mut shutdown: watch::Receiver<bool>,
) -> anyhow::Result<(String, tokio::task::JoinHandle<()>)> {
    if !root.join("index.html").is_file() {
        anyhow::bail!("sample site: no index.html in {}", root.display());
    }
    let listener = TcpListener::bind(listen)
        .await
        .map_err(|e| anyhow::anyhow!("sample site: cannot listen on {listen}: {e}"))?;
    let addr = listener.local_addr()?;
    let app = Router::new().fallback(serve_file).with_state(root);
    let task = tokio::spawn(async move {
        let served = axum::serve(listener, app)
            .with_graceful_shutdown(async move {
                let _ = shutdown.wait_for(|stop| *stop).await;
            })
            .await;
        if let Err(error) = served {
            tracing::error!(%error, "sample site stopped");
        }
    });
    Ok((format!("http://{addr}"), task))
}
