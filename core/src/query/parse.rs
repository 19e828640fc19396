//! The parser: bluge's `query_string.y` grammar, as Nakama's
//! `ParseQueryString` calls it (a keyword analyzer, RFC 3339 dates, `*`
//! alone for every document), over the tokens of `lex.rs`.
//!
//! ```text
//! query   := part+                       ("" is Query::Bool([]), "*" is All)
//! part    := ("+" | "-")? base ("^" boost)?
//! base    := STRING "~" fuzz?            fuzzy, unqualified
//!          | STRING | NUMBER | PHRASE    unqualified (empty field)
//!          | STRING ":" value
//! value   := STRING ("~" fuzz)?          term, /regexp/, wildcard, fuzzy
//!          | "-"? NUMBER                 keyword or number
//!          | PHRASE                      term
//!          | (">" | "<") "="? ("-"? NUMBER | PHRASE)   number or date range
//! ```
//!
//! Whitespace between tokens is free (`field: value`, `- field:value`).
//! A string is a regexp when it starts and ends with `/` (after escapes),
//! else a wildcard when it holds `*` or `?` (escaping them does not make
//! them literal: bluge unescapes first). With a keyword analyzer a phrase
//! is one exact keyword.
//!
//! Errors are bluge's errors, reported at parse time: a syntax error, an
//! unterminated phrase, a bad number, boost or fuzziness, a fuzziness
//! outside 0..=2 (bluge refuses more when searching), a date that is not
//! RFC 3339 or outside the nanosecond range, and a regexp that Go or
//! vellum refuses (`pattern.rs`). Kairos adds bounds: [`MAX_QUERY_BYTES`],
//! [`MAX_CLAUSES`], the heap all of a query's patterns may use compiled
//! ([`PATTERN_BUDGET`](super::PATTERN_BUDGET)), and a finite boost (Go
//! accepts `^inf` and `^nan`).

use super::ast::{Bound, Clause, DateBound, Leaf, Occur, Query};
use super::date;
use super::error::QueryError;
use super::lex::{self, Kind, Token};
use super::number::parse_go_float;
use super::pattern::{self, Budget};

/// The longest query string accepted, in bytes.
pub const MAX_QUERY_BYTES: usize = 4096;
/// The most clauses a query may have.
pub const MAX_CLAUSES: usize = 256;
/// bluge's largest fuzziness.
pub const MAX_FUZZINESS: u8 = 2;

/// Parses a query string. `"*"` exactly is [`Query::All`]; `""` is
/// `Query::Bool(vec![])`, which matches nothing (match listing reads an
/// empty query as all matches before it gets here, as Nakama does); a
/// query of whitespace only is a syntax error, as in bluge.
pub fn parse(text: &str) -> Result<Query, QueryError> {
    if text.len() > MAX_QUERY_BYTES {
        return Err(QueryError::new(
            MAX_QUERY_BYTES,
            format!("query longer than {MAX_QUERY_BYTES} bytes"),
        ));
    }
    if text == "*" {
        return Ok(Query::All);
    }
    if text.is_empty() {
        return Ok(Query::Bool(Vec::new()));
    }
    let mut tokens = lex::lex(text)?;
    let mut parser = Parser {
        tokens: &mut tokens,
        at: 0,
        end: text.len(),
        budget: Budget::new(),
    };
    let mut clauses = Vec::new();
    loop {
        if clauses.len() == MAX_CLAUSES {
            if parser.peek().is_some() {
                return Err(QueryError::new(
                    parser.pos(),
                    format!("more than {MAX_CLAUSES} clauses"),
                ));
            }
            break;
        }
        clauses.push(parser.clause()?);
        if parser.peek().is_none() {
            break;
        }
    }
    Ok(Query::Bool(clauses))
}

struct Parser<'a> {
    /// The tokens; a consumed token's text may have been moved out.
    tokens: &'a mut [Token],
    at: usize,
    /// The length of the input: where an unexpected end is.
    end: usize,
    /// What the query's patterns may still use, compiled.
    budget: Budget,
}

