//! The rule language of a monitoring scheme (监测方案): how its word groups combine.
//!
//! ```text
//! words AND subjects                      both groups appear
//! words OR "走失"                          a group, or a literal word
//! words AND NOT drills                    NOT (also written -drills)
//! subjects NEAR/15 words                  a subject word within 15 characters of an event word
//! subjects SENT words                     in the same sentence
//! title:words AND body:subjects           only in the title / only in the body
//! (a | b) c                               | is OR; words side by side are AND
//! ```
//!
//! Precedence, loosest first: OR, AND, NOT, NEAR/SENT. The evidence of a rule (the words
//! that made it true) is what the explanation shows.

use yuqing_model::TextField;

/// A parsed rule. Groups are numbered by the scheme that owns them.
#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    Group {
        group: usize,
        field: Option<TextField>,
    },
    Not(Box<Expr>),
    And(Vec<Expr>),
    Or(Vec<Expr>),
    /// Both sides within `within` characters of each other, or in the same sentence
    /// when `within` is `None`.
    Near {
        left: Box<Expr>,
        right: Box<Expr>,
        within: Option<u32>,
    },
}

/// A rule that does not parse: what is wrong and at which character of the rule.
#[derive(Debug, Clone, PartialEq)]
pub struct RuleError {
    pub position: usize,
    pub message: String,
}

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Open,
    Close,
    And,
    Or,
    Not,
    Near(u32),
    Sentence,
    /// A group name or a quoted literal word, with an optional field scope.
    Atom {
        name: String,
        literal: bool,
        field: Option<TextField>,
    },
}

/// Parses `rule`; `resolve` maps a group name (or a literal word) to its group number.
pub fn parse(
    rule: &str,
    mut resolve: impl FnMut(&str, bool) -> Option<usize>,
) -> Result<Expr, RuleError> {
    let tokens = tokenize(rule)?;
    let mut parser = Parser {
        tokens: &tokens,
        at: 0,
        end: rule.chars().count(),
        resolve: &mut resolve,
    };
    let expr = parser.or()?;
    match parser.tokens.get(parser.at) {
        None => Ok(expr),
        Some((position, token)) => Err(RuleError {
            position: *position,
            message: match token {
                Token::Close => "a ) without its (".to_string(),
                _ => "unexpected text after the end of the rule".to_string(),
            },
        }),
    }
}

fn tokenize(rule: &str) -> Result<Vec<(usize, Token)>, RuleError> {
    let chars: Vec<char> = rule.chars().collect();
    let mut tokens = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let start = i;
        match c {
            c if c.is_whitespace() => i += 1,
            '(' | '（' => {
                tokens.push((start, Token::Open));
                i += 1;
            }
            ')' | '）' => {
                tokens.push((start, Token::Close));
                i += 1;
            }
            '|' => {
                tokens.push((start, Token::Or));
                i += 1;
            }
            '-' => {
                tokens.push((start, Token::Not));
                i += 1;
            }
            _ => {
                // A word runs to a space, a parenthesis or |; a quoted word to its
                // closing quote, spaces included.
                while i < chars.len()
                    && !chars[i].is_whitespace()
                    && !matches!(chars[i], '(' | ')' | '（' | '）' | '|')
                {
                    if chars[i] == '"' {
                        let Some(close) = chars[i + 1..].iter().position(|&q| q == '"') else {
                            return Err(RuleError {
                                position: i,
                                message: "a quoted word is not closed".to_string(),
                            });
                        };
                        i += close + 2;
                        break;
                    }
                    i += 1;
                }
                let text: String = chars[start..i].iter().collect();
                tokens.push((start, word_token(&text, start)?));
            }
        }
    }
    Ok(tokens)
}

fn word_token(text: &str, position: usize) -> Result<Token, RuleError> {
    match text {
        "AND" | "and" | "&" => return Ok(Token::And),
        "OR" | "or" => return Ok(Token::Or),
        "NOT" | "not" => return Ok(Token::Not),
        "SENT" | "sent" => return Ok(Token::Sentence),
        _ => {}
    }
    if let Some(n) = text
        .strip_prefix("NEAR/")
        .or_else(|| text.strip_prefix("near/"))
    {
        return n.parse().map(Token::Near).map_err(|_| RuleError {
            position: position + 5,
            message: format!("NEAR/ needs a number of characters, got {n:?}"),
        });
    }
    let (field, name) = match text.split_once(':') {
        Some(("title", rest)) => (Some(TextField::Title), rest),
        Some(("body", rest)) => (Some(TextField::Content), rest),
        Some((scope, _)) => {
            return Err(RuleError {
                position,
                message: format!("unknown field {scope:?}: use title: or body:"),
            })
        }
        None => (None, text),
    };
    let (name, literal) = match name.strip_prefix('"') {
        Some(quoted) => (quoted.strip_suffix('"').unwrap_or(quoted), true),
        None => (name, false),
    };
    if name.trim().is_empty() {
        return Err(RuleError {
            position,
            message: "an empty word".to_string(),
        });
    }
    Ok(Token::Atom {
        name: name.to_string(),
        literal,
        field,
    })
}

struct Parser<'t, 'r> {
    tokens: &'t [(usize, Token)],
    at: usize,
    end: usize,
    resolve: &'r mut dyn FnMut(&str, bool) -> Option<usize>,
}

