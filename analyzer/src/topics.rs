//! Monitoring schemes (监测方案) read from a TOML file that analysts edit.
//!
//! ```toml
//! [[topic]]
//! name = "防溺水"
//! severity = 3                    # 1–3, how grave an incident is; drives the risk level
//! regions = ["焦作", "温县"]       # 地域词 (optional)
//! subjects = ["学生", "儿童"]      # 主体词 (optional)
//! words = ["溺水", "溺亡^3"]       # 事件词; ^3 gives a word weight 3 (default 1)
//! exclude = ["游泳馆开业"]         # 排除词: any of these vetoes the topic
//! groups = { drills = ["演练", "宣传"] }   # more named groups for the rule
//! rule = "subjects NEAR/30 words AND NOT drills"   # default: words AND subjects AND regions
//! min_score = 2                   # fire only when the evidence weighs this much
//! ```
//!
//! The rule language is in [`crate::scheme`]. A topic fires when its rule is true and
//! no exclusion word appears; its score is the weight of the event words in the rule's
//! evidence (a title hit counts twice; subject and region words weigh 0 unless given a
//! `^weight`), and it must be above zero and at least `min_score`.
//!
//! Words are matched against the shared segmentation (every rule word is added to the
//! segmenter's dictionary so it stays one word), which keeps a tag and a search in step.

use crate::scheme::{self, Expr};
use crate::segmented::{Segmented, Token, Vocabulary, WordId};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::Path;
use yuqing_model::{SmolStr, TermMatch, TextField, TopicTag};
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
    /// 地域词: place words the story must mention (when any are listed).
    #[serde(default)]
    pub regions: Vec<String>,
    /// 主体词: who the story is about (when any are listed).
    #[serde(default)]
    pub subjects: Vec<String>,
    /// 事件词: what happened.
    pub words: Vec<String>,
    /// 排除词: stories that look alike but are not about the topic.
    #[serde(default)]
    pub exclude: Vec<String>,
    /// More named word groups for the rule.
    #[serde(default)]
    pub groups: BTreeMap<String, Vec<String>>,
    pub rule: Option<toml::Spanned<String>>,
    #[serde(default)]
    pub min_score: f32,
    /// How grave an incident on this topic is, 1–3 (default 2); drives the risk level.
    #[serde(default = "default_severity")]
    pub severity: u8,
}

fn default_severity() -> u8 {
    2
}

/// The built-in groups of every scheme, in group-number order; custom groups follow.
const BUILT_IN_GROUPS: [&str; 4] = ["words", "subjects", "regions", "exclude"];
const EXCLUDE: usize = 3;

/// A scheme ready to evaluate.
#[derive(Debug)]
struct Scheme {
    name: SmolStr,
    severity: u8,
    min_score: f32,
    expr: Expr,
    /// The rule as written, or the default one spelled out.
    rule: SmolStr,
}

/// One use of a word: in which scheme, which group, with which weight.
#[derive(Debug, Clone, Copy)]
struct Use {
    scheme: u32,
    group: u16,
    weight: f32,
}

/// A word of the document that some scheme uses: which known word of which field
/// ([`Segmented::known_tokens`]), and as what. Every use of every subject word in the
/// document is one, so it is kept small and points at the word rather than copying it.
#[derive(Debug, Clone, Copy)]
struct Hit {
    token: u32,
    weight: f32,
    group: u16,
    field: TextField,
}

/// The document's words a scheme's hits point at.
#[derive(Clone, Copy)]
struct HitWords<'d, 'a> {
    title: &'d [Token<'a>],
    content: &'d [Token<'a>],
}

impl<'d, 'a> HitWords<'d, 'a> {
    fn of(&self, hit: &Hit) -> &'d Token<'a> {
        match hit.field {
            TextField::Title => &self.title[hit.token as usize],
            TextField::Content => &self.content[hit.token as usize],
        }
    }
}

