//! `match_data_send` read by hand, in the one form clients write it.
//!
//! A relayed match message is the envelope a server decodes most, and
//! through serde its decoding was about a sixth of the relay's user-space
//! work per message (BENCHMARKS.md, "The relay path's own instructions"):
//! a visitor per field, a name looked up in a table, every string scanned
//! for escapes. Here one pass reads the form that nakama-js's
//! `sendMatchState` and `kairos-loadtest` send:
//!
//! `{"cid":"…","match_data_send":{"match_id":"…","op_code":1,"data":"…","presences":[],"reliable":true}}`
//!
//! with `cid` absent or first, the fields in any order, each at most once
//! and any of them absent, no whitespace, no escapes, the op code a string
//! or a JSON integer, and `presences` empty (nakama-js sends `[]` when it
//! names none). Anything else, every malformed envelope among it, is not read
//! here ([`read`] returns `None`) and goes through serde, which gives the
//! answer and the error; so what is read here is always what serde reads,
//! which the tests check on each form and on near misses of each.

use super::{Envelope, Incoming, MatchDataSend, decode_base64};
use crate::json::plain_run;

/// The envelope, if it is `match_data_send` in the form above.
///
/// Read from bytes that need not be UTF-8: every byte outside a string is
/// one of the form's ASCII literals, each string kept is checked as
/// UTF-8 on its own ([`Cursor::string`]), and `data` is base64, which
/// refuses any byte outside ASCII. So the whole envelope is not checked
/// first, and the one the relay decodes most is scanned once.
pub(super) fn read(text: &[u8]) -> Option<Envelope> {
    let mut c = Cursor { text, at: 0 };
    c.eat("{")?;
    let cid = if c.eat("\"cid\":").is_some() {
        let cid = c.string()?;
        c.eat(",")?;
        cid
    } else {
        ""
    };
    c.eat("\"match_data_send\":{")?;
    let mut m = MatchDataSend::default();
    if c.eat("}").is_none() {
        let mut seen = 0u8;
        loop {
            let field = c.field()?;
            if seen & field != 0 {
                return None;
            }
            seen |= field;
            match field {
                1 => m.match_id = c.string()?.to_owned(),
                2 => m.op_code = c.integer()?,
                4 => m.data = decode_base64(c.base64()?).ok()?,
                8 => m.reliable = c.boolean()?,
                _ => c.eat("[]")?,
            }
            if c.eat(",").is_none() {
                c.eat("}")?;
                break;
            }
        }
    }
    c.eat("}")?;
    (c.at == text.len()).then(|| Envelope {
        cid: cid.to_owned(),
        message: Incoming::MatchDataSend(m),
    })
}

/// The fields read here, each with its name as the text spells it (no
/// escape), and its bit in the set of those seen. No two names share the
/// letter after the quote, by which [`Cursor::field`] picks the one to
/// compare.
const FIELDS: [(&str, u8); 5] = [
    ("\"match_id\":", 1),
    ("\"op_code\":", 2),
    ("\"data\":", 4),
    ("\"reliable\":", 8),
    ("\"presences\":", 16),
];

struct Cursor<'a> {
    text: &'a [u8],
    at: usize,
}

impl<'a> Cursor<'a> {
    /// Steps over `literal` if the text goes on with it.
    fn eat(&mut self, literal: &str) -> Option<()> {
        self.text[self.at..]
            .starts_with(literal.as_bytes())
            .then(|| {
                self.at += literal.len();
            })
    }

    /// Steps over the name of one of [`FIELDS`], and its colon; gives its
    /// bit. One name is compared: the one whose letter follows the quote.
    fn field(&mut self) -> Option<u8> {
        let (name, bit) = match self.text.get(self.at + 1)? {
            b'm' => FIELDS[0],
            b'o' => FIELDS[1],
            b'd' => FIELDS[2],
            b'r' => FIELDS[3],
            b'p' => FIELDS[4],
            _ => return None,
        };
        self.eat(name).map(|()| bit)
    }

