//! Judges each index commit's documents against the rules and raises alerts.
//!
//! A rule runs over the documents a commit added (so a document that arrives late, with
//! an old publish time, is still judged), with the same query engine as the desk's
//! search. Story modes raise one alert per story (reprint cluster) and a follow-up when
//! it spreads past a step; threshold and spike rules count the window with the same
//! query. Digests and quiet hours collect stories and send them at their time, from a
//! periodic tick.
//!
//! Raising is publish-then-mark: a crash in between raises the alert again with the same
//! id, and the notifier's outbox takes it only once.

use crate::rulebook::RuleBook;
use crate::rules::{AlertRule, Mode};
use crate::store::evaluator_state::Purpose;
use crate::{AlertError, AlertStore};
use chrono::{DateTime, Duration, NaiveDate, Utc};
use std::sync::Arc;
use tokio::sync::mpsc;
use yuqing_bus::Producer;
use yuqing_indexer::{
    Committed, Interval, SearchHit, SearchIndex, SearchRequest, SearchResults, Sort,
};
use yuqing_model::health::Health;
use yuqing_model::{beijing, Alert, AlertItem, AlertKind, RiskLevel, Sentiment};

/// How often digests and quiet-hour summaries are checked for being due.
const TICK: std::time::Duration = std::time::Duration::from_secs(20);
/// Stories listed in an aggregate alert.
const LISTED: usize = 10;

pub struct Evaluator {
    index: SearchIndex,
    /// Read at every commit and tick: rules edited while running apply at once.
    book: Arc<RuleBook>,
    outbox: Arc<AlertStore>,
    output: Producer<Alert>,
}

impl Evaluator {
    pub fn new(
        index: SearchIndex,
        book: Arc<RuleBook>,
        outbox: Arc<AlertStore>,
        output: Producer<Alert>,
    ) -> Self {
        Evaluator {
            index,
            book,
            outbox,
            output,
        }
    }

    fn search(
        &self,
        rule: &AlertRule,
        request: SearchRequest,
    ) -> Result<SearchResults, AlertError> {
        tokio::task::block_in_place(|| self.index.search(&request)).map_err(|source| {
            AlertError::Rule {
                rule: rule.name.clone(),
                source,
            }
        })
    }

    /// Judges the documents of one commit.
    pub async fn on_commit(
        &self,
        committed: &Committed,
        now: DateTime<Utc>,
    ) -> Result<(), AlertError> {
        for rule in self.book.rules().iter().filter(|r| r.enabled) {
            let matching = self.search(
                rule,
                SearchRequest {
                    query: rule.query.clone(),
                    limit: committed.ids.len(),
                    among_ids: Some(committed.ids.clone()),
                    ..SearchRequest::default()
                },
            )?;
            if matching.hits.is_empty() {
                continue;
            }
            match rule.mode {
                Mode::Every | Mode::NewStory => {
                    for hit in matching.hits {
                        self.judge_story(rule, hit, now).await?;
                    }
                }
                Mode::Digest => {
                    let period = digest_period(rule, now);
                    for hit in &matching.hits {
                        self.outbox.collect(
                            &rule.name,
                            Purpose::Digest,
                            &period,
                            &hit.cluster,
                            &item(hit),
                        )?;
                    }
                }
                Mode::Threshold | Mode::Spike => self.judge_window(rule, now).await?,
            }
        }
        Ok(())
    }

    async fn judge_story(
        &self,
        rule: &AlertRule,
        hit: SearchHit,
        now: DateTime<Utc>,
    ) -> Result<(), AlertError> {
        let id = Alert::id_for(&rule.name, &hit.cluster);
        let reached = rule
            .spread_steps
            .iter()
            .copied()
            .filter(|step| *step <= hit.cluster_size)
            .max()
            .unwrap_or(0);
        if !self.outbox.was_raised(&id)? {
            // A new story is one whose first document is this one.
            if rule.mode == Mode::NewStory && hit.cluster != hit.id {
                return Ok(());
            }
            let cluster = hit.cluster.clone();
            let snippet = hit.snippet.clone();
            let mut alert = story_alert(rule, id, hit, AlertKind::Story, now);
            self.enrich(&mut alert, &snippet);
            self.raise(rule, alert, now).await?;
            // Spread reached before the first alert needs no follow-up.
            self.outbox.set_story_step(&rule.name, &cluster, reached)?;
        } else if reached > self.outbox.story_step(&rule.name, &hit.cluster)? {
            let id = Alert::id_for(&rule.name, &format!("{}#spread{reached}", hit.cluster));
            let cluster = hit.cluster.clone();
            let snippet = hit.snippet.clone();
            let mut alert = story_alert(rule, id, hit, AlertKind::FollowUp, now);
            self.enrich(&mut alert, &snippet);
            self.raise(rule, alert, now).await?;
            self.outbox.set_story_step(&rule.name, &cluster, reached)?;
        }
        Ok(())
    }

