//! WebSocket frames: `kairos_net::ws::Decoder`, in the server's role (the
//! `/ws` reader) or the client's, fed the same bytes whole and in an
//! arbitrary chunking; both feeds must decode the same messages and end in
//! the same error. Then `Connection::recv` (automatic pong and close
//! replies) over the same bytes, in the same role, with its replies taken.
//!
//! Input: byte 0 picks the role (bit 0) and the message size limit (bits
//! 1-2); byte 1 seeds the chunk sizes; the rest is the byte stream.

#![no_main]

use bytes::BytesMut;
use kairos_net::ws::{Connection, Decoder, Message, ProtocolError, Role};
use libfuzzer_sys::fuzz_target;

const LIMITS: [usize; 4] = [0, 125, 4096, 1 << 20];

/// Every message the decoder yields, then its error if it fails.
fn decode_all(
    role: Role,
    max: usize,
    stream: &[u8],
    mut chunk: impl FnMut() -> usize,
) -> (Vec<Message>, Option<ProtocolError>) {
    let mut decoder = Decoder::new(role, max);
    let mut buf = BytesMut::new();
    let mut out = Vec::new();
    let mut rest = stream;
    while !rest.is_empty() {
        let n = chunk().clamp(1, rest.len());
        buf.extend_from_slice(&rest[..n]);
        rest = &rest[n..];
        loop {
            match decoder.decode(&mut buf) {
                Ok(Some(m)) => out.push(m),
                Ok(None) => break,
                Err(e) => {
                    // Poisoned: the same error again.
                    assert_eq!(decoder.decode(&mut buf), Err(e));
                    return (out, Some(e));
                }
            }
        }
    }
    (out, None)
}

fuzz_target!(|data: &[u8]| {
    let [flags, seed, stream @ ..] = data else {
        return;
    };
    let role = if flags & 1 == 0 {
        Role::Server
    } else {
        Role::Client
    };
    let max = LIMITS[usize::from(flags >> 1 & 3)];

    let whole = decode_all(role, max, stream, || usize::MAX);
    let mut state = u32::from(*seed) | 0x100;
    let chunked = decode_all(role, max, stream, || {
        // xorshift32: chunks of 1 to 64 bytes.
        state ^= state << 13;
        state ^= state >> 17;
        state ^= state << 5;
        (state % 64) as usize + 1
    });
    assert_eq!(whole, chunked, "the chunking changed what was decoded");

    let mut connection = match role {
        Role::Server => Connection::server(max),
        Role::Client => Connection::client(max, u64::from(*seed)),
    };
    let mut buf = BytesMut::from(stream);
    while let Ok(Some(_)) = connection.recv(&mut buf) {
        while connection.take_outbound().is_some() {}
    }
    while connection.take_outbound().is_some() {}
});
