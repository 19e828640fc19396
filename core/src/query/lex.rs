//! The lexer of the query string, state for state as bluge's
//! `query_string_lex.go` reads it:
//!
//! - Outside a token, any Unicode whitespace is skipped.
//! - `+ - : > < =` are one-character operators, but only where a token
//!   starts: inside a word they are ordinary characters (`eu-west`).
//! - `"` opens a phrase, which only an unescaped `"` ends; the end of the
//!   input inside a phrase is the one lexing error.
//! - `^` and `~` take everything up to the next unescaped ASCII space (or
//!   the end) as the boost or fuzziness text, `1` when empty.
//! - A word starting with a decimal digit (Unicode `Nd`) is a number while
//!   it is digits with at most one `.`, else it becomes a string.
//! - A word (string or number) ends at an unescaped ASCII space, `:`, `^`
//!   or `~`; the last three start the next token. A tab, say, does not end
//!   a word.
//! - `\c` is `c` when `c` is one of ``+-=&|><!(){}[]^"~*?:\/`` or a space,
//!   and stays `\c` otherwise. A `\` at the very end is dropped.

use super::error::QueryError;

/// The characters a backslash escapes; any other keeps its backslash.
const RESERVED: &str = "+-=&|><!(){}[]^\"~*?:\\/ ";

/// What a token is.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Kind {
    /// A word, unescaped.
    Str(String),
    /// A `"…"` phrase, unescaped, without its quotes.
    Phrase(String),
    /// A word of digits with at most one `.`, as written.
    Number(String),
    Plus,
    Minus,
    Colon,
    Greater,
    Less,
    Equal,
    /// The text after `^` (`1` when empty).
    Boost(String),
    /// The text after `~` (`1` when empty).
    Tilde(String),
}

/// A token and the byte offset where it starts.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Token {
    pub kind: Kind,
    pub pos: usize,
}

#[derive(Clone, Copy, PartialEq)]
enum State {
    Start,
    Phrase,
    Boost,
    Tilde,
    NumOrStr,
    Str,
}

/// The token read into `buf`, in a string of its own size; `buf` keeps its
/// capacity for the next token.
fn take(buf: &mut String) -> String {
    let value = buf.as_str().to_owned();
    buf.clear();
    value
}

/// Appends `c` as an escape sequence `\c` reads.
fn push_unescaped(buf: &mut String, c: char) {
    if !RESERVED.contains(c) {
        buf.push('\\');
    }
    buf.push(c);
}

/// Whether Go's `unicode.IsDigit` holds: the general category `Nd`.
pub(crate) fn is_decimal_digit(c: char) -> bool {
    if c.is_ascii_digit() {
        return true;
    }
    if c.is_ascii() {
        return false;
    }
    let c = c as u32;
    ND_RANGES.iter().any(|&(lo, hi)| lo <= c && c <= hi)
}

/// The non-ASCII ranges of category `Nd` as of Unicode 15.0 (Go's tables).
const ND_RANGES: &[(u32, u32)] = &[
    (0x660, 0x669),
    (0x6F0, 0x6F9),
    (0x7C0, 0x7C9),
    (0x966, 0x96F),
    (0x9E6, 0x9EF),
    (0xA66, 0xA6F),
    (0xAE6, 0xAEF),
    (0xB66, 0xB6F),
    (0xBE6, 0xBEF),
    (0xC66, 0xC6F),
    (0xCE6, 0xCEF),
    (0xD66, 0xD6F),
    (0xDE6, 0xDEF),
    (0xE50, 0xE59),
    (0xED0, 0xED9),
    (0xF20, 0xF29),
    (0x1040, 0x1049),
    (0x1090, 0x1099),
    (0x17E0, 0x17E9),
    (0x1810, 0x1819),
    (0x1946, 0x194F),
    (0x19D0, 0x19D9),
    (0x1A80, 0x1A89),
    (0x1A90, 0x1A99),
    (0x1B50, 0x1B59),
    (0x1BB0, 0x1BB9),
    (0x1C40, 0x1C49),
    (0x1C50, 0x1C59),
    (0xA620, 0xA629),
    (0xA8D0, 0xA8D9),
    (0xA900, 0xA909),
    (0xA9D0, 0xA9D9),
    (0xA9F0, 0xA9F9),
    (0xAA50, 0xAA59),
    (0xABF0, 0xABF9),
    (0xFF10, 0xFF19),
    (0x104A0, 0x104A9),
    (0x10D30, 0x10D39),
    (0x11066, 0x1106F),
    (0x110F0, 0x110F9),
    (0x11136, 0x1113F),
    (0x111D0, 0x111D9),
    (0x112F0, 0x112F9),
    (0x11450, 0x11459),
    (0x114D0, 0x114D9),
    (0x11650, 0x11659),
    (0x116C0, 0x116C9),
    (0x11730, 0x11739),
    (0x118E0, 0x118E9),
    (0x11950, 0x11959),
    (0x11C50, 0x11C59),
    (0x11D50, 0x11D59),
    (0x11DA0, 0x11DA9),
    (0x11F50, 0x11F59),
    (0x16A60, 0x16A69),
    (0x16AC0, 0x16AC9),
    (0x16B50, 0x16B59),
    (0x1D7CE, 0x1D7FF),
    (0x1E140, 0x1E149),
    (0x1E2F0, 0x1E2F9),
    (0x1E4F0, 0x1E4F9),
    (0x1E950, 0x1E959),
    (0x1FBF0, 0x1FBF9),
];

