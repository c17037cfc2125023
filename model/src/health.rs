//! Each stage's state, as `/api/health` and `/api/status` show it.
//!
//! A stage that meets a fault it cannot get past by itself (a full disk, a database that
//! refuses writes) keeps the work in hand, says so here, and tries the same step again
//! with a growing pause until it succeeds ([`Health::retry`]); nothing it accepted is
//! dropped, and it goes on by itself once the fault is gone. A stage that ends with an
//! error is marked failed, and the process stops so its supervisor starts it again.

use chrono::{DateTime, Utc};
use serde::Serialize;
use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::Duration;

/// One stage's state.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum StageState {
    Running,
    /// A step keeps failing; the stage holds its work and tries again.
    Retrying {
        since: DateTime<Utc>,
        attempts: u32,
        error: String,
    },
    /// The stage ended with an error.
    Failed {
        at: DateTime<Utc>,
        error: String,
    },
}

impl StageState {
    pub fn name(&self) -> &'static str {
        match self {
            StageState::Running => "running",
            StageState::Retrying { .. } => "retrying",
            StageState::Failed { .. } => "failed",
        }
    }
}

/// The states of a process's stages.
#[derive(Debug, Default)]
pub struct Health {
    stages: Mutex<BTreeMap<String, StageState>>,
}

/// The first pause after a failed step, and the longest.
const FIRST_PAUSE: Duration = Duration::from_millis(250);
const LONGEST_PAUSE: Duration = Duration::from_secs(15);

impl Health {
    pub fn set(&self, stage: &str, state: StageState) {
        crate::lock(&self.stages).insert(stage.to_string(), state);
    }

    pub fn running(&self, stage: &str) {
        self.set(stage, StageState::Running);
    }

    pub fn failed(&self, stage: &str, error: &str) {
        self.set(
            stage,
            StageState::Failed {
                at: Utc::now(),
                error: error.to_string(),
            },
        );
    }

    /// Every stage's state, by name.
    pub fn stages(&self) -> BTreeMap<String, StageState> {
        crate::lock(&self.stages).clone()
    }

    /// Whether every stage is running.
    pub fn all_running(&self) -> bool {
        crate::lock(&self.stages)
            .values()
            .all(|s| *s == StageState::Running)
    }

    /// Notes the outcome of a step that is tried again on its own schedule (a delivery
    /// round, a timer's work): a failure shows the stage retrying, a success after
    /// failures shows it running again.
    pub fn note<T, E: std::fmt::Display>(
        &self,
        stage: &str,
        what: &str,
        outcome: Result<T, E>,
    ) -> Option<T> {
        let mut stages = crate::lock(&self.stages);
        let state = stages
            .entry(stage.to_string())
            .or_insert(StageState::Running);
        match outcome {
            Ok(value) => {
                if matches!(state, StageState::Retrying { .. }) {
                    tracing::info!(stage, what, "recovered");
                    *state = StageState::Running;
                }
                Some(value)
            }
            Err(error) => {
                tracing::warn!(stage, what, %error, "step failed; it is tried again");
                let (since, attempts) = match state {
                    StageState::Retrying {
                        since, attempts, ..
                    } => (*since, *attempts + 1),
                    _ => (Utc::now(), 1),
                };
                *state = StageState::Retrying {
                    since,
                    attempts,
                    error: format!("{what}: {error}"),
                };
                None
            }
        }
    }

    /// Runs `step` until it succeeds.
    pub async fn retry<T, E: std::fmt::Display, F>(
        &self,
        stage: &str,
        what: &str,
        step: impl FnMut() -> F,
    ) -> T
    where
        F: std::future::Future<Output = Result<T, E>>,
    {
        match self.retry_if(stage, what, step, |_| true).await {
            Ok(value) => value,
            Err(_) => unreachable!("every error is retried"),
        }
    }

