//! `kind = "feed"`: an RSS, Atom or JSON Feed whose items link to articles. A feed has no
//! settings of its own; its items bring their titles and publish times.

use super::{articles, Context, Visit};
use crate::parsing::parse_off_thread;
use crate::{Candidate, CrawlError};
use url::Url;
use yuqing_model::beijing;

#[derive(Debug, Clone)]
pub(crate) struct Feed;

impl Visit for Feed {
    async fn visit(&self, cx: &mut Context<'_>) -> Result<(), CrawlError> {
        let web = cx.web().await?;
        let Some((page, text)) = articles::source_page(cx, &web).await? else {
            return Ok(());
        };
        let url = page.url.clone();
        let candidates = parse_off_thread(text, move |text| candidates(&url, text))
            .await
            .and_then(|parsed| parsed)
            .map_err(|m| cx.failure(&page.url, m))?;
        articles::follow(cx, &web, &page, candidates).await
    }
}

/// The article links of a feed document, with the items' titles and times.
fn candidates(feed_url: &Url, text: &str) -> Result<Vec<Candidate>, String> {
    let feed = feed_rs::parser::parse(text.as_bytes())
        .map_err(|e| format!("{feed_url}: not a feed: {e}"))?;
    Ok(feed
        .entries
        .into_iter()
        .filter_map(|entry| {
            let link = entry.links.first()?;
            let url = feed_url.join(link.href.trim()).ok()?;
            let published_at = entry
                .published
                .or(entry.updated)
                .map(|t| t.with_timezone(&beijing()));
            Some(Candidate {
                url,
                title: entry.title.map(|t| t.content.trim().to_string()),
                published_at,
            })
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn feed_items_bring_their_links_and_dates() {
        let feed_url = Url::parse("http://127.0.0.1:9/rss.xml").unwrap();
        let rss = r#"<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel><title>t</title>
            <item><title>校车检查</title><link>/a/1.html</link><pubDate>Fri, 20 Nov 2026 01:30:00 GMT</pubDate></item>
            </channel></rss>"#;
        let found = candidates(&feed_url, rss).unwrap();
        assert_eq!(found[0].url.as_str(), "http://127.0.0.1:9/a/1.html");
        assert_eq!(found[0].title.as_deref(), Some("校车检查"));
        assert_eq!(
            found[0].published_at.unwrap().to_rfc3339(),
            "2026-11-20T09:30:00+08:00"
        );
        assert!(candidates(&feed_url, "<html>not a feed</html>")
            .unwrap_err()
            .contains("not a feed"));
    }
}
