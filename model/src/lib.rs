//! The document model: what crosses the stage boundaries of yuqing.
//!
//! ```text
//! crawler ──RawDocument──> analyzer ──AnalyzedDocument──> indexer ──(commit)──> alerts ──Alert──> notifier
//! ```
//!
//! Every type here is a bus [`Message`](yuqing_bus::Message) with a schema version and
//! travels as JSON. Times without a zone in the source are Beijing time; they are kept
//! with their offset so that what the desk shows is what the page said.
//!
//! Beside the messages: what every stage needs of the files people edit, errors that
//! name the file and line ([`FileError`]) and one way of watching them ([`watch`]).

pub mod health;
mod url_id;
pub mod watch;

pub use url_id::{canonical_url, doc_id, CanonicalUrlError};

use chrono::{DateTime, FixedOffset, Utc};
use serde::{Deserialize, Serialize};
use yuqing_bus::Message;

/// The text of a tag: a matched word, a topic's or a district's name, a rule. Every
/// analyzed document carries dozens of them, mostly short words or names shared with
/// the rules that produced them. A `SmolStr` keeps up to 23 bytes (seven Chinese
/// characters) inline and shares longer text by reference count, so tagging a document
/// does not allocate once per match.
pub use smol_str::SmolStr;

/// UTC+8, the zone of every time a Chinese page prints without one.
pub fn beijing() -> FixedOffset {
    FixedOffset::east_opt(8 * 3600).expect("valid offset")
}

/// Who publishes on a source: it weighs in the risk of what it says, and the desk
/// filters and counts by it.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq, Hash, Default)]
#[serde(rename_all = "snake_case")]
pub enum SourceType {
    #[serde(alias = "官方媒体")]
    Official,
    #[default]
    #[serde(alias = "商业媒体")]
    Commercial,
    #[serde(alias = "自媒体")]
    SelfMedia,
    #[serde(alias = "社交平台")]
    Social,
}

impl SourceType {
    pub const ALL: [SourceType; 4] = [
        SourceType::Official,
        SourceType::Commercial,
        SourceType::SelfMedia,
        SourceType::Social,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            SourceType::Official => "official",
            SourceType::Commercial => "commercial",
            SourceType::SelfMedia => "self_media",
            SourceType::Social => "social",
        }
    }

    /// 官方媒体 / 商业媒体 / 自媒体 / 社交平台.
    pub fn zh(self) -> &'static str {
        match self {
            SourceType::Official => "官方媒体",
            SourceType::Commercial => "商业媒体",
            SourceType::SelfMedia => "自媒体",
            SourceType::Social => "社交平台",
        }
    }

    pub fn parse(text: &str) -> Option<SourceType> {
        SourceType::ALL
            .into_iter()
            .find(|t| t.as_str() == text || t.zh() == text)
    }
}

/// How far a social post travelled when it was collected.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq, Default)]
pub struct Engagement {
    #[serde(default)]
    pub reposts: u64,
    #[serde(default)]
    pub comments: u64,
    #[serde(default)]
    pub likes: u64,
}

/// A page or post as the crawler collected it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
pub struct RawDocument {
    /// Stable for the same canonical URL: see [`doc_id`].
    pub id: String,
    /// The canonical URL.
    pub url: String,
    /// The configured source (信源) the document was collected from.
    pub source: String,
    /// The 「来源：」 line of the article, when it names another outlet (a reprint).
    pub origin: Option<String>,
    pub author: Option<String>,
    pub title: String,
    pub content: String,
    pub published_at: Option<DateTime<FixedOffset>>,
    pub fetched_at: DateTime<Utc>,
    /// The character encoding the page was decoded from (e.g. `GBK`, `UTF-8`).
    pub charset: String,
    #[serde(default)]
    pub source_type: SourceType,
    /// The platform of a social post (weibo, douyin, …).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub platform: Option<String>,
    /// The poster's region as the platform shows it (「IP属地」).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ip_region: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub engagement: Option<Engagement>,
    /// The page's bytes as fetched, lz4-compressed (base64 in JSON): the evidence (存证)
    /// kept when the index stores the document, so a story deleted at its source can
    /// still be shown. Not kept in the index's copy of the document.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "snapshot_bytes"
    )]
    pub snapshot: Option<Vec<u8>>,
}

