//! Routing and escalation: a story in 温县 also reaches 温县's contact; a 高 alert that
//! nobody acknowledges in time goes to the next contact, marked as escalated; one that
//! was acknowledged does not.

mod common;
use axum::extract::{Path, State};
use axum::routing::post;
use axum::{Json, Router};
use common::alert;
use serde_json::Value;
use std::sync::{Arc, Mutex};
use yuqing_alerts::{AlertRule, AlertStore, ChannelConfig, ChannelKind, Notifier, RuleBook};

type Received = Arc<Mutex<Vec<(String, Value)>>>;

async fn hook(
    State(received): State<Received>,
    Path(who): Path<String>,
    Json(body): Json<Value>,
) -> &'static str {
    received.lock().unwrap().push((who, body));
    "ok"
}

fn webhook(name: &str, base: &str, path: &str, districts: &[&str]) -> ChannelConfig {
    let url = format!("{base}/{path}").parse().unwrap();
    ChannelConfig {
        districts: districts.iter().map(|d| d.to_string()).collect(),
        ..ChannelConfig::new(name, ChannelKind::Webhook, url)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stories_reach_their_districts_contact_and_unacknowledged_ones_escalate() {
    let received: Received = Arc::default();
    let app = Router::new()
        .route("/{who}", post(hook))
        .with_state(received.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });

    let dir = tempfile::tempdir().unwrap();
    let outbox = Arc::new(AlertStore::open(&dir.path().join("state.sqlite")).unwrap());
    let rule: AlertRule = toml::from_str(
        "name = \"溺水预警\"\nquery = \"topic:防溺水\"\nchannels = [\"市局值班\"]\nescalate_after_minutes = 30\nescalate_to = [\"分管领导\"]\n",
    )
    .unwrap();
    assert_eq!(rule.problem(), None);
    let notifier = Notifier::new(
        outbox.clone(),
        RuleBook::fixed(vec![rule]),
        vec![
            webhook("市局值班", &base, "city", &[]),
            webhook("温县值班", &base, "wenxian", &["温县"]),
            webhook("分管领导", &base, "leader", &[]),
        ],
        dir.path().join("alerts.jsonl"),
        None,
        common::loopback(),
    )
    .unwrap();

    let mut in_wenxian = alert("a1");
    in_wenxian.districts = vec!["温县".into()];
    let elsewhere = alert("a2"); // 孟州市
    let mut acknowledged = alert("a3");
    acknowledged.districts = vec!["温县".into()];
    let mut medium = alert("a4");
    medium.severity = yuqing_model::RiskLevel::Medium;
    for a in [&in_wenxian, &elsewhere, &acknowledged, &medium] {
        notifier.enqueue(a).unwrap();
    }
    notifier.deliver_due().await.unwrap();
    // Deliveries go out together: compare in id order.
    let to = |who: &str| -> Vec<String> {
        let mut ids: Vec<String> = received
            .lock()
            .unwrap()
            .iter()
            .filter(|(w, _)| w == who)
            .map(|(_, body)| body["id"].as_str().unwrap().to_string())
            .collect();
        ids.sort();
        ids
    };
    assert_eq!(to("city"), ["a1", "a2", "a3", "a4"]);
    assert_eq!(
        to("wenxian"),
        ["a1", "a3"],
        "温县's stories reach 温县's contact"
    );
    assert!(to("leader").is_empty());

    outbox.acknowledge("a3", "王五").unwrap();
    let raised = in_wenxian.raised_at;
    assert_eq!(
        notifier
            .escalate_due(raised + chrono::Duration::minutes(29))
            .unwrap(),
        0,
        "not yet"
    );
    assert_eq!(
        notifier
            .escalate_due(raised + chrono::Duration::minutes(31))
            .unwrap(),
        2,
        "a1 and a2: 高 and nobody took them"
    );
    assert_eq!(
        notifier
            .escalate_due(raised + chrono::Duration::minutes(60))
            .unwrap(),
        0,
        "once"
    );
    notifier.deliver_due().await.unwrap();
    assert_eq!(
        to("leader"),
        ["a1", "a2"],
        "unacknowledged 高 alerts only (a3 taken, a4 is 中)"
    );
    let body = received
        .lock()
        .unwrap()
        .iter()
        .find(|(w, b)| w == "leader" && b["id"] == "a1")
        .unwrap()
        .1
        .clone();
    assert!(
        body["text"]
            .as_str()
            .unwrap()
            .starts_with("【升级：30 分钟未签收】\n【舆情预警】"),
        "{body}"
    );
    assert_eq!(body["escalated"], true);
    let case = outbox.case("a1").unwrap().unwrap();
    assert!(case
        .events
        .iter()
        .any(|e| e.event == "escalated" && e.detail.as_deref() == Some("分管领导")));
    assert!(case
        .deliveries
        .iter()
        .any(|d| d.channel == "escalation:分管领导" && d.status == "delivered"));
}