/// Splits `text` into tokens. The only error is an unterminated phrase.
pub(crate) fn lex(text: &str) -> Result<Vec<Token>, QueryError> {
    let mut tokens = Vec::with_capacity(16);
    let mut state = State::Start;
    let mut buf = String::with_capacity(64);
    let mut in_escape = false;
    let mut seen_dot = false;
    // Where the token being read started.
    let mut start = 0;
    let mut chars = text.char_indices().peekable();
    loop {
        let next = chars.peek().copied();
        // Whether this step consumes `next` (else the start state sees it).
        let mut consumed = true;
        match state {
            State::Start => {
                let Some((pos, c)) = next else { break };
                if in_escape {
                    in_escape = false;
                    push_unescaped(&mut buf, c);
                    state = State::Str;
                } else {
                    let op = match c {
                        '+' => Some(Kind::Plus),
                        '-' => Some(Kind::Minus),
                        ':' => Some(Kind::Colon),
                        '>' => Some(Kind::Greater),
                        '<' => Some(Kind::Less),
                        '=' => Some(Kind::Equal),
                        _ => None,
                    };
                    if let Some(kind) = op {
                        tokens.push(Token { kind, pos });
                    } else {
                        start = pos;
                        match c {
                            '"' => state = State::Phrase,
                            '^' => state = State::Boost,
                            '~' => state = State::Tilde,
                            '\\' => in_escape = true,
                            c if is_decimal_digit(c) => {
                                buf.push(c);
                                state = State::NumOrStr;
                            }
                            c if !c.is_whitespace() => {
                                buf.push(c);
                                state = State::Str;
                            }
                            _ => {
                                buf.clear();
                                seen_dot = false;
                            }
                        }
                    }
                }
            }
            State::Phrase => {
                let Some((_, c)) = next else {
                    return Err(QueryError::new(start, "unterminated quote"));
                };
                if !in_escape && c == '"' {
                    tokens.push(Token {
                        kind: Kind::Phrase(take(&mut buf)),
                        pos: start,
                    });
                    seen_dot = false;
                    state = State::Start;
                } else if !in_escape && c == '\\' {
                    in_escape = true;
                } else if in_escape {
                    in_escape = false;
                    push_unescaped(&mut buf, c);
                } else {
                    buf.push(c);
                }
            }
            State::Boost | State::Tilde => {
                let Some((_, c)) = next.filter(|&(_, c)| in_escape || c != ' ') else {
                    // The end of the input, or an unescaped space (consumed).
                    let mut value = take(&mut buf);
                    if value.is_empty() {
                        value.push('1');
                    }
                    let kind = if state == State::Boost {
                        Kind::Boost(value)
                    } else {
                        Kind::Tilde(value)
                    };
                    tokens.push(Token { kind, pos: start });
                    in_escape = false;
                    seen_dot = false;
                    state = State::Start;
                    if next.is_none() {
                        break;
                    }
                    chars.next();
                    continue;
                };
                if !in_escape && c == '\\' {
                    in_escape = true;
                } else if in_escape {
                    in_escape = false;
                    push_unescaped(&mut buf, c);
                } else {
                    buf.push(c);
                }
            }
            State::NumOrStr | State::Str => {
                let ends = match next {
                    None => true,
                    Some((_, c)) => !in_escape && matches!(c, ' ' | ':' | '^' | '~'),
                };
                if ends {
                    let value = take(&mut buf);
                    let kind = if state == State::NumOrStr {
                        Kind::Number(value)
                    } else {
                        Kind::Str(value)
                    };
                    tokens.push(Token { kind, pos: start });
                    in_escape = false;
                    seen_dot = false;
                    state = State::Start;
                    match next {
                        None => break,
                        Some((_, ' ')) => {}
                        Some(_) => consumed = false,
                    }
                } else {
                    let (_, c) = next.expect("not at the end");
                    if !in_escape && c == '\\' {
                        in_escape = true;
                    } else if in_escape {
                        in_escape = false;
                        push_unescaped(&mut buf, c);
                        // No escaped word is a number.
                        state = State::Str;
                    } else if state == State::NumOrStr && !seen_dot && c == '.' {
                        seen_dot = true;
                        buf.push(c);
                    } else if state == State::NumOrStr && is_decimal_digit(c) {
                        buf.push(c);
                    } else {
                        buf.push(c);
                        state = State::Str;
                    }
                }
            }
        }
        if consumed {
            chars.next();
        }
    }
    Ok(tokens)
}

