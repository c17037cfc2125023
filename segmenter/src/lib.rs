//! One Chinese segmentation for the whole system.
//!
//! The analyzer tags topics from the words this segmenter produces and the index is built
//! from the same words, so a term the analyzer matched is a term the desk can search.
//! Building a [`Segmenter`] loads jieba's dictionary (a few hundred milliseconds), so it is
//! built once and shared behind an `Arc`.

use jieba_rs::Jieba;
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum SegmenterError {
    #[error("{path}: cannot read user dictionary: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}:{line}: {message}")]
    Syntax {
        path: PathBuf,
        line: usize,
        message: String,
    },
}

/// A word of segmented text with its offsets, in bytes and in characters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Word<'a> {
    pub text: &'a str,
    pub byte_start: usize,
    pub byte_end: usize,
    pub char_start: usize,
    pub char_end: usize,
}

impl Word<'_> {
    /// Whether the word carries meaning for search (not whitespace or punctuation).
    /// Asked of every word, so the usual words are answered inline from their bytes.
    #[inline(always)]
    pub fn is_term(&self) -> bool {
        let bytes = self.text.as_bytes();
        match bytes {
            _ if starts_with_ideograph(bytes) => true,
            [first, ..] if first.is_ascii_alphanumeric() => true,
            // A space or an ASCII mark.
            [_] => false,
            // One character of three bytes: most punctuation of Chinese text.
            [lead @ 0xe0..=0xef, second, third] => {
                let value = u32::from(lead & 0x0f) << 12
                    | u32::from(second & 0x3f) << 6
                    | u32::from(third & 0x3f);
                char::from_u32(value).is_some_and(is_term_char)
            }
            _ => self.has_term_char(),
        }
    }

    #[inline(never)]
    fn has_term_char(&self) -> bool {
        self.text.chars().any(is_term_char)
    }
}

/// Whether UTF-8 text starts with a character of U+4E00–U+9FFF (CJK ideographs), told
/// from its first two bytes: lead bytes E5–E9 start U+5000–U+9FFF, and E4 followed by
/// B8–BF starts U+4E00–U+4FFF. Most words of Chinese text are answered here, without
/// decoding a character.
#[inline]
pub fn starts_with_ideograph(utf8: &[u8]) -> bool {
    matches!(utf8, [0xe5..=0xe9, ..] | [0xe4, 0xb8..=0xbf, ..])
}

/// Whether a character is a letter, a digit or an ideograph: [`char::is_alphanumeric`],
/// answered without its general Unicode tables for the characters of Chinese text
/// (ideographs, ASCII, Chinese punctuation). Those tables are searched for every
/// character outside Latin, and a punctuation mark is every tenth word.
#[inline]
pub fn is_term_char(c: char) -> bool {
    match c {
        '\u{4e00}'..='\u{9fff}' => true,
        _ if c.is_ascii() => c.is_ascii_alphanumeric(),
        // General punctuation (“”…—), CJK punctuation (、。〈〉「」【】), full-width
        // punctuation (，！：？（）).
        '\u{2000}'..='\u{206f}'
        | '\u{3000}'..='\u{3004}'
        | '\u{3008}'..='\u{3020}'
        | '\u{ff01}'..='\u{ff0f}'
        | '\u{ff1a}'..='\u{ff20}' => false,
        _ => c.is_alphanumeric(),
    }
}

pub struct Segmenter {
    jieba: Jieba,
}

impl std::fmt::Debug for Segmenter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Segmenter")
    }
}

/// Weight given to words added without a frequency: high enough that jieba keeps them
/// whole instead of splitting them into more common shorter words.
const USER_WORD_FREQ: usize = 50_000;

impl Segmenter {
    /// jieba's bundled dictionary only.
    pub fn new() -> Self {
        Segmenter {
            jieba: Jieba::new(),
        }
    }

    /// jieba's dictionary plus user dictionaries, each line `word [frequency] [tag]`.
    /// Blank lines and lines starting with `#` are ignored.
    pub fn with_user_dicts(paths: &[impl AsRef<Path>]) -> Result<Self, SegmenterError> {
        let mut segmenter = Segmenter::new();
        for path in paths {
            segmenter.load_user_dict(path.as_ref())?;
        }
        Ok(segmenter)
    }