    /// Adds what the stored document knows: the words that made the story match (those
    /// the search marked, then the words its topics fired on: a rule like `topic:防溺水`
    /// marks none in the text), its schools' districts and responsible offices from the
    /// school registry, by which the alert is routed; and masks the pupils' names the
    /// analyzer recognised.
    fn enrich(&self, alert: &mut Alert, snippet: &str) {
        let mut words = marked_words(snippet);
        let stored = tokio::task::block_in_place(|| self.index.document(&alert.doc_id));
        if let Ok(Some((doc, _))) = stored {
            let topics = doc
                .analysis
                .topics
                .iter()
                .filter(|t| alert.topics.iter().any(|name| *name == t.name));
            for m in topics.flat_map(|t| &t.matches) {
                if !words.iter().any(|w| *w == m.term) {
                    words.push(m.term.to_string());
                }
            }
            // Pupils' names never go on the bus: messages show 王某某.
            crate::mask::mask_alert(alert, &doc.analysis.minors);
            for school in &doc.analysis.schools {
                if let Some(district) = &school.district {
                    if !alert.districts.iter().any(|d| d == district) {
                        alert.districts.push(district.to_string());
                    }
                }
                if let Some(office) = &school.office {
                    if !alert.offices.iter().any(|o| o == office) {
                        alert.offices.push(office.to_string());
                    }
                }
            }
        }
        words.truncate(12);
        alert.matched = words;
    }

    /// Threshold and spike: counts the rule's documents fetched in the window.
    async fn judge_window(&self, rule: &AlertRule, now: DateTime<Utc>) -> Result<(), AlertError> {
        let realert = Duration::minutes(rule.realert_minutes as i64);
        if let Some(last) = self.outbox.last_raised(&rule.name)? {
            if now - last < realert {
                return Ok(());
            }
        }
        let window = Duration::minutes(rule.window_minutes as i64);
        let start = now - window;
        let in_window = self.search(
            rule,
            SearchRequest {
                query: rule.query.clone(),
                limit: LISTED,
                sort: Sort::Risk,
                facets: Some(Interval::Hour),
                collapse: true,
                fetched_within: Some((start, now + Duration::seconds(1))),
                ..SearchRequest::default()
            },
        )?;
        let count = in_window.total;
        let sources = in_window.facets.as_ref().map_or(0, |f| f.source.len());
        let title = match rule.mode {
            Mode::Threshold => {
                let enough_documents = rule.min_documents.is_some_and(|n| count >= n);
                let enough_sources = rule.min_sources.is_some_and(|n| sources >= n);
                if !(enough_documents || enough_sources) {
                    return Ok(());
                }
                format!(
                    "{} 分钟内 {count} 篇相关报道，来自 {sources} 个来源",
                    rule.window_minutes
                )
            }
            Mode::Spike => {
                let baseline = self
                    .search(
                        rule,
                        SearchRequest {
                            query: rule.query.clone(),
                            limit: 1,
                            fetched_within: Some((
                                start - Duration::days(rule.baseline_days.into()),
                                start,
                            )),
                            ..SearchRequest::default()
                        },
                    )?
                    .total;
                let windows = f64::from(rule.baseline_days) * 1440.0 / rule.window_minutes as f64;
                let per_window = baseline as f64 / windows;
                if count < rule.min_count || (count as f64) < rule.spike_ratio * per_window {
                    return Ok(());
                }
                format!(
                    "{} 分钟内 {count} 篇相关报道，前 {} 天同期平均 {per_window:.1} 篇",
                    rule.window_minutes, rule.baseline_days
                )
            }
            _ => return Ok(()),
        };
        // The same id for the same realert period: a crash and redo raises it once.
        let period = now.timestamp() / (rule.realert_minutes.max(1) as i64 * 60);
        let kind = if rule.mode == Mode::Spike {
            AlertKind::Spike
        } else {
            AlertKind::Threshold
        };
        let id = Alert::id_for(&rule.name, &format!("{kind:?}@{period}"));
        let mut alert = aggregate_alert(
            rule,
            id,
            kind,
            title,
            now,
            in_window.hits.iter().map(item).collect(),
        );
        alert.count = count;
        alert.sources = sources;
        if let Some(first) = in_window.hits.first() {
            alert.doc_id = first.id.clone();
            alert.url = first.url.clone();
        }
        self.raise(rule, alert, now).await?;
        self.outbox.set_last_raised(&rule.name, now)?;
        Ok(())
    }

