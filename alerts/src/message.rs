//! The text of an alert as on-call staff read it, shared by every channel.

use yuqing_model::{Alert, AlertKind};

/// The text of an alert as on-call staff read it. The first line is the message title.
pub fn alert_text(alert: &Alert) -> String {
    let mut lines = vec![format!(
        "【{}】{}（{}级）",
        alert.kind.zh(),
        alert.rule,
        alert.severity.zh()
    )];
    let mut line = |label: &str, value: String| lines.push(format!("{label}：{value}"));
    let list = |values: &[String]| {
        if values.is_empty() {
            "无".to_string()
        } else {
            values.join("、")
        }
    };
    match alert.kind {
        AlertKind::Story | AlertKind::FollowUp => {
            line("标题", alert.title.clone());
            line("来源", alert.source.clone());
            line(
                "发布时间",
                alert
                    .published_at
                    .map(|t| t.format("%Y-%m-%d %H:%M").to_string())
                    .unwrap_or_else(|| "未知".to_string()),
            );
            line("属地", list(&alert.districts));
            if !alert.schools.is_empty() {
                line("学校", list(&alert.schools));
            }
            line("话题", list(&alert.topics));
            if !alert.matched.is_empty() {
                line("命中词", list(&alert.matched));
            }
            line("情感倾向", alert.sentiment.zh().to_string());
            if let Some(risk) = alert.risk {
                line("风险等级", risk.zh().to_string());
            }
            line(
                "传播",
                if alert.kind == AlertKind::FollowUp {
                    format!("已扩散至 {} 篇相同报道", alert.cluster_size)
                } else if alert.cluster_size > 1 {
                    format!("已有 {} 篇相同报道", alert.cluster_size)
                } else {
                    "首发".to_string()
                },
            );
            line("摘要", alert.snippet.clone());
            line("链接", alert.url.clone());
        }
        _ => {
            line("概况", alert.title.clone());
            for (n, item) in alert.items.iter().enumerate() {
                lines.push(format!(
                    "{}. {}（{}）{}",
                    n + 1,
                    item.title,
                    item.source,
                    item.url
                ));
            }
        }
    }
    lines.join("\n")
}
