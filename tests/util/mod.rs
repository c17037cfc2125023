//! Helpers shared by the end-to-end tests: the binary, config files, a webhook receiver,
//! waiting, and the desk's search API.
#![allow(dead_code)] // each test file uses its own subset

use axum::extract::State;
use axum::routing::post;
use axum::Router;
use serde_json::Value;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub const BIN: &str = env!("CARGO_BIN_EXE_yuqing");

pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The titles of the sample site's articles, each of which must be indexed exactly once.
pub const SAMPLE_TITLES: &[&str] = &[
    "温县一中学食堂发生多名学生腹泻 县教育局已介入调查",
    "温县一中学23名学生腹泻 涉事食堂暂停营业",
    "焦作温县通报一中学学生腹泻事件：23人就医 无危重病例",
    "孟州市两名初中生河边玩耍不慎溺水 一人获救一人不幸身亡",
    "痛心！孟州两名初中生河边玩耍溺水，一人身亡",
    "焦作市中小学集中开展冬季消防安全应急演练",
    "警惕！骗子冒充班主任在家长群收取“资料费”",
    "沁阳一初中生遭同学围殴视频流传 当地教育局回应",
    "温县陈家沟举办太极拳国际交流周活动",
    "武陟怀山药迎来丰收季 农户喜获好收成",
    "博爱县开展校车安全专项检查",
];

/// A config for the sample site on a free port, the desk on a free port, a source that
/// cannot be reached, and one alert rule posting to `webhook`.
pub fn write_config(dir: &Path, webhook: &str, interval_secs: u64, sample_site: &str) -> PathBuf {
    write_config_with(dir, webhook, interval_secs, sample_site, "")
}

/// [`write_config`] with more TOML appended (for example a `[bus]` section).
pub fn write_config_with(
    dir: &Path,
    webhook: &str,
    interval_secs: u64,
    sample_site: &str,
    extra: &str,
) -> PathBuf {
    let config = repo().join("config");
    let text = format!(
        r#"
[crawler]
request_delay_ms = 0
timeout_secs = 5

[sample_site]
enabled = true
listen = "{sample_site}"
root = "{site}"

[[source]]
name = "示例列表"
kind = "listing"
url = "{{sample_site}}/"
interval_secs = {interval_secs}
allowed_networks = ["127.0.0.0/8"]
[source.listing]
link_selector = "ul.news-list a"

[[source]]
name = "示例订阅"
kind = "feed"
url = "{{sample_site}}/rss.xml"
interval_secs = {interval_secs}
allowed_networks = ["127.0.0.0/8"]

[[source]]
name = "不可达的信源"
kind = "feed"
url = "http://127.0.0.1:1/rss.xml"
interval_secs = 1
allowed_networks = ["127.0.0.1"]

[analyzer]
user_dicts = ["{config}/dicts/user.dict"]
topics = "{config}/topics.toml"
sentiment = "{config}/dicts/sentiment.txt"
regions = "{config}/regions.toml"
schools = "{config}/schools.toml"

[indexer]
commit_interval_ms = 200

[desk]
listen = "127.0.0.1:0"
public_url = "http://desk.example"

[[alert]]
name = "防溺水预警"
query = "topic:防溺水"
webhook = "{webhook}"
"#,
        site = repo().join("sample-site").display(),
        config = config.display(),
    );
    // The webhook receivers are on loopback, which alerts may reach only when allowed.
    // A test with an `[alerts]` section of its own allows it there.
    let alerts = if extra.contains("[alerts]") {
        ""
    } else {
        "\n[alerts]\nallowed_networks = [\"127.0.0.0/8\"]\n"
    };
    let path = dir.join("test.toml");
    std::fs::write(&path, text + alerts + extra).unwrap();
    path
}

/// Records every request body a webhook receives.
#[derive(Clone, Default)]
pub struct Receiver {
    pub bodies: Arc<Mutex<Vec<Value>>>,
}

