//! Lexicon sentiment: weighted words, negators that flip the next sentiment word, degree
//! adverbs that strengthen or soften it, and contrasts (但是, 然而) after which a
//! sentence's words count more than before.
//!
//! An official report of safety work ("开展防溺水安全教育") names the dangers it works
//! against; it is not an incident. A document with official-work words ([official]) and
//! no incident words ([incident]) has its negative words count for little.
//!
//! The lexicon is a text file analysts edit, in sections:
//!
//! ```text
//! [negative]
//! 溺亡 3
//! 事故        # weight 1 when omitted
//! [positive]
//! 表彰 2
//! [negator]
//! 没有
//! [degree]
//! 非常 1.5
//! [contrast]
//! 但是
//! [official]
//! 开展
//! [incident]
//! 送医
//! ```

use crate::segmented::{ByWord, Segmented, Vocabulary};
use crate::topics::{read_rule_file, RuleFileError};
use std::path::Path;
use yuqing_model::{Sentiment, SentimentTag, TermMatch, TextField};
#[cfg(test)]
use yuqing_segmenter::Segmenter;

/// What a word does for sentiment (a word may do several things).
#[derive(Debug, Default, Clone, Copy)]
struct Role {
    /// Signed weight: negative words below zero.
    polarity: Option<f32>,
    negator: bool,
    degree: Option<f32>,
    contrast: bool,
    official: bool,
    incident: bool,
}

#[derive(Debug, Default)]
pub struct Lexicon {
    roles: ByWord<Role>,
}

/// In an official report of safety work without incident words, negative words count
/// this much: they name what the work is against.
const OFFICIAL_REPORT_NEGATIVE: f32 = 0.2;

/// How many words before a sentiment word a negator or degree adverb may stand.
const MODIFIER_WINDOW: u32 = 3;
/// The summed weight at which the score reaches about ±0.76 (tanh(1)).
const SCORE_SCALE: f32 = 4.0;
/// Within a sentence with a contrast (但是, 然而…), what comes before it counts less
/// and what comes after it more: "虽然没有人受伤，但是影响恶劣" is negative.
const BEFORE_CONTRAST: f32 = 0.5;
const AFTER_CONTRAST: f32 = 1.5;
/// Scores closer to zero than this are neutral.
const NEUTRAL_BAND: f32 = 0.15;

impl Lexicon {
    pub fn load(path: &Path, vocabulary: &mut Vocabulary) -> Result<Self, RuleFileError> {
        Self::parse(path, &read_rule_file(path)?, vocabulary)
    }

