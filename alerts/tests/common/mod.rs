//! What the alert tests share.

use yuqing_model::{Alert, AlertKind, RiskLevel, Sentiment};

/// A story alert as the evaluator raises it, with a parent's phone number in the snippet.
pub fn alert(id: &str) -> Alert {
    Alert {
        id: id.into(),
        rule: "溺水预警".into(),
        query: "topic:防溺水".into(),
        doc_id: format!("doc-{id}"),
        title: "孟州两名初中生河边溺水".into(),
        url: "http://news.example/1.html".into(),
        source: "焦作晚报".into(),
        published_at: None,
        topics: vec!["防溺水".into()],
        sentiment: Sentiment::Negative,
        snippet: "家长电话13812345678".into(),
        raised_at: chrono::Utc::now(),
        cluster: format!("doc-{id}"),
        cluster_size: 1,
        kind: AlertKind::Story,
        severity: RiskLevel::High,
        risk: None,
        districts: vec!["孟州市".into()],
        schools: vec![],
        offices: vec![],
        matched: vec!["溺水".into()],
        count: 0,
        sources: 0,
        items: vec![],
    }
}

/// The notifier's address guard for tests, whose robots and receivers are on loopback.
pub fn loopback() -> yuqing_alerts::AddressGuard {
    yuqing_alerts::AddressGuard::new(vec!["127.0.0.0/8".parse().unwrap()])
}