#[cfg(test)]
mod tests {
    use super::Kind::*;
    use super::*;

    fn kinds(text: &str) -> Vec<Kind> {
        lex(text).unwrap().into_iter().map(|t| t.kind).collect()
    }

    fn s(v: &str) -> Kind {
        Str(v.to_string())
    }

    #[test]
    fn words_operators_and_positions() {
        let tokens = lex("+label.mode:ranked  -x:>=5").unwrap();
        let got: Vec<(Kind, usize)> = tokens.into_iter().map(|t| (t.kind, t.pos)).collect();
        assert_eq!(
            got,
            vec![
                (Plus, 0),
                (s("label.mode"), 1),
                (Colon, 11),
                (s("ranked"), 12),
                (Minus, 20),
                (s("x"), 21),
                (Colon, 22),
                (Greater, 23),
                (Equal, 24),
                (Number("5".into()), 25),
            ]
        );
    }

    #[test]
    fn operators_only_start_a_token() {
        assert_eq!(kinds("eu-west+1"), vec![s("eu-west+1")]);
        assert_eq!(kinds("a=b>c<d"), vec![s("a=b>c<d")]);
        assert_eq!(kinds("-5"), vec![Minus, Number("5".into())]);
    }

    #[test]
    fn numbers_become_strings_when_not_digits() {
        assert_eq!(kinds("12"), vec![Number("12".into())]);
        assert_eq!(kinds("1.5"), vec![Number("1.5".into())]);
        assert_eq!(kinds("1."), vec![Number("1.".into())]);
        assert_eq!(kinds("1.2.3"), vec![s("1.2.3")]);
        assert_eq!(kinds("1e5"), vec![s("1e5")]);
        assert_eq!(kinds(".5"), vec![s(".5")]);
        assert_eq!(kinds("5\\5"), vec![s("5\\5")]);
        assert_eq!(kinds("5\\"), vec![Number("5".into())]);
        // Arabic-Indic digits are digits to Go.
        assert_eq!(kinds("٣"), vec![Number("٣".into())]);
        // A superscript is a number to Rust but not a digit to Go.
        assert_eq!(kinds("²"), vec![s("²")]);
    }

    #[test]
    fn words_end_at_space_colon_caret_tilde_only() {
        assert_eq!(kinds("a\tb"), vec![s("a\tb")]);
        assert_eq!(kinds("a:b"), vec![s("a"), Colon, s("b")]);
        assert_eq!(kinds("a^2"), vec![s("a"), Boost("2".into())]);
        assert_eq!(kinds("a~"), vec![s("a"), Tilde("1".into())]);
        assert_eq!(kinds("5^2"), vec![Number("5".into()), Boost("2".into())]);
        assert_eq!(kinds("a\"b"), vec![s("a\"b")]);
        assert_eq!(kinds(" \t\u{3000}a \n"), vec![s("a")]);
        assert_eq!(kinds("a\u{3000}b\nc"), vec![s("a\u{3000}b\nc")]);
    }

    #[test]
    fn boost_and_tilde_run_to_a_space() {
        assert_eq!(kinds("a~1^2 b"), vec![s("a"), Tilde("1^2".into()), s("b")]);
        assert_eq!(kinds("a^"), vec![s("a"), Boost("1".into())]);
        assert_eq!(kinds("a^\\ 2"), vec![s("a"), Boost(" 2".into())]);
        assert_eq!(kinds("a^2\tb"), vec![s("a"), Boost("2\tb".into())]);
        assert_eq!(kinds("^"), vec![Boost("1".into())]);
    }

    #[test]
    fn escapes() {
        assert_eq!(kinds(r"a\:b"), vec![s("a:b")]);
        assert_eq!(kinds(r"a\ b"), vec![s("a b")]);
        assert_eq!(kinds(r"\+a"), vec![s("+a")]);
        assert_eq!(kinds(r"a\d"), vec![s(r"a\d")]);
        assert_eq!(kinds(r"a\\b"), vec![s(r"a\b")]);
        assert_eq!(kinds(r"a\*"), vec![s("a*")]);
        assert_eq!(kinds("a\\"), vec![s("a")]);
        assert_eq!(kinds("a \\"), vec![s("a")]);
        assert_eq!(kinds(r"\5"), vec![s(r"\5")]);
        assert_eq!(
            kinds(r#""a \"b\" \\ \n""#),
            vec![Phrase(r#"a "b" \ \n"#.into())]
        );
    }

    #[test]
    fn phrases() {
        assert_eq!(kinds(r#""""#), vec![Phrase(String::new())]);
        assert_eq!(
            kinds(r#"f:"a b"def"#),
            vec![s("f"), Colon, Phrase("a b".into()), s("def")]
        );
        let err = lex(r#"a "b"#).unwrap_err();
        assert_eq!(err.position, 2);
        assert!(err.message.contains("unterminated"));
        assert!(lex(r#""\""#).is_err());
    }
}