/// Bytes as base64 text in JSON (a number per byte would be four times larger).
mod snapshot_bytes {
    use base64::Engine as _;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(bytes: &Option<Vec<u8>>, s: S) -> Result<S::Ok, S::Error> {
        match bytes {
            Some(bytes) => {
                s.serialize_str(&base64::engine::general_purpose::STANDARD.encode(bytes))
            }
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Vec<u8>>, D::Error> {
        let text: Option<String> = Option::deserialize(d)?;
        text.map(|t| {
            base64::engine::general_purpose::STANDARD
                .decode(t)
                .map_err(serde::de::Error::custom)
        })
        .transpose()
    }
}

impl Message for RawDocument {
    const KIND: &'static str = "raw_document";
    const SCHEMA_VERSION: u32 = 1;
    fn key(&self) -> &str {
        &self.id
    }
}

/// Which text of a document a match was found in.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq, Hash)]
#[serde(rename_all = "lowercase")]
pub enum TextField {
    Title,
    Content,
}

/// One matched term, with character (not byte) offsets into its field, so an analyst can
/// see exactly what made a tag fire.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct TermMatch {
    pub term: SmolStr,
    pub field: TextField,
    pub start: usize,
    pub end: usize,
}

/// A topic (监测方案) that fired on a document, with its score and evidence.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct TopicTag {
    pub name: SmolStr,
    pub score: f32,
    pub matches: Vec<TermMatch>,
    /// The scheme's rule that fired (e.g. `words AND subjects`), for the explanation.
    #[serde(default, skip_serializing_if = "SmolStr::is_empty")]
    pub rule: SmolStr,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq, Hash)]
#[serde(rename_all = "lowercase")]
pub enum Sentiment {
    Negative,
    Neutral,
    Positive,
}

impl Sentiment {
    pub fn as_str(self) -> &'static str {
        match self {
            Sentiment::Negative => "negative",
            Sentiment::Neutral => "neutral",
            Sentiment::Positive => "positive",
        }
    }

    /// The label the desk and the alert messages show.
    pub fn zh(self) -> &'static str {
        match self {
            Sentiment::Negative => "负面",
            Sentiment::Neutral => "中性",
            Sentiment::Positive => "正面",
        }
    }

    pub fn parse(text: &str) -> Option<Sentiment> {
        match text {
            "negative" | "负面" => Some(Sentiment::Negative),
            "neutral" | "中性" => Some(Sentiment::Neutral),
            "positive" | "正面" => Some(Sentiment::Positive),
            _ => None,
        }
    }
}

/// Sentiment of a document: label, score in [-1, 1], and the words behind it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct SentimentTag {
    pub label: Sentiment,
    pub score: f32,
    pub matches: Vec<TermMatch>,
    /// Read as an official report of safety work (开展…教育, 部署…排查) with no incident
    /// words: its negative words counted for little.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub official_report: bool,
}

/// A district or county (属地) of the bureau's city that a document mentions, directly
/// or through one of its towns.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct RegionTag {
    /// The district's name as the gazetteer spells it (e.g. `温县`).
    pub name: SmolStr,
    pub matches: Vec<TermMatch>,
}

/// A school named in a document.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct SchoolTag {
    /// The registry's name for a known school, else the name as found.
    pub name: SmolStr,
    /// The school's district, when the registry knows it.
    pub district: Option<SmolStr>,
    /// The responsible office (主管部门), when the registry knows it.
    pub office: Option<SmolStr>,
    /// `registry` (a known school) or `pattern` (looks like a school name).
    pub rule: SmolStr,
    pub matches: Vec<TermMatch>,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[serde(rename_all = "lowercase")]
pub enum RiskLevel {
    Low,
    Medium,
    High,
}

