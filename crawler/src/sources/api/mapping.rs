//! JSON API sources: the post lists of social platforms (a Weibo search or timeline, a
//! Bilibili search), read through a mapping from the API's JSON to our document.
//!
//! A mapping names, with JSON pointers (RFC 6901, plus `*` for "every element"), where
//! the posts are in a response and where each post keeps its id, text, author, time,
//! address, engagement counts and the poster's shown region (IP属地). Presets give the
//! mappings of the platforms we know; any field can be overridden in the source's
//! `[source.api]` table, and a platform without a preset is configured field by field.
//!
//! Everything here is pure: turning one response into posts and the next page's address.
//! Fetching, politeness and the seen-store are the crawler's.

use crate::{parse_chinese_datetime, parse_relative_time};
use chrono::{DateTime, FixedOffset, TimeZone, Utc};
use serde::Deserialize;
use serde_json::Value;
use std::collections::BTreeMap;
use url::Url;
use yuqing_model::{beijing, Engagement};

/// Platforms whose API shape is built in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Preset {
    /// The Weibo mobile API (`m.weibo.cn/api/container/getIndex`): a user's timeline
    /// (`containerid=107603…`) or a search (`containerid=100103type=1&q=…`).
    Weibo,
    /// Bilibili's video search (`api.bilibili.com/x/web-interface/search/type`).
    Bilibili,
}

impl Preset {
    pub fn platform(self) -> &'static str {
        match self {
            Preset::Weibo => "weibo",
            Preset::Bilibili => "bilibili",
        }
    }

    /// The preset's mapping, as if written in a source's `[source.api]` table.
    fn defaults(self) -> ApiConfig {
        let text = |s: &str| Some(s.to_string());
        match self {
            Preset::Weibo => ApiConfig {
                // A timeline lists posts as cards; a search nests them in card groups.
                items: Some(vec![
                    "/data/cards/*/mblog".into(),
                    "/data/cards/*/card_group/*/mblog".into(),
                ]),
                id: text("/mid"),
                text: text("/text"),
                author: text("/user/screen_name"),
                time: text("/created_at"),
                url_template: text("https://m.weibo.cn/detail/{id}"),
                reposts: text("/reposts_count"),
                comments: text("/comments_count"),
                likes: text("/attitudes_count"),
                ip_region: text("/region_name"),
                // A long post comes cut, ending in 「全文」: its whole text is one more
                // request away.
                long_text_flag: text("/isLongText"),
                long_text_url: text("/statuses/extend?id={id}"),
                long_text: text("/data/longTextContent"),
                ok: text("/ok"),
                ok_values: Some(vec![Value::from(1)]),
                message: text("/msg"),
                cursor: text("/data/cardlistInfo/since_id"),
                cursor_param: text("since_id"),
                ..ApiConfig::default()
            },
            Preset::Bilibili => ApiConfig {
                // The video search (search_type=video) lists the videos in one array.
                items: Some(vec!["/data/result".into()]),
                id: text("/bvid"),
                title: text("/title"),
                text: text("/description"),
                author: text("/author"),
                time: text("/pubdate"),
                url: text("/arcurl"),
                comments: text("/review"),
                likes: text("/like"),
                ok: text("/code"),
                ok_values: Some(vec![Value::from(0)]),
                message: text("/message"),
                page_param: text("page"),
                first_page: Some(1),
                ..ApiConfig::default()
            },
        }
    }
}

