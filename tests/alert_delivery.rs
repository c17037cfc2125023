//! Never lost, never doubled: the alert process is killed with `kill -9` while its
//! webhook deliveries are in flight, and the receiver is down for a while after the
//! restart; in the end every alert of the case log reached the receiver, and every
//! repeated request carried the idempotency key of a delivery the kill interrupted.

mod util;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use axum::Router;
use serde_json::Value;
use std::collections::{HashMap, HashSet};
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use util::*;

#[derive(Clone, Default)]
struct SlowReceiver {
    /// Idempotency keys of the requests answered 200, in order.
    accepted: Arc<Mutex<Vec<String>>>,
    /// Keys of requests that arrived, answered or not.
    arrived: Arc<Mutex<Vec<String>>>,
    down: Arc<AtomicBool>,
}

async fn slow_hook(State(r): State<SlowReceiver>, headers: HeaderMap, body: String) -> StatusCode {
    let key = headers
        .get("Idempotency-Key")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    let body: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(body["id"], key.as_str(), "the key is the alert's id");
    r.arrived.lock().unwrap().push(key.clone());
    if r.down.load(Ordering::SeqCst) {
        return StatusCode::SERVICE_UNAVAILABLE;
    }
    // Slow enough that the kill finds deliveries in flight.
    tokio::time::sleep(Duration::from_millis(700)).await;
    r.accepted.lock().unwrap().push(key);
    StatusCode::OK
}

fn cases(config: &std::path::Path, data: &std::path::Path) -> Vec<Value> {
    let output = Command::new(BIN)
        .arg("--config")
        .arg(config)
        .arg("--data-dir")
        .arg(data)
        .args(["alerts", "list", "--json", "--limit", "1000"])
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_alert_reaches_the_webhook_through_a_kill_and_an_outage() {
    let receiver = SlowReceiver::default();
    let app = Router::new()
        .route("/hook", post(slow_hook))
        .with_state(receiver.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let hook = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });

    // The sample site on a fixed port, so the restarted process sees the same pages.
    let site_port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let dir = tempfile::tempdir().unwrap();
    let config = write_config_with(
        dir.path(),
        &hook,
        300,
        &format!("127.0.0.1:{site_port}"),
        &format!(
            "\n[[alert]]\nname = \"校园安全综合\"\nquery = \"topic:食品安全 | topic:校园欺凌 | topic:消防安全 | topic:校车与交通安全 | topic:电信网络诈骗\"\nwebhook = \"{hook}\"\n"
        ),
    );
    let data = dir.path().join("data");

    let mut running = start(&config, &data);
    wait_for(
        "the first delivery to be in flight",
        Duration::from_secs(60),
        async || (!receiver.arrived.lock().unwrap().is_empty()).then_some(()),
    )
    .await;
    running.kill_hard();
    let in_flight: HashSet<String> = receiver.arrived.lock().unwrap().iter().cloned().collect();
    let accepted_before_kill = receiver.accepted.lock().unwrap().len();

    // Back up, but the receiver is down for a while: deliveries fail and are retried.
    receiver.down.store(true, Ordering::SeqCst);
    std::fs::remove_file(data.join("run.json")).unwrap();
    let _running = start(&config, &data);
    let desk = desk_url(&data).await;
    wait_for(
        "a refused delivery after the restart",
        Duration::from_secs(60),
        async || (receiver.arrived.lock().unwrap().len() > in_flight.len()).then_some(()),
    )
    .await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    receiver.down.store(false, Ordering::SeqCst);
    // Everything collected, so every alert has been raised.
    assert_sample_indexed_once(&desk, Duration::from_secs(60)).await;
    // One alert per rule and story: as many as each rule's query finds stories.
    let mut stories = 0;
    for query in [
        "topic:防溺水",
        "topic:食品安全 | topic:校园欺凌 | topic:消防安全 | topic:校车与交通安全 | topic:电信网络诈骗",
    ] {
        let found: Value = reqwest::Client::new()
            .get(format!("{desk}/api/search"))
            .query(&[("q", query), ("limit", "100"), ("collapse", "true")])
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        stories += found["hits"].as_array().unwrap().len();
    }
    assert!(
        stories >= 3,
        "the sample site has several stories for the rules"
    );

    // Every alert of the case log ends up delivered on the webhook.
    let all_delivered = wait_for(
        "every alert delivered",
        Duration::from_secs(120),
        async || {
            let cases = cases(&config, &data);
            let done = cases.len() >= stories
                && cases.iter().all(|c| {
                    c["deliveries"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .all(|d| d["status"] == "delivered")
                });
            done.then_some(cases)
        },
    )
    .await;
    let alert_ids: HashSet<String> = all_delivered
        .iter()
        .map(|c| c["alert_id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        alert_ids.len(),
        stories,
        "an alert for every story: {alert_ids:?}"
    );
    let accepted = receiver.accepted.lock().unwrap().clone();
    let distinct: HashSet<String> = accepted.iter().cloned().collect();
    assert_eq!(
        distinct, alert_ids,
        "every alert, and only those, reached the receiver"
    );
    // A key accepted twice is a delivery the kill interrupted after the receiver took
    // it and before the outbox noted it: the receiver sees the same idempotency key.
    let mut times: HashMap<&str, usize> = HashMap::new();
    for key in &accepted {
        *times.entry(key).or_default() += 1;
    }
    for (key, n) in times {
        assert!(
            n == 1 || in_flight.contains(key),
            "{key} accepted {n} times without having been in flight at the kill"
        );
    }
    assert!(accepted_before_kill <= in_flight.len());
}
