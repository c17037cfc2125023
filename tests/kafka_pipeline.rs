//! The stages as separate `yuqing` processes linked by a real Apache Kafka broker
//! (started by scripts/test; see `util::broker`).

mod util;

use serde_json::Value;
use std::path::Path;
use std::time::Duration;
use util::*;
use yuqing_bus::{Bus, Consumer, DeadLetter, Producer};
use yuqing_bus_kafka::{KafkaBus, KafkaConfig};
use yuqing_model::{doc_id, RawDocument};

/// The desk address of the indexer process `running`, once that process has written it.
async fn desk_of(running: &Running, data: &Path) -> String {
    let pid = running.child.id();
    wait_for(
        "the indexer's desk address",
        Duration::from_secs(30),
        async || {
            let info: Value =
                serde_json::from_str(&std::fs::read_to_string(data.join("run.json")).ok()?).ok()?;
            (info["pid"] == pid).then(|| info["desk"].as_str().map(|url| with_token(url, data)))?
        },
    )
    .await
}

async fn total(desk: &str) -> Option<u64> {
    let response = reqwest::Client::new()
        .get(format!("{desk}/api/search"))
        .query(&[("q", ""), ("limit", "1")])
        .timeout(Duration::from_secs(5))
        .send()
        .await
        .ok()?;
    response.json::<Value>().await.ok()?["total"].as_u64()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn separate_processes_crawl_analyze_index_and_alert_through_kafka() {
    let Some(brokers) = broker() else { return };
    let dir = tempfile::tempdir().unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let receiver_addr = listener.local_addr().unwrap();
    let receiver = Receiver::start_on(listener).await;
    let config = write_config_with(
        dir.path(),
        &format!("http://{receiver_addr}/hook"),
        300,
        "127.0.0.1:0",
        &kafka_bus_toml(&brokers, &unique_prefix("pipeline")),
    );
    let data = |name: &str| dir.path().join(name);
    let indexer = start_with(&config, &data("indexer"), &["--role", "indexer"]);
    let _notifier = start_with(&config, &data("notifier"), &["--role", "notifier"]);
    let analyzer_a = start_with(&config, &data("analyzer-a"), &["--role", "analyzer"]);
    let analyzer_b = start_with(&config, &data("analyzer-b"), &["--role", "analyzer"]);
    let desk = desk_of(&indexer, &data("indexer")).await;
    // Both analyzers have joined the group before the crawl starts.
    wait_for(
        "both analyzers assigned partitions",
        Duration::from_secs(30),
        async || {
            (analyzer_a.log_text().contains("kafka partitions assigned")
                && analyzer_b.log_text().contains("kafka partitions assigned"))
            .then_some(())
        },
    )
    .await;
    // Two crawlers share the sources, each its shard. One serves the sample site on a
    // fixed port; the other reaches it there, so a page has one URL whoever crawls it.
    let site = free_port();
    let text = std::fs::read_to_string(&config).unwrap();
    let serving = dir.path().join("serving.toml");
    std::fs::write(
        &serving,
        text.replace(
            "listen = \"127.0.0.1:0\"\nroot",
            &format!("listen = \"{site}\"\nroot"),
        ),
    )
    .unwrap();
    let visiting = dir.path().join("visiting.toml");
    std::fs::write(
        &visiting,
        text.replace("{sample_site}", &format!("http://{site}"))
            .replace(
                "[sample_site]\nenabled = true",
                "[sample_site]\nenabled = false",
            ),
    )
    .unwrap();
    let crawler_a = start_with(
        &serving,
        &data("crawler-a"),
        &["--role", "crawler", "--shard", "1/2"],
    );
    wait_for(
        "the sample site served",
        Duration::from_secs(30),
        async || {
            crawler_a
                .log_text()
                .contains("sample site serving")
                .then_some(())
        },
    )
    .await;
    let crawler_b = start_with(
        &visiting,
        &data("crawler-b"),
        &["--role", "crawler", "--shard", "2/2"],
    );

    assert_sample_indexed_once(&desk, Duration::from_secs(90)).await;
    assert_eq!(search(&desk, "topic:食品安全").await["total"], 3);
    // Between them the two crawlers visited the three sources, each source once.
    let visited = |log: String| {
        log.matches("source visited").count() + log.matches("source visit failed").count()
    };
    let shares = |log: String| {
        log.lines()
            .find(|l| l.contains("crawling this shard's sources"))
            .and_then(|l| l.rsplit("sources=").next()?.trim().parse::<usize>().ok())
            .unwrap()
    };
    assert_eq!(
        shares(crawler_a.log_text()) + shares(crawler_b.log_text()),
        3
    );
    assert!(visited(crawler_a.log_text()) + visited(crawler_b.log_text()) >= 3);

    assert_drowning_alerted_once(&receiver).await;

    // The desk reports Kafka as reachable and, once offsets are committed, nothing behind.
    let status = wait_for("no consumer lag", Duration::from_secs(30), async || {
        let status: Value = reqwest::get(format!("{desk}/api/status"))
            .await
            .ok()?
            .json()
            .await
            .ok()?;
        let groups = status["kafka"]["groups"].as_array()?.clone();
        (groups.len() == 3 && groups.iter().all(|g| g["lag"] == 0)).then_some(status)
    })
    .await;
    assert_eq!(status["kafka"]["reachable"], true);
    assert_eq!(status["documents"], SAMPLE_TITLES.len());
    // The same for the bureau's monitoring, per group and partition.
    let metrics = get_text(format!("{desk}/metrics")).await;
    assert!(
        metrics.contains("\nyuqing_kafka_reachable 1\n"),
        "{metrics}"
    );
    let lags: Vec<&str> = metrics
        .lines()
        .filter(|l| l.starts_with("yuqing_kafka_lag{"))
        .collect();
    assert!(lags.len() >= 3, "{metrics}");
    assert!(lags.iter().all(|l| l.ends_with(" 0")), "{metrics}");
    assert!(
        lags.iter()
            .any(|l| l.contains("group=\"analyzer\"") && l.contains("partition=\"1\"")),
        "{metrics}"
    );

    // The work was shared: each analyzer analyzed some documents of its own partitions.
    let analyzed = |log: String| log.contains("kafka partitions assigned");
    assert!(analyzed(analyzer_a.log_text()) && analyzed(analyzer_b.log_text()));
}

fn synthetic_document(prefix: &str, i: usize) -> RawDocument {
    let url = format!("http://news.example/{prefix}/{i}.html");
    let (title, content) = match i % 3 {
        0 => (
            format!("温县第{i}中学开展防溺水安全教育"),
            "学校组织学生观看防溺水警示片，提醒学生不私自下水、不到河边玩耍。".to_string(),
        ),
        1 => (
            format!("孟州市第{i}小学食堂检查"),
            "市场监管部门检查学校食堂后厨卫生和食品留样情况，未发现问题。".to_string(),
        ),
        _ => (
            format!("焦作市第{i}期太极拳培训班开班"),
            "来自各县区的学员参加培训，学习传统太极拳套路。".to_string(),
        ),
    };
    RawDocument {
        id: doc_id(&url).unwrap(),
        url,
        source: "合成测试源".into(),
        origin: None,
        author: None,
        title,
        content,
        published_at: None,
        fetched_at: chrono::Utc::now(),
        charset: "UTF-8".into(),
        ..Default::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killing_the_analyzer_and_the_indexer_mid_stream_loses_and_doubles_nothing() {
    let Some(brokers) = broker() else { return };
    let dir = tempfile::tempdir().unwrap();
    let prefix = unique_prefix("crash");
    let config = write_config_with(
        dir.path(),
        "http://127.0.0.1:9/hook",
        300,
        "127.0.0.1:0",
        &kafka_bus_toml(&brokers, &prefix),
    );
    let kafka_config = KafkaConfig {
        brokers: brokers.clone(),
        prefix: prefix.clone(),
        partitions: 4,
        replication: 1,
    };
    let bus = KafkaBus::new(kafka_config).unwrap();
    bus.ensure_topics().await.unwrap();
    let topics = bus.topics();

    // A stream of documents with one poison message in the middle.
    let n = 2000;
    let raw: Producer<RawDocument> = Producer::new(&bus, &topics.raw).unwrap();
    for i in 0..n {
        raw.send(&synthetic_document(&prefix, i)).await.unwrap();
        if i == n / 2 {
            bus.publisher(&topics.raw)
                .unwrap()
                .publish(
                    "poison",
                    b"{\"kind\":\"raw_document\",\"schema_version\":1,\"body\":{\"id\":7}}"
                        .to_vec(),
                )
                .await
                .unwrap();
        }
    }

    let data = |name: &str| dir.path().join(name);
    let mut analyzer = start_with(&config, &data("analyzer"), &["--role", "analyzer"]);
    let mut indexer = start_with(&config, &data("indexer"), &["--role", "indexer"]);
    let desk = desk_of(&indexer, &data("indexer")).await;

    let at_first_kill = wait_for(
        "some documents indexed",
        Duration::from_secs(60),
        async || total(&desk).await.filter(|t| *t >= 100),
    )
    .await;
    analyzer.kill_hard();
    let _analyzer = start_with(&config, &data("analyzer"), &["--role", "analyzer"]);

    let at_second_kill = wait_for(
        "more documents indexed",
        Duration::from_secs(60),
        async || total(&desk).await.filter(|t| *t >= 400),
    )
    .await;
    indexer.kill_hard();
    assert!(
        at_first_kill < n as u64 && at_second_kill < n as u64,
        "the kills came mid-stream ({at_first_kill}, {at_second_kill} of {n})"
    );
    let indexer = start_with(&config, &data("indexer"), &["--role", "indexer"]);
    let desk = desk_of(&indexer, &data("indexer")).await;

    let last = wait_for(
        "every document indexed",
        Duration::from_secs(120),
        async || total(&desk).await.filter(|t| *t >= n as u64),
    )
    .await;
    assert_eq!(last, n as u64);
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(
        total(&desk).await,
        Some(n as u64),
        "redelivered messages changed nothing"
    );
    // Each synthetic document is findable by its own title.
    let hits = search(&desk, "温县第300中学").await;
    assert_eq!(hits["total"], 1, "{hits}");

    // The poison message went to the dead-letter topic with its error and bytes.
    let mut dead: Consumer<DeadLetter> = Consumer::new(
        &bus,
        &topics.dead_letter,
        "test-audit",
        &format!("{prefix}.unused"),
    )
    .unwrap();
    let letter = tokio::time::timeout(Duration::from_secs(30), dead.recv())
        .await
        .expect("a dead letter")
        .unwrap()
        .unwrap()
        .message;
    assert_eq!(letter.key, "poison");
    assert_eq!(letter.stage, "analyzer");
    assert!(
        letter.error.contains("bad raw_document body"),
        "{}",
        letter.error
    );
    assert!(letter.payload.contains("\"id\":7"), "{}", letter.payload);
}

/// A broker of this test's own (so stopping it disturbs no other test), on a free port
/// pair, stopped when dropped.
struct OwnBroker {
    port: u16,
    run_dir: tempfile::TempDir,
}

impl OwnBroker {
    fn script(&self, command: &str) {
        let status = std::process::Command::new(repo().join("scripts/kafka"))
            .arg(command)
            .env("KAFKA_PORT", self.port.to_string())
            .env("KAFKA_RUN_DIR", self.run_dir.path())
            .status()
            .unwrap();
        assert!(status.success(), "scripts/kafka {command} failed");
    }

    fn start() -> OwnBroker {
        // Below the range the system picks ephemeral ports from: while the broker is
        // stopped, no other test's socket (a listener on port 0, a client's source
        // port) can take its ports, so it resumes on them.
        let ephemeral_low: u16 = std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range")
            .ok()
            .and_then(|r| r.split_whitespace().next()?.parse().ok())
            .unwrap_or(32768);
        let first = ephemeral_low.saturating_sub(10_000).max(1024);
        let offset = (std::process::id() as u16 % 4_000) * 2;
        let port = (0..4_000u16)
            .map(|step| first + (offset + step * 2) % 8_000)
            .find(|&port| {
                port + 1 < ephemeral_low
                    && std::net::TcpListener::bind(("127.0.0.1", port)).is_ok()
                    && std::net::TcpListener::bind(("127.0.0.1", port + 1)).is_ok()
            })
            .expect("a free port pair below the ephemeral range");
        let broker = OwnBroker {
            port,
            run_dir: tempfile::tempdir().unwrap(),
        };
        broker.script("start");
        broker
    }

    fn address(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }
}

impl Drop for OwnBroker {
    fn drop(&mut self) {
        self.script("stop");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_broker_stopping_and_starting_mid_stream_loses_nothing() {
    // Needs the same tools as the shared broker; without it, skip the same way.
    if broker().is_none() {
        return;
    }
    let own = tokio::task::spawn_blocking(OwnBroker::start).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let prefix = unique_prefix("outage");
    let config = write_config_with(
        dir.path(),
        "http://127.0.0.1:9/hook",
        300,
        "127.0.0.1:0",
        &kafka_bus_toml(&own.address(), &prefix),
    );
    let bus = KafkaBus::new(KafkaConfig {
        brokers: own.address(),
        prefix: prefix.clone(),
        partitions: 4,
        replication: 1,
    })
    .unwrap();
    bus.ensure_topics().await.unwrap();
    let raw: Producer<RawDocument> = Producer::new(&bus, &bus.topics().raw).unwrap();

    let data = |name: &str| dir.path().join(name);
    let analyzer = start_with(&config, &data("analyzer"), &["--role", "analyzer"]);
    let indexer = start_with(&config, &data("indexer"), &["--role", "indexer"]);
    let desk = desk_of(&indexer, &data("indexer")).await;

    // The stream keeps coming while the broker goes away and comes back.
    let n = 600;
    let stream_prefix = prefix.clone();
    let producer = tokio::spawn(async move {
        for i in 0..n {
            raw.send(&synthetic_document(&stream_prefix, i))
                .await
                .unwrap();
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    });
    wait_for(
        "some documents indexed",
        Duration::from_secs(60),
        async || total(&desk).await.filter(|t| *t >= 50),
    )
    .await;
    let own = tokio::task::spawn_blocking(move || {
        own.script("stop");
        std::thread::sleep(Duration::from_secs(3));
        own.script("resume");
        own
    })
    .await
    .unwrap();
    tokio::time::timeout(Duration::from_secs(120), producer)
        .await
        .expect("the stream's producer gets every document through the outage within 2 minutes")
        .unwrap();

    let last = wait_for(
        "every document indexed after the outage",
        Duration::from_secs(120),
        async || total(&desk).await.filter(|t| *t >= n as u64),
    )
    .await;
    assert_eq!(last, n as u64);
    let analyzer_log = analyzer.log_text();
    assert!(
        analyzer_log.contains("kafka")
            && (analyzer_log.contains("WARN") || analyzer_log.contains("ERROR")),
        "the outage was reported in the log"
    );
    drop(own);
}
