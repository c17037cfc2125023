//! `yuqing bench alerts`: the latency from a document's arrival at the indexer to the
//! webhook request leaving for it, in embedded mode, with many rules loaded.
//!
//! Analyzed documents (each its own drowning story, made from the sample site's text)
//! are handed to the indexer at a steady rate; the indexer commits every
//! `commit_interval_ms`, the evaluator runs every rule over each commit, the notifier
//! writes the outbox and posts to a webhook receiver on loopback, which notes when each
//! request arrived. The commit interval is the main term: a document waits for the next
//! commit before any rule can see it.

use super::{bench_document, percentile, sample_texts};
use crate::config::Config;
use axum::extract::State;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::mpsc;
use yuqing_alerts::{AlertRule, AlertStore, Notifier, RuleBook};
use yuqing_analyzer::Analyzer;
use yuqing_bus::{Consumer, EmbeddedBus, Producer, Topics};
use yuqing_indexer::{IndexerConfig, SearchIndex};
use yuqing_model::{Alert, AnalyzedDocument};

/// When each alert's request reached the receiver, by document id.
type Arrivals = Arc<Mutex<Vec<(String, Instant)>>>;

#[derive(clap::Args)]
pub struct AlertsBench {
    #[arg(long, default_value_t = 300)]
    pub docs: usize,
    #[arg(long, default_value_t = 200)]
    pub rules: usize,
    /// Documents handed to the indexer per second.
    #[arg(long, default_value_t = 50.0)]
    pub rate: f64,
    #[arg(long, default_value_t = 200)]
    pub commit_interval_ms: u64,
}

/// The rules: one that every document fires, and the rest a mix of the desk's kinds of
/// query, most of which match nothing here (as most rules, most of the time).
fn rules(count: usize, url: &str) -> Vec<AlertRule> {
    let topics = [
        "消防安全",
        "食品安全",
        "校园欺凌",
        "电信网络诈骗",
        "校车与交通安全",
        "心理健康与自伤",
    ];
    let districts = [
        "解放区",
        "中站区",
        "马村区",
        "山阳区",
        "修武县",
        "博爱县",
        "武陟县",
        "温县",
        "沁阳市",
        "孟州市",
    ];
    let words = [
        "起火",
        "腹泻",
        "围殴",
        "刷单",
        "侧翻",
        "坍塌",
        "流感",
        "补课",
        "择校费",
        "踩踏",
    ];
    (0..count)
        .map(|k| {
            let query = if k == 0 {
                "topic:防溺水".to_string()
            } else {
                match k % 4 {
                    0 => format!(
                        "topic:{} district:{}",
                        topics[k % topics.len()],
                        districts[k % districts.len()]
                    ),
                    1 => format!(
                        "{} {}",
                        words[k % words.len()],
                        districts[(k / 3) % districts.len()]
                    ),
                    2 => format!(
                        "title:{} | \"{}\"",
                        words[(k + 3) % words.len()],
                        words[k % words.len()]
                    ),
                    _ => format!(
                        "risk:高 -{} topic:{}",
                        words[k % words.len()],
                        topics[(k / 2) % topics.len()]
                    ),
                }
            };
            toml::from_str(&format!(
                "name = \"规则{k}\"\nquery = '{query}'\nwebhook = \"{url}\"\nspread_steps = []\n"
            ))
            .expect("generated rules parse")
        })
        .collect()
}

