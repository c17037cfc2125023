//! Generic extraction of a Chinese news article: title, publish time, 「来源」, author and
//! body, with no per-site rules.
//!
//! The body is the block whose paragraphs carry the most text that is not link text:
//! navigation, footers and "related articles" lists are mostly links, the article is not.

use chrono::{DateTime, Datelike, Duration, FixedOffset, NaiveDate, TimeZone, Utc};
use regex::Regex;
use scraper::{ElementRef, Html, Selector};
use std::collections::{HashMap, HashSet};
use std::sync::LazyLock;
use yuqing_model::beijing;

#[derive(Debug, Clone, PartialEq)]
pub struct Article {
    pub title: String,
    pub published_at: Option<DateTime<FixedOffset>>,
    pub origin: Option<String>,
    pub author: Option<String>,
    pub content: String,
}

/// `[source.extract]`: CSS selectors for the sites where the generic extractor goes
/// wrong. Each one set and found on a page wins over the generic guess for its field;
/// where it finds nothing, the generic guess stands.
#[derive(Debug, Clone, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExtractConfig {
    pub title: Option<String>,
    /// The element holding the publish time (its text, or its `datetime` or `content`).
    pub time: Option<String>,
    /// The element(s) of the body; their paragraphs, or their text where they have none.
    pub content: Option<String>,
    /// Elements removed from the body first (share bars, editor's notes, ads).
    pub remove: Option<String>,
    pub origin: Option<String>,
    pub author: Option<String>,
}

/// [`ExtractConfig`] with its selectors parsed.
#[derive(Debug, Clone, Default)]
pub struct ExtractRules {
    title: Option<Selector>,
    time: Option<Selector>,
    content: Option<Selector>,
    remove: Option<Selector>,
    origin: Option<Selector>,
    author: Option<Selector>,
}

impl ExtractConfig {
    /// Parses the selectors; an error names the field (`extract.content: …`).
    pub fn build(&self) -> Result<ExtractRules, String> {
        let parse = |field: &str, css: &Option<String>| {
            css.as_deref()
                .map(|css| {
                    Selector::parse(css).map_err(|e| format!("extract.{field}: {css:?}: {e}"))
                })
                .transpose()
        };
        Ok(ExtractRules {
            title: parse("title", &self.title)?,
            time: parse("time", &self.time)?,
            content: parse("content", &self.content)?,
            remove: parse("remove", &self.remove)?,
            origin: parse("origin", &self.origin)?,
            author: parse("author", &self.author)?,
        })
    }
}

fn selector(css: &str) -> Selector {
    Selector::parse(css).expect("valid built-in selector")
}

static TITLE: LazyLock<Selector> = LazyLock::new(|| selector("title"));
static H1: LazyLock<Selector> = LazyLock::new(|| selector("h1"));
static OG_TITLE: LazyLock<Selector> = LazyLock::new(|| selector(r#"meta[property="og:title"]"#));
static META: LazyLock<Selector> = LazyLock::new(|| selector("meta[content]"));
static TIME: LazyLock<Selector> = LazyLock::new(|| selector("time[datetime]"));
static PARAGRAPH: LazyLock<Selector> = LazyLock::new(|| selector("p"));
static LINK: LazyLock<Selector> = LazyLock::new(|| selector("a"));
static BODY: LazyLock<Selector> = LazyLock::new(|| selector("body"));

/// Dates as Chinese pages print them: `2023-8-23 15:18:02`, `2023年08月23日 15:18`,
/// `2023/08/23`, `2023.08.23 15:18`.
static DATE_TIME: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(20\d{2}|19\d{2})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?(?:\s*(\d{1,2})\s*[:：时]\s*(\d{1,2})(?:\s*[:：分]\s*(\d{1,2}))?)?",
    )
    .expect("valid regex")
});
/// Times as social pages print them, relative to when the page was fetched: `刚刚`,
/// `5分钟前`, `3小时前`, `2天前`, `昨天 15:20`, `今天 08:05`, and `11-28 15:30` (this year).
static RELATIVE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(刚刚)|(\d{1,3})\s*(秒|分钟|小时|天)前|(今天|昨天|前天)\s*(\d{1,2})[:：](\d{2})|(?:^|[^\d-])(\d{1,2})[-月](\d{1,2})日?\s+(\d{1,2})[:：](\d{2})",
    )
    .expect("valid regex")
});
static ORIGIN: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?:来源|来自|稿源)\s*[：:]\s*([^\s　|｜<>]{2,30})").expect("valid regex")
});
static AUTHOR: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?:记者|作者|编辑|通讯员)\s*[：:]?\s*([\p{Han}·]{2,4}(?:、[\p{Han}·]{2,4})*)")
        .expect("valid regex")
});
/// Meta tags that carry a publish time on news sites.
const TIME_META_NAMES: &[&str] = &[
    "article:published_time",
    "pubdate",
    "publishdate",
    "publish_date",
    "og:release_date",
    "published_time",
];

