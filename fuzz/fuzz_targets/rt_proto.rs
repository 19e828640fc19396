//! The realtime envelope in Nakama's protobuf: `proto::decode`, what a
//! `/ws?format=protobuf` session decodes from every binary frame; and
//! `proto::decode_server`, the client's decoder of the server's envelopes.
//! A decoded client envelope is encoded again with the client's encoder
//! and decoded once more.

#![no_main]

use bytes::Bytes;
use kairos_schema::proto;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let buf = Bytes::copy_from_slice(data);
    if let Ok(envelope) = proto::decode(&buf) {
        let again = proto::encode_request(&envelope.cid, &envelope.message);
        let _ = proto::decode(&Bytes::from(again));
    }
    if let Ok(envelope) = proto::decode_server(data)
        && let Some(message) = &envelope.message
    {
        let _ = proto::to_outgoing(message);
    }
});
