//! Canonical URLs and the document ids derived from them.

use url::Url;

/// Query parameters that only track where a click came from; two URLs that differ only
/// in these are the same page.
const TRACKING_PARAMS: &[&str] = &[
    "spm",
    "from",
    "share_token",
    "share_from",
    "wfr",
    "isappinstalled",
    "scene",
    "clicktime",
    "enterid",
    "fbclid",
    "gclid",
    "_t",
];

/// Index pages that servers print under a folder's URL.
const INDEX_FILES: &[&str] = &["index.html", "index.htm", "index.shtml", "default.htm"];

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("cannot use URL {url:?}: {reason}")]
pub struct CanonicalUrlError {
    pub url: String,
    pub reason: String,
}

/// The canonical form of a page URL: http(s) only, no fragment, no tracking parameters,
/// remaining parameters sorted, `…/index.html` folded into `…/`.
pub fn canonical_url(raw: &str) -> Result<String, CanonicalUrlError> {
    let fail = |reason: &str| CanonicalUrlError {
        url: raw.to_string(),
        reason: reason.to_string(),
    };
    let mut url = Url::parse(raw.trim()).map_err(|e| fail(&e.to_string()))?;
    if url.scheme() != "http" && url.scheme() != "https" {
        return Err(fail("only http and https URLs are crawled"));
    }
    if url.host_str().is_none() {
        return Err(fail("no host"));
    }
    url.set_fragment(None);

    let mut params: Vec<(String, String)> = url
        .query_pairs()
        .filter(|(k, _)| {
            let k = k.to_ascii_lowercase();
            !k.starts_with("utm_") && !TRACKING_PARAMS.contains(&k.as_str())
        })
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    params.sort();
    if params.is_empty() {
        url.set_query(None);
    } else {
        url.query_pairs_mut().clear().extend_pairs(params);
    }

    let path = url.path().to_string();
    if let Some((folder, file)) = path.rsplit_once('/') {
        if INDEX_FILES.contains(&file.to_ascii_lowercase().as_str()) {
            url.set_path(&format!("{folder}/"));
        }
    }
    Ok(url.to_string())
}

/// The document id for a URL: 20 hex digits of SHA-256 over its canonical form, so the
/// same page crawled twice (or reached through a tracking link) is one document.
pub fn doc_id(raw_url: &str) -> Result<String, CanonicalUrlError> {
    Ok(super::doc_id_from_parts(&[&canonical_url(raw_url)?]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_form_drops_what_does_not_name_the_page() {
        assert_eq!(
            canonical_url("HTTP://News.Example.CN:80/a/b.html?utm_source=wx&id=3&spm=1.2#top")
                .unwrap(),
            "http://news.example.cn/a/b.html?id=3"
        );
        assert_eq!(
            canonical_url("https://example.cn/edu/index.html").unwrap(),
            "https://example.cn/edu/"
        );
        assert_eq!(
            canonical_url("https://example.cn/p?b=2&a=1").unwrap(),
            "https://example.cn/p?a=1&b=2"
        );
    }

    #[test]
    fn ids_are_stable_for_the_same_page() {
        let a = doc_id("http://example.cn/a.html#comments").unwrap();
        let b = doc_id("http://example.cn/a.html?utm_medium=feed").unwrap();
        assert_eq!(a, b);
        assert_eq!(a.len(), 20);
        assert_ne!(a, doc_id("http://example.cn/b.html").unwrap());
    }

    #[test]
    fn non_web_urls_are_refused_with_the_reason() {
        let err = doc_id("ftp://example.cn/a").unwrap_err();
        assert!(err.to_string().contains("only http and https"), "{err}");
        assert!(doc_id("not a url").is_err());
    }
}
