//! `yuqing bench crawl`: pages per second fetched and extracted by the crawler from a
//! loopback server, extraction alone in MB/s, and the extractor's accuracy on the same
//! pages (title, publish time, body) beside GNE's (`--peer`, Python `gne` from PyPI).
//!
//! The pages are 30–100 KB like real Chinese news pages: the sample site's text in four
//! layouts seen on real sites (a commercial portal with comments and a sidebar, a
//! government site in tables, a forum post whose body is text broken by `<br>`, a
//! mobile page whose summary repeats the body), padded with the inline scripts, styles
//! and link lists such pages carry. Each page's true title, time and body are known.
//! They are the project's own layouts, so the figures show speed and the kinds of
//! failure; accuracy on the real web is measured on real pages.

use super::{median, peer_script, sample_texts};
use crate::config::Config;
use anyhow::{bail, Context};
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use chrono::{DateTime, FixedOffset, NaiveDate, TimeZone, Utc};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};
use yuqing_bus::{Consumer, EmbeddedBus, Producer};
use yuqing_crawler::{extract_at, Crawler, CrawlerSettings, SeenStore, SourceConfig};
use yuqing_model::{beijing, RawDocument};

#[derive(clap::Args)]
pub struct CrawlBench {
    #[arg(long, default_value_t = 400)]
    pub pages: usize,
    #[arg(long, default_value_t = 3)]
    pub repeat: usize,
    /// Also run Python GNE on the same pages (needs `pip install gne`).
    #[arg(long)]
    pub peer: bool,
    /// Also write the generated pages to this folder (to try other extractors on).
    #[arg(long, value_name = "DIR")]
    pub save_pages: Option<std::path::PathBuf>,
}

/// What a page really says.
struct Truth {
    title: String,
    time: DateTime<FixedOffset>,
    body: Vec<String>,
}

struct BenchPage {
    html: String,
    truth: Truth,
}

const LAYOUTS: usize = 4;
const SITES: &[&str] = &["中原网", "焦作日报", "大河网", "河南教育网"];
const PEOPLE: &[&str] = &["王晓明", "李娜", "张伟", "刘洋", "陈静"];

