//! Turning page bytes into text: charset from the BOM, the HTTP header, the page's own
//! `<meta>`, and otherwise UTF-8 if the bytes are valid UTF-8, else what the bytes look
//! like (chardetng tells GBK from Big5 and the rest). encoding_rs reads a page labelled
//! GBK or GB2312 with the GB18030 decoder (as browsers do), so rare characters survive.

use encoding_rs::{Encoding, BIG5, GB18030, UTF_8};
use regex::bytes::Regex;
use std::sync::LazyLock;

/// How far into a page `<meta charset>` is looked for; the HTML standard says 1024 bytes,
/// but old Chinese CMS pages put long comments and scripts first.
const META_SCAN_BYTES: usize = 4096;

static META_CHARSET: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"(?i)<meta[^>]+charset\s*=\s*["']?\s*([a-z0-9_\-]+)"#).expect("valid regex")
});

/// Decoded text and the name of the encoding it came from.
pub struct Decoded {
    pub text: String,
    pub charset: &'static str,
}

fn label_from_content_type(content_type: &str) -> Option<&str> {
    content_type.split(';').skip(1).find_map(|param| {
        let (key, value) = param.split_once('=')?;
        key.trim()
            .eq_ignore_ascii_case("charset")
            .then(|| value.trim().trim_matches('"'))
    })
}

/// Decodes an HTML or XML document. Malformed sequences become U+FFFD rather than errors:
/// a page with one broken byte is still worth reading.
pub fn decode(bytes: &[u8], content_type: Option<&str>) -> Decoded {
    let declared = content_type
        .and_then(label_from_content_type)
        .and_then(|label| Encoding::for_label(label.as_bytes()));
    let from_bom = Encoding::for_bom(bytes).map(|(encoding, _)| encoding);
    let from_meta = || {
        let head = &bytes[..bytes.len().min(META_SCAN_BYTES)];
        META_CHARSET
            .captures(head)
            .and_then(|c| Encoding::for_label(&c[1]))
    };
    let encoding = from_bom.or(declared).or_else(from_meta).unwrap_or_else(|| {
        if std::str::from_utf8(bytes).is_ok() {
            UTF_8
        } else {
            detect(bytes)
        }
    });
    // A page labelled UTF-8 that is not UTF-8 is mislabelled: in practice GBK, sometimes
    // Big5. What the bytes look like decides, unless that decodes no better.
    let encoding = if encoding == UTF_8 && from_bom.is_none() && std::str::from_utf8(bytes).is_err()
    {
        let guess = detect(bytes);
        let (_, _, errors) = guess.decode(bytes);
        if errors {
            UTF_8
        } else {
            guess
        }
    } else {
        encoding
    };
    let (text, actual, _) = encoding.decode(bytes);
    Decoded {
        text: text.into_owned(),
        charset: actual.name(),
    }
}

/// The encoding the bytes look like, among the legacy ones Chinese pages use.
fn detect(bytes: &[u8]) -> &'static Encoding {
    let mut detector = chardetng::EncodingDetector::new();
    detector.feed(bytes, true);
    // Besides GBK and Big5, guesses (Japanese, Korean, single-byte) are rare on the sites
    // we watch and usually wrong for short Chinese pages: GB18030 is the likelier reading.
    if detector.guess(None, false) == BIG5 {
        BIG5
    } else {
        GB18030
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gbk(text: &str) -> Vec<u8> {
        encoding_rs::GBK.encode(text).0.into_owned()
    }

    #[test]
    fn meta_charset_decodes_gbk() {
        let mut page = b"<html><head><meta http-equiv=\"Content-Type\" content=\"text/html; charset=gb2312\"></head><body>".to_vec();
        page.extend(gbk("温县学生溺水"));
        let decoded = decode(&page, Some("text/html"));
        assert!(decoded.text.contains("温县学生溺水"), "{}", decoded.text);
        assert_eq!(decoded.charset, "GBK");
    }

    #[test]
    fn header_wins_over_guessing_and_bom_wins_over_header() {
        let bytes = gbk("食堂检查");
        assert_eq!(
            decode(&bytes, Some("text/html; charset=GBK")).text,
            "食堂检查"
        );
        let mut bom = vec![0xEF, 0xBB, 0xBF];
        bom.extend("校车".as_bytes());
        assert_eq!(decode(&bom, Some("text/html; charset=gbk")).text, "校车");
    }

    #[test]
    fn mislabelled_and_unlabelled_gbk_is_recognised() {
        let bytes = gbk("<p>防溺水安全教育</p>");
        assert_eq!(
            decode(&bytes, Some("text/html; charset=utf-8")).text,
            "<p>防溺水安全教育</p>"
        );
        assert_eq!(decode(&bytes, None).text, "<p>防溺水安全教育</p>");
        assert_eq!(decode("普通的UTF-8".as_bytes(), None).text, "普通的UTF-8");
    }

    #[test]
    fn big5_and_gb18030_pages_are_read_labelled_or_not() {
        let traditional =
            "<p>香港一所中學的學生在校園內發生衝突，學校已經報警處理，教育局表示會跟進事件。</p>";
        let big5 = BIG5.encode(traditional).0.into_owned();
        let labelled = decode(&big5, Some("text/html; charset=big5"));
        assert_eq!(
            (labelled.text.as_str(), labelled.charset),
            (traditional, "Big5")
        );
        let unlabelled = decode(&big5, None);
        assert_eq!(
            (unlabelled.text.as_str(), unlabelled.charset),
            (traditional, "Big5")
        );
        let mislabelled = decode(&big5, Some("text/html; charset=utf-8"));
        assert_eq!(mislabelled.text, traditional);
        // 「䶮」 is in GB18030 but not in GBK.
        let rare = "<p>龑与䶮：学生姓名中的生僻字也要正确显示。</p>";
        let gb18030 = GB18030.encode(rare).0.into_owned();
        assert_eq!(decode(&gb18030, Some("text/html; charset=gbk")).text, rare);
        assert_eq!(decode(&gb18030, None).text, rare);
    }
}
