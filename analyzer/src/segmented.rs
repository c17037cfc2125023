//! A document segmented once, shared by every tagger (topics, sentiment, regions,
//! schools), and the vocabulary that lets each word be looked up once for all of them.
//!
//! Segmentation is most of the analyzer's work; the rest is looking words up. Every word
//! any tagger cares about gets a small id in one [`Vocabulary`]; a document's words are
//! hashed once, and each tagger reads its own tables by id.

use yuqing_model::{SmolStr, TextField};
use yuqing_segmenter::{starts_with_ideograph, Segmenter, Word};

/// A word's id in the [`Vocabulary`].
pub type WordId = u32;

/// Every word some tagger uses, numbered from 0.
///
/// A hash table of its own rather than a general map: every word of every document is
/// looked up, about one in five is found (学生, 学校, 不…), and the general map's hash
/// of the whole word and its comparison cost more than the segmentation of the word.
#[derive(Debug)]
pub struct Vocabulary {
    /// Every word, at its id, as tags carry it: a tag's matched word is a clone of one
    /// of these, a copy of a few bytes without an allocation or a call to copy them.
    words: Vec<SmolStr>,
    /// Open addressing on [`word_hash`].
    slots: Vec<Slot>,
    /// One bit per value of the hash's top 16 bits: set when some word of the vocabulary
    /// has that value. Most words of a document are in no tagger's vocabulary; the bit
    /// turns them away before the table is probed.
    filter: Box<[u64; FILTER_BITS / 64]>,
}

const FILTER_BITS: usize = 1 << 14;

/// A word in the table, with its bytes (all of them up to 16) so that a probe reads
/// one place: the words found are spread over the table, and following an id to the
/// word's own allocation cost a cache miss more per word found.
#[derive(Debug, Clone, Copy, Default)]
struct Slot {
    key: WordKey,
    /// 0 for an empty slot, else the word's id + 1.
    id_plus_one: u32,
}

/// A word's length and bytes: the first and the last eight (four) bytes, which overlap
/// and cover a word of up to 16 (8) bytes, so equal keys are equal words up to 16
/// bytes. Read with a few loads, without copying the word.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct WordKey {
    head: u64,
    tail: u64,
    len: u32,
}

/// Longest word a [`WordKey`] tells apart from every other.
const KEYED_LEN: usize = 16;

impl WordKey {
    #[inline(always)]
    fn of(bytes: &[u8]) -> WordKey {
        let n = bytes.len();
        let u32_at = |at: usize| u32::from_le_bytes(bytes[at..at + 4].try_into().unwrap());
        let u64_at = |at: usize| u64::from_le_bytes(bytes[at..at + 8].try_into().unwrap());
        let (head, tail) = match n {
            // A two-character Chinese word is six bytes.
            4..8 => (u64::from(u32_at(0)) | u64::from(u32_at(n - 4)) << 32, 0),
            8.. => (u64_at(0), u64_at(n - 8)),
            _ => (
                bytes
                    .iter()
                    .rev()
                    .fold(0, |key, &b| key << 8 | u64::from(b)),
                0,
            ),
        };
        WordKey {
            head,
            tail,
            len: n as u32,
        }
    }
}

/// A word's hash, from its length and the bytes that tell its first and last characters
/// apart (the lead byte of a Chinese character varies little). Words that share all of
/// these share a hash; the table compares the words themselves.
#[inline(always)]
fn word_hash(word: &str) -> u64 {
    let bytes = word.as_bytes();
    let n = bytes.len();
    let key = if n >= 3 {
        // Every Chinese word: no byte is missing.
        u64::from(bytes[1])
            | u64::from(bytes[2]) << 8
            | u64::from(bytes[n - 2]) << 16
            | u64::from(bytes[n - 1]) << 24
    } else {
        let at = |i: usize| u64::from(bytes.get(i).copied().unwrap_or(0));
        at(1) | at(2) << 8 | at(n.wrapping_sub(2)) << 16 | at(n.wrapping_sub(1)) << 24
    };
    let key = key | (n as u64) << 32;
    // Fibonacci hashing: the high bits of the product mix every input bit.
    key.wrapping_mul(0x9E37_79B9_7F4A_7C15)
}

/// The filter bit of a hash (its top 16 bits).
fn filter_bit(hash: u64) -> usize {
    (hash >> (64 - FILTER_BITS.trailing_zeros())) as usize
}