    fn load_user_dict(&mut self, path: &Path) -> Result<(), SegmenterError> {
        let text = std::fs::read_to_string(path).map_err(|source| SegmenterError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        for (index, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let mut parts = line.split_whitespace();
            let word = parts.next().expect("non-empty line has a first part");
            let freq = match parts.next() {
                None => USER_WORD_FREQ,
                Some(f) => f.parse::<usize>().map_err(|_| SegmenterError::Syntax {
                    path: path.to_path_buf(),
                    line: index + 1,
                    message: format!("frequency of {word:?} must be a whole number, got {f:?}"),
                })?,
            };
            let tag = parts.next();
            if let Some(extra) = parts.next() {
                return Err(SegmenterError::Syntax {
                    path: path.to_path_buf(),
                    line: index + 1,
                    message: format!("expected `word [frequency] [tag]`, found extra {extra:?}"),
                });
            }
            self.jieba.add_word(word, Some(freq), tag);
        }
        Ok(())
    }

    /// Whether a word looks like a person's name to jieba: not in the dictionary at all
    /// (a word its statistics put together), or a three-character word the dictionary
    /// tags `nr`. Two-character dictionary words are taken as ordinary words: most that
    /// start with a surname's character are (高中, 江边, 安全), and tagging is slow.
    pub fn may_be_a_name(&self, word: &str) -> bool {
        if !self.jieba.has_word(word) {
            return true;
        }
        if word.chars().count() != 3 {
            return false;
        }
        let tags = self.jieba.tag(word, false);
        tags.len() == 1 && tags[0].tag.starts_with("nr")
    }

    /// Adds words that must stay whole (for example every term of the topic schemes).
    pub fn add_words<'a>(&mut self, words: impl IntoIterator<Item = &'a str>) {
        for word in words {
            let word = word.trim();
            if !word.is_empty() && !self.jieba.has_word(word) {
                self.jieba.add_word(word, Some(USER_WORD_FREQ), None);
            }
        }
    }

    /// Segments `text` into words covering it entirely (punctuation included, see
    /// [`Word::is_term`]). HMM is on, so unknown names are still found as words.
    pub fn words<'a>(&self, text: &'a str) -> Vec<Word<'a>> {
        let mut words = Vec::new();
        self.each_word(text, |word| words.push(word));
        words
    }

    /// [`Segmenter::words`] one at a time, for callers that keep their own records.
    pub fn each_word<'a>(&self, text: &'a str, mut f: impl FnMut(Word<'a>)) {
        for t in self.jieba.cut(text, true) {
            f(Word {
                text: t.word,
                byte_start: t.byte_start,
                byte_end: t.byte_end,
                char_start: t.start,
                char_end: t.end,
            });
        }
    }
}

/// A word of segmented text as the index sees it: the word's position in the text, so
/// that the dictionary words inside a longer word can share it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IndexWord<'a> {
    pub word: Word<'a>,
    pub position: usize,
}

/// Longest word whose inner dictionary words are also indexed (longer runs are names
/// and phrases jieba glued together; their parts are found by the main cut anyway).
const MAX_SPLIT_CHARS: usize = 8;

impl Segmenter {
    /// The words to index: every term of [`Segmenter::words`], plus, at the same
    /// position, the dictionary words inside each longer word. So "防溺水" is found by a
    /// search for "溺水", and "校园欺凌" by "欺凌", while the analyzer keeps matching the
    /// whole words.
    pub fn index_words<'a>(&self, text: &'a str) -> Vec<IndexWord<'a>> {
        let mut out = Vec::with_capacity(text.len() / 3);
        let mut position = 0;
        self.each_word(text, |word| {
            if !word.is_term() {
                return;
            }
            out.push(IndexWord { word, position });
            self.push_inner_words(word, position, &mut out);
            position += 1;
        });
        out
    }

    /// The dictionary words inside `word` (of 3 to [`MAX_SPLIT_CHARS`] characters).
    fn push_inner_words<'a>(&self, word: Word<'a>, position: usize, out: &mut Vec<IndexWord<'a>>) {
        let length = word.char_end - word.char_start;
        if length <= 2 || length > MAX_SPLIT_CHARS {
            return; // most words: no allocation, no lookup
        }
        // Byte offset of each character, and of the word's end.
        let mut bounds = [0usize; MAX_SPLIT_CHARS + 1];
        for (k, (offset, _)) in word.text.char_indices().enumerate() {
            bounds[k] = offset;
        }
        bounds[length] = word.text.len();
        for start in 0..length {
            for end in start + 2..=length {
                if end - start == length {
                    continue; // the word itself
                }
                let (from, to) = (bounds[start], bounds[end]);
                let inner = &word.text[from..to];
                if self.jieba.has_word(inner) {
                    out.push(IndexWord {
                        word: Word {
                            text: inner,
                            byte_start: word.byte_start + from,
                            byte_end: word.byte_start + to,
                            char_start: word.char_start + start,
                            char_end: word.char_start + end,
                        },
                        position,
                    });
                }
            }
        }
    }
}

