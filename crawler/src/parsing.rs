//! Parsing crawled pages, which are hostile: a page may nest elements hundreds of
//! thousands deep (the HTML tree builder's scope checks then take quadratic time), or
//! otherwise find a slow path. So a page is measured before it is parsed and refused when
//! it nests deeper than any real page, and parsing runs off the async threads, a few
//! pages at a time, within a time budget: a page over budget fails alone, with an error
//! that says so, and the visit goes on.

use std::time::Duration;
use tokio::sync::Semaphore;

/// The deepest element nesting a page may have. Browsers build no deeper tree than 512
/// levels; real news and forum pages stay under 100.
pub const MAX_NESTING: usize = 512;

/// The time one page's parsing and extraction may take.
pub const PARSE_BUDGET: Duration = Duration::from_secs(10);

/// Pages parsed at once, so hostile pages cannot take every blocking thread.
const PARSING_AT_ONCE: usize = 4;
static PARSING: Semaphore = Semaphore::const_new(PARSING_AT_ONCE);

/// Elements that close themselves (void) or are closed by their next sibling or their
/// parent's end (`<p>`, `<li>`, `<td>` without end tags are common on older sites): they
/// do not deepen the tree when left open.
const NOT_NESTING: &[&str] = &[
    "area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track",
    "wbr", "param", "keygen", "p", "li", "dt", "dd", "tr", "td", "th", "option", "optgroup",
    "thead", "tbody", "tfoot", "colgroup", "rb", "rt", "rp", "rtc", "html", "head", "body",
];

/// Elements whose content is text up to their end tag.
const RAW_TEXT: &[&str] = &["script", "style", "textarea", "title", "xmp", "noscript"];

/// How deep the page's elements nest, read from its tags without building a tree (a
/// close estimate: end tags that close several elements at once count as one).
pub fn nesting_depth(html: &str) -> usize {
    let bytes = html.as_bytes();
    let (mut depth, mut deepest, mut at) = (0usize, 0usize, 0usize);
    while let Some(offset) = find_byte(b'<', &bytes[at..]) {
        let start = at + offset + 1;
        let rest = &html[start..];
        if rest.starts_with("!--") {
            at = rest.find("-->").map_or(bytes.len(), |end| start + end + 3);
            continue;
        }
        let closing = rest.starts_with('/');
        let name_start = start + usize::from(closing);
        let name_len = bytes[name_start..]
            .iter()
            .take_while(|b| b.is_ascii_alphanumeric() || **b == b'-')
            .count();
        let tag_end = find_byte(b'>', &bytes[name_start..]).map_or(bytes.len(), |e| name_start + e);
        at = (tag_end + 1).min(bytes.len());
        if name_len == 0 || !bytes[name_start].is_ascii_alphabetic() {
            continue; // `<!doctype>`, `<?xml`, a lone `<` in text
        }
        let name = html[name_start..name_start + name_len].to_ascii_lowercase();
        if closing {
            if !NOT_NESTING.contains(&name.as_str()) {
                depth = depth.saturating_sub(1);
            }
            continue;
        }
        let self_closing = tag_end > name_start && bytes[tag_end - 1] == b'/';
        if RAW_TEXT.contains(&name.as_str()) {
            let end_tag = format!("</{name}");
            at = find_ignoring_case(&html[at..], &end_tag).map_or(bytes.len(), |e| at + e);
            continue;
        }
        if !self_closing && !NOT_NESTING.contains(&name.as_str()) {
            depth += 1;
            deepest = deepest.max(depth);
        }
    }
    deepest
}

fn find_byte(needle: u8, haystack: &[u8]) -> Option<usize> {
    haystack.iter().position(|b| *b == needle)
}

fn find_ignoring_case(haystack: &str, needle: &str) -> Option<usize> {
    let needle = needle.as_bytes();
    haystack
        .as_bytes()
        .windows(needle.len())
        .position(|window| window.eq_ignore_ascii_case(needle))
}

/// Refuses a page that nests deeper than [`MAX_NESTING`].
pub fn check_nesting(html: &str) -> Result<(), String> {
    let depth = nesting_depth(html);
    if depth > MAX_NESTING {
        return Err(format!(
            "the page nests elements {depth} levels deep (at most {MAX_NESTING} are read); not parsed"
        ));
    }
    Ok(())
}

/// Runs the parsing of one page off the async threads, after its nesting is checked,
/// within [`PARSE_BUDGET`]. A page over budget is given up (its thread finishes on its
/// own; the nesting bound keeps that short) and the caller gets an error naming the
/// budget.
pub async fn parse_off_thread<T: Send + 'static>(
    html: String,
    work: impl FnOnce(&str) -> T + Send + 'static,
) -> Result<T, String> {
    parse_within(PARSE_BUDGET, html, work).await
}