impl Parser<'_, '_> {
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.at).map(|(_, t)| t)
    }

    fn position(&self) -> usize {
        self.tokens.get(self.at).map_or(self.end, |(p, _)| *p)
    }

    fn or(&mut self) -> Result<Expr, RuleError> {
        let mut parts = vec![self.and()?];
        while self.peek() == Some(&Token::Or) {
            self.at += 1;
            parts.push(self.and()?);
        }
        Ok(if parts.len() == 1 {
            parts.remove(0)
        } else {
            Expr::Or(parts)
        })
    }

    fn and(&mut self) -> Result<Expr, RuleError> {
        let mut parts = vec![self.unary()?];
        loop {
            match self.peek() {
                Some(Token::And) => self.at += 1,
                // Side by side is AND, as in a search box.
                Some(Token::Atom { .. } | Token::Open | Token::Not) => {}
                _ => break,
            }
            parts.push(self.unary()?);
        }
        Ok(if parts.len() == 1 {
            parts.remove(0)
        } else {
            Expr::And(parts)
        })
    }

    fn unary(&mut self) -> Result<Expr, RuleError> {
        if self.peek() == Some(&Token::Not) {
            self.at += 1;
            return Ok(Expr::Not(Box::new(self.unary()?)));
        }
        let mut left = self.atom()?;
        loop {
            let within = match self.peek() {
                Some(Token::Near(n)) => Some(*n),
                Some(Token::Sentence) => None,
                _ => break,
            };
            self.at += 1;
            let right = self.atom()?;
            left = Expr::Near {
                left: Box::new(left),
                right: Box::new(right),
                within,
            };
        }
        Ok(left)
    }

    fn atom(&mut self) -> Result<Expr, RuleError> {
        let position = self.position();
        let Some(token) = self.peek().cloned() else {
            return Err(RuleError {
                position,
                message: "the rule ends where a group or word was expected".to_string(),
            });
        };
        self.at += 1;
        match token {
            Token::Open => {
                let inner = self.or()?;
                if self.peek() != Some(&Token::Close) {
                    return Err(RuleError {
                        position: self.position(),
                        message: "missing )".to_string(),
                    });
                }
                self.at += 1;
                Ok(inner)
            }
            Token::Atom {
                name,
                literal,
                field,
            } => match (self.resolve)(&name, literal) {
                Some(group) => Ok(Expr::Group { group, field }),
                None => Err(RuleError {
                    position,
                    message: format!(
                        "unknown word group {name:?} (quote a literal word: \"{name}\")"
                    ),
                }),
            },
            other => Err(RuleError {
                position,
                message: format!("a group or word was expected, not {}", describe(&other)),
            }),
        }
    }
}

fn describe(token: &Token) -> &'static str {
    match token {
        Token::Open => "(",
        Token::Close => ")",
        Token::And => "AND",
        Token::Or => "OR",
        Token::Not => "NOT",
        Token::Near(_) => "NEAR/n",
        Token::Sentence => "SENT",
        Token::Atom { .. } => "a word",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn groups(rule: &str) -> Result<Expr, RuleError> {
        let names = ["words", "subjects", "drills"];
        let mut literals = Vec::new();
        parse(rule, |name, literal| {
            if literal {
                literals.push(name.to_string());
                Some(100 + literals.len() - 1)
            } else {
                names.iter().position(|n| *n == name)
            }
        })
    }

    fn g(group: usize) -> Expr {
        Expr::Group { group, field: None }
    }

    #[test]
    fn precedence_and_chinese_habits() {
        assert_eq!(
            groups("words subjects | drills").unwrap(),
            Expr::Or(vec![Expr::And(vec![g(0), g(1)]), g(2)])
        );
        assert_eq!(
            groups("words AND -drills").unwrap(),
            Expr::And(vec![g(0), Expr::Not(Box::new(g(2)))])
        );
        assert_eq!(
            groups("（words OR drills） AND NOT subjects NEAR/10 words").unwrap(),
            Expr::And(vec![
                Expr::Or(vec![g(0), g(2)]),
                Expr::Not(Box::new(Expr::Near {
                    left: Box::new(g(1)),
                    right: Box::new(g(0)),
                    within: Some(10)
                }))
            ])
        );
        assert_eq!(
            groups("title:words SENT \"走 失\"").unwrap(),
            Expr::Near {
                left: Box::new(Expr::Group {
                    group: 0,
                    field: Some(TextField::Title)
                }),
                right: Box::new(g(100)),
                within: None
            }
        );
    }

    #[test]
    fn errors_say_what_and_where() {
        let err = groups("words AND subject").unwrap_err();
        assert_eq!(err.position, 10);
        assert!(
            err.message.contains("unknown word group \"subject\""),
            "{err:?}"
        );
        assert_eq!(groups("(words").unwrap_err().message, "missing )");
        assert_eq!(groups("words)").unwrap_err().position, 5);
        assert_eq!(groups("words NEAR/x subjects").unwrap_err().position, 11);
        assert_eq!(groups("words AND").unwrap_err().position, 9);
        assert!(groups("url:words")
            .unwrap_err()
            .message
            .contains("title: or body:"));
        assert!(groups("\"open").unwrap_err().message.contains("not closed"));
    }
}
