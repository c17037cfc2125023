//! Import of exports analysts receive: a JSONL file (one post or article per line) or a
//! folder of them and of saved HTML pages. Imported documents go the same way as crawled
//! ones (the seen-store keeps a second import of the same file from adding anything).
//!
//! A JSONL line: `{"url", "title", "content" (or "text"), "published_at", "source",
//! "author"}`; `title` and `content` are needed. A line that is not such an object is
//! reported as file:line and the rest go on. Files are bounded like pages.

use crate::extract::{parse_chinese_datetime, ExtractRules};
use crate::Source;
use chrono::{DateTime, Utc};
use serde::Deserialize;
use std::path::{Path, PathBuf};
use url::Url;
use yuqing_model::{canonical_url, doc_id, doc_id_from_parts, Engagement, RawDocument, SourceType};

#[derive(Deserialize)]
struct Line {
    url: Option<String>,
    title: String,
    #[serde(alias = "text")]
    content: String,
    published_at: Option<String>,
    source: Option<String>,
    author: Option<String>,
    source_type: Option<SourceType>,
    platform: Option<String>,
    /// 「IP属地」
    ip_region: Option<String>,
    reposts: Option<u64>,
    comments: Option<u64>,
    likes: Option<u64>,
}

/// What an imported document takes from its source where the entry does not say.
#[derive(Clone)]
pub(super) struct ImportedAs {
    source: String,
    source_type: SourceType,
    platform: Option<String>,
    /// For saved pages: the source's extraction selectors.
    rules: ExtractRules,
}

impl From<&Source> for ImportedAs {
    fn from(source: &Source) -> Self {
        ImportedAs {
            source: source.name().to_string(),
            source_type: source.config.source_type(),
            platform: source.config.platform(),
            rules: source.extract.clone(),
        }
    }
}

/// One document read from an import, or what was wrong with one entry.
pub(super) type Imported = Result<(String, RawDocument), String>;

/// The files an import path names: the file itself, or the folder's `.jsonl`, `.html`
/// and `.htm` files, in name order.
pub(super) fn files(path: &Path) -> Result<Vec<PathBuf>, String> {
    let meta = std::fs::metadata(path).map_err(|e| format!("{}: {e}", path.display()))?;
    if meta.is_file() {
        return Ok(vec![path.to_path_buf()]);
    }
    let mut found: Vec<PathBuf> = std::fs::read_dir(path)
        .map_err(|e| format!("{}: {e}", path.display()))?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| {
            matches!(
                p.extension().and_then(|e| e.to_str()),
                Some("jsonl" | "html" | "htm")
            )
        })
        .collect();
    found.sort();
    Ok(found)
}

/// Reads one import file: its documents (each with its canonical URL) and its errors.
/// What a line does not say (source, source type, platform) comes from the source.
pub(super) fn read(
    file: &Path,
    config: &ImportedAs,
    max_bytes: usize,
    now: DateTime<Utc>,
) -> Vec<Imported> {
    let source = config.source.as_str();
    let stamp = |d: &mut RawDocument| {
        d.source_type = config.source_type;
        d.platform = config.platform.clone();
    };
    let bytes = match std::fs::read(file) {
        Ok(bytes) if bytes.len() > max_bytes * 64 => {
            return vec![Err(format!(
                "{}: larger than the import limit",
                file.display()
            ))]
        }
        Ok(bytes) => bytes,
        Err(e) => return vec![Err(format!("{}: {e}", file.display()))],
    };
    let file_url =
        Url::from_file_path(std::path::absolute(file).unwrap_or_else(|_| file.to_path_buf()))
            .map(|u| u.to_string())
            .unwrap_or_else(|_| format!("file://{}", file.display()));
    if file.extension().and_then(|e| e.to_str()) != Some("jsonl") {
        if bytes.len() > max_bytes {
            return vec![Err(format!(
                "{}: larger than the page limit",
                file.display()
            ))];
        }
        let text = crate::decode(&bytes, None).text;
        let article = crate::extract_with(&text, now, &config.rules);
        if article.content.trim().is_empty() {
            return vec![Err(format!("{}: no article text found", file.display()))];
        }
        return vec![document(&file_url, source, now, |d| {
            stamp(d);
            d.title = article.title;
            d.content = article.content;
            d.published_at = article.published_at;
            d.origin = article.origin;
            d.author = article.author;
        })];
    }
    let text = String::from_utf8_lossy(&bytes);
    text.lines()
        .enumerate()
        .filter(|(_, line)| !line.trim().is_empty())
        .map(|(n, line)| {
            let at = format!("{}:{}", file.display(), n + 1);
            let entry: Line = serde_json::from_str(line).map_err(|e| format!("{at}: {e}"))?;
            if entry.title.trim().is_empty() && entry.content.trim().is_empty() {
                return Err(format!("{at}: empty title and content"));
            }
            let url = entry.url.unwrap_or_else(|| format!("{file_url}#{}", n + 1));
            let published_at = match &entry.published_at {
                None => None,
                Some(text) => Some(
                    parse_chinese_datetime(text)
                        .ok_or_else(|| format!("{at}: published_at {text:?} is not a time"))?,
                ),
            };
            document(&url, entry.source.as_deref().unwrap_or(source), now, |d| {
                stamp(d);
                if let Some(source_type) = entry.source_type {
                    d.source_type = source_type;
                }
                if entry.platform.is_some() {
                    d.platform = entry.platform;
                }
                d.ip_region = entry.ip_region;
                if entry.reposts.is_some() || entry.comments.is_some() || entry.likes.is_some() {
                    d.engagement = Some(Engagement {
                        reposts: entry.reposts.unwrap_or(0),
                        comments: entry.comments.unwrap_or(0),
                        likes: entry.likes.unwrap_or(0),
                    });
                }
                d.title = entry.title.trim().to_string();
                d.content = entry.content;
                d.published_at = published_at;
                d.author = entry.author;
            })
            .map_err(|e| format!("{at}: {e}"))
        })
        .collect()
}

/// The document for an entry, with the key the seen-store knows it by: the canonical
/// URL when the entry has a web address, else the file (and line) it came from.
fn document(
    url: &str,
    source: &str,
    now: DateTime<Utc>,
    fill: impl FnOnce(&mut RawDocument),
) -> Imported {
    let (key, id) = match canonical_url(url) {
        Ok(canonical) => {
            let id = doc_id(&canonical).map_err(|e| e.to_string())?;
            (canonical, id)
        }
        Err(_) if url.starts_with("file://") => {
            (url.to_string(), doc_id_from_parts(&["import", url]))
        }
        Err(error) => return Err(format!("url: {error}")),
    };
    let mut document = RawDocument {
        id,
        url: key.clone(),
        source: source.to_string(),
        origin: None,
        author: None,
        title: String::new(),
        content: String::new(),
        published_at: None,
        fetched_at: now,
        charset: "UTF-8".into(),
        ..Default::default()
    };
    fill(&mut document);
    Ok((key, document))
}