async fn parse_within<T: Send + 'static>(
    budget: Duration,
    html: String,
    work: impl FnOnce(&str) -> T + Send + 'static,
) -> Result<T, String> {
    let parsing = async {
        // The turn goes with the parsing thread: a page given up on still holds it
        // until its thread ends, so no more than a few pages are ever parsed at once.
        let turn = PARSING
            .acquire()
            .await
            .map_err(|_| "the parser is shutting down".to_string())?;
        tokio::task::spawn_blocking(move || {
            let _turn = turn;
            check_nesting(&html)?;
            Ok(work(&html))
        })
        .await
        .map_err(|panic| format!("parsing the page failed: {panic}"))?
    };
    tokio::time::timeout(budget, parsing)
        .await
        .unwrap_or_else(|_| {
            Err(format!(
                "parsing the page took longer than {}s; given up",
                budget.as_secs_f32()
            ))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nesting_is_measured_without_a_tree() {
        assert_eq!(
            nesting_depth("<html><body><div><p>a<p>b</div></body></html>"),
            1
        );
        assert_eq!(
            nesting_depth("<div><span><b>x</b></span><img src=a><br/></div>"),
            3
        );
        // Comments and scripts are not markup.
        assert_eq!(
            nesting_depth("<div><!-- <div><div> --><script>if (a<b) '<div><div>'</script></div>"),
            1
        );
        // Old sites leave <p>, <li> and <td> open; that is not depth.
        let sloppy = "<ul>".to_string() + &"<li><p>条目".repeat(5_000) + "</ul>";
        assert_eq!(nesting_depth(&sloppy), 1);
        let hostile = "<span>".repeat(200_000) + "正文" + &"</span>".repeat(200_000);
        assert_eq!(nesting_depth(&hostile), 200_000);
        assert!(check_nesting(&hostile)
            .unwrap_err()
            .contains("200000 levels deep"));
        assert!(check_nesting(&"<div>".repeat(MAX_NESTING)).is_ok());
    }

    #[tokio::test]
    async fn a_page_over_its_budget_fails_alone() {
        let slow = parse_within(Duration::from_millis(100), "<p>x</p>".into(), |_| {
            std::thread::sleep(Duration::from_millis(400));
        })
        .await
        .unwrap_err();
        assert!(slow.contains("longer than 0.1s"), "{slow}");
        let fine = parse_within(Duration::from_secs(5), "<p>正文</p>".into(), |html| {
            html.len()
        })
        .await
        .unwrap();
        assert_eq!(fine, "<p>正文</p>".len());
    }

    mod properties {
        use super::*;
        use proptest::prelude::*;

        /// Pieces of markup, well-formed or not, as hostile pages mix them.
        fn piece() -> impl Strategy<Value = String> {
            prop_oneof![
                prop::sample::select(vec![
                    "<div>",
                    "</div>",
                    "<span>",
                    "</span>",
                    "<p>",
                    "</p>",
                    "<b>",
                    "</b>",
                    "<table><tr><td>",
                    "</td></tr></table>",
                    "<li>",
                    "<ul>",
                    "</ul>",
                    "<br/>",
                    "<img src=x>",
                    "<!--",
                    "-->",
                    "<script>",
                    "</script>",
                    "<style>",
                    "</style>",
                    "<title>",
                    "</title>",
                    "<h1>",
                    "</h1>",
                    "<a href=\"/x\">",
                    "</a>",
                    "<meta charset=gbk>",
                    "<",
                    ">",
                    "&amp;",
                    "&#0;",
                    "&lt;",
                    "发布时间：2026-12-08 09:30",
                    "来源：焦作日报",
                    "记者 王明",
                    "学生溺水。",
                    "正文内容在这里。",
                    "\n",
                    " ",
                    "\"",
                    "'",
                    "=",
                ])
                .prop_map(String::from),
                any::<char>().prop_map(String::from),
            ]
        }

        proptest! {
            #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

            /// Any markup is measured, and what passes is parsed and extracted without
            /// a panic, within the parsing budget.
            #[test]
            fn any_markup_is_extracted_or_refused_in_bounded_time(
                pieces in prop::collection::vec(piece(), 0..400),
                nested in 0usize..2_000,
                tag in prop::sample::select(vec!["div", "span", "b", "font", "section"]),
            ) {
                let html = format!(
                    "<html><body>{}{}</body></html>",
                    format!("<{tag}>").repeat(nested),
                    pieces.concat()
                );
                let started = std::time::Instant::now();
                match check_nesting(&html) {
                    // The property is that this returns, without a panic, in time.
                    Ok(()) => drop(crate::extract(&html)),
                    Err(refusal) => prop_assert!(refusal.contains("levels deep")),
                }
                prop_assert!(nested <= MAX_NESTING || check_nesting(&html).is_err());
                prop_assert!(started.elapsed() < PARSE_BUDGET, "{:?}", started.elapsed());
            }
        }
    }
}