impl Default for Segmenter {
    fn default() -> Self {
        Segmenter::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn terms(segmenter: &Segmenter, text: &str) -> Vec<String> {
        segmenter
            .words(text)
            .into_iter()
            .filter(Word::is_term)
            .map(|w| w.text.to_string())
            .collect()
    }

    #[test]
    fn user_dictionary_keeps_domain_terms_whole() {
        let mut file = tempfile::NamedTempFile::new().unwrap();
        writeln!(file, "# 教育安全术语\n防溺水 80000 n\n\n校园欺凌").unwrap();
        let plain = Segmenter::new();
        let tuned = Segmenter::with_user_dicts(&[file.path()]).unwrap();
        let text = "学校开展防溺水和校园欺凌专项教育";
        assert!(!terms(&plain, text).contains(&"防溺水".to_string()));
        let words = terms(&tuned, text);
        assert!(words.contains(&"防溺水".to_string()), "{words:?}");
        assert!(words.contains(&"校园欺凌".to_string()), "{words:?}");
    }

    #[test]
    fn offsets_are_given_in_bytes_and_characters() {
        let segmenter = Segmenter::new();
        let text = "温县，学生溺水";
        let words = segmenter.words(text);
        let last = words.last().unwrap();
        assert_eq!(last.text, "溺水");
        assert_eq!(&text[last.byte_start..last.byte_end], "溺水");
        assert_eq!((last.char_start, last.char_end), (5, 7));
        assert!(!words.iter().find(|w| w.text == "，").unwrap().is_term());
    }

    #[test]
    fn term_characters_are_exactly_the_alphanumeric_ones() {
        let mut buffer = [0; 4];
        for c in (0..=0x10ffff).filter_map(char::from_u32) {
            let what = format!("{c:?} (U+{:04X})", c as u32);
            assert_eq!(is_term_char(c), c.is_alphanumeric(), "{what}");
            let word = Word {
                text: c.encode_utf8(&mut buffer),
                byte_start: 0,
                byte_end: 0,
                char_start: 0,
                char_end: 0,
            };
            assert_eq!(word.is_term(), c.is_alphanumeric(), "{what}");
            for longer in [format!("{c}."), format!("，{c}"), format!("{c}{c}")] {
                let longer = Word {
                    text: &longer,
                    ..word
                };
                assert_eq!(longer.is_term(), c.is_alphanumeric(), "{:?}", longer.text);
            }
            let ideograph = ('\u{4e00}'..='\u{9fff}').contains(&c);
            assert_eq!(
                starts_with_ideograph(word.text.as_bytes()),
                ideograph,
                "{what}"
            );
        }
    }

    #[test]
    fn index_words_add_the_dictionary_words_inside_longer_words_at_their_position() {
        let mut segmenter = Segmenter::new();
        segmenter.add_words(["防溺水"]);
        let words: Vec<(&str, usize)> = segmenter
            .index_words("开展防溺水教育")
            .iter()
            .map(|w| (w.word.text, w.position))
            .collect();
        assert!(words.contains(&("防溺水", 1)), "{words:?}");
        assert!(words.contains(&("溺水", 1)), "{words:?}");
        assert!(words.contains(&("教育", 2)), "{words:?}");
        let inner = segmenter
            .index_words("防溺水")
            .into_iter()
            .find(|w| w.word.text == "溺水")
            .unwrap();
        assert_eq!((inner.word.byte_start, inner.word.char_start), (3, 1));
    }

    #[test]
    fn a_bad_line_is_named_with_file_and_line() {
        let mut file = tempfile::NamedTempFile::new().unwrap();
        writeln!(file, "校车\n食堂 many").unwrap();
        let err = Segmenter::with_user_dicts(&[file.path()])
            .unwrap_err()
            .to_string();
        assert!(
            err.ends_with(":2: frequency of \"食堂\" must be a whole number, got \"many\""),
            "{err}"
        );
    }
}
