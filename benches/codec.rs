//! criterion: the realtime codec path — WebSocket frame decode, envelope
//! decode, reply encode and framing.

use bytes::BytesMut;
use criterion::{Criterion, criterion_group, criterion_main};
use kairos_net::ws::{Decoder, OpCode, Role, encode_frame, frame_bytes};
use kairos_schema::rtapi::{Envelope, Outgoing};

fn codec(c: &mut Criterion) {
    let ping = br#"{"cid":"12345","ping":{}}"#;
    let mut wire = BytesMut::new();
    encode_frame(&mut wire, OpCode::Text, true, ping, Some([1, 2, 3, 4]));
    let wire = wire.freeze();

    c.bench_function("ws_decode_masked_text_frame", |b| {
        let mut dec = Decoder::new(Role::Server, 4096);
        b.iter(|| {
            let mut buf = BytesMut::from(&wire[..]);
            dec.decode(&mut buf).expect("valid").expect("one message")
        });
    });
    c.bench_function("envelope_decode_ping", |b| {
        b.iter(|| Envelope::from_json(ping).expect("valid"))
    });
    c.bench_function("envelope_encode_and_frame_pong", |b| {
        b.iter(|| frame_bytes(OpCode::Text, &Outgoing::Pong {}.to_json("12345")))
    });
    let payload = vec![7u8; 256];
    c.bench_function("ws_frame_256b_broadcast_frame", |b| {
        b.iter(|| frame_bytes(OpCode::Binary, &payload))
    });
}

criterion_group!(benches, codec);
criterion_main!(benches);
