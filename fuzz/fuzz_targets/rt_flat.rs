//! The realtime envelope in FlatBuffers: `flat::decode`, verified and read
//! in place, what WebSocket-binary, reliable UDP and QUIC sessions decode
//! from every message; and `flat::decode_outgoing`, the client's decoder of
//! the server's envelopes.

#![no_main]

use bytes::Bytes;
use kairos_schema::flat;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let buf = Bytes::copy_from_slice(data);
    if let Ok(envelope) = flat::decode(&buf) {
        let again = flat::encode_request(&envelope.cid, &envelope.message);
        let _ = flat::decode(&Bytes::from(again));
    }
    let _ = flat::decode_outgoing(data);
});
