//! Frame opcodes, headers and encoding (RFC 6455 §5.2).

use bytes::{BufMut, Bytes, BytesMut};

use super::error::ProtocolError;
use super::mask::apply_mask;

/// Largest possible frame header: 2 + 8 (64-bit length) + 4 (mask).
pub const MAX_HEADER_LEN: usize = 14;

/// Largest payload of a control frame.
pub const MAX_CONTROL_PAYLOAD: usize = 125;

/// A frame opcode. Reserved opcodes are rejected when decoding.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum OpCode {
    /// Continuation of a fragmented message (0x0).
    Continuation = 0x0,
    /// First frame of a text message (0x1).
    Text = 0x1,
    /// First frame of a binary message (0x2).
    Binary = 0x2,
    /// Close control frame (0x8).
    Close = 0x8,
    /// Ping control frame (0x9).
    Ping = 0x9,
    /// Pong control frame (0xA).
    Pong = 0xA,
}

impl OpCode {
    /// The opcode for a 4-bit value, `None` for reserved values.
    pub const fn from_u8(v: u8) -> Option<Self> {
        Some(match v {
            0x0 => Self::Continuation,
            0x1 => Self::Text,
            0x2 => Self::Binary,
            0x8 => Self::Close,
            0x9 => Self::Ping,
            0xA => Self::Pong,
            _ => return None,
        })
    }

    /// The 4-bit wire value.
    pub const fn as_u8(self) -> u8 {
        self as u8
    }

    /// Whether this is a control opcode (close, ping, pong).
    pub const fn is_control(self) -> bool {
        (self as u8) & 0x8 != 0
    }
}

/// A decoded or to-be-encoded frame header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FrameHeader {
    /// Final fragment of a message.
    pub fin: bool,
    /// The three reserved bits (RSV1..RSV3) as `0b0000_0rrr`; must be 0
    /// without extensions.
    pub rsv: u8,
    /// The opcode.
    pub opcode: OpCode,
    /// The masking key, present on client-to-server frames.
    pub mask: Option<[u8; 4]>,
    /// Payload length in bytes.
    pub payload_len: u64,
}

impl FrameHeader {
    /// Parses a header from the start of `buf` without consuming it.
    ///
    /// Returns `Ok(None)` if `buf` does not yet hold the whole header, or the
    /// header with its encoded length. Rejects, as 1002 protocol errors:
    /// non-zero reserved bits, reserved opcodes, fragmented or over-125-byte
    /// control frames and 64-bit lengths with the most significant bit set.
    /// Masking direction is the [`Decoder`](super::Decoder)'s concern.
    pub fn parse(buf: &[u8]) -> Result<Option<(Self, usize)>, ProtocolError> {
        let [b0, b1, rest @ ..] = buf else {
            return Ok(None);
        };
        let fin = b0 & 0x80 != 0;
        let rsv = (b0 >> 4) & 0x7;
        if rsv != 0 {
            return Err(ProtocolError::protocol("reserved bits set"));
        }
        let opcode =
            OpCode::from_u8(b0 & 0x0F).ok_or(ProtocolError::protocol("reserved opcode"))?;
        let masked = b1 & 0x80 != 0;
        let len7 = b1 & 0x7F;
        let (payload_len, ext) = match len7 {
            126 => match rest {
                [a, b, ..] => (u64::from(u16::from_be_bytes([*a, *b])), 2),
                _ => return Ok(None),
            },
            127 => match rest {
                [a, b, c, d, e, f, g, h, ..] => {
                    (u64::from_be_bytes([*a, *b, *c, *d, *e, *f, *g, *h]), 8)
                }
                _ => return Ok(None),
            },
            n => (u64::from(n), 0),
        };
        if payload_len >> 63 != 0 {
            return Err(ProtocolError::protocol("payload length high bit set"));
        }
        if opcode.is_control() {
            if !fin {
                return Err(ProtocolError::protocol("fragmented control frame"));
            }
            if payload_len > MAX_CONTROL_PAYLOAD as u64 {
                return Err(ProtocolError::protocol("control frame too long"));
            }
        }
        let mask = if masked {
            match rest.get(ext..ext + 4) {
                Some(&[a, b, c, d]) => Some([a, b, c, d]),
                _ => return Ok(None),
            }
        } else {
            None
        };
        let header_len = 2 + ext + if masked { 4 } else { 0 };
        Ok(Some((
            Self {
                fin,
                rsv,
                opcode,
                mask,
                payload_len,
            },
            header_len,
        )))
    }

