//! The table of realtime messages (`kairos_schema::messages`) is
//! consistent, and every wire agrees with it: names, protobuf field
//! numbers and FlatBuffers tags are unique and where the wire puts them,
//! and each wire's encode → decode round-trips every message the table
//! says Kairos models.

use std::collections::HashSet;

use bytes::Bytes;
use kairos_schema::messages::{CLIENT_MESSAGES, Direction, MESSAGES, find};
use kairos_schema::rtapi::{self, ErrorCode, Incoming, Outgoing};
use kairos_schema::{flat, proto};
use planus::WriteAsUnion;
use prost::Message as _;

#[test]
fn names_numbers_and_tags_are_unique_and_ordered() {
    assert_eq!(MESSAGES.len(), 50);
    let names: HashSet<_> = MESSAGES.iter().map(|m| m.name).collect();
    let fields: HashSet<_> = MESSAGES.iter().map(|m| m.field).collect();
    let tags: HashSet<_> = MESSAGES.iter().map(|m| m.tag).collect();
    assert_eq!(
        (names.len(), fields.len(), tags.len()),
        (MESSAGES.len(), MESSAGES.len(), MESSAGES.len())
    );
    for (i, m) in MESSAGES.iter().enumerate() {
        // Field numbers 2 to 51 in order (1 is `cid`); the FlatBuffers
        // union lists the same messages in the same order from tag 1.
        assert_eq!((m.field, m.tag), (i as u32 + 2, i as u8 + 1), "{}", m.name);
        assert!(
            m.name.bytes().all(|b| b.is_ascii_lowercase() || b == b'_'),
            "{}",
            m.name
        );
        assert_eq!(find(m.name), Some(m));
        // A model follows the sender: Kairos reads what clients send and
        // writes what servers send.
        assert!(!m.incoming || m.direction.from_client(), "{}", m.name);
        assert!(!m.outgoing || m.direction.from_server(), "{}", m.name);
    }
    assert_eq!(find("nope"), None);
}

#[test]
fn derived_lists_follow_the_table() {
    let client: Vec<_> = MESSAGES
        .iter()
        .filter(|m| m.direction.from_client())
        .map(|m| m.name)
        .collect();
    assert_eq!(CLIENT_MESSAGES, client);
    assert_eq!(rtapi::CLIENT_MESSAGES, client);
    let all: Vec<_> = MESSAGES.iter().map(|m| m.name).collect();
    assert_eq!(proto::MESSAGE_NAMES, all);
    for m in MESSAGES {
        assert_eq!(
            Incoming::empty(m.name).is_some(),
            m.direction.from_client(),
            "{}",
            m.name
        );
        assert_eq!(Outgoing::empty(m.name).is_some(), m.outgoing, "{}", m.name);
        if let Some(i) = Incoming::empty(m.name) {
            assert_eq!(i.name(), m.name);
            assert_eq!(
                !matches!(i, Incoming::Unhandled(_)),
                m.incoming,
                "{}",
                m.name
            );
        }
        if let Some(o) = Outgoing::empty(m.name) {
            assert_eq!(o.name(), m.name);
        }
    }
    assert_eq!(Incoming::empty("nope"), None);
    assert_eq!(Outgoing::empty("nope"), None);
    assert!(Direction::Both.from_client() && Direction::Both.from_server());
}

#[test]
fn protobuf_field_numbers_are_the_tables() {
    for m in MESSAGES {
        let message = proto::Message::empty(m.name).unwrap();
        assert_eq!((message.name(), message.tag()), (m.name, m.field));
        // On the wire: the field's key (number, length-delimited), then an
        // empty body.
        let bytes = proto::Envelope {
            cid: String::new(),
            message: Some(message),
        }
        .encode_to_vec();
        let mut want = Vec::new();
        prost::encoding::encode_key(
            m.field,
            prost::encoding::WireType::LengthDelimited,
            &mut want,
        );
        want.push(0);
        assert_eq!(bytes, want, "{}", m.name);
    }
}

#[test]
fn flatbuffers_tags_are_the_tables() {
    let mut b = planus::Builder::new();
    for m in MESSAGES {
        let member = flat::empty_message(m.name).unwrap();
        assert_eq!(member.prepare(&mut b).tag(), m.tag, "{}", m.name);
    }
    assert!(flat::empty_message("nope").is_none());
}

/// What the server makes of `{"<name>":{}}` on each wire.
fn decode_each_wire(name: &str) -> [Result<rtapi::Envelope, rtapi::DecodeError>; 3] {
    let json = format!(r#"{{"cid":"1","{name}":{{}}}}"#);
    let pb = proto::Envelope {
        cid: "1".into(),
        message: proto::Message::empty(name),
    }
    .encode_to_vec();
    let fb = planus::Builder::new()
        .finish(
            flat::fb::Envelope {
                cid: Some("1".into()),
                message: flat::empty_message(name),
            },
            None,
        )
        .to_vec();
    [
        rtapi::Envelope::from_json(json.as_bytes()),
        proto::decode(&Bytes::from(pb)),
        flat::decode(&Bytes::from(fb)),
    ]
}

#[test]
fn every_wire_reads_each_message_as_the_table_says() {
    for m in MESSAGES {
        for (wire, result) in ["json", "protobuf", "flatbuffers"]
            .into_iter()
            .zip(decode_each_wire(m.name))
        {
            if m.direction.from_client() {
                let e = result.unwrap_or_else(|e| panic!("{wire} {}: {e:?}", m.name));
                assert_eq!(e.cid, "1");
                assert_eq!(Some(e.message), Incoming::empty(m.name), "{wire}");
            } else {
                let e = result.unwrap_err();
                assert_eq!(e.code, ErrorCode::UnrecognizedPayload, "{wire} {}", m.name);
            }
        }
    }
}

#[test]
fn every_modeled_request_round_trips_on_every_wire() {
    for m in MESSAGES.iter().filter(|m| m.direction.from_client()) {
        let message = Incoming::empty(m.name).unwrap();
        let pb = proto::decode(&Bytes::from(proto::encode_request("7", &message))).unwrap();
        let fb = flat::decode(&Bytes::from(flat::encode_request("7", &message))).unwrap();
        for (wire, e) in [("protobuf", pb), ("flatbuffers", fb)] {
            assert_eq!(
                e,
                rtapi::Envelope {
                    cid: "7".into(),
                    message: message.clone()
                },
                "{wire}"
            );
        }
    }
}

#[test]
fn every_modeled_reply_round_trips_on_every_wire() {
    for m in MESSAGES.iter().filter(|m| m.outgoing) {
        let message = Outgoing::empty(m.name).unwrap();
        // JSON: one key, the table's name (the client's decoder reads it
        // back; see client/tests/messages.rs).
        let json: serde_json::Value = serde_json::from_slice(&message.to_json("7")).unwrap();
        let mut keys: Vec<_> = json.as_object().unwrap().keys().cloned().collect();
        keys.retain(|k| k != "cid");
        assert_eq!(keys, [m.name]);
        // Protobuf.
        let pb = proto::decode_server(&proto::encode("7", &message)).unwrap();
        let pb_message = pb.message.unwrap();
        assert_eq!(pb_message.name(), m.name);
        assert_eq!(proto::to_outgoing(&pb_message), Some(message.clone()));
        // FlatBuffers.
        let fb = flat::decode_outgoing(&flat::encode("7", &message)).unwrap();
        assert_eq!(fb.message, Some(message), "{}", m.name);
    }
}
