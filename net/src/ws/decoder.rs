//! Streaming message decoder: received bytes in, whole messages out.

use bytes::{Buf, Bytes, BytesMut};

use super::close::CloseFrame;
use super::error::ProtocolError;
use super::frame::{FrameHeader, OpCode};
use super::mask::apply_mask;

/// Which end of the connection this decoder sits on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// Server: decodes client frames, which must be masked.
    Server,
    /// Client: decodes server frames, which must not be masked.
    Client,
}

/// A complete received message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Message {
    /// A text message; the bytes are validated UTF-8.
    Text(Bytes),
    /// A binary message.
    Binary(Bytes),
    /// A ping with its application data.
    Ping(Bytes),
    /// A pong with its application data.
    Pong(Bytes),
    /// A close frame, with its status if the payload was not empty.
    Close(Option<CloseFrame>),
}

/// A fragmented data message being reassembled.
#[derive(Debug)]
struct Partial {
    /// `Text` or `Binary`.
    opcode: OpCode,
    data: BytesMut,
    /// Prefix of `data` known to be valid UTF-8 (text only).
    utf8_valid: usize,
}

/// Streaming WebSocket decoder for one direction of one connection.
///
/// Feed it the connection's receive buffer; it consumes whole frames only,
/// leaving a partial frame in place until more bytes arrive. Single-frame
/// messages are returned as zero-copy slices of the receive buffer.
///
/// After an error the decoder is poisoned and returns the same error forever:
/// the connection must be failed.
#[derive(Debug)]
pub struct Decoder {
    role: Role,
    max_message_size: usize,
    partial: Option<Partial>,
    failed: Option<ProtocolError>,
}

impl Decoder {
    /// A decoder for `role`, rejecting data messages whose total payload
    /// would exceed `max_message_size` bytes (1009). Control frames are
    /// bounded at 125 bytes by the protocol regardless.
    pub const fn new(role: Role, max_message_size: usize) -> Self {
        Self {
            role,
            max_message_size,
            partial: None,
            failed: None,
        }
    }

    /// The role this decoder was created with.
    pub const fn role(&self) -> Role {
        self.role
    }

    /// The configured maximum data message size.
    pub const fn max_message_size(&self) -> usize {
        self.max_message_size
    }

    /// Whether a fragmented message is partially received.
    pub const fn in_fragmented_message(&self) -> bool {
        self.partial.is_some()
    }

    /// Decodes the next complete message from `buf`.
    ///
    /// Consumes the frames that make up the returned message (and any
    /// intermediate fragments), leaving incomplete frames in `buf`. Returns
    /// `Ok(None)` when more input is needed; call again until it does, since
    /// `buf` may hold several messages.
    ///
    /// Size limits are checked from the frame header before any payload is
    /// buffered, so a peer announcing a huge frame is rejected immediately.
    pub fn decode(&mut self, buf: &mut BytesMut) -> Result<Option<Message>, ProtocolError> {
        if let Some(e) = self.failed {
            return Err(e);
        }
        let r = self.decode_inner(buf);
        if let Err(e) = r {
            self.failed = Some(e);
            self.partial = None;
        }
        r
    }