impl Receiver {
    pub async fn start_on(listener: tokio::net::TcpListener) -> Self {
        let receiver = Receiver::default();
        let app = Router::new()
            .route(
                "/hook",
                post(|State(r): State<Receiver>, body: String| async move {
                    r.bodies
                        .lock()
                        .unwrap()
                        .push(serde_json::from_str(&body).unwrap());
                    "ok"
                }),
            )
            .with_state(receiver.clone());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        receiver
    }

    pub fn titles(&self) -> Vec<String> {
        let mut titles: Vec<String> = self
            .bodies
            .lock()
            .unwrap()
            .iter()
            .map(|b| b["title"].as_str().unwrap().to_string())
            .collect();
        titles.sort();
        titles
    }
}

pub struct Running {
    pub child: Child,
    /// The process's log (its stderr), beside its data directory.
    pub log: PathBuf,
}

impl Running {
    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// `kill -9`: no chance to commit or flush anything.
    pub fn kill_hard(&mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn start(config: &Path, data: &Path) -> Running {
    start_with(config, data, &[])
}

/// Starts `yuqing run` with more arguments (for example `--bus kafka --role analyzer`).
pub fn start_with(config: &Path, data: &Path, args: &[&str]) -> Running {
    start_with_env(config, data, args, &[])
}

/// [`start_with`] with variables set in the process's environment.
pub fn start_with_env(config: &Path, data: &Path, args: &[&str], env: &[(&str, &str)]) -> Running {
    desk_token(data);
    let log = data.with_extension("log");
    let log_file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&log)
        .unwrap();
    let child = Command::new(BIN)
        .arg("--config")
        .arg(config)
        .arg("--data-dir")
        .arg(data)
        .arg("run")
        .args(args)
        .envs(env.iter().copied())
        .stdout(Stdio::null())
        .stderr(log_file)
        .spawn()
        .unwrap();
    Running { child, log }
}

pub async fn wait_for<T>(
    what: &str,
    timeout: Duration,
    mut probe: impl AsyncFnMut() -> Option<T>,
) -> T {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(value) = probe().await {
            return value;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The password of the administrator the tests make.
pub const ADMIN_PASSWORD: &str = "e2e admin password";

/// An API token of an administrator of the desk over `data`, made the first time as an
/// operator would: `yuqing user add` (password on stdin), then `yuqing token add`. Kept
/// beside the data directory.
pub fn desk_token(data: &Path) -> String {
    let file = data.with_extension("token");
    if let Ok(token) = std::fs::read_to_string(&file) {
        return token;
    }
    let yuqing = |args: &[&str], stdin: &str| {
        let mut child = Command::new(BIN)
            .arg("--data-dir")
            .arg(data)
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        use std::io::Write;
        child
            .stdin
            .take()
            .unwrap()
            .write_all(stdin.as_bytes())
            .unwrap();
        let output = child.wait_with_output().unwrap();
        assert!(
            output.status.success(),
            "yuqing {args:?}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8(output.stdout).unwrap()
    };
    yuqing(
        &["user", "add", "e2e-admin", "--role", "admin"],
        &format!("{ADMIN_PASSWORD}\n"),
    );
    let token = yuqing(
        &["token", "add", "--user", "e2e-admin", "--label", "e2e"],
        "",
    );
    let token = token.trim().to_string();
    std::fs::write(&file, &token).unwrap();
    token
}

/// `base` (`http://host:port`) with the administrator's API token as Basic credentials,
/// so that every request a test makes to it is authenticated.
pub fn with_token(base: &str, data: &Path) -> String {
    base.replacen("http://", &format!("http://e2e:{}@", desk_token(data)), 1)
}

/// `url` without the credentials [`with_token`] put in it: as a browser without a login
/// would ask.
pub fn without_credentials(url: &str) -> String {
    match url.split_once('@') {
        Some((_, rest)) => format!("http://{rest}"),
        None => url.to_string(),
    }
}

/// The desk of the process running over `data`, as an administrator (see [`with_token`]).
pub async fn desk_url(data: &Path) -> String {
    let base = wait_for("run.json", Duration::from_secs(20), async || {
        let text = std::fs::read_to_string(data.join("run.json")).ok()?;
        let info: Value = serde_json::from_str(&text).ok()?;
        Some(info["desk"].as_str()?.to_string())
    })
    .await;
    with_token(&base, data)
}

pub async fn search(desk: &str, query: &str) -> Value {
    let response = reqwest::Client::new()
        .get(format!("{desk}/api/search"))
        .query(&[("q", query), ("limit", "100")])
        .send()
        .await
        .unwrap();
    response.json().await.unwrap()
}

pub fn titles_of(results: &Value) -> Vec<String> {
    let mut titles: Vec<String> = results["hits"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["title"].as_str().unwrap().to_string())
        .collect();
    titles.sort();
    titles
}

pub fn free_port() -> SocketAddr {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap()
}

pub fn run_once(config: &Path, data: &Path) -> Output {
    Command::new(BIN)
        .arg("--config")
        .arg(config)
        .arg("--data-dir")
        .arg(data)
        .args(["run", "--once"])
        .output()
        .unwrap()
}

/// The Kafka broker of the test run (`YUQING_KAFKA`, set by scripts/test). Without one the
/// Kafka tests say so and pass, except in CI (`CI=true`), where that is a failure.
pub fn broker() -> Option<String> {
    yuqing_bus_kafka::testing::broker_from_env()
}

/// A topic prefix no other test uses.
pub fn unique_prefix(name: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!("{name}-{}-{nanos}", std::process::id())
}

/// The `[bus]` section for Kafka on `brokers` with topics under `prefix`.
pub fn kafka_bus_toml(brokers: &str, prefix: &str) -> String {
    format!("\n[bus]\ntransport = \"kafka\"\n\n[bus.kafka]\nbrokers = \"{brokers}\"\nprefix = \"{prefix}\"\npartitions = 4\n")
}

/// Waits until the desk at `desk` has every sample article, and checks each is there once.
pub async fn assert_sample_indexed_once(desk: &str, timeout: Duration) {
    let everything = wait_for("all sample documents indexed", timeout, async || {
        let results = search(desk, "").await;
        (results["total"] == SAMPLE_TITLES.len()).then_some(results)
    })
    .await;
    let mut expected: Vec<String> = SAMPLE_TITLES.iter().map(|t| t.to_string()).collect();
    expected.sort();
    assert_eq!(titles_of(&everything), expected);
}

/// The titles of the sample site's drowning stories: what the test rule `topic:防溺水`
/// must alert on, once each.
pub const DROWNING_TITLES: [&str; 2] = [
    "孟州市两名初中生河边玩耍不慎溺水 一人获救一人不幸身亡",
    "痛心！孟州两名初中生河边玩耍溺水，一人身亡",
];

/// Waits for the receiver to get the drowning alert — one for the story, though two
/// sources carried it — and checks none comes twice.
pub async fn assert_drowning_alerted_once(receiver: &Receiver) {
    let alerts = wait_for("the drowning alert", Duration::from_secs(30), async || {
        let titles = receiver.titles();
        (!titles.is_empty()).then_some(titles)
    })
    .await;
    assert_eq!(alerts.len(), 1, "{alerts:?}");
    assert!(DROWNING_TITLES.contains(&alerts[0].as_str()), "{alerts:?}");
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(receiver.titles().len(), 1, "one alert per story, sent once");
}

/// `yuqing search --json --limit 50` (everything) as a separate process.
pub fn search_cli_json(config: &Path, data: &Path) -> Value {
    let output = Command::new(BIN)
        .arg("--config")
        .arg(config)
        .arg("--data-dir")
        .arg(data)
        .args(["search", "--json", "--limit", "50"])
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).unwrap()
}

/// GET a URL of the desk and read the answer as text.
pub async fn get_text(url: String) -> String {
    reqwest::get(url).await.unwrap().text().await.unwrap()
}

/// GET a URL of the desk and read the JSON answer.
pub async fn get_json(url: String) -> Value {
    reqwest::get(url).await.unwrap().json().await.unwrap()
}