/// `[source.api]`: where a JSON API keeps what we need. Every field but `preset` and the
/// credentials is a JSON pointer into the response (`items`) or into one item (the rest).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApiConfig {
    pub preset: Option<Preset>,
    /// Where the posts are: pointers to arrays of posts, or with `*` to the posts.
    pub items: Option<Vec<String>>,
    pub id: Option<String>,
    pub text: Option<String>,
    pub title: Option<String>,
    pub author: Option<String>,
    /// A time as text (`2026-11-28 10:05`, `Sat Nov 28 10:05:00 +0800 2026`, `3小时前`)
    /// or as seconds (or milliseconds) since 1970.
    pub time: Option<String>,
    /// The post's address; or `url_template` with `{id}`.
    pub url: Option<String>,
    pub url_template: Option<String>,
    pub reposts: Option<String>,
    pub comments: Option<String>,
    pub likes: Option<String>,
    /// The region the platform shows for the poster (「IP属地」, 「发布于 河南」).
    pub ip_region: Option<String>,
    /// Long posts: where a post says it was cut (`true`), the address of its whole text
    /// (with `{id}`; relative to the API's address), and where that answer has the text.
    pub long_text_flag: Option<String>,
    pub long_text_url: Option<String>,
    pub long_text: Option<String>,
    /// Where the response says whether it succeeded, the values meaning it did, and
    /// where its message is: a refusal (an expired login) is an error, not an empty page.
    pub ok: Option<String>,
    pub ok_values: Option<Vec<Value>>,
    pub message: Option<String>,
    /// Paging by cursor: where the next cursor is, and the query parameter taking it.
    pub cursor: Option<String>,
    pub cursor_param: Option<String>,
    /// Paging by number: the query parameter and the first page's number.
    pub page_param: Option<String>,
    pub first_page: Option<u64>,
    /// Pages read per visit at most (default 5). A visit also stops at a page of posts
    /// all seen before: it has caught up with the last one.
    pub max_pages: Option<usize>,
    /// Credentials and other headers: the value itself, or the name of the environment
    /// variable holding it (kept out of the configuration file).
    pub cookie: Option<String>,
    pub cookie_env: Option<String>,
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    #[serde(default)]
    pub headers_env: BTreeMap<String, String>,
}

/// A JSON pointer in which a `*` segment stands for every element of an array.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pointer {
    text: String,
    segments: Vec<Segment>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Segment {
    Key(String),
    Each,
}

impl Pointer {
    pub fn parse(text: &str) -> Result<Pointer, String> {
        if text.is_empty() {
            return Ok(Pointer {
                text: String::new(),
                segments: Vec::new(),
            });
        }
        let Some(rest) = text.strip_prefix('/') else {
            return Err(format!("{text:?} is not a JSON pointer (it starts with /)"));
        };
        let segments = rest
            .split('/')
            .map(|s| match s {
                "*" => Segment::Each,
                key => Segment::Key(key.replace("~1", "/").replace("~0", "~")),
            })
            .collect();
        Ok(Pointer {
            text: text.to_string(),
            segments,
        })
    }

    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// Every value the pointer reaches, in document order.
    pub fn select<'v>(&self, value: &'v Value) -> Vec<&'v Value> {
        let mut current = vec![value];
        for segment in &self.segments {
            let mut next = Vec::new();
            for value in current {
                match (segment, value) {
                    (Segment::Each, Value::Array(items)) => next.extend(items),
                    (Segment::Each, Value::Object(map)) => next.extend(map.values()),
                    (Segment::Key(key), Value::Object(map)) => next.extend(map.get(key)),
                    (Segment::Key(key), Value::Array(items)) => {
                        next.extend(key.parse::<usize>().ok().and_then(|i| items.get(i)))
                    }
                    _ => {}
                }
            }
            current = next;
        }
        current
    }

    /// The first value reached that is not null.
    pub fn first<'v>(&self, value: &'v Value) -> Option<&'v Value> {
        self.select(value).into_iter().find(|v| !v.is_null())
    }
}

/// Where the whole text of a cut post is.
#[derive(Debug, Clone)]
struct LongText {
    flag: Pointer,
    url: String,
    text: Pointer,
}

/// How the next page is asked for.
#[derive(Debug, Clone)]
enum Paging {
    Cursor { pointer: Pointer, param: String },
    Number { param: String, first: u64 },
    None,
}

