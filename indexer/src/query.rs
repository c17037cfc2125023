//! The query language of the desk and of the alert rules.
//!
//! ```text
//! 溺水 学生                 both words (space is AND; AND may be written)
//! 溺水 | 落水               either (OR may be written)
//! 食堂 -演练                 without a word (NOT may be written)
//! "防溺水安全教育"            a phrase
//! (溺水 | 落水) 温县          parentheses
//! topic:校园欺凌  district:温县  school:焦作一中  source:焦作日报  title:溺水
//! sentiment:negative|负面   risk:高|high|中|medium|低|low
//! since:24h  since:7d  from:2026-11-01  to:2026-11-07      publish time (Beijing)
//! fetched_since:2h  fetched_from:…  fetched_to:…            fetch time
//! source_type:社交平台 (官方媒体/商业媒体/自媒体)  platform:weibo  ip:河南 (IP属地)
//! ```
//!
//! A word is segmented like the indexed text; a word of several segments must match as
//! a phrase. Errors say what is wrong and at which character of the query.

use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc};
use std::ops::Bound;
use tantivy::query::{
    AllQuery, BooleanQuery, BoostQuery, Occur, PhraseQuery, Query, RangeQuery, TermQuery,
};
use tantivy::schema::{Field, IndexRecordOption};
use tantivy::Term;
use yuqing_segmenter::Segmenter;

/// A query the parser refused, with the character position of the problem.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message} (at character {position})")]
pub struct QueryError {
    pub position: usize,
    pub message: String,
}

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Word(String),
    Phrase(String),
    Field(String, String),
    And,
    Or,
    Not,
    Open,
    Close,
}

/// Splits the query into tokens with their character positions.
fn lex(query: &str) -> Result<Vec<(usize, Token)>, QueryError> {
    let chars: Vec<char> = query.chars().collect();
    let mut tokens = Vec::new();
    let mut i = 0;
    let is_break = |c: char| {
        c.is_whitespace() || matches!(c, '(' | ')' | '|' | '"' | '“' | '”' | '（' | '）' | '｜')
    };
    while i < chars.len() {
        let c = chars[i];
        if c.is_whitespace() || c == '\u{3000}' {
            i += 1;
            continue;
        }
        let start = i;
        match c {
            '(' | '（' => {
                tokens.push((start, Token::Open));
                i += 1;
            }
            ')' | '）' => {
                tokens.push((start, Token::Close));
                i += 1;
            }
            '|' | '｜' => {
                tokens.push((start, Token::Or));
                i += 1;
            }
            // At a token boundary, `-` before a word is NOT ("食堂 -演练"); inside a word
            // it is part of it ("COVID-19").
            '-' => {
                if chars.get(i + 1).is_some_and(|c| !c.is_whitespace()) {
                    tokens.push((start, Token::Not));
                }
                i += 1;
            }
            '"' | '“' | '”' => {
                let end = chars[i + 1..]
                    .iter()
                    .position(|&c| matches!(c, '"' | '“' | '”'))
                    .ok_or(QueryError {
                        position: start,
                        message: "unclosed quote".into(),
                    })?;
                let phrase: String = chars[i + 1..i + 1 + end].iter().collect();
                tokens.push((start, Token::Phrase(phrase)));
                i += end + 2;
            }
            _ => {
                let mut j = i;
                while j < chars.len() && !is_break(chars[j]) {
                    j += 1;
                }
                let word: String = chars[i..j].iter().collect();
                i = j;
                let token = match word.as_str() {
                    "AND" => Token::And,
                    "OR" => Token::Or,
                    "NOT" => Token::Not,
                    _ => match word.split_once([':', '：']) {
                        Some((name, value))
                            if !name.is_empty()
                                && name.chars().all(|c| c.is_ascii_alphabetic() || c == '_') =>
                        {
                            let value = if value.is_empty()
                                && i < chars.len()
                                && matches!(chars[i], '"' | '“' | '”')
                            {
                                // field:"a phrase"
                                let end = chars[i + 1..]
                                    .iter()
                                    .position(|&c| matches!(c, '"' | '“' | '”'))
                                    .ok_or(QueryError {
                                        position: i,
                                        message: "unclosed quote".into(),
                                    })?;
                                let phrase: String = chars[i + 1..i + 1 + end].iter().collect();
                                i += end + 2;
                                phrase
                            } else {
                                value.to_string()
                            };
                            if value.is_empty() {
                                return Err(QueryError {
                                    position: start,
                                    message: format!("`{name}:` needs a value"),
                                });
                            }
                            Token::Field(name.to_string(), value)
                        }
                        _ => Token::Word(word),
                    },
                };
                tokens.push((start, token));
            }
        }
    }
    Ok(tokens)
}

