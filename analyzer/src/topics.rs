//! Topic rules (监测方案) read from a TOML file that analysts edit.
//!
//! ```toml
//! [[topic]]
//! name = "防溺水"
//! subjects = ["学生", "儿童"]   # optional: at least one must appear
//! words = ["溺水", "溺亡"]       # event words: at least one must appear
//! exclude = ["游泳馆开业"]       # any of these vetoes the topic
//! ```
//!
//! Words are matched against the shared segmentation (every rule word is added to the
//! segmenter's dictionary so it stays one word), which keeps a tag and a search in step.

use crate::segmented::Segmented;
use rustc_hash::FxHashMap as HashMap;
use serde::Deserialize;
use std::path::Path;
use yuqing_model::{TermMatch, TextField, TopicTag};
use yuqing_segmenter::Segmenter;

/// Rule files report problems as file:line:column.
pub type RuleFileError = yuqing_model::FileError;

pub(crate) use yuqing_model::read_text_file as read_rule_file;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TopicFile {
    #[serde(default)]
    topic: Vec<toml::Spanned<TopicRule>>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TopicRule {
    pub name: String,
    #[serde(default)]
    pub subjects: Vec<String>,
    pub words: Vec<String>,
    #[serde(default)]
    pub exclude: Vec<String>,
    /// How grave an incident on this topic is, 1–3 (default 2); drives the risk level.
    #[serde(default = "default_severity")]
    pub severity: u8,
}

fn default_severity() -> u8 {
    2
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Group {
    Subject,
    Event,
    Exclude,
}

/// The loaded topic rules with an index from word to the rules that use it.
#[derive(Debug)]
pub struct TopicSet {
    rules: Vec<TopicRule>,
    by_word: HashMap<String, Vec<(usize, Group)>>,
}

/// A title match counts more than a body match: headlines name the event.
const TITLE_WEIGHT: f32 = 2.0;
const CONTENT_WEIGHT: f32 = 1.0;

impl TopicSet {
    pub fn load(path: &Path) -> Result<Self, RuleFileError> {
        Self::parse(path, &read_rule_file(path)?)
    }

    pub fn parse(path: &Path, text: &str) -> Result<Self, RuleFileError> {
        let file: TopicFile = toml::from_str(text).map_err(|e| {
            let offset = e.span().map(|s| s.start).unwrap_or(0);
            RuleFileError::invalid(path, text, offset, e.message().to_string())
        })?;
        let mut rules = Vec::new();
        for spanned in file.topic {
            let offset = spanned.span().start;
            let rule = spanned.into_inner();
            let problem = if rule.name.trim().is_empty() {
                Some("topic name is empty".to_string())
            } else if rules.iter().any(|r: &TopicRule| r.name == rule.name) {
                Some(format!("topic {:?} is defined twice", rule.name))
            } else if rule.words.iter().all(|w| w.trim().is_empty()) {
                Some(format!("topic {:?} has no event words", rule.name))
            } else if !(1..=3).contains(&rule.severity) {
                Some(format!(
                    "topic {:?}: severity must be 1, 2 or 3, got {}",
                    rule.name, rule.severity
                ))
            } else {
                None
            };
            if let Some(message) = problem {
                return Err(RuleFileError::invalid(path, text, offset, message));
            }
            rules.push(rule);
        }
        let mut by_word: HashMap<String, Vec<(usize, Group)>> = HashMap::default();
        for (index, rule) in rules.iter().enumerate() {
            let groups = [
                (&rule.subjects, Group::Subject),
                (&rule.words, Group::Event),
                (&rule.exclude, Group::Exclude),
            ];
            for (words, group) in groups {
                for word in words {
                    let word = word.trim();
                    if !word.is_empty() {
                        by_word
                            .entry(word.to_string())
                            .or_default()
                            .push((index, group));
                    }
                }
            }
        }
        Ok(TopicSet { rules, by_word })
    }

    /// Every word the rules use, to be kept whole by the segmenter.
    pub fn words(&self) -> impl Iterator<Item = &str> {
        self.by_word.keys().map(String::as_str)
    }

    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.rules.iter().map(|r| r.name.as_str())
    }

    /// The severity (1–3) of a topic, if it exists.
    pub fn severity(&self, name: &str) -> Option<u8> {
        self.rules
            .iter()
            .find(|r| r.name == name)
            .map(|r| r.severity)
    }

    /// The topics whose rules fire on the document, best first.
    pub fn tag(&self, segmenter: &Segmenter, title: &str, content: &str) -> Vec<TopicTag> {
        self.tag_segmented(&Segmented::new(segmenter, title, content))
    }

    pub(crate) fn tag_segmented(&self, doc: &Segmented) -> Vec<TopicTag> {
        let (title, content) = (doc.title, doc.content);
        #[derive(Default)]
        struct Hits {
            subject: bool,
            excluded: bool,
            score: f32,
            matches: Vec<TermMatch>,
        }
        let mut hits: Vec<Hits> = (0..self.rules.len()).map(|_| Hits::default()).collect();
        for (field, _text, weight) in [
            (TextField::Title, title, TITLE_WEIGHT),
            (TextField::Content, content, CONTENT_WEIGHT),
        ] {
            for word in doc.words_of(field).iter().copied() {
                let Some(uses) = self.by_word.get(word.text) else {
                    continue;
                };
                for &(rule, group) in uses {
                    let hit = &mut hits[rule];
                    match group {
                        Group::Subject => hit.subject = true,
                        Group::Exclude => hit.excluded = true,
                        Group::Event => {
                            hit.score += weight;
                            hit.matches.push(TermMatch {
                                term: word.text.to_string(),
                                field,
                                start: word.char_start,
                                end: word.char_end,
                            });
                        }
                    }
                }
            }
        }
        let mut tags: Vec<TopicTag> = hits
            .into_iter()
            .zip(&self.rules)
            .filter(|(hit, rule)| {
                !hit.matches.is_empty()
                    && !hit.excluded
                    && (rule.subjects.is_empty() || hit.subject)
            })
            .map(|(hit, rule)| TopicTag {
                name: rule.name.clone(),
                score: hit.score,
                matches: hit.matches,
            })
            .collect();
        tags.sort_by(|a, b| {
            b.score
                .total_cmp(&a.score)
                .then_with(|| a.name.cmp(&b.name))
        });
        tags
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const RULES: &str = r#"
[[topic]]
name = "防溺水"
subjects = ["学生", "儿童", "少年"]
words = ["溺水", "溺亡", "落水"]
exclude = ["演练"]

[[topic]]
name = "食品安全"
words = ["食物中毒", "腹泻"]
"#;

    fn setup() -> (TopicSet, Segmenter) {
        let topics = TopicSet::parse(Path::new("topics.toml"), RULES).unwrap();
        let mut segmenter = Segmenter::new();
        segmenter.add_words(topics.words());
        (topics, segmenter)
    }

    #[test]
    fn a_rule_fires_with_its_evidence() {
        let (topics, segmenter) = setup();
        let tags = topics.tag(&segmenter, "一名学生河边溺水", "该少年落水后被救起。");
        assert_eq!(tags.len(), 1);
        let tag = &tags[0];
        assert_eq!(tag.name, "防溺水");
        assert_eq!(tag.score, 3.0);
        assert_eq!(
            tag.matches[0],
            TermMatch {
                term: "溺水".into(),
                field: TextField::Title,
                start: 6,
                end: 8
            }
        );
        assert_eq!(tag.matches[1].field, TextField::Content);
        assert_eq!(tag.matches[1].term, "落水");
    }

    #[test]
    fn subjects_are_required_and_exclusions_veto() {
        let (topics, segmenter) = setup();
        assert!(topics.tag(&segmenter, "货车落水", "司机获救").is_empty());
        assert!(topics
            .tag(&segmenter, "学校举行防溺水演练", "模拟学生落水救援")
            .is_empty());
        let food = topics.tag(&segmenter, "", "多人出现腹泻症状");
        assert_eq!(food[0].name, "食品安全");
    }

    #[test]
    fn errors_point_at_the_line() {
        let text = "[[topic]]\nname = \"a\"\nwords = [\"x\"]\nweight = 3\n";
        let err = TopicSet::parse(Path::new("t.toml"), text)
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with("t.toml:4:1: unknown field `weight`"),
            "{err}"
        );

        let text = "[[topic]]\nname = \"a\"\nwords = []\n";
        let err = TopicSet::parse(Path::new("t.toml"), text)
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("t.toml:1:"), "{err}");
        assert!(err.contains("has no event words"), "{err}");
    }
}
