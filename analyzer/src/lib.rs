//! The analyzer stage: tags each crawled document with topics and sentiment, keeping the
//! evidence (matched words and offsets) for every tag.
//!
//! Analysis itself is plain synchronous code ([`Analyzer::analyze`]); [`run_stage`] is the
//! thin async loop that takes raw documents from the bus and hands analyzed ones on.

mod minors;
use minors::MinorNames;
mod places;
mod reload;
mod risk;
mod scheme;
mod segmented;
mod sentiment;
mod topics;
mod utf8;

pub(crate) use places::{Gazetteer, SchoolRegistry};
pub use reload::{LiveAnalyzer, ReloadStatus};
pub(crate) use risk::{RiskInputs, DEFAULT_SOURCE_WEIGHTS};
use segmented::Segmented;
pub(crate) use segmented::Vocabulary;
pub(crate) use sentiment::Lexicon;
pub(crate) use topics::{RuleFileError, TopicSet};

use serde::Deserialize;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tokio::task::JoinHandle;
use yuqing_bus::{BusError, Consumer, Delivery, Producer};
use yuqing_model::{Analysis, AnalyzedDocument, RawDocument, SourceType};
use yuqing_segmenter::{Segmenter, SegmenterError};

/// `[analyzer]` in the configuration. Paths are relative to the configuration file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AnalyzerConfig {
    /// jieba user dictionaries (`word [frequency] [tag]` per line).
    #[serde(default)]
    pub user_dicts: Vec<PathBuf>,
    /// The topic rules (监测方案).
    pub topics: PathBuf,
    /// The sentiment lexicon.
    pub sentiment: PathBuf,
    /// The city's gazetteer (districts, aliases, towns).
    pub regions: Option<PathBuf>,
    /// The school registry.
    pub schools: Option<PathBuf>,
    /// How often the files above are checked for changes (seconds; 0 turns reloading
    /// off).
    #[serde(default = "default_reload_secs")]
    pub reload_secs: u64,
    /// The risk weight (0–1) of what each kind of source says, by source type
    /// (官方媒体, 商业媒体, 自媒体, 社交平台, or official, commercial, self_media, social).
    /// Types left out keep their default: 0.4, 0.6, 0.8, 1.0 — an unverified post on a
    /// social platform spreads furthest before anyone checks it.
    #[serde(default)]
    pub source_weights: std::collections::BTreeMap<String, f32>,
}

fn default_reload_secs() -> u64 {
    2
}

impl AnalyzerConfig {
    /// The risk weight of each source type, in [`SourceType::ALL`] order; an unknown type
    /// or a weight outside 0–1 is named.
    pub fn source_weights(&self) -> Result<[f32; 4], String> {
        let mut weights = DEFAULT_SOURCE_WEIGHTS;
        for (name, weight) in &self.source_weights {
            let Some(kind) = SourceType::parse(name) else {
                return Err(format!(
                    "analyzer.source_weights: unknown source type {name:?}; use 官方媒体, 商业媒体, 自媒体 or 社交平台"
                ));
            };
            if !(0.0..=1.0).contains(weight) {
                return Err(format!(
                    "analyzer.source_weights: {name} must be between 0 and 1, got {weight}"
                ));
            }
            weights[SourceType::ALL
                .iter()
                .position(|t| *t == kind)
                .expect("listed")] = *weight;
        }
        Ok(weights)
    }

    /// Every file the analyzer reads.
    pub fn files(&self) -> impl Iterator<Item = &Path> {
        self.user_dicts
            .iter()
            .chain([&self.topics, &self.sentiment])
            .chain(self.regions.iter())
            .chain(self.schools.iter())
            .map(PathBuf::as_path)
    }

