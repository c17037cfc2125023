//! Lexicon sentiment: weighted words, negators that flip the next sentiment word, degree
//! adverbs that strengthen or soften it, and contrasts (但是, 然而) after which a
//! sentence's words count more than before.
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
    contrasts: HashMap<String, ()>,
}

/// How many words before a sentiment word a negator or degree adverb may stand.
const MODIFIER_WINDOW: usize = 3;
/// The summed weight at which the score reaches about ±0.76 (tanh(1)).
const SCORE_SCALE: f32 = 4.0;
/// Within a sentence with a contrast (但是, 然而…), what comes before it counts less
/// and what comes after it more: "虽然没有人受伤，但是影响恶劣" is negative.
const BEFORE_CONTRAST: f32 = 0.5;
const AFTER_CONTRAST: f32 = 1.5;
const SENTENCE_ENDS: &[char] = &['。', '！', '？', '；', '!', '?', ';', '\n'];
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
                    "negative" | "positive" | "negator" | "degree" | "contrast" => section = Some(name),
                    other => {
                        return Err(fail(format!(
                            "unknown section [{other}]; expected [negative], [positive], [negator], [degree] or [contrast]"
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
                Some("contrast") => {
                    lexicon.contrasts.insert(word, ());
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
            .chain(self.contrasts.keys())
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
            // Sentiment words of the current sentence, with their values; and where in
            // it a contrast (但是, 然而…) came: what follows it is what the writer means.
            let mut sentence: Vec<f32> = Vec::new();
            let mut contrast_at: Option<usize> = None;
            let mut terms: Vec<Word> = Vec::new();
            let mut flush = |sentence: &mut Vec<f32>, contrast_at: &mut Option<usize>| {
                for (k, value) in sentence.drain(..).enumerate() {
                    let factor = match *contrast_at {
                        Some(at) if k < at => BEFORE_CONTRAST,
                        Some(_) => AFTER_CONTRAST,
                        None => 1.0,
                    };
                    total += value * factor;
                }
                *contrast_at = None;
            };
            for word in doc.words_of(field).iter().copied() {
                if !word.is_term() {
                    if word.text.chars().any(|c| SENTENCE_ENDS.contains(&c)) {
                        flush(&mut sentence, &mut contrast_at);
                        terms.clear();
                    }
                    continue;
                }
                if self.contrasts.contains_key(word.text) {
                    contrast_at = Some(sentence.len());
                }
                let i = terms.len();
                terms.push(word);
                let Some(&weight) = self.polarity.get(word.text) else {
                    continue;
                };
                let mut value = weight;
                for before in terms[i.saturating_sub(MODIFIER_WINDOW)..i].iter().rev() {
                    if self.polarity.contains_key(before.text) {
                        break; // a modifier belongs to the nearer sentiment word
                    }
                    if self.negators.contains_key(before.text) {
                        value = -value;
                    } else if let Some(&degree) = self.degree.get(before.text) {
                        value *= degree;
                    }
                }
                sentence.push(value);
                matches.push(TermMatch {
                    term: word.text.to_string(),
                    field,
                    start: word.char_start,
                    end: word.char_end,
                });
            }
            flush(&mut sentence, &mut contrast_at);
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
    fn after_a_contrast_the_writer_means_what_follows() {
        let text =
            "[negative]\n受伤 2\n恶劣 2\n[positive]\n顺利 1\n[negator]\n没有\n[contrast]\n但是\n";
        let lexicon = Lexicon::parse(Path::new("s.txt"), text).unwrap();
        let mut segmenter = Segmenter::new();
        segmenter.add_words(lexicon.words());
        let tag = lexicon.score(&segmenter, "", "虽然没有学生受伤，但是影响恶劣。");
        assert_eq!(tag.label, Sentiment::Negative, "{}", tag.score);
        let tag = lexicon.score(&segmenter, "", "影响恶劣，但是撤离顺利，没有学生受伤。");
        assert!(
            tag.score
                > lexicon
                    .score(&segmenter, "", "影响恶劣，撤离顺利，没有学生受伤。")
                    .score
        );
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