/// The first table slot to probe for a hash (bits below the filter's).
fn first_slot(hash: u64, slots: &[Slot]) -> usize {
    (hash >> 16) as usize & (slots.len() - 1)
}

impl Default for Vocabulary {
    fn default() -> Self {
        Vocabulary {
            words: Vec::new(),
            slots: vec![Slot::default(); 64],
            filter: Box::new([0; FILTER_BITS / 64]),
        }
    }
}

impl Vocabulary {
    /// The word's id, adding it when new.
    pub fn intern(&mut self, word: &str) -> WordId {
        if let Some(id) = self.get(word) {
            return id;
        }
        let id = WordId::try_from(self.words.len()).expect("fewer than 4 billion words");
        self.words.push(word.into());
        // At most half full, so that a probe ends soon at an empty slot.
        if self.words.len() * 2 > self.slots.len() {
            self.slots = vec![Slot::default(); self.slots.len() * 2];
            for index in 0..self.words.len() {
                self.place(index);
            }
        } else {
            self.place(id as usize);
        }
        let bit = filter_bit(word_hash(word));
        self.filter[bit / 64] |= 1 << (bit % 64);
        id
    }

    /// Puts the word at `index` in the first free slot of its probe sequence.
    fn place(&mut self, index: usize) {
        let mask = self.slots.len() - 1;
        let word = &self.words[index];
        let mut slot = first_slot(word_hash(word), &self.slots);
        while self.slots[slot].id_plus_one != 0 {
            slot = (slot + 1) & mask;
        }
        self.slots[slot] = Slot {
            key: WordKey::of(word.as_bytes()),
            id_plus_one: index as u32 + 1,
        };
    }

    /// Asked of every word of every document: kept inline in the segmentation loop,
    /// where a call would cost as much as the filter's answer.
    #[inline(always)]
    pub fn get(&self, word: &str) -> Option<WordId> {
        let hash = word_hash(word);
        let bit = filter_bit(hash);
        if self.filter[bit / 64] & (1 << (bit % 64)) == 0 {
            return None;
        }
        let key = WordKey::of(word.as_bytes());
        let mask = self.slots.len() - 1;
        let mut slot = first_slot(hash, &self.slots);
        loop {
            let Slot {
                key: found,
                id_plus_one,
            } = self.slots[slot];
            if id_plus_one == 0 {
                return None;
            }
            let id = id_plus_one - 1;
            if found == key && (word.len() <= KEYED_LEN || self.words[id as usize] == word) {
                return Some(id);
            }
            slot = (slot + 1) & mask;
        }
    }

    /// Every word, to be kept whole by the segmenter.
    pub fn words(&self) -> impl Iterator<Item = &str> {
        self.words.iter().map(|w| &**w)
    }
}

/// A table from word id to what one tagger knows about the word.
#[derive(Debug)]
pub struct ByWord<T> {
    entries: Vec<Option<T>>,
}

impl<T> Default for ByWord<T> {
    fn default() -> Self {
        ByWord {
            entries: Vec::new(),
        }
    }
}

impl<T> ByWord<T> {
    pub fn get(&self, id: WordId) -> Option<&T> {
        self.entries.get(id as usize).and_then(Option::as_ref)
    }

    /// The entry for `id`, created with `make` when absent.
    pub fn entry(&mut self, id: WordId, make: impl FnOnce() -> T) -> &mut T {
        let index = id as usize;
        if self.entries.len() <= index {
            self.entries.resize_with(index + 1, || None);
        }
        self.entries[index].get_or_insert_with(make)
    }

    pub fn contains(&self, id: WordId) -> bool {
        self.get(id).is_some()
    }
}

/// A word of the document that some tagger needs, with its vocabulary id if it has
/// one.
#[derive(Debug, Clone, Copy)]
pub struct Token<'a> {
    pub word: Word<'a>,
    pub id: Option<WordId>,
    /// Which sentence of its field the word is in (0 for the first), counted by the
    /// sentence-ending punctuation before it.
    pub sentence: u32,
    /// How many words that count for distance (terms and known words, not punctuation)
    /// come before this one in its field: "within three words" compares these.
    pub ordinal: u32,
}

/// The punctuation that ends a sentence.
#[cfg(test)]
const SENTENCE_ENDS: &[char] = &['。', '！', '？', '；', '!', '?', ';', '\n'];