/// The first relative time in `text` (see [`RELATIVE`]), counted back from `now`, in
/// Beijing time.
pub fn parse_relative_time(text: &str, now: DateTime<Utc>) -> Option<DateTime<FixedOffset>> {
    let caps = RELATIVE.captures(text)?;
    let now = now.with_timezone(&beijing());
    let number = |i: usize| caps.get(i).and_then(|m| m.as_str().parse::<i64>().ok());
    if caps.get(1).is_some() {
        return Some(now);
    }
    if let (Some(n), Some(unit)) = (number(2), caps.get(3)) {
        let ago = match unit.as_str() {
            "秒" => Duration::seconds(n),
            "分钟" => Duration::minutes(n),
            "小时" => Duration::hours(n),
            _ => Duration::days(n),
        };
        return Some(now - ago);
    }
    let at = |date: NaiveDate, hour: i64, minute: i64| {
        let time = date.and_hms_opt(u32::try_from(hour).ok()?, u32::try_from(minute).ok()?, 0)?;
        beijing().from_local_datetime(&time).single()
    };
    if let Some(day) = caps.get(4) {
        let back = match day.as_str() {
            "今天" => 0,
            "昨天" => 1,
            _ => 2,
        };
        return at(
            now.date_naive() - Duration::days(back),
            number(5)?,
            number(6)?,
        );
    }
    // Month and day without a year: this year, or last year if that is still to come.
    let (month, day) = (
        u32::try_from(number(7)?).ok()?,
        u32::try_from(number(8)?).ok()?,
    );
    let this_year = NaiveDate::from_ymd_opt(now.year(), month, day)?;
    let time = at(this_year, number(9)?, number(10)?)?;
    if time > now + Duration::days(1) {
        return at(
            NaiveDate::from_ymd_opt(now.year() - 1, month, day)?,
            number(9)?,
            number(10)?,
        );
    }
    Some(time)
}

/// Parses the first date (and time) in `text`, as Beijing time when no zone is given.
pub fn parse_chinese_datetime(text: &str) -> Option<DateTime<FixedOffset>> {
    if let Ok(exact) = DateTime::parse_from_rfc3339(text.trim()) {
        return Some(exact);
    }
    let caps = DATE_TIME.captures(text)?;
    let number = |i: usize| caps.get(i).and_then(|m| m.as_str().parse::<u32>().ok());
    let date = NaiveDate::from_ymd_opt(number(1)? as i32, number(2)?, number(3)?)?;
    let time = date.and_hms_opt(
        number(4).unwrap_or(0),
        number(5).unwrap_or(0),
        number(6).unwrap_or(0),
    )?;
    beijing().from_local_datetime(&time).single()
}

fn text_of(element: ElementRef) -> String {
    normalize_space(&element.text().collect::<String>())
}

