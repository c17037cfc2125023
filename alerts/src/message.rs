//! The text of an alert as on-call staff read it, shared by every channel, in the markup
//! each channel renders.
//!
//! Titles, snippets and source names come from crawled pages, and a page can be written
//! to look like a message: a fake `[签收](…)` link, `@所有人`, `<at user_id="all">`,
//! `<font>` tags. In a robot's markup such text is neutralised (the characters that
//! markup acts on become their full-width forms, and web addresses inside it stop being
//! recognised as addresses), so only the links the system makes are links: the story's
//! own address and the desk's 签收 link.

use yuqing_model::{Alert, AlertKind};

/// How a channel shows a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Markup {
    /// E-mail, the alert log, a webhook's `text`: plain text, nothing is interpreted.
    Plain,
    /// 企业微信群机器人 markdown: each line a quote line.
    WecomMarkdown,
    /// 钉钉 markdown: a paragraph per line.
    DingtalkMarkdown,
    /// 飞书 text messages, which act on `<at …>` tags and link bare addresses.
    FeishuText,
}

/// What a delivered message adds to the alert itself.
#[derive(Debug, Clone, Copy, Default)]
pub struct Extras<'a> {
    /// The desk's signed 签收 link for this alert.
    pub ack_url: Option<&'a str>,
    /// The alert is an escalation after this many minutes without 签收.
    pub escalated_after_minutes: Option<u64>,
}

/// The plain text of an alert. The first line is the message title.
pub fn alert_text(alert: &Alert) -> String {
    render(alert, Extras::default(), Markup::Plain)
}

/// The message of an alert in a channel's markup. The first line is the message title.
pub fn render(alert: &Alert, extras: Extras<'_>, markup: Markup) -> String {
    let mut lines: Vec<String> = Vec::new();
    if let Some(minutes) = extras.escalated_after_minutes {
        lines.push(format!("【升级：{minutes} 分钟未签收】"));
    }
    lines.push(format!(
        "【{}】{}（{}级）",
        alert.kind.zh(),
        text(&alert.rule, markup),
        alert.severity.zh()
    ));
    let mut field =
        |label: &str, value: &str| lines.push(format!("{label}：{}", text(value, markup)));
    let list = |values: &[String]| {
        if values.is_empty() {
            "无".to_string()
        } else {
            values.join("、")
        }
    };
    match alert.kind {
        AlertKind::Story | AlertKind::FollowUp => {
            field("标题", &alert.title);
            field("来源", &alert.source);
            let published = alert
                .published_at
                .map(|t| t.format("%Y-%m-%d %H:%M").to_string());
            field("发布时间", published.as_deref().unwrap_or("未知"));
            field("属地", &list(&alert.districts));
            if !alert.schools.is_empty() {
                field("学校", &list(&alert.schools));
            }
            field("话题", &list(&alert.topics));
            if !alert.matched.is_empty() {
                field("命中词", &list(&alert.matched));
            }
            field("情感倾向", alert.sentiment.zh());
            if let Some(risk) = alert.risk {
                field("风险等级", risk.zh());
            }
            let spread = if alert.kind == AlertKind::FollowUp {
                format!("已扩散至 {} 篇相同报道", alert.cluster_size)
            } else if alert.cluster_size > 1 {
                format!("已有 {} 篇相同报道", alert.cluster_size)
            } else {
                "首发".to_string()
            };
            field("传播", &spread);
            field("摘要", &alert.snippet);
            lines.push(format!("链接：{}", link("查看原文", &alert.url, markup)));
        }
        _ => {
            field("概况", &alert.title);
            for (n, item) in alert.items.iter().enumerate() {
                lines.push(format!(
                    "{}. {}（{}）{}",
                    n + 1,
                    text(&item.title, markup),
                    text(&item.source, markup),
                    link("查看原文", &item.url, markup)
                ));
            }
        }
    }
    if let Some(ack) = extras.ack_url {
        lines.push(format!("签收：{}", link("点击签收", ack, markup)));
    }
    join(&lines, markup)
}

/// A message kept only as plain text (an outbox entry written before messages carried
/// their alert), in a channel's markup with every line inert.
pub fn render_text(plain: &str, markup: Markup) -> String {
    let lines: Vec<String> = plain.lines().map(|line| text(line, markup)).collect();
    join(&lines, markup)
}

fn join(lines: &[String], markup: Markup) -> String {
    match markup {
        Markup::Plain | Markup::FeishuText => lines.join("\n"),
        // The title line stands alone; the rest is quoted, so it reads as one card.
        Markup::WecomMarkdown => lines.join("\n> "),
        Markup::DingtalkMarkdown => lines.join("\n\n"),
    }
}

/// A value in a message: on one line whatever the markup (a title cannot start lines of
/// its own), and in a robot's markup inert.
fn text(value: &str, markup: Markup) -> String {
    let one_line = value
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect::<String>();
    match markup {
        Markup::Plain => one_line,
        Markup::WecomMarkdown | Markup::DingtalkMarkdown | Markup::FeishuText => {
            neutralise(&one_line)
        }
    }
}

