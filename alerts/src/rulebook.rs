//! The alert rules in force: those of the main configuration (fixed while it runs) and
//! those of the rules file (`[alerts] rules_file`), which analysts edit by hand or
//! through the desk API. The file is the one place API edits go, so every process that
//! reads it (one, or several over Kafka) sees the same rules; it is watched and reloaded
//! like the analyzer's files, and a version that does not load leaves the last good one
//! in force.

use crate::rules::AlertRule;
use arc_swap::ArcSwap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use yuqing_model::watch::{file_stamp, watch_files, FileStamp};
use yuqing_netguard::AddressGuard;

/// Checks a rule's query against the index's query language.
pub type QueryCheck = Box<dyn Fn(&str) -> Result<(), String> + Send + Sync>;

pub struct RuleBook {
    fixed: Vec<AlertRule>,
    file: Option<PathBuf>,
    channels: Vec<String>,
    check_query: QueryCheck,
    /// Where a rule's webhook may point (`[alerts] allowed_networks`).
    guard: AddressGuard,
    current: ArcSwap<Vec<AlertRule>>,
    /// The rules file as last read (modification time and size), and edits in turn.
    stamp: Mutex<FileStamp>,
}

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum RuleBookError {
    /// The rule is wrong: what and where (a query error names its position).
    #[error("{0}")]
    Invalid(String),
    #[error("alert rule {0:?} is defined in the configuration file; edit it there")]
    Fixed(String),
    #[error("no alert rule named {0:?}")]
    NotFound(String),
    #[error("no rules file is configured ([alerts] rules_file)")]
    NoFile,
    #[error("{0}")]
    Io(String),
}

#[derive(serde::Deserialize, serde::Serialize, Default)]
#[serde(deny_unknown_fields)]
struct RulesFile {
    #[serde(default, rename = "alert")]
    alerts: Vec<AlertRule>,
}

const FILE_HEADER: &str = "# Alert rules (预警规则), edited by hand or through the desk API (PUT/DELETE\n# /api/rules/NAME). Saved changes apply while the system runs. The API rewrites this\n# file, so comments here are not kept; see README \"Alerts for on-call staff\".\n\n";

impl RuleBook {
    /// Rules that never change (tests, benchmarks).
    pub fn fixed(rules: Vec<AlertRule>) -> Arc<RuleBook> {
        Arc::new(RuleBook {
            current: ArcSwap::from_pointee(rules.clone()),
            fixed: rules,
            file: None,
            channels: Vec::new(),
            check_query: Box::new(|_| Ok(())),
            guard: AddressGuard::default().allowed_by("[alerts] allowed_networks"),
            stamp: Mutex::new(None),
        })
    }

    /// The configuration's rules and the rules file's (created empty when absent). A
    /// rules file that does not load stops the start, as any configuration error does.
    pub fn load(
        fixed: Vec<AlertRule>,
        file: Option<PathBuf>,
        channels: Vec<String>,
        check_query: QueryCheck,
        guard: AddressGuard,
    ) -> Result<Arc<RuleBook>, RuleBookError> {
        let book = RuleBook {
            current: ArcSwap::from_pointee(fixed.clone()),
            fixed,
            file,
            channels,
            check_query,
            guard,
            stamp: Mutex::new(None),
        };
        if let Some(path) = &book.file {
            if !path.exists() {
                book.write_and_install(Vec::new())?;
            }
            let rules = book.read()?;
            book.install(rules)?;
            *book.stamp() = file_stamp(path);
        }
        Ok(Arc::new(book))
    }

    /// Every rule in force, the configuration's first.
    pub fn rules(&self) -> Arc<Vec<AlertRule>> {
        self.current.load_full()
    }

    pub fn rule(&self, name: &str) -> Option<AlertRule> {
        self.rules().iter().find(|r| r.name == name).cloned()
    }

    /// Whether the rule lives in the rules file (the API may change it).
    pub fn editable(&self, name: &str) -> bool {
        self.file.is_some() && !self.fixed.iter().any(|r| r.name == name)
    }

    fn check(&self, rule: &AlertRule) -> Result<(), RuleBookError> {
        let invalid = |message: String| Err(RuleBookError::Invalid(message));
        if let Some(problem) = rule.problem() {
            return invalid(problem);
        }
        if let Err(message) = (self.check_query)(&rule.query) {
            return invalid(format!("alert {:?}: query: {message}", rule.name));
        }
        if let Some(url) = &rule.webhook {
            if let Err(refusal) = self.guard.check_url(url) {
                return invalid(format!(
                    "alert {:?}: webhook: {}",
                    rule.name,
                    crate::redact::redact_address_in(&refusal, url)
                ));
            }
        }
        if let Some(channel) = rule
            .channels
            .iter()
            .chain(&rule.escalate_to)
            .find(|c| !self.channels.contains(c))
        {
            return invalid(format!(
                "alert {:?}: no [[channel]] named {channel:?}",
                rule.name
            ));
        }
        Ok(())
    }