fn normalize_space(text: &str) -> String {
    text.split(|c: char| c.is_whitespace() || c == '\u{3000}')
        .filter(|s| !s.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

/// A heading's text up to the first block inside it: on a page that never closes its
/// `<h1>`, the parser puts the rest of the page inside the heading.
fn heading_text(heading: ElementRef) -> String {
    let mut text = String::new();
    for node in heading.descendants().skip(1) {
        match node.value() {
            scraper::Node::Element(e)
                if matches!(
                    e.name(),
                    "div" | "p" | "table" | "ul" | "ol" | "section" | "article" | "li"
                ) =>
            {
                break
            }
            scraper::Node::Text(t) => text.push_str(t),
            _ => {}
        }
    }
    normalize_space(&text)
}

fn extract_title(doc: &Html) -> String {
    let page_title = doc.select(&TITLE).next().map(text_of).unwrap_or_default();
    // The headline is the longest <h1> that the <title> repeats; sites often also have a
    // logo <h1> with the site name, which the <title> repeats too.
    let h1s: Vec<String> = doc
        .select(&H1)
        .map(heading_text)
        .filter(|t| t.chars().count() >= 4)
        .collect();
    if let Some(h1) = h1s
        .iter()
        .filter(|h| page_title.contains(h.as_str()))
        .max_by_key(|h| h.chars().count())
    {
        return h1.clone();
    }
    if let Some(og) = doc
        .select(&OG_TITLE)
        .next()
        .and_then(|m| m.value().attr("content"))
        .map(normalize_space)
        .filter(|t| !t.is_empty())
    {
        return og;
    }
    if let Some(h1) = h1s.into_iter().next() {
        return h1;
    }
    // No <h1>: the headline is the longest text on the page that the <title> repeats
    // (a table cell on government sites), if it is most of the <title>.
    let title_chars = page_title.chars().count();
    let repeated = doc
        .root_element()
        .descendants()
        .filter(|n| {
            n.parent()
                .and_then(|p| {
                    p.value()
                        .as_element()
                        .map(|e| !matches!(e.name(), "title" | "script" | "style"))
                })
                .unwrap_or(false)
        })
        .filter_map(|n| n.value().as_text().map(|t| normalize_space(t)))
        .filter(|t| (4..=120).contains(&t.chars().count()) && page_title.contains(t.as_str()))
        .max_by_key(|t| t.chars().count());
    if let Some(headline) = repeated.filter(|h| 2 * h.chars().count() >= title_chars) {
        return headline;
    }
    // "Headline_Channel_Site" or "Headline - Site": the longest part is the headline.
    page_title
        .split(['_', '|', '｜'])
        .flat_map(|part| part.split(" - "))
        .map(str::trim)
        .max_by_key(|part| part.chars().count())
        .unwrap_or_default()
        .to_string()
}

fn extract_time(
    doc: &Html,
    page_text: &str,
    fetched_at: DateTime<Utc>,
) -> Option<DateTime<FixedOffset>> {
    for meta in doc.select(&META) {
        let el = meta.value();
        let name = el
            .attr("property")
            .or(el.attr("name"))
            .or(el.attr("itemprop"));
        if name.is_some_and(|n| TIME_META_NAMES.contains(&n.to_ascii_lowercase().as_str())) {
            if let Some(time) = el.attr("content").and_then(parse_chinese_datetime) {
                return Some(time);
            }
        }
    }
    if let Some(time) = doc
        .select(&TIME)
        .filter_map(|t| t.value().attr("datetime"))
        .find_map(parse_chinese_datetime)
    {
        return Some(time);
    }
    // A labelled time beats the first date on the page (which may be a copyright line).
    for label in ["发布时间", "发布日期", "时间", "日期"] {
        if let Some(at) = page_text.find(label) {
            let window: String = page_text[at..].chars().take(40).collect();
            if let Some(time) = parse_chinese_datetime(&window) {
                return Some(time);
            }
        }
    }
    parse_chinese_datetime(page_text).or_else(|| parse_relative_time(page_text, fetched_at))
}

/// The paragraphs of the elements a source's `content` selector picks (their text where
/// they have no paragraphs), without what its `remove` selector names.
fn selected_content(doc: &Html, content: &Selector, remove: Option<&Selector>) -> String {
    let removed: HashSet<_> = remove
        .map(|r| doc.select(r).map(|e| e.id()).collect())
        .unwrap_or_default();
    let kept = |e: &ElementRef| {
        !e.ancestors().any(|a| removed.contains(&a.id())) && !removed.contains(&e.id())
    };
    let mut paragraphs = Vec::new();
    for block in doc.select(content).filter(|b| kept(b)) {
        let inside: Vec<String> = block
            .select(&PARAGRAPH)
            .filter(|p| kept(p))
            .map(text_of)
            .filter(|t| !t.is_empty())
            .collect();
        if inside.is_empty() {
            paragraphs.extend(block_lines(block, &removed));
        } else {
            paragraphs.extend(inside);
        }
    }
    let mut seen = HashSet::new();
    paragraphs.retain(|p| seen.insert(p.clone()));
    paragraphs.join("\n")
}

/// The lines of a block whose text is broken by `<br>` (or by inner blocks) rather than
/// set in paragraphs, without the elements in `removed`.
fn block_lines(block: ElementRef, removed: &HashSet<ego_tree::NodeId>) -> Vec<String> {
    let mut text = String::new();
    for node in block.descendants() {
        if removed.contains(&node.id()) || node.ancestors().any(|a| removed.contains(&a.id())) {
            continue;
        }
        let in_script = node
            .parent()
            .and_then(|p| {
                p.value()
                    .as_element()
                    .map(|e| matches!(e.name(), "script" | "style"))
            })
            .unwrap_or(false);
        match node.value() {
            scraper::Node::Text(t) if !in_script => text.push_str(t),
            scraper::Node::Element(e) if matches!(e.name(), "br" | "div" | "li" | "p") => {
                text.push('\n')
            }
            _ => {}
        }
    }
    text.lines()
        .map(normalize_space)
        .filter(|l| !l.is_empty())
        .collect()
}

/// Elements whose own text (not inside links or scripts) is long: the body of a page
/// that breaks its text with `<br>` instead of setting paragraphs. Returns the element
/// with the most such text, and how much.
fn best_text_block(doc: &Html) -> Option<(f64, ElementRef<'_>)> {
    let mut scores: HashMap<_, (f64, ElementRef)> = HashMap::new();
    for node in doc.root_element().descendants() {
        let Some(text) = node.value().as_text() else {
            continue;
        };
        let Some(parent) = node.parent().and_then(ElementRef::wrap) else {
            continue;
        };
        // Text in inline formatting counts for the block around it.
        let block = match parent.value().name() {
            "script" | "style" | "a" | "title" | "option" | "button" | "textarea" => continue,
            "span" | "font" | "b" | "strong" | "em" | "i" | "u" => {
                match parent.parent().and_then(ElementRef::wrap) {
                    Some(outer) => outer,
                    None => continue,
                }
            }
            _ => parent,
        };
        let length = text.trim().chars().count() as f64;
        if length > 0.0 {
            scores.entry(block.id()).or_insert((0.0, block)).0 += length;
        }
    }
    scores.into_values().max_by(|a, b| a.0.total_cmp(&b.0))
}

/// A footer's line: copyright, licence numbers, the site's address.
fn is_boilerplate(paragraph: &str) -> bool {
    static FOOTER: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(
            r"版权所有|(?i:copyright)|©|ICP备|ICP证|公网安备|邮编[:：]|主办单位[:：]|技术支持[:：]",
        )
        .expect("valid regex")
    });
    paragraph.chars().count() <= 120 && FOOTER.is_match(paragraph)
}

