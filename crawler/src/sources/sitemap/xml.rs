//! Sitemaps (sitemaps.org): a `<urlset>` of pages, each with its `<lastmod>` and, in a
//! news sitemap, `<news:publication_date>` and `<news:title>`; or a `<sitemapindex>` of
//! further sitemaps, of which the newest few are read.

use crate::extract::parse_chinese_datetime;
use chrono::{DateTime, FixedOffset};
use quick_xml::events::Event;
use quick_xml::Reader;

/// What a sitemap lists.
#[derive(Debug, Default, PartialEq)]
pub struct Sitemap {
    /// Pages (a `<urlset>`).
    pub pages: Vec<Entry>,
    /// Further sitemaps (a `<sitemapindex>`).
    pub sitemaps: Vec<Entry>,
}

#[derive(Debug, Default, Clone, PartialEq)]
pub struct Entry {
    pub loc: String,
    /// `<news:publication_date>`, else `<lastmod>`.
    pub time: Option<DateTime<FixedOffset>>,
    /// `<news:title>`.
    pub title: Option<String>,
}

/// The text of a general reference (`&amp;`, `&#20013;`): sitemaps escape `&` in URLs.
fn reference(name: &str) -> Option<char> {
    match name {
        "amp" => Some('&'),
        "lt" => Some('<'),
        "gt" => Some('>'),
        "quot" => Some('"'),
        "apos" => Some('\''),
        _ => {
            let number = name.strip_prefix('#')?;
            let code = match number.strip_prefix('x') {
                Some(hex) => u32::from_str_radix(hex, 16).ok()?,
                None => number.parse().ok()?,
            };
            char::from_u32(code)
        }
    }
}

/// Parses a sitemap or sitemap index. A document that is neither, or not XML, is an
/// error naming what was found.
pub fn parse(xml: &str) -> Result<Sitemap, String> {
    let mut reader = Reader::from_str(xml);
    reader.config_mut().trim_text(true);
    let mut sitemap = Sitemap::default();
    let mut root: Option<String> = None;
    let mut entry: Option<Entry> = None;
    let mut field: Option<String> = None;
    let mut text = String::new();
    let mut lastmod: Option<DateTime<FixedOffset>> = None;
    loop {
        let event = reader
            .read_event()
            .map_err(|e| format!("not a sitemap: {e} at byte {}", reader.buffer_position()))?;
        match event {
            Event::Start(tag) => {
                let name = String::from_utf8_lossy(tag.local_name().as_ref()).to_string();
                match (root.as_deref(), name.as_str()) {
                    (None, "urlset" | "sitemapindex") => root = Some(name),
                    (None, other) => {
                        return Err(format!(
                            "not a sitemap: the document is a <{other}>, not a <urlset> or <sitemapindex>"
                        ))
                    }
                    (Some(_), "url" | "sitemap") => {
                        entry = Some(Entry::default());
                        lastmod = None;
                    }
                    (Some(_), _) => {
                        field = Some(name);
                        text.clear();
                    }
                }
            }
            Event::Text(t) if field.is_some() => {
                text.push_str(&t.decode().map_err(|e| format!("not a sitemap: {e}"))?);
            }
            Event::CData(t) if field.is_some() => {
                text.push_str(&String::from_utf8_lossy(&t));
            }
            Event::GeneralRef(r) => {
                let name = r.decode().map_err(|e| format!("not a sitemap: {e}"))?;
                if let (Some(_), Some(c)) = (&field, reference(&name)) {
                    text.push(c);
                }
            }
            Event::End(tag) => {
                let name = String::from_utf8_lossy(tag.local_name().as_ref()).to_string();
                match name.as_str() {
                    "url" | "sitemap" => {
                        if let Some(mut done) = entry.take() {
                            done.time = done.time.or(lastmod.take());
                            if !done.loc.is_empty() {
                                if name == "url" {
                                    sitemap.pages.push(done);
                                } else {
                                    sitemap.sitemaps.push(done);
                                }
                            }
                        }
                    }
                    _ => {
                        if let (Some(current), Some(open)) = (entry.as_mut(), field.take()) {
                            let value = text.trim().to_string();
                            match open.as_str() {
                                "loc" => current.loc = value,
                                "lastmod" => lastmod = parse_chinese_datetime(&value),
                                "publication_date" => current.time = parse_chinese_datetime(&value),
                                "title" => current.title = Some(value).filter(|t| !t.is_empty()),
                                _ => {}
                            }
                        }
                    }
                }
            }
            Event::Eof => break,
            _ => {}
        }
    }
    if root.is_none() {
        return Err("not a sitemap: no <urlset> or <sitemapindex>".into());
    }
    Ok(sitemap)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_news_sitemap_gives_pages_with_times_and_titles() {
        let xml = r#"<?xml version="1.0" encoding="UTF-8"?>
<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9" xmlns:news="http://www.google.com/schemas/sitemap-news/0.9">
  <url><loc>http://a.example/news/1.html?id=1&amp;from=map</loc><lastmod>2026-11-20</lastmod>
    <news:news><news:publication_date>2026-11-21T08:30:00+08:00</news:publication_date><news:title>孟州两名学生溺水</news:title></news:news>
  </url>
  <url><loc> http://a.example/news/2.html </loc><lastmod>2026-11-22T10:00:00+08:00</lastmod></url>
  <url><lastmod>2026-11-22</lastmod></url>
</urlset>"#;
        let map = parse(xml).unwrap();
        assert_eq!(map.pages.len(), 2, "an entry without <loc> is left out");
        assert_eq!(
            map.pages[0].loc,
            "http://a.example/news/1.html?id=1&from=map"
        );
        assert_eq!(map.pages[0].title.as_deref(), Some("孟州两名学生溺水"));
        assert_eq!(
            map.pages[0].time.unwrap().to_rfc3339(),
            "2026-11-21T08:30:00+08:00",
            "the publication date beats lastmod"
        );
        assert_eq!(map.pages[1].loc, "http://a.example/news/2.html");
        assert_eq!(
            map.pages[1].time.unwrap().to_rfc3339(),
            "2026-11-22T10:00:00+08:00"
        );
    }

    #[test]
    fn an_index_lists_sitemaps_and_other_documents_are_refused() {
        let xml = r#"<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">
<sitemap><loc>http://a.example/sitemap-2026-11.xml</loc><lastmod>2026-11-28</lastmod></sitemap>
<sitemap><loc>http://a.example/sitemap-2026-10.xml</loc><lastmod>2026-10-31</lastmod></sitemap>
</sitemapindex>"#;
        let map = parse(xml).unwrap();
        assert!(map.pages.is_empty());
        assert_eq!(map.sitemaps.len(), 2);
        assert!(parse("<rss><channel/></rss>")
            .unwrap_err()
            .contains("<rss>"));
        assert!(parse("<urlset><url><loc>x</url>")
            .unwrap_err()
            .starts_with("not a sitemap"));
        assert!(parse("plain text").is_err());
    }
}