    pub fn parse(
        path: &Path,
        text: &str,
        vocabulary: &mut Vocabulary,
    ) -> Result<Self, RuleFileError> {
        let mut lexicon = Lexicon::default();
        let mut section: Option<&str> = None;
        let mut offset = 0;
        for raw_line in text.split_inclusive('\n') {
            let line_offset = offset;
            offset += raw_line.len();
            let line = raw_line.split('#').next().unwrap_or("").trim();
            if line.is_empty() {
                continue;
            }
            let fail = |message: String| RuleFileError::invalid(path, text, line_offset, message);
            if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
                match name {
                    "negative" | "positive" | "negator" | "degree" | "contrast" | "official"
                    | "incident" => section = Some(name),
                    other => {
                        return Err(fail(format!(
                            "unknown section [{other}]; expected [negative], [positive], [negator], [degree], [contrast], [official] or [incident]"
                        )))
                    }
                }
                continue;
            }
            let mut parts = line.split_whitespace();
            let word = parts.next().expect("non-empty line").to_string();
            let weight = match parts.next() {
                None => None,
                Some(w) => Some(
                    w.parse::<f32>()
                        .ok()
                        .filter(|w| w.is_finite() && *w > 0.0)
                        .ok_or_else(|| {
                            fail(format!(
                                "weight of {word:?} must be a positive number, got {w:?}"
                            ))
                        })?,
                ),
            };
            if let Some(extra) = parts.next() {
                return Err(fail(format!(
                    "expected `word [weight]`, found extra {extra:?}"
                )));
            }
            let Some(section) = section else {
                return Err(fail("a word before any [section]".to_string()));
            };
            let role = lexicon.roles.entry(vocabulary.intern(&word), Role::default);
            match section {
                "negative" => role.polarity = Some(-weight.unwrap_or(1.0)),
                "positive" => role.polarity = Some(weight.unwrap_or(1.0)),
                "negator" => role.negator = true,
                "contrast" => role.contrast = true,
                "official" => role.official = true,
                "incident" => role.incident = true,
                _ => {
                    let Some(weight) = weight else {
                        return Err(fail(format!("degree word {word:?} needs a weight")));
                    };
                    role.degree = Some(weight);
                }
            }
        }
        Ok(lexicon)
    }

    /// Scores a text on its own (for tests; the analyzer scores the segmented words).
    #[cfg(test)]
    pub fn score(
        &self,
        segmenter: &Segmenter,
        vocabulary: &Vocabulary,
        title: &str,
        content: &str,
    ) -> SentimentTag {
        self.score_segmented(&Segmented::new(segmenter, vocabulary, title, content))
    }

    pub(crate) fn score_segmented(&self, doc: &Segmented) -> SentimentTag {
        let (mut positive, mut negative) = (0.0f32, 0.0f32);
        let (mut official, mut incident) = (false, false);
        let mut matches = Vec::with_capacity(8);
        // Sentiment values of the current sentence; and where in it a contrast (但是,
        // 然而…) came: what follows it is what the writer means.
        let mut sentence: Vec<f32> = Vec::new();
        for field in [TextField::Title, TextField::Content] {
            let mut contrast_at: Option<usize> = None;
            // The sentence's last words with a role (ordinal and role), latest first: a
            // sentiment word's modifiers are among them, as only the last
            // MODIFIER_WINDOW words can be near enough.
            let mut before: [Option<(u32, &Role)>; MODIFIER_WINDOW as usize] = Default::default();
            let mut current_sentence = 0;
            let mut flush = |sentence: &mut Vec<f32>, contrast_at: &mut Option<usize>| {
                for (k, value) in sentence.drain(..).enumerate() {
                    let factor = match *contrast_at {
                        Some(at) if k < at => BEFORE_CONTRAST,
                        Some(_) => AFTER_CONTRAST,
                        None => 1.0,
                    };
                    if value < 0.0 {
                        negative += value * factor;
                    } else {
                        positive += value * factor;
                    }
                }
                *contrast_at = None;
            };
            // Only words with a role matter; the others count through their ordinals
            // (how far a negator stands from its word).
            for (token, id) in doc.known(field) {
                let Some(role) = self.roles.get(id) else {
                    continue;
                };
                if token.sentence != current_sentence {
                    flush(&mut sentence, &mut contrast_at);
                    before = Default::default();
                    current_sentence = token.sentence;
                }
                official |= role.official;
                incident |= role.incident;
                if role.contrast {
                    contrast_at = Some(sentence.len());
                }
                if let Some(weight) = role.polarity {
                    let mut value = weight;
                    let nearest = token.ordinal.saturating_sub(MODIFIER_WINDOW);
                    for (ordinal, modifier) in before.iter().flatten() {
                        if *ordinal < nearest || modifier.polarity.is_some() {
                            break; // too far, or it belongs to the nearer sentiment word
                        }
                        if modifier.negator {
                            value = -value;
                        } else if let Some(degree) = modifier.degree {
                            value *= degree;
                        }
                    }
                    sentence.push(value);
                    matches.push(TermMatch {
                        term: doc.term(token),
                        field,
                        start: token.word.char_start,
                        end: token.word.char_end,
                    });
                }
                before.rotate_right(1);
                before[0] = Some((token.ordinal, role));
            }
            flush(&mut sentence, &mut contrast_at);
        }
        let official_report = official && !incident;
        if official_report {
            negative *= OFFICIAL_REPORT_NEGATIVE;
        }
        let score = ((positive + negative) / SCORE_SCALE).tanh();
        let label = if score <= -NEUTRAL_BAND {
            Sentiment::Negative
        } else if score >= NEUTRAL_BAND {
            Sentiment::Positive
        } else {
            Sentiment::Neutral
        };
        SentimentTag {
            label,
            score: (score * 1000.0).round() / 1000.0,
            matches,
            official_report,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LEXICON: &str = "[negative]\n溺亡 3\n受伤\n溺水 2.5\n[positive]\n安全 1\n表彰 2\n[negator]\n没有\n未\n[degree]\n严重 2\n[official]\n开展\n教育\n[incident]\n送医\n";

    struct Setup {
        lexicon: Lexicon,
        vocabulary: Vocabulary,
        segmenter: Segmenter,
    }

    impl Setup {
        fn new(text: &str) -> Self {
            let mut vocabulary = Vocabulary::default();
            let lexicon = Lexicon::parse(Path::new("s.txt"), text, &mut vocabulary).unwrap();
            let mut segmenter = Segmenter::new();
            segmenter.add_words(vocabulary.words());
            Setup {
                lexicon,
                vocabulary,
                segmenter,
            }
        }

        fn score(&self, title: &str, content: &str) -> SentimentTag {
            self.lexicon
                .score(&self.segmenter, &self.vocabulary, title, content)
        }
    }

    fn parse_error(text: &str) -> String {
        Lexicon::parse(Path::new("s.txt"), text, &mut Vocabulary::default())
            .unwrap_err()
            .to_string()
    }

    #[test]
    fn incidents_are_negative_and_commendations_positive() {
        let setup = Setup::new(LEXICON);
        let incident = setup.score("两名学生溺亡", "另有一人严重受伤");
        assert_eq!(incident.label, Sentiment::Negative);
        assert!(incident.score < -0.5, "{}", incident.score);
        assert_eq!(incident.matches.len(), 2);
        let praise = setup.score("学校获表彰", "");
        assert_eq!(praise.label, Sentiment::Positive);
        assert_eq!(setup.score("今天开学", "").label, Sentiment::Neutral);
    }

    #[test]
    fn negation_flips_the_word_it_precedes() {
        let setup = Setup::new(LEXICON);
        let tag = setup.score("", "所幸没有学生受伤");
        assert!(tag.score > 0.0, "{}", tag.score);
        // a sentence end stops the negator
        let tag = setup.score("", "没有。学生受伤");
        assert!(tag.score < 0.0, "{}", tag.score);
    }

    #[test]
    fn after_a_contrast_the_writer_means_what_follows() {
        let setup = Setup::new(
            "[negative]\n受伤 2\n恶劣 2\n[positive]\n顺利 1\n[negator]\n没有\n[contrast]\n但是\n",
        );
        let tag = setup.score("", "虽然没有学生受伤，但是影响恶劣。");
        assert_eq!(tag.label, Sentiment::Negative, "{}", tag.score);
        let tag = setup.score("", "影响恶劣，但是撤离顺利，没有学生受伤。");
        assert!(tag.score > setup.score("", "影响恶劣，撤离顺利，没有学生受伤。").score);
    }

    #[test]
    fn an_official_report_of_safety_work_is_not_an_incident() {
        let setup = Setup::new(LEXICON);
        let report = setup.score(
            "我市开展防溺水安全教育",
            "各校开展防溺水教育，确保学生安全。",
        );
        assert!(report.official_report);
        assert_ne!(report.label, Sentiment::Negative, "{}", report.score);
        let incident = setup.score("一学生溺水", "学生溺水后被送医，学校开展安全教育。");
        assert!(!incident.official_report);
        assert_eq!(incident.label, Sentiment::Negative, "{}", incident.score);
    }

    #[test]
    fn file_errors_name_the_line() {
        assert_eq!(
            parse_error("[negative]\n坏 1\n[degree]\n很\n"),
            "s.txt:4:1: degree word \"很\" needs a weight"
        );
        assert!(parse_error("坏\n").contains("before any [section]"));
        assert!(parse_error("[mood]\n").contains("[official] or [incident]"));
    }
}