/// The parsed query.
#[derive(Debug, Clone, PartialEq)]
pub enum Node {
    All,
    Text {
        position: usize,
        text: String,
        phrase: bool,
        title_only: bool,
    },
    Field {
        position: usize,
        name: String,
        value: String,
    },
    Not(Box<Node>),
    And(Vec<Node>),
    Or(Vec<Node>),
}

/// The longest query served, in characters: a search box or a rule is far shorter,
/// and every part of a query costs work in each search.
pub const MAX_QUERY_CHARS: usize = 4_000;
/// How deep brackets and `-` may nest: the parser and the query it builds recurse once
/// per level (a 5 KB query of nested `-(` once overflowed the stack).
pub const MAX_QUERY_DEPTH: usize = 32;

struct Parser {
    tokens: Vec<(usize, Token)>,
    at: usize,
    end: usize,
    /// Brackets and negations open around the token being read.
    depth: usize,
}

impl Parser {
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.at).map(|(_, t)| t)
    }

    fn position(&self) -> usize {
        self.tokens.get(self.at).map_or(self.end, |(p, _)| *p)
    }

    /// Enters one more level of brackets or negation, unless that is too deep.
    fn deeper(&mut self, position: usize) -> Result<(), QueryError> {
        self.depth += 1;
        if self.depth > MAX_QUERY_DEPTH {
            return Err(QueryError {
                position,
                message: format!("brackets and `-` nest deeper than {MAX_QUERY_DEPTH} levels here"),
            });
        }
        Ok(())
    }

    fn or(&mut self) -> Result<Node, QueryError> {
        let mut parts = vec![self.and()?];
        while self.peek() == Some(&Token::Or) {
            self.at += 1;
            if matches!(self.peek(), None | Some(Token::Close) | Some(Token::Or)) {
                return Err(QueryError {
                    position: self.position(),
                    message: "OR needs something after it".into(),
                });
            }
            parts.push(self.and()?);
        }
        Ok(if parts.len() == 1 {
            parts.remove(0)
        } else {
            Node::Or(parts)
        })
    }

    fn and(&mut self) -> Result<Node, QueryError> {
        let mut parts = vec![self.unary()?];
        loop {
            match self.peek() {
                None | Some(Token::Or) | Some(Token::Close) => break,
                Some(Token::And) => {
                    self.at += 1;
                }
                _ => {}
            }
            parts.push(self.unary()?);
        }
        Ok(if parts.len() == 1 {
            parts.remove(0)
        } else {
            Node::And(parts)
        })
    }

    fn unary(&mut self) -> Result<Node, QueryError> {
        if self.peek() == Some(&Token::Not) {
            self.deeper(self.position())?;
            self.at += 1;
            let inner = self.unary()?;
            self.depth -= 1;
            return Ok(Node::Not(Box::new(inner)));
        }
        self.primary()
    }

    fn primary(&mut self) -> Result<Node, QueryError> {
        let position = self.position();
        let Some((_, token)) = self.tokens.get(self.at).cloned() else {
            return Err(QueryError {
                position,
                message: "the query ends where a word was expected".into(),
            });
        };
        self.at += 1;
        match token {
            Token::Open => {
                self.deeper(position)?;
                let inner = self.or()?;
                self.depth -= 1;
                if self.peek() != Some(&Token::Close) {
                    return Err(QueryError {
                        position,
                        message: "unclosed parenthesis".into(),
                    });
                }
                self.at += 1;
                Ok(inner)
            }
            Token::Word(text) => Ok(Node::Text {
                position,
                text,
                phrase: false,
                title_only: false,
            }),
            Token::Phrase(text) => Ok(Node::Text {
                position,
                text,
                phrase: true,
                title_only: false,
            }),
            Token::Field(name, value) if name == "title" => Ok(Node::Text {
                position,
                text: value,
                phrase: false,
                title_only: true,
            }),
            Token::Field(name, value) => Ok(Node::Field {
                position,
                name,
                value,
            }),
            Token::Close => Err(QueryError {
                position,
                message: "unexpected `)`".into(),
            }),
            Token::And | Token::Or | Token::Not => Err(QueryError {
                position,
                message: "an operator where a word was expected".into(),
            }),
        }
    }
}

