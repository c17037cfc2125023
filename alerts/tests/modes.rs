//! Rule modes and noise control, judged over a real index: one alert per story and a
//! follow-up when it spreads, new stories only, thresholds and spikes over a window with
//! a re-alert period, quiet hours with a summary afterwards, and a daily digest.

use chrono::{DateTime, Duration, Utc};
use std::sync::Arc;
use yuqing_alerts::{AlertRule, AlertStore, Evaluator, RuleBook};
use yuqing_bus::{Consumer, EmbeddedBus, Producer};
use yuqing_indexer::{Committed, PendingPrints, SearchIndex};
use yuqing_model::{
    Alert, AlertKind, Analysis, AnalyzedDocument, RawDocument, RiskLevel, RiskTag, Sentiment,
    SentimentTag, TopicTag,
};
use yuqing_segmenter::Segmenter;

struct World {
    _dir: tempfile::TempDir,
    index: SearchIndex,
    outbox: Arc<AlertStore>,
    alerts: Consumer<Alert>,
    evaluator: Evaluator,
    pending: PendingPrints,
}

fn at(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text)
        .unwrap()
        .with_timezone(&Utc)
}

fn rule(toml_text: &str) -> AlertRule {
    let rule: AlertRule = toml::from_str(toml_text).unwrap();
    assert_eq!(rule.problem(), None);
    rule
}

impl World {
    fn new(rules: Vec<AlertRule>) -> World {
        let dir = tempfile::tempdir().unwrap();
        let index =
            SearchIndex::open_or_create(&dir.path().join("index"), Arc::new(Segmenter::new()))
                .unwrap();
        let outbox = Arc::new(AlertStore::open(&dir.path().join("state.sqlite")).unwrap());
        let bus = EmbeddedBus::new(1000);
        let output: Producer<Alert> = Producer::new(&bus, "alerts").unwrap();
        let alerts = Consumer::new(&bus, "alerts", "test", "dead").unwrap();
        let evaluator = Evaluator::new(
            index.clone(),
            RuleBook::fixed(rules),
            outbox.clone(),
            output,
        );
        World {
            _dir: dir,
            index,
            outbox,
            alerts,
            evaluator,
            pending: PendingPrints::default(),
        }
    }

    /// Indexes documents and returns their ids, without judging them.
    fn index_only(&mut self, docs: &[(&str, &str, &str, &str, DateTime<Utc>)]) -> Vec<String> {
        let mut writer = self.index.writer(15 * 1024 * 1024).unwrap();
        let mut ids = Vec::new();
        for (url, source, title, body, fetched_at) in docs {
            let doc = document(url, source, title, body, *fetched_at);
            ids.push(doc.document.id.clone());
            self.index.upsert(&writer, &doc, &mut self.pending).unwrap();
        }
        writer.commit().unwrap();
        self.index.reload().unwrap();
        self.pending = PendingPrints::default();
        ids
    }

    /// Indexes documents (url, source, title, body, fetched at) and judges the commit.
    async fn commit(
        &mut self,
        docs: &[(&str, &str, &str, &str, DateTime<Utc>)],
        now: DateTime<Utc>,
    ) {
        let ids = self.index_only(docs);
        self.evaluator
            .on_commit(&Committed::new(ids), now)
            .await
            .unwrap();
    }

    /// The alerts raised since the last look.
    async fn raised(&mut self) -> Vec<Alert> {
        let mut raised = Vec::new();
        while let Ok(Ok(Some(received))) =
            tokio::time::timeout(std::time::Duration::from_millis(50), self.alerts.recv()).await
        {
            self.alerts.commit(&received.delivery).await.unwrap();
            raised.push(received.message);
        }
        raised
    }
}

fn document(
    url: &str,
    source: &str,
    title: &str,
    body: &str,
    fetched_at: DateTime<Utc>,
) -> AnalyzedDocument {
    let drowning = title.contains("溺水") || body.contains("溺水");
    AnalyzedDocument {
        document: RawDocument {
            id: yuqing_model::doc_id(url).unwrap(),
            url: url.into(),
            source: source.into(),
            origin: None,
            author: None,
            title: title.into(),
            content: body.into(),
            published_at: None,
            fetched_at,
            charset: "UTF-8".into(),
            ..Default::default()
        },
        analysis: Analysis {
            topics: if drowning {
                vec![TopicTag {
                    name: "防溺水".into(),
                    score: 2.0,
                    matches: vec![],
                    rule: Default::default(),
                }]
            } else {
                vec![]
            },
            sentiment: SentimentTag {
                label: Sentiment::Negative,
                score: -0.5,
                matches: vec![],
                official_report: false,
            },
            regions: vec![],
            schools: vec![],
            // What the analyzer recognises as a pupil's name in these test stories.
            minors: ["王小明"]
                .iter()
                .filter(|n| title.contains(*n) || body.contains(*n))
                .map(|&n| n.into())
                .collect(),
            risk: RiskTag {
                level: if drowning {
                    RiskLevel::High
                } else {
                    RiskLevel::Low
                },
                score: 0.7,
                explanation: String::new(),
            },
        },
    }
}