    /// Publishes an alert, or holds it for the summary when the rule's quiet hours are on
    /// and it is not 高.
    async fn raise(
        &self,
        rule: &AlertRule,
        alert: Alert,
        now: DateTime<Utc>,
    ) -> Result<(), AlertError> {
        if let Some(quiet) = rule.quiet_hours() {
            if quiet.contains(now) && alert.severity < RiskLevel::High {
                let period = quiet.end_after(now).to_rfc3339();
                let held = AlertItem {
                    title: format!("［{}］{}", alert.kind.zh(), alert.title),
                    url: alert.url.clone(),
                    source: alert.source.clone(),
                };
                self.outbox
                    .collect(&rule.name, Purpose::Quiet, &period, &alert.id, &held)?;
                self.outbox
                    .mark_raised(&alert.id, &alert.rule, &alert.doc_id, None)?;
                tracing::info!(rule = %alert.rule, title = %alert.title, until = %period, "alert held for quiet hours");
                return Ok(());
            }
        }
        self.output.send(&alert).await?;
        self.outbox
            .mark_raised(&alert.id, &alert.rule, &alert.doc_id, Some(&alert))?;
        tracing::info!(rule = %alert.rule, kind = ?alert.kind, title = %alert.title, "alert raised");
        Ok(())
    }

    /// Publishes again the alerts a crash lost between the evaluator and the notifier;
    /// the notifier takes each alert once, so one stored after all changes nothing.
    pub async fn replay_unstored(&self) -> Result<usize, AlertError> {
        let lost = self.outbox.unstored_alerts()?;
        for alert in &lost {
            self.output.send(alert).await?;
        }
        if !lost.is_empty() {
            tracing::warn!(
                alerts = lost.len(),
                "alerts raised before a crash and never stored by the notifier are sent again"
            );
        }
        Ok(lost.len())
    }

    /// Sends the digests and quiet-hour summaries that are due.
    pub async fn on_tick(&self, now: DateTime<Utc>) -> Result<(), AlertError> {
        for rule in self.book.rules().iter().filter(|r| r.enabled) {
            for (period, items) in self.outbox.collected(&rule.name, Purpose::Quiet)? {
                let Ok(end) = DateTime::parse_from_rfc3339(&period) else {
                    continue;
                };
                if now < end {
                    continue;
                }
                let id = Alert::id_for(&rule.name, &format!("quiet@{period}"));
                let title = format!("静默时段内的 {} 条预警", items.len());
                let mut alert =
                    aggregate_alert(rule, id, AlertKind::QuietSummary, title, now, items);
                alert.count = alert.items.len();
                self.send_once(&alert).await?;
                self.outbox
                    .mark_collected_sent(&rule.name, Purpose::Quiet, &period)?;
            }
            if rule.mode != Mode::Digest {
                continue;
            }
            let Some(at) = rule.digest_time() else {
                continue;
            };
            for (period, items) in self.outbox.collected(&rule.name, Purpose::Digest)? {
                let Ok(day) = NaiveDate::parse_from_str(&period, "%Y-%m-%d") else {
                    continue;
                };
                let due = day
                    .and_time(at)
                    .and_local_timezone(beijing())
                    .single()
                    .map(|t| t.with_timezone(&Utc));
                if due.is_none_or(|due| now < due) {
                    continue;
                }
                let id = Alert::id_for(&rule.name, &format!("digest@{period}"));
                let title = format!("{period} 汇总：{} 个事件", items.len());
                let mut alert = aggregate_alert(rule, id, AlertKind::Digest, title, now, items);
                alert.count = alert.items.len();
                self.send_once(&alert).await?;
                self.outbox
                    .mark_collected_sent(&rule.name, Purpose::Digest, &period)?;
            }
        }
        Ok(())
    }

