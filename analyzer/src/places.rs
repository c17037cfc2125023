//! Where a story happened and which school it concerns: the city's gazetteer (districts
//! with their aliases and towns) and the school registry, both TOML files analysts edit,
//! plus school names recognised by their shape (…中学, …小学, …幼儿园, …).

use crate::segmented::{ByWord, Segmented, Token, Vocabulary};
use crate::topics::{read_rule_file, RuleFileError};
use crate::utf8::ThreeByteChars;
use serde::Deserialize;
use std::path::Path;
use yuqing_model::{RegionTag, SchoolTag, SmolStr, TermMatch, TextField};
use yuqing_segmenter::is_term_char;
#[cfg(test)]
use yuqing_segmenter::Segmenter;

fn parse_toml<T: serde::de::DeserializeOwned>(path: &Path, text: &str) -> Result<T, RuleFileError> {
    toml::from_str(text).map_err(|e| {
        let offset = e.span().map(|s| s.start).unwrap_or(0);
        RuleFileError::invalid(path, text, offset, e.message().to_string())
    })
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct GazetteerFile {
    city: String,
    #[serde(default)]
    district: Vec<toml::Spanned<District>>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct District {
    name: SmolStr,
    #[serde(default)]
    aliases: Vec<String>,
    #[serde(default)]
    towns: Vec<String>,
}

/// The districts (属地) of the bureau's city and every name that points to one.
#[derive(Debug, Default)]
pub struct Gazetteer {
    /// The city itself (焦作市): read from the file, not yet a region of its own.
    #[allow(dead_code)]
    pub city: String,
    districts: Vec<SmolStr>,
    by_word: ByWord<usize>,
}

impl Gazetteer {
    pub fn load(path: &Path, vocabulary: &mut Vocabulary) -> Result<Self, RuleFileError> {
        let text = read_rule_file(path)?;
        Self::parse(path, &text, vocabulary)
    }

    pub fn parse(
        path: &Path,
        text: &str,
        vocabulary: &mut Vocabulary,
    ) -> Result<Self, RuleFileError> {
        let file: GazetteerFile = parse_toml(path, text)?;
        let mut gazetteer = Gazetteer {
            city: file.city,
            ..Gazetteer::default()
        };
        for spanned in file.district {
            let offset = spanned.span().start;
            let district = spanned.into_inner();
            let index = gazetteer.districts.len();
            for word in std::iter::once(district.name.as_str())
                .chain(district.aliases.iter().map(String::as_str))
                .chain(district.towns.iter().map(String::as_str))
            {
                let word = word.trim();
                if word.is_empty() {
                    continue;
                }
                let id = vocabulary.intern(word);
                if let Some(&other) = gazetteer.by_word.get(id) {
                    return Err(RuleFileError::invalid(
                        path,
                        text,
                        offset,
                        format!(
                            "{word:?} names both {} and {}; a name must point to one district",
                            gazetteer.districts[other], district.name
                        ),
                    ));
                }
                *gazetteer.by_word.entry(id, || index) = index;
            }
            gazetteer.districts.push(district.name);
        }
        Ok(gazetteer)
    }

    pub fn has_district(&self, name: &str) -> bool {
        self.districts.iter().any(|d| d == name)
    }

    /// The districts a document mentions, most mentioned first (the taggers' plain
    /// form, for tests; the analyzer reads the segmented words once for all taggers).
    #[cfg(test)]
    pub fn tag(
        &self,
        segmenter: &Segmenter,
        vocabulary: &Vocabulary,
        title: &str,
        content: &str,
    ) -> Vec<RegionTag> {
        self.tag_segmented(&Segmented::new(segmenter, vocabulary, title, content))
    }

    pub(crate) fn tag_segmented(&self, doc: &Segmented) -> Vec<RegionTag> {
        let mut found: Vec<RegionTag> = Vec::new();
        for field in [TextField::Title, TextField::Content] {
            for (token, id) in doc.known(field) {
                let word = token.word;
                let Some(&district) = self.by_word.get(id) else {
                    continue;
                };
                let name = &self.districts[district];
                let matched = TermMatch {
                    term: doc.term(token),
                    field,
                    start: word.char_start,
                    end: word.char_end,
                };
                match found.iter_mut().find(|r| &r.name == name) {
                    Some(region) => region.matches.push(matched),
                    None => found.push(RegionTag {
                        name: name.clone(),
                        matches: vec![matched],
                    }),
                }
            }
        }
        found.sort_by_key(|r| std::cmp::Reverse(r.matches.len()));
        found
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RegistryFile {
    #[serde(default)]
    school: Vec<toml::Spanned<School>>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct School {
    name: SmolStr,
    #[serde(default)]
    aliases: Vec<String>,
    district: Option<SmolStr>,
    office: Option<SmolStr>,
}

/// Known schools, and the shape of school names for the others.
#[derive(Debug, Default)]
pub struct SchoolRegistry {
    schools: Vec<School>,
    by_word: ByWord<usize>,
}

/// Words a school name ends with. A name is the run of (at most
/// [`MAX_SCHOOL_PREFIX`]) Chinese characters or digits just before one of them.
const SCHOOL_WORDS: &[&str] = &[
    "中学",
    "小学",
    "幼儿园",
    "大学",
    "职业技术学院",
    "实验学校",
    "外国语学校",
];
const MAX_SCHOOL_PREFIX: usize = 14;

/// The last character of every [`SCHOOL_WORDS`] word.
const SCHOOL_WORD_ENDS: [&str; 4] = ["学", "园", "院", "校"];

/// Whether a word ends in a school word's last character: asked of every word of every
/// document, so that only these are looked at again.
#[inline]
pub(crate) fn may_end_a_school_name(word: &str) -> bool {
    const ENDS: ThreeByteChars<4> = ThreeByteChars::first_chars_of(SCHOOL_WORD_ENDS);
    let bytes = word.as_bytes();
    bytes.len() >= 3 && ENDS.starts_at(bytes, bytes.len() - 3)
}

/// The last six bytes (two Chinese characters), to compare in place.
fn last_six_bytes(bytes: &[u8]) -> Option<[u8; 6]> {
    let at = bytes.len().checked_sub(6)?;
    bytes[at..].try_into().ok()
}

/// Names shaped like school names in a field: the byte start of each and the word that
/// ends it, in order. A school word must end where a word of the segmentation ends
/// (中学 in 中学生 does not), then a short walk back over the text finds the name.
fn school_shaped<'t, 'a>(text: &str, school_ends: &'t [Token<'a>]) -> Vec<(usize, &'t Token<'a>)> {
    let mut names = Vec::new();
    // A name does not reach back over an earlier school word ("…各中学一起参加了…幼儿园").
    let mut previous_end = 0;
    for token in school_ends {
        let end = token.word.byte_end;
        // Most words that get here are 学校, 医院 or 公园: their last two characters
        // tell them from every school word without comparing whole words.
        let ending = last_six_bytes(&text.as_bytes()[..end]);
        let Some(school_word) = SCHOOL_WORDS.iter().find(|w| {
            ending.is_some() && last_six_bytes(w.as_bytes()) == ending && text[..end].ends_with(*w)
        }) else {
            continue;
        };
        let word_start = end - school_word.len();
        let floor = previous_end.min(word_start);
        previous_end = end;
        let mut start = word_start;
        for (taken, (at, c)) in text[floor..word_start]
            .char_indices()
            .map(|(at, c)| (at + floor, c))
            .rev()
            .enumerate()
        {
            let part_of_name =
                (is_term_char(c) && !c.is_ascii_alphabetic()) && taken < MAX_SCHOOL_PREFIX;
            if !part_of_name {
                break;
            }
            start = at;
        }
        let after_last = names
            .last()
            .is_none_or(|&(_, last): &(usize, &Token)| start >= last.word.byte_end);
        if start < word_start && after_last {
            names.push((start, token));
        }
    }
    names
}

/// Particles and prepositions a school name does not contain: the name starts after the
/// last of them ("一起参加了焦作市实验幼儿园" → "焦作市实验幼儿园").
const NOT_IN_NAME: ThreeByteChars<26> = ThreeByteChars::new([
    '在', '到', '的', '于', '对', '从', '向', '与', '及', '是', '为', '该', '据', '了', '等', '由',
    '将', '把', '被', '让', '给', '名', '所', '个', '，', '、',
]);
/// Words that make a match a description rather than a name (某中学 = "a middle school").
const NOT_A_NAME: [&str; 12] = [
    "某", "一所", "多所", "各", "全市", "全县", "全区", "本校", "其他", "多名", "两名", "部分",
];
/// The first character of each [`NOT_A_NAME`] word.
const NOT_A_NAME_STARTS: ThreeByteChars<12> = ThreeByteChars::first_chars_of(NOT_A_NAME);

/// Whether a name found by its shape holds one of [`NOT_A_NAME`]. Asked at each character
/// that starts one of them, rather than searching the name once per word.
fn is_a_description(name: &str) -> bool {
    let bytes = name.as_bytes();
    (0..bytes.len()).any(|at| {
        NOT_A_NAME_STARTS.starts_at(bytes, at)
            && NOT_A_NAME
                .iter()
                .any(|w| bytes[at..].starts_with(w.as_bytes()))
    })
}

impl SchoolRegistry {
    pub fn load(
        path: &Path,
        gazetteer: Option<&Gazetteer>,
        vocabulary: &mut Vocabulary,
    ) -> Result<Self, RuleFileError> {
        let text = read_rule_file(path)?;
        Self::parse(path, &text, gazetteer, vocabulary)
    }

    pub fn parse(
        path: &Path,
        text: &str,
        gazetteer: Option<&Gazetteer>,
        vocabulary: &mut Vocabulary,
    ) -> Result<Self, RuleFileError> {
        let file: RegistryFile = parse_toml(path, text)?;
        let mut registry = SchoolRegistry::default();
        for spanned in file.school {
            let offset = spanned.span().start;
            let school = spanned.into_inner();
            if let (Some(district), Some(gazetteer)) = (&school.district, gazetteer) {
                if !gazetteer.has_district(district) {
                    return Err(RuleFileError::invalid(
                        path,
                        text,
                        offset,
                        format!(
                            "school {:?}: district {district:?} is not in the gazetteer",
                            school.name
                        ),
                    ));
                }
            }
            let index = registry.schools.len();
            let aliases = school.aliases.iter().map(String::as_str);
            for word in std::iter::once(school.name.as_str()).chain(aliases) {
                let id = vocabulary.intern(word.trim());
                if registry.by_word.contains(id) {
                    return Err(RuleFileError::invalid(
                        path,
                        text,
                        offset,
                        format!("{word:?} names two schools"),
                    ));
                }
                registry.by_word.entry(id, || index);
            }
            registry.schools.push(school);
        }
        Ok(registry)
    }

    /// Schools named in the document: registry schools first, then names by shape (for
    /// tests, as the gazetteer's).
    #[cfg(test)]
    pub fn tag(
        &self,
        segmenter: &Segmenter,
        vocabulary: &Vocabulary,
        title: &str,
        content: &str,
    ) -> Vec<SchoolTag> {
        self.tag_segmented(&Segmented::new(segmenter, vocabulary, title, content))
    }

    pub(crate) fn tag_segmented(&self, doc: &Segmented) -> Vec<SchoolTag> {
        let (title, content) = (doc.title, doc.content);
        let mut found: Vec<SchoolTag> = Vec::new();
        let mut add = |tag_name: SmolStr, school: Option<&School>, matched: TermMatch| match found
            .iter_mut()
            .find(|s| s.name == tag_name)
        {
            Some(tag) => tag.matches.push(matched),
            None => found.push(SchoolTag {
                name: tag_name,
                district: school.and_then(|s| s.district.clone()),
                office: school.and_then(|s| s.office.clone()),
                rule: SmolStr::new_static(if school.is_some() {
                    "registry"
                } else {
                    "pattern"
                }),
                matches: vec![matched],
            }),
        };
        for (field, text) in [(TextField::Title, title), (TextField::Content, content)] {
            let mut known_spans: Vec<(usize, usize)> = Vec::new();
            for (token, id) in doc.known(field) {
                let word = token.word;
                if let Some(&index) = self.by_word.get(id) {
                    let school = &self.schools[index];
                    known_spans.push((word.byte_start, word.byte_end));
                    let matched = TermMatch {
                        term: doc.term(token),
                        field,
                        start: word.char_start,
                        end: word.char_end,
                    };
                    add(school.name.clone(), Some(school), matched);
                }
            }
            for (shape_start, school_end) in school_shaped(text, doc.school_ends(field)) {
                let shape_end = school_end.word.byte_end;
                let found = &text[shape_start..shape_end];
                let name = &found[NOT_IN_NAME.end_of_last(found).unwrap_or(0)..];
                let start = shape_end - name.len();
                let next = text[shape_end..].chars().next();
                let is_name = name.chars().count() >= 4
                    && !is_a_description(name)
                    && next != Some('生') // 小学生, 中学生, 大学生 are pupils
                    && !known_spans.iter().any(|&(s, e)| start < e && shape_end > s);
                if is_name {
                    let end = school_end.word.char_end;
                    let name = SmolStr::new(name);
                    let matched = TermMatch {
                        term: name.clone(),
                        field,
                        start: end - name.chars().count(),
                        end,
                    };
                    add(name, None, matched);
                }
            }
        }
        found
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_description_is_a_name_holding_any_word_of_the_list() {
        let samples = [
            "某中学",
            "一所小学",
            "全市各中学",
            "焦作市第一中学",
            "本校",
            "其他学校",
            "部分",
            "两",
            "多名学生",
            "",
            "一中",
            "全",
            "焦作市实验小学部分年级",
        ];
        for name in samples {
            let expected = NOT_A_NAME.iter().any(|w| name.contains(w));
            assert_eq!(is_a_description(name), expected, "{name}");
        }
    }

    const GAZETTEER: &str = r#"
city = "焦作市"
[[district]]
name = "温县"
towns = ["祥云镇", "陈家沟"]
[[district]]
name = "孟州市"
aliases = ["孟州"]
"#;

    const REGISTRY: &str = r#"
[[school]]
name = "温县第一高级中学"
aliases = ["温县一高"]
district = "温县"
office = "温县教育局"
"#;

    fn setup() -> (Gazetteer, SchoolRegistry, Segmenter, Vocabulary) {
        let mut vocabulary = Vocabulary::default();
        let gazetteer =
            Gazetteer::parse(Path::new("regions.toml"), GAZETTEER, &mut vocabulary).unwrap();
        let registry = SchoolRegistry::parse(
            Path::new("schools.toml"),
            REGISTRY,
            Some(&gazetteer),
            &mut vocabulary,
        )
        .unwrap();
        let mut segmenter = Segmenter::new();
        segmenter.add_words(vocabulary.words());
        (gazetteer, registry, segmenter, vocabulary)
    }

    #[test]
    fn every_school_word_ends_in_a_listed_character() {
        for word in SCHOOL_WORDS {
            assert!(may_end_a_school_name(word), "{word}");
        }
    }

    #[test]
    fn only_words_ending_in_a_school_words_last_character_may_end_a_school_name() {
        for c in (0..=0x10ffff).filter_map(char::from_u32) {
            for word in [c.to_string(), format!("实验{c}"), format!("{c}a")] {
                let expected = SCHOOL_WORD_ENDS.iter().any(|end| word.ends_with(end));
                assert_eq!(may_end_a_school_name(&word), expected, "{word:?}");
            }
        }
    }

    #[test]
    fn districts_are_found_by_name_alias_and_town() {
        let (gazetteer, _, segmenter, vocabulary) = setup();
        let regions = gazetteer.tag(
            &segmenter,
            &vocabulary,
            "孟州两名学生溺水",
            "事发祥云镇附近，温县和孟州市已介入",
        );
        let names: Vec<&str> = regions.iter().map(|r| r.name.as_str()).collect();
        assert_eq!(names, vec!["孟州市", "温县"]);
        assert_eq!(regions[0].matches[0].term, "孟州");
        assert_eq!(regions[0].matches[0].field, TextField::Title);
        assert_eq!(regions[1].matches[0].term, "祥云镇");
        assert_eq!(
            (regions[1].matches[0].start, regions[1].matches[0].end),
            (2, 5)
        );
    }

    #[test]
    fn schools_come_from_the_registry_or_their_name_shape() {
        let (_, registry, segmenter, vocabulary) = setup();
        let schools = registry.tag(
            &segmenter,
            &vocabulary,
            "温县一高学生获奖",
            "在博爱县第二中学就读的学生，与某中学多名小学生、全市各中学一起参加了焦作市实验幼儿园的活动。",
        );
        let found: Vec<(&str, &str)> = schools
            .iter()
            .map(|s| (s.name.as_str(), s.rule.as_str()))
            .collect();
        assert_eq!(
            found,
            vec![
                ("温县第一高级中学", "registry"),
                ("博爱县第二中学", "pattern"),
                ("焦作市实验幼儿园", "pattern"),
            ]
        );
        assert_eq!(schools[0].district.as_deref(), Some("温县"));
        assert_eq!(schools[0].office.as_deref(), Some("温县教育局"));
        assert_eq!(schools[1].matches[0].start, 1);
        // Offsets are in characters, wherever the name starts inside a word.
        let kindergarten = &schools[2].matches[0];
        assert_eq!((kindergarten.start, kindergarten.end), (34, 42));
    }

    #[test]
    fn a_name_of_two_districts_or_an_unknown_district_is_refused_with_its_line() {
        let text = "city = \"x\"\n[[district]]\nname = \"甲\"\ntowns = [\"乙镇\"]\n\n[[district]]\nname = \"丙\"\ntowns = [\"乙镇\"]\n";
        let err = Gazetteer::parse(Path::new("r.toml"), text, &mut Vocabulary::default())
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("r.toml:6:1:"), "{err}");
        assert!(err.contains("\"乙镇\" names both 甲 and 丙"), "{err}");

        let (gazetteer, _, _, mut vocabulary) = setup();
        let text = "[[school]]\nname = \"某校\"\ndistrict = \"火星区\"\n";
        let err =
            SchoolRegistry::parse(Path::new("s.toml"), text, Some(&gazetteer), &mut vocabulary)
                .unwrap_err()
                .to_string();
        assert!(
            err.contains("district \"火星区\" is not in the gazetteer"),
            "{err}"
        );
    }
}