/// The buffers of one document's tagging, kept per thread for the next document: a
/// document is tagged in a few microseconds, and allocating them anew was a large part
/// of that.
#[derive(Default)]
struct Scratch {
    /// Per scheme: its bucket among the live schemes, or [`DEAD`].
    bucket: Vec<u32>,
    /// The live schemes, in scheme order.
    live: Vec<usize>,
    /// Per live scheme: its hits in text order (title first).
    hits: Vec<Vec<Hit>>,
    evidence: Vec<usize>,
}

impl Scratch {
    /// Most hits a thread keeps room for between documents (12 bytes each): a rare huge
    /// document's buffers are dropped rather than kept for the thread's life.
    const KEPT_HITS: usize = 1 << 16;

    fn release_if_large(&mut self) {
        let kept = self.hits.iter().map(Vec::capacity).sum::<usize>() + self.evidence.capacity();
        if kept > Self::KEPT_HITS {
            *self = Scratch::default();
        }
    }
}

/// The bucket of a scheme that cannot fire on the document.
const DEAD: u32 = u32::MAX;

thread_local! {
    static SCRATCH: std::cell::RefCell<Scratch> = std::cell::RefCell::default();
}

/// The loaded schemes with, for every word, the schemes and groups that use it.
#[derive(Debug)]
pub struct TopicSet {
    schemes: Vec<Scheme>,
    uses: WordUses,
    /// The uses that weigh (event words): they decide which schemes can fire.
    weighed: WordUses,
}

/// For every word id, its uses, all in one array: `uses[start[id]..start[id + 1]]`.
/// Every known word of every document is looked up here, so the uses are kept
/// together rather than in a list per word.
#[derive(Debug, Default)]
struct WordUses {
    start: Vec<u32>,
    uses: Vec<Use>,
}

impl WordUses {
    fn new(mut pairs: Vec<(WordId, Use)>) -> Self {
        pairs.sort_by_key(|(id, u)| (*id, u.scheme)); // stable: a scheme's groups in order
        let words = pairs.last().map_or(0, |(id, _)| *id as usize + 1);
        let mut start = vec![0u32; words + 1];
        for (id, _) in &pairs {
            start[*id as usize + 1] += 1;
        }
        for k in 1..start.len() {
            start[k] += start[k - 1];
        }
        WordUses {
            start,
            uses: pairs.into_iter().map(|(_, u)| u).collect(),
        }
    }

    fn of(&self, id: WordId) -> &[Use] {
        let id = id as usize;
        match (self.start.get(id), self.start.get(id + 1)) {
            (Some(&from), Some(&to)) => &self.uses[from as usize..to as usize],
            _ => &[],
        }
    }
}

/// A title match counts more than a body match: headlines name the event.
const TITLE_WEIGHT: f32 = 2.0;
const CONTENT_WEIGHT: f32 = 1.0;

/// `"溺亡^3"` → ("溺亡", Some(3.0)).
fn weighted(word: &str) -> Result<(&str, Option<f32>), String> {
    let word = word.trim();
    match word.rsplit_once('^') {
        None => Ok((word, None)),
        Some((w, weight)) => match weight.trim().parse::<f32>() {
            Ok(weight) if weight.is_finite() && weight >= 0.0 => Ok((w.trim(), Some(weight))),
            _ => Err(format!(
                "word {word:?}: the weight after ^ must be a number ≥ 0"
            )),
        },
    }
}

impl TopicSet {
    pub fn load(path: &Path, vocabulary: &mut Vocabulary) -> Result<Self, RuleFileError> {
        Self::parse(path, &read_rule_file(path)?, vocabulary)
    }