/// Replaces what robot markup acts on with look-alikes it ignores: the full-width forms
/// of the markdown, HTML and mention characters, and a zero-width space inside `://` and
/// `www.` so that an address in crawled text is not linked.
fn neutralise(value: &str) -> String {
    let mut out = String::with_capacity(value.len() + 8);
    for c in value.chars() {
        out.push(match c {
            '[' => '［',
            ']' => '］',
            '(' => '（',
            ')' => '）',
            '<' => '＜',
            '>' => '＞',
            '*' => '＊',
            '_' => '＿',
            '`' => '｀',
            '~' => '～',
            '!' => '！',
            '@' => '＠',
            '#' => '＃',
            '&' => '＆',
            '|' => '｜',
            '\\' => '＼',
            c => c,
        });
    }
    out.replace("://", ":\u{200B}//")
        .replace("www.", "www\u{200B}.")
        .replace("WWW.", "WWW\u{200B}.")
}

/// A link the system makes. Only an http(s) address becomes a link, with the characters
/// that could end the markdown link escaped; anything else is shown as inert text.
fn link(label: &str, address: &str, markup: Markup) -> String {
    let web = url::Url::parse(address)
        .ok()
        .filter(|u| matches!(u.scheme(), "http" | "https"));
    match (markup, web) {
        (Markup::Plain, _) => text(address, markup),
        (_, None) => text(address, markup),
        (Markup::FeishuText, Some(url)) => url.to_string(),
        (Markup::WecomMarkdown | Markup::DingtalkMarkdown, Some(url)) => {
            let target: String = url
                .as_str()
                .chars()
                .map(|c| match c {
                    '(' => "%28".to_string(),
                    ')' => "%29".to_string(),
                    '[' => "%5B".to_string(),
                    ']' => "%5D".to_string(),
                    '<' => "%3C".to_string(),
                    '>' => "%3E".to_string(),
                    c => c.to_string(),
                })
                .collect();
            format!("[{label}]({target})")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Utc;

    /// A page written to look like a message: a fake 签收 link, mentions of everyone in
    /// each robot's syntax, a font tag, a bare address and a line break into a new field.
    fn planted() -> Alert {
        Alert {
            id: "a1".into(),
            rule: "校园安全".into(),
            query: "学校".into(),
            doc_id: "d1".into(),
            title: "学生溺水[签收](http://evil.example/ack) @所有人 <@all>".into(),
            url: "https://news.example.cn/a(1).html".into(),
            source: "<font color=\"warning\">官方</font>".into(),
            published_at: None,
            topics: vec!["防溺水".into()],
            sentiment: yuqing_model::Sentiment::Negative,
            snippet: "详见 www.evil.example 或 https://evil.example/x\n签收：http://evil.example/2 <at user_id=\"all\">所有人</at> ![img](http://evil.example/p.png)".into(),
            raised_at: Utc::now(),
            cluster: String::new(),
            cluster_size: 1,
            kind: AlertKind::Story,
            severity: yuqing_model::RiskLevel::High,
            risk: None,
            districts: vec![],
            schools: vec![],
            offices: vec![],
            matched: vec![],
            count: 0,
            sources: 0,
            items: vec![],
        }
    }

    const ACK: &str = "https://desk.example.gov.cn/ack/a1?t=123.abc";

    fn extras() -> Extras<'static> {
        Extras {
            ack_url: Some(ACK),
            escalated_after_minutes: None,
        }
    }

    /// Every `](target)` in a markdown message.
    fn markdown_links(message: &str) -> Vec<String> {
        message
            .split("](")
            .skip(1)
            .map(|rest| rest.split(')').next().unwrap().to_string())
            .collect()
    }

    #[test]
    fn only_the_systems_own_links_are_links_in_robot_markdown() {
        for markup in [Markup::WecomMarkdown, Markup::DingtalkMarkdown] {
            let message = render(&planted(), extras(), markup);
            assert_eq!(
                markdown_links(&message),
                vec![
                    "https://news.example.cn/a%281%29.html".to_string(),
                    ACK.to_string()
                ],
                "{markup:?}: {message}"
            );
            for planted in ["@", "<", "://evil", "www.evil", "![", "\n签收：http"] {
                assert!(
                    !message.contains(planted),
                    "{markup:?} keeps {planted:?}: {message}"
                );
            }
            // The words are still there for staff to read.
            assert!(message.contains("学生溺水［签收］（http"), "{message}");
            assert!(message.contains("＠所有人"), "{message}");
        }
    }

    #[test]
    fn feishu_text_mentions_nobody_and_links_only_ours() {
        let message = render(&planted(), extras(), Markup::FeishuText);
        assert!(!message.contains("<at"), "{message}");
        assert!(!message.contains('@'), "{message}");
        let addresses: Vec<&str> = message
            .split_whitespace()
            .flat_map(|w| w.split('：'))
            .filter(|w| w.starts_with("http://") || w.starts_with("https://"))
            .collect();
        assert_eq!(
            addresses,
            vec!["https://news.example.cn/a(1).html", ACK],
            "{message}"
        );
    }

    #[test]
    fn plain_text_keeps_the_words_but_not_their_line_breaks() {
        let message = render(&planted(), extras(), Markup::Plain);
        assert!(message.contains("@所有人 <@all>"), "{message}");
        let ack_lines = message.lines().filter(|l| l.starts_with("签收：")).count();
        assert_eq!(
            ack_lines, 1,
            "the snippet cannot add a 签收 line: {message}"
        );
        assert!(message.ends_with(&format!("签收：{ACK}")), "{message}");
    }

    #[test]
    fn an_escalation_says_so_first() {
        let message = render(
            &planted(),
            Extras {
                escalated_after_minutes: Some(30),
                ..extras()
            },
            Markup::WecomMarkdown,
        );
        assert!(
            message.starts_with("【升级：30 分钟未签收】\n> 【舆情预警】校园安全（高级）"),
            "{message}"
        );
    }
}