    async fn send_once(&self, alert: &Alert) -> Result<(), AlertError> {
        if !self.outbox.was_raised(&alert.id)? {
            self.output.send(alert).await?;
            self.outbox
                .mark_raised(&alert.id, &alert.rule, &alert.doc_id, Some(alert))?;
            tracing::info!(rule = %alert.rule, kind = ?alert.kind, title = %alert.title, "alert raised");
        }
        Ok(())
    }
}

/// The Beijing date whose digest a story found now belongs to: today's if today's
/// digest time is still ahead, else tomorrow's.
fn digest_period(rule: &AlertRule, now: DateTime<Utc>) -> String {
    let local = now.with_timezone(&beijing());
    let at = rule.digest_time().unwrap_or_default();
    let day = if local.time() < at {
        local.date_naive()
    } else {
        local.date_naive() + Duration::days(1)
    };
    day.format("%Y-%m-%d").to_string()
}

fn item(hit: &SearchHit) -> AlertItem {
    AlertItem {
        title: hit.title.clone(),
        url: hit.url.clone(),
        source: hit.source.clone(),
    }
}

/// The words the snippet marks (`<mark>…</mark>`), unescaped, each once.
fn marked_words(snippet: &str) -> Vec<String> {
    let mut words: Vec<String> = Vec::new();
    for part in snippet.split("<mark>").skip(1) {
        let Some((word, _)) = part.split_once("</mark>") else {
            continue;
        };
        let word = word
            .replace("&lt;", "<")
            .replace("&gt;", ">")
            .replace("&quot;", "\"")
            .replace("&#39;", "'")
            .replace("&amp;", "&");
        if !word.is_empty() && !words.contains(&word) {
            words.push(word);
        }
    }
    words
}

fn story_alert(
    rule: &AlertRule,
    id: String,
    hit: SearchHit,
    kind: AlertKind,
    now: DateTime<Utc>,
) -> Alert {
    let risk = RiskLevel::parse(&hit.risk);
    let severity = rule.severity().or(risk).unwrap_or(RiskLevel::Medium);
    let snippet = hit.snippet_text();
    Alert {
        id,
        rule: rule.name.clone(),
        query: rule.query.clone(),
        matched: Vec::new(),
        doc_id: hit.id,
        title: hit.title,
        url: hit.url,
        source: hit.source,
        published_at: hit.published_at,
        topics: hit.topics,
        sentiment: Sentiment::parse(&hit.sentiment).unwrap_or(Sentiment::Neutral),
        snippet,
        raised_at: now,
        cluster: hit.cluster,
        cluster_size: hit.cluster_size,
        kind,
        severity,
        risk,
        districts: hit.districts,
        schools: hit.schools,
        offices: vec![],
        count: 0,
        sources: 0,
        items: Vec::new(),
    }
}

fn aggregate_alert(
    rule: &AlertRule,
    id: String,
    kind: AlertKind,
    title: String,
    now: DateTime<Utc>,
    items: Vec<AlertItem>,
) -> Alert {
    Alert {
        id,
        rule: rule.name.clone(),
        query: rule.query.clone(),
        doc_id: String::new(),
        title,
        url: String::new(),
        source: String::new(),
        published_at: None,
        topics: Vec::new(),
        sentiment: Sentiment::Neutral,
        snippet: String::new(),
        raised_at: now,
        cluster: String::new(),
        cluster_size: 0,
        kind,
        severity: rule.severity().unwrap_or(RiskLevel::Medium),
        risk: None,
        districts: Vec::new(),
        schools: Vec::new(),
        offices: vec![],
        matched: Vec::new(),
        count: 0,
        sources: 0,
        items,
    }
}

/// How [`run_evaluator`] is linked into its process.
pub struct EvaluatorLinks {
    /// The embedded bus keeps nothing through a crash: first publish again the alerts
    /// raised before one that the notifier never stored.
    pub replay_unstored: bool,
    /// Each commit, once judged, is passed here (the crawler's seen-store confirms its
    /// pages then).
    pub judged: Option<mpsc::Sender<Committed>>,
    pub health: Arc<Health>,
}

