//! A full disk is a fault the system waits out, not one it dies of or loses work to.
//!
//! `yuqing run` keeps its data directory on a small tmpfs. Once the first stories are
//! alerted, the disk is filled to the last byte and new stories appear on the site; the
//! stages that must write hold their work, `/api/health` says the system is degraded,
//! and the process stays up. When space returns, every new story is indexed and alerted
//! exactly once, health is ok again, and the logs hold whole lines only.

mod util;

use axum::extract::{Path, State};
use axum::response::Html;
use axum::routing::get;
use axum::Router;
use serde_json::Value;
use std::io::Write;
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use util::*;

/// The stories on the test site, by page name: (title, first paragraph).
#[derive(Clone, Default)]
struct Site(Arc<Mutex<Vec<(String, String)>>>);

impl Site {
    fn add(&self, title: &str, body: &str) {
        self.0.lock().unwrap().push((title.into(), body.into()));
    }
}

async fn listing(State(site): State<Site>) -> Html<String> {
    let items: String = (0..site.0.lock().unwrap().len())
        .map(|n| format!("<li><a href=\"/story/{n}.html\">第{n}条</a></li>"))
        .collect();
    Html(format!(
        "<html><body><ul class=\"list\">{items}</ul></body></html>"
    ))
}

async fn story(State(site): State<Site>, Path(page): Path<String>) -> Html<String> {
    let n: usize = page.trim_end_matches(".html").parse().unwrap_or(usize::MAX);
    let stories = site.0.lock().unwrap();
    let Some((title, body)) = stories.get(n) else {
        return Html(String::new());
    };
    Html(format!(
        "<html><head><meta charset=\"utf-8\"><title>{title}</title></head><body><h1>{title}</h1>\
         <div class=\"info\">发布时间：2026-12-0{} 09:30 来源：测试日报</div>\
         <div class=\"text\"><p>{body}</p><p>当地教育部门提醒家长加强对孩子的安全教育，严防溺水事故发生。</p></div></body></html>",
        1 + n % 8
    ))
}

const STORIES: &[(&str, &str)] = &[
    (
        "孟州两名初中生河边溺水",
        "12月1日下午，孟州市两名初中生在河边玩耍时不慎落水，一人获救，一人经抢救无效死亡。",
    ),
    (
        "温县一小学生水塘溺水身亡",
        "12月2日，温县祥云镇一名小学生在村边水塘玩耍时溺水，经打捞送医后不幸身亡。",
    ),
    (
        "沁阳三名中学生水库游泳溺亡",
        "12月3日，沁阳市三名中学生结伴到水库游泳，其中一人溺水身亡，另两人被村民救起。",
    ),
    (
        "武陟一名学生黄河滩区溺水",
        "12月4日，武陟县一名高中生在黄河滩区玩耍时失足落水，搜救人员连夜打捞。",
    ),
    (
        "博爱县一儿童坠入水渠溺水",
        "12月5日傍晚，博爱县一名八岁儿童放学途中坠入水渠，被路人救起后送医抢救。",
    ),
];

/// Mounts a tmpfs of `megabytes` at `dir`, or says why not.
fn mount_tmpfs(dir: &std::path::Path, megabytes: u32) -> Result<(), String> {
    std::fs::create_dir_all(dir).unwrap();
    let output = Command::new("mount")
        .args(["-t", "tmpfs", "-o", &format!("size={megabytes}m"), "tmpfs"])
        .arg(dir)
        .output()
        .map_err(|e| e.to_string())?;
    if output.status.success() {
        Ok(())
    } else {
        Err(String::from_utf8_lossy(&output.stderr).to_string())
    }
}

struct Mounted(std::path::PathBuf);

impl Drop for Mounted {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.0).status();
    }
}

/// Writes to `path` until the disk refuses another byte.
fn fill(path: &std::path::Path) -> u64 {
    let mut file = std::fs::File::create(path).unwrap();
    let mut written = 0u64;
    for chunk in [1 << 20, 4096, 1] {
        let block = vec![b'x'; chunk];
        while file.write_all(&block).is_ok() {
            written += chunk as u64;
        }
    }
    let _ = file.sync_all();
    written
}

const NAME: &str = "a_full_disk_is_waited_out_and_loses_nothing";