    pub fn parse(
        path: &Path,
        text: &str,
        vocabulary: &mut Vocabulary,
    ) -> Result<Self, RuleFileError> {
        let file: TopicFile = toml::from_str(text).map_err(|e| {
            let offset = e.span().map(|s| s.start).unwrap_or(0);
            RuleFileError::invalid(path, text, offset, e.message().to_string())
        })?;
        let mut schemes = Vec::new();
        let mut uses = Vec::new();
        for spanned in file.topic {
            let offset = spanned.span().start;
            let rule = spanned.into_inner();
            Self::add(&mut schemes, &mut uses, rule, vocabulary).map_err(|(at, message)| {
                RuleFileError::invalid(path, text, at.unwrap_or(offset), message)
            })?;
        }
        let weighed = uses
            .iter()
            .filter(|(_, u)| u.weight > 0.0)
            .copied()
            .collect();
        Ok(TopicSet {
            schemes,
            uses: WordUses::new(uses),
            weighed: WordUses::new(weighed),
        })
    }

    /// Adds one scheme; an error carries the byte offset in the file when it is more
    /// precise than the scheme's start.
    fn add(
        schemes: &mut Vec<Scheme>,
        uses: &mut Vec<(WordId, Use)>,
        rule: TopicRule,
        vocabulary: &mut Vocabulary,
    ) -> Result<(), (Option<usize>, String)> {
        let name = SmolStr::new(rule.name.trim());
        let fail = |message: String| Err((None, message));
        if name.is_empty() {
            return fail("topic name is empty".to_string());
        }
        if schemes.iter().any(|s| s.name == name) {
            return fail(format!("topic {name:?} is defined twice"));
        }
        if rule.words.iter().all(|w| w.trim().is_empty()) {
            return fail(format!("topic {name:?} has no event words"));
        }
        if !(1..=3).contains(&rule.severity) {
            return fail(format!(
                "topic {name:?}: severity must be 1, 2 or 3, got {}",
                rule.severity
            ));
        }
        if !rule.min_score.is_finite() || rule.min_score < 0.0 {
            return fail(format!("topic {name:?}: min_score must be a number ≥ 0"));
        }
        let mut group_names: Vec<String> = BUILT_IN_GROUPS.iter().map(|g| g.to_string()).collect();
        let mut group_words: Vec<(Vec<String>, f32)> = vec![
            (rule.words.clone(), 1.0),
            (rule.subjects.clone(), 0.0),
            (rule.regions.clone(), 0.0),
            (rule.exclude.clone(), 0.0),
        ];
        for (group, words) in &rule.groups {
            if group_names.contains(group) {
                return fail(format!(
                    "topic {name:?}: group {group:?} is built in; list its words in `{group} = [...]`"
                ));
            }
            group_names.push(group.clone());
            group_words.push((words.clone(), 1.0));
        }
        let default_rule = || {
            let mut parts = vec!["words"];
            if !rule.subjects.is_empty() {
                parts.push("subjects");
            }
            if !rule.regions.is_empty() {
                parts.push("regions");
            }
            parts.join(" AND ")
        };
        let (rule_text, rule_offset) = match &rule.rule {
            Some(spanned) => (spanned.get_ref().clone(), Some(spanned.span().start)),
            None => (default_rule(), None),
        };
        // Literal words in the rule ("走失") become one-word groups of weight 1.
        let expr = scheme::parse(&rule_text, |word, literal| {
            if literal {
                group_names.push(format!("\"{word}\""));
                group_words.push((vec![word.to_string()], 1.0));
                Some(group_names.len() - 1)
            } else {
                group_names[..BUILT_IN_GROUPS.len() + rule.groups.len()]
                    .iter()
                    .position(|g| g == word)
            }
        })
        .map_err(|e| {
            (
                rule_offset,
                format!(
                    "topic {name:?}: rule: {} at character {} of {rule_text:?}",
                    e.message,
                    e.position + 1
                ),
            )
        })?;
        let scheme = u32::try_from(schemes.len()).expect("fewer than 4 billion topics");
        for (group, (words, default_weight)) in group_words.iter().enumerate() {
            for word in words {
                let (word, weight) =
                    weighted(word).map_err(|e| (None, format!("topic {name:?}: {e}")))?;
                if word.is_empty() {
                    continue;
                }
                let id = vocabulary.intern(word);
                uses.push((
                    id,
                    Use {
                        scheme,
                        group: group as u16,
                        weight: weight.unwrap_or(*default_weight),
                    },
                ));
            }
        }
        schemes.push(Scheme {
            name,
            severity: rule.severity,
            min_score: rule.min_score,
            expr,
            rule: rule_text.into(),
        });
        Ok(())
    }

    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.schemes.iter().map(|r| r.name.as_str())
    }

    /// The severity (1–3) of a topic, if it exists.
    pub fn severity(&self, name: &str) -> Option<u8> {
        self.schemes
            .iter()
            .find(|r| r.name == name)
            .map(|r| r.severity)
    }

    /// The topics whose schemes fire on the document, best first.
    pub fn tag(
        &self,
        segmenter: &Segmenter,
        vocabulary: &Vocabulary,
        title: &str,
        content: &str,
    ) -> Vec<TopicTag> {
        self.tag_segmented(&Segmented::new(segmenter, vocabulary, title, content))
    }

    pub(crate) fn tag_segmented(&self, doc: &Segmented) -> Vec<TopicTag> {
        SCRATCH.with(|scratch| match scratch.try_borrow_mut() {
            Ok(mut scratch) => {
                let tags = self.tag_with(doc, &mut scratch);
                scratch.release_if_large();
                tags
            }
            // Only if tagging ever called itself on this thread: fresh buffers then.
            Err(_) => self.tag_with(doc, &mut Scratch::default()),
        })
    }

    fn tag_with(&self, doc: &Segmented, scratch: &mut Scratch) -> Vec<TopicTag> {
        const FIELDS: [TextField; 2] = [TextField::Title, TextField::Content];
        let Scratch {
            bucket,
            live,
            hits,
            evidence,
        } = scratch;
        // Only a scheme with a weighed word in the document can score. Subject words
        // (学生, 学校) are everywhere and used by most schemes, event words are rare: find
        // the schemes that can fire first, and most documents stop here. A live scheme's
        // number among the live ones, in scheme order, is its bucket of hits.
        bucket.clear();
        bucket.resize(self.schemes.len(), DEAD);
        for field in FIELDS {
            for (_, id) in doc.known(field) {
                for u in self.weighed.of(id) {
                    bucket[u.scheme as usize] = 0;
                }
            }
        }
        live.clear();
        for (scheme, bucket) in bucket.iter_mut().enumerate() {
            if *bucket != DEAD {
                *bucket = live.len() as u32;
                live.push(scheme);
            }
        }
        if live.is_empty() {
            return Vec::new();
        }
        // Every hit of those schemes, each scheme's in text order (title first).
        if hits.len() < live.len() {
            hits.resize_with(live.len(), Vec::new);
        }
        let hits = &mut hits[..live.len()];
        hits.iter_mut().for_each(Vec::clear);
        for field in FIELDS {
            for (token, (_, id)) in doc.known(field).enumerate() {
                for u in self.uses.of(id) {
                    if let Some(hits) = hits.get_mut(bucket[u.scheme as usize] as usize) {
                        hits.push(Hit {
                            token: token as u32,
                            weight: u.weight,
                            group: u.group,
                            field,
                        });
                    }
                }
            }
        }
        let words = HitWords {
            title: doc.known_tokens(TextField::Title),
            content: doc.known_tokens(TextField::Content),
        };
        let mut tags: Vec<TopicTag> = Vec::new();
        for (scheme, hits) in live.iter().zip(hits.iter()) {
            let scheme = &self.schemes[*scheme];
            if hits.iter().any(|h| h.group as usize == EXCLUDE)
                || !find_evidence(&scheme.expr, hits, words, evidence)
            {
                continue;
            }
            let weighed = || {
                evidence
                    .iter()
                    .map(|&i| &hits[i])
                    .filter(|h| h.weight > 0.0)
            };
            let score: f32 = weighed()
                .map(|h| {
                    h.weight
                        * match h.field {
                            TextField::Title => TITLE_WEIGHT,
                            TextField::Content => CONTENT_WEIGHT,
                        }
                })
                .sum();
            if score <= 0.0 || score < scheme.min_score {
                continue;
            }
            tags.push(TopicTag {
                name: scheme.name.clone(),
                score,
                matches: weighed()
                    .map(|h| {
                        let token = words.of(h);
                        TermMatch {
                            term: doc.term(token),
                            field: h.field,
                            start: token.word.char_start,
                            end: token.word.char_end,
                        }
                    })
                    .collect(),
                rule: scheme.rule.clone(),
            });
        }
        tags.sort_by(|a, b| {
            b.score
                .total_cmp(&a.score)
                .then_with(|| a.name.cmp(&b.name))
        });
        tags
    }
}