    fn decode_inner(&mut self, buf: &mut BytesMut) -> Result<Option<Message>, ProtocolError> {
        loop {
            let Some((header, header_len)) = FrameHeader::parse(buf)? else {
                return Ok(None);
            };
            self.check_header(&header)?;
            // check_header bounded the length by max_message_size or 125.
            let len = usize::try_from(header.payload_len)
                .map_err(|_| ProtocolError::too_big("frame too large"))?;
            let frame_len = header_len
                .checked_add(len)
                .ok_or(ProtocolError::too_big("frame too large"))?;
            if buf.len() < frame_len {
                return Ok(None);
            }
            buf.advance(header_len);
            let mut payload = buf.split_to(len);
            if let Some(mask) = header.mask {
                apply_mask(&mut payload, mask);
            }
            match header.opcode {
                OpCode::Ping => return Ok(Some(Message::Ping(payload.freeze()))),
                OpCode::Pong => return Ok(Some(Message::Pong(payload.freeze()))),
                OpCode::Close => return Ok(Some(Message::Close(CloseFrame::parse(&payload)?))),
                OpCode::Text | OpCode::Binary if header.fin => {
                    return finish(header.opcode, payload).map(Some);
                }
                OpCode::Text | OpCode::Binary => {
                    let mut p = Partial {
                        opcode: header.opcode,
                        data: payload,
                        utf8_valid: 0,
                    };
                    if p.opcode == OpCode::Text {
                        check_utf8_progress(&p.data, &mut p.utf8_valid)?;
                    }
                    self.partial = Some(p);
                }
                OpCode::Continuation => {
                    let Some(p) = self.partial.as_mut() else {
                        return Err(ProtocolError::protocol("continuation without start"));
                    };
                    p.data.extend_from_slice(&payload);
                    if p.opcode == OpCode::Text {
                        check_utf8_progress(&p.data, &mut p.utf8_valid)?;
                    }
                    if header.fin
                        && let Some(p) = self.partial.take()
                    {
                        return finish(p.opcode, p.data).map(Some);
                    }
                }
            }
        }
    }

    /// Role and sequencing checks, and the size limit, all from the header.
    fn check_header(&self, h: &FrameHeader) -> Result<(), ProtocolError> {
        match (self.role, h.mask.is_some()) {
            (Role::Server, false) => return Err(ProtocolError::protocol("unmasked client frame")),
            (Role::Client, true) => return Err(ProtocolError::protocol("masked server frame")),
            _ => {}
        }
        let max = self.max_message_size as u64;
        match h.opcode {
            OpCode::Close | OpCode::Ping | OpCode::Pong => {}
            OpCode::Text | OpCode::Binary => {
                if self.partial.is_some() {
                    return Err(ProtocolError::protocol("new message inside fragmented one"));
                }
                if h.payload_len > max {
                    return Err(ProtocolError::too_big("message too big"));
                }
            }
            OpCode::Continuation => {
                let Some(p) = &self.partial else {
                    return Err(ProtocolError::protocol("continuation without start"));
                };
                if (p.data.len() as u64).saturating_add(h.payload_len) > max {
                    return Err(ProtocolError::too_big("message too big"));
                }
            }
        }
        Ok(())
    }
}

/// Builds the final data message, validating text.
fn finish(opcode: OpCode, data: BytesMut) -> Result<Message, ProtocolError> {
    if opcode == OpCode::Text {
        if std::str::from_utf8(&data).is_err() {
            return Err(ProtocolError::invalid_payload("text not UTF-8"));
        }
        Ok(Message::Text(data.freeze()))
    } else {
        Ok(Message::Binary(data.freeze()))
    }
}

