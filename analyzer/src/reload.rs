//! Analysts tune schemes and dictionaries while the system runs: the files are watched,
//! a saved change is loaded in the background and used from the next document on. A file
//! that does not load is reported (file:line and what is wrong) and the last good
//! version keeps running.
//!
//! Watching is [`yuqing_model::watch`], shared with the alert rules.

use crate::{Analyzer, AnalyzerConfig, LoadError};
use arc_swap::ArcSwap;
use serde::Serialize;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use yuqing_model::watch::{file_stamp, watch_files, FileStamp};

/// The analyzer in use, replaced when its files change.
pub struct LiveAnalyzer {
    config: AnalyzerConfig,
    current: ArcSwap<Analyzer>,
    state: Mutex<State>,
}

struct State {
    stamps: Vec<(PathBuf, FileStamp)>,
    status: ReloadStatus,
}

/// For health and status pages: which version of the rules is in use and whether the
/// files on disk have a problem.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ReloadStatus {
    /// 1 for the rules loaded at start, one more for each reload.
    pub version: u64,
    pub loaded_at: chrono::DateTime<chrono::Utc>,
    /// The error of the last attempt, if it failed (the previous version is in use).
    pub error: Option<String>,
}

impl LiveAnalyzer {
    /// Loads the rules; a problem here stops the start, as any configuration error does.
    pub fn load(config: AnalyzerConfig) -> Result<Arc<Self>, LoadError> {
        let stamps = stamps(&config);
        let analyzer = Analyzer::load(&config)?;
        Ok(Arc::new(LiveAnalyzer {
            config,
            current: ArcSwap::from_pointee(analyzer),
            state: Mutex::new(State {
                stamps,
                status: ReloadStatus {
                    version: 1,
                    loaded_at: chrono::Utc::now(),
                    error: None,
                },
            }),
        }))
    }

    /// The analyzer to use for the next document (or batch).
    pub fn current(&self) -> Arc<Analyzer> {
        self.current.load_full()
    }

    pub fn status(&self) -> ReloadStatus {
        yuqing_model::lock(&self.state).status.clone()
    }

    /// Reloads if any file changed since the last look. Returns `None` when nothing
    /// changed, else what the reload gave. Blocking: loading builds a segmenter.
    pub fn check(&self) -> Option<Result<u64, String>> {
        let now = stamps(&self.config);
        {
            let mut state = yuqing_model::lock(&self.state);
            if state.stamps == now {
                return None;
            }
            // Remember what was seen even if it fails to load: a broken file is
            // reported once, and retried when it changes again.
            state.stamps = now;
        }
        let result = Analyzer::load(&self.config);
        let mut state = yuqing_model::lock(&self.state);
        match result {
            Ok(analyzer) => {
                self.current.store(Arc::new(analyzer));
                state.status = ReloadStatus {
                    version: state.status.version + 1,
                    loaded_at: chrono::Utc::now(),
                    error: None,
                };
                tracing::info!(
                    version = state.status.version,
                    "analyzer rules reloaded; the next document uses them"
                );
                Some(Ok(state.status.version))
            }
            Err(error) => {
                let message = error.to_string();
                tracing::error!(
                    error = %message,
                    version = state.status.version,
                    "analyzer rules not reloaded; the last good version keeps running"
                );
                state.status.error = Some(message.clone());
                Some(Err(message))
            }
        }
    }

    /// Checks the files every `every` (never if zero) until the task is aborted.
    pub fn watch(self: &Arc<Self>, every: Duration) -> Option<tokio::task::JoinHandle<()>> {
        let live = self.clone();
        watch_files("analyzer rules", every, move || {
            live.check();
        })
    }
}

fn stamps(config: &AnalyzerConfig) -> Vec<(PathBuf, FileStamp)> {
    config
        .files()
        .map(|path| (path.to_path_buf(), file_stamp(path)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
        let path = dir.join(name);
        std::fs::write(&path, text).unwrap();
        path
    }

    const BULLYING: &str = "[[topic]]\nname = \"校园欺凌\"\nwords = [\"霸凌\"]\n";

    fn topics_of(live: &LiveAnalyzer, text: &str) -> Vec<String> {
        live.current()
            .analyze("", text)
            .topics
            .into_iter()
            .map(|t| t.name.into())
            .collect()
    }

    /// Rewrites a file so that its stamp surely differs (a new size, or a later time
    /// on file systems with coarse timestamps).
    fn rewrite(path: &Path, text: &str) {
        let before = std::fs::metadata(path).unwrap();
        std::fs::write(path, text).unwrap();
        let after = std::fs::metadata(path).unwrap();
        if before.len() == after.len() && before.modified().unwrap() == after.modified().unwrap() {
            std::thread::sleep(Duration::from_millis(1100));
            std::fs::write(path, text).unwrap();
        }
    }

    #[tokio::test]
    async fn a_saved_scheme_applies_to_the_next_document_and_a_broken_one_keeps_the_last_good() {
        let dir = tempfile::tempdir().unwrap();
        let topics = write(dir.path(), "topics.toml", BULLYING);
        let sentiment = write(dir.path(), "sentiment.txt", "[negative]\n霸凌 2\n");
        let live = LiveAnalyzer::load(AnalyzerConfig {
            user_dicts: vec![],
            topics: topics.clone(),
            sentiment,
            regions: None,
            schools: None,
            reload_secs: 1,
            source_weights: Default::default(),
        })
        .unwrap();
        let text = "一名学生在河边溺水";
        assert!(topics_of(&live, text).is_empty());
        assert_eq!(live.check(), None, "nothing changed yet");

        let watcher = live.watch(Duration::from_millis(50)).unwrap();
        rewrite(
            &topics,
            &format!("{BULLYING}\n[[topic]]\nname = \"防溺水\"\nwords = [\"溺水\"]\nsubjects = [\"学生\"]\n"),
        );
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while live.status().version < 2 {
            assert!(std::time::Instant::now() < deadline, "never reloaded");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        assert_eq!(topics_of(&live, text), ["防溺水"]);
        watcher.abort();

        rewrite(
            &topics,
            "[[topic]]\nname = \"防溺水\"\nwords = [\"溺水\"]\nrule = \"words AND\"\n",
        );
        let error = live.check().unwrap().unwrap_err();
        assert!(
            error.starts_with(&format!("{}:4:", topics.display())),
            "{error}"
        );
        assert!(
            error.contains("the rule ends where a group or word was expected"),
            "{error}"
        );
        let status = live.status();
        assert_eq!(status.version, 2);
        assert_eq!(status.error.as_deref(), Some(error.as_str()));
        assert_eq!(
            topics_of(&live, text),
            ["防溺水"],
            "the last good rules still run"
        );
        assert_eq!(live.check(), None, "a broken file is reported once");
    }
}
