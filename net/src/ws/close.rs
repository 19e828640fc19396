//! Close codes (RFC 6455 §7.4) and close frame payloads.

use bytes::{BufMut, Bytes, BytesMut};

use super::error::ProtocolError;
use super::frame::{OpCode, encode_frame};

/// 1000: normal closure.
pub const NORMAL: u16 = 1000;
/// 1001: endpoint going away (server shutdown, page navigation).
pub const GOING_AWAY: u16 = 1001;
/// 1002: protocol error.
pub const PROTOCOL_ERROR: u16 = 1002;
/// 1003: unsupported data type.
pub const UNSUPPORTED_DATA: u16 = 1003;
/// 1007: invalid payload data (e.g. non-UTF-8 text).
pub const INVALID_PAYLOAD: u16 = 1007;
/// 1008: policy violation.
pub const POLICY_VIOLATION: u16 = 1008;
/// 1009: message too big.
pub const MESSAGE_TOO_BIG: u16 = 1009;
/// 1011: internal server error.
pub const INTERNAL_ERROR: u16 = 1011;

/// Longest close reason that fits in a control frame (125 − 2 code bytes).
pub const MAX_REASON_LEN: usize = 123;

/// Whether `code` may appear in a close frame on the wire.
///
/// Accepts 1000–1003, 1007–1014 (1012–1014 are IANA-registered after the RFC)
/// and the application/private ranges 3000–4999. Rejects the rest, notably
/// 1004 (reserved) and 1005, 1006, 1015 (which must never be sent).
pub const fn is_valid_code(code: u16) -> bool {
    matches!(code, 1000..=1003 | 1007..=1014 | 3000..=4999)
}

/// The status code and reason of a close frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CloseFrame {
    /// Close status code.
    pub code: u16,
    /// UTF-8 reason, possibly empty.
    pub reason: String,
}

impl CloseFrame {
    /// Parses a received close payload: empty means no status
    /// (`Ok(None)`); one byte is a protocol error; otherwise a valid code
    /// (see [`is_valid_code`]) followed by a UTF-8 reason (1007 if not).
    pub fn parse(payload: &[u8]) -> Result<Option<Self>, ProtocolError> {
        match payload {
            [] => Ok(None),
            [_] => Err(ProtocolError::protocol("one-byte close payload")),
            [hi, lo, reason @ ..] => {
                let code = u16::from_be_bytes([*hi, *lo]);
                if !is_valid_code(code) {
                    return Err(ProtocolError::protocol("invalid close code"));
                }
                let reason = std::str::from_utf8(reason)
                    .map_err(|_| ProtocolError::invalid_payload("close reason not UTF-8"))?;
                Ok(Some(Self {
                    code,
                    reason: reason.to_owned(),
                }))
            }
        }
    }
}

/// `reason` cut to at most [`MAX_REASON_LEN`] bytes on a char boundary.
fn truncate_reason(reason: &str) -> &str {
    let mut end = reason.len().min(MAX_REASON_LEN);
    while !reason.is_char_boundary(end) {
        end -= 1;
    }
    &reason[..end]
}

/// Appends a close frame to `out`: empty payload for `None`, otherwise the
/// code and the reason truncated to [`MAX_REASON_LEN`] bytes. Masked when
/// `mask` is given. The code is written as given; callers must pass a
/// sendable code (see [`is_valid_code`]).
pub fn encode_close(out: &mut BytesMut, status: Option<(u16, &str)>, mask: Option<[u8; 4]>) {
    let mut payload = [0u8; 2 + MAX_REASON_LEN];
    let len = match status {
        None => 0,
        Some((code, reason)) => {
            let reason = truncate_reason(reason);
            let mut w = &mut payload[..];
            w.put_u16(code);
            w.put_slice(reason.as_bytes());
            2 + reason.len()
        }
    };
    encode_frame(out, OpCode::Close, true, &payload[..len], mask);
}

/// One complete unmasked (server-to-client) close frame with `code` and
/// `reason` (truncated to [`MAX_REASON_LEN`] bytes on a char boundary).
pub fn close_frame(code: u16, reason: &str) -> Bytes {
    let mut out = BytesMut::with_capacity(4 + MAX_REASON_LEN);
    encode_close(&mut out, Some((code, reason)), None);
    out.freeze()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_rules() {
        assert_eq!(CloseFrame::parse(&[]), Ok(None));
        assert_eq!(CloseFrame::parse(&[0x03]).map_err(|e| e.code), Err(1002));
        assert_eq!(
            CloseFrame::parse(&[0x03, 0xE8]),
            Ok(Some(CloseFrame {
                code: 1000,
                reason: String::new()
            }))
        );
        assert_eq!(
            CloseFrame::parse(b"\x0f\xa0bye \xc3\xa9"),
            Ok(Some(CloseFrame {
                code: 4000,
                reason: "bye é".into()
            }))
        );
        for bad in [
            0u16, 999, 1004, 1005, 1006, 1015, 1016, 2000, 2999, 5000, 65535,
        ] {
            let p = bad.to_be_bytes();
            assert_eq!(
                CloseFrame::parse(&p).map_err(|e| e.code),
                Err(1002),
                "{bad}"
            );
        }
        for good in [
            1000u16, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 3000, 4999,
        ] {
            assert!(CloseFrame::parse(&good.to_be_bytes()).is_ok(), "{good}");
        }
        assert_eq!(
            CloseFrame::parse(b"\x03\xe8\xff\xfe").map_err(|e| e.code),
            Err(1007)
        );
    }

    #[test]
    fn close_frame_encoding() {
        assert_eq!(&close_frame(NORMAL, "")[..], [0x88, 0x02, 0x03, 0xE8]);
        assert_eq!(
            &close_frame(GOING_AWAY, "bye")[..],
            [0x88, 0x05, 0x03, 0xE9, b'b', b'y', b'e']
        );
        let mut out = BytesMut::new();
        encode_close(&mut out, None, None);
        assert_eq!(&out[..], [0x88, 0x00]);
    }

    #[test]
    fn long_reason_truncated_on_char_boundary() {
        let reason = "é".repeat(100); // 200 bytes
        let f = close_frame(POLICY_VIOLATION, &reason);
        assert_eq!(f[1] as usize, f.len() - 2);
        assert!(f.len() - 2 <= 125);
        let parsed = CloseFrame::parse(&f[2..]).unwrap().unwrap();
        assert_eq!(parsed.code, POLICY_VIOLATION);
        assert_eq!(parsed.reason, "é".repeat(61));
    }
}
