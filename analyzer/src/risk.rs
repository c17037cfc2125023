//! Risk (预警等级) of a document: how much the desk should care, from what happened, how
//! it is told, who tells it and how far it has spread.
//!
//! ```text
//! score = 0.35 × severity + 0.45 × negativity + 0.10 × source weight + 0.10 × spread
//!   severity     the highest `severity` (1–3) of the topics that fired, divided by 3
//!   negativity   max(0, −sentiment score)
//!   source weight 0–1, by the source type ([analyzer] source_weights: 官方媒体 0.4,
//!                商业媒体 0.6, 自媒体 0.8, 社交平台 1.0 unless configured)
//!   spread       ln(1 + reprints) / ln(21), capped at 1 (20 reprints count fully)
//! level = 高 if score ≥ 0.60, 中 if score ≥ 0.45, else 低; a document with no topic is 低,
//!         and so is a positive one (a post praising a school-bus check, however far it
//!         spreads from a social platform, is not a risk).
//! ```
//!
//! Negativity weighs most: a report of safety work on a severe topic (a drowning
//! prevention class, a fire drill) stays 低, an incident on it becomes 中 or 高.

use yuqing_model::{RiskLevel, RiskTag, Sentiment, SentimentTag};

pub const SEVERITY_WEIGHT: f32 = 0.35;
pub const NEGATIVITY_WEIGHT: f32 = 0.45;
pub const SOURCE_WEIGHT: f32 = 0.10;
pub const SPREAD_WEIGHT: f32 = 0.10;
pub const HIGH_FROM: f32 = 0.60;
pub const MEDIUM_FROM: f32 = 0.45;
/// Default source weights, in [`yuqing_model::SourceType::ALL`] order (官方媒体,
/// 商业媒体, 自媒体, 社交平台); `[analyzer.source_weights]` overrides them.
pub const DEFAULT_SOURCE_WEIGHTS: [f32; 4] = [0.4, 0.6, 0.8, 1.0];

/// The inputs of a risk assessment.
pub struct RiskInputs<'a> {
    /// The fired topic with the highest severity, and that severity (1–3).
    pub gravest_topic: Option<(&'a str, u8)>,
    pub sentiment: &'a SentimentTag,
    pub source_weight: f32,
    pub reprints: u32,
}

pub fn assess(inputs: &RiskInputs) -> RiskTag {
    let severity = inputs
        .gravest_topic
        .map(|(_, s)| f32::from(s.clamp(1, 3)) / 3.0)
        .unwrap_or(0.0);
    let negativity = (-inputs.sentiment.score).clamp(0.0, 1.0);
    let source = inputs.source_weight.clamp(0.0, 1.0);
    let spread = ((1.0 + inputs.reprints as f32).ln() / 21f32.ln()).min(1.0);
    let score = SEVERITY_WEIGHT * severity
        + NEGATIVITY_WEIGHT * negativity
        + SOURCE_WEIGHT * source
        + SPREAD_WEIGHT * spread;
    let score = (score * 1000.0).round() / 1000.0;
    let positive = inputs.sentiment.label == Sentiment::Positive;
    let level = match inputs.gravest_topic {
        None => RiskLevel::Low,
        Some(_) if positive => RiskLevel::Low,
        Some(_) if score >= HIGH_FROM => RiskLevel::High,
        Some(_) if score >= MEDIUM_FROM => RiskLevel::Medium,
        Some(_) => RiskLevel::Low,
    };
    // Written piece by piece: this runs for every document, and general float
    // formatting cost as much as the rest of the analysis after segmentation.
    let mut explanation = String::with_capacity(160);
    match inputs.gravest_topic {
        Some((name, s)) => {
            explanation.push_str("话题「");
            explanation.push_str(name);
            explanation.push_str("」严重度 ");
            push_digits(&mut explanation, u64::from(s), 1);
            explanation.push_str("/3");
        }
        None => explanation.push_str("未命中话题"),
    }
    // The weights as the formula above writes them, formatted once.
    static WEIGHTS: std::sync::LazyLock<[String; 4]> = std::sync::LazyLock::new(|| {
        [
            SEVERITY_WEIGHT,
            NEGATIVITY_WEIGHT,
            SOURCE_WEIGHT,
            SPREAD_WEIGHT,
        ]
        .map(|w| w.to_string())
    });
    let [severity_weight, negativity_weight, source_weight, spread_weight] = &*WEIGHTS;
    explanation.push_str(" ×");
    explanation.push_str(severity_weight);
    explanation.push_str("；负面程度 ");
    push_fixed(&mut explanation, negativity, 2);
    explanation.push_str(" ×");
    explanation.push_str(negativity_weight);
    explanation.push_str("；信源权重 ");
    push_fixed(&mut explanation, source, 2);
    explanation.push_str(" ×");
    explanation.push_str(source_weight);
    explanation.push_str("；转载 ");
    push_digits(&mut explanation, u64::from(inputs.reprints), 1);
    explanation.push_str(" 次 ×");
    explanation.push_str(spread_weight);
    explanation.push_str("；得分 ");
    push_fixed(&mut explanation, score, 3);
    explanation.push_str(" → ");
    explanation.push_str(level.zh());
    if positive && score >= MEDIUM_FROM {
        explanation.push_str("（正面，不高于低）");
    }
    RiskTag {
        level,
        score,
        explanation,
    }
}