fn page_time(i: usize) -> DateTime<FixedOffset> {
    let date = NaiveDate::from_ymd_opt(2026, 1 + (i % 11) as u32, 1 + (i * 7 % 28) as u32)
        .expect("valid date");
    let time = date
        .and_hms_opt((i * 5 % 24) as u32, (i * 13 % 60) as u32, 0)
        .expect("valid time");
    beijing()
        .from_local_datetime(&time)
        .single()
        .expect("no DST")
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// Page furniture up to about `size` bytes: an inline data script, styles and a long
/// sidebar of links, as portals carry.
fn padding(titles: &[String], i: usize, size: usize) -> (String, String) {
    let mut script = String::from("var pageConfig = {\"channel\":\"edu\",\"ads\":[");
    let mut k = 0;
    while script.len() < size / 2 {
        let title = &titles[(i + k) % titles.len()];
        script.push_str(&format!(
            "{{\"id\":{},\"title\":\"{}\",\"url\":\"/a/{}.html\",\"img\":\"//img.example/{:x}.jpg\"}},",
            i * 1000 + k,
            title,
            i * 1000 + k,
            (i * 7919 + k * 104729) as u64
        ));
        k += 1;
    }
    script.push_str("{}]};\nfunction track(){var s=document.createElement('script');s.src='//stat.example/t.js?'+Date.now();document.body.appendChild(s);}\n");
    let mut sidebar = String::new();
    let mut k = 0;
    while script.len() + sidebar.len() < size {
        let title = escape(&titles[(i + k * 3) % titles.len()]);
        sidebar.push_str(&format!(
            "<li><span class=\"rank\">{}</span><a href=\"/hot/{}.html\" title=\"{title}\">{title}</a><span class=\"date\">11-{:02}</span></li>\n",
            k + 1,
            i * 100 + k,
            1 + k % 28
        ));
        k += 1;
    }
    (script, sidebar)
}

fn generate(titles: &[String], paragraphs: &[String], n: usize) -> Vec<BenchPage> {
    (0..n)
        .map(|i| {
            let title = titles[i % titles.len()].clone();
            let count = 3 + i % 6;
            let mut body: Vec<String> = (0..count)
                .map(|k| paragraphs[(i * 7 + k * 13) % paragraphs.len()].clone())
                .collect();
            let mut seen = std::collections::HashSet::new();
            body.retain(|p| seen.insert(p.clone()));
            let comments: Vec<String> = (0..3 + i % 4)
                .map(|k| paragraphs[(i * 11 + k * 17 + 5) % paragraphs.len()].clone())
                .collect();
            let time = page_time(i);
            let site = SITES[i % SITES.len()];
            let origin = SITES[(i + 1) % SITES.len()];
            let author = PEOPLE[i % PEOPLE.len()];
            // 30–100 KB in all.
            let size = 30_000 + (i * 7919) % 70_000;
            let (script, sidebar) = padding(titles, i, size);
            let t = escape(&title);
            let paras = |tag: &str| -> String {
                body.iter()
                    .map(|p| format!("<{tag}>{}</{tag}>\n", escape(p)))
                    .collect()
            };
            let html = match i % LAYOUTS {
                // A commercial portal: comments and a share bar next to the article.
                0 => format!(
                    r#"<!DOCTYPE html><html><head><meta charset="utf-8"><title>{t}_教育频道_{site}</title>
<meta name="keywords" content="教育,校园,安全"><style>.nav a{{margin:0 8px}}.hot li{{line-height:24px}}</style>
<script>{script}</script></head><body>
<div class="topbar"><a href="/login">登录</a> <a href="/reg">注册</a> <a href="/app">客户端</a></div>
<div class="nav"><a href="/">首页</a><a href="/news">新闻</a><a href="/edu">教育</a><a href="/law">法治</a><a href="/city">城事</a></div>
<div class="crumb">当前位置：<a href="/">首页</a> &gt; <a href="/edu">教育</a> &gt; 正文</div>
<div class="main"><div class="left">
<h1 class="article-title">{t}</h1>
<div class="article-info"><span class="time">{time}</span> <span class="source">来源：{origin}</span> <span class="author">记者：{author}</span></div>
<div class="article-content">
{body}<div class="share">分享到：<a href="javascript:;">微信</a> <a href="javascript:;">微博</a> <a href="javascript:;">QQ空间</a></div>
<p class="editor">责任编辑：{editor}</p></div>
<div class="comments"><h3>网友评论</h3>{comments}</div>
</div><div class="right"><div class="hot"><h3>热点排行</h3><ul>{sidebar}</ul></div></div></div>
<div class="footer"><p>Copyright © 2005-2026 {site} 版权所有</p><p>豫ICP备05012345号</p></div>
</body></html>"#,
                    time = time.format("%Y-%m-%d %H:%M:%S"),
                    body = paras("p"),
                    editor = PEOPLE[(i + 2) % PEOPLE.len()],
                    comments = comments
                        .iter()
                        .enumerate()
                        .map(|(k, c)| format!(
                            "<div class=\"comment\"><p class=\"user\">{site}网友{k}</p><p>{}</p></div>",
                            escape(c)
                        ))
                        .collect::<String>(),
                ),
                // A government site: tables, the title in a cell, 发布日期 in 年月日.
                1 => format!(
                    r#"<html><head><meta http-equiv="Content-Type" content="text/html; charset=utf-8"><title>{t}-焦作市教育局</title>
<script>{script}</script></head><body><table width="1000" align="center"><tr><td><img src="/images/banner.jpg"></td></tr>
<tr><td class="nav"><a href="/">网站首页</a> | <a href="/zwgk">政务公开</a> | <a href="/jyxw">教育新闻</a> | <a href="/bsfw">办事服务</a></td></tr></table>
<table width="1000" align="center"><tr><td width="260" valign="top"><ul class="side">{sidebar}</ul></td><td valign="top">
<table width="100%"><tr><td class="title" align="center">{t}</td></tr>
<tr><td class="info" align="center">发布日期：{time}　　来源：{origin}　　浏览次数：{views}　　【字体：<a href="javascript:;">大</a> <a href="javascript:;">中</a> <a href="javascript:;">小</a>】</td></tr>
<tr><td><div class="TRS_Editor">{body}</div></td></tr>
<tr><td align="right"><a href="javascript:window.print()">【打印本页】</a> <a href="javascript:window.close()">【关闭窗口】</a></td></tr></table>
</td></tr></table><div class="foot">主办单位：焦作市教育局　地址：焦作市人民路　豫ICP备12345678号-1</div></body></html>"#,
                    time = time.format("%Y年%m月%d日 %H:%M"),
                    views = 100 + i * 37 % 5000,
                    body = body
                        .iter()
                        .map(|p| format!("<p style=\"text-indent:2em;\">{}</p>\n", escape(p)))
                        .collect::<String>(),
                ),
                // A forum post: the body is text broken by <br>; the replies are paragraphs.
                2 => format!(
                    r#"<!DOCTYPE html><html><head><meta charset="utf-8"><title>{t} - 焦作论坛 - {site}</title><script>{script}</script></head><body>
<div class="hd"><a href="/">焦作论坛</a> &gt; <a href="/f/edu">教育家园</a></div>
<div class="thread"><h1>{t}</h1><div class="meta"><span class="poster">{author}</span> 发表于 {time}</div>
<div class="post-content">{body}</div></div>
<div class="replies">{replies}</div><div class="side"><ul>{sidebar}</ul></div>
<div class="ft">Powered by Discuz! X3.4 © 2001-2026</div></body></html>"#,
                    time = time.format("%Y-%-m-%-d %H:%M"),
                    body = body
                        .iter()
                        .map(|p| escape(p))
                        .collect::<Vec<_>>()
                        .join("<br />\n<br />\n"),
                    replies = comments
                        .iter()
                        .enumerate()
                        .map(|(k, c)| format!(
                            "<div class=\"reply\"><div class=\"who\">{}楼 网友{k}</div><p>{}</p></div>",
                            k + 2,
                            escape(c)
                        ))
                        .collect::<String>(),
                ),
                // A mobile page: Open Graph tags, <section> paragraphs, a summary that
                // repeats the first paragraph.
                _ => format!(
                    r#"<!DOCTYPE html><html><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">
<meta property="og:title" content="{t}"><meta property="article:published_time" content="{iso}">
<title>{t}</title><script>{script}</script></head><body>
<header><a href="/">{site}</a></header><article><h1>{t}</h1><div class="summary">{summary}</div>
<div class="byline">{site} {author}</div><section class="content">{body}</section></article>
<div class="recommend"><ul>{sidebar}</ul></div><footer>{site}客户端 © 2026</footer></body></html>"#,
                    iso = time.to_rfc3339(),
                    summary = escape(&body[0]),
                    body = paras("p"),
                ),
            };
            BenchPage {
                html,
                truth: Truth { title, time, body },
            }
        })
        .collect()
}

/// How much of the true body an extracted body holds, and how much of it is the body:
/// F1 over character bigrams, whitespace ignored.
fn body_f1(truth: &str, found: &str) -> f64 {
    fn bigrams(text: &str) -> HashMap<(char, char), i64> {
        let chars: Vec<char> = text.chars().filter(|c| !c.is_whitespace()).collect();
        let mut counts = HashMap::new();
        for pair in chars.windows(2) {
            *counts.entry((pair[0], pair[1])).or_insert(0) += 1;
        }
        counts
    }
    let (t, f) = (bigrams(truth), bigrams(found));
    let overlap: i64 = t
        .iter()
        .map(|(k, n)| (*n).min(*f.get(k).unwrap_or(&0)))
        .sum();
    let (tn, fn_): (i64, i64) = (t.values().sum(), f.values().sum());
    if overlap == 0 || tn == 0 || fn_ == 0 {
        return 0.0;
    }
    let (p, r) = (overlap as f64 / fn_ as f64, overlap as f64 / tn as f64);
    2.0 * p * r / (p + r)
}

/// A time as text, to the minute in Beijing time, from any of the forms extractors print.
fn minute(text: &str) -> Option<String> {
    static DATE_TIME: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
        regex::Regex::new(r"(\d{4})\D{1,3}(\d{1,2})\D{1,3}(\d{1,2})\D{1,3}(\d{1,2})\D(\d{1,2})")
            .expect("valid regex")
    });
    if let Ok(time) = DateTime::parse_from_rfc3339(text.trim()) {
        return Some(
            time.with_timezone(&beijing())
                .format("%Y-%m-%d %H:%M")
                .to_string(),
        );
    }
    let c = DATE_TIME.captures(text)?;
    let n = |i: usize| c[i].parse::<u32>().ok();
    Some(format!(
        "{:04}-{:02}-{:02} {:02}:{:02}",
        n(1)?,
        n(2)?,
        n(3)?,
        n(4)?,
        n(5)?
    ))
}