impl RiskLevel {
    pub fn as_str(self) -> &'static str {
        match self {
            RiskLevel::Low => "low",
            RiskLevel::Medium => "medium",
            RiskLevel::High => "high",
        }
    }

    pub fn parse(text: &str) -> Option<RiskLevel> {
        match text {
            "low" | "低" => Some(RiskLevel::Low),
            "medium" | "中" => Some(RiskLevel::Medium),
            "high" | "高" => Some(RiskLevel::High),
            _ => None,
        }
    }

    /// 高 / 中 / 低, as the desk and the alerts show it.
    pub fn zh(self) -> &'static str {
        match self {
            RiskLevel::Low => "低",
            RiskLevel::Medium => "中",
            RiskLevel::High => "高",
        }
    }
}

/// The risk of a document, with the parts of its score.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct RiskTag {
    pub level: RiskLevel,
    /// In [0, 1].
    pub score: f32,
    /// How the score was made, e.g. `topic 校园欺凌 severity 3/3 → 0.45; negativity 0.62 → 0.22`.
    pub explanation: String,
}

/// Everything the analyzer concluded about a document.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Analysis {
    pub topics: Vec<TopicTag>,
    pub sentiment: SentimentTag,
    #[serde(default)]
    pub regions: Vec<RegionTag>,
    #[serde(default)]
    pub schools: Vec<SchoolTag>,
    #[serde(default = "RiskTag::unknown")]
    pub risk: RiskTag,
    /// Names of pupils the analyzer recognised (a name in a sentence about students or
    /// children), masked in alert messages.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub minors: Vec<SmolStr>,
}

/// A name as alert messages show it: the surname and 某某 (王小明 → 王某某).
pub fn mask_name(name: &str) -> String {
    let surname: String = name.chars().take(1).collect();
    format!("{surname}某某")
}

impl RiskTag {
    /// For documents analyzed before risk existed (schema version 1).
    pub fn unknown() -> RiskTag {
        RiskTag {
            level: RiskLevel::Low,
            score: 0.0,
            explanation: "not assessed (analyzed before risk scoring)".into(),
        }
    }
}

/// A document with its analysis, ready for the index.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct AnalyzedDocument {
    pub document: RawDocument,
    pub analysis: Analysis,
}

impl Message for AnalyzedDocument {
    const KIND: &'static str = "analyzed_document";
    /// 2: regions, schools and risk (version 1 bodies still decode, without them).
    const SCHEMA_VERSION: u32 = 2;
    fn key(&self) -> &str {
        &self.document.id
    }
}

/// A notification raised by an alert rule for one document.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Alert {
    /// Stable for the same rule and story (reprint cluster), so a re-indexed document or
    /// a reprint raises nothing new.
    pub id: String,
    pub rule: String,
    pub query: String,
    pub doc_id: String,
    pub title: String,
    pub url: String,
    pub source: String,
    pub published_at: Option<DateTime<FixedOffset>>,
    pub topics: Vec<String>,
    pub sentiment: Sentiment,
    pub snippet: String,
    pub raised_at: DateTime<Utc>,
    /// The story's reprint cluster and how many documents it had when the alert was raised.
    #[serde(default)]
    pub cluster: String,
    #[serde(default)]
    pub cluster_size: usize,
    #[serde(default)]
    pub kind: AlertKind,
    /// How urgent: the rule's severity, or the story's risk level when the rule sets none.
    #[serde(default = "default_severity")]
    pub severity: RiskLevel,
    /// The story's risk level (高/中/低) as the analyzer assessed it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub risk: Option<RiskLevel>,
    #[serde(default)]
    pub districts: Vec<String>,
    #[serde(default)]
    pub schools: Vec<String>,
    /// The offices responsible for the schools (from the school registry), for routing.
    #[serde(default)]
    pub offices: Vec<String>,
    /// The words of the story that matched the rule.
    #[serde(default)]
    pub matched: Vec<String>,
    /// Threshold and spike alerts: documents and sources in the window; digests and
    /// quiet-hour summaries: stories.
    #[serde(default)]
    pub count: usize,
    #[serde(default)]
    pub sources: usize,
    /// Threshold, spike, digest and summary alerts list their stories.
    #[serde(default)]
    pub items: Vec<AlertItem>,
}

fn default_severity() -> RiskLevel {
    RiskLevel::Medium
}