#[test]
fn a_full_disk_is_waited_out_and_loses_nothing() {
    // Mounting needs root; elsewhere the test runs itself again as root of a user and
    // mount namespace of its own.
    if std::env::var_os("YUQING_TEST_IN_NAMESPACE").is_none() && !is_root() {
        let status = Command::new("unshare")
            .args(["--user", "--map-root-user", "--mount"])
            .arg(std::env::current_exe().unwrap())
            .args(["--exact", NAME, "--nocapture", "--test-threads=1"])
            .env("YUQING_TEST_IN_NAMESPACE", "1")
            .status()
            .expect("unshare (util-linux) runs the test in a namespace of its own");
        assert!(status.success(), "the test failed in its namespace");
        return;
    }
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
        .block_on(scenario());
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

async fn scenario() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    mount_tmpfs(&data, 24).expect("a tmpfs for the data directory");
    let _mounted = Mounted(data.clone());

    let site = Site::default();
    for (title, body) in &STORIES[..2] {
        site.add(title, body);
    }
    let app = Router::new()
        .route("/list.html", get(listing))
        .route("/story/{page}", get(story))
        .with_state(site.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    let hook = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let hook_url = format!("http://{}/hook", hook.local_addr().unwrap());
    let receiver = Receiver::start_on(hook).await;

    let config_dir = repo().join("config");
    let config = dir.path().join("disk.toml");
    std::fs::write(
        &config,
        format!(
            r#"
[crawler]
request_delay_ms = 0
timeout_secs = 5

[[source]]
name = "测试站"
kind = "listing"
url = "{base}/list.html"
interval_secs = 1
allowed_networks = ["127.0.0.0/8"]
[source.listing]
link_selector = ".list a"

[analyzer]
user_dicts = ["{c}/dicts/user.dict"]
topics = "{c}/topics.toml"
sentiment = "{c}/dicts/sentiment.txt"
regions = "{c}/regions.toml"
schools = "{c}/schools.toml"

[indexer]
commit_interval_ms = 200

[desk]
listen = "127.0.0.1:0"

[alerts]
allowed_networks = ["127.0.0.0/8"]

[[alert]]
name = "防溺水预警"
query = "topic:防溺水"
webhook = "{hook_url}"
"#,
            c = config_dir.display()
        ),
    )
    .unwrap();
    let mut run = start(&config, &data);
    let desk = desk_url(&data).await;
    let health = |desk: String| async move {
        let response = reqwest::get(format!("{desk}/api/health")).await.ok()?;
        let code = response.status().as_u16();
        Some((code, response.json::<Value>().await.ok()?))
    };
    wait_for(
        "the first stories alerted",
        Duration::from_secs(60),
        async || (receiver.titles().len() >= 2).then_some(()),
    )
    .await;

    // The disk fills up to the last byte, and new stories appear.
    let filler = data.join("filler");
    let filled = fill(&filler);
    assert!(filled > 0);
    for (title, body) in &STORIES[2..] {
        site.add(title, body);
    }
    let degraded = wait_for(
        "health to say degraded",
        Duration::from_secs(60),
        async || {
            let (code, report) = health(desk.clone()).await?;
            (code == 503).then_some(report)
        },
    )
    .await;
    assert_eq!(degraded["status"], "degraded", "{degraded}");
    let retrying: Vec<&String> = degraded["stages"]
        .as_object()
        .unwrap()
        .iter()
        .filter(|(_, state)| *state == "retrying")
        .map(|(stage, _)| stage)
        .collect();
    assert!(!retrying.is_empty(), "{degraded}");
    let status = get_json(format!("{desk}/api/status")).await;
    let errors = status["stages"].to_string();
    assert!(
        errors.contains("No space left on device")
            || errors.contains("full")
            || errors.contains("space"),
        "the status names the fault: {errors}"
    );
    // A while on a full disk: the process stays up and drops nothing.
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert!(
        run.child.try_wait().unwrap().is_none(),
        "the process is still running: {}",
        run.log_text()
    );

    // Space returns.
    std::fs::remove_file(&filler).unwrap();
    let titles = wait_for("every story alerted", Duration::from_secs(90), async || {
        (receiver.titles().len() >= STORIES.len()).then(|| receiver.titles())
    })
    .await;
    let mut expected: Vec<String> = STORIES.iter().map(|(t, _)| t.to_string()).collect();
    expected.sort();
    assert_eq!(titles, expected, "each story alerted exactly once");
    wait_for(
        "health to be ok again",
        Duration::from_secs(60),
        async || {
            let (code, report) = health(desk.clone()).await?;
            (code == 200 && report["status"] == "ok").then_some(())
        },
    )
    .await;
    let found = titles_of(&search(&desk, "溺水").await);
    assert_eq!(found, expected, "every story is searchable");
    // Nothing was given up to the dead letters, and the alert log has whole lines.
    assert!(
        std::fs::read_to_string(data.join("dead-letter.jsonl"))
            .unwrap_or_default()
            .is_empty(),
        "nothing was dead-lettered"
    );
    let log = std::fs::read_to_string(data.join("alerts.jsonl")).unwrap();
    let logged: Vec<Value> = log
        .lines()
        .map(|line| serde_json::from_str(line).expect("a whole JSON line"))
        .collect();
    assert_eq!(logged.len(), STORIES.len(), "{log}");
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(receiver.titles().len(), STORIES.len(), "nothing sent twice");
    run.kill_hard();
}