#[derive(Default)]
struct Accuracy {
    titles: usize,
    times: usize,
    body: f64,
    pages: usize,
    /// Per layout: (pages, title right, time right, body F1 sum).
    by_layout: [(usize, usize, usize, f64); LAYOUTS],
}

impl Accuracy {
    fn add(&mut self, i: usize, truth: &Truth, title: &str, time: Option<String>, body: &str) {
        let title_ok = title.split_whitespace().collect::<String>()
            == truth.title.split_whitespace().collect::<String>();
        let time_ok = time == minute(&truth.time.to_rfc3339());
        let f1 = body_f1(&truth.body.join("\n"), body);
        self.pages += 1;
        self.titles += usize::from(title_ok);
        self.times += usize::from(time_ok);
        self.body += f1;
        let layout = &mut self.by_layout[i % LAYOUTS];
        layout.0 += 1;
        layout.1 += usize::from(title_ok);
        layout.2 += usize::from(time_ok);
        layout.3 += f1;
    }

    fn line(&self, name: &str) -> String {
        let n = self.pages.max(1) as f64;
        let layouts: Vec<String> = self
            .by_layout
            .iter()
            .map(|(pages, title, time, body)| {
                let n = (*pages).max(1) as f64;
                format!(
                    "{:.2}/{:.2}/{:.2}",
                    *title as f64 / n,
                    *time as f64 / n,
                    body / n
                )
            })
            .collect();
        format!(
            "{name:<14} {:>6.3} {:>6.3} {:>8.3}    {}",
            self.titles as f64 / n,
            self.times as f64 / n,
            self.body / n,
            layouts.join("  ")
        )
    }
}