/// What an alert says.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq, Default)]
#[serde(rename_all = "snake_case")]
pub enum AlertKind {
    /// A story matched the rule (modes `every` and `new_story`).
    #[default]
    Story,
    /// A story already alerted on has spread past one of the rule's steps.
    FollowUp,
    /// At least N documents or N sources matched within the window.
    Threshold,
    /// Matching documents in the window far above the preceding days' rate.
    Spike,
    /// The day's matching stories, at the rule's digest time.
    Digest,
    /// What quiet hours held back, sent when they end.
    QuietSummary,
}

impl AlertKind {
    pub fn zh(self) -> &'static str {
        match self {
            AlertKind::Story => "舆情预警",
            AlertKind::FollowUp => "传播升级",
            AlertKind::Threshold => "数量预警",
            AlertKind::Spike => "突增预警",
            AlertKind::Digest => "每日汇总",
            AlertKind::QuietSummary => "静默时段汇总",
        }
    }
}

/// One story listed in an aggregate alert.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct AlertItem {
    pub title: String,
    pub url: String,
    pub source: String,
}

impl Alert {
    /// The id of the alert a rule raises for a story (the reprint cluster).
    pub fn id_for(rule: &str, cluster: &str) -> String {
        doc_id_from_parts(&["alert", rule, cluster])
    }
}

impl Message for Alert {
    const KIND: &'static str = "alert";
    /// 2: one alert per story, with its cluster. 3: kinds (follow-up, threshold, spike,
    /// digest, quiet-hour summary), severity, places, matched words, listed stories.
    const SCHEMA_VERSION: u32 = 3;
    fn key(&self) -> &str {
        &self.doc_id
    }
}

/// A document id made of several parts (an imported entry without a web address: its
/// file and line), in the same form as [`doc_id`].
pub fn doc_id_from_parts(parts: &[&str]) -> String {
    use sha2::{Digest, Sha256};
    let mut hasher = Sha256::new();
    for part in parts {
        hasher.update(part.as_bytes());
        hasher.update([0u8]);
    }
    hex::encode(&hasher.finalize()[..10])
}

#[cfg(test)]
mod tests {
    use super::*;
    use yuqing_bus::Envelope;

