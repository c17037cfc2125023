//! Delivery to group robots imitated on loopback: the 钉钉 and 飞书 robots check their
//! signatures and first answer with their rate-limit errors; the 企业微信 robot takes the
//! message at once. Every alert reaches every channel exactly once.

mod common;
use axum::extract::{Query, State};
use axum::routing::post;
use axum::{Json, Router};
use base64::Engine as _;
use common::alert;
use hmac::{Hmac, Mac};
use serde_json::{json, Value};
use sha2::Sha256;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use yuqing_alerts::{AlertRule, AlertStore, ChannelConfig, ChannelKind, Notifier, RuleBook};

const SECRET: &str = "SECtest";

#[derive(Clone, Default)]
struct Robots {
    dingtalk: Arc<Mutex<Vec<Value>>>,
    wecom: Arc<Mutex<Vec<Value>>>,
    feishu: Arc<Mutex<Vec<Value>>>,
}

async fn dingtalk(
    State(robots): State<Robots>,
    Query(query): Query<HashMap<String, String>>,
    Json(body): Json<Value>,
) -> Json<Value> {
    let mut mac = Hmac::<Sha256>::new_from_slice(SECRET.as_bytes()).unwrap();
    mac.update(format!("{}\n{SECRET}", query["timestamp"]).as_bytes());
    let expected = base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes());
    if query.get("sign") != Some(&expected) {
        return Json(json!({"errcode": 310000, "errmsg": "sign not match"}));
    }
    let mut received = robots.dingtalk.lock().unwrap();
    received.push(body);
    if received.len() == 1 {
        // Like the real robot: too many messages in a minute.
        return Json(json!({"errcode": 130101, "errmsg": "send too fast"}));
    }
    Json(json!({"errcode": 0, "errmsg": "ok"}))
}

/// 飞书: the signature is HMAC-SHA256 keyed with "timestamp\nsecret" over nothing.
async fn feishu(State(robots): State<Robots>, Json(body): Json<Value>) -> Json<Value> {
    let key = format!(
        "{}\n{SECRET}",
        body["timestamp"].as_str().unwrap_or_default()
    );
    let mac = Hmac::<Sha256>::new_from_slice(key.as_bytes()).unwrap();
    let expected = base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes());
    if body["sign"].as_str() != Some(expected.as_str()) {
        return Json(
            json!({"code": 19021, "msg": "sign match fail or timestamp is not within one hour from current time"}),
        );
    }
    let mut received = robots.feishu.lock().unwrap();
    received.push(body);
    if received.len() == 1 {
        return Json(json!({"code": 9499, "msg": "too many requests"}));
    }
    Json(json!({"code": 0, "msg": "success"}))
}