/// 「责任编辑：…」 and like lines that close a news body without being part of it.
fn is_editor_line(paragraph: &str) -> bool {
    let line = paragraph.trim_start_matches(['（', '(', '[', '【']);
    ["责任编辑", "责编", "编辑", "审核", "校对", "监制"]
        .iter()
        .any(|label| {
            line.strip_prefix(label)
                .is_some_and(|rest| rest.trim_start().starts_with(['：', ':']))
        })
        && paragraph.chars().count() <= 40
}

/// Paragraph texts of the best content block, in order, repeated paragraphs dropped.
fn extract_content(doc: &Html) -> String {
    // Score each parent of <p> elements by the non-link text of its paragraphs.
    let mut scores: HashMap<_, (f64, ElementRef)> = HashMap::new();
    for p in doc.select(&PARAGRAPH) {
        let Some(parent) = p.parent().and_then(ElementRef::wrap) else {
            continue;
        };
        let text = text_of(p);
        let length = text.chars().count() as f64;
        if length == 0.0 {
            continue;
        }
        let link_length: usize = p.select(&LINK).map(|a| text_of(a).chars().count()).sum();
        let link_density = link_length as f64 / length;
        let weight = if is_boilerplate(&text) {
            0.0
        } else {
            1.0 - link_density
        };
        let entry = scores.entry(parent.id()).or_insert((0.0, parent));
        entry.0 += length * weight;
    }
    let best = scores.into_values().max_by(|a, b| a.0.total_cmp(&b.0));
    // A body of text broken by <br> beats scattered paragraphs (a forum post above its
    // replies) when it holds clearly more text than the best paragraph block.
    if let Some((text_score, block)) = best_text_block(doc) {
        if best.is_none_or(|(p_score, _)| text_score > 1.5 * p_score) {
            let lines = block_lines(block, &HashSet::new());
            return finish_paragraphs(lines);
        }
    }
    let paragraphs: Vec<String> = match best.map(|(_, el)| el) {
        Some(block) => block
            .select(&PARAGRAPH)
            .filter(|p| {
                let text = text_of(*p);
                let links: usize = p.select(&LINK).map(|a| text_of(a).chars().count()).sum();
                !text.is_empty()
                    && links * 2 < text.chars().count().max(1)
                    && !is_boilerplate(&text)
            })
            .map(text_of)
            .collect(),
        // No paragraphs at all: the body text, as a last resort.
        None => doc
            .select(&BODY)
            .next()
            .map(|b| vec![text_of(b)])
            .unwrap_or_default(),
    };
    finish_paragraphs(paragraphs)
}

