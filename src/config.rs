//! The configuration: one TOML file, checked completely before anything starts.
//!
//! Each stage owns the type of its own section; this module puts them together, resolves
//! paths relative to the file, and turns every problem into an error that names the file,
//! the line and the key.

use serde::Deserialize;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use toml::Spanned;
use yuqing_alerts::{AlertRule, ChannelConfig, ChannelKind};
use yuqing_analyzer::AnalyzerConfig;
use yuqing_bus_kafka::KafkaConfig;
use yuqing_crawler::{CrawlerSettings, Source, SourceConfig};
use yuqing_indexer::IndexerConfig;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    #[serde(default)]
    pub bus: BusConfig,
    #[serde(default)]
    pub crawler: CrawlerSettings,
    #[serde(default)]
    pub sample_site: SampleSiteConfig,
    #[serde(default, rename = "source")]
    pub sources: Vec<Spanned<SourceConfig>>,
    pub analyzer: AnalyzerConfig,
    #[serde(default)]
    pub indexer: IndexerConfig,
    #[serde(default)]
    pub desk: DeskConfig,
    #[serde(default, rename = "alert")]
    pub alerts: Vec<Spanned<AlertRule>>,
    /// `[alerts]`: the rules file the desk API edits.
    #[serde(default, rename = "alerts")]
    pub alert_settings: AlertSettings,
    #[serde(default, rename = "channel")]
    pub channels: Vec<Spanned<ChannelConfig>>,
    #[serde(skip)]
    pub path: PathBuf,
    #[serde(skip)]
    text: String,
    /// What still loads but should be written otherwise (old spellings), as
    /// file:line:column: message; logged at start.
    #[serde(skip)]
    pub warnings: Vec<String>,
}

/// `[alerts]` in the configuration.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AlertSettings {
    /// More `[[alert]]` rules, in a file of their own that analysts edit by hand or
    /// through the desk API (`/api/rules`); relative to the configuration file.
    pub rules_file: Option<PathBuf>,
    /// How often the rules file is checked for changes (seconds; 0: never).
    #[serde(default = "default_rules_reload_secs")]
    pub reload_secs: u64,
    /// Networks besides the public internet where robots and webhooks may be (a
    /// bureau's own webhook receiver, `"10.20.0.0/16"`); everything else that is
    /// loopback, private or special is refused, as for the crawler.
    #[serde(default)]
    pub allowed_networks: Vec<String>,
}

fn default_rules_reload_secs() -> u64 {
    2
}