/// How a token reads in a message.
fn describe(kind: Option<&Kind>) -> String {
    match kind {
        None => "end of query".into(),
        Some(Kind::Str(s)) => format!("'{s}'"),
        Some(Kind::Phrase(s)) => format!("phrase \"{s}\""),
        Some(Kind::Number(s)) => format!("number {s}"),
        Some(Kind::Plus) => "'+'".into(),
        Some(Kind::Minus) => "'-'".into(),
        Some(Kind::Colon) => "':'".into(),
        Some(Kind::Greater) => "'>'".into(),
        Some(Kind::Less) => "'<'".into(),
        Some(Kind::Equal) => "'='".into(),
        Some(Kind::Boost(_)) => "'^'".into(),
        Some(Kind::Tilde(_)) => "'~'".into(),
    }
}

impl Parser<'_> {
    fn peek(&self) -> Option<&Kind> {
        self.tokens.get(self.at).map(|t| &t.kind)
    }

    fn pos(&self) -> usize {
        self.tokens.get(self.at).map_or(self.end, |t| t.pos)
    }

    fn bump(&mut self) -> Option<&Kind> {
        let kind = self.tokens.get(self.at).map(|t| &t.kind);
        self.at += 1;
        kind
    }

    /// The current token's text (a word, phrase or number), moved out;
    /// then the next token.
    fn bump_text(&mut self) -> String {
        let text = match self.tokens.get_mut(self.at).map(|t| &mut t.kind) {
            Some(Kind::Str(s) | Kind::Phrase(s) | Kind::Number(s)) => std::mem::take(s),
            _ => String::new(),
        };
        self.at += 1;
        text
    }

    fn unexpected(&self, expected: &str) -> QueryError {
        QueryError::new(
            self.pos(),
            format!(
                "syntax error: unexpected {}, expected {expected}",
                describe(self.peek())
            ),
        )
    }

    fn clause(&mut self) -> Result<Clause, QueryError> {
        let occur = match self.peek() {
            Some(Kind::Plus) => Occur::Must,
            Some(Kind::Minus) => Occur::MustNot,
            _ => Occur::Should,
        };
        if occur != Occur::Should {
            self.bump();
        }
        let leaf = self.base()?;
        let mut boost = 1.0;
        if let Some(Kind::Boost(text)) = self.peek() {
            let pos = self.pos();
            boost = parse_go_float(text)
                .filter(|b| b.is_finite())
                .ok_or_else(|| QueryError::new(pos, format!("invalid boost value '{text}'")))?;
            self.bump();
        }
        Ok(Clause { occur, boost, leaf })
    }

    fn base(&mut self) -> Result<Leaf, QueryError> {
        let pos = self.pos();
        match self.peek() {
            Some(Kind::Str(_)) => {
                let s = self.bump_text();
                match self.peek() {
                    Some(Kind::Colon) => {
                        self.bump();
                        self.value(s)
                    }
                    Some(Kind::Tilde(_)) => self.fuzzy(String::new(), s),
                    _ => string_leaf(pos, String::new(), s, &mut self.budget),
                }
            }
            Some(Kind::Number(_)) => {
                let n = self.bump_text();
                number_leaf(pos, String::new(), n)
            }
            Some(Kind::Phrase(_)) => {
                let value = self.bump_text();
                Ok(Leaf::Term {
                    field: String::new(),
                    value,
                })
            }
            _ => Err(self.unexpected("a term")),
        }
    }

    /// After `field:`.
    fn value(&mut self, field: String) -> Result<Leaf, QueryError> {
        let pos = self.pos();
        match self.peek() {
            Some(Kind::Str(_)) => {
                let s = self.bump_text();
                if let Some(Kind::Tilde(_)) = self.peek() {
                    self.fuzzy(field, s)
                } else {
                    string_leaf(pos, field, s, &mut self.budget)
                }
            }
            Some(Kind::Number(_) | Kind::Minus) => {
                let text = self.signed_number("a value")?;
                number_leaf(pos, field, text)
            }
            Some(Kind::Phrase(_)) => {
                let value = self.bump_text();
                Ok(Leaf::Term { field, value })
            }
            Some(Kind::Greater | Kind::Less) => self.range(field),
            _ => Err(self.unexpected("a value")),
        }
    }

    /// `-`? NUMBER, as text.
    fn signed_number(&mut self, expected: &str) -> Result<String, QueryError> {
        let minus = matches!(self.peek(), Some(Kind::Minus));
        if minus {
            self.bump();
        }
        match self.peek() {
            Some(Kind::Number(_)) => {
                let n = self.bump_text();
                Ok(if minus { format!("-{n}") } else { n })
            }
            _ => Err(self.unexpected(if minus { "a number" } else { expected })),
        }
    }

    /// The current token is `~`.
    fn fuzzy(&mut self, field: String, value: String) -> Result<Leaf, QueryError> {
        let pos = self.pos();
        let Some(Kind::Tilde(text)) = self.bump() else {
            unreachable!("called on a tilde")
        };
        let fuzziness = parse_go_float(text)
            .filter(|f| f.is_finite())
            .ok_or_else(|| QueryError::new(pos, format!("invalid fuzziness value '{text}'")))?;
        // Go's int(): towards zero.
        let distance = fuzziness.trunc();
        if distance < 0.0 {
            return Err(QueryError::new(pos, "invalid fuzziness, negative"));
        }
        if distance > f64::from(MAX_FUZZINESS) {
            return Err(QueryError::new(
                pos,
                format!("fuzziness exceeds max ({MAX_FUZZINESS})"),
            ));
        }
        Ok(Leaf::Fuzzy {
            field,
            value,
            distance: distance as u8,
        })
    }

    /// The current token is `>` or `<`.
    fn range(&mut self, field: String) -> Result<Leaf, QueryError> {
        let greater = matches!(self.bump(), Some(Kind::Greater));
        let inclusive = matches!(self.peek(), Some(Kind::Equal));
        if inclusive {
            self.bump();
        }
        let pos = self.pos();
        if let Some(Kind::Phrase(p)) = self.peek() {
            let instant = date::parse_rfc3339(p)
                .ok_or_else(|| QueryError::new(pos, format!("invalid time '{p}': not RFC 3339")))?;
            self.bump();
            let bound = if instant.is_go_zero() {
                // bluge reads Go's zero time as no bound.
                DateBound::Unbounded
            } else {
                let nanos = instant.unix_nanos().ok_or_else(|| {
                    QueryError::new(pos, "invalid/unsupported date range: outside 1677-2262")
                })?;
                if inclusive {
                    DateBound::Inclusive(nanos)
                } else {
                    DateBound::Exclusive(nanos)
                }
            };
            let (min, max) = if greater {
                (bound, DateBound::Unbounded)
            } else {
                (DateBound::Unbounded, bound)
            };
            return Ok(Leaf::DateRange { field, min, max });
        }
        let text = self.signed_number("a number or a quoted date")?;
        let value = parse_number(pos, &text)?;
        let bound = if inclusive {
            Bound::Inclusive(value)
        } else {
            Bound::Exclusive(value)
        };
        let (min, max) = if greater {
            (bound, Bound::Unbounded)
        } else {
            (Bound::Unbounded, bound)
        };
        Ok(Leaf::NumberRange { field, min, max })
    }
}