/// A checked mapping, ready to read responses.
#[derive(Debug, Clone)]
pub struct ApiMapping {
    items: Vec<Pointer>,
    id: Pointer,
    text: Pointer,
    title: Option<Pointer>,
    author: Option<Pointer>,
    time: Option<Pointer>,
    url: Option<Pointer>,
    url_template: Option<String>,
    reposts: Option<Pointer>,
    comments: Option<Pointer>,
    likes: Option<Pointer>,
    ip_region: Option<Pointer>,
    long_text: Option<LongText>,
    ok: Option<(Pointer, Vec<Value>)>,
    message: Option<Pointer>,
    paging: Paging,
    pub max_pages: usize,
    credentials: Credentials,
    pub platform: Option<&'static str>,
}

#[derive(Debug, Clone, Default)]
struct Credentials {
    cookie: Option<String>,
    cookie_env: Option<String>,
    headers: BTreeMap<String, String>,
    headers_env: BTreeMap<String, String>,
}

/// One post read from a response.
#[derive(Debug, Clone, PartialEq)]
pub struct Post {
    pub id: String,
    pub url: Url,
    pub title: String,
    pub text: String,
    pub author: Option<String>,
    pub published_at: Option<DateTime<FixedOffset>>,
    pub engagement: Option<Engagement>,
    pub ip_region: Option<String>,
    /// The post's own JSON, kept as evidence.
    pub raw: Vec<u8>,
    /// Where the whole text is, when the API cut it.
    pub long_text_url: Option<Url>,
}

/// One response read: its posts (or, for each post that could not be read, why) and
/// the address of the next page, if there is one.
#[derive(Debug)]
pub struct ApiPage {
    pub posts: Vec<Result<Post, String>>,
    pub next: Option<Url>,
}

const DEFAULT_MAX_PAGES: usize = 5;
/// Characters of a post's text used as its title when the API gives none.
const TITLE_CHARS: usize = 40;