/// A story's body: reprints of one story share it, so they form one cluster.
fn story(n: usize) -> String {
    format!(
        "第{n}起事件。孟州市某镇两名初中生放学后结伴到河边玩耍，一人不慎落水溺水。\n附近村民赶到现场救起一名学生，另一名经打捞上岸后送医。\n教育部门提醒家长看护好孩子，切勿私自下水游泳，第{n}次提醒。"
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_alert_per_story_and_a_follow_up_when_it_spreads() {
    let mut world = World::new(vec![rule(
        "name = \"溺水\"\nquery = \"topic:防溺水\"\nspread_steps = [3]\n",
    )]);
    let now = at("2026-11-29T10:00:00+08:00");
    let body = story(1);
    world
        .commit(
            &[("http://a.example/1", "甲", "两名初中生溺水", &body, now)],
            now,
        )
        .await;
    let first = world.raised().await;
    assert_eq!(first.len(), 1);
    assert_eq!(first[0].kind, AlertKind::Story);
    assert_eq!(first[0].severity, RiskLevel::High, "the story's risk level");
    // A reprint: no new alert until the story reaches three documents.
    world
        .commit(
            &[(
                "http://b.example/1",
                "乙",
                "转载：两名初中生溺水",
                &body,
                now,
            )],
            now,
        )
        .await;
    assert!(world.raised().await.is_empty());
    world
        .commit(
            &[(
                "http://c.example/1",
                "丙",
                "又一转载：两名初中生溺水",
                &body,
                now,
            )],
            now,
        )
        .await;
    let follow_up = world.raised().await;
    assert_eq!(follow_up.len(), 1, "{follow_up:?}");
    assert_eq!(follow_up[0].kind, AlertKind::FollowUp);
    assert_eq!(follow_up[0].cluster_size, 3);
    assert_eq!(follow_up[0].cluster, first[0].cluster);
    world
        .commit(&[("http://d.example/1", "丁", "再转载", &body, now)], now)
        .await;
    assert!(world.raised().await.is_empty(), "each step once");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn new_story_mode_ignores_reprints_of_a_story_seen_before_the_rule_matched() {
    let mut world = World::new(vec![rule(
        "name = \"新事件\"\nquery = \"溺水 -转载\"\nmode = \"new_story\"\n",
    )]);
    let now = at("2026-11-29T10:00:00+08:00");
    let body = story(2);
    // The story's first document does not match (it says 转载); a later reprint does.
    world
        .commit(
            &[("http://a.example/2", "甲", "转载一则消息", &body, now)],
            now,
        )
        .await;
    world
        .commit(
            &[("http://b.example/2", "乙", "初中生溺水", &body, now)],
            now,
        )
        .await;
    assert!(world.raised().await.is_empty(), "not a new story");
    world
        .commit(
            &[("http://c.example/3", "丙", "另一起溺水", &story(3), now)],
            now,
        )
        .await;
    assert_eq!(world.raised().await.len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_threshold_counts_the_window_and_waits_out_its_realert_period() {
    let mut world = World::new(vec![rule(
        "name = \"多源报道\"\nquery = \"溺水\"\nmode = \"threshold\"\nwindow_minutes = 60\nmin_sources = 3\nrealert_minutes = 120\n",
    )]);
    let now = at("2026-11-29T10:00:00+08:00");
    let old = now - Duration::hours(3);
    // Two sources within the hour, one long before: not yet.
    world
        .commit(
            &[
                ("http://a.example/t1", "甲", "溺水一", &story(11), old),
                ("http://b.example/t2", "乙", "溺水二", &story(12), now),
                ("http://c.example/t3", "丙", "溺水三", &story(13), now),
            ],
            now,
        )
        .await;
    assert!(world.raised().await.is_empty());
    world
        .commit(
            &[("http://d.example/t4", "丁", "溺水四", &story(14), now)],
            now,
        )
        .await;
    let raised = world.raised().await;
    assert_eq!(raised.len(), 1);
    let alert = &raised[0];
    assert_eq!(alert.kind, AlertKind::Threshold);
    assert_eq!((alert.count, alert.sources), (3, 3));
    assert_eq!(alert.items.len(), 3);
    assert!(
        alert
            .title
            .contains("60 分钟内 3 篇相关报道，来自 3 个来源"),
        "{}",
        alert.title
    );
    // More in the next hour: within the re-alert period, nothing; after it, again.
    let later = now + Duration::minutes(90);
    world
        .commit(
            &[("http://e.example/t5", "戊", "溺水五", &story(15), later)],
            later,
        )
        .await;
    assert!(world.raised().await.is_empty());
    let much_later = now + Duration::minutes(150);
    world
        .commit(
            &[
                (
                    "http://f.example/t6",
                    "己",
                    "溺水六",
                    &story(16),
                    much_later,
                ),
                (
                    "http://g.example/t7",
                    "庚",
                    "溺水七",
                    &story(17),
                    much_later,
                ),
            ],
            much_later,
        )
        .await;
    assert_eq!(world.raised().await.len(), 1);
    assert_eq!(
        world.outbox.last_raised("多源报道").unwrap(),
        Some(much_later)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_spike_is_measured_against_the_preceding_days() {
    let mut world = World::new(vec![rule(
        "name = \"突增\"\nquery = \"溺水\"\nmode = \"spike\"\nwindow_minutes = 60\nbaseline_days = 2\nspike_ratio = 3\nmin_count = 3\n",
    )]);
    let now = at("2026-11-29T10:00:00+08:00");
    // A steady 2 a day over the two days before: 4 in 48 windows.
    let baseline: Vec<(String, DateTime<Utc>)> = (0..4)
        .map(|k| {
            (
                format!("http://base.example/{k}"),
                now - Duration::hours(6 + 10 * k),
            )
        })
        .collect();
    let bodies: Vec<String> = (0..4).map(|k| story(100 + k)).collect();
    let docs: Vec<(&str, &str, &str, &str, DateTime<Utc>)> = baseline
        .iter()
        .zip(&bodies)
        .map(|((url, t), body)| (url.as_str(), "甲", "溺水旧闻", body.as_str(), *t))
        .collect();
    world.commit(&docs, now - Duration::hours(5)).await;
    assert!(
        world.raised().await.is_empty(),
        "no spike in the window yet"
    );
    let fresh: Vec<String> = (0..3).map(|k| story(200 + k)).collect();
    world
        .commit(
            &[
                ("http://n.example/1", "乙", "溺水一", &fresh[0], now),
                ("http://n.example/2", "丙", "溺水二", &fresh[1], now),
            ],
            now,
        )
        .await;
    assert!(world.raised().await.is_empty(), "below min_count");
    world
        .commit(
            &[("http://n.example/3", "丁", "溺水三", &fresh[2], now)],
            now,
        )
        .await;
    let raised = world.raised().await;
    assert_eq!(raised.len(), 1);
    assert_eq!(raised[0].kind, AlertKind::Spike);
    assert!(
        raised[0].title.contains("前 2 天同期平均 0.1 篇"),
        "{}",
        raised[0].title
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn quiet_hours_let_only_high_severity_through_and_summarise_the_rest() {
    let mut world = World::new(vec![
        rule(
            "name = \"夜间\"\nquery = \"溺水\"\nseverity = \"中\"\nquiet_hours = \"22:00-07:00\"\n",
        ),
        rule(
            "name = \"紧急\"\nquery = \"溺水\"\nseverity = \"高\"\nquiet_hours = \"22:00-07:00\"\n",
        ),
    ]);
    let night = at("2026-11-29T23:30:00+08:00");
    world
        .commit(
            &[("http://a.example/q1", "甲", "夜间溺水", &story(31), night)],
            night,
        )
        .await;
    world
        .commit(
            &[("http://b.example/q2", "乙", "又一起溺水", &story(32), night)],
            night,
        )
        .await;
    let raised = world.raised().await;
    assert_eq!(raised.len(), 2, "only the 高 rule's alerts: {raised:?}");
    assert!(raised.iter().all(|a| a.rule == "紧急"));
    world
        .evaluator
        .on_tick(at("2026-11-30T06:59:00+08:00"))
        .await
        .unwrap();
    assert!(world.raised().await.is_empty(), "still quiet");
    world
        .evaluator
        .on_tick(at("2026-11-30T07:00:30+08:00"))
        .await
        .unwrap();
    let summary = world.raised().await;
    assert_eq!(summary.len(), 1);
    assert_eq!(summary[0].kind, AlertKind::QuietSummary);
    assert_eq!(summary[0].rule, "夜间");
    assert_eq!(summary[0].items.len(), 2);
    assert!(summary[0].items[0].title.contains("夜间溺水"));
    world
        .evaluator
        .on_tick(at("2026-11-30T08:00:00+08:00"))
        .await
        .unwrap();
    assert!(world.raised().await.is_empty(), "summarised once");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_digest_collects_the_days_stories_and_sends_them_at_its_time() {
    let mut world = World::new(vec![rule(
        "name = \"日报\"\nquery = \"溺水\"\nmode = \"digest\"\ndigest_at = \"08:00\"\n",
    )]);
    let morning = at("2026-11-29T09:00:00+08:00");
    let body = story(41);
    world
        .commit(
            &[("http://a.example/d1", "甲", "白天溺水", &body, morning)],
            morning,
        )
        .await;
    world
        .commit(
            &[(
                "http://b.example/d1",
                "乙",
                "白天溺水（转载）",
                &body,
                morning,
            )],
            morning,
        )
        .await;
    world
        .commit(
            &[("http://c.example/d2", "丙", "傍晚溺水", &story(42), morning)],
            morning,
        )
        .await;
    assert!(
        world.raised().await.is_empty(),
        "a digest sends nothing per story"
    );
    world
        .evaluator
        .on_tick(at("2026-11-30T07:59:00+08:00"))
        .await
        .unwrap();
    assert!(world.raised().await.is_empty());
    world
        .evaluator
        .on_tick(at("2026-11-30T08:00:10+08:00"))
        .await
        .unwrap();
    let digest = world.raised().await;
    assert_eq!(digest.len(), 1);
    assert_eq!(digest[0].kind, AlertKind::Digest);
    assert_eq!(digest[0].count, 2, "two stories, the reprint folded in");
    assert!(
        digest[0].title.starts_with("2026-11-30 汇总：2 个事件"),
        "{}",
        digest[0].title
    );
    let text = yuqing_alerts::alert_text(&digest[0]);
    assert!(
        text.starts_with("【每日汇总】日报（中级）\n概况："),
        "{text}"
    );
    assert!(
        text.contains("1. 白天溺水（甲）http://a.example/d1"),
        "{text}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pupils_names_are_masked_in_the_alert() {
    let mut world = World::new(vec![rule("name = \"溺水\"\nquery = \"溺水\"\n")]);
    let now = at("2026-11-29T10:00:00+08:00");
    let body = format!("{}初中生王小明的家长已赶到。", story(51));
    world
        .commit(
            &[("http://a.example/m1", "甲", "初中生王小明溺水", &body, now)],
            now,
        )
        .await;
    let raised = world.raised().await;
    assert_eq!(raised[0].title, "初中生王某某溺水");
    assert!(
        !raised[0].snippet.contains("王小明"),
        "{}",
        raised[0].snippet
    );
}

/// The evaluator stored a commit's ids (so the indexer let the bus forget them) and then
/// the process died before judging them: the next start judges them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn documents_a_crash_left_unjudged_are_judged_at_the_next_start() {
    let rules = vec![rule("name = \"溺水\"\nquery = \"溺水\"\n")];
    let mut world = World::new(rules.clone());
    let now = at("2026-11-29T10:00:00+08:00");
    let ids = world.index_only(&[("http://a.example/u1", "甲", "溺水事件", &story(61), now)]);
    world.outbox.remember_unjudged(&ids).unwrap();
    assert!(world.raised().await.is_empty());

    // The next start, with no new commits at all.
    let bus = EmbeddedBus::new(100);
    let output: Producer<Alert> = Producer::new(&bus, "alerts").unwrap();
    let mut alerts: Consumer<Alert> = Consumer::new(&bus, "alerts", "test", "dead").unwrap();
    let (commits_tx, commits) = tokio::sync::mpsc::channel(1);
    drop(commits_tx);
    yuqing_alerts::run_evaluator(
        world.index.clone(),
        RuleBook::fixed(rules),
        world.outbox.clone(),
        commits,
        output,
        yuqing_alerts::EvaluatorLinks {
            replay_unstored: false,
            judged: None,
            health: std::sync::Arc::default(),
        },
    )
    .await
    .unwrap();
    let raised = alerts.recv().await.unwrap().unwrap().message;
    assert_eq!(raised.title, "溺水事件");
    assert!(world.outbox.unjudged().unwrap().is_empty(), "judged once");
}