/// A number token's value: Go's `ParseFloat` on digits with at most one
/// `.`, which fails on non-ASCII digits and on overflow.
fn parse_number(pos: usize, text: &str) -> Result<f64, QueryError> {
    parse_go_float(text)
        .filter(|v| v.is_finite())
        .ok_or_else(|| QueryError::new(pos, format!("error parsing number '{text}'")))
}

fn number_leaf(pos: usize, field: String, text: String) -> Result<Leaf, QueryError> {
    let value = parse_number(pos, &text)?;
    Ok(Leaf::Number { field, text, value })
}

/// A bare string: a regexp between slashes, a wildcard, or a term.
fn string_leaf(
    pos: usize,
    field: String,
    s: String,
    budget: &mut Budget,
) -> Result<Leaf, QueryError> {
    if s.starts_with('/') && s.ends_with('/') {
        if s.len() < 2 {
            // Go slices "/"[1:0] here and recovers from the panic.
            return Err(QueryError::new(pos, "invalid regexp '/'"));
        }
        let pattern = s[1..s.len() - 1].to_string();
        pattern::compile_regex(&pattern, budget).map_err(|e| QueryError::new(pos, e))?;
        Ok(Leaf::Regex { field, pattern })
    } else if s.contains(['*', '?']) {
        pattern::compile_wildcard(&s, budget).map_err(|e| QueryError::new(pos, e))?;
        Ok(Leaf::Wildcard { field, pattern: s })
    } else {
        Ok(Leaf::Term { field, value: s })
    }
}