/// Whether `expr` holds over a scheme's hits, and if so the hits that make it true in
/// `evidence` (their indices, each once, in order). A NOT that holds contributes no
/// evidence.
fn find_evidence(expr: &Expr, hits: &[Hit], words: HitWords, evidence: &mut Vec<usize>) -> bool {
    evidence.clear();
    // A scheme has at most 64 hits in nearly every document: one bit each, no allocation.
    if hits.len() <= 64 {
        evaluate::<u64>(expr, hits, words).map(|found| evidence.extend(found.hits()))
    } else {
        evaluate::<Vec<u64>>(expr, hits, words).map(|found| evidence.extend(found.hits()))
    }
    .is_some()
}

/// A set of hits (indices into a scheme's hits).
trait HitSet: Default {
    fn insert(&mut self, hit: usize);
    fn union(&mut self, other: &Self);
    fn is_empty(&self) -> bool;
    /// The hits, each once, in order.
    fn hits(&self) -> impl Iterator<Item = usize> + '_;
}

/// Up to 64 hits.
impl HitSet for u64 {
    fn insert(&mut self, hit: usize) {
        *self |= 1 << hit;
    }
    fn union(&mut self, other: &Self) {
        *self |= other;
    }
    fn is_empty(&self) -> bool {
        *self == 0
    }
    fn hits(&self) -> impl Iterator<Item = usize> + '_ {
        let mut rest = *self;
        std::iter::from_fn(move || {
            (rest != 0).then(|| {
                let hit = rest.trailing_zeros() as usize;
                rest &= rest - 1;
                hit
            })
        })
    }
}