impl ApiConfig {
    /// Checks the mapping: the preset's fields with this table's overrides. Errors name
    /// the field (`api.text: …`).
    pub fn build(&self) -> Result<ApiMapping, String> {
        let base = self.preset.map(Preset::defaults).unwrap_or_default();
        let pick = |own: &Option<String>, preset: &Option<String>| own.clone().or(preset.clone());
        let pointer = |field: &str, own: &Option<String>, preset: &Option<String>| {
            pick(own, preset)
                .map(|p| Pointer::parse(&p).map_err(|e| format!("api.{field}: {e}")))
                .transpose()
        };
        let required = |field: &str, own: &Option<String>, preset: &Option<String>| {
            pointer(field, own, preset)?
                .ok_or_else(|| format!("api.{field}: missing (or choose a preset)"))
        };
        let items = self
            .items
            .clone()
            .or(base.items.clone())
            .ok_or("api.items: missing: where the posts are in a response (or choose a preset)")?
            .iter()
            .map(|p| Pointer::parse(p).map_err(|e| format!("api.items: {e}")))
            .collect::<Result<Vec<_>, _>>()?;
        let url = pointer("url", &self.url, &base.url)?;
        let url_template = pick(&self.url_template, &base.url_template);
        // Our own url wins over the preset's template, and the reverse.
        let (url, url_template) = match (&self.url, &self.url_template) {
            (Some(_), None) => (url, None),
            (None, Some(_)) => (None, url_template),
            _ => (url, url_template),
        };
        if url.is_none() && url_template.is_none() {
            return Err(
                "api.url: missing: a pointer to the post's address, or url_template with {id}"
                    .into(),
            );
        }
        if let Some(template) = &url_template {
            if !template.contains("{id}") {
                return Err(format!("api.url_template: {template:?} has no {{id}}"));
            }
        }
        let ok = match pointer("ok", &self.ok, &base.ok)? {
            Some(p) => {
                let values = self
                    .ok_values
                    .clone()
                    .or(base.ok_values.clone())
                    .ok_or("api.ok_values: missing: the values of `ok` that mean success")?;
                Some((p, values))
            }
            None => None,
        };
        let paging = match (
            pointer("cursor", &self.cursor, &base.cursor)?,
            pick(&self.page_param, &base.page_param),
        ) {
            // Our own choice wins over the preset's.
            (Some(_), Some(param)) if self.page_param.is_some() && self.cursor.is_none() => {
                Paging::Number {
                    param,
                    first: self.first_page.or(base.first_page).unwrap_or(1),
                }
            }
            (Some(pointer), _) => Paging::Cursor {
                pointer,
                param: pick(&self.cursor_param, &base.cursor_param)
                    .ok_or("api.cursor_param: missing: the query parameter taking the cursor")?,
            },
            (None, Some(param)) => Paging::Number {
                param,
                first: self.first_page.or(base.first_page).unwrap_or(1),
            },
            (None, None) => Paging::None,
        };
        let max_pages = self.max_pages.unwrap_or(DEFAULT_MAX_PAGES);
        if max_pages == 0 {
            return Err("api.max_pages: must be at least 1".into());
        }
        for name in self.headers.keys().chain(self.headers_env.keys()) {
            reqwest::header::HeaderName::from_bytes(name.as_bytes())
                .map_err(|_| format!("api.headers: {name:?} is not a header name"))?;
        }
        Ok(ApiMapping {
            items,
            id: required("id", &self.id, &base.id)?,
            text: required("text", &self.text, &base.text)?,
            title: pointer("title", &self.title, &base.title)?,
            author: pointer("author", &self.author, &base.author)?,
            time: pointer("time", &self.time, &base.time)?,
            url,
            url_template,
            reposts: pointer("reposts", &self.reposts, &base.reposts)?,
            comments: pointer("comments", &self.comments, &base.comments)?,
            likes: pointer("likes", &self.likes, &base.likes)?,
            ip_region: pointer("ip_region", &self.ip_region, &base.ip_region)?,
            long_text: match (
                pointer("long_text_flag", &self.long_text_flag, &base.long_text_flag)?,
                pick(&self.long_text_url, &base.long_text_url),
                pointer("long_text", &self.long_text, &base.long_text)?,
            ) {
                (Some(flag), Some(url), Some(text)) if url.contains("{id}") => {
                    Some(LongText { flag, url, text })
                }
                (None, None, None) => None,
                _ => {
                    return Err(
                        "api.long_text_flag, long_text_url (with {id}) and long_text go together"
                            .into(),
                    )
                }
            },
            ok,
            message: pointer("message", &self.message, &base.message)?,
            paging,
            max_pages,
            credentials: Credentials {
                cookie: self.cookie.clone(),
                cookie_env: self.cookie_env.clone(),
                headers: self.headers.clone(),
                headers_env: self.headers_env.clone(),
            },
            platform: self.preset.map(Preset::platform),
        })
    }
}

/// Why a response was refused as a whole.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ApiError {
    #[error("the answer is not JSON ({0})")]
    NotJson(String),
    #[error("the API refused the request: {0}")]
    Refused(String),
}

impl ApiMapping {
    /// The headers to send: credentials from the configuration or the environment.
    /// A credential whose variable is unset is an error (else the crawl would look
    /// empty instead of unauthorised).
    pub fn headers(&self) -> Result<reqwest::header::HeaderMap, String> {
        use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
        let from_env = |field: &str, var: &str| {
            std::env::var(var).map_err(|_| {
                format!(
                    "api.{field}: the environment variable {var} holding the credential is not set"
                )
            })
        };
        let mut named: Vec<(String, String)> = self
            .credentials
            .headers
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        for (name, var) in &self.credentials.headers_env {
            named.push((name.clone(), from_env("headers_env", var)?));
        }
        if let Some(cookie) = &self.credentials.cookie {
            named.push(("cookie".into(), cookie.clone()));
        }
        if let Some(var) = &self.credentials.cookie_env {
            named.push(("cookie".into(), from_env("cookie_env", var)?));
        }
        let mut headers = HeaderMap::new();
        for (name, value) in named {
            let header = HeaderName::from_bytes(name.as_bytes())
                .map_err(|_| format!("api.headers: {name:?} is not a header name"))?;
            let mut value = HeaderValue::from_str(value.trim())
                .map_err(|_| format!("api.headers: the value of {name:?} is not a header value"))?;
            value.set_sensitive(true);
            headers.insert(header, value);
        }
        Ok(headers)
    }