pub async fn run(config: &Config, options: AlertsBench) -> anyhow::Result<()> {
    // The receiver notes when each alert's request arrived.
    let arrivals: Arrivals = Arc::default();
    let app = axum::Router::new()
        .route(
            "/hook",
            axum::routing::post(
                |State(arrivals): State<Arrivals>, body: String| async move {
                    let now = Instant::now();
                    let alert: serde_json::Value = serde_json::from_str(&body).unwrap_or_default();
                    let doc = alert["doc_id"].as_str().unwrap_or_default().to_string();
                    arrivals.lock().expect("arrivals").push((doc, now));
                    "ok"
                },
            ),
        )
        .with_state(arrivals.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("http://{}/hook", listener.local_addr()?);
    tokio::spawn(async move { axum::serve(listener, app).await });

    let analyzer = Analyzer::load(&config.analyzer)?;
    let (titles, paragraphs) = sample_texts(config)?;
    let drowning: Vec<&String> = paragraphs
        .iter()
        .filter(|p| p.contains("溺水") || p.contains("落水"))
        .collect();
    let docs: Vec<AnalyzedDocument> = (0..options.docs)
        .map(|i| {
            // Every paragraph numbered: each document is its own story, not a reprint.
            let content: Vec<String> = (0..3)
                .map(|k| {
                    format!(
                        "{}（第{i}号事件）",
                        paragraphs[(i * 7 + k * 13) % paragraphs.len()]
                    )
                })
                .chain(std::iter::once(format!(
                    "{}（第{i}号）",
                    drowning[i % drowning.len().max(1)]
                )))
                .collect();
            let url = format!("http://bench.invalid/alerts/{i}.html");
            let document = bench_document(
                url,
                format!("{}（{i}）", titles[i % titles.len()]),
                content.join("\n"),
            );
            let analysis = analyzer.analyze(&document.title, &document.content);
            AnalyzedDocument { document, analysis }
        })
        .collect();

    let dir = tempfile::tempdir()?;
    let index = SearchIndex::open_or_create(&dir.path().join("index"), analyzer.segmenter())?;
    let outbox = Arc::new(AlertStore::open(&dir.path().join("state.sqlite"))?);
    let rules = rules(options.rules, &url);
    yuqing_alerts::validate_rules(&index, &rules)?;
    let book = RuleBook::fixed(rules);
    let bus = Arc::new(EmbeddedBus::new(config.bus.capacity));
    let topics = Topics::default();
    let analyzed_out: Producer<AnalyzedDocument> = Producer::new(&*bus, &topics.analyzed)?;
    let analyzed_in: Consumer<AnalyzedDocument> =
        Consumer::new(&*bus, &topics.analyzed, "indexer", &topics.dead_letter)?;
    let alerts_out: Producer<Alert> = Producer::new(&*bus, &topics.alerts)?;
    let alerts_in: Consumer<Alert> =
        Consumer::new(&*bus, &topics.alerts, "notifier", &topics.dead_letter)?;
    let (commit_tx, commit_rx) = mpsc::channel(64);
    let notifier = Arc::new(Notifier::new(
        outbox.clone(),
        book.clone(),
        Vec::new(),
        dir.path().join("alerts.jsonl"),
        None,
        yuqing_alerts::AddressGuard::new(vec!["127.0.0.0/8".parse().expect("a network")]),
    )?);
    let health = Arc::new(yuqing_model::health::Health::default());
    tokio::spawn(yuqing_alerts::run_notifier(
        notifier,
        alerts_in,
        health.clone(),
    ));
    tokio::spawn(yuqing_alerts::run_evaluator(
        index.clone(),
        book,
        outbox,
        commit_rx,
        alerts_out,
        yuqing_alerts::EvaluatorLinks {
            replay_unstored: false,
            judged: None,
            health: health.clone(),
        },
    ));
    tokio::spawn(yuqing_indexer::run_stage(
        index,
        IndexerConfig {
            commit_interval_ms: options.commit_interval_ms,
            ..IndexerConfig::default()
        },
        analyzed_in,
        commit_tx,
        health,
    ));

    println!(
        "alert latency benchmark: {} documents at {:.0}/s, {} rules (one fires on every document, others on some), commit interval {} ms, embedded bus",
        options.docs, options.rate, options.rules, options.commit_interval_ms
    );
    let mut sent: HashMap<String, Instant> = HashMap::new();
    let gap = Duration::from_secs_f64(1.0 / options.rate.max(0.1));
    let start = Instant::now();
    for (n, doc) in docs.iter().enumerate() {
        tokio::time::sleep_until((start + gap * n as u32).into()).await;
        sent.insert(doc.document.id.clone(), Instant::now());
        analyzed_out.send(doc).await?;
    }
    // Wait until every document has alerted and the alerts have stopped coming.
    let deadline = Instant::now() + Duration::from_secs(120);
    let mut last_count = 0;
    let mut quiet_since = Instant::now();
    while Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(100)).await;
        let arrived = arrivals.lock().expect("arrivals");
        let every_doc = sent
            .keys()
            .all(|id| arrived.iter().any(|(doc, _)| doc == id));
        if arrived.len() != last_count {
            last_count = arrived.len();
            quiet_since = Instant::now();
        } else if every_doc && quiet_since.elapsed() > Duration::from_secs(2) {
            break;
        }
    }
    let arrivals = arrivals.lock().expect("arrivals").clone();
    let mut all: Vec<Duration> = Vec::new();
    let mut first: HashMap<&str, Duration> = HashMap::new();
    for (doc, at) in &arrivals {
        let Some(sent_at) = sent.get(doc) else {
            continue;
        };
        let latency = at.duration_since(*sent_at);
        all.push(latency);
        let earliest = first.entry(doc.as_str()).or_insert(latency);
        *earliest = (*earliest).min(latency);
    }
    all.sort();
    let mut first: Vec<Duration> = first.into_values().collect();
    first.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    println!(
        "{} alerts for {} of {} documents ({:.1} alerts per document)",
        all.len(),
        first.len(),
        docs.len(),
        all.len() as f64 / first.len().max(1) as f64
    );
    println!(
        "latency, indexer hand-off to webhook request, every alert:   p50 {:.0} ms, p99 {:.0} ms, max {:.0} ms",
        ms(percentile(&all, 0.50)),
        ms(percentile(&all, 0.99)),
        ms(all.last().copied().unwrap_or_default())
    );
    println!(
        "latency, indexer hand-off to webhook request, first alert:   p50 {:.0} ms, p99 {:.0} ms",
        ms(percentile(&first, 0.50)),
        ms(percentile(&first, 0.99)),
    );
    Ok(())
}
