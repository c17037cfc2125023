//! E-mail delivery against a real SMTP server started on loopback (aiosmtpd, from PyPI:
//! `alerts/tests/smtp_server.py`): STARTTLS with a private certificate, login, a busy
//! server's 451 retried, and each alert mailed exactly once.

mod common;
use common::alert;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use yuqing_alerts::{AlertRule, AlertStore, ChannelConfig, ChannelKind, Notifier, RuleBook};

struct SmtpServer {
    child: Child,
    port: u16,
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts the server, or says why it cannot (aiosmtpd not installed). In CI a missing
/// server is a failure, not a skip.
fn smtp_server(workdir: &std::path::Path, reject_first: u32) -> Option<SmtpServer> {
    // scripts/test installs aiosmtpd in a virtual environment and names its Python.
    let python = std::env::var("YUQING_TEST_PYTHON").unwrap_or_else(|_| "python3".into());
    let has_aiosmtpd = Command::new(&python)
        .args(["-c", "import aiosmtpd"])
        .status()
        .is_ok_and(|s| s.success());
    if !has_aiosmtpd {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "CI: aiosmtpd is missing (scripts/test installs it with pip)"
        );
        eprintln!("SKIPPED: no aiosmtpd (pip install aiosmtpd, or run ./scripts/test)");
        return None;
    }
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/smtp_server.py");
    let mut child = Command::new(&python)
        .arg(script)
        .arg(port.to_string())
        .arg(workdir)
        .args(["duty@example.gov.cn", "s3cret", &reject_first.to_string()])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    assert_eq!(line.trim(), "ready", "the SMTP server did not start");
    Some(SmtpServer { child, port })
}

fn received(workdir: &std::path::Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(workdir.join("received.jsonl"))
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alerts_are_mailed_once_over_starttls_with_login_through_a_busy_server() {
    let workdir = tempfile::tempdir().unwrap();
    let Some(server) = smtp_server(workdir.path(), 1) else {
        return;
    };
    let channel = |name: &str, password: &str| ChannelConfig {
        secret: Some(password.into()),
        username: Some("duty@example.gov.cn".into()),
        from: Some("舆情监测 <yuqing@example.gov.cn>".into()),
        to: vec![
            "值班员 <duty@example.gov.cn>".into(),
            "leader@example.gov.cn".into(),
        ],
        ca_file: Some(workdir.path().join("ca.pem")),
        ..ChannelConfig::new(
            name,
            ChannelKind::Email,
            format!("smtp://127.0.0.1:{}", server.port).parse().unwrap(),
        )
    };
    let dir = tempfile::tempdir().unwrap();
    let outbox = Arc::new(AlertStore::open(&dir.path().join("state.sqlite")).unwrap());
    let rule: AlertRule =
        toml::from_str("name = \"溺水预警\"\nquery = \"topic:防溺水\"\nchannels = [\"值班邮箱\", \"口令错误的邮箱\"]\n")
            .unwrap();
    let notifier = Notifier::new(
        outbox.clone(),
        RuleBook::fixed(vec![rule]),
        vec![
            channel("值班邮箱", "s3cret"),
            channel("口令错误的邮箱", "wrong"),
        ],
        dir.path().join("alerts.jsonl"),
        Some(std::sync::Arc::new(|id: &str| {
            format!("http://desk.example/ack/{id}?t=signed")
        })),
        common::loopback(),
    )
    .unwrap();

    notifier.enqueue(&alert("a1")).unwrap();
    // The log is written; the server answers the first message with 451 and refuses
    // the wrong password: both wait for a retry.
    assert_eq!(notifier.deliver_due().await.unwrap(), 1);
    assert!(received(workdir.path()).is_empty());
    outbox.retry_all_now().unwrap();
    let delivered = notifier.deliver_due().await.unwrap();
    let case = outbox.case("a1").unwrap().unwrap();
    assert_eq!(delivered, 1, "the mailbox, on retry: {:?}", case.deliveries);
    outbox.retry_all_now().unwrap();
    assert_eq!(
        notifier.deliver_due().await.unwrap(),
        0,
        "nothing twice; bad login still refused"
    );

    let mails = received(workdir.path());
    assert_eq!(mails.len(), 1, "{mails:?}");
    let mail = &mails[0];
    assert_eq!(mail["tls"], true, "STARTTLS before anything else");
    assert_eq!(mail["login"], true);
    assert_eq!(mail["from"], "yuqing@example.gov.cn");
    assert_eq!(
        mail["to"],
        serde_json::json!(["duty@example.gov.cn", "leader@example.gov.cn"])
    );
    assert_eq!(mail["subject"], "【舆情预警】溺水预警（高级）");
    let message_id = mail["message_id"].as_str().unwrap();
    assert!(
        message_id.starts_with("<a1.") && message_id.ends_with("@yuqing>"),
        "{message_id}"
    );
    let body = mail["body"].as_str().unwrap();
    assert!(body.contains("标题：孟州两名初中生河边溺水"), "{body}");
    assert!(
        body.contains("138****5678") && !body.contains("13812345678"),
        "{body}"
    );
    assert!(
        body.contains("签收：http://desk.example/ack/a1?t=signed"),
        "{body}"
    );

    let case = outbox.case("a1").unwrap().unwrap();
    let refused = case
        .deliveries
        .iter()
        .find(|d| d.channel == "口令错误的邮箱")
        .unwrap();
    assert_eq!(refused.status, "pending");
    let error = refused.last_error.as_deref().unwrap_or_default();
    assert!(error.contains("535") && error.contains("SMTP"), "{error}");
}
