//! The JSON of `match_data`, written directly into the output buffer.
//!
//! A relayed match message is the one envelope a server encodes for every
//! message a player sends, so its encoding is on the hot path. Through
//! serde, it cost more than its decoding: every string went through
//! serde_json's byte-at-a-time escaping, the `op_code` through a
//! formatter, the data through a base64 `String` of its own, and the
//! buffer grew by reallocation. Here each string that needs no escape (ids,
//! base64, almost every username) is copied whole, the base64 is encoded in
//! place, and the buffer is sized once.
//!
//! The bytes are exactly serde's ([`Outgoing::to_json`] of the same
//! message through the derived serializer): the same field order, the same
//! fields left out, the same escapes. A string with anything to escape goes
//! through serde_json itself. The tests compare the two on every shape.

use base64::Engine;

use super::{MatchData, UserPresence};
use crate::json::plain_run;

/// Room for [`write`]'s bytes: the names, quotes and punctuation of the
/// longest form, the longest op code, and the strings as they are (a string
/// with escapes, rare, may grow the buffer once more).
pub(super) fn len_hint(cid: &str, m: &MatchData) -> usize {
    len_hint_around(cid, m, presence_len_hint(&m.presence))
}

/// Room for [`write_presence`]'s bytes, as [`len_hint`] counts them.
fn presence_len_hint(p: &UserPresence) -> usize {
    60 + p.user_id.len()
        + p.session_id.len()
        + p.username.len()
        + p.status.as_ref().map_or(0, String::len)
}

/// [`len_hint`] with the presence's own bytes counted as `presence`.
pub(super) fn len_hint_around(cid: &str, m: &MatchData, presence: usize) -> usize {
    100 + cid.len() + m.match_id.len() + presence + base64_len(&m.data)
}

/// The presence as `match_data` writes it, `{"user_id":...}`: what a
/// sender's every message repeats, written once and then copied whole
/// ([`write_around`]).
pub fn presence_json(p: &UserPresence) -> Vec<u8> {
    let mut out = Vec::with_capacity(presence_len_hint(p));
    write_presence(&mut out, p);
    out
}

fn write_presence(out: &mut Vec<u8>, p: &UserPresence) {
    out.extend_from_slice(b"{\"user_id\":");
    string(out, &p.user_id);
    out.extend_from_slice(b",\"session_id\":");
    string(out, &p.session_id);
    out.extend_from_slice(b",\"username\":");
    string(out, &p.username);
    if p.persistence {
        out.extend_from_slice(b",\"persistence\":true");
    }
    if let Some(status) = &p.status {
        out.extend_from_slice(b",\"status\":");
        string(out, status);
    }
    out.push(b'}');
}

fn base64_len(data: &[u8]) -> usize {
    base64::encoded_len(data.len(), true).expect("data bounded by the frame limit")
}

/// Appends `{"cid":...,"match_data":{...}}` (`cid` left out when empty).
pub(super) fn write(out: &mut Vec<u8>, cid: &str, m: &MatchData) {
    out.reserve(len_hint(cid, m));
    write_with(out, cid, m, |out| write_presence(out, &m.presence));
}

/// [`write`], with the presence copied from `presence`, its
/// [`presence_json`].
pub(super) fn write_around(out: &mut Vec<u8>, cid: &str, m: &MatchData, presence: &[u8]) {
    debug_assert_eq!(
        presence,
        presence_json(&m.presence),
        "not this presence's JSON"
    );
    out.reserve(len_hint_around(cid, m, presence.len()));
    write_with(out, cid, m, |out| out.extend_from_slice(presence));
}

