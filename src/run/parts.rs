//! What each stage of a process needs, opened and checked before anything starts. The
//! role decides at construction which stages' parts exist; a stage's part holds all it
//! needs, so nothing is looked for later.

use super::{DataDir, Role};
use crate::config::{Config, Transport};
use anyhow::Context;
use std::sync::Arc;
use std::time::Duration;
use yuqing_alerts::{AlertStore, RuleBook};
use yuqing_analyzer::LiveAnalyzer;
use yuqing_crawler::SeenStore;
use yuqing_indexer::SearchIndex;

/// Loads the analyzer (rules and dictionaries) and opens the index with its segmentation.
///
/// The index keeps the segmentation it was opened with even when the rules reload: its
/// words and the words of queries must come from one dictionary. New dictionary words
/// reach the index at the next start (and `yuqing reanalyze` re-tags what is there).
pub fn open_index(
    config: &Config,
    data: &DataDir,
    create: bool,
) -> anyhow::Result<(Arc<LiveAnalyzer>, SearchIndex)> {
    let analyzer = LiveAnalyzer::load(config.analyzer.clone())?;
    let segmenter = analyzer.current().segmenter();
    let index = if create {
        SearchIndex::open_or_create(&data.index(), segmenter)?
    } else {
        SearchIndex::open(&data.index(), segmenter)?
    };
    Ok((analyzer, index))
}

/// The alert rules in force: the configuration's and the rules file's, which is watched
/// for changes. Queries are checked where the index is (a notifier-only process takes
/// them as the indexer checked them).
pub fn load_rule_book(
    config: &Config,
    index: Option<&SearchIndex>,
) -> anyhow::Result<Arc<RuleBook>> {
    let rules = config.alert_rules();
    if let Some(index) = index {
        for (rule, spanned) in rules.iter().zip(&config.alerts) {
            yuqing_alerts::validate_rules(index, std::slice::from_ref(rule))
                .map_err(|e| config.error_at(spanned.span().start, e.to_string()))?;
        }
    }
    let check_query: yuqing_alerts::QueryCheck = match index {
        Some(index) => {
            let index = index.clone();
            Box::new(move |query: &str| {
                index
                    .search(&yuqing_indexer::SearchRequest {
                        query: query.to_string(),
                        limit: 1,
                        among_ids: Some(Vec::new()),
                        ..Default::default()
                    })
                    .map(|_| ())
                    .map_err(|e| e.to_string())
            })
        }
        None => Box::new(|_: &str| Ok(())),
    };
    let book = RuleBook::load(
        rules,
        config.alert_settings.rules_file.clone(),
        config.channel_names(),
        check_query,
        config.alert_guard(),
    )
    .map_err(|e| anyhow::anyhow!("alert rules: {e}"))?;
    if config.alert_settings.rules_file.is_some() {
        // Ends with the process; an aborted check loses nothing.
        book.watch(Duration::from_secs(config.alert_settings.reload_secs));
    }
    Ok(book)
}

/// The indexer's part: the index, the analyzer whose segmentation it shares, and what
/// the alert evaluator and the desk beside it need.
pub struct IndexerPart {
    pub index: SearchIndex,
    pub analyzer: Arc<LiveAnalyzer>,
    pub alert_store: Arc<AlertStore>,
    pub rule_book: Arc<RuleBook>,
}

pub struct NotifierPart {
    pub alert_store: Arc<AlertStore>,
    pub rule_book: Arc<RuleBook>,
}

/// The parts of the stages this process runs; a stage that does not run has none.
pub struct Parts {
    pub crawler: Option<Arc<SeenStore>>,
    pub analyzer: Option<Arc<LiveAnalyzer>>,
    pub indexer: Option<IndexerPart>,
    pub notifier: Option<NotifierPart>,
}

impl Parts {
    /// Opens and checks the parts `role` needs: dictionaries and rules, the index, the
    /// state database, the alert queries. Nothing runs yet.
    pub fn open(
        config: &Config,
        data: &DataDir,
        role: Role,
        transport: Transport,
    ) -> anyhow::Result<Parts> {
        data.create()?;
        let state_error = || format!("cannot open state database {}", data.state_db().display());
        let (analyzer, index) = if role.runs(Role::Indexer) {
            let (analyzer, index) = open_index(config, data, true)?;
            (Some(analyzer), Some(index))
        } else if role.runs(Role::Analyzer) {
            (Some(LiveAnalyzer::load(config.analyzer.clone())?), None)
        } else {
            (None, None)
        };
        let alerts = if role.runs(Role::Indexer) || role.runs(Role::Notifier) {
            let book = load_rule_book(config, index.as_ref())?;
            let store = AlertStore::open(&data.state_db()).with_context(state_error)?;
            Some((Arc::new(store), book))
        } else {
            None
        };
        let crawler = if role.runs(Role::Crawler) {
            let seen = Arc::new(SeenStore::open(&data.state_db()).with_context(state_error)?);
            if transport == Transport::Embedded {
                // Documents that were in the channels when the last run died were never
                // indexed: fetch their pages again.
                let forgotten = seen.forget_unconfirmed()?;
                if forgotten > 0 {
                    tracing::info!(
                        pages = forgotten,
                        "refetching pages whose documents the last run did not index"
                    );
                }
            }
            Some(seen)
        } else {
            None
        };
        let indexer = match (index, &analyzer, &alerts) {
            (Some(index), Some(analyzer), Some((store, book))) => Some(IndexerPart {
                index,
                analyzer: analyzer.clone(),
                alert_store: store.clone(),
                rule_book: book.clone(),
            }),
            _ => None,
        };
        let notifier = match (role.runs(Role::Notifier), alerts) {
            (true, Some((alert_store, rule_book))) => Some(NotifierPart {
                alert_store,
                rule_book,
            }),
            _ => None,
        };
        Ok(Parts {
            crawler,
            analyzer: analyzer.filter(|_| role.runs(Role::Analyzer)),
            indexer,
            notifier,
        })
    }
}
