//! Watching the files people edit while the system runs (the analyzer's schemes and
//! dictionaries, the alert rules), in one way: a poll of each file's modification time
//! and size. A handful of small files checked every few seconds needs no platform
//! file-notification machinery, and it also sees files that editors replace by writing
//! a new one and renaming it.

use std::path::Path;
use std::time::{Duration, SystemTime};

/// What was seen of one file: modification time and size, or absent.
pub type FileStamp = Option<(SystemTime, u64)>;

/// The file's stamp now.
pub fn file_stamp(path: &Path) -> FileStamp {
    let meta = std::fs::metadata(path).ok()?;
    Some((
        meta.modified().unwrap_or(SystemTime::UNIX_EPOCH),
        meta.len(),
    ))
}

/// Runs `check` on a blocking thread every `every` until the task is aborted (or the
/// runtime ends; an aborted check loses nothing). The first check comes one interval
/// after the start, since the files were just loaded. `check` reports its own outcome;
/// a panic in it is logged as an error naming `what`, and watching goes on. `None` when
/// `every` is zero, which means never.
pub fn watch_files(
    what: &'static str,
    every: Duration,
    check: impl Fn() + Send + Sync + 'static,
) -> Option<tokio::task::JoinHandle<()>> {
    if every.is_zero() {
        return None;
    }
    let check = std::sync::Arc::new(check);
    Some(tokio::spawn(async move {
        let mut ticks = tokio::time::interval(every);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        ticks.tick().await; // immediate: the files were just loaded
        loop {
            ticks.tick().await;
            let check = check.clone();
            if let Err(error) = tokio::task::spawn_blocking(move || check()).await {
                tracing::error!(%error, "checking the {what} for changes panicked; still watching");
            }
        }
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn a_stamp_changes_with_the_file_and_is_none_without_one() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("rules.toml");
        assert_eq!(file_stamp(&path), None);
        std::fs::write(&path, "a").unwrap();
        let first = file_stamp(&path);
        std::fs::write(&path, "ab").unwrap();
        assert_ne!(file_stamp(&path), first, "the size changed");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn checks_start_one_interval_in_and_survive_a_panic() {
        let every = Duration::from_millis(100);
        let calls = Arc::new(std::sync::Mutex::new(Vec::new()));
        let seen = calls.clone();
        let start = std::time::Instant::now();
        let task = watch_files("test files", every, move || {
            let mut calls = seen.lock().unwrap_or_else(|p| p.into_inner());
            calls.push(std::time::Instant::now());
            if calls.len() == 1 {
                drop(calls);
                panic!("a broken check");
            }
        })
        .unwrap();
        let deadline = start + Duration::from_secs(10);
        while calls.lock().unwrap().len() < 3 {
            assert!(std::time::Instant::now() < deadline, "the watch stopped");
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        assert!(
            calls.lock().unwrap()[0] >= start + every,
            "no check at the start: the files were just loaded"
        );
        assert!(!task.is_finished(), "still watching after the panic");
        task.abort();
        assert!(watch_files("never", Duration::ZERO, || {}).is_none());
    }
}
