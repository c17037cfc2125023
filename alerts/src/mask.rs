//! Masking of personal data in what leaves the system. Stories about schools name
//! minors and their families: every alert passes through [`mask_alert`] before it reaches
//! the outbox, whatever channel it is for, so no channel can forget it.

use yuqing_model::{mask_name, Alert, SmolStr};

/// Masks, in every text of an alert a person reads (title, snippet, a digest's items),
/// mobile and ID card numbers and the pupils' `names` the analyzer recognised
/// (王小明 → 王某某). Masking twice changes nothing.
pub fn mask_alert(alert: &mut Alert, names: &[SmolStr]) {
    let mask = |text: &str| -> String {
        let mut text = mask_personal(text);
        for name in names {
            if !name.is_empty() {
                text = text.replace(name.as_str(), &mask_name(name));
            }
        }
        text
    };
    alert.title = mask(&alert.title);
    alert.snippet = mask(&alert.snippet);
    for item in &mut alert.items {
        item.title = mask(&item.title);
    }
}

/// Masks mobile numbers (138****5678) and ID card numbers (410821********1234) in text
/// that leaves the system: stories about schools name minors and their families.
pub fn mask_personal(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < chars.len() {
        if !chars[i].is_ascii_digit() {
            out.push(chars[i]);
            i += 1;
            continue;
        }
        let start = i;
        while i < chars.len() && chars[i].is_ascii_digit() {
            i += 1;
        }
        if i - start == 17 && i < chars.len() && matches!(chars[i], 'X' | 'x') {
            i += 1; // an ID number ending in X
        }
        let run: String = chars[start..i].iter().collect();
        let masked = match run.len() {
            11 if run.starts_with('1') && matches!(run.as_bytes()[1], b'3'..=b'9') => {
                format!("{}****{}", &run[..3], &run[7..])
            }
            15 | 18 => format!(
                "{}{}{}",
                &run[..6],
                "*".repeat(run.len() - 10),
                &run[run.len() - 4..]
            ),
            _ => run,
        };
        out.push_str(&masked);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phone_and_id_numbers_are_masked_and_other_numbers_kept() {
        assert_eq!(
            mask_personal("家长电话13812345678，身份证41082120100101123X，共23名学生，2026年"),
            "家长电话138****5678，身份证410821********123X，共23名学生，2026年"
        );
        assert_eq!(
            mask_personal("编号12345678901"),
            "编号12345678901",
            "not a mobile number"
        );
    }

    #[test]
    fn every_text_of_an_alert_is_masked_once_whatever_the_channel() {
        let mut alert: Alert = serde_json::from_value(serde_json::json!({
            "id": "a1", "rule": "r", "query": "q", "doc_id": "d", "url": "http://x.example/",
            "title": "初中生王小明溺水", "source": "s", "published_at": null, "topics": [],
            "sentiment": "negative", "snippet": "王小明家长电话13812345678", "raised_at": "2026-12-07T00:00:00Z",
            "cluster": "d", "cluster_size": 1,
            "items": [{"title": "王小明事件 联系13812345678", "source": "s", "url": "http://x.example/"}]
        }))
        .unwrap();
        let names = [SmolStr::new("王小明")];
        mask_alert(&mut alert, &names);
        let once = alert.clone();
        mask_alert(&mut alert, &names);
        assert_eq!(alert.title, "初中生王某某溺水");
        assert_eq!(alert.snippet, "王某某家长电话138****5678");
        assert_eq!(alert.items[0].title, "王某某事件 联系138****5678");
        assert_eq!(alert.title, once.title, "masking twice changes nothing");
        assert_eq!(alert.items[0].title, once.items[0].title);
    }
}