    /// Checks the file's rules and puts them in force beside the fixed ones.
    fn install(&self, from_file: Vec<AlertRule>) -> Result<(), RuleBookError> {
        let all = self.checked(from_file)?;
        self.current.store(Arc::new(all));
        Ok(())
    }

    /// The rules in force if the file held these: the fixed ones and these, checked.
    fn checked(&self, from_file: Vec<AlertRule>) -> Result<Vec<AlertRule>, RuleBookError> {
        let mut all = self.fixed.clone();
        for rule in from_file {
            if all.iter().any(|r| r.name == rule.name) {
                return Err(RuleBookError::Invalid(format!(
                    "alert {:?} is defined twice",
                    rule.name
                )));
            }
            self.check(&rule)?;
            all.push(rule);
        }
        Ok(all)
    }

    fn read(&self) -> Result<Vec<AlertRule>, RuleBookError> {
        let path = self.file.as_ref().ok_or(RuleBookError::NoFile)?;
        let text =
            yuqing_model::read_text_file(path).map_err(|e| RuleBookError::Io(e.to_string()))?;
        let file: RulesFile = toml::from_str(&text).map_err(|e| {
            let offset = e.span().map(|s| s.start).unwrap_or(0);
            RuleBookError::Invalid(
                yuqing_model::FileError::invalid(path, &text, offset, e.message().to_string())
                    .to_string(),
            )
        })?;
        Ok(file.alerts)
    }

    /// Writes the file's rules and then puts them in force: a change that could not be
    /// saved (a full disk) is not applied, so the rules in force are always the file's.
    /// The file is replaced whole and on disk before the change counts.
    fn write_and_install(&self, rules: Vec<AlertRule>) -> Result<(), RuleBookError> {
        let path = self.file.as_ref().ok_or(RuleBookError::NoFile)?;
        let all = self.checked(rules.clone())?;
        let body = toml::to_string(&RulesFile { alerts: rules })
            .map_err(|e| RuleBookError::Io(e.to_string()))?;
        yuqing_model::write_file_durably(path, format!("{FILE_HEADER}{body}").as_bytes())
            .map_err(|e| RuleBookError::Io(format!("{}: {e}", path.display())))?;
        self.current.store(Arc::new(all));
        Ok(())
    }

