//! Snippets: the matched passage of a document as escaped HTML with `<mark>`, and as
//! plain text for terminals and chat messages.

use crate::SearchHit;

/// How long a snippet is, in characters.
pub(crate) const SNIPPET_CHARS: usize = 120;

/// Renders a snippet as HTML: text escaped, matches in `<mark>`.
pub(crate) fn render_snippet(snippet: &tantivy::snippet::Snippet) -> String {
    let fragment = snippet.fragment();
    let mut out = String::with_capacity(fragment.len() + 32);
    let mut at = 0;
    for range in snippet.highlighted() {
        if range.start < at {
            continue;
        }
        out.push_str(&html_escape(&fragment[at..range.start]));
        out.push_str("<mark>");
        out.push_str(&html_escape(&fragment[range.clone()]));
        out.push_str("</mark>");
        at = range.end;
    }
    out.push_str(&html_escape(&fragment[at..]));
    out.trim().to_string()
}

/// Escapes text for HTML: crawled text is hostile wherever it is shown.
pub fn html_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

impl SearchHit {
    /// The snippet as plain text for terminals and chat messages, matches in 【】.
    pub fn snippet_text(&self) -> String {
        let text = self
            .snippet
            .replace("<mark>", "【")
            .replace("</mark>", "】");
        html_unescape(&text.replace('\n', " "))
    }
}

fn html_unescape(text: &str) -> String {
    text.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&amp;", "&")
}