    #[test]
    fn analyzed_document_round_trips_through_the_wire_format() {
        let doc = AnalyzedDocument {
            document: RawDocument {
                id: doc_id("http://example.cn/a.html").unwrap(),
                url: "http://example.cn/a.html".into(),
                source: "示例".into(),
                origin: Some("焦作日报".into()),
                author: None,
                title: "标题".into(),
                content: "正文".into(),
                published_at: Some(
                    DateTime::parse_from_rfc3339("2026-11-20T08:30:00+08:00").unwrap(),
                ),
                fetched_at: Utc::now(),
                charset: "GBK".into(),
                ..Default::default()
            },
            analysis: Analysis {
                topics: vec![TopicTag {
                    name: "防溺水".into(),
                    score: 2.0,
                    matches: vec![TermMatch {
                        term: "溺水".into(),
                        field: TextField::Title,
                        start: 0,
                        end: 2,
                    }],
                    rule: "words AND subjects".into(),
                }],
                sentiment: SentimentTag {
                    label: Sentiment::Negative,
                    score: -0.5,
                    matches: vec![],
                    official_report: false,
                },
                regions: vec![],
                schools: vec![],
                minors: vec![],
                risk: RiskTag::unknown(),
            },
        };
        let bytes = Envelope::encode(&doc);
        let text = String::from_utf8(bytes.clone()).unwrap();
        assert!(
            text.contains(r#""published_at":"2026-11-20T08:30:00+08:00""#),
            "{text}"
        );
        assert!(text.contains(r#""label":"negative""#), "{text}");
        assert_eq!(Envelope::<AnalyzedDocument>::decode(&bytes).unwrap(), doc);
    }

    #[test]
    fn alert_ids_depend_on_rule_and_document() {
        assert_eq!(Alert::id_for("r", "d"), Alert::id_for("r", "d"));
        assert_ne!(Alert::id_for("r", "d"), Alert::id_for("r2", "d"));
        assert_ne!(Alert::id_for("rd", ""), Alert::id_for("r", "d"));
    }
}

/// A problem with a file people edit (configuration, rules, dictionaries), said with
/// the file, line and column so it can be fixed without guessing.
#[derive(Debug, thiserror::Error)]
pub enum FileError {
    #[error("{path}: cannot read: {source}")]
    Read {
        path: std::path::PathBuf,
        source: std::io::Error,
    },
    #[error("{path}:{line}:{column}: {message}")]
    Invalid {
        path: std::path::PathBuf,
        line: usize,
        column: usize,
        message: String,
    },
}

impl FileError {
    /// An error at byte `offset` of `text`, the contents of `path`.
    pub fn invalid(path: &std::path::Path, text: &str, offset: usize, message: String) -> Self {
        let (line, column) = line_column(text, offset);
        FileError::Invalid {
            path: path.to_path_buf(),
            line,
            column,
            message,
        }
    }
}

/// Reads a file people edit, naming it in the error.
pub fn read_text_file(path: &std::path::Path) -> Result<String, FileError> {
    std::fs::read_to_string(path).map_err(|source| FileError::Read {
        path: path.to_path_buf(),
        source,
    })
}

/// Locks a mutex whose holders leave what it guards consistent at every step (a single
/// insert, lookup or assignment; a database change that is one statement or one
/// transaction). A panic while it was held then breaks nothing, so a poisoned lock is
/// taken as it is: one failed request or visit must not fail every later one.
pub fn lock<T: ?Sized>(mutex: &std::sync::Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Appends to a log file (one JSON line per record) whole or not at all, on disk
/// before this returns: a write the disk refuses half-way is cut off again, so a retry
/// never leaves a broken line before the whole one.
pub fn append_durably(path: &std::path::Path, contents: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)?;
    let before = file.metadata()?.len();
    let written = file.write_all(contents).and_then(|()| file.sync_data());
    if written.is_err() {
        let _ = file.set_len(before);
    }
    written
}

/// Replaces a file people edit so that it is either the old file or the whole new one,
/// on disk before this returns: written to a temporary file beside it, flushed, renamed
/// over the old one, and the folder flushed so the rename itself survives a power cut.
/// A full disk leaves the old file as it was.
pub fn write_file_durably(path: &std::path::Path, contents: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let mut temporary = path.as_os_str().to_owned();
    temporary.push(".tmp");
    let temporary = std::path::PathBuf::from(temporary);
    let written = (|| {
        let mut file = std::fs::File::create(&temporary)?;
        file.write_all(contents)?;
        file.sync_all()?;
        std::fs::rename(&temporary, path)
    })();
    if written.is_err() {
        let _ = std::fs::remove_file(&temporary);
    }
    written?;
    if let Some(folder) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        // Opening a folder to flush it works on Unix; elsewhere the rename stands alone.
        if let Ok(folder) = std::fs::File::open(folder) {
            let _ = folder.sync_all();
        }
    }
    Ok(())
}

/// FNV-1a, 64 bits: a hash that stays the same across builds, platforms and Rust
/// versions (unlike the standard hasher), for values that are stored or shared between
/// processes (paragraph fingerprints, source shards).
pub fn stable_hash(bytes: impl IntoIterator<Item = u8>) -> u64 {
    bytes.into_iter().fold(0xcbf2_9ce4_8422_2325, |hash, byte| {
        (hash ^ u64::from(byte)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

/// The 1-based line and column (in characters) of a byte offset in `text`, for error
/// messages that point into configuration and dictionary files.
pub fn line_column(text: &str, byte_offset: usize) -> (usize, usize) {
    let before = &text[..byte_offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().unwrap_or("").chars().count() + 1;
    (line, column)
}

#[cfg(test)]
mod position_tests {
    #[test]
    fn line_column_counts_characters_not_bytes() {
        let text = "a = 1\n名称 = x\n";
        let offset = text.find('x').unwrap();
        assert_eq!(super::line_column(text, offset), (2, 6));
        assert_eq!(super::line_column(text, 0), (1, 1));
    }
}