    /// Where a refused request should look: the credential, if one is configured.
    pub fn credential_hint(&self) -> Option<String> {
        let c = &self.credentials;
        if let Some(var) = &c.cookie_env {
            return Some(format!("the cookie in {var} may have expired"));
        }
        if c.cookie.is_some() {
            return Some("the configured cookie may have expired".into());
        }
        if let Some(var) = c.headers_env.values().next() {
            return Some(format!("the credential in {var} may have expired"));
        }
        None
    }

    /// The first page's address: the source's URL with the first page number, if
    /// paging is by number.
    pub fn first_page(&self, source_url: &Url) -> Url {
        match &self.paging {
            Paging::Number { param, first } => with_param(source_url, param, &first.to_string()),
            _ => source_url.clone(),
        }
    }

    /// Reads one response fetched from `page_url`.
    pub fn read(
        &self,
        page_url: &Url,
        body: &[u8],
        now: DateTime<Utc>,
    ) -> Result<ApiPage, ApiError> {
        let value: Value = serde_json::from_slice(body).map_err(|e| {
            let start = String::from_utf8_lossy(&body[..body.len().min(200)]).to_string();
            if start.trim_start().starts_with('<') {
                ApiError::NotJson(format!(
                    "a web page came back instead, often a login page: {e}"
                ))
            } else {
                ApiError::NotJson(e.to_string())
            }
        })?;
        if let Some(refusal) = self.refusal(&value) {
            return Err(ApiError::Refused(refusal));
        }
        let mut posts = Vec::new();
        for pointer in &self.items {
            for found in pointer.select(&value) {
                match found {
                    Value::Array(items) => {
                        posts.extend(items.iter().map(|i| self.post(page_url, i, now)))
                    }
                    Value::Object(_) => posts.push(self.post(page_url, found, now)),
                    _ => {}
                }
            }
        }
        let next = match &self.paging {
            Paging::None => None,
            _ if posts.is_empty() => None,
            Paging::Cursor { pointer, param } => pointer
                .first(&value)
                .map(value_text)
                .filter(|c| !c.is_empty() && c != "0")
                .map(|cursor| with_param(page_url, param, &cursor)),
            Paging::Number { param, first } => {
                let current = page_url
                    .query_pairs()
                    .find(|(k, _)| k == param)
                    .and_then(|(_, v)| v.parse::<u64>().ok())
                    .unwrap_or(*first);
                Some(with_param(page_url, param, &(current + 1).to_string()))
            }
        };
        Ok(ApiPage { posts, next })
    }