    /// Number of bytes [`encode`](Self::encode) writes.
    pub const fn encoded_len(&self) -> usize {
        let ext = if self.payload_len < 126 {
            0
        } else if self.payload_len <= 0xFFFF {
            2
        } else {
            8
        };
        2 + ext + if self.mask.is_some() { 4 } else { 0 }
    }

    /// Appends the header to `out`, using the minimal length encoding.
    pub fn encode(&self, out: &mut BytesMut) {
        out.reserve(self.encoded_len());
        self.put(out);
    }

    /// Writes the header into `out`, which has room for
    /// [`encoded_len`](Self::encoded_len) bytes.
    fn put(&self, mut out: impl BufMut) {
        let b0 = (u8::from(self.fin) << 7) | ((self.rsv & 0x7) << 4) | self.opcode.as_u8();
        let mbit = if self.mask.is_some() { 0x80 } else { 0 };
        out.put_u8(b0);
        if self.payload_len < 126 {
            // Lossless: checked < 126 just above.
            out.put_u8(mbit | self.payload_len as u8);
        } else if let Ok(len16) = u16::try_from(self.payload_len) {
            out.put_u8(mbit | 126);
            out.put_u16(len16);
        } else {
            out.put_u8(mbit | 127);
            out.put_u64(self.payload_len);
        }
        if let Some(m) = self.mask {
            out.put_slice(&m);
        }
    }
}

/// Appends one complete frame to `out`; masks the copied payload in place
/// when `mask` is given (client role). Reserves exactly once and allocates
/// nothing else.
///
/// The caller is responsible for protocol rules on what it sends: control
/// frames must be final with payloads ≤ 125 bytes (the [`Connection`]
/// enforces this).
///
/// [`Connection`]: super::Connection
pub fn encode_frame(
    out: &mut BytesMut,
    opcode: OpCode,
    fin: bool,
    payload: &[u8],
    mask: Option<[u8; 4]>,
) {
    let header = FrameHeader {
        fin,
        rsv: 0,
        opcode,
        mask,
        payload_len: payload.len() as u64,
    };
    out.reserve(header.encoded_len() + payload.len());
    header.encode(out);
    let start = out.len();
    out.extend_from_slice(payload);
    if let Some(m) = mask {
        apply_mask(&mut out[start..], m);
    }
}

/// Room [`frame_in_place`] needs before a payload: the longest unmasked
/// header.
pub const FRAME_HEADROOM: usize = 10;

/// One complete, final, unmasked (server-to-client) frame around a payload
/// already written in place: `buf` holds [`FRAME_HEADROOM`] bytes of room
/// (their content does not matter), then the payload. The header is
/// written into the end of that room and the frame starts where the header
/// does, so the payload is neither copied nor allocated again: an encoder
/// writes straight into the buffer the recipients will share.
///
/// # Panics
/// If `buf` is shorter than [`FRAME_HEADROOM`].
pub fn frame_in_place(opcode: OpCode, mut buf: Vec<u8>) -> Bytes {
    let header = FrameHeader {
        fin: true,
        rsv: 0,
        opcode,
        mask: None,
        payload_len: (buf.len() - FRAME_HEADROOM) as u64,
    };
    let start = FRAME_HEADROOM - header.encoded_len();
    header.put(&mut buf[start..FRAME_HEADROOM]);
    Bytes::from(buf).slice(start..)
}