fn write_with(out: &mut Vec<u8>, cid: &str, m: &MatchData, presence: impl FnOnce(&mut Vec<u8>)) {
    out.push(b'{');
    if !cid.is_empty() {
        out.extend_from_slice(b"\"cid\":");
        string(out, cid);
        out.push(b',');
    }
    out.extend_from_slice(b"\"match_data\":{\"match_id\":");
    string(out, &m.match_id);
    out.extend_from_slice(b",\"presence\":");
    presence(out);
    if m.op_code != 0 {
        out.extend_from_slice(b",\"op_code\":\"");
        out.extend_from_slice(itoa::Buffer::new().format(m.op_code).as_bytes());
        out.push(b'"');
    }
    if !m.data.is_empty() {
        out.extend_from_slice(b",\"data\":\"");
        let at = out.len();
        out.resize(at + base64_len(&m.data), 0);
        let written = base64::engine::general_purpose::STANDARD
            .encode_slice(&m.data, &mut out[at..])
            .expect("sized by encoded_len");
        out.truncate(at + written);
        out.push(b'"');
    }
    if m.reliable {
        out.extend_from_slice(b",\"reliable\":true");
    }
    out.extend_from_slice(b"}}");
}

/// A JSON string: copied whole when nothing in it needs an escape (a
/// control character, `"` or `\`, the only bytes serde_json escapes),
/// else written by serde_json.
fn string(out: &mut Vec<u8>, s: &str) {
    if plain_run(s.as_bytes()) == s.len() {
        out.push(b'"');
        out.extend_from_slice(s.as_bytes());
        out.push(b'"');
    } else {
        serde_json::to_writer(&mut *out, s).expect("a string serializes");
    }
}

#[cfg(test)]
mod tests {
    use bytes::Bytes;

    use super::super::Outgoing;
    use super::*;

    fn serde_bytes(cid: &str, m: &MatchData) -> Vec<u8> {
        let message = Outgoing::MatchData(m.clone());
        serde_json::to_vec(&message.serde_envelope(cid)).unwrap()
    }

    /// Every shape of `match_data`, with strings that need each kind of
    /// escape and some that need none, writes serde's bytes exactly.
    #[test]
    fn writes_what_serde_writes() {
        let strings = [
            "",
            "8d7e9a0c-5a4f-4b8e-9d6a-0f1e2d3c4b5a",
            "jöhn 🎮",
            "say \"hi\"",
            "back\\slash",
            "line\nfeed\ttab\r\u{8}\u{c}",
            "\u{1}\u{1f}",
            "del\u{7f} and </script>",
        ];
        let data: [&[u8]; 6] = [b"", b"h", b"hi", b"hi!", b"hi!!", &[0xFF; 100]];
        let mut cases = 0;
        for (i, s) in strings.iter().enumerate() {
            let other = strings[(i + 3) % strings.len()];
            for op_code in [0, 1, -1, 42, i64::MIN, i64::MAX] {
                for (j, d) in data.iter().enumerate() {
                    let m = MatchData {
                        match_id: format!("{s}."),
                        presence: UserPresence {
                            user_id: s.to_string(),
                            session_id: other.to_string(),
                            username: s.to_string(),
                            persistence: j % 2 == 0,
                            status: (j % 3 != 0).then(|| other.to_string()),
                        },
                        op_code,
                        data: Bytes::copy_from_slice(d),
                        reliable: (j + i) % 2 == 0,
                    };
                    for cid in ["", "7", other] {
                        let mut out = Vec::new();
                        write(&mut out, cid, &m);
                        assert_eq!(
                            String::from_utf8_lossy(&out),
                            String::from_utf8_lossy(&serde_bytes(cid, &m)),
                        );
                        assert_eq!(out, serde_bytes(cid, &m));
                        // The same with the presence written once before.
                        let mut around = b"kept".to_vec();
                        write_around(&mut around, cid, &m, &presence_json(&m.presence));
                        assert_eq!(&around[..4], b"kept");
                        assert_eq!(around[4..], out);
                        cases += 1;
                    }
                }
            }
        }
        assert_eq!(cases, 8 * 6 * 6 * 3);
    }
}