    fn post(&self, page_url: &Url, item: &Value, now: DateTime<Utc>) -> Result<Post, String> {
        let text_at = |p: Option<&Pointer>| {
            p.and_then(|p| p.first(item))
                .map(value_text)
                .map(|t| plain_text(&t))
                .filter(|t| !t.is_empty())
        };
        let id = self
            .id
            .first(item)
            .map(value_text)
            .filter(|id| !id.is_empty())
            .ok_or_else(|| format!("a post without an id at {}", self.id.as_str()))?;
        let at = |message: String| format!("post {id}: {message}");
        // A video without a description is still a post: its text is then its title.
        let title = text_at(self.title.as_ref());
        let text = text_at(Some(&self.text))
            .or_else(|| title.clone())
            .ok_or_else(|| at(format!("no text at {}", self.text.as_str())))?;
        let url = match (&self.url, &self.url_template) {
            (Some(pointer), _) if pointer.first(item).is_some() => {
                let link = value_text(pointer.first(item).expect("checked"));
                page_url
                    .join(link.trim())
                    .map_err(|e| at(format!("{}: {e}: {link:?}", pointer.as_str())))?
            }
            (_, Some(template)) => {
                let id: String = url::form_urlencoded::byte_serialize(id.as_bytes()).collect();
                Url::parse(&template.replace("{id}", &id))
                    .map_err(|e| at(format!("url_template: {e}")))?
            }
            (Some(pointer), None) => return Err(at(format!("no address at {}", pointer.as_str()))),
            (None, None) => unreachable!("build() requires url or url_template"),
        };
        if !matches!(url.scheme(), "http" | "https") {
            return Err(at(format!("the address {url} is not http(s)")));
        }
        let published_at = match self.time.as_ref().and_then(|p| p.first(item)) {
            None => None,
            Some(value) => Some(parse_time(value, now).ok_or_else(|| {
                at(format!(
                    "{}: {value} is not a time",
                    self.time.as_ref().expect("set").as_str()
                ))
            })?),
        };
        let count =
            |p: &Option<Pointer>| p.as_ref().and_then(|p| p.first(item)).and_then(parse_count);
        let (reposts, comments, likes) = (
            count(&self.reposts),
            count(&self.comments),
            count(&self.likes),
        );
        let engagement =
            (reposts.is_some() || comments.is_some() || likes.is_some()).then(|| Engagement {
                reposts: reposts.unwrap_or(0),
                comments: comments.unwrap_or(0),
                likes: likes.unwrap_or(0),
            });
        let title = title.unwrap_or_else(|| title_from(&text));
        let long_text_url = self.long_text.as_ref().and_then(|long| {
            let cut = long.flag.first(item).is_some_and(|v| {
                v == &Value::Bool(true) || value_text(v) == "1" || value_text(v) == "true"
            });
            let id: String = url::form_urlencoded::byte_serialize(id.as_bytes()).collect();
            cut.then(|| page_url.join(&long.url.replace("{id}", &id)).ok())
                .flatten()
        });
        Ok(Post {
            id,
            url,
            title,
            text,
            author: text_at(self.author.as_ref()),
            published_at,
            engagement,
            ip_region: text_at(self.ip_region.as_ref())
                .map(|r| region_name(&r))
                .filter(|r| !r.is_empty()),
            raw: serde_json::to_vec(item).unwrap_or_default(),
            long_text_url,
        })
    }
}

impl ApiMapping {
    /// Why an answer says it failed (its `ok` status is not one of `ok_values`), if it does.
    fn refusal(&self, value: &Value) -> Option<String> {
        let (pointer, values) = self.ok.as_ref()?;
        let status = pointer.first(value);
        if status.is_some_and(|s| values.iter().any(|v| loosely_equal(v, s))) {
            return None;
        }
        let message = self
            .message
            .as_ref()
            .and_then(|p| p.first(value))
            .map(value_text)
            .unwrap_or_default();
        let status = status.map_or("absent".into(), |s| s.to_string());
        Some(format!(
            "{} = {status}{}{}",
            pointer.as_str(),
            if message.is_empty() { "" } else { ": " },
            bounded(&message, 200)
        ))
    }

    /// The whole text from the answer at a post's `long_text_url`, if it has one.
    pub fn read_long_text(&self, body: &[u8]) -> Option<String> {
        let long = self.long_text.as_ref()?;
        let value: Value = serde_json::from_slice(body).ok()?;
        if self.refusal(&value).is_some() {
            return None;
        }
        let text = plain_text(&value_text(long.text.first(&value)?));
        (!text.is_empty()).then_some(text)
    }
}

fn with_param(url: &Url, param: &str, value: &str) -> Url {
    let kept: Vec<(String, String)> = url
        .query_pairs()
        .filter(|(k, _)| k != param)
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    let mut next = url.clone();
    next.query_pairs_mut()
        .clear()
        .extend_pairs(kept)
        .append_pair(param, value);
    next
}

/// Numbers and strings compare by their text: APIs write `"ok": 1` and `"ok": "1"`.
fn loosely_equal(expected: &Value, found: &Value) -> bool {
    expected == found || value_text(expected) == value_text(found)
}

fn value_text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

fn bounded(text: &str, chars: usize) -> String {
    match text.char_indices().nth(chars) {
        Some((at, _)) => format!("{}…", &text[..at]),
        None => text.to_string(),
    }
}