/// Any number of hits, 64 to a word.
impl HitSet for Vec<u64> {
    fn insert(&mut self, hit: usize) {
        if self.len() <= hit / 64 {
            self.resize(hit / 64 + 1, 0);
        }
        self[hit / 64] |= 1 << (hit % 64);
    }
    fn union(&mut self, other: &Self) {
        if self.len() < other.len() {
            self.resize(other.len(), 0);
        }
        for (word, bits) in self.iter_mut().zip(other) {
            *word |= bits;
        }
    }
    fn is_empty(&self) -> bool {
        self.iter().all(|bits| *bits == 0)
    }
    fn hits(&self) -> impl Iterator<Item = usize> + '_ {
        self.iter()
            .enumerate()
            .flat_map(|(k, bits)| bits.hits().map(move |hit| k * 64 + hit))
    }
}

/// Whether `expr` holds over a scheme's hits, and if so the hits that make it true.
fn evaluate<S: HitSet>(expr: &Expr, hits: &[Hit], words: HitWords) -> Option<S> {
    match expr {
        Expr::Group { group, field } => {
            let mut found = S::default();
            for (i, h) in hits.iter().enumerate() {
                if h.group as usize == *group && field.is_none_or(|f| f == h.field) {
                    found.insert(i);
                }
            }
            (!found.is_empty()).then_some(found)
        }
        Expr::Not(inner) => match evaluate::<S>(inner, hits, words) {
            Some(_) => None,
            None => Some(S::default()),
        },
        Expr::And(parts) => {
            let mut all = S::default();
            for part in parts {
                all.union(&evaluate(part, hits, words)?);
            }
            Some(all)
        }
        Expr::Or(parts) => {
            let mut any: Option<S> = None;
            for part in parts {
                if let Some(found) = evaluate::<S>(part, hits, words) {
                    any.get_or_insert_with(S::default).union(&found);
                }
            }
            any
        }
        Expr::Near {
            left,
            right,
            within,
        } => {
            let left = evaluate::<S>(left, hits, words)?;
            let right = evaluate::<S>(right, hits, words)?;
            let mut found = S::default();
            for a in left.hits() {
                for b in right.hits() {
                    if hits[a].field != hits[b].field {
                        continue;
                    }
                    let (x, y) = (words.of(&hits[a]), words.of(&hits[b]));
                    let close = match within {
                        Some(n) => {
                            let (x, y) = (x.word, y.word);
                            let gap = x.char_start.max(y.char_start);
                            gap.saturating_sub(x.char_end.min(y.char_end)) <= *n as usize
                        }
                        None => x.sentence == y.sentence,
                    };
                    if close {
                        found.insert(a);
                        found.insert(b);
                    }
                }
            }
            (!found.is_empty()).then_some(found)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const RULES: &str = r#"
[[topic]]
name = "防溺水"
subjects = ["学生", "儿童", "少年"]
words = ["溺水", "溺亡^3", "落水"]
exclude = ["演练"]

[[topic]]
name = "食品安全"
words = ["食物中毒", "腹泻"]
"#;

    struct Setup {
        topics: TopicSet,
        vocabulary: Vocabulary,
        segmenter: Segmenter,
    }

    impl Setup {
        fn new(rules: &str) -> Self {
            let mut vocabulary = Vocabulary::default();
            let topics = TopicSet::parse(Path::new("topics.toml"), rules, &mut vocabulary).unwrap();
            let mut segmenter = Segmenter::new();
            segmenter.add_words(vocabulary.words());
            Setup {
                topics,
                vocabulary,
                segmenter,
            }
        }

        fn tag(&self, title: &str, content: &str) -> Vec<TopicTag> {
            self.topics
                .tag(&self.segmenter, &self.vocabulary, title, content)
        }

        fn names(&self, title: &str, content: &str) -> Vec<String> {
            self.tag(title, content)
                .into_iter()
                .map(|t| t.name.into())
                .collect()
        }
    }

    fn parse_error(rules: &str) -> String {
        TopicSet::parse(Path::new("t.toml"), rules, &mut Vocabulary::default())
            .unwrap_err()
            .to_string()
    }

    #[test]
    fn a_rule_fires_with_its_evidence_and_weights() {
        let setup = Setup::new(RULES);
        let tags = setup.tag("一名学生河边溺水", "该少年落水后被救起，另一人溺亡。");
        assert_eq!(tags.len(), 1);
        let tag = &tags[0];
        assert_eq!(tag.name, "防溺水");
        // title 溺水 1×2, body 落水 1, body 溺亡 3
        assert_eq!(tag.score, 6.0);
        assert_eq!(tag.rule, "words AND subjects");
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
        // subject words are in the rule, not in the weighed matches
        assert!(tag.matches.iter().all(|m| m.term != "学生"));
    }

    #[test]
    fn a_long_story_with_many_hits_keeps_all_its_evidence() {
        let setup = Setup::new(RULES);
        // More hits than one 64-bit word of evidence holds.
        let body = "学生落水。".repeat(40);
        let tags = setup.tag("", &body);
        assert_eq!(tags.len(), 1);
        assert_eq!(tags[0].score, 40.0);
        assert_eq!(tags[0].matches.len(), 40);
        assert_eq!(tags[0].matches[39].start, 39 * 5 + 2);
    }

    #[test]
    fn subjects_are_required_and_exclusions_veto() {
        let setup = Setup::new(RULES);
        assert!(setup.tag("货车落水", "司机获救").is_empty());
        assert!(setup
            .tag("学校举行防溺水演练", "模拟学生落水救援")
            .is_empty());
        assert_eq!(setup.names("", "多人出现腹泻症状"), ["食品安全"]);
    }

    #[test]
    fn proximity_sentences_fields_groups_and_min_score() {
        let setup = Setup::new(
            r#"
[[topic]]
name = "near"
subjects = ["学生"]
words = ["受伤"]
rule = "subjects NEAR/4 words"

[[topic]]
name = "sentence"
subjects = ["学生"]
words = ["受伤"]
rule = "subjects SENT words"

[[topic]]
name = "title only"
words = ["坍塌"]
rule = "title:words"

[[topic]]
name = "not drills"
words = ["火灾"]
groups = { drills = ["演练", "模拟"] }
rule = "words -(drills NEAR/5 words) | \"真实火情\""

[[topic]]
name = "heavy"
words = ["霸凌", "殴打^0.5"]
min_score = 1
"#,
        );
        assert_eq!(setup.names("", "一名学生摔倒受伤"), ["near", "sentence"]);
        assert_eq!(
            setup.names("", "学生们今天在操场上跑步，其中一人不慎摔倒受伤"),
            ["sentence"]
        );
        assert!(setup.names("", "学生们去了公园。有人受伤").is_empty());
        assert_eq!(setup.names("围墙坍塌", ""), ["title only"]);
        assert!(setup.names("", "围墙坍塌").is_empty());
        assert_eq!(setup.names("", "宿舍发生火灾"), ["not drills"]);
        assert!(setup.names("", "学校组织火灾逃生演练").is_empty());
        assert_eq!(
            setup.names("", "学校组织火灾逃生演练时发现真实火情"),
            ["not drills"]
        );
        assert!(setup.names("", "有人殴打路人").is_empty());
        assert_eq!(setup.names("", "有人殴打路人，涉嫌霸凌"), ["heavy"]);
    }

    #[test]
    fn errors_point_at_the_line() {
        let err = parse_error("[[topic]]\nname = \"a\"\nwords = [\"x\"]\nweight = 3\n");
        assert!(
            err.starts_with("t.toml:4:1: unknown field `weight`"),
            "{err}"
        );

        let err = parse_error("[[topic]]\nname = \"a\"\nwords = []\n");
        assert!(err.starts_with("t.toml:1:"), "{err}");
        assert!(err.contains("has no event words"), "{err}");

        let err = parse_error(
            "[[topic]]\nname = \"a\"\nwords = [\"x\"]\n\nrule = \"words AND subject\"\n",
        );
        assert!(err.starts_with("t.toml:5:8: "), "{err}");
        assert!(err.contains("unknown word group \"subject\""), "{err}");
        assert!(
            err.contains("at character 11 of \"words AND subject\""),
            "{err}"
        );

        let err = parse_error("[[topic]]\nname = \"a\"\nwords = [\"x^y\"]\n");
        assert!(err.contains("the weight after ^ must be a number"), "{err}");
    }

    #[test]
    fn a_thread_keeps_room_for_ordinary_documents_only() {
        let mut scratch = Scratch {
            hits: (0..12).map(|_| Vec::with_capacity(64)).collect(),
            ..Scratch::default()
        };
        scratch.release_if_large();
        assert_eq!(scratch.hits.len(), 12, "kept");
        scratch.hits[0].reserve(Scratch::KEPT_HITS);
        scratch.release_if_large();
        assert!(scratch.hits.is_empty(), "dropped");
    }
}
