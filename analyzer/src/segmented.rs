//! A document segmented once, shared by every tagger (topics, sentiment, regions,
//! schools), and the vocabulary that lets each word be looked up once for all of them.
//!
//! Segmentation is most of the analyzer's work; the rest is looking words up. Every word
//! any tagger cares about gets a small id in one [`Vocabulary`]; a document's words are
//! hashed once, and each tagger reads its own tables by id.

use rustc_hash::FxHashMap as HashMap;
use yuqing_model::TextField;
use yuqing_segmenter::{Segmenter, Word};

/// A word's id in the [`Vocabulary`].
pub type WordId = u32;

/// Every word some tagger uses, numbered from 0.
#[derive(Debug)]
pub struct Vocabulary {
    ids: HashMap<Box<str>, WordId>,
    /// One bit per [`filter_slot`]: set when some word of the vocabulary falls in the
    /// slot. Most words of a document are in no tagger's vocabulary; the bit turns them
    /// away before the word is hashed and compared.
    filter: Box<[u64; FILTER_BITS / 64]>,
}

const FILTER_BITS: usize = 1 << 16;

/// A word's bit in the [`Vocabulary`] filter, from its length and the bytes that tell
/// its first and last characters apart (the lead byte of a Chinese character varies
/// little).
fn filter_slot(word: &str) -> usize {
    let bytes = word.as_bytes();
    let n = bytes.len();
    let at = |i: usize| u64::from(bytes.get(i).copied().unwrap_or(0));
    let key = at(1) | at(2) << 8 | at(n.wrapping_sub(2)) << 16 | at(n.wrapping_sub(1)) << 24;
    let key = key | (n as u64) << 32;
    // Fibonacci hashing: the top bits of the product mix every input bit.
    (key.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> (64 - 16)) as usize
}

impl Default for Vocabulary {
    fn default() -> Self {
        Vocabulary {
            ids: HashMap::default(),
            filter: Box::new([0; FILTER_BITS / 64]),
        }
    }
}

impl Vocabulary {
    /// The word's id, adding it when new.
    pub fn intern(&mut self, word: &str) -> WordId {
        if let Some(&id) = self.ids.get(word) {
            return id;
        }
        let id = WordId::try_from(self.ids.len()).expect("fewer than 4 billion words");
        self.ids.insert(word.into(), id);
        let slot = filter_slot(word);
        self.filter[slot / 64] |= 1 << (slot % 64);
        id
    }

    pub fn get(&self, word: &str) -> Option<WordId> {
        let slot = filter_slot(word);
        if self.filter[slot / 64] & (1 << (slot % 64)) == 0 {
            return None;
        }
        self.ids.get(word).copied()
    }

    /// Every word, to be kept whole by the segmenter.
    pub fn words(&self) -> impl Iterator<Item = &str> {
        self.ids.keys().map(|w| &**w)
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

/// A word of the document with its vocabulary id, if any tagger knows it.
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

const SENTENCE_ENDS: &[char] = &['。', '！', '？', '；', '!', '?', ';', '\n'];

/// One field's words, and which of them some tagger knows.
struct FieldTokens<'a> {
    tokens: Vec<Token<'a>>,
    /// Indices in `tokens` of the words with a vocabulary id: a tagger reads these and
    /// leaves the rest of the document (most of it) alone.
    known: Vec<u32>,
}

pub struct Segmented<'a> {
    pub title: &'a str,
    pub content: &'a str,
    title_words: FieldTokens<'a>,
    content_words: FieldTokens<'a>,
}

impl<'a> Segmented<'a> {
    pub fn new(
        segmenter: &Segmenter,
        vocabulary: &Vocabulary,
        title: &'a str,
        content: &'a str,
    ) -> Self {
        Segmented {
            title,
            content,
            title_words: FieldTokens::new(segmenter, vocabulary, title),
            content_words: FieldTokens::new(segmenter, vocabulary, content),
        }
    }

    fn field(&self, field: TextField) -> &FieldTokens<'a> {
        match field {
            TextField::Title => &self.title_words,
            TextField::Content => &self.content_words,
        }
    }

    /// Every word of the field, punctuation included.
    pub fn tokens(&self, field: TextField) -> &[Token<'a>] {
        &self.field(field).tokens
    }

    /// The field's words that some tagger knows, in order, with their ids.
    pub fn known(&self, field: TextField) -> impl Iterator<Item = (&Token<'a>, WordId)> + '_ {
        let field = self.field(field);
        field.known.iter().map(|&i| {
            let token = &field.tokens[i as usize];
            (token, token.id.expect("a known word has an id"))
        })
    }

    /// The character offset of byte offset `byte` in the field's text, found from the
    /// words' offsets instead of counting characters from the start of the text.
    pub fn char_offset(&self, field: TextField, byte: usize) -> usize {
        let tokens = self.tokens(field);
        let text = match field {
            TextField::Title => self.title,
            TextField::Content => self.content,
        };
        let at = tokens.partition_point(|t| t.word.byte_start <= byte);
        match at.checked_sub(1).map(|i| tokens[i].word) {
            Some(word) => word.char_start + text[word.byte_start..byte].chars().count(),
            None => text[..byte].chars().count(),
        }
    }
}

impl<'a> FieldTokens<'a> {
    fn new(segmenter: &Segmenter, vocabulary: &Vocabulary, text: &'a str) -> Self {
        // A word is three bytes or more in Chinese text, and a punctuation mark one
        // character: a third of the length is enough for every word.
        let mut tokens = Vec::with_capacity(text.len() / 3 + 1);
        let mut known = Vec::new();
        let (mut sentence, mut ordinal) = (0, 0);
        segmenter.each_word(text, |word| {
            let id = vocabulary.get(word.text);
            let term = word.is_term();
            if id.is_some() {
                known.push(u32::try_from(tokens.len()).expect("fewer than 4 billion words"));
            }
            tokens.push(Token {
                word,
                id,
                sentence,
                ordinal,
            });
            if term || id.is_some() {
                ordinal += 1;
            }
            if !term && word.text.contains(SENTENCE_ENDS) {
                sentence += 1;
            }
        });
        FieldTokens { tokens, known }
    }
}
