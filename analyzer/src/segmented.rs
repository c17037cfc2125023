//! A document segmented once, shared by every tagger (topics, sentiment, regions,
//! schools): segmentation is most of the analyzer's work.

use yuqing_model::TextField;
use yuqing_segmenter::{Segmenter, Word};

pub struct Segmented<'a> {
    pub title: &'a str,
    pub content: &'a str,
    title_words: Vec<Word<'a>>,
    content_words: Vec<Word<'a>>,
}

impl<'a> Segmented<'a> {
    pub fn new(segmenter: &Segmenter, title: &'a str, content: &'a str) -> Self {
        Segmented {
            title,
            content,
            title_words: segmenter.words(title),
            content_words: segmenter.words(content),
        }
    }

    pub fn words_of(&self, field: TextField) -> &[Word<'a>] {
        match field {
            TextField::Title => &self.title_words,
            TextField::Content => &self.content_words,
        }
    }
}