/// The evaluator's name in the process's [`Health`].
pub const EVALUATOR_STAGE: &str = "evaluator";

/// Judges each commit's documents against the rules and publishes new alerts, and sends
/// digests and quiet-hour summaries when they are due.
///
/// A fault of the state database (a full disk) stops nothing: the commit in hand is
/// held and judged again until its judgement is stored (alerts are raised once per rule
/// and story, so judging again raises nothing twice), and the stage shows as retrying.
pub async fn run_evaluator(
    index: SearchIndex,
    book: Arc<RuleBook>,
    outbox: Arc<AlertStore>,
    mut commits: mpsc::Receiver<Committed>,
    output: Producer<Alert>,
    links: EvaluatorLinks,
) -> Result<(), AlertError> {
    const STAGE: &str = EVALUATOR_STAGE;
    let EvaluatorLinks {
        replay_unstored,
        judged,
        health,
    } = links;
    health.running(STAGE);
    let storage = AlertError::is_storage;
    let evaluator = Evaluator::new(index, book, outbox.clone(), output);
    if replay_unstored {
        health
            .retry_if(
                STAGE,
                "replay alerts",
                || evaluator.replay_unstored(),
                storage,
            )
            .await?;
    }
    // Documents a crash left unjudged are judged first (alerts are raised once per rule
    // and story, so judging one twice changes nothing).
    let unjudged = health
        .retry(STAGE, "read unjudged documents", || async {
            outbox.unjudged()
        })
        .await;
    if !unjudged.is_empty() {
        tracing::info!(
            documents = unjudged.len(),
            "judging documents a crash left unjudged"
        );
        for chunk in unjudged.chunks(1000) {
            let committed = Committed::new(chunk.to_vec());
            judge(&health, &evaluator, &outbox, &committed).await?;
        }
    }
    // Taking a commit (storing its ids) is apart from judging it: the indexer waits only
    // for the ids to be stored, never for the rules (which may wait on a slow bus).
    let (queue_tx, mut queue) = mpsc::unbounded_channel::<Committed>();
    let (intake_store, intake_health) = (outbox.clone(), health.clone());
    tokio::spawn(async move {
        while let Some(mut committed) = commits.recv().await {
            let ids = committed.ids.clone();
            intake_health
                .retry(STAGE, "note a commit as unjudged", || {
                    let (store, ids) = (intake_store.clone(), ids.clone());
                    async move {
                        tokio::task::spawn_blocking(move || store.remember_unjudged(&ids))
                            .await
                            .map_err(|panic| panic.to_string())?
                            .map_err(|error| error.to_string())
                    }
                })
                .await;
            if let Some(stored) = committed.stored.take() {
                let _ = stored.send(());
            }
            if queue_tx.send(committed).is_err() {
                break;
            }
        }
    });
    let mut tick = tokio::time::interval(TICK);
    loop {
        tokio::select! {
            committed = queue.recv() => {
                let Some(committed) = committed else { break };
                judge(&health, &evaluator, &outbox, &committed).await?;
                // Only now may the pages count as done: a crash before this point has
                // them fetched, indexed and judged again.
                if let Some(judged) = &judged {
                    let _ = judged.send(committed).await;
                }
            }
            _ = tick.tick() => {
                match evaluator.on_tick(Utc::now()).await {
                    Err(error) if !error.is_storage() => return Err(error),
                    outcome => {
                        health.note(STAGE, "send digests and summaries", outcome);
                    }
                }
            }
        }
    }
    Ok(())
}

/// Judges one commit and forgets it as unjudged, trying again while the state database
/// fails.
async fn judge(
    health: &Health,
    evaluator: &Evaluator,
    outbox: &AlertStore,
    committed: &Committed,
) -> Result<(), AlertError> {
    health
        .retry_if(
            EVALUATOR_STAGE,
            "judge a commit",
            || async {
                evaluator.on_commit(committed, Utc::now()).await?;
                outbox.forget_unjudged(&committed.ids)?;
                Ok(())
            },
            AlertError::is_storage,
        )
        .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn marked_words_are_read_from_the_snippet() {
        assert_eq!(
            marked_words("两名<mark>学生</mark>在河边<mark>溺水</mark>，<mark>学生</mark>&lt;"),
            ["学生", "溺水"]
        );
        assert_eq!(marked_words("<mark>a&amp;b</mark>"), ["a&b"]);
    }
}
