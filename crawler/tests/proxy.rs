//! `HTTP_PROXY` in the environment once sent crawler requests to a proxy, past the
//! address guard. Its own test binary: the variables it sets are the process's.

mod common;

use axum::routing::get;
use axum::Router;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;
use yuqing_crawler::{AddressGuard, Fetcher, FetcherOptions};

fn options(proxy: Option<url::Url>) -> FetcherOptions {
    FetcherOptions {
        user_agent: "yuqing-test".into(),
        timeout: Duration::from_secs(5),
        max_body_bytes: 1 << 20,
        max_redirects: 3,
        retries: 0,
        guard: AddressGuard::new(vec!["127.0.0.0/8".parse().unwrap()]),
        proxy,
    }
}

#[tokio::test]
async fn the_environments_proxy_is_ignored_and_a_configured_one_is_used() {
    let site = common::serve(Router::new().route("/page", get(|| async { "the page" }))).await;
    // A "proxy" that counts what reaches it and answers every request itself.
    let proxied = Arc::new(AtomicUsize::new(0));
    let counter = proxied.clone();
    let proxy = common::serve(Router::new().fallback(move || {
        let counter = counter.clone();
        async move {
            counter.fetch_add(1, Ordering::SeqCst);
            "from the proxy"
        }
    }))
    .await;
    for variable in ["HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "ALL_PROXY"] {
        // SAFETY: set before any other thread of this test binary reads the environment.
        unsafe { std::env::set_var(variable, &proxy) };
    }
    let url: url::Url = format!("{site}/page").parse().unwrap();

    let direct = Fetcher::new(options(None)).unwrap();
    let page = direct.get(&url).await.unwrap();
    assert_eq!(page.body, b"the page");
    assert_eq!(
        proxied.load(Ordering::SeqCst),
        0,
        "the environment's proxy was used"
    );

    let configured = Fetcher::new(options(Some(proxy.parse().unwrap()))).unwrap();
    let page = configured.get(&url).await.unwrap();
    assert_eq!(page.body, b"from the proxy");
    assert_eq!(proxied.load(Ordering::SeqCst), 1);
}