pub fn parse(query: &str) -> Result<Node, QueryError> {
    if query.chars().nth(MAX_QUERY_CHARS).is_some() {
        return Err(QueryError {
            position: MAX_QUERY_CHARS,
            message: format!("the query is longer than {MAX_QUERY_CHARS} characters"),
        });
    }
    let tokens = lex(query)?;
    if tokens.is_empty() {
        return Ok(Node::All);
    }
    let mut parser = Parser {
        tokens,
        at: 0,
        end: query.chars().count(),
        depth: 0,
    };
    let node = parser.or()?;
    if parser.at < parser.tokens.len() {
        return Err(QueryError {
            position: parser.position(),
            message: "unexpected `)`".into(),
        });
    }
    Ok(node)
}

/// The index fields the language reaches.
pub(crate) struct QueryFields {
    pub title: Field,
    pub content: Field,
    pub topic: Field,
    pub district: Field,
    pub school: Field,
    pub source: Field,
    pub sentiment: Field,
    pub risk: Field,
    pub source_type: Field,
    pub platform: Field,
    pub ip_region: Field,
    pub published_at: Field,
    pub fetched_at: Field,
}

/// Beijing midnight of a date, as tantivy time.
fn date_start(position: usize, text: &str) -> Result<DateTime<Utc>, QueryError> {
    let date = NaiveDate::parse_from_str(text, "%Y-%m-%d").map_err(|_| QueryError {
        position,
        message: format!("`{text}` is not a date like 2026-11-01"),
    })?;
    let local = yuqing_model::beijing()
        .from_local_datetime(&date.and_hms_opt(0, 0, 0).expect("midnight exists"))
        .single()
        .expect("fixed offsets are unambiguous");
    Ok(local.with_timezone(&Utc))
}

/// The longest `since:` reach: a century is more than any archive holds, and keeps
/// every time computed from it far inside what the clock can represent.
const MAX_SINCE_DAYS: i64 = 36_500;

fn duration(position: usize, text: &str) -> Result<Duration, QueryError> {
    let bad = || QueryError {
        position,
        message: format!("`{text}` is not a duration like 30m, 24h or 7d"),
    };
    let too_long = || QueryError {
        position,
        message: format!("`{text}` reaches too far back: at most {MAX_SINCE_DAYS}d (100 years)"),
    };
    let (number, unit) = text.split_at(text.find(|c: char| !c.is_ascii_digit()).ok_or_else(bad)?);
    if number.is_empty() {
        return Err(bad());
    }
    // Digits beyond i64 are simply too long, not malformed.
    let n: i64 = number.parse().map_err(|_| too_long())?;
    let duration = match unit {
        "m" | "min" | "分钟" => Duration::try_minutes(n),
        "h" | "小时" => Duration::try_hours(n),
        "d" | "天" => Duration::try_days(n),
        _ => return Err(bad()),
    };
    duration
        .filter(|d| *d <= Duration::days(MAX_SINCE_DAYS))
        .ok_or_else(too_long)
}