/// Whether a word holds one of [`SENTENCE_ENDS`]. Compared as UTF-8 bytes, as this is
/// asked of every punctuation mark: 。 is E3 80 82, and ！？； are EF BC 81, 9F, 9B. A
/// lead byte cannot occur inside another character, so a match is a whole character.
#[inline]
fn ends_sentence(word: &str) -> bool {
    let bytes = word.as_bytes();
    match *bytes {
        // Most punctuation is one character: compared whole.
        [b] => return matches!(b, b'!' | b'?' | b';' | b'\n'),
        [lead @ 0xe0..=0xef, second, third] => {
            return matches!(
                (lead, second, third),
                (0xe3, 0x80, 0x82) | (0xef, 0xbc, 0x81 | 0x9f | 0x9b)
            )
        }
        _ => {}
    }
    bytes.iter().enumerate().any(|(i, &b)| match b {
        b'!' | b'?' | b';' | b'\n' => true,
        0xe3 => bytes[i + 1..].starts_with(&[0x80, 0x82]),
        0xef => matches!(bytes.get(i + 1..i + 3), Some([0xbc, 0x81 | 0x9f | 0x9b])),
        _ => false,
    })
}

/// The words of a document that some tagger needs, each kind in text order, the
/// title's before the content's: one list of each kind for both fields, so a document
/// costs three allocations. Most words of a document are none of these, and are dropped
/// as soon as they are cut.
struct Words<'a> {
    /// Words with a vocabulary id: every tagger's vocabulary.
    known: Vec<Token<'a>>,
    /// Words shaped like a person's name ([`crate::minors`]).
    name_shaped: Vec<Token<'a>>,
    /// Words that may end a school name ([`crate::places`]).
    school_ends: Vec<Token<'a>>,
}

/// Where the content's words start in each list of [`Words`].
struct ContentStarts {
    known: usize,
    name_shaped: usize,
    school_ends: usize,
}

pub struct Segmented<'a> {
    pub title: &'a str,
    pub content: &'a str,
    vocabulary: &'a Vocabulary,
    words: Words<'a>,
    content_starts: ContentStarts,
}

impl<'a> Segmented<'a> {
    pub fn new(
        segmenter: &Segmenter,
        vocabulary: &'a Vocabulary,
        title: &'a str,
        content: &'a str,
    ) -> Self {
        let mut words = Words::with_room_for(title.len() + content.len());
        words.add_field(segmenter, vocabulary, title);
        let content_starts = ContentStarts {
            known: words.known.len(),
            name_shaped: words.name_shaped.len(),
            school_ends: words.school_ends.len(),
        };
        words.add_field(segmenter, vocabulary, content);
        Segmented {
            title,
            content,
            vocabulary,
            words,
            content_starts,
        }
    }

    /// A word of the document as a tag carries it.
    pub fn term(&self, token: &Token) -> SmolStr {
        match token.id {
            Some(id) => self.vocabulary.words[id as usize].clone(),
            None => SmolStr::new(token.word.text),
        }
    }

    /// The field's words that some tagger knows, in order.
    pub fn known_tokens(&self, field: TextField) -> &[Token<'a>] {
        of_field(&self.words.known, self.content_starts.known, field)
    }

    /// The field's words that some tagger knows, in order, with their ids.
    pub fn known(&self, field: TextField) -> impl Iterator<Item = (&Token<'a>, WordId)> + '_ {
        self.known_tokens(field)
            .iter()
            .map(|token| (token, token.id.expect("a known word has an id")))
    }

    /// The field's words shaped like a person's name, in order.
    pub fn name_shaped(&self, field: TextField) -> &[Token<'a>] {
        of_field(
            &self.words.name_shaped,
            self.content_starts.name_shaped,
            field,
        )
    }

    /// The field's words that may end a school name, in order.
    pub fn school_ends(&self, field: TextField) -> &[Token<'a>] {
        of_field(
            &self.words.school_ends,
            self.content_starts.school_ends,
            field,
        )
    }
}

/// A field's part of a list of both fields' words.
fn of_field<'s, 'a>(
    list: &'s [Token<'a>],
    content_start: usize,
    field: TextField,
) -> &'s [Token<'a>] {
    match field {
        TextField::Title => &list[..content_start],
        TextField::Content => &list[content_start..],
    }
}

