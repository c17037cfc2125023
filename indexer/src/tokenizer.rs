//! The jieba tokenizer for tantivy, registered under [`TOKENIZER_NAME`] and used by the
//! schema and the query parser alike.

use std::sync::Arc;
use tantivy::tokenizer::{Token, TokenStream, Tokenizer};
use yuqing_segmenter::Segmenter;

pub const TOKENIZER_NAME: &str = "yuqing_jieba";

#[derive(Clone)]
pub struct JiebaTokenizer {
    segmenter: Arc<Segmenter>,
}

impl JiebaTokenizer {
    pub fn new(segmenter: Arc<Segmenter>) -> Self {
        JiebaTokenizer { segmenter }
    }
}

pub struct JiebaTokenStream {
    tokens: Vec<Token>,
    index: usize,
}

impl Tokenizer for JiebaTokenizer {
    type TokenStream<'a> = JiebaTokenStream;

    fn token_stream<'a>(&'a mut self, text: &'a str) -> JiebaTokenStream {
        let tokens = self
            .segmenter
            .index_words(text)
            .into_iter()
            .map(|w| Token {
                offset_from: w.word.byte_start,
                offset_to: w.word.byte_end,
                position: w.position,
                // Latin words are matched case-insensitively; Chinese has no case.
                text: w.word.text.to_lowercase(),
                position_length: 1,
            })
            .collect();
        JiebaTokenStream { tokens, index: 0 }
    }
}

impl TokenStream for JiebaTokenStream {
    fn advance(&mut self) -> bool {
        self.index += 1;
        self.index <= self.tokens.len()
    }

    fn token(&self) -> &Token {
        &self.tokens[self.index - 1]
    }

    fn token_mut(&mut self) -> &mut Token {
        &mut self.tokens[self.index - 1]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_skip_punctuation_and_fold_latin_case() {
        let mut tokenizer = JiebaTokenizer::new(Arc::new(Segmenter::new()));
        let mut stream = tokenizer.token_stream("学生溺水，APP报警");
        let mut seen = Vec::new();
        while stream.advance() {
            let t = stream.token();
            seen.push((t.text.clone(), t.position, t.offset_from));
        }
        assert_eq!(
            seen,
            vec![
                ("学生".to_string(), 0, 0),
                ("溺水".to_string(), 1, 6),
                ("app".to_string(), 2, 15),
                ("报警".to_string(), 3, 18)
            ]
        );
    }
}