/// Incremental UTF-8 check of a growing text message: fails fast on a
/// definitely invalid sequence, tolerates a truncated one at the end (the
/// final check in [`finish`] rejects it if it stays truncated). Each byte is
/// validated at most once plus up to three bytes of a split code point.
fn check_utf8_progress(data: &[u8], valid: &mut usize) -> Result<(), ProtocolError> {
    let rest = data.get(*valid..).unwrap_or_default();
    match std::str::from_utf8(rest) {
        Ok(_) => *valid = data.len(),
        Err(e) if e.error_len().is_none() => *valid += e.valid_up_to(),
        Err(_) => return Err(ProtocolError::invalid_payload("text not UTF-8")),
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ws::frame::encode_frame;
    use crate::ws::mask::MaskSource;

    const MAX: usize = 1 << 20;

    fn server() -> Decoder {
        Decoder::new(Role::Server, MAX)
    }

    fn client() -> Decoder {
        Decoder::new(Role::Client, MAX)
    }

    /// A client (masked) frame.
    fn cf(op: OpCode, fin: bool, payload: &[u8]) -> Vec<u8> {
        let mut out = BytesMut::new();
        encode_frame(&mut out, op, fin, payload, Some([0xA1, 0xB2, 0xC3, 0xD4]));
        out.to_vec()
    }

    fn decode_all(d: &mut Decoder, bytes: &[u8]) -> Result<Vec<Message>, ProtocolError> {
        let mut buf = BytesMut::from(bytes);
        let mut out = Vec::new();
        while let Some(m) = d.decode(&mut buf)? {
            out.push(m);
        }
        Ok(out)
    }

    fn err_code(d: &mut Decoder, bytes: &[u8]) -> u16 {
        match decode_all(d, bytes) {
            Err(e) => e.code,
            Ok(m) => panic!("expected error, got {m:?}"),
        }
    }

    fn payload(len: usize) -> Vec<u8> {
        (0..len).map(|i| (i * 7 + 3) as u8).collect()
    }

    #[test]
    fn round_trip_every_length_class_masked_and_unmasked() {
        for len in [0usize, 1, 125, 126, 127, 65535, 65536, 70000] {
            let data = payload(len);
            // Masked: client encodes, server decodes.
            let mut d = server();
            let msgs = decode_all(&mut d, &cf(OpCode::Binary, true, &data)).unwrap();
            assert_eq!(
                msgs,
                vec![Message::Binary(Bytes::from(data.clone()))],
                "{len}"
            );
            // Unmasked: server encodes, client decodes.
            let mut d = client();
            let mut out = BytesMut::new();
            encode_frame(&mut out, OpCode::Binary, true, &data, None);
            let msgs = decode_all(&mut d, &out).unwrap();
            assert_eq!(msgs, vec![Message::Binary(Bytes::from(data))], "{len}");
        }
    }

    #[test]
    fn single_frame_payload_is_zero_copy() {
        let mut out = BytesMut::new();
        encode_frame(&mut out, OpCode::Binary, true, &payload(300), None);
        let base = out.as_ptr() as usize;
        let end = base + out.len();
        let mut d = client();
        let Some(Message::Binary(b)) = d.decode(&mut out).unwrap() else {
            panic!("expected binary");
        };
        let p = b.as_ptr() as usize;
        assert!(p > base && p < end, "payload must alias the input buffer");
        assert!(out.is_empty());
    }

    #[test]
    fn byte_at_a_time_and_arbitrary_splits() {
        let mut stream = Vec::new();
        stream.extend(cf(OpCode::Text, true, "héllo wörld".as_bytes()));
        stream.extend(cf(OpCode::Binary, true, &payload(300)));
        stream.extend(cf(OpCode::Binary, true, &payload(70000)));
        stream.extend(cf(OpCode::Text, false, &[0xE2, 0x82])); // "€" split
        stream.extend(cf(OpCode::Ping, true, b"p"));
        stream.extend(cf(OpCode::Continuation, true, &[0xAC]));
        stream.extend(cf(OpCode::Close, true, b"\x03\xe8ok"));
        let want = vec![
            Message::Text(Bytes::from("héllo wörld")),
            Message::Binary(Bytes::from(payload(300))),
            Message::Binary(Bytes::from(payload(70000))),
            Message::Ping(Bytes::from_static(b"p")),
            Message::Text(Bytes::from("€")),
            Message::Close(Some(CloseFrame {
                code: 1000,
                reason: "ok".into(),
            })),
        ];
        // One byte at a time, then several pseudo-random chunkings.
        let mut rng = MaskSource::new(99);
        for round in 0..6 {
            let mut d = server();
            let mut buf = BytesMut::new();
            let mut got = Vec::new();
            let mut i = 0;
            while i < stream.len() {
                let step = if round == 0 {
                    1
                } else {
                    1 + (u32::from_le_bytes(rng.next_mask()) as usize % 5000)
                };
                let end = (i + step).min(stream.len());
                buf.extend_from_slice(&stream[i..end]);
                i = end;
                while let Some(m) = d.decode(&mut buf).unwrap() {
                    got.push(m);
                }
            }
            assert_eq!(got, want, "round {round}");
            assert!(buf.is_empty());
        }
    }

    #[test]
    fn fragmentation_with_interleaved_ping() {
        let mut s = Vec::new();
        s.extend(cf(OpCode::Binary, false, b"ab"));
        s.extend(cf(OpCode::Ping, true, b"1"));
        s.extend(cf(OpCode::Continuation, false, b""));
        s.extend(cf(OpCode::Pong, true, b"2"));
        s.extend(cf(OpCode::Continuation, false, b"cd"));
        s.extend(cf(OpCode::Continuation, true, b"e"));
        let mut d = server();
        let got = decode_all(&mut d, &s).unwrap();
        assert_eq!(
            got,
            vec![
                Message::Ping(Bytes::from_static(b"1")),
                Message::Pong(Bytes::from_static(b"2")),
                Message::Binary(Bytes::from_static(b"abcde")),
            ]
        );
        assert!(!d.in_fragmented_message());
    }

    #[test]
    fn close_inside_fragmented_message_is_reported() {
        let mut s = cf(OpCode::Text, false, b"ab");
        s.extend(cf(OpCode::Close, true, b""));
        assert_eq!(
            decode_all(&mut server(), &s).unwrap(),
            vec![Message::Close(None)]
        );
    }

    #[test]
    fn masking_direction_enforced() {
        let mut unmasked = BytesMut::new();
        encode_frame(&mut unmasked, OpCode::Text, true, b"hi", None);
        assert_eq!(err_code(&mut server(), &unmasked), 1002);
        assert_eq!(
            err_code(&mut client(), &cf(OpCode::Text, true, b"hi")),
            1002
        );
        // Control frames too.
        let mut ping = BytesMut::new();
        encode_frame(&mut ping, OpCode::Ping, true, b"", None);
        assert_eq!(err_code(&mut server(), &ping), 1002);
    }

    #[test]
    fn header_level_errors() {
        // Reserved bits.
        for rsv in [0x40u8, 0x20, 0x10] {
            let mut f = cf(OpCode::Text, true, b"x");
            f[0] |= rsv;
            assert_eq!(err_code(&mut server(), &f), 1002);
        }
        // Reserved opcodes.
        for op in [3u8, 7, 0xB, 0xF] {
            let mut f = cf(OpCode::Binary, true, b"x");
            f[0] = 0x80 | op;
            assert_eq!(err_code(&mut server(), &f), 1002);
        }
        // Control frame > 125 bytes.
        assert_eq!(
            err_code(&mut server(), &cf(OpCode::Ping, true, &[0; 126])),
            1002
        );
        // Fragmented control frame.
        assert_eq!(err_code(&mut server(), &cf(OpCode::Ping, false, b"")), 1002);
        assert_eq!(
            err_code(&mut server(), &cf(OpCode::Close, false, b"")),
            1002
        );
        // 125-byte ping is fine.
        assert_eq!(
            decode_all(&mut server(), &cf(OpCode::Ping, true, &[7; 125])).unwrap(),
            vec![Message::Ping(Bytes::from(vec![7; 125]))]
        );
    }

    #[test]
    fn sequencing_errors() {
        // Continuation without start.
        assert_eq!(
            err_code(&mut server(), &cf(OpCode::Continuation, true, b"x")),
            1002
        );
        assert_eq!(
            err_code(&mut server(), &cf(OpCode::Continuation, false, b"x")),
            1002
        );
        // New data frame while a fragmented message is in progress.
        for op in [OpCode::Text, OpCode::Binary] {
            let mut s = cf(OpCode::Binary, false, b"a");
            s.extend(cf(op, true, b"b"));
            assert_eq!(err_code(&mut server(), &s), 1002);
        }
        // Completed fragmented message resets state: continuation after fin.
        let mut s = cf(OpCode::Binary, false, b"a");
        s.extend(cf(OpCode::Continuation, true, b"b"));
        s.extend(cf(OpCode::Continuation, true, b"c"));
        assert_eq!(err_code(&mut server(), &s), 1002);
    }

    #[test]
    fn max_size_enforced_from_header_alone() {
        // Header only: masked binary frame claiming 10 GB, no payload bytes.
        let ten_gb: u64 = 10 * (1 << 30);
        let mut h = vec![0x82, 0x80 | 127];
        h.extend(ten_gb.to_be_bytes());
        h.extend([1, 2, 3, 4]);
        let mut d = server();
        let mut buf = BytesMut::from(&h[..]);
        let e = d.decode(&mut buf).unwrap_err();
        assert_eq!(e.code, 1009);
        // Poisoned afterwards.
        assert_eq!(d.decode(&mut buf).unwrap_err().code, 1009);

        // Exactly at the limit is fine, one over is not.
        let mut d = Decoder::new(Role::Server, 100);
        assert!(decode_all(&mut d, &cf(OpCode::Binary, true, &[0; 100])).is_ok());
        let mut d = Decoder::new(Role::Server, 100);
        let f = cf(OpCode::Binary, true, &[0; 101]);
        // Only the header (2 bytes + mask) is needed to detect it.
        let mut buf = BytesMut::from(&f[..6]);
        assert_eq!(d.decode(&mut buf).unwrap_err().code, 1009);
    }

    #[test]
    fn max_size_counts_all_fragments() {
        let mut d = Decoder::new(Role::Server, 10);
        let mut s = cf(OpCode::Binary, false, &[0; 6]);
        s.extend(cf(OpCode::Continuation, false, &[0; 4]));
        // The third fragment's header alone pushes the total to 11.
        let third = cf(OpCode::Continuation, true, &[0; 1]);
        s.extend(&third[..6]);
        assert_eq!(err_code(&mut d, &s), 1009);

        let mut d = Decoder::new(Role::Server, 10);
        let mut s = cf(OpCode::Text, false, &[b'a'; 6]);
        s.extend(cf(OpCode::Continuation, true, &[b'b'; 4]));
        assert_eq!(
            decode_all(&mut d, &s).unwrap(),
            vec![Message::Text(Bytes::from("aaaaaabbbb"))]
        );
    }

    #[test]
    fn invalid_utf8_text() {
        assert_eq!(
            err_code(&mut server(), &cf(OpCode::Text, true, b"ok\xff")),
            1007
        );
        // Overlong encoding and surrogate.
        assert_eq!(
            err_code(&mut server(), &cf(OpCode::Text, true, b"\xc0\xaf")),
            1007
        );
        assert_eq!(
            err_code(&mut server(), &cf(OpCode::Text, true, b"\xed\xa0\x80")),
            1007
        );
        // Truncated sequence at the end of a fragmented message.
        let mut s = cf(OpCode::Text, false, b"a");
        s.extend(cf(OpCode::Continuation, true, b"\xe2\x82"));
        assert_eq!(err_code(&mut server(), &s), 1007);
        // Fails fast on the first fragment, before the message completes.
        let mut d = server();
        assert_eq!(err_code(&mut d, &cf(OpCode::Text, false, b"\xff")), 1007);
        // Binary is not validated.
        assert!(decode_all(&mut server(), &cf(OpCode::Binary, true, b"\xff")).is_ok());
        // A code point split across three fragments is fine.
        let mut s = cf(OpCode::Text, false, b"\xf0\x9f");
        s.extend(cf(OpCode::Continuation, false, b"\x98"));
        s.extend(cf(OpCode::Continuation, true, b"\x80!"));
        assert_eq!(
            decode_all(&mut server(), &s).unwrap(),
            vec![Message::Text(Bytes::from("😀!"))]
        );
    }

    #[test]
    fn close_frame_rules_in_decoder() {
        let close = |p: &[u8]| decode_all(&mut server(), &cf(OpCode::Close, true, p));
        assert_eq!(close(b"").unwrap(), vec![Message::Close(None)]);
        assert_eq!(close(b"\x03").unwrap_err().code, 1002);
        assert_eq!(close(b"\x03\xed").unwrap_err().code, 1002); // 1005
        assert_eq!(close(b"\x03\xee").unwrap_err().code, 1002); // 1006
        assert_eq!(close(b"\x03\xe8\xff").unwrap_err().code, 1007);
        assert_eq!(
            close(b"\x0b\xb8app").unwrap(),
            vec![Message::Close(Some(CloseFrame {
                code: 3000,
                reason: "app".into()
            }))]
        );
    }

    #[test]
    fn client_encode_server_decode_interop() {
        let mut masks = MaskSource::new(12345);
        let mut wire = BytesMut::new();
        let texts = ["", "a", "hello", &"x".repeat(200), &"é".repeat(40000)];
        for t in texts {
            encode_frame(
                &mut wire,
                OpCode::Text,
                true,
                t.as_bytes(),
                Some(masks.next_mask()),
            );
        }
        let mut d = server();
        let mut got = Vec::new();
        while let Some(Message::Text(b)) = d.decode(&mut wire).unwrap() {
            got.push(String::from_utf8(b.to_vec()).unwrap());
        }
        assert_eq!(got, texts);
    }

    /// Feeds thousands of pseudo-random byte strings (pure garbage, and
    /// mutated valid frames) to a server decoder: it must never panic, and
    /// must always consume input monotonically.
    #[test]
    fn garbage_never_panics() {
        let mut rng = MaskSource::new(0xDEAD_BEEF);
        let mut next = move || u32::from_le_bytes(rng.next_mask());
        let valid = {
            let mut v = Vec::new();
            v.extend(cf(OpCode::Text, false, b"ab"));
            v.extend(cf(OpCode::Ping, true, b"x"));
            v.extend(cf(OpCode::Continuation, true, b"cd"));
            v.extend(cf(OpCode::Binary, true, &payload(200)));
            v.extend(cf(OpCode::Close, true, b"\x03\xe8bye"));
            v
        };
        let (mut msgs, mut nones, mut errs) = (0, 0, 0);
        for case in 0..4000 {
            let input: Vec<u8> = if case % 2 == 0 {
                let len = next() as usize % 64;
                (0..len)
                    .map(|i| {
                        let b = next() as u8;
                        // Bias the second byte toward "masked" to get past
                        // the role check more often.
                        if i == 1 && next() % 2 == 0 {
                            b | 0x80
                        } else {
                            b
                        }
                    })
                    .collect()
            } else {
                let mut v = valid.clone();
                for _ in 0..1 + next() % 4 {
                    let i = next() as usize % v.len();
                    v[i] ^= 1 << (next() % 8);
                }
                v.truncate(next() as usize % (v.len() + 1));
                v
            };
            let mut d = Decoder::new(Role::Server, 1024);
            let mut buf = BytesMut::new();
            for chunk in input.chunks(1 + next() as usize % 16) {
                buf.extend_from_slice(chunk);
                loop {
                    let before = buf.len();
                    match d.decode(&mut buf) {
                        Ok(Some(_)) => {
                            msgs += 1;
                            assert!(buf.len() < before, "a message must consume input");
                        }
                        Ok(None) => {
                            nones += 1;
                            break;
                        }
                        Err(e) => {
                            errs += 1;
                            assert!(matches!(e.code, 1002 | 1007 | 1009));
                            break;
                        }
                    }
                }
            }
        }
        // The generator must actually exercise all three outcomes.
        assert!(
            msgs > 100 && nones > 100 && errs > 100,
            "{msgs} {nones} {errs}"
        );
    }
}