async fn wecom(State(robots): State<Robots>, Json(body): Json<Value>) -> Json<Value> {
    robots.wecom.lock().unwrap().push(body);
    Json(json!({"errcode": 0, "errmsg": "ok"}))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_alert_reaches_each_robot_once_through_signatures_and_rate_limits() {
    let robots = Robots::default();
    let app = Router::new()
        .route("/robot/send", post(dingtalk))
        .route("/cgi-bin/webhook/send", post(wecom))
        .route("/open-apis/bot/v2/hook/t", post(feishu))
        .with_state(robots.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });

    let dir = tempfile::tempdir().unwrap();
    let outbox = Arc::new(AlertStore::open(&dir.path().join("state.sqlite")).unwrap());
    let signed = |name: &str, kind, url: String| ChannelConfig {
        secret: Some(SECRET.into()),
        ..ChannelConfig::new(name, kind, url.parse().unwrap())
    };
    let channels = vec![
        signed(
            "钉钉值班群",
            ChannelKind::Dingtalk,
            format!("{base}/robot/send?access_token=abc"),
        ),
        ChannelConfig::new(
            "企业微信值班群",
            ChannelKind::Wecom,
            format!("{base}/cgi-bin/webhook/send?key=k")
                .parse()
                .unwrap(),
        ),
        signed(
            "飞书值班群",
            ChannelKind::Feishu,
            format!("{base}/open-apis/bot/v2/hook/t"),
        ),
    ];
    let rule: AlertRule = toml::from_str(
        "name = \"溺水预警\"\nquery = \"topic:防溺水\"\nchannels = [\"钉钉值班群\", \"企业微信值班群\", \"飞书值班群\"]\n",
    )
    .unwrap();
    let notifier = Notifier::new(
        outbox.clone(),
        RuleBook::fixed(vec![rule]),
        channels,
        dir.path().join("alerts.jsonl"),
        Some(std::sync::Arc::new(|id: &str| {
            format!("http://desk.example/ack/{id}?t=signed")
        })),
        common::loopback(),
    )
    .unwrap();

    notifier.enqueue(&alert("a1")).unwrap();
    notifier.enqueue(&alert("a1")).unwrap(); // a redelivered bus message changes nothing
    let first_round = notifier.deliver_due().await.unwrap();
    assert_eq!(
        first_round, 2,
        "log and 企业微信 at once; 钉钉 said 'too fast', 飞书 'too many requests'"
    );
    assert_eq!(outbox.counts().unwrap(), (2, 2));

    // After their backoff (here: at once) the 钉钉 and 飞书 alerts go through.
    outbox.retry_all_now().unwrap();
    assert_eq!(notifier.deliver_due().await.unwrap(), 2);
    assert_eq!(outbox.counts().unwrap(), (0, 4));
    let feishu = robots.feishu.lock().unwrap().clone();
    assert_eq!(feishu.len(), 2, "one refusal, one delivery");
    assert_eq!(feishu[1]["msg_type"], "text");
    assert!(feishu[1]["content"]["text"]
        .as_str()
        .unwrap()
        .starts_with("【舆情预警】溺水预警（高级）"));
    assert_eq!(
        notifier.deliver_due().await.unwrap(),
        0,
        "nothing is sent twice"
    );

    let wecom = robots.wecom.lock().unwrap().clone();
    assert_eq!(wecom.len(), 1);
    assert_eq!(wecom[0]["msgtype"], "markdown");
    let content = wecom[0]["markdown"]["content"].as_str().unwrap();
    assert!(
        content.starts_with("【舆情预警】溺水预警（高级）"),
        "{content}"
    );
    assert!(content.contains("孟州两名初中生河边溺水"), "{content}");
    assert!(
        content.contains("138＊＊＊＊5678") && !content.contains("13812345678"),
        "{content}"
    );
    assert!(
        content.contains("签收：[点击签收](http://desk.example/ack/a1?t=signed)"),
        "{content}"
    );
    let dingtalk = robots.dingtalk.lock().unwrap().clone();
    assert_eq!(dingtalk.len(), 2, "one refusal, one delivery");
    assert_eq!(
        dingtalk[1]["markdown"]["title"],
        "【舆情预警】溺水预警（高级）"
    );

    // The case log tells the alert's life, and on-call staff take and close it.
    let case = outbox.case("a1").unwrap().unwrap();
    // The duty view's facts are kept with the case.
    assert_eq!(case.facts.severity.as_deref(), Some("high"));
    assert_eq!(case.facts.districts, ["孟州市"]);
    assert_eq!(case.facts.source.as_deref(), Some("焦作晚报"));
    let events: Vec<&str> = case.events.iter().map(|e| e.event.as_str()).collect();
    assert_eq!(events[0], "raised");
    assert_eq!(events.iter().filter(|e| **e == "delivered").count(), 4);
    let failures: Vec<&str> = case
        .events
        .iter()
        .filter(|e| e.event == "delivery failed")
        .map(|e| e.detail.as_deref().unwrap())
        .collect();
    assert_eq!(failures.len(), 2, "{failures:?}");
    assert!(failures
        .iter()
        .any(|f| f.contains("钉钉值班群") && f.contains("130101")));
    assert!(failures
        .iter()
        .any(|f| f.contains("飞书值班群") && f.contains("9499")));
    let dingtalk_log = case
        .deliveries
        .iter()
        .find(|d| d.channel == "钉钉值班群")
        .unwrap();
    assert_eq!(
        (dingtalk_log.status.as_str(), dingtalk_log.attempts),
        ("delivered", 2)
    );
    outbox.acknowledge("a1", "张三").unwrap();
    assert!(outbox.acknowledge("a1", "李四").is_err(), "taken once");
    // A false alarm needs its reason; a handled one is closed by whoever closed it.
    assert!(outbox
        .close("a1", "张三", " ", yuqing_alerts::Outcome::FalseAlarm)
        .is_err());
    outbox
        .close(
            "a1",
            "张三",
            "已联系学校核实，学生家属已安抚",
            yuqing_alerts::Outcome::Handled,
        )
        .unwrap();
    let case = outbox.case("a1").unwrap().unwrap();
    assert_eq!(case.state, "closed");
    assert_eq!(case.acknowledged_by.as_deref(), Some("张三"));
    assert_eq!(
        (case.closed_by.as_deref(), case.outcome.as_deref()),
        (Some("张三"), Some("handled"))
    );
    assert!(outbox
        .acknowledge("nope", "x")
        .unwrap_err()
        .to_string()
        .contains("no alert with id nope"));
}

/// A robot or webhook in the bureau's own networks is not posted to unless
/// `[alerts] allowed_networks` lists them: the delivery fails with a refusal that says
/// how to allow it, and nothing reaches the address.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn robots_and_webhooks_in_private_networks_are_refused_unless_allowed() {
    let robots = Robots::default();
    let app = Router::new()
        .route("/cgi-bin/webhook/send", post(wecom))
        .with_state(robots.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });

    let dir = tempfile::tempdir().unwrap();
    let outbox = Arc::new(AlertStore::open(&dir.path().join("state.sqlite")).unwrap());
    let channels = vec![ChannelConfig::new(
        "企业微信值班群",
        ChannelKind::Wecom,
        format!("{base}/cgi-bin/webhook/send?key=k")
            .parse()
            .unwrap(),
    )];
    let rule: AlertRule = toml::from_str(
        "name = \"溺水预警\"\nquery = \"topic:防溺水\"\nchannels = [\"企业微信值班群\"]\nwebhook = \"http://10.0.0.5/hook\"\n",
    )
    .unwrap();
    let strict = Notifier::new(
        outbox.clone(),
        RuleBook::fixed(vec![rule]),
        channels,
        dir.path().join("alerts.jsonl"),
        None,
        yuqing_alerts::AddressGuard::default().allowed_by("[alerts] allowed_networks"),
    )
    .unwrap();
    strict.enqueue(&alert("a1")).unwrap();
    assert_eq!(strict.deliver_due().await.unwrap(), 1, "only the alert log");
    assert!(
        robots.wecom.lock().unwrap().is_empty(),
        "nothing was posted"
    );
    let case = outbox.case("a1").unwrap().unwrap();
    for channel in ["企业微信值班群", "webhook"] {
        let delivery = case
            .deliveries
            .iter()
            .find(|d| d.channel == channel)
            .unwrap();
        let error = delivery.last_error.as_deref().unwrap_or_default();
        assert!(
            error.contains("refused") && error.contains("[alerts] allowed_networks"),
            "{channel}: {error}"
        );
    }
}