fn time_range(
    field: Field,
    from: Bound<DateTime<Utc>>,
    to: Bound<DateTime<Utc>>,
) -> Box<dyn Query> {
    let term = |t: DateTime<Utc>| {
        Term::from_field_date(field, tantivy::DateTime::from_timestamp_secs(t.timestamp()))
    };
    Box::new(RangeQuery::new(from.map(term), to.map(term)))
}

fn raw_term(field: Field, value: &str) -> Box<dyn Query> {
    Box::new(TermQuery::new(
        Term::from_field_text(field, value),
        IndexRecordOption::Basic,
    ))
}

/// A word or phrase over title (boosted) and content, segmented like the index.
fn text_query(
    fields: &QueryFields,
    segmenter: &Segmenter,
    text: &str,
    title_only: bool,
) -> Option<Box<dyn Query>> {
    let terms: Vec<String> = segmenter
        .words(text)
        .into_iter()
        .filter(|w| w.is_term())
        .map(|w| w.text.to_lowercase())
        .collect();
    if terms.is_empty() {
        return None;
    }
    let on = |field: Field| -> Box<dyn Query> {
        if terms.len() == 1 {
            Box::new(TermQuery::new(
                Term::from_field_text(field, &terms[0]),
                IndexRecordOption::WithFreqs,
            ))
        } else {
            Box::new(PhraseQuery::new(
                terms
                    .iter()
                    .map(|t| Term::from_field_text(field, t))
                    .collect(),
            ))
        }
    };
    let title: Box<dyn Query> = Box::new(BoostQuery::new(on(fields.title), 2.0));
    if title_only {
        return Some(title);
    }
    Some(Box::new(BooleanQuery::new(vec![
        (Occur::Should, title),
        (Occur::Should, on(fields.content)),
    ])))
}

