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
#[derive(Debug, Default)]
pub struct Vocabulary {
    ids: HashMap<Box<str>, WordId>,
}

impl Vocabulary {
    /// The word's id, adding it when new.
    pub fn intern(&mut self, word: &str) -> WordId {
        if let Some(&id) = self.ids.get(word) {
            return id;
        }
        let id = WordId::try_from(self.ids.len()).expect("fewer than 4 billion words");
        self.ids.insert(word.into(), id);
        id
    }

    pub fn get(&self, word: &str) -> Option<WordId> {
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
    /// Whether the word carries meaning (not punctuation or spaces).
    pub term: bool,
}

const SENTENCE_ENDS: &[char] = &['。', '！', '？', '；', '!', '?', ';', '\n'];

pub struct Segmented<'a> {
    pub title: &'a str,
    pub content: &'a str,
    title_tokens: Vec<Token<'a>>,
    content_tokens: Vec<Token<'a>>,
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
            title_tokens: tokens(segmenter, vocabulary, title),
            content_tokens: tokens(segmenter, vocabulary, content),
        }
    }

    pub fn tokens(&self, field: TextField) -> &[Token<'a>] {
        match field {
            TextField::Title => &self.title_tokens,
            TextField::Content => &self.content_tokens,
        }
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

    /// The field's words that some tagger knows.
    pub fn known(&self, field: TextField) -> impl Iterator<Item = (Word<'a>, WordId)> + '_ {
        self.tokens(field)
            .iter()
            .filter_map(|t| Some((t.word, t.id?)))
    }
}

fn tokens<'a>(segmenter: &Segmenter, vocabulary: &Vocabulary, text: &'a str) -> Vec<Token<'a>> {
    let mut tokens = Vec::with_capacity(text.len() / 4);
    let mut sentence = 0;
    segmenter.each_word(text, |word| {
        // Most words are Chinese: they are terms and end no sentence, no more to check.
        let chinese = word
            .text
            .chars()
            .next()
            .is_some_and(|c| ('\u{4e00}'..='\u{9fff}').contains(&c));
        let term = chinese || word.is_term();
        tokens.push(Token {
            word,
            id: vocabulary.get(word.text),
            sentence,
            term,
        });
        if !term && word.text.contains(SENTENCE_ENDS) {
            sentence += 1;
        }
    });
    tokens
}
