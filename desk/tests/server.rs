//! The desk's server under clients that hold it open: half-sent requests, idle
//! connections, stalled bodies, more connections than it takes, and a handler that
//! panics. Each is cut off or refused, and a well-behaved request is served afterwards.

use axum::routing::{get, post};
use axum::Router;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use yuqing_desk::ServeLimits;

const LIMITS: ServeLimits = ServeLimits {
    max_connections: 4,
    header_timeout: Duration::from_secs(1),
    body_timeout: Duration::from_secs(1),
};

async fn start() -> (std::net::SocketAddr, tokio::sync::watch::Sender<bool>) {
    let router = Router::new()
        .route("/ok", get(|| async { "ok" }))
        .route("/echo", post(|body: String| async move { body }))
        .route(
            "/panic",
            get(|| async {
                if true {
                    panic!("a bug in one handler");
                }
                "unreachable"
            }),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, shutdown) = tokio::sync::watch::channel(false);
    tokio::spawn(yuqing_desk::serve(listener, router, LIMITS, shutdown));
    (addr, stop)
}

/// Reads until the server closes the connection (or `within` passes); returns what was
/// read and how long the close took, or None when it stayed open.
async fn until_closed(stream: &mut TcpStream, within: Duration) -> Option<(String, Duration)> {
    let started = Instant::now();
    let mut read = Vec::new();
    let mut buffer = [0u8; 4096];
    loop {
        let left = within.checked_sub(started.elapsed())?;
        match tokio::time::timeout(left, stream.read(&mut buffer)).await {
            Err(_) => return None,
            Ok(Ok(0)) | Ok(Err(_)) => {
                return Some((
                    String::from_utf8_lossy(&read).to_string(),
                    started.elapsed(),
                ))
            }
            Ok(Ok(n)) => read.extend_from_slice(&buffer[..n]),
        }
    }
}

async fn get_ok(addr: std::net::SocketAddr) -> String {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream
        .write_all(b"GET /ok HTTP/1.1\r\nHost: desk\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    until_closed(&mut stream, Duration::from_secs(5))
        .await
        .expect("a complete request is answered")
        .0
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn half_sent_requests_and_extra_connections_do_not_hold_the_desk() {
    let (addr, _stop) = start().await;
    // Four clients start a request and never finish its headers.
    let mut slow = Vec::new();
    for _ in 0..LIMITS.max_connections {
        let mut stream = TcpStream::connect(addr).await.unwrap();
        stream
            .write_all(b"GET /ok HTTP/1.1\r\nHost: desk\r\n")
            .await
            .unwrap();
        slow.push(stream);
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    // A fifth is over the limit: closed at once, not queued behind them.
    let mut extra = TcpStream::connect(addr).await.unwrap();
    let _ = extra
        .write_all(b"GET /ok HTTP/1.1\r\nHost: desk\r\n\r\n")
        .await;
    let (answer, _) = until_closed(&mut extra, Duration::from_millis(500))
        .await
        .expect("a connection over the limit is closed at once");
    assert!(answer.is_empty(), "{answer}");
    // The half-sent requests are cut off after the header timeout.
    for stream in &mut slow {
        let (_, after) = until_closed(stream, Duration::from_secs(5))
            .await
            .expect("a half-sent request is cut off");
        assert!(after < Duration::from_secs(4), "{after:?}");
    }
    // And then the desk serves again.
    let answer = get_ok(addr).await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(answer.ends_with("ok"), "{answer}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_connections_and_stalled_bodies_are_cut_off() {
    let (addr, _stop) = start().await;
    // A kept-alive connection that goes quiet after its answer.
    let mut idle = TcpStream::connect(addr).await.unwrap();
    idle.write_all(b"GET /ok HTTP/1.1\r\nHost: desk\r\n\r\n")
        .await
        .unwrap();
    let (answer, after) = until_closed(&mut idle, Duration::from_secs(5))
        .await
        .expect("an idle connection is closed");
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(
        after >= Duration::from_millis(500),
        "kept alive a while: {after:?}"
    );

    // A body promised at 100 bytes that stops after 10.
    let mut stalled = TcpStream::connect(addr).await.unwrap();
    stalled
        .write_all(b"POST /echo HTTP/1.1\r\nHost: desk\r\nContent-Length: 100\r\n\r\n0123456789")
        .await
        .unwrap();
    let (answer, after) = until_closed(&mut stalled, Duration::from_secs(5))
        .await
        .expect("a stalled body ends its request");
    assert!(
        !answer.contains("0123456789"),
        "nothing was echoed: {answer}"
    );
    assert!(after < Duration::from_secs(4), "{after:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_panicking_handler_answers_500_and_the_desk_goes_on() {
    let (addr, _stop) = start().await;
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream
        .write_all(b"GET /panic HTTP/1.1\r\nHost: desk\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let (answer, _) = until_closed(&mut stream, Duration::from_secs(5))
        .await
        .unwrap();
    assert!(
        answer.starts_with("HTTP/1.1 500"),
        "a 500, not a dropped connection: {answer}"
    );
    assert!(answer.contains("\"code\":\"internal\""), "{answer}");
    assert!(!answer.contains("a bug in one handler"), "{answer}");
    assert!(get_ok(addr).await.starts_with("HTTP/1.1 200"));
}