/// One complete, final, unmasked (server-to-client) frame in a single
/// contiguous buffer of exactly the frame's size.
///
/// Intended for broadcasts: encode once, then hand clones of the returned
/// [`Bytes`] (a reference-count bump) to every recipient.
pub fn frame_bytes(opcode: OpCode, payload: &[u8]) -> Bytes {
    let header = FrameHeader {
        fin: true,
        rsv: 0,
        opcode,
        mask: None,
        payload_len: payload.len() as u64,
    };
    let mut out = BytesMut::with_capacity(header.encoded_len() + payload.len());
    encode_frame(&mut out, opcode, true, payload, None);
    out.freeze()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn opcode_values() {
        for v in 0u8..16 {
            match OpCode::from_u8(v) {
                Some(op) => assert_eq!(op.as_u8(), v),
                None => assert!(matches!(v, 3..=7 | 0xB..=0xF)),
            }
        }
        assert!(OpCode::Close.is_control());
        assert!(OpCode::Ping.is_control());
        assert!(OpCode::Pong.is_control());
        assert!(!OpCode::Text.is_control());
        assert!(!OpCode::Binary.is_control());
        assert!(!OpCode::Continuation.is_control());
    }

    #[test]
    fn rfc_examples() {
        // RFC 6455 §5.7.
        assert_eq!(
            &frame_bytes(OpCode::Text, b"Hello")[..],
            [0x81, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f]
        );
        let mut out = BytesMut::new();
        encode_frame(
            &mut out,
            OpCode::Text,
            true,
            b"Hello",
            Some([0x37, 0xfa, 0x21, 0x3d]),
        );
        assert_eq!(
            &out[..],
            [
                0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58
            ]
        );
        let mut out = BytesMut::new();
        encode_frame(&mut out, OpCode::Text, false, b"Hel", None);
        encode_frame(&mut out, OpCode::Continuation, true, b"lo", None);
        assert_eq!(
            &out[..],
            [0x01, 0x03, 0x48, 0x65, 0x6c, 0x80, 0x02, 0x6c, 0x6f]
        );
    }

    #[test]
    fn header_round_trip_all_length_classes() {
        for len in [0u64, 1, 125, 126, 127, 65535, 65536, 1 << 32, (1 << 63) - 1] {
            for mask in [None, Some([9, 8, 7, 6])] {
                let h = FrameHeader {
                    fin: len % 2 == 0,
                    rsv: 0,
                    opcode: OpCode::Binary,
                    mask,
                    payload_len: len,
                };
                let mut out = BytesMut::new();
                h.encode(&mut out);
                assert_eq!(out.len(), h.encoded_len());
                assert_eq!(FrameHeader::parse(&out), Ok(Some((h, out.len()))));
                // Every strict prefix is incomplete, never an error.
                for cut in 0..out.len() {
                    assert_eq!(FrameHeader::parse(&out[..cut]), Ok(None), "cut {cut}");
                }
            }
        }
    }

    #[test]
    fn header_rejections() {
        let code = |b: &[u8]| FrameHeader::parse(b).map_err(|e| e.code);
        assert_eq!(code(&[0xC1, 0x00]), Err(1002)); // RSV1
        assert_eq!(code(&[0xA1, 0x00]), Err(1002)); // RSV2
        assert_eq!(code(&[0x91, 0x00]), Err(1002)); // RSV3
        for op in [3u8, 4, 5, 6, 7, 0xB, 0xC, 0xD, 0xE, 0xF] {
            assert_eq!(code(&[0x80 | op, 0x00]), Err(1002), "opcode {op}");
        }
        assert_eq!(code(&[0x09, 0x00]), Err(1002)); // non-final ping
        assert_eq!(code(&[0x89, 126, 0, 126]), Err(1002)); // ping 126 bytes
        // A non-minimal length encoding is tolerated (the MUST is on senders).
        assert!(matches!(
            FrameHeader::parse(&[0x88, 126, 0, 10]),
            Ok(Some(_))
        ));
        assert_eq!(
            code(&[0x82, 127, 0x80, 0, 0, 0, 0, 0, 0, 0]),
            Err(1002) // MSB of 64-bit length
        );
    }

    #[test]
    fn frame_bytes_is_exact_and_shareable() {
        for len in [0usize, 125, 126, 65535, 65536] {
            let payload = vec![0xAB; len];
            let f = frame_bytes(OpCode::Binary, &payload);
            let (h, hl) = FrameHeader::parse(&f).unwrap().unwrap();
            assert_eq!(h.payload_len, len as u64);
            assert!(h.fin && h.mask.is_none());
            assert_eq!(f.len(), hl + len);
            assert_eq!(&f[hl..], &payload[..]);
            let clone = f.clone();
            assert_eq!(clone.as_ptr(), f.as_ptr(), "clones share one buffer");
        }
    }

    /// A frame built around a payload written in place is the frame
    /// `frame_bytes` builds from a copy, at every header length, and it
    /// starts inside the buffer the payload was written to.
    #[test]
    fn frame_in_place_is_frame_bytes_without_the_copy() {
        for len in [0usize, 1, 125, 126, 127, 65535, 65536, 70000] {
            let payload: Vec<u8> = (0..len).map(|i| i as u8).collect();
            let mut buf = vec![0xEE; FRAME_HEADROOM];
            buf.extend_from_slice(&payload);
            let payload_at = buf.as_ptr() as usize + FRAME_HEADROOM;
            let f = frame_in_place(OpCode::Text, buf);
            assert_eq!(f, frame_bytes(OpCode::Text, &payload), "payload of {len}");
            assert_eq!(
                f.as_ptr() as usize + f.len() - len,
                payload_at,
                "not copied"
            );
        }
    }
}