impl<'a> Words<'a> {
    /// Room for the words of most texts of `bytes` bytes at once. In the sample site's
    /// text there is on average a known word every 29 bytes, a word shaped like a name
    /// every 97 and a possible school-name end every 170, and the last two vary most.
    fn with_room_for(bytes: usize) -> Self {
        Words {
            known: Vec::with_capacity(bytes / 24 + 1),
            name_shaped: Vec::with_capacity(bytes / 48 + 1),
            school_ends: Vec::with_capacity(bytes / 72 + 1),
        }
    }

    /// Adds the words of one field.
    fn add_field(&mut self, segmenter: &Segmenter, vocabulary: &Vocabulary, text: &'a str) {
        let (mut sentence, mut ordinal) = (0, 0);
        segmenter.each_word(text, |word| {
            let id = vocabulary.get(word.text);
            let token = Token {
                word,
                id,
                sentence,
                ordinal,
            };
            if id.is_some() {
                self.known.push(token);
            }
            if starts_with_ideograph(word.text.as_bytes()) {
                // A Chinese word (most words): a term, and the only kind of word that
                // may be a name.
                if crate::minors::is_name_shaped(word.text) {
                    self.name_shaped.push(token);
                }
                if crate::places::may_end_a_school_name(word.text) {
                    self.school_ends.push(token);
                }
                ordinal += 1;
            } else if word.is_term() {
                // Letters or digits.
                if crate::places::may_end_a_school_name(word.text) {
                    self.school_ends.push(token);
                }
                ordinal += 1;
            } else {
                // Punctuation and spaces: they count for distance only as known words.
                if id.is_some() {
                    ordinal += 1;
                }
                if ends_sentence(word.text) {
                    sentence += 1;
                }
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn word_keys_are_equal_exactly_for_equal_words_up_to_sixteen_bytes() {
        let words: Vec<Vec<u8>> = (0..=20)
            .flat_map(|n| {
                let base: Vec<u8> = (0..n as u8).collect();
                let mut variants = vec![base.clone()];
                for at in 0..n {
                    let mut changed = base.clone();
                    changed[at] ^= 0x80;
                    variants.push(changed);
                }
                variants
            })
            .collect();
        for a in &words {
            for b in &words {
                if a.len() <= KEYED_LEN && b.len() <= KEYED_LEN {
                    assert_eq!(WordKey::of(a) == WordKey::of(b), a == b, "{a:?} {b:?}");
                } else if a == b {
                    assert_eq!(WordKey::of(a), WordKey::of(b));
                }
            }
        }
    }

    #[test]
    fn sentence_ends_are_found_in_any_word_and_only_them() {
        for c in (0..=0x10ffff).filter_map(char::from_u32) {
            for word in [
                c.to_string(),
                format!("a{c}"),
                format!("{c}，"),
                format!("…{c}"),
            ] {
                assert_eq!(
                    ends_sentence(&word),
                    word.contains(SENTENCE_ENDS),
                    "{word:?} (U+{:04X})",
                    c as u32
                );
            }
        }
    }

    #[test]
    fn the_vocabulary_finds_every_word_it_was_given_and_no_other() {
        let mut vocabulary = Vocabulary::default();
        // Words that share their first and last characters and length share a hash;
        // words of more than 16 bytes that differ only in the middle share a key too.
        let words: Vec<String> = (0..4000u32)
            .map(|k| {
                let middle = char::from_u32(0x4e00 + k).unwrap();
                match k % 4 {
                    0 => format!("学{middle}生"),
                    1 => format!("{middle}校"),
                    2 => format!("x{k}"),
                    _ => format!("焦作市{middle}实验校"),
                }
            })
            .collect();
        for (k, word) in words.iter().enumerate() {
            assert_eq!(vocabulary.intern(word), k as WordId);
        }
        assert_eq!(vocabulary.intern(&words[7]), 7, "interned once");
        for (k, word) in words.iter().enumerate() {
            assert_eq!(vocabulary.get(word), Some(k as WordId), "{word}");
        }
        for absent in [
            "学生",
            "学校",
            "学丁丁生",
            "x4002",
            "",
            "学",
            "焦作市一实验校",
        ] {
            assert_eq!(vocabulary.get(absent), None, "{absent}");
        }
        assert_eq!(vocabulary.words().count(), words.len());
    }
}
