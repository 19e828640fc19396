//! The hot path: `match_data` written straight from [`rtapi::MatchData`],
//! without first copying its strings into the prost structs. Byte for byte
//! what the struct path writes (the tests hold it to that).

use crate::rtapi;

/// Field numbers: `Envelope.cid`, `Envelope.match_data`, and the fields of
/// `MatchData` and `UserPresence`.
const ENVELOPE_CID: u32 = 1;
const ENVELOPE_MATCH_DATA: u32 = 14;
const MATCH_ID: u32 = 1;
const PRESENCE: u32 = 2;
const OP_CODE: u32 = 3;
const DATA: u32 = 4;
const RELIABLE: u32 = 5;
const USER_ID: u32 = 1;
const SESSION_ID: u32 = 2;
const USERNAME: u32 = 3;
const PERSISTENCE: u32 = 4;
const STATUS: u32 = 5;
const STRING_VALUE: u32 = 1;

const VARINT: u32 = 0;
const LEN: u32 = 2;

/// `Envelope { cid, match_data }`.
pub(super) fn encode_match_data(cid: &str, m: &rtapi::MatchData) -> Vec<u8> {
    let presence = presence_len(&m.presence);
    let body = bytes_len(MATCH_ID, m.match_id.len())
        + nested_len(PRESENCE, presence)
        + if m.op_code != 0 {
            key_len(OP_CODE) + varint_len(m.op_code as u64)
        } else {
            0
        }
        + bytes_len(DATA, m.data.len())
        + if m.reliable { key_len(RELIABLE) + 1 } else { 0 };
    let mut out = Vec::with_capacity(
        bytes_len(ENVELOPE_CID, cid.len()) + nested_len(ENVELOPE_MATCH_DATA, body),
    );
    put_bytes(&mut out, ENVELOPE_CID, cid.as_bytes());
    put_key(&mut out, ENVELOPE_MATCH_DATA, LEN);
    put_varint(&mut out, body as u64);
    put_bytes(&mut out, MATCH_ID, m.match_id.as_bytes());
    put_key(&mut out, PRESENCE, LEN);
    put_varint(&mut out, presence as u64);
    put_presence(&mut out, &m.presence);
    if m.op_code != 0 {
        put_key(&mut out, OP_CODE, VARINT);
        // int64: negative numbers are ten-byte two's complement varints.
        put_varint(&mut out, m.op_code as u64);
    }
    put_bytes(&mut out, DATA, &m.data);
    if m.reliable {
        put_key(&mut out, RELIABLE, VARINT);
        out.push(1);
    }
    out
}

fn presence_len(p: &rtapi::UserPresence) -> usize {
    bytes_len(USER_ID, p.user_id.len())
        + bytes_len(SESSION_ID, p.session_id.len())
        + bytes_len(USERNAME, p.username.len())
        + if p.persistence {
            key_len(PERSISTENCE) + 1
        } else {
            0
        }
        + p.status
            .as_ref()
            .map_or(0, |s| nested_len(STATUS, bytes_len(STRING_VALUE, s.len())))
}

fn put_presence(out: &mut Vec<u8>, p: &rtapi::UserPresence) {
    put_bytes(out, USER_ID, p.user_id.as_bytes());
    put_bytes(out, SESSION_ID, p.session_id.as_bytes());
    put_bytes(out, USERNAME, p.username.as_bytes());
    if p.persistence {
        put_key(out, PERSISTENCE, VARINT);
        out.push(1);
    }
    if let Some(s) = &p.status {
        // A present StringValue, even when empty.
        put_key(out, STATUS, LEN);
        put_varint(out, bytes_len(STRING_VALUE, s.len()) as u64);
        put_bytes(out, STRING_VALUE, s.as_bytes());
    }
}

/// A proto3 string or bytes field: nothing when empty.
fn bytes_len(tag: u32, len: usize) -> usize {
    if len == 0 { 0 } else { nested_len(tag, len) }
}

/// A length-delimited field that is written even when empty.
fn nested_len(tag: u32, len: usize) -> usize {
    key_len(tag) + varint_len(len as u64) + len
}

fn key_len(tag: u32) -> usize {
    varint_len(u64::from(tag << 3))
}

fn varint_len(v: u64) -> usize {
    // 1 byte per started group of 7 bits, at least one.
    (64 - (v | 1).leading_zeros() as usize).div_ceil(7)
}

fn put_bytes(out: &mut Vec<u8>, tag: u32, b: &[u8]) {
    if !b.is_empty() {
        put_key(out, tag, LEN);
        put_varint(out, b.len() as u64);
        out.extend_from_slice(b);
    }
}

fn put_key(out: &mut Vec<u8>, tag: u32, wire_type: u32) {
    put_varint(out, u64::from(tag << 3 | wire_type));
}

fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

#[cfg(test)]
mod tests {
    use bytes::Bytes;

    use super::*;
    use crate::proto::outgoing::encode_by_struct;
    use crate::rtapi::Outgoing;

    /// Strings of lengths around the one- and two-byte varint edges.
    fn text(n: usize) -> String {
        "é".repeat(n / 2) + &"x".repeat(n % 2)
    }

    #[test]
    fn writes_what_the_structs_write() {
        let lens = [0usize, 1, 2, 63, 64, 126, 127, 128, 129, 300, 16_384];
        let ops = [0i64, 1, -1, 127, 128, i64::MIN, i64::MAX, 1 << 53];
        let mut i = 0usize;
        for &a in &lens {
            for &b in &lens {
                i += 1;
                let m = rtapi::MatchData {
                    match_id: text(a),
                    presence: rtapi::UserPresence {
                        user_id: text(b),
                        session_id: text(lens[i % lens.len()]),
                        username: text(i % 5),
                        persistence: i.is_multiple_of(2),
                        status: match i % 3 {
                            0 => None,
                            1 => Some(String::new()),
                            _ => Some(text(b)),
                        },
                    },
                    op_code: ops[i % ops.len()],
                    data: Bytes::from(vec![i as u8; lens[(i * 7) % lens.len()]]),
                    reliable: i.is_multiple_of(3),
                };
                let cid = text(lens[(i * 3) % lens.len()] % 200);
                let out = Outgoing::MatchData(m.clone());
                assert_eq!(
                    encode_match_data(&cid, &m),
                    encode_by_struct(&cid, &out),
                    "{i}"
                );
            }
        }
        let empty = rtapi::MatchData::default();
        assert_eq!(
            encode_match_data("", &empty),
            encode_by_struct("", &Outgoing::MatchData(empty.clone()))
        );
    }

    #[test]
    fn varint_lengths() {
        for (v, n) in [
            (0u64, 1),
            (1, 1),
            (127, 1),
            (128, 2),
            (16_383, 2),
            (16_384, 3),
            (u64::from(u32::MAX), 5),
            (u64::MAX, 10),
        ] {
            let mut out = Vec::new();
            put_varint(&mut out, v);
            assert_eq!((varint_len(v), out.len()), (n, n), "{v}");
        }
    }
}