    /// Runs `step` until it succeeds or fails with an error that `passing` does not
    /// call passing (that one is returned). The step must be safe to repeat (it is,
    /// where it is one database transaction or an idempotent write). See [`Retrier`].
    pub async fn retry_if<T, E: std::fmt::Display, F>(
        &self,
        stage: &str,
        what: &str,
        mut step: impl FnMut() -> F,
        passing: impl Fn(&E) -> bool,
    ) -> Result<T, E>
    where
        F: std::future::Future<Output = Result<T, E>>,
    {
        let mut retrier = self.retrier(stage, what);
        loop {
            match step().await {
                Ok(value) => {
                    retrier.succeeded();
                    return Ok(value);
                }
                Err(error) if passing(&error) => {
                    let pause = retrier.failed(&error);
                    drop(error);
                    pause.await
                }
                Err(error) => return Err(error),
            }
        }
    }

    /// The bookkeeping of retrying one step, for a caller that runs the step itself.
    pub fn retrier<'a>(&'a self, stage: &'a str, what: &'a str) -> Retrier<'a> {
        Retrier {
            health: self,
            stage,
            what,
            attempts: 0,
            since: None,
            pause: FIRST_PAUSE,
        }
    }
}

/// Retrying one step of a stage: each failure is logged, shown as the stage retrying,
/// and followed by a pause that doubles up to 15 s; success after failures marks the
/// stage running again.
pub struct Retrier<'a> {
    health: &'a Health,
    stage: &'a str,
    what: &'a str,
    attempts: u32,
    since: Option<DateTime<Utc>>,
    pause: Duration,
}

impl Retrier<'_> {
    /// Notes a failure; the answer is the pause to wait out before the step is tried
    /// again.
    pub fn failed(&mut self, error: &dyn std::fmt::Display) -> tokio::time::Sleep {
        self.attempts += 1;
        let since = *self.since.get_or_insert_with(Utc::now);
        let (stage, what, attempts, pause) = (self.stage, self.what, self.attempts, self.pause);
        tracing::warn!(stage, what, attempts, %error, retry_in_ms = pause.as_millis() as u64, "step failed; holding its work and retrying");
        self.health.set(
            stage,
            StageState::Retrying {
                since,
                attempts,
                error: format!("{what}: {error}"),
            },
        );
        self.pause = (pause * 2).min(LONGEST_PAUSE);
        tokio::time::sleep(pause)
    }

    pub fn succeeded(&mut self) {
        if self.attempts > 0 {
            let (stage, what, attempts) = (self.stage, self.what, self.attempts);
            tracing::info!(stage, what, attempts, "recovered");
            self.health.running(stage);
            self.attempts = 0;
            self.since = None;
            self.pause = FIRST_PAUSE;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_failing_step_is_retried_shown_and_recovers() {
        let health = std::sync::Arc::new(Health::default());
        health.running("notifier");
        let failures = std::sync::Arc::new(std::sync::atomic::AtomicU32::new(3));
        let watch = health.clone();
        let retried = tokio::spawn({
            let (health, failures) = (health.clone(), failures.clone());
            async move {
                health
                    .retry("notifier", "store the alert", || {
                        let failures = failures.clone();
                        async move {
                            if failures.load(std::sync::atomic::Ordering::SeqCst) > 0 {
                                failures.fetch_sub(1, std::sync::atomic::Ordering::SeqCst);
                                Err("database or disk is full")
                            } else {
                                Ok(42)
                            }
                        }
                    })
                    .await
            }
        });
        tokio::time::sleep(Duration::from_millis(300)).await;
        match &watch.stages()["notifier"] {
            StageState::Retrying {
                attempts, error, ..
            } => {
                assert!(*attempts >= 1);
                assert_eq!(error, "store the alert: database or disk is full");
            }
            other => panic!("{other:?}"),
        }
        assert!(!watch.all_running());
        assert_eq!(retried.await.unwrap(), 42);
        assert!(watch.all_running());
    }
}