    /// The file-change stamp, taken whatever happened while another change held it: it
    /// is only written after a change is complete, so a panic cannot leave it half-set.
    fn stamp(&self) -> std::sync::MutexGuard<'_, FileStamp> {
        yuqing_model::lock(&self.stamp)
    }

    /// Adds or replaces a rule of the rules file; in force at once.
    pub fn put(&self, rule: AlertRule) -> Result<(), RuleBookError> {
        let mut stamp = self.stamp();
        if self.fixed.iter().any(|r| r.name == rule.name) {
            return Err(RuleBookError::Fixed(rule.name));
        }
        self.check(&rule)?;
        let mut rules = self.read()?;
        match rules.iter_mut().find(|r| r.name == rule.name) {
            Some(old) => *old = rule,
            None => rules.push(rule),
        }
        self.write_and_install(rules)?;
        *stamp = self.file.as_deref().and_then(file_stamp);
        Ok(())
    }

    pub fn delete(&self, name: &str) -> Result<(), RuleBookError> {
        let mut stamp = self.stamp();
        if self.fixed.iter().any(|r| r.name == name) {
            return Err(RuleBookError::Fixed(name.to_string()));
        }
        let mut rules = self.read()?;
        let before = rules.len();
        rules.retain(|r| r.name != name);
        if rules.len() == before {
            return Err(RuleBookError::NotFound(name.to_string()));
        }
        self.write_and_install(rules)?;
        *stamp = self.file.as_deref().and_then(file_stamp);
        Ok(())
    }

    /// Reloads the rules file if it changed since it was last read or written. `None`
    /// when it did not change.
    pub fn reload_if_changed(&self) -> Option<Result<(), RuleBookError>> {
        let path = self.file.as_deref()?;
        let mut stamp = self.stamp();
        let now = file_stamp(path);
        if *stamp == now {
            return None;
        }
        *stamp = now; // a broken file is reported once, retried when it changes again
        let result = self.read().and_then(|rules| self.install(rules));
        match &result {
            Ok(()) => tracing::info!(file = %path.display(), "alert rules reloaded"),
            Err(error) => {
                tracing::error!(%error, "alert rules not reloaded; the last good ones stay in force")
            }
        }
        Some(result)
    }

    /// Checks the rules file every `every` (never if zero) until the task is aborted.
    pub fn watch(self: &Arc<Self>, every: Duration) -> Option<tokio::task::JoinHandle<()>> {
        let book = self.clone();
        watch_files("alert rules", every, move || {
            book.reload_if_changed();
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn rule(name: &str, query: &str) -> AlertRule {
        toml::from_str(&format!("name = \"{name}\"\nquery = '{query}'\n")).unwrap()
    }

    fn book(dir: &Path) -> Arc<RuleBook> {
        RuleBook::load(
            vec![rule("配置规则", "topic:防溺水")],
            Some(dir.join("alerts.toml")),
            vec!["值班群".into()],
            Box::new(|q: &str| {
                if q.contains('(') && !q.contains(')') {
                    Err("missing ) at character 1".into())
                } else {
                    Ok(())
                }
            }),
            AddressGuard::default(),
        )
        .unwrap()
    }

    #[test]
    fn the_api_edits_the_rules_file_and_checks_what_it_writes() {
        let dir = tempfile::tempdir().unwrap();
        let book = book(dir.path());
        assert_eq!(book.rules().len(), 1);
        let mut bullying = rule("欺凌", "topic:校园欺凌");
        bullying.channels = vec!["值班群".into()];
        book.put(bullying.clone()).unwrap();
        assert_eq!(book.rules().len(), 2);
        assert!(book.editable("欺凌") && !book.editable("配置规则"));
        // What was written loads again, as another process would read it.
        assert_eq!(self::book(dir.path()).rule("欺凌"), Some(bullying));

        assert_eq!(
            book.put(rule("配置规则", "x")),
            Err(RuleBookError::Fixed("配置规则".into()))
        );
        let bad = book.put(rule("坏", "(溺水")).unwrap_err().to_string();
        assert!(bad.contains("query: missing ) at character 1"), "{bad}");
        let mut unknown = rule("无渠道", "溺水");
        unknown.channels = vec!["不存在".into()];
        assert!(book
            .put(unknown)
            .unwrap_err()
            .to_string()
            .contains("不存在"));
        assert_eq!(book.rules().len(), 2, "refused rules change nothing");

        book.delete("欺凌").unwrap();
        assert_eq!(book.rules().len(), 1);
        assert_eq!(
            book.delete("欺凌"),
            Err(RuleBookError::NotFound("欺凌".into()))
        );
    }

    #[test]
    fn a_hand_edit_is_reloaded_and_a_broken_one_keeps_the_last_good() {
        let dir = tempfile::tempdir().unwrap();
        let book = book(dir.path());
        let path = dir.path().join("alerts.toml");
        assert_eq!(book.reload_if_changed(), None);
        std::fs::write(&path, "[[alert]]\nname = \"手写\"\nquery = \"溺水\"\n").unwrap();
        assert_eq!(book.reload_if_changed(), Some(Ok(())));
        assert!(book.rule("手写").is_some());
        std::fs::write(
            &path,
            "[[alert]]\nname = \"手写\"\nquery = \"溺水\"\nmode = \"often\"\n",
        )
        .unwrap();
        let error = book.reload_if_changed().unwrap().unwrap_err().to_string();
        assert!(error.contains("alerts.toml:4:"), "{error}");
        assert!(book.rule("手写").is_some(), "the last good rules stay");
    }

    #[test]
    fn a_change_that_cannot_be_saved_is_not_applied() {
        let dir = tempfile::tempdir().unwrap();
        let book = book(dir.path());
        book.put(rule("溺水", "溺水")).unwrap();
        // Where the new file would be written is taken, as a full disk would refuse it.
        std::fs::create_dir(dir.path().join("alerts.toml.tmp")).unwrap();
        let error = book.put(rule("欺凌", "欺凌")).unwrap_err().to_string();
        assert!(error.contains("alerts.toml"), "{error}");
        assert!(book.rule("欺凌").is_none(), "not in force: {error}");
        assert!(book.delete("溺水").is_err());
        assert!(
            book.rule("溺水").is_some(),
            "a failed deletion keeps the rule"
        );
        let on_disk = std::fs::read_to_string(dir.path().join("alerts.toml")).unwrap();
        assert!(
            on_disk.contains("溺水") && !on_disk.contains("欺凌"),
            "{on_disk}"
        );
    }

    #[test]
    fn a_webhook_into_private_networks_is_refused_when_the_rule_is_saved() {
        let dir = tempfile::tempdir().unwrap();
        let book = book(dir.path());
        let mut inside = rule("内网", "溺水");
        inside.webhook = Some("http://10.1.2.3/hook?token=TOKEN-123456".parse().unwrap());
        let error = book.put(inside).unwrap_err().to_string();
        assert!(
            error.contains("alert \"内网\": webhook: refused"),
            "{error}"
        );
        assert!(!error.contains("TOKEN-123456"), "{error}");
        assert!(book.rule("内网").is_none());
        let mut public = rule("外网", "溺水");
        public.webhook = Some("https://hooks.example.cn/yuqing".parse().unwrap());
        book.put(public).unwrap();
    }
}