async fn serve_page(State(pages): State<Arc<Vec<String>>>, Path(name): Path<String>) -> Response {
    if name == "list.html" {
        let links: String = (0..pages.len())
            .map(|i| format!("<li><a href=\"/a/{i}.html\">第{i}篇</a></li>"))
            .collect();
        return (
            [("content-type", "text/html; charset=utf-8")],
            format!("<ul class=\"bench\">{links}</ul>"),
        )
            .into_response();
    }
    let page = name
        .strip_suffix(".html")
        .and_then(|n| n.parse::<usize>().ok())
        .and_then(|i| pages.get(i));
    match page {
        Some(html) => {
            ([("content-type", "text/html; charset=utf-8")], html.clone()).into_response()
        }
        None => axum::http::StatusCode::NOT_FOUND.into_response(),
    }
}

/// Crawls every page once through the real crawler; the time from the visit's start to
/// the last document handed on.
async fn crawl_once(base: &str, pages: usize) -> anyhow::Result<Duration> {
    let dir = tempfile::tempdir()?;
    let bus = EmbeddedBus::new(1024);
    let mut raw: Consumer<RawDocument> = Consumer::new(&bus, "raw", "bench", "dead")?;
    let drain = tokio::spawn(async move {
        let mut n = 0;
        while n < pages {
            match raw.recv().await {
                Ok(Some(_)) => n += 1,
                _ => break,
            }
        }
        n
    });
    let settings = CrawlerSettings {
        request_delay_ms: 0,
        ..CrawlerSettings::default()
    };
    let seen = Arc::new(SeenStore::open(&dir.path().join("state.sqlite"))?);
    let crawler = Crawler::new(&settings, seen, Producer::new(&bus, "raw")?, true)?;
    let source = toml::from_str::<SourceConfig>(&format!(
        "name = \"基准\"\nkind = \"listing\"\nurl = \"{base}/a/list.html\"\nmax_articles = {pages}\nallowed_networks = [\"127.0.0.0/8\"]\n[listing]\nlink_selector = \"ul.bench a\"\n"
    ))?
    .build("")
    .map_err(anyhow::Error::msg)?;
    let start = Instant::now();
    let report = crawler.visit(&source).await?;
    let collected = drain.await?;
    let elapsed = start.elapsed();
    if collected != pages || report.collected != pages {
        bail!("the crawl collected {collected} of {pages} pages: {report:?}");
    }
    Ok(elapsed)
}

