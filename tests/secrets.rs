//! No secret in the open: robots whose addresses carry their keys refuse or cannot be
//! reached, and afterwards the configured secrets appear in no answer of the desk, no
//! line of the log and no output of the CLI, while the errors still say what happened.

mod util;

use axum::http::Uri;
use axum::routing::post;
use axum::{Json, Router};
use serde_json::{json, Value};
use std::process::Command;
use std::time::Duration;
use util::*;

const WECOM_KEY: &str = "693a91f6-7aaa-4bc4-97a0-0ec2f1fa5aaa";
const DING_TOKEN: &str = "c0ffee1234567890deadbeefc0ffee1234567890";
const DING_SECRET: &str = "SEC7d2f9a0b1c3e5d7f9a1b3c5e7d9f1a3b5c";
const HOOK_TOKEN: &str = "hooktoken-5f4e3d2c1b0a";

/// A 企业微信 robot that refuses the key and quotes the address it was called at, as
/// the real one does ("invalid webhook url, hint: …").
async fn quoting_robot(uri: Uri) -> Json<Value> {
    Json(
        json!({"errcode": 93000, "errmsg": format!("invalid webhook url {uri}, hint: [1700000000_0], more info at …")}),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn robot_keys_and_tokens_appear_in_no_error_log_or_answer() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let robot = listener.local_addr().unwrap();
    let app = Router::new().route("/cgi-bin/webhook/send", post(quoting_robot));
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    let closed = free_port();

    let dir = tempfile::tempdir().unwrap();
    let channels = format!(
        r#"
[[channel]]
name = "企业微信值班群"
kind = "wecom"
url_env = "YUQING_TEST_WECOM_URL"

[[channel]]
name = "钉钉值班群"
kind = "dingtalk"
url = "http://{closed}/robot/send?access_token={DING_TOKEN}"
secret_env = "YUQING_TEST_DING_SECRET"

[[alert]]
name = "溺水值班群"
query = "topic:防溺水"
channels = ["企业微信值班群", "钉钉值班群"]
"#
    );
    let config = write_config_with(
        dir.path(),
        &format!("http://{closed}/hook?token={HOOK_TOKEN}"),
        3600,
        &free_port().to_string(),
        &channels,
    );
    let data = dir.path().join("data");
    let wecom_url = format!("http://{robot}/cgi-bin/webhook/send?key={WECOM_KEY}");
    let _run = start_with_env(
        &config,
        &data,
        &[],
        &[
            ("YUQING_TEST_WECOM_URL", wecom_url.as_str()),
            ("YUQING_TEST_DING_SECRET", DING_SECRET),
        ],
    );
    let desk = desk_url(&data).await;

    // Wait until every channel of the drowning alerts, and the rule's webhook, has
    // failed at least once.
    let errors = wait_for("failed deliveries", Duration::from_secs(60), async || {
        let cases = get_json(format!("{desk}/api/alerts")).await;
        let errors: Vec<String> = cases
            .as_array()?
            .iter()
            .flat_map(|case| case["deliveries"].as_array().cloned().unwrap_or_default())
            .filter_map(|d| Some(format!("{}: {}", d["channel"], d["last_error"].as_str()?)))
            .collect();
        let failed = |channel: &str| {
            errors
                .iter()
                .any(|e| e.starts_with(&format!("\"{channel}\"")))
        };
        (failed("企业微信值班群") && failed("钉钉值班群") && failed("webhook")).then_some(errors)
    })
    .await
    .join("\n");
    // The errors still tell staff what went wrong.
    assert!(errors.contains("93000"), "{errors}");
    assert!(errors.to_lowercase().contains("connect"), "{errors}");

    // Everything the system says, to the desk, in its log and on the command line.
    let mut said: Vec<(String, String)> = Vec::new();
    for path in [
        "/api/alerts",
        "/api/rules",
        "/api/audit",
        "/api/status",
        "/metrics",
    ] {
        let text = get_text(format!("{desk}{path}")).await;
        said.push((path.to_string(), text));
    }
    let cases = get_json(format!("{desk}/api/alerts")).await;
    for case in cases.as_array().unwrap() {
        let id = case["alert_id"].as_str().unwrap();
        let text = get_text(format!("{desk}/api/alerts/{id}")).await;
        said.push((format!("/api/alerts/{id}"), text));
    }
    let export = get_text(format!("{desk}/api/alerts/export.csv")).await;
    said.push(("/api/alerts/export.csv".into(), export));
    for args in [&["alerts", "list"][..], &["status"][..]] {
        let output = Command::new(BIN)
            .arg("--config")
            .arg(&config)
            .arg("--data-dir")
            .arg(&data)
            .args(args)
            .env("YUQING_TEST_WECOM_URL", &wecom_url)
            .env("YUQING_TEST_DING_SECRET", DING_SECRET)
            .output()
            .unwrap();
        said.push((
            format!("yuqing {}", args.join(" ")),
            String::from_utf8_lossy(&output.stdout).to_string()
                + &String::from_utf8_lossy(&output.stderr),
        ));
    }
    let log = _run.log_text();
    assert!(
        log.contains("alert delivery failed"),
        "the log reports the failures: {log}"
    );
    said.push(("the log".into(), log));

    for (where_, text) in &said {
        for secret in [WECOM_KEY, DING_TOKEN, DING_SECRET, HOOK_TOKEN] {
            assert!(
                !text.contains(secret),
                "{where_} shows the secret {secret}:\n{text}"
            );
        }
    }
    let rules = &said.iter().find(|(p, _)| p == "/api/rules").unwrap().1;
    assert!(
        rules.contains("/hook?token=***"),
        "a rule's webhook is shown with its token redacted: {rules}"
    );
}
