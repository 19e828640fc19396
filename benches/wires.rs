//! criterion: one relayed message on each wire: decoding the sender's
//! `match_data_send` and encoding the recipients' `match_data`, in Nakama's
//! JSON, Nakama's protobuf and Kairos's FlatBuffers, with a 64-byte
//! payload. The binary decoders slice the payload out of the buffer.

use bytes::Bytes;
use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use kairos_schema::rtapi::{Envelope, Incoming, MatchData, MatchDataSend, Outgoing, UserPresence};
use kairos_schema::{flat, proto};

const MATCH: &str = "c1bd1a7a-4a4f-4c52-9a5e-7b1fbd2a7c11.";

fn request() -> Incoming {
    Incoming::MatchDataSend(MatchDataSend {
        match_id: MATCH.into(),
        op_code: 7,
        data: Bytes::from(vec![42u8; 64]),
        presences: Vec::new(),
        reliable: false,
    })
}

fn reply() -> Outgoing {
    Outgoing::MatchData(MatchData {
        match_id: MATCH.into(),
        presence: UserPresence {
            user_id: "5b2c4f36-2f0c-4d3e-9a77-0f9b1b6c2e10".into(),
            session_id: "0193c1a0-7b2e-7c3d-8e4f-5a6b7c8d9e0f".into(),
            username: "player_one".into(),
            ..Default::default()
        },
        op_code: 7,
        data: Bytes::from(vec![42u8; 64]),
        reliable: false,
    })
}

fn json_request() -> Bytes {
    let data = "Kioq".repeat(21) + "Kg==";
    Bytes::from(format!(
        r#"{{"match_data_send":{{"match_id":"{MATCH}","op_code":"7","data":"{data}"}}}}"#
    ))
}

fn wires(c: &mut Criterion) {
    let encoded = [
        ("json", json_request()),
        (
            "protobuf",
            Bytes::from(proto::encode_request("", &request())),
        ),
        (
            "flatbuffers",
            Bytes::from(flat::encode_request("", &request())),
        ),
    ];
    let mut g = c.benchmark_group("decode_match_data_send");
    for (name, buf) in &encoded {
        let decode = |b: &Bytes| match *name {
            "json" => Envelope::from_json(b),
            "protobuf" => proto::decode(b),
            _ => flat::decode(b),
        };
        assert!(matches!(
            decode(buf).map(|e| e.message),
            Ok(Incoming::MatchDataSend(_))
        ));
        g.bench_with_input(BenchmarkId::from_parameter(name), buf, |bench, buf| {
            bench.iter(|| decode(buf).expect("valid"))
        });
    }
    g.finish();

    let msg = reply();
    let mut g = c.benchmark_group("encode_match_data");
    g.bench_function("json", |b| b.iter(|| msg.to_json("")));
    g.bench_function("protobuf", |b| b.iter(|| proto::encode("", &msg)));
    g.bench_function("flatbuffers", |b| b.iter(|| flat::encode("", &msg)));
    g.finish();
    eprintln!(
        "match_data bytes: json {}, protobuf {}, flatbuffers {}",
        msg.to_json("").len(),
        proto::encode("", &msg).len(),
        flat::encode("", &msg).len()
    );
}

criterion_group!(benches, wires);
criterion_main!(benches);
