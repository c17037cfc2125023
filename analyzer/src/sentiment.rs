//! Lexicon sentiment: weighted words, negators that flip the next sentiment word, and
//! degree adverbs that strengthen or soften it.
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
//! ```

use crate::segmented::Segmented;
use crate::topics::{read_rule_file, RuleFileError};
use rustc_hash::FxHashMap as HashMap;
use std::path::Path;
use yuqing_model::{Sentiment, SentimentTag, TermMatch, TextField};
use yuqing_segmenter::{Segmenter, Word};

#[derive(Debug, Default)]
pub struct Lexicon {
    /// Signed weights: negative words below zero.
    polarity: HashMap<String, f32>,
    negators: HashMap<String, ()>,
    degree: HashMap<String, f32>,
}

/// How many words before a sentiment word a negator or degree adverb may stand.
const MODIFIER_WINDOW: usize = 3;
/// The summed weight at which the score reaches about ±0.76 (tanh(1)).
const SCORE_SCALE: f32 = 4.0;
/// Scores closer to zero than this are neutral.
const NEUTRAL_BAND: f32 = 0.15;

impl Lexicon {
    pub fn load(path: &Path) -> Result<Self, RuleFileError> {
        Self::parse(path, &read_rule_file(path)?)
    }

    pub fn parse(path: &Path, text: &str) -> Result<Self, RuleFileError> {
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
                    "negative" | "positive" | "negator" | "degree" => section = Some(name),
                    other => {
                        return Err(fail(format!(
                            "unknown section [{other}]; expected [negative], [positive], [negator] or [degree]"
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
            match section {
                None => return Err(fail("a word before any [section]".to_string())),
                Some("negative") => {
                    lexicon.polarity.insert(word, -weight.unwrap_or(1.0));
                }
                Some("positive") => {
                    lexicon.polarity.insert(word, weight.unwrap_or(1.0));
                }
                Some("negator") => {
                    lexicon.negators.insert(word, ());
                }
                Some(_) => {
                    let Some(weight) = weight else {
                        return Err(fail(format!("degree word {word:?} needs a weight")));
                    };
                    lexicon.degree.insert(word, weight);
                }
            }
        }
        Ok(lexicon)
    }

    pub fn words(&self) -> impl Iterator<Item = &str> {
        self.polarity
            .keys()
            .chain(self.negators.keys())
            .chain(self.degree.keys())
            .map(String::as_str)
    }

    pub fn score(&self, segmenter: &Segmenter, title: &str, content: &str) -> SentimentTag {
        self.score_segmented(&Segmented::new(segmenter, title, content))
    }

    pub(crate) fn score_segmented(&self, doc: &Segmented) -> SentimentTag {
        let (title, content) = (doc.title, doc.content);
        let mut total = 0.0f32;
        let mut matches = Vec::new();
        for (field, _text) in [(TextField::Title, title), (TextField::Content, content)] {
            let words: Vec<Word> = doc
                .words_of(field)
                .iter()
                .copied()
                .filter(Word::is_term)
                .collect();
            for (i, word) in words.iter().enumerate() {
                let Some(&weight) = self.polarity.get(word.text) else {
                    continue;
                };
                let mut value = weight;
                for before in words[i.saturating_sub(MODIFIER_WINDOW)..i].iter().rev() {
                    if self.polarity.contains_key(before.text) {
                        break; // a modifier belongs to the nearer sentiment word
                    }
                    if self.negators.contains_key(before.text) {
                        value = -value;
                    } else if let Some(&degree) = self.degree.get(before.text) {
                        value *= degree;
                    }
                }
                total += value;
                matches.push(TermMatch {
                    term: word.text.to_string(),
                    field,
                    start: word.char_start,
                    end: word.char_end,
                });
            }
        }
        let score = (total / SCORE_SCALE).tanh();
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
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LEXICON: &str = "[negative]\n溺亡 3\n受伤\n[positive]\n安全 1\n表彰 2\n[negator]\n没有\n未\n[degree]\n严重 2\n";

    fn setup() -> (Lexicon, Segmenter) {
        let lexicon = Lexicon::parse(Path::new("s.txt"), LEXICON).unwrap();
        let mut segmenter = Segmenter::new();
        segmenter.add_words(lexicon.words());
        (lexicon, segmenter)
    }

    #[test]
    fn incidents_are_negative_and_commendations_positive() {
        let (lexicon, segmenter) = setup();
        let incident = lexicon.score(&segmenter, "两名学生溺亡", "另有一人严重受伤");
        assert_eq!(incident.label, Sentiment::Negative);
        assert!(incident.score < -0.5, "{}", incident.score);
        assert_eq!(incident.matches.len(), 2);
        let praise = lexicon.score(&segmenter, "学校获表彰", "");
        assert_eq!(praise.label, Sentiment::Positive);
        assert_eq!(
            lexicon.score(&segmenter, "今天开学", "").label,
            Sentiment::Neutral
        );
    }

    #[test]
    fn negation_flips_the_word_it_precedes() {
        let (lexicon, segmenter) = setup();
        let tag = lexicon.score(&segmenter, "", "所幸没有学生受伤");
        assert!(tag.score > 0.0, "{}", tag.score);
    }

    #[test]
    fn file_errors_name_the_line() {
        let err = Lexicon::parse(Path::new("s.txt"), "[negative]\n坏 1\n[degree]\n很\n")
            .unwrap_err()
            .to_string();
        assert_eq!(err, "s.txt:4:1: degree word \"很\" needs a weight");
        let err = Lexicon::parse(Path::new("s.txt"), "坏\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("before any [section]"), "{err}");
    }
}