impl Default for AlertSettings {
    fn default() -> Self {
        AlertSettings {
            rules_file: None,
            reload_secs: default_rules_reload_secs(),
            allowed_networks: Vec::new(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default, clap::ValueEnum)]
#[serde(rename_all = "snake_case")]
pub enum Transport {
    /// Bounded in-process channels: one process, nothing to install.
    #[default]
    Embedded,
    /// Apache Kafka: stages in separate processes, scaled out by consumer groups.
    Kafka,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BusConfig {
    #[serde(default)]
    pub transport: Transport,
    /// Embedded transport: messages a topic holds before publishers wait.
    #[serde(default = "default_capacity")]
    pub capacity: usize,
    #[serde(default)]
    pub kafka: KafkaConfig,
}

fn default_capacity() -> usize {
    256
}

impl Default for BusConfig {
    fn default() -> Self {
        BusConfig {
            transport: Transport::Embedded,
            capacity: default_capacity(),
            kafka: KafkaConfig::default(),
        }
    }
}

/// The bundled sample news site, served on loopback so that a machine without internet
/// still has something to crawl.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SampleSiteConfig {
    #[serde(default)]
    pub enabled: bool,
    #[serde(default = "default_sample_listen")]
    pub listen: SocketAddr,
    /// The folder of the site's files, relative to the configuration file.
    #[serde(default = "default_sample_root")]
    pub root: PathBuf,
}

fn default_sample_listen() -> SocketAddr {
    "127.0.0.1:8731".parse().expect("valid address")
}
fn default_sample_root() -> PathBuf {
    PathBuf::from("../sample-site")
}

impl Default for SampleSiteConfig {
    fn default() -> Self {
        SampleSiteConfig {
            enabled: false,
            listen: default_sample_listen(),
            root: default_sample_root(),
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeskConfig {
    #[serde(default = "default_desk_listen")]
    pub listen: SocketAddr,
    /// The address on-call staff reach the desk at, for the 签收 link in alert messages
    /// (no link when absent). Cookies are `Secure` when it is https.
    pub public_url: Option<url::Url>,
    /// Further host names the desk answers to (a reverse proxy's); requests naming any
    /// other host are refused, against DNS rebinding.
    #[serde(default)]
    pub allowed_hosts: Vec<String>,
    /// How long the 签收 link of an alert message works, in days.
    #[serde(default = "default_ack_link_days")]
    pub ack_link_days: u32,
    /// A login ends after this many hours without a request …
    #[serde(default = "default_session_idle_hours")]
    pub session_idle_hours: u32,
    /// … and after this many days in any case.
    #[serde(default = "default_session_lifespan_days")]
    pub session_lifespan_days: u32,
    /// Connections the desk holds open at once; one more is closed at once.
    #[serde(default = "default_max_connections")]
    pub max_connections: usize,
    /// Seconds a client has to send its request headers (and an idle kept-alive
    /// connection stays open).
    #[serde(default = "default_header_timeout_secs")]
    pub header_timeout_secs: u64,
    /// Seconds a request body may stall.
    #[serde(default = "default_body_timeout_secs")]
    pub body_timeout_secs: u64,
}

fn default_max_connections() -> usize {
    yuqing_desk::ServeLimits::default().max_connections
}
fn default_header_timeout_secs() -> u64 {
    yuqing_desk::ServeLimits::default().header_timeout.as_secs()
}
fn default_body_timeout_secs() -> u64 {
    yuqing_desk::ServeLimits::default().body_timeout.as_secs()
}

fn default_ack_link_days() -> u32 {
    7
}
fn default_session_idle_hours() -> u32 {
    8
}
fn default_session_lifespan_days() -> u32 {
    30
}

impl DeskConfig {
    /// How long logins last.
    pub fn session_policy(&self) -> yuqing_access::SessionPolicy {
        yuqing_access::SessionPolicy {
            idle: chrono::Duration::hours(self.session_idle_hours.max(1) as i64),
            lifespan: chrono::Duration::days(self.session_lifespan_days.max(1) as i64),
        }
    }

    /// What the desk's server holds open, and for how long.
    pub fn serve_limits(&self) -> yuqing_desk::ServeLimits {
        yuqing_desk::ServeLimits {
            max_connections: self.max_connections.max(1),
            header_timeout: std::time::Duration::from_secs(self.header_timeout_secs.max(1)),
            body_timeout: std::time::Duration::from_secs(self.body_timeout_secs.max(1)),
        }
    }

    /// The desk's public address without a trailing slash, where one is configured.
    pub fn public_base(&self) -> Option<String> {
        self.public_url
            .as_ref()
            .map(|u| u.as_str().trim_end_matches('/').to_string())
    }
}

fn default_desk_listen() -> SocketAddr {
    "127.0.0.1:8730".parse().expect("valid address")
}

impl Default for DeskConfig {
    fn default() -> Self {
        DeskConfig {
            listen: default_desk_listen(),
            public_url: None,
            allowed_hosts: Vec::new(),
            ack_link_days: default_ack_link_days(),
            session_idle_hours: default_session_idle_hours(),
            session_lifespan_days: default_session_lifespan_days(),
            max_connections: default_max_connections(),
            header_timeout_secs: default_header_timeout_secs(),
            body_timeout_secs: default_body_timeout_secs(),
        }
    }
}

/// Configuration problems are reported as file:line:column.
pub type ConfigError = yuqing_model::FileError;

/// Stands in for the sample site's address while checking source URLs before the site
/// is bound, and when it is not served at all (a port nothing listens on).
pub const SAMPLE_SITE_PLACEHOLDER: &str = "http://127.0.0.1:1";

impl Config {
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = yuqing_model::read_text_file(path)?;
        Self::parse(path, text)
    }

    pub fn parse(path: &Path, text: String) -> Result<Config, ConfigError> {
        let mut config: Config = toml::from_str(&text).map_err(|e| {
            let offset = e.span().map(|s| s.start).unwrap_or(0);
            ConfigError::invalid(path, &text, offset, e.message().trim().to_string())
        })?;
        config.path = path.to_path_buf();
        config.text = text;
        let base = config.base_dir();
        config.analyzer.resolve_paths(&base);
        config.sample_site.root = base.join(&config.sample_site.root);
        if let Some(file) = config.alert_settings.rules_file.as_mut() {
            *file = base.join(&*file);
        }
        for source in &mut config.sources {
            if let Some(import) = source.get_mut().import.as_mut() {
                import.path = base.join(&import.path);
            }
        }
        for channel in &mut config.channels {
            if let Some(ca_file) = channel.get_mut().ca_file.as_mut() {
                *ca_file = base.join(&*ca_file);
            }
        }
        config.validate()?;
        config.warnings = config.old_spellings();
        Ok(config)
    }

    /// The folder paths in the file are relative to.
    pub fn base_dir(&self) -> PathBuf {
        self.path
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_else(|| PathBuf::from("."))
    }

    /// An error pointing at a spanned item of this file.
    pub fn error_at(&self, offset: usize, message: String) -> ConfigError {
        ConfigError::invalid(&self.path, &self.text, offset, message)
    }

    /// A warning for each key of a source written in the old flat form, at its line.
    fn old_spellings(&self) -> Vec<String> {
        let mut warnings = Vec::new();
        for source in &self.sources {
            // The span is the `[[source]]` header; the table's keys follow it.
            let start = source.span().start;
            let table = &self.text[start..];
            for moved in &source.get_ref().moved {
                // The key's own line: after the header, before the next table.
                let at = table
                    .lines()
                    .scan(0, |offset, line| {
                        let start = *offset;
                        *offset += line.len() + 1;
                        Some((start, line))
                    })
                    .enumerate()
                    .take_while(|(i, (_, line))| *i == 0 || !line.trim_start().starts_with('['))
                    .map(|(_, found)| found)
                    .find(|(_, line)| {
                        line.trim_start()
                            .strip_prefix(moved.old)
                            .is_some_and(|rest| rest.trim_start().starts_with('='))
                    })
                    .map_or(start, |(offset, line)| {
                        start + offset + (line.len() - line.trim_start().len())
                    });
                let name = &source.get_ref().name;
                warnings.push(
                    self.error_at(at, format!("source {name:?}: {moved}"))
                        .to_string(),
                );
            }
        }
        warnings
    }

    fn validate(&self) -> Result<(), ConfigError> {
        let mut names = std::collections::HashSet::new();
        for source in &self.sources {
            let at = source.span().start;
            let name = &source.get_ref().name;
            source
                .get_ref()
                .build(SAMPLE_SITE_PLACEHOLDER)
                .map_err(|message| self.error_at(at, format!("source {name:?}: {message}")))?;
            if !names.insert(name.clone()) {
                return Err(self.error_at(at, format!("source {name:?} is defined twice")));
            }
        }
        if let Err(message) = yuqing_netguard::parse_networks(
            &self.alert_settings.allowed_networks,
            "[alerts] allowed_networks",
        ) {
            let at = self.text.find("allowed_networks").unwrap_or(0);
            return Err(self.error_at(at, message));
        }
        let guard = self.alert_guard();
        let mut channel_names = std::collections::HashSet::new();
        for channel in &self.channels {
            let at = channel.span().start;
            let name = &channel.get_ref().name;
            if !channel_names.insert(name.clone()) {
                return Err(self.error_at(at, format!("channel {name:?} is defined twice")));
            }
            if let Some(problem) = channel.get_ref().problem() {
                return Err(self.error_at(at, problem));
            }
            if channel.get_ref().kind != ChannelKind::Email {
                if let Ok(url) = channel.get_ref().address() {
                    guard.check_url(&url).map_err(|refusal| {
                        self.error_at(
                            at,
                            format!(
                                "channel {name:?}: {}",
                                yuqing_alerts::redact_address_in(&refusal, &url)
                            ),
                        )
                    })?;
                }
            }
            if channel.get_ref().secret.is_some() && channel.get_ref().secret_env.is_some() {
                return Err(self.error_at(
                    at,
                    format!("channel {name:?}: give secret or secret_env, not both"),
                ));
            }
        }
        let mut rule_names = std::collections::HashSet::new();
        for rule in &self.alerts {
            let at = rule.span().start;
            let name = &rule.get_ref().name;
            if name.trim().is_empty() {
                return Err(self.error_at(at, "alert name must not be empty".into()));
            }
            if !rule_names.insert(name.clone()) {
                return Err(self.error_at(at, format!("alert {name:?} is defined twice")));
            }
            if let Some(problem) = rule.get_ref().problem() {
                return Err(self.error_at(at, problem));
            }
            if let Some(url) = &rule.get_ref().webhook {
                guard.check_url(url).map_err(|refusal| {
                    self.error_at(
                        at,
                        format!(
                            "alert {name:?}: webhook: {}",
                            yuqing_alerts::redact_address_in(&refusal, url)
                        ),
                    )
                })?;
            }
            for channel in rule
                .get_ref()
                .channels
                .iter()
                .chain(&rule.get_ref().escalate_to)
            {
                if !channel_names.contains(channel) {
                    return Err(self.error_at(
                        at,
                        format!("alert {name:?}: no [[channel]] named {channel:?}"),
                    ));
                }
            }
        }
        if self.bus.capacity == 0 {
            return Err(self.error_at(0, "bus.capacity must be at least 1".into()));
        }
        if self.bus.kafka.partitions < 1 || self.bus.kafka.replication < 1 {
            return Err(self.error_at(
                0,
                "bus.kafka.partitions and bus.kafka.replication must be at least 1".into(),
            ));
        }
        if self.bus.kafka.brokers.trim().is_empty() {
            return Err(self.error_at(0, "bus.kafka.brokers must not be empty".into()));
        }
        Ok(())
    }

    /// The enabled sources, compiled, with `{sample_site}` replaced by its real address.
    pub fn enabled_sources(&self, sample_site: &str) -> Result<Vec<Source>, ConfigError> {
        self.sources
            .iter()
            .filter(|s| s.get_ref().enabled)
            .map(|s| {
                s.get_ref()
                    .build(sample_site)
                    .map_err(|message| self.error_at(s.span().start, message))
            })
            .collect()
    }

    /// The extraction selectors of the source called `name`.
    pub fn extract_rules(&self, name: &str) -> anyhow::Result<yuqing_crawler::ExtractRules> {
        let Some(source) = self.sources.iter().find(|s| s.get_ref().name == name) else {
            let names: Vec<&str> = self
                .sources
                .iter()
                .map(|s| s.get_ref().name.as_str())
                .collect();
            anyhow::bail!(
                "{}: no source is called {name:?} (sources: {})",
                self.path.display(),
                names.join("、")
            );
        };
        let rules = source
            .get_ref()
            .extract
            .as_ref()
            .map(|e| e.build())
            .transpose();
        Ok(rules
            .map_err(|message| {
                self.error_at(source.span().start, format!("source {name:?}: {message}"))
            })?
            .unwrap_or_default())
    }

    pub fn alert_rules(&self) -> Vec<AlertRule> {
        self.alerts.iter().map(|r| r.get_ref().clone()).collect()
    }

    pub fn channel_names(&self) -> Vec<String> {
        self.channels
            .iter()
            .map(|c| c.get_ref().name.clone())
            .collect()
    }

    pub fn alert_channels(&self) -> Vec<ChannelConfig> {
        self.channels.iter().map(|c| c.get_ref().clone()).collect()
    }

    /// Where alerts may be delivered: the public internet and `[alerts] allowed_networks`
    /// (checked when the configuration is read).
    pub fn alert_guard(&self) -> yuqing_alerts::AddressGuard {
        let allowed = yuqing_netguard::parse_networks(
            &self.alert_settings.allowed_networks,
            "[alerts] allowed_networks",
        )
        .unwrap_or_default();
        yuqing_alerts::AddressGuard::new(allowed).allowed_by("[alerts] allowed_networks")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINIMAL: &str = r#"
[analyzer]
topics = "topics.toml"
sentiment = "sentiment.txt"
"#;

    fn parse(text: &str) -> Result<Config, String> {
        Config::parse(Path::new("conf/test.toml"), text.to_string()).map_err(|e| e.to_string())
    }

    #[test]
    fn defaults_fill_what_is_not_said_and_paths_follow_the_file() {
        let config = parse(MINIMAL).unwrap();
        assert_eq!(config.analyzer.topics, Path::new("conf/topics.toml"));
        assert_eq!(config.indexer.commit_interval_ms, 1000);
        assert_eq!(config.desk.listen.port(), 8730);
        assert!(config.sources.is_empty());
    }

    #[test]
    fn robots_and_webhooks_in_private_networks_need_allowed_networks() {
        let robot = "\n[[channel]]\nname = \"内网群\"\nkind = \"wecom\"\nurl = \"http://10.20.0.5/send?key=KEY-123456789\"\n";
        let err = parse(&format!("{MINIMAL}{robot}")).unwrap_err();
        assert!(
            err.starts_with("conf/test.toml:6:1: channel \"内网群\": refused"),
            "{err}"
        );
        assert!(err.contains("[alerts] allowed_networks"), "{err}");
        assert!(
            !err.contains("KEY-123456789"),
            "the key is not shown: {err}"
        );
        let hook = "\n[[alert]]\nname = \"本机\"\nquery = \"溺水\"\nwebhook = \"http://127.0.0.1:9000/hook\"\n";
        let err = parse(&format!("{MINIMAL}{hook}")).unwrap_err();
        assert!(err.contains("alert \"本机\": webhook: refused"), "{err}");
        let allowed = "\n[alerts]\nallowed_networks = [\"10.20.0.0/16\", \"127.0.0.1\"]\n";
        assert!(parse(&format!("{MINIMAL}{allowed}{robot}{hook}")).is_ok());
        let bad = "\n[alerts]\nallowed_networks = [\"intranet\"]\n";
        let err = parse(&format!("{MINIMAL}{bad}")).unwrap_err();
        assert!(
            err.contains("[alerts] allowed_networks: \"intranet\" is not a network"),
            "{err}"
        );
    }

    #[test]
    fn unknown_key_is_named_with_file_and_line() {
        let err = parse(&format!(
            "{MINIMAL}\n[indexer]\ncommit_interval_ms = 10\ncommit_every = 5\n"
        ))
        .unwrap_err();
        assert!(
            err.starts_with("conf/test.toml:8:1: unknown field `commit_every`"),
            "{err}"
        );
    }

    #[test]
    fn wrong_type_is_named_with_file_and_line() {
        let err = parse(&format!(
            "{MINIMAL}\n[indexer]\ncommit_interval_ms = \"soon\"\n"
        ))
        .unwrap_err();
        assert!(
            err.starts_with("conf/test.toml:7:22: invalid type: string \"soon\""),
            "{err}"
        );
    }

    #[test]
    fn old_flat_source_keys_load_with_a_warning_at_their_line() {
        let text = format!(
            "{MINIMAL}\n[[source]]\nname = \"列表\"\nkind = \"listing\"\nurl = \"http://a.cn/\"\n  link_selector = \".list a\"\nlisting_pages = 2\n\n[[source]]\nname = \"新写法\"\nkind = \"listing\"\nurl = \"http://b.cn/\"\n[source.listing]\nlink_selector = \".list a\"\n"
        );
        let config = parse(&text).unwrap();
        assert_eq!(
            config.warnings,
            [
                "conf/test.toml:10:3: source \"列表\": `link_selector` in [[source]] is the old spelling; write `link_selector = …` under [source.listing]",
                "conf/test.toml:11:1: source \"列表\": `listing_pages` in [[source]] is the old spelling; write `pages = …` under [source.listing]",
            ]
        );
        let (old, new) = (config.sources[0].get_ref(), config.sources[1].get_ref());
        assert_eq!(old.listing.as_ref().unwrap().pages, Some(2));
        assert_eq!(
            old.listing.as_ref().unwrap().link_selector,
            new.listing.as_ref().unwrap().link_selector
        );
    }

    #[test]
    fn a_bad_source_points_at_its_table() {
        let text = format!(
            "{MINIMAL}\n[[source]]\nname = \"a\"\nkind = \"feed\"\nurl = \"{{sample_site}}/rss.xml\"\n\n[[source]]\nname = \"b\"\nkind = \"listing\"\nurl = \"not a url\"\n"
        );
        let err = parse(&text).unwrap_err();
        assert!(
            err.starts_with("conf/test.toml:11:1: source \"b\": url:"),
            "{err}"
        );
    }

    #[test]
    fn the_shipped_configuration_loads_and_every_source_in_it_builds() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("config/default.toml");
        let config = Config::load(&path).unwrap();
        assert!(config.warnings.is_empty(), "{:?}", config.warnings);
        for source in &config.sources {
            let source = source.get_ref();
            if let Err(error) = source.build("http://127.0.0.1:8731") {
                panic!("source {:?}: {error}", source.name);
            }
        }
        let kinds: Vec<_> = config.sources.iter().map(|s| s.get_ref().kind).collect();
        assert!(
            kinds.contains(&yuqing_crawler::SourceKind::Api),
            "{kinds:?}"
        );
    }

    #[test]
    fn a_missing_file_says_which() {
        let err = Config::load(Path::new("/nonexistent/yuqing.toml"))
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with("/nonexistent/yuqing.toml: cannot read"),
            "{err}"
        );
    }
}
