//! The data directory (`--data-dir`): where everything the system writes lives.

use anyhow::Context;
use std::path::{Path, PathBuf};

/// Where everything the system writes lives, under `--data-dir`.
pub struct DataDir {
    root: PathBuf,
}

impl DataDir {
    pub fn new(root: &Path) -> Self {
        DataDir {
            root: root.to_path_buf(),
        }
    }
    pub fn create(&self) -> anyhow::Result<()> {
        std::fs::create_dir_all(&self.root)
            .with_context(|| format!("cannot create data directory {}", self.root.display()))
    }
    pub fn index(&self) -> PathBuf {
        self.root.join("index")
    }
    pub fn state_db(&self) -> PathBuf {
        self.root.join("state.sqlite")
    }
    pub fn alert_log(&self) -> PathBuf {
        self.root.join("alerts.jsonl")
    }
    pub fn dead_letters(&self) -> PathBuf {
        self.root.join("dead-letter.jsonl")
    }
    /// Addresses of the running services, for scripts and tests.
    pub fn run_info(&self) -> PathBuf {
        self.root.join("run.json")
    }
}