/// The text of markup with every tag left out, for a fragment too deep to parse.
fn without_tags(fragment: &str) -> String {
    let mut out = String::with_capacity(fragment.len());
    let mut in_tag = false;
    for c in fragment.chars() {
        match c {
            '<' => in_tag = true,
            '>' if in_tag => in_tag = false,
            c if !in_tag => out.push(c),
            _ => {}
        }
    }
    out.trim().to_string()
}

/// The text of an HTML fragment (posts carry links, line breaks and emoji images whose
/// `alt` says 「[哭]」, which matters to sentiment).
fn plain_text(fragment: &str) -> String {
    if !fragment.contains(['<', '&']) {
        return fragment.trim().to_string();
    }
    if crate::parsing::check_nesting(fragment).is_err() {
        // Too deep to parse: keep the text between the tags.
        return without_tags(fragment);
    }
    let html = scraper::Html::parse_fragment(fragment);
    let mut out = String::new();
    for node in html.root_element().descendants() {
        match node.value() {
            scraper::Node::Text(text) => out.push_str(text),
            scraper::Node::Element(e) if e.name() == "br" || e.name() == "p" => out.push('\n'),
            scraper::Node::Element(e) if e.name() == "img" => {
                out.push_str(e.attr("alt").unwrap_or_default())
            }
            _ => {}
        }
    }
    out.trim().to_string()
}

/// A post's first line, shortened: social posts have no title of their own.
fn title_from(text: &str) -> String {
    let line = text
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .unwrap_or_default();
    bounded(line, TITLE_CHARS)
}

/// 「发布于 河南」, 「IP属地：河南」 → 「河南」.
fn region_name(shown: &str) -> String {
    let mut region = shown.trim();
    for prefix in ["发布于", "IP属地：", "IP属地:", "IP属地"] {
        region = region.strip_prefix(prefix).unwrap_or(region).trim();
    }
    region.to_string()
}

/// A count as APIs show it: `12`, `"12"`, `"1.2万"`, `"100万+"`, `"3亿"`.
fn parse_count(value: &Value) -> Option<u64> {
    match value {
        Value::Number(n) => n
            .as_u64()
            .or_else(|| n.as_f64().filter(|f| *f >= 0.0).map(|f| f as u64)),
        Value::String(s) => {
            let s = s.trim().trim_end_matches('+');
            let (number, factor) = if let Some(n) = s.strip_suffix('万') {
                (n, 10_000.0)
            } else if let Some(n) = s.strip_suffix('亿') {
                (n, 100_000_000.0)
            } else {
                (s, 1.0)
            };
            let n: f64 = number.trim().parse().ok()?;
            (n >= 0.0).then(|| (n * factor).round() as u64)
        }
        _ => None,
    }
}