    pub fn resolve_paths(&mut self, base: &Path) {
        for path in self
            .user_dicts
            .iter_mut()
            .chain([&mut self.topics, &mut self.sentiment])
            .chain(self.regions.iter_mut())
            .chain(self.schools.iter_mut())
        {
            *path = base.join(&*path);
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error(transparent)]
    Rules(#[from] RuleFileError),
    #[error(transparent)]
    Dictionary(#[from] SegmenterError),
    #[error("{0}")]
    Config(String),
}

pub struct Analyzer {
    segmenter: Arc<Segmenter>,
    vocabulary: Vocabulary,
    topics: TopicSet,
    lexicon: Lexicon,
    gazetteer: Gazetteer,
    schools: SchoolRegistry,
    minors: MinorNames,
    source_weights: [f32; 4],
}

impl Analyzer {
    /// Loads the rule files and builds the segmenter they need. The returned segmenter is
    /// the one the index must use too.
    pub fn load(config: &AnalyzerConfig) -> Result<Analyzer, LoadError> {
        let mut vocabulary = Vocabulary::default();
        let topics = TopicSet::load(&config.topics, &mut vocabulary)?;
        let lexicon = Lexicon::load(&config.sentiment, &mut vocabulary)?;
        let gazetteer = match &config.regions {
            Some(path) => Gazetteer::load(path, &mut vocabulary)?,
            None => Gazetteer::default(),
        };
        let schools = match &config.schools {
            Some(path) => SchoolRegistry::load(
                path,
                config.regions.as_ref().map(|_| &gazetteer),
                &mut vocabulary,
            )?,
            None => SchoolRegistry::default(),
        };
        let minors = MinorNames::new(&mut vocabulary);
        let source_weights = config.source_weights().map_err(LoadError::Config)?;
        let mut segmenter = Segmenter::with_user_dicts(&config.user_dicts)?;
        segmenter.add_words(vocabulary.words());
        Ok(Analyzer {
            segmenter: Arc::new(segmenter),
            vocabulary,
            topics,
            lexicon,
            gazetteer,
            schools,
            minors,
            source_weights,
        })
    }

    pub fn segmenter(&self) -> Arc<Segmenter> {
        self.segmenter.clone()
    }

    pub fn topics(&self) -> &TopicSet {
        &self.topics
    }

    /// A text of unknown source (taken as 商业媒体, the common case).
    pub fn analyze(&self, title: &str, content: &str) -> Analysis {
        self.analyze_text(title, content, SourceType::default())
    }

    /// A collected document: its source type weighs in its risk.
    pub fn analyze_document(&self, document: &RawDocument) -> Analysis {
        self.analyze_text(&document.title, &document.content, document.source_type)
    }

    fn analyze_text(&self, title: &str, content: &str, source_type: SourceType) -> Analysis {
        let source_weight = self.source_weights[SourceType::ALL
            .iter()
            .position(|t| *t == source_type)
            .expect("listed")];
        let doc = Segmented::new(&self.segmenter, &self.vocabulary, title, content);
        let topics = self.topics.tag_segmented(&doc);
        let sentiment = self.lexicon.score_segmented(&doc);
        let gravest_topic = topics
            .iter()
            .filter_map(|t| Some((t.name.as_str(), self.topics.severity(&t.name)?)))
            .max_by_key(|(_, severity)| *severity);
        let risk = risk::assess(&RiskInputs {
            gravest_topic,
            sentiment: &sentiment,
            source_weight,
            reprints: 0,
        });
        Analysis {
            regions: self.gazetteer.tag_segmented(&doc),
            schools: self.schools.tag_segmented(&doc),
            minors: self.minors.find(&self.segmenter, &doc),
            topics,
            sentiment,
            risk,
        }
    }
}

/// Most documents analyzed and published together. Publishing a batch at once lets a
/// transport with acknowledgements (Kafka) have many messages in flight instead of one.
const BATCH: usize = 256;

/// A batch being published, with the deliveries to commit once it is acknowledged.
type InFlight = (JoinHandle<Result<Vec<()>, BusError>>, Vec<Delivery>);

/// Consumes raw documents until the topic ends, publishing each analyzed document and
/// committing the raw one only after the analyzed one is accepted downstream.
///
/// Batches overlap: while one batch is being acknowledged the next is analyzed, and
/// commits still happen in order, each after its batch's acknowledgement.
pub async fn run_stage(
    analyzer: Arc<LiveAnalyzer>,
    mut input: Consumer<RawDocument>,
    output: Producer<AnalyzedDocument>,
) -> Result<(), BusError> {
    let mut analyzed_count = 0u64;
    let mut ended = false;
    let mut in_flight: Option<InFlight> = None;
    while !ended {
        // Wait for one message, then take whatever else is already there. When the input
        // is idle, first finish the batch in flight, so its offsets do not wait for more
        // traffic to be committed.
        let next = match tokio::time::timeout(std::time::Duration::ZERO, input.recv()).await {
            Ok(next) => next?,
            Err(_) => {
                finish(&mut input, in_flight.take()).await?;
                input.recv().await?
            }
        };
        let Some(first) = next else { break };
        let mut batch = vec![first];
        while batch.len() < BATCH {
            match tokio::time::timeout(std::time::Duration::ZERO, input.recv()).await {
                Ok(Ok(Some(received))) => batch.push(received),
                Ok(Ok(None)) => {
                    ended = true;
                    break;
                }
                Ok(Err(error)) => return Err(error),
                Err(_) => break, // nothing more ready now
            }
        }
        let (deliveries, documents): (Vec<_>, Vec<_>) =
            batch.into_iter().map(|r| (r.delivery, r.message)).unzip();
        // The rules in use now; a reload applies from the next batch.
        let worker = analyzer.current();
        // Segmentation is CPU work; keep it off the async workers.
        let analyzed = tokio::task::spawn_blocking(move || {
            documents
                .into_iter()
                .map(|document| {
                    let analysis = worker.analyze_document(&document);
                    AnalyzedDocument { document, analysis }
                })
                .collect::<Vec<_>>()
        })
        .await;
        let analyzed = match analyzed {
            Ok(analyzed) => analyzed,
            Err(panic) => {
                let error = format!("analysis panicked: {panic}");
                finish(&mut input, in_flight.take()).await?;
                for delivery in &deliveries {
                    input.dead_letter(delivery, &error).await?;
                }
                continue;
            }
        };
        analyzed_count += analyzed.len() as u64;
        finish(&mut input, in_flight.take()).await?;
        let publisher = output.clone();
        let publishing = tokio::spawn(async move {
            futures_util::future::try_join_all(analyzed.iter().map(|a| publisher.send(a))).await
        });
        in_flight = Some((publishing, deliveries));
    }
    finish(&mut input, in_flight.take()).await?;
    tracing::info!(analyzed = analyzed_count, "analyzer stage finished");
    Ok(())
}

/// Waits for a batch's acknowledgement, then commits its input messages.
async fn finish(
    input: &mut Consumer<RawDocument>,
    in_flight: Option<InFlight>,
) -> Result<(), BusError> {
    let Some((publishing, deliveries)) = in_flight else {
        return Ok(());
    };
    match publishing.await {
        Ok(published) => {
            published?;
        }
        Err(panic) => {
            return Err(BusError::Transport {
                topic: "(publish)".into(),
                message: format!("publishing task failed: {panic}"),
            })
        }
    }
    for delivery in &deliveries {
        input.commit(delivery).await?;
    }
    Ok(())
}