/// Repeated paragraphs dropped, and the editor's line that closes many bodies.
fn finish_paragraphs(mut paragraphs: Vec<String>) -> String {
    while paragraphs.last().is_some_and(|p| is_editor_line(p)) {
        paragraphs.pop();
    }
    let mut seen = HashSet::new();
    paragraphs.retain(|p| seen.insert(p.clone()));
    paragraphs.join("\n")
}

/// [`extract_at`] for a page fetched now.
pub fn extract(html: &str) -> Article {
    extract_at(html, Utc::now())
}

/// Extracts the article of a page fetched at `fetched_at` (relative times such as
/// `3小时前` count back from it).
pub fn extract_at(html: &str, fetched_at: DateTime<Utc>) -> Article {
    extract_with(html, fetched_at, &ExtractRules::default())
}

/// [`extract_at`] with a source's own selectors, which win where they find something.
pub fn extract_with(html: &str, fetched_at: DateTime<Utc>, rules: &ExtractRules) -> Article {
    let doc = Html::parse_document(html);
    let chosen = |selector: &Option<Selector>| {
        let found = doc.select(selector.as_ref()?).next()?;
        let text = text_of(found);
        (!text.is_empty()).then_some((found, text))
    };
    let mut article = generic(&doc, fetched_at, rules);
    if let Some((_, title)) = chosen(&rules.title) {
        article.title = title;
    }
    if let Some((element, text)) = chosen(&rules.time) {
        let value = element.value();
        let time = [
            value.attr("datetime"),
            value.attr("content"),
            Some(text.as_str()),
        ]
        .into_iter()
        .flatten()
        .find_map(|t| parse_chinese_datetime(t).or_else(|| parse_relative_time(t, fetched_at)));
        if time.is_some() {
            article.published_at = time;
        }
    }
    // 「来源：焦作日报」, 「楼主：沁阳老王」: the value is what follows a short label.
    let labelled = |regex: &Regex, text: String| {
        if let Some(caps) = regex.captures(&text) {
            return caps[1].to_string();
        }
        match text.split_once(['：', ':']) {
            Some((label, value)) if label.chars().count() <= 5 && !value.trim().is_empty() => {
                value.trim().to_string()
            }
            _ => text,
        }
    };
    if let Some((_, text)) = chosen(&rules.origin) {
        article.origin = Some(labelled(&ORIGIN, text));
    }
    if let Some((_, text)) = chosen(&rules.author) {
        article.author = Some(labelled(&AUTHOR, text));
    }
    article
}