/// A post's time: seconds or milliseconds since 1970, RFC 3339, the Weibo form
/// `Sat Nov 28 10:05:00 +0800 2026`, Chinese dates, or relative times (`3小时前`,
/// `昨天 10:05`, `11-28`) counted from `now`.
fn parse_time(value: &Value, now: DateTime<Utc>) -> Option<DateTime<FixedOffset>> {
    let epoch = |n: i64| {
        let (secs, millis) = if n > 100_000_000_000 {
            (n / 1000, n % 1000)
        } else {
            (n, 0)
        };
        beijing()
            .timestamp_opt(secs, (millis * 1_000_000) as u32)
            .single()
    };
    match value {
        Value::Number(n) => epoch(n.as_i64()?),
        Value::String(s) => {
            let s = s.trim();
            if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) {
                return epoch(s.parse().ok()?);
            }
            if let Ok(time) = DateTime::parse_from_str(s, "%a %b %d %H:%M:%S %z %Y") {
                return Some(time);
            }
            if let Some(time) = parse_chinese_datetime(s) {
                return Some(time);
            }
            // 「11-28」: a day of this year, without a time.
            let day_only = s.len() <= 5
                && s.contains('-')
                && s.bytes().all(|b| b.is_ascii_digit() || b == b'-');
            if day_only {
                return parse_relative_time(&format!("{s} 00:00"), now);
            }
            parse_relative_time(s, now)
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pointers_reach_every_element_with_a_star() {
        let value: Value = serde_json::from_str(
            r#"{"data":{"cards":[{"mblog":{"id":1}},{"card_group":[{"mblog":{"id":2}}]},{"mblog":null}],"a/b":{"~":3}}}"#,
        )
        .unwrap();
        let ids = |p: &str| -> Vec<String> {
            Pointer::parse(p)
                .unwrap()
                .select(&value)
                .into_iter()
                .map(|v| v.to_string())
                .collect()
        };
        assert_eq!(ids("/data/cards/*/mblog/id"), ["1"]);
        assert_eq!(ids("/data/cards/*/card_group/*/mblog/id"), ["2"]);
        assert_eq!(ids("/data/cards/1/card_group/0/mblog/id"), ["2"]);
        assert_eq!(ids("/data/a~1b/~0"), ["3"]);
        assert!(ids("/data/nothing/*").is_empty());
        assert!(Pointer::parse("data/cards")
            .unwrap_err()
            .contains("starts with /"));
    }

    #[test]
    fn counts_and_times_in_the_forms_platforms_show() {
        assert_eq!(parse_count(&Value::from(12)), Some(12));
        assert_eq!(parse_count(&Value::from("1.2万")), Some(12_000));
        assert_eq!(parse_count(&Value::from("100万+")), Some(1_000_000));
        assert_eq!(parse_count(&Value::from("转发")), None);
        let now = DateTime::parse_from_rfc3339("2026-11-30T12:00:00+08:00")
            .unwrap()
            .with_timezone(&Utc);
        let time = |v: Value| parse_time(&v, now).map(|t| t.to_rfc3339());
        assert_eq!(
            time(Value::from("Sat Nov 28 10:05:00 +0800 2026")).as_deref(),
            Some("2026-11-28T10:05:00+08:00")
        );
        assert_eq!(
            time(Value::from(1_764_295_500)).as_deref(),
            Some("2025-11-28T10:05:00+08:00")
        );
        assert_eq!(
            time(Value::from(1_764_295_500_000i64)).as_deref(),
            Some("2025-11-28T10:05:00+08:00")
        );
        assert_eq!(
            time(Value::from("3小时前")).as_deref(),
            Some("2026-11-30T09:00:00+08:00")
        );
        assert_eq!(
            time(Value::from("11-28")).as_deref(),
            Some("2026-11-28T00:00:00+08:00")
        );
        assert_eq!(time(Value::from("不久以前")), None);
        assert_eq!(region_name("发布于 河南"), "河南");
        assert_eq!(region_name("IP属地：北京"), "北京");
    }

    #[test]
    fn post_html_becomes_text_with_emoji_names_kept() {
        assert_eq!(
            plain_text(
                r#"孩子在学校被打了<img alt="[哭]" src="x.png"><br />求助 <a href="/k">#温县#</a> &amp; 老师"#
            ),
            "孩子在学校被打了[哭]\n求助 #温县# & 老师"
        );
        assert_eq!(title_from("\n第一行很短\n第二行"), "第一行很短");
    }

    #[test]
    fn a_mapping_without_what_a_post_needs_names_the_field() {
        let err = |toml_text: &str| {
            toml::from_str::<ApiConfig>(toml_text)
                .unwrap()
                .build()
                .unwrap_err()
        };
        assert!(err("").starts_with("api.items: missing"));
        assert!(
            err("items = [\"/data\"]\nid = \"/id\"\ntext = \"/t\"").starts_with("api.url: missing")
        );
        assert!(err("items = [\"data\"]").starts_with("api.items:"));
        assert!(err("preset = \"weibo\"\nurl_template = \"https://x/\"").contains("has no {id}"));
        assert!(
            err("preset = \"weibo\"\nlong_text_url = \"/statuses/extend\"").contains("go together")
        );
        assert!(
            err("preset = \"weibo\"\nok = \"/status\"\nok_values = []\nmax_pages = 0")
                .starts_with("api.max_pages")
        );
    }
}