/// Appends `value` with `places` decimals, rounded as `format!("{value:.places$}")`
/// rounds (half to even on the exact value) but with integer arithmetic only. A value
/// that rounds to zero has no sign (`format!` writes a negative zero as "-0.00").
fn push_fixed(out: &mut String, value: f32, places: u32) {
    let scale = 10u64.pow(places);
    let scaled = (f64::from(value.abs()) * scale as f64).round_ties_even() as u64;
    if value.is_sign_negative() && scaled != 0 {
        out.push('-');
    }
    push_digits(out, scaled / scale, 1);
    if places > 0 {
        out.push('.');
        push_digits(out, scaled % scale, places as usize);
    }
}

/// Appends `n` in decimal, with leading zeros up to `width` digits.
fn push_digits(out: &mut String, mut n: u64, width: usize) {
    let mut digits = [b'0'; 20];
    let mut at = digits.len();
    while n > 0 || digits.len() - at < width {
        at -= 1;
        digits[at] = b'0' + (n % 10) as u8;
        n /= 10;
    }
    out.extend(digits[at..].iter().map(|&digit| char::from(digit)));
}

#[cfg(test)]
mod tests {
    use super::*;
    use yuqing_model::Sentiment;

    fn sentiment(score: f32) -> SentimentTag {
        SentimentTag {
            label: if score < 0.0 {
                Sentiment::Negative
            } else {
                Sentiment::Neutral
            },
            score,
            matches: vec![],
            official_report: false,
        }
    }

    fn level(topic: Option<(&str, u8)>, score: f32) -> RiskLevel {
        assess(&RiskInputs {
            gravest_topic: topic,
            sentiment: &sentiment(score),
            source_weight: DEFAULT_SOURCE_WEIGHTS[1],
            reprints: 0,
        })
        .level
    }

    #[test]
    fn incidents_rank_above_reports_of_safety_work() {
        assert_eq!(
            level(Some(("防溺水", 3)), -0.8),
            RiskLevel::High,
            "a drowning"
        );
        assert_eq!(
            level(Some(("防溺水", 3)), 0.3),
            RiskLevel::Low,
            "a prevention class"
        );
        assert_eq!(
            level(Some(("消防安全", 2)), 0.4),
            RiskLevel::Low,
            "a fire drill"
        );
        assert_eq!(
            level(Some(("电信网络诈骗", 2)), -0.5),
            RiskLevel::Medium,
            "a fraud warning"
        );
        let praised = RiskInputs {
            gravest_topic: Some(("校车与交通安全", 3)),
            sentiment: &SentimentTag {
                label: Sentiment::Positive,
                score: 0.4,
                matches: vec![],
                official_report: false,
            },
            source_weight: DEFAULT_SOURCE_WEIGHTS[3],
            reprints: 50,
        };
        let risk = assess(&praised);
        assert_eq!(risk.level, RiskLevel::Low, "a post praising a bus check");
        assert!(
            risk.explanation.ends_with("→ 低（正面，不高于低）"),
            "{}",
            risk.explanation
        );
        assert_eq!(
            level(None, -0.9),
            RiskLevel::Low,
            "bad news, but not about schools"
        );
    }

    #[test]
    fn numbers_are_written_as_the_standard_formatting_writes_them() {
        let mut values: Vec<f32> = (0..=2000).map(|k| k as f32 / 1000.0).collect();
        values.extend([
            0.125, 0.375, 0.005, 0.015, 0.6359, 1.0, 20.0, 0.35, 0.1, -1.5, -2.25, -3.125,
        ]);
        for value in values {
            for places in [0, 2, 3] {
                let mut written = String::new();
                push_fixed(&mut written, value, places);
                let expected = format!("{value:.places$}", places = places as usize);
                assert_eq!(written, expected, "{value} to {places} places");
            }
        }
        let mut zero = String::new();
        push_fixed(&mut zero, -0.0, 2);
        assert_eq!(zero, "0.00", "no negative zero in an explanation");
    }

    #[test]
    fn spread_raises_the_score_and_the_explanation_shows_the_parts() {
        let worried = SentimentTag {
            label: Sentiment::Negative,
            score: -0.05,
            matches: vec![],
            official_report: false,
        };
        let inputs = |reprints| RiskInputs {
            gravest_topic: Some(("校园欺凌", 3)),
            sentiment: &worried,
            source_weight: 0.5,
            reprints,
        };
        let alone = assess(&inputs(0));
        let spread = assess(&inputs(20));
        assert!(spread.score > alone.score);
        assert_eq!(alone.level, RiskLevel::Low);
        assert_eq!(spread.level, RiskLevel::Medium);
        assert!(
            alone.explanation.contains("话题「校园欺凌」严重度 3/3"),
            "{}",
            alone.explanation
        );
        assert!(
            alone.explanation.contains("转载 0 次 ×0.1"),
            "{}",
            alone.explanation
        );
        assert!(
            spread.explanation.contains("转载 20 次"),
            "{}",
            spread.explanation
        );
    }

    #[test]
    fn source_weights_are_configured_by_source_type() {
        let config = |weights: &str| -> crate::AnalyzerConfig {
            toml::from_str(&format!(
                "topics = \"t\"\nsentiment = \"s\"\n[source_weights]\n{weights}"
            ))
            .unwrap()
        };
        assert_eq!(config("").source_weights().unwrap(), [0.4, 0.6, 0.8, 1.0]);
        assert_eq!(
            config("\"社交平台\" = 0.9\nofficial = 0.2")
                .source_weights()
                .unwrap(),
            [0.2, 0.6, 0.8, 0.9]
        );
        assert!(config("\"报纸\" = 0.5")
            .source_weights()
            .unwrap_err()
            .contains("报纸"));
        assert!(config("self_media = 3")
            .source_weights()
            .unwrap_err()
            .contains("between 0 and 1"));
    }
}