pub(crate) fn compile(
    node: &Node,
    fields: &QueryFields,
    segmenter: &Segmenter,
    now: DateTime<Utc>,
) -> Result<Box<dyn Query>, QueryError> {
    Ok(match node {
        Node::All => Box::new(AllQuery),
        Node::Text {
            text, title_only, ..
        } => match text_query(fields, segmenter, text, *title_only) {
            Some(query) => query,
            // Only punctuation: matches everything rather than nothing.
            None => Box::new(AllQuery),
        },
        Node::Field {
            position,
            name,
            value,
        } => {
            let position = *position;
            match name.as_str() {
                "topic" => raw_term(fields.topic, value),
                "district" => raw_term(fields.district, value),
                "school" => raw_term(fields.school, value),
                "source" => raw_term(fields.source, value),
                "source_type" => match yuqing_model::SourceType::parse(value) {
                    Some(kind) => raw_term(fields.source_type, kind.as_str()),
                    None => {
                        return Err(QueryError {
                            position,
                            message: format!("source_type is 官方媒体/商业媒体/自媒体/社交平台 (official/commercial/self_media/social), not `{value}`"),
                        })
                    }
                },
                "platform" => raw_term(fields.platform, &value.to_lowercase()),
                "ip" | "ip_region" => raw_term(fields.ip_region, value),
                "sentiment" => match yuqing_model::Sentiment::parse(value) {
                    Some(s) => raw_term(fields.sentiment, s.as_str()),
                    None => {
                        return Err(QueryError {
                            position,
                            message: format!("sentiment is negative, neutral or positive (负面/中性/正面), not `{value}`"),
                        })
                    }
                },
                "risk" => match yuqing_model::RiskLevel::parse(value) {
                    Some(level) => raw_term(fields.risk, level.as_str()),
                    None => {
                        return Err(QueryError {
                            position,
                            message: format!("risk is 高/中/低 (high/medium/low), not `{value}`"),
                        })
                    }
                },
                "since" | "fetched_since" => {
                    let field = if name == "since" { fields.published_at } else { fields.fetched_at };
                    time_range(field, Bound::Included(now - duration(position, value)?), Bound::Unbounded)
                }
                "from" | "fetched_from" => {
                    let field = if name == "from" { fields.published_at } else { fields.fetched_at };
                    time_range(field, Bound::Included(date_start(position, value)?), Bound::Unbounded)
                }
                "to" | "fetched_to" => {
                    // Inclusive of the whole day.
                    let field = if name == "to" { fields.published_at } else { fields.fetched_at };
                    let end = date_start(position, value)? + Duration::days(1);
                    time_range(field, Bound::Unbounded, Bound::Excluded(end))
                }
                other => {
                    return Err(QueryError {
                        position,
                        message: format!(
                            "unknown field `{other}:`; fields are title, topic, district, school, source, source_type, platform, ip, sentiment, risk, since, from, to, fetched_since, fetched_from, fetched_to"
                        ),
                    })
                }
            }
        }
        Node::Not(inner) => Box::new(BooleanQuery::new(vec![
            (Occur::Must, Box::new(AllQuery) as Box<dyn Query>),
            (Occur::MustNot, compile(inner, fields, segmenter, now)?),
        ])),
        Node::And(parts) => Box::new(BooleanQuery::new(
            parts
                .iter()
                .map(|p| Ok((Occur::Must, compile(p, fields, segmenter, now)?)))
                .collect::<Result<Vec<_>, QueryError>>()?,
        )),
        Node::Or(parts) => Box::new(BooleanQuery::new(
            parts
                .iter()
                .map(|p| Ok((Occur::Should, compile(p, fields, segmenter, now)?)))
                .collect::<Result<Vec<_>, QueryError>>()?,
        )),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(position: usize, text: &str) -> Node {
        Node::Text {
            position,
            text: text.into(),
            phrase: false,
            title_only: false,
        }
    }

    /// The tree without positions, to compare queries written differently.
    fn shape(node: Node) -> Node {
        match node {
            Node::Text {
                text,
                phrase,
                title_only,
                ..
            } => Node::Text {
                position: 0,
                text,
                phrase,
                title_only,
            },
            Node::Field { name, value, .. } => Node::Field {
                position: 0,
                name,
                value,
            },
            Node::Not(inner) => Node::Not(Box::new(shape(*inner))),
            Node::And(parts) => Node::And(parts.into_iter().map(shape).collect()),
            Node::Or(parts) => Node::Or(parts.into_iter().map(shape).collect()),
            Node::All => Node::All,
        }
    }

    #[test]
    fn chinese_habits_and_operators_parse_alike() {
        let same = |a: &str, b: &str| {
            assert_eq!(
                shape(parse(a).unwrap()),
                shape(parse(b).unwrap()),
                "{a} / {b}"
            )
        };
        assert_eq!(parse("").unwrap(), Node::All);
        same("溺水 学生", "溺水 AND 学生");
        same("溺水 | 落水", "溺水 OR 落水");
        same("溺水｜落水", "溺水 OR 落水");
        same("食堂 -演练", "食堂 NOT 演练");
        assert_eq!(
            parse("(溺水 | 落水) 温县").unwrap(),
            Node::And(vec![
                Node::Or(vec![text(1, "溺水"), text(6, "落水")]),
                text(10, "温县")
            ])
        );
        assert_eq!(
            parse("topic:校园欺凌 -district：温县").unwrap(),
            Node::And(vec![
                Node::Field {
                    position: 0,
                    name: "topic".into(),
                    value: "校园欺凌".into()
                },
                Node::Not(Box::new(Node::Field {
                    position: 12,
                    name: "district".into(),
                    value: "温县".into()
                })),
            ])
        );
        assert_eq!(
            parse("source:\"焦作 日报\"").unwrap(),
            Node::Field {
                position: 0,
                name: "source".into(),
                value: "焦作 日报".into()
            }
        );
        assert_eq!(
            parse("COVID-19").unwrap(),
            text(0, "COVID-19"),
            "a dash inside a word is not NOT"
        );
    }

    #[test]
    fn errors_point_at_the_problem() {
        let err = |q: &str| parse(q).unwrap_err();
        assert_eq!(err("溺水 (学生").position, 3);
        assert!(err("溺水 (学生").message.contains("unclosed parenthesis"));
        assert_eq!(err("溺水 学生)").position, 5);
        assert_eq!(err("\"防溺水").position, 0);
        assert!(err("\"防溺水").message.contains("unclosed quote"));
        assert_eq!(err("溺水 OR").position, 5);
        assert!(err("topic:").message.contains("needs a value"));

        // What once overflowed the stack and aborted the process: refused with the limit.
        let nested = format!("{}溺水{}", "-(".repeat(1200), ")".repeat(1200));
        let e = err(&nested);
        assert!(e.message.contains("deeper than 32"), "{e}");
        assert_eq!(e.position, 32, "where the 33rd level opens");
        let e = err(&format!("{}溺水", "-".repeat(MAX_QUERY_DEPTH + 1)));
        assert!(e.message.contains("deeper than 32"), "{e}");
        let deepest = format!(
            "{}溺水{}",
            "(".repeat(MAX_QUERY_DEPTH),
            ")".repeat(MAX_QUERY_DEPTH)
        );
        assert!(parse(&deepest).is_ok());
        let long = "溺水 ".repeat(MAX_QUERY_CHARS / 3 + 1);
        let e = err(&long);
        assert!(e.message.contains("longer than 4000 characters"), "{e}");
        assert!(parse(&long[..long.len() - "溺水 ".len() * 2]).is_ok());
    }

    #[test]
    fn field_values_are_checked_when_compiled() {
        let schema = {
            let mut b = tantivy::schema::Schema::builder();
            for name in [
                "t", "c", "topic", "d", "s", "src", "sent", "risk", "st", "pf", "ip",
            ] {
                b.add_text_field(name, tantivy::schema::STRING);
            }
            b.add_date_field("p", tantivy::schema::INDEXED);
            b.add_date_field("f", tantivy::schema::INDEXED);
            b.build()
        };
        let f = |n: &str| schema.get_field(n).unwrap();
        let fields = QueryFields {
            title: f("t"),
            content: f("c"),
            topic: f("topic"),
            district: f("d"),
            school: f("s"),
            source: f("src"),
            sentiment: f("sent"),
            risk: f("risk"),
            source_type: f("st"),
            platform: f("pf"),
            ip_region: f("ip"),
            published_at: f("p"),
            fetched_at: f("f"),
        };
        let segmenter = Segmenter::new();
        let compile_err = |q: &str| {
            compile(&parse(q).unwrap(), &fields, &segmenter, Utc::now())
                .err()
                .unwrap()
        };
        let e = compile_err("溺水 sentiment:angry");
        assert_eq!(e.position, 3);
        assert!(e.message.contains("negative, neutral or positive"), "{e}");
        assert!(compile_err("risk:极高").message.contains("高/中/低"));
        assert!(compile_err("since:yesterday")
            .message
            .contains("duration like"));
        // Once a panic inside the rule book's lock: now an error that says the limit.
        for far in [
            "since:99999999999999d",
            "fetched_since:99999999999999999999999h",
            "since:36501d",
        ] {
            let e = compile_err(far);
            assert!(e.message.contains("at most 36500d"), "{far}: {e}");
        }
        assert!(compile(
            &parse("since:36500d").unwrap(),
            &fields,
            &segmenter,
            Utc::now()
        )
        .is_ok());
        assert!(compile_err("from:2026-13-01")
            .message
            .contains("not a date"));
        assert!(compile_err("source_type:报纸")
            .message
            .contains("官方媒体/商业媒体/自媒体/社交平台"));
        assert!(compile_err("weather:sunny")
            .message
            .contains("unknown field `weather:`"));
        assert!(compile(
            &parse("since:24h from:2026-11-01 to:2026-11-07 risk:高 sentiment:负面 source_type:社交平台 platform:Weibo").unwrap(),
            &fields,
            &segmenter,
            Utc::now()
        )
        .is_ok());
    }
}