fn generic(doc: &Html, fetched_at: DateTime<Utc>, rules: &ExtractRules) -> Article {
    let title = extract_title(doc);
    let page_text = doc.select(&BODY).next().map(text_of).unwrap_or_default();
    let content = match &rules.content {
        Some(selector) => Some(selected_content(doc, selector, rules.remove.as_ref()))
            .filter(|c| !c.is_empty())
            .unwrap_or_else(|| extract_content(doc)),
        None => extract_content(doc),
    };
    // The byline sits between the headline and the body; look there first.
    let byline_end = page_text
        .find(content.lines().next().unwrap_or("\u{0}"))
        .unwrap_or(page_text.len());
    let byline = &page_text[..byline_end];
    let origin = ORIGIN
        .captures(byline)
        .or_else(|| ORIGIN.captures(&page_text))
        .map(|c| c[1].to_string());
    let author = AUTHOR.captures(byline).map(|c| c[1].to_string());
    Article {
        published_at: extract_time(doc, byline, fetched_at)
            .or_else(|| extract_time(doc, &page_text, fetched_at)),
        title,
        origin,
        author,
        content,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PAGE: &str = r#"<!doctype html><html><head><title>温县一中学食堂发生学生腹泻事件_教育频道_焦作新闻网</title></head>
<body>
<div class="nav"><a href="/">首页</a> <a href="/edu">教育</a> <a href="/fz">法治</a></div>
<h1 class="logo">焦作新闻网</h1>
<div class="article">
  <h1>温县一中学食堂发生学生腹泻事件</h1>
  <div class="info">发布时间：2026-11-20 09:30  来源：焦作日报  记者：王晓明</div>
  <div class="text">
    <p>11月19日晚，温县某中学多名学生在食堂就餐后出现腹泻症状。</p>
    <p>县教育局已介入调查，涉事食堂暂停营业。</p>
    <p>县教育局已介入调查，涉事食堂暂停营业。</p>
    <p><a href="/share">分享到微信</a></p>
  </div>
</div>
<div class="related"><p><a href="/a">相关新闻：焦作市举办秋季运动会</a></p><p><a href="/b">相关新闻：校车安全检查</a></p></div>
<div class="footer"><p>Copyright 2019 焦作新闻网 版权所有</p></div>
</body></html>"#;

    #[test]
    fn extracts_the_article_and_leaves_the_page_furniture() {
        let article = extract(PAGE);
        assert_eq!(article.title, "温县一中学食堂发生学生腹泻事件");
        assert_eq!(
            article.published_at.unwrap().to_rfc3339(),
            "2026-11-20T09:30:00+08:00"
        );
        assert_eq!(article.origin.as_deref(), Some("焦作日报"));
        assert_eq!(article.author.as_deref(), Some("王晓明"));
        assert_eq!(
            article.content,
            "11月19日晚，温县某中学多名学生在食堂就餐后出现腹泻症状。\n县教育局已介入调查，涉事食堂暂停营业。"
        );
    }

    /// A site the generic extractor gets wrong: the article is text in a <div> with line
    /// breaks and no paragraphs, under a longer comment thread made of paragraphs.
    const ODD_SITE: &str = r#"<html><head><title>门户</title></head><body>
<div class="hd">焦作论坛 &gt; 教育</div>
<div class="post-title">沁阳一小学开展防溺水安全教育</div>
<div class="post-meta"><span class="when">11-28 15:30</span> <span class="who">楼主：沁阳老王</span></div>
<div class="post-body">今天上午，沁阳一小学组织全校学生观看防溺水教育片。<br>老师们逐一讲解了“六不”要求。<br><span class="ad">广告：暑期游泳班火热招生</span></div>
<div class="comments"><p>一楼：这种教育很有必要，孩子们每年夏天都要听一遍，希望家长也配合起来。</p><p>二楼：我们村附近的河塘也应该装上护栏和警示牌，光讲是不够的，得有人巡查。</p><p>三楼：支持学校的做法，安全第一，家长暑假也要看好孩子，不要让他们私自下水。</p></div>
</body></html>"#;

    #[test]
    fn a_source_s_selectors_win_where_the_generic_guess_is_wrong() {
        let fetched = DateTime::parse_from_rfc3339("2026-11-30T10:00:00+08:00")
            .unwrap()
            .with_timezone(&Utc);
        let generic = extract_at(ODD_SITE, fetched);
        assert!(generic.content.starts_with("一楼"), "{}", generic.content);
        let config: ExtractConfig = toml::from_str(
            "title = \".post-title\"\ntime = \".post-meta .when\"\ncontent = \".post-body\"\nremove = \".ad\"\nauthor = \".who\"\norigin = \".nothing-here\"",
        )
        .unwrap();
        let article = extract_with(ODD_SITE, fetched, &config.build().unwrap());
        assert_eq!(article.title, "沁阳一小学开展防溺水安全教育");
        assert_eq!(
            article.content,
            "今天上午，沁阳一小学组织全校学生观看防溺水教育片。\n老师们逐一讲解了“六不”要求。"
        );
        assert_eq!(
            article.published_at.unwrap().to_rfc3339(),
            "2026-11-28T15:30:00+08:00"
        );
        assert_eq!(article.author.as_deref(), Some("沁阳老王"));
        assert_eq!(
            article.origin, generic.origin,
            "a selector that finds nothing changes nothing"
        );
        let bad: ExtractConfig = toml::from_str("content = \"div[\"").unwrap();
        assert!(bad
            .build()
            .unwrap_err()
            .starts_with("extract.content: \"div[\""));
    }

    #[test]
    fn bodies_broken_by_br_short_bodies_over_long_footers_and_headlines_in_cells() {
        // A forum post: text broken by <br>, under replies set in paragraphs.
        let forum = r#"<html><head><title>求助帖 - 论坛</title></head><body><h1>求助帖</h1>
<div class="post">孩子在学校食堂吃饭后肚子疼，已经去医院检查了。<br><br>想问问其他家长有没有类似情况，学校一直没有说法。<br>（楼主）</div>
<div class="r"><p>回复：我家孩子也是，昨天也说肚子不舒服。</p></div><div class="r"><p>回复：建议直接找教育局反映。</p></div></body></html>"#;
        assert_eq!(
            extract(forum).content,
            "孩子在学校食堂吃饭后肚子疼，已经去医院检查了。\n想问问其他家长有没有类似情况，学校一直没有说法。\n（楼主）"
        );
        // A two-line article above a footer of about the same length, and the editor's
        // line after the body.
        let short = r#"<html><head><title>短讯</title></head><body><h1>短讯</h1><div class="t"><p>初冬时节，武陟县大片怀山药进入采挖期。</p><p>不少农户喜获丰收。</p><p>责任编辑：赵敏</p></div>
<div class="footer"><p>焦作教育资讯网 版权所有 Copyright 2015-2026</p><p>地址：焦作市解放区示例路1号 邮编：454000</p></div></body></html>"#;
        assert_eq!(
            extract(short).content,
            "初冬时节，武陟县大片怀山药进入采挖期。\n不少农户喜获丰收。"
        );
        // A government page: no <h1>, the headline in a table cell, the <title> joined
        // to the site's name by a bare hyphen.
        let government = r#"<html><head><title>关于做好冬季校园安全工作的通知-焦作市教育局</title></head><body>
<table><tr><td><a href="/">焦作市教育局</a></td></tr><tr><td class="title">关于做好冬季校园安全工作的通知</td></tr>
<tr><td><div><p>各县（市、区）教育局：现就做好冬季校园安全工作通知如下。</p></div></td></tr></table></body></html>"#;
        assert_eq!(extract(government).title, "关于做好冬季校园安全工作的通知");
    }

    #[test]
    fn chinese_date_forms() {
        let cases = [
            ("2023-8-23 15:18:02", "2023-08-23T15:18:02+08:00"),
            ("2023年08月23日 15:18", "2023-08-23T15:18:00+08:00"),
            ("发布时间：2023/08/23", "2023-08-23T00:00:00+08:00"),
            ("2023-08-23T07:18:02Z", "2023-08-23T07:18:02+00:00"),
        ];
        for (text, expected) in cases {
            assert_eq!(
                parse_chinese_datetime(text).unwrap().to_rfc3339(),
                expected,
                "{text}"
            );
        }
        assert!(parse_chinese_datetime("2023-13-40").is_none());
        assert!(parse_chinese_datetime("没有日期").is_none());
    }

    #[test]
    fn relative_times_count_back_from_the_fetch() {
        let now = DateTime::parse_from_rfc3339("2026-11-29T10:30:00+08:00")
            .unwrap()
            .with_timezone(&Utc);
        let cases = [
            ("刚刚", "2026-11-29T10:30:00+08:00"),
            ("5分钟前", "2026-11-29T10:25:00+08:00"),
            ("发布于 3小时前 来自 iPhone", "2026-11-29T07:30:00+08:00"),
            ("2天前", "2026-11-27T10:30:00+08:00"),
            ("昨天 15:20", "2026-11-28T15:20:00+08:00"),
            ("今天 08:05", "2026-11-29T08:05:00+08:00"),
            ("11-28 15:30", "2026-11-28T15:30:00+08:00"),
            ("12月30日 09:00", "2025-12-30T09:00:00+08:00"),
        ];
        for (text, expected) in cases {
            assert_eq!(
                parse_relative_time(text, now)
                    .map(|t| t.to_rfc3339())
                    .as_deref(),
                Some(expected),
                "{text}"
            );
        }
        assert!(parse_relative_time("共3小时", now).is_none());
        let page = "<html><body><h1>学生食堂饭菜发霉</h1><div class=\"info\">3小时前</div><p>今天中午，有家长在网上反映，孩子学校食堂的饭菜发霉变质，学校已经回应将彻查。</p></body></html>";
        assert_eq!(
            extract_at(page, now).published_at.unwrap().to_rfc3339(),
            "2026-11-29T07:30:00+08:00"
        );
    }

    #[test]
    fn meta_time_and_og_title_are_used_when_present() {
        let page = r#"<html><head><meta property="og:title" content="校车安全大检查">
<meta property="article:published_time" content="2026-11-01T08:00:00+08:00"></head>
<body><p>全市开展校车安全大检查，共检查校车120辆。</p><p>2020年的旧闻链接</p></body></html>"#;
        let article = extract(page);
        assert_eq!(article.title, "校车安全大检查");
        assert_eq!(
            article.published_at.unwrap().to_rfc3339(),
            "2026-11-01T08:00:00+08:00"
        );
    }
}