    /// A string with nothing escaped, no control character (which JSON
    /// refuses unescaped), and UTF-8.
    fn string(&mut self) -> Option<&'a str> {
        self.eat("\"")?;
        let rest = &self.text[self.at..];
        let len = plain_run(rest);
        if rest.get(len) != Some(&b'"') {
            return None;
        }
        let s = std::str::from_utf8(&rest[..len]).ok()?;
        self.at += len + 1;
        Some(s)
    }

    /// The text of a string that must be base64, up to the next quote:
    /// scanned for that quote alone, not for escapes. A base64 decoder
    /// refuses every byte that would have stopped [`string`](Self::string)
    /// (a backslash, a control character; the quote ends the text), so a
    /// string this takes whole but `string` would not is never read here.
    fn base64(&mut self) -> Option<&'a [u8]> {
        self.eat("\"")?;
        let rest = &self.text[self.at..];
        let len = memchr::memchr(b'"', rest)?;
        self.at += len + 1;
        Some(&rest[..len])
    }

    /// An int64 as a string (whatever Rust's parser takes, as serde's
    /// reading of a string does) or as a JSON integer in its one canonical
    /// form (no leading zero, no `-0`, no fraction or exponent, which the
    /// caller's next step refuses).
    fn integer(&mut self) -> Option<i64> {
        if self.text[self.at..].starts_with(b"\"") {
            return self.string()?.parse().ok();
        }
        let rest = &self.text[self.at..];
        let sign = usize::from(rest.first() == Some(&b'-'));
        let digits = rest[sign..]
            .iter()
            .take_while(|b| b.is_ascii_digit())
            .count();
        if digits == 0 || (rest[sign] == b'0' && (digits > 1 || sign == 1)) {
            return None;
        }
        // ASCII digits and a sign: whole characters.
        let n = std::str::from_utf8(&rest[..sign + digits])
            .ok()?
            .parse()
            .ok()?;
        self.at += sign + digits;
        Some(n)
    }

    fn boolean(&mut self) -> Option<bool> {
        if self.eat("true").is_some() {
            Some(true)
        } else {
            self.eat("false").map(|()| false)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::DecodeError;
    use super::*;

    fn serde(text: &str) -> Result<Envelope, DecodeError> {
        Envelope::from_json_serde(text.as_bytes())
    }

    /// Every form the fast reader takes, it reads as serde does.
    #[test]
    fn reads_what_serde_reads() {
        let fields = [
            r#""match_id":"8d7e9a0c-5a4f-4b8e-9d6a-0f1e2d3c4b5a.""#,
            r#""match_id":"jöhn's 🎮 match.node""#,
            r#""match_id":"""#,
            r#""op_code":"1""#,
            r#""op_code":"-9223372036854775808""#,
            r#""op_code":"+007""#,
            r#""op_code":1"#,
            r#""op_code":0"#,
            r#""op_code":-9223372036854775808"#,
            r#""presences":[]"#,
            r#""data":"aGk=""#,
            r#""data":"aGk""#,
            r#""data":"""#,
            r#""data":"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=""#,
            r#""reliable":true"#,
            r#""reliable":false"#,
        ];
        let mut read_here = 0;
        for cid in ["", r#""cid":"7","#, r#""cid":"","#] {
            for (i, a) in fields.iter().enumerate() {
                for b in &fields[i..] {
                    let pair = if a.split(':').next() == b.split(':').next() {
                        a.to_string()
                    } else {
                        format!("{a},{b}")
                    };
                    for body in ["".to_string(), a.to_string(), pair] {
                        let text = format!("{{{cid}\"match_data_send\":{{{body}}}}}");
                        let fast =
                            read(text.as_bytes()).unwrap_or_else(|| panic!("not read: {text}"));
                        assert_eq!(Ok(fast), serde(&text), "{text}");
                        read_here += 1;
                    }
                }
            }
        }
        assert_eq!(read_here, 3 * 136 * 3);
        let all = r#"{"cid":"12","match_data_send":{"reliable":true,"data":"aGk=","op_code":"5","match_id":"m."}}"#;
        assert_eq!(read(all.as_bytes()).map(Ok), Some(serde(all)));
        // As nakama-js's sendMatchState writes it.
        let js = r#"{"match_data_send":{"match_id":"8d7e9a0c-5a4f-4b8e-9d6a-0f1e2d3c4b5a.","op_code":3,"data":"eyJ4IjoxfQ==","presences":[]}}"#;
        assert_eq!(read(js.as_bytes()).map(Ok), Some(serde(js)));
    }

    /// Each field is found by the letter after its quote, and only the
    /// names themselves are taken.
    #[test]
    fn fields_are_told_apart_by_their_first_letter() {
        let mut letters: Vec<u8> = FIELDS.iter().map(|(name, _)| name.as_bytes()[1]).collect();
        letters.sort_unstable();
        letters.dedup();
        assert_eq!(letters.len(), FIELDS.len());
        for (name, bit) in FIELDS {
            let mut c = Cursor {
                text: name.as_bytes(),
                at: 0,
            };
            assert_eq!(c.field(), Some(bit));
            assert_eq!(c.at, name.len());
            // Cut short, or another name with the same first letter.
            let cut = &name[..name.len() - 1];
            let mut c = Cursor {
                text: cut.as_bytes(),
                at: 0,
            };
            assert_eq!(c.field(), None, "{cut}");
            let other = format!("\"{}x\":", &name[1..2]);
            let mut c = Cursor {
                text: other.as_bytes(),
                at: 0,
            };
            assert_eq!(c.field(), None, "{other}");
        }
        for text in ["", "\"", "\"cid\":", "\"x\":", "\"Match_id\":"] {
            let mut c = Cursor {
                text: text.as_bytes(),
                at: 0,
            };
            assert_eq!(c.field(), None, "{text}");
            assert_eq!(c.at, 0);
        }
    }

    /// Near misses of the form, malformed or not: the fast reader leaves
    /// each to serde.
    #[test]
    fn leaves_the_rest_to_serde() {
        let others = [
            r#" {"match_data_send":{}}"#,
            r#"{"match_data_send":{}} "#,
            r#"{"match_data_send":{}}x"#,
            r#"{"match_data_send":{} }"#,
            r#"{"match_data_send": {}}"#,
            r#"{"match_data_send":{"match_id" :"m."}}"#,
            r#"{"match_data_send":{"match_id":"m.",}}"#,
            r#"{"match_data_send":{"match_id":"m."}"#,
            r#"{"match_data_send":{"match_id":"m.\u0041"}}"#,
            r#"{"match_data_send":{"match_id":"a\"b"}}"#,
            "{\"match_data_send\":{\"match_id\":\"a\tb\"}}",
            r#"{"match_data_send":{"match_id":null}}"#,
            r#"{"match_data_send":{"matchId":"m."}}"#,
            r#"{"match_data_send":{"match_id":"m.","match_id":"n."}}"#,
            r#"{"match_data_send":{"op_code":007}}"#,
            r#"{"match_data_send":{"op_code":-0}}"#,
            r#"{"match_data_send":{"op_code":-}}"#,
            r#"{"match_data_send":{"op_code":1.5}}"#,
            r#"{"match_data_send":{"op_code":1e3}}"#,
            r#"{"match_data_send":{"op_code":9223372036854775808}}"#,
            r#"{"match_data_send":{"op_code":-9223372036854775809}}"#,
            r#"{"match_data_send":{"op_code":true}}"#,
            r#"{"match_data_send":{"presences":[{}]}}"#,
            r#"{"match_data_send":{"presences":[ ]}}"#,
            r#"{"match_data_send":{"presences":null}}"#,
            r#"{"match_data_send":{"presences":[],"presences":[]}}"#,
            r#"{"match_data_send":{"op_code":"one"}}"#,
            r#"{"match_data_send":{"op_code":"9223372036854775808"}}"#,
            r#"{"match_data_send":{"opCode":"1"}}"#,
            r#"{"match_data_send":{"data":"not base64!"}}"#,
            r#"{"match_data_send":{"data":"aGk=="}}"#,
            r#"{"match_data_send":{"data":null}}"#,
            // Escapes and control characters in base64: serde's to read
            // (the first three are base64 once unescaped) or refuse.
            r#"{"match_data_send":{"data":"aG\/k"}}"#,
            r#"{"match_data_send":{"data":"aGk\u003d"}}"#,
            r#"{"match_data_send":{"data":"\u0061Gk="}}"#,
            r#"{"match_data_send":{"data":"aG\"k="}}"#,
            "{\"match_data_send\":{\"data\":\"aGk=\t\"}}",
            "{\"match_data_send\":{\"data\":\"aG\u{1}k\"}}",
            r#"{"match_data_send":{"data":"aGk="#,
            r#"{"match_data_send":{"data":"aGk"#,
            r#"{"match_data_send":{"reliable":1}}"#,
            r#"{"match_data_send":{"reliable":truex}}"#,
            r#"{"match_data_send":{"reliable":null}}"#,
            r#"{"match_data_send":{"unknown":"x"}}"#,
            r#"{"match_data_send":{},"cid":"7"}"#,
            r#"{"cid":7,"match_data_send":{}}"#,
            r#"{"cid":null,"match_data_send":{}}"#,
            r#"{"cid":"7","cid":"8","match_data_send":{}}"#,
            r#"{"match_data_send":{},"match_data_send":{}}"#,
            r#"{"match_data_send":null}"#,
            r#"{"match_data_send":[]}"#,
            r#"{"ping":{}}"#,
            r#"{}"#,
            r#""#,
            r#"{"#,
            r#"{"match_data_send":{"#,
            r#"{"match_data_send":{"match_id":"#,
            r#"{"match_data_send":{"match_id":"m"#,
        ];
        for text in others {
            assert_eq!(read(text.as_bytes()), None, "{text}");
            // serde takes some and refuses the rest, on its own.
            let _ = serde(text);
        }
        // The escaped base64 above is data all the same, once serde reads it.
        for text in [
            r#"{"match_data_send":{"data":"aG\/k"}}"#,
            r#"{"match_data_send":{"data":"aGk\u003d"}}"#,
            r#"{"match_data_send":{"data":"\u0061Gk="}}"#,
        ] {
            let Ok(Envelope {
                message: Incoming::MatchDataSend(m),
                ..
            }) = serde(text)
            else {
                panic!("serde refused {text}");
            };
            assert!(!m.data.is_empty(), "{text}");
        }
    }

    /// Bytes that are not UTF-8 are never read here, wherever they stand:
    /// in a string kept (`cid`, `match_id`), in `data`, or between the
    /// form's literals. serde refuses each.
    #[test]
    fn bytes_that_are_not_utf8_are_left_to_serde() {
        for text in [
            &b"{\"cid\":\"\xff\",\"match_data_send\":{}}"[..],
            b"{\"match_data_send\":{\"match_id\":\"m\xc3.\"}}",
            b"{\"match_data_send\":{\"match_id\":\"\xed\xa0\x80.\"}}",
            b"{\"match_data_send\":{\"op_code\":\"1\xff\"}}",
            b"{\"match_data_send\":{\"data\":\"aG\xffk\"}}",
            b"{\"match_data_send\":{\"reliable\":true}\xff}",
        ] {
            assert_eq!(read(text), None, "{}", String::from_utf8_lossy(text));
            assert!(Envelope::from_json(text).is_err());
        }
        // The same strings in UTF-8 are read.
        let text = "{\"cid\":\"é\",\"match_data_send\":{\"match_id\":\"mé.\"}}";
        assert_eq!(read(text.as_bytes()).map(Ok), Some(serde(text)));
    }
}