pub async fn run(config: &Config, options: CrawlBench) -> anyhow::Result<()> {
    let (titles, paragraphs) = sample_texts(config)?;
    let pages = generate(&titles, &paragraphs, options.pages.max(LAYOUTS));
    let bytes: usize = pages.iter().map(|p| p.html.len()).sum();
    if let Some(folder) = &options.save_pages {
        std::fs::create_dir_all(folder)
            .with_context(|| format!("cannot create {}", folder.display()))?;
        for (i, page) in pages.iter().enumerate() {
            std::fs::write(folder.join(format!("{i}.html")), &page.html)?;
        }
    }
    let repeat = options.repeat.max(1);
    println!(
        "crawl benchmark: {} pages in {LAYOUTS} layouts, {:.0}–{:.0} KB each, {:.1} MB; medians of {repeat} runs",
        pages.len(),
        pages.iter().map(|p| p.html.len()).min().unwrap_or(0) as f64 / 1e3,
        pages.iter().map(|p| p.html.len()).max().unwrap_or(0) as f64 / 1e3,
        bytes as f64 / 1e6
    );

    // Fetched and extracted through the crawler, from a loopback server.
    let html: Arc<Vec<String>> = Arc::new(pages.iter().map(|p| p.html.clone()).collect());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let base = format!("http://{}", listener.local_addr()?);
    let app = Router::new()
        .route("/a/{name}", get(serve_page))
        .with_state(html);
    tokio::spawn(async move { axum::serve(listener, app).await });
    let mut crawl_rates = Vec::new();
    for _ in 0..repeat {
        let elapsed = crawl_once(&base, pages.len()).await?;
        crawl_rates.push(pages.len() as f64 / elapsed.as_secs_f64());
    }
    println!(
        "crawler, one source, fetch + decode + extract   {:>8.1} pages/s",
        median(crawl_rates)
    );

    // Extraction alone.
    let fetched_at = Utc::now();
    let mut rates = Vec::new();
    let mut extracted = Vec::new();
    for _ in 0..repeat {
        let start = Instant::now();
        extracted = pages
            .iter()
            .map(|p| extract_at(&p.html, fetched_at))
            .collect();
        rates.push(start.elapsed().as_secs_f64());
    }
    let seconds = median(rates);
    let ours_pages_per_sec = pages.len() as f64 / seconds;
    println!(
        "extraction alone                                {:>8.1} pages/s   {:.1} MB/s   {:.2} ms/page",
        ours_pages_per_sec,
        bytes as f64 / 1e6 / seconds,
        1e3 * seconds / pages.len() as f64
    );
    let mut ours = Accuracy::default();
    for (i, (page, article)) in pages.iter().zip(&extracted).enumerate() {
        let time = article
            .published_at
            .map(|t| t.to_rfc3339())
            .and_then(|t| minute(&t));
        ours.add(i, &page.truth, &article.title, time, &article.content);
    }
    println!("\naccuracy         title   time  body F1    by layout (title/time/body): portal  government  forum  mobile");
    println!("{}", ours.line("yuqing"));

    if options.peer {
        let dir = tempfile::tempdir()?;
        let mut list = String::new();
        for (i, page) in pages.iter().enumerate() {
            let path = dir.path().join(format!("{i}.html"));
            std::fs::write(&path, &page.html)?;
            list.push_str(&format!("{}\n", path.display()));
        }
        let list_file = dir.path().join("pages.txt");
        std::fs::write(&list_file, list)?;
        let output = std::process::Command::new("python3")
            .arg(peer_script("gne_extract.py")?)
            .arg(&list_file)
            .arg(repeat.to_string())
            .output()
            .context("cannot run python3")?;
        if !output.status.success() {
            bail!(
                "the GNE peer failed (pip install gne?): {}",
                String::from_utf8_lossy(&output.stderr).trim()
            );
        }
        let lines: Vec<serde_json::Value> = String::from_utf8_lossy(&output.stdout)
            .lines()
            .map(serde_json::from_str)
            .collect::<Result<_, _>>()?;
        let (summary, results) = lines.split_last().context("GNE printed nothing")?;
        let mut gne = Accuracy::default();
        for (i, (page, result)) in pages.iter().zip(results).enumerate() {
            let text = |key: &str| result[key].as_str().unwrap_or_default().to_string();
            gne.add(
                i,
                &page.truth,
                &text("title"),
                minute(&text("publish_time")),
                &text("content"),
            );
        }
        println!("{}", gne.line("GNE (peer)"));
        let gne_pages = summary["pages_per_sec"].as_f64().unwrap_or(0.0);
        println!(
            "\nGNE extraction alone                            {:>8.1} pages/s   {:.1} MB/s   → yuqing {:.1}× faster per page",
            gne_pages,
            summary["mb_per_sec"].as_f64().unwrap_or(0.0),
            ours_pages_per_sec / gne_pages.max(f64::MIN_POSITIVE)
        );
    }
    println!("\n(the layouts are the project's own; real-web accuracy is measured on real pages)");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn body_f1_rewards_the_body_and_punishes_extra_text() {
        assert!((body_f1("学生安全教育", "学生 安全教育") - 1.0).abs() < 1e-9);
        assert!(body_f1("学生安全教育", "学生安全教育。网友评论：很好") < 0.8);
        assert_eq!(body_f1("学生安全教育", ""), 0.0);
        assert_eq!(
            minute("2026年11月20日 09:30").as_deref(),
            Some("2026-11-20 09:30")
        );
        assert_eq!(
            minute("2026-11-20T01:30:00+00:00").as_deref(),
            Some("2026-11-20 09:30")
        );
        assert_eq!(minute("2026-11-20"), None);
    }
}
