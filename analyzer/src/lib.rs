//! The analyzer stage: tags each crawled document with topics and sentiment, keeping the
//! evidence (matched words and offsets) for every tag.
//!
//! Analysis itself is plain synchronous code ([`Analyzer::analyze`]); [`run_stage`] is the
//! thin async loop that takes raw documents from the bus and hands analyzed ones on.

mod sentiment;
mod topics;

pub use sentiment::Lexicon;
pub use topics::{RuleFileError, TopicRule, TopicSet};

use serde::Deserialize;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use yuqing_bus::{BusError, Consumer, Producer};
use yuqing_model::{Analysis, AnalyzedDocument, RawDocument};
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
}

impl AnalyzerConfig {
    pub fn resolve_paths(&mut self, base: &Path) {
        for path in self
            .user_dicts
            .iter_mut()
            .chain([&mut self.topics, &mut self.sentiment])
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
}

pub struct Analyzer {
    segmenter: Arc<Segmenter>,
    topics: TopicSet,
    lexicon: Lexicon,
}

impl Analyzer {
    /// Loads the rule files and builds the segmenter they need. The returned segmenter is
    /// the one the index must use too.
    pub fn load(config: &AnalyzerConfig) -> Result<Analyzer, LoadError> {
        let topics = TopicSet::load(&config.topics)?;
        let lexicon = Lexicon::load(&config.sentiment)?;
        let mut segmenter = Segmenter::with_user_dicts(&config.user_dicts)?;
        segmenter.add_words(topics.words());
        segmenter.add_words(lexicon.words());
        Ok(Analyzer {
            segmenter: Arc::new(segmenter),
            topics,
            lexicon,
        })
    }

    pub fn segmenter(&self) -> Arc<Segmenter> {
        self.segmenter.clone()
    }

    pub fn topics(&self) -> &TopicSet {
        &self.topics
    }

    pub fn analyze(&self, title: &str, content: &str) -> Analysis {
        Analysis {
            topics: self.topics.tag(&self.segmenter, title, content),
            sentiment: self.lexicon.score(&self.segmenter, title, content),
        }
    }
}

/// Consumes raw documents until the topic ends, publishing each analyzed document and
/// committing the raw one only after the analyzed one is accepted downstream.
pub async fn run_stage(
    analyzer: Arc<Analyzer>,
    mut input: Consumer<RawDocument>,
    output: Producer<AnalyzedDocument>,
) -> Result<(), BusError> {
    let mut analyzed_count = 0u64;
    while let Some(received) = input.recv().await? {
        let analyzer = analyzer.clone();
        let document = received.message;
        // Segmentation is CPU work; keep it off the async workers.
        let analyzed = tokio::task::spawn_blocking(move || {
            let analysis = analyzer.analyze(&document.title, &document.content);
            AnalyzedDocument { document, analysis }
        })
        .await;
        match analyzed {
            Ok(analyzed) => {
                tracing::debug!(
                    id = %analyzed.document.id,
                    topics = ?analyzed.analysis.topics.iter().map(|t| &t.name).collect::<Vec<_>>(),
                    "analyzed"
                );
                output.send(&analyzed).await?;
                input.commit(&received.delivery).await?;
                analyzed_count += 1;
            }
            Err(panic) => {
                let error = format!("analysis panicked: {panic}");
                input.dead_letter(&received.delivery, &error).await?;
            }
        }
    }
    tracing::info!(analyzed = analyzed_count, "analyzer stage finished");
    Ok(())
}
