//! The protobuf realtime codec (`kairos_schema::proto`): round trips of every
//! modeled message, how unknown, empty and malformed input is refused, and a
//! deterministic mutation fuzz that must never panic.

use std::collections::BTreeMap;

use bytes::Bytes;
use kairos_schema::api;
use kairos_schema::proto::{self, Message, wrappers};
use kairos_schema::rtapi::{self, CLIENT_MESSAGES, ErrorCode, Incoming, Outgoing, UserPresence};
use prost::Message as _;

fn alice() -> UserPresence {
    UserPresence {
        user_id: "u1".into(),
        session_id: "s1".into(),
        username: "alice".into(),
        persistence: true,
        status: Some("here".into()),
    }
}

fn bob() -> UserPresence {
    UserPresence {
        user_id: "u2".into(),
        session_id: "s2".into(),
        username: "bob".into(),
        persistence: false,
        status: None,
    }
}

/// One of each modeled client message, fields set.
fn requests() -> Vec<Incoming> {
    vec![
        Incoming::Ping,
        Incoming::Pong,
        Incoming::MatchCreate(rtapi::MatchCreate::default()),
        Incoming::MatchCreate(rtapi::MatchCreate {
            name: "arena".into(),
        }),
        Incoming::MatchJoin(rtapi::MatchJoin {
            match_id: "m1.".into(),
            token: String::new(),
            metadata: BTreeMap::from([("a".into(), "1".into()), ("b".into(), String::new())]),
        }),
        Incoming::MatchJoin(rtapi::MatchJoin {
            match_id: String::new(),
            token: "tok".into(),
            metadata: BTreeMap::new(),
        }),
        Incoming::MatchLeave(rtapi::MatchLeave {
            match_id: "m1.".into(),
        }),
        Incoming::MatchDataSend(rtapi::MatchDataSend {
            match_id: "m1.".into(),
            op_code: i64::MIN,
            data: Bytes::from_static(&[0, 1, 2, 0xff]),
            presences: vec![alice(), bob()],
            reliable: true,
        }),
        Incoming::MatchDataSend(rtapi::MatchDataSend {
            match_id: "m1.".into(),
            op_code: i64::MAX,
            ..Default::default()
        }),
        Incoming::StatusFollow(rtapi::StatusFollow {
            user_ids: vec!["u1".into(), "u2".into()],
            usernames: vec!["carol".into()],
        }),
        Incoming::StatusUnfollow(rtapi::StatusUnfollow {
            user_ids: vec!["u1".into()],
        }),
        Incoming::StatusUpdate(rtapi::StatusUpdate { status: None }),
        Incoming::StatusUpdate(rtapi::StatusUpdate {
            status: Some(String::new()),
        }),
        Incoming::StatusUpdate(rtapi::StatusUpdate {
            status: Some("busy".into()),
        }),
        Incoming::Rpc(rtapi::Rpc {
            id: "clientrpc.echo".into(),
            payload: "{}".into(),
            http_key: "k".into(),
        }),
        Incoming::ChannelJoin(rtapi::ChannelJoin {
            target: "lobby".into(),
            kind: 1,
            persistence: None,
            hidden: None,
        }),
        Incoming::ChannelJoin(rtapi::ChannelJoin {
            target: "g1".into(),
            kind: 3,
            persistence: Some(false),
            hidden: Some(true),
        }),
        Incoming::ChannelJoin(rtapi::ChannelJoin {
            target: "x".into(),
            kind: -7,
            persistence: Some(true),
            hidden: Some(false),
        }),
        Incoming::ChannelLeave(rtapi::ChannelLeave {
            channel_id: "2...lobby".into(),
        }),
        Incoming::ChannelMessageSend(rtapi::ChannelMessageSend {
            channel_id: "2...lobby".into(),
            content: r#"{"a":"ü"}"#.into(),
        }),
        Incoming::ChannelMessageUpdate(rtapi::ChannelMessageUpdate {
            channel_id: "2...lobby".into(),
            message_id: "msg".into(),
            content: "{}".into(),
        }),
        Incoming::ChannelMessageRemove(rtapi::ChannelMessageRemove {
            channel_id: "2...lobby".into(),
            message_id: "msg".into(),
        }),
    ]
}

/// One or more of each `Outgoing` variant, fields set.
fn replies() -> Vec<Outgoing> {
    let t1 = "2024-02-29T13:05:09Z".to_string();
    let t2 = "2024-02-29T13:05:09.123456Z".to_string();
    vec![
        Outgoing::Pong {},
        Outgoing::error(ErrorCode::BadInput, "bad"),
        Outgoing::error(ErrorCode::RuntimeException, ""),
        Outgoing::Match(rtapi::MatchOut {
            match_id: "m1.".into(),
            authoritative: true,
            label: Some("{\"mode\":1}".into()),
            size: 2,
            presences: vec![alice(), bob()],
            self_: alice(),
        }),
        Outgoing::Match(rtapi::MatchOut {
            match_id: "m2.".into(),
            self_: bob(),
            ..Default::default()
        }),
        Outgoing::MatchPresenceEvent(rtapi::MatchPresenceEvent {
            match_id: "m1.".into(),
            joins: vec![alice()],
            leaves: vec![bob()],
        }),
        Outgoing::MatchData(rtapi::MatchData {
            match_id: "m1.".into(),
            presence: alice(),
            op_code: -3,
            data: Bytes::from_static(b"\x00payload"),
            reliable: true,
        }),
        Outgoing::Status(rtapi::StatusOut {
            presences: vec![alice(), bob()],
        }),
        Outgoing::Rpc(rtapi::RpcOut {
            id: "clientrpc.echo".into(),
            payload: "{}".into(),
        }),
        Outgoing::StatusPresenceEvent(rtapi::StatusPresenceEvent {
            joins: vec![alice()],
            leaves: vec![bob()],
        }),
        Outgoing::StreamData(rtapi::StreamData {
            stream: rtapi::Stream {
                mode: 20,
                subject: "s".into(),
                subcontext: "c".into(),
                label: "l".into(),
            },
            sender: Some(alice()),
            data: "hello".into(),
            reliable: true,
        }),
        Outgoing::StreamData(rtapi::StreamData::default()),
        Outgoing::StreamPresenceEvent(rtapi::StreamPresenceEvent {
            stream: rtapi::Stream {
                mode: 20,
                label: "room".into(),
                ..Default::default()
            },
            joins: vec![alice()],
            leaves: vec![bob()],
        }),
        Outgoing::Channel(rtapi::ChannelOut {
            id: "4...u1.u2".into(),
            presences: vec![alice(), bob()],
            self_: bob(),
            room_name: String::new(),
            group_id: String::new(),
            user_id_one: "u1".into(),
            user_id_two: "u2".into(),
        }),
        Outgoing::ChannelMessageAck(rtapi::ChannelMessageAck {
            channel_id: "3...g1".into(),
            message_id: "msg".into(),
            code: 0,
            username: "alice".into(),
            create_time: t1.clone(),
            update_time: t2.clone(),
            persistent: false,
            room_name: String::new(),
            group_id: "g1".into(),
            user_id_one: String::new(),
            user_id_two: String::new(),
        }),
        Outgoing::ChannelMessage(api::ChannelMessage {
            channel_id: "2...lobby".into(),
            message_id: "msg".into(),
            code: 2,
            sender_id: "u1".into(),
            username: "alice".into(),
            content: "{}".into(),
            create_time: t1.clone(),
            update_time: t2,
            persistent: true,
            room_name: "lobby".into(),
            ..Default::default()
        }),
        Outgoing::ChannelPresenceEvent(rtapi::ChannelPresenceEvent {
            channel_id: "2...lobby".into(),
            joins: vec![alice()],
            leaves: vec![bob()],
            room_name: "lobby".into(),
            ..Default::default()
        }),
        Outgoing::Notifications(rtapi::NotificationsOut {
            notifications: vec![
                api::Notification {
                    id: "n1".into(),
                    subject: "s".into(),
                    content: "{}".into(),
                    code: -1,
                    sender_id: "u2".into(),
                    create_time: t1,
                    persistent: true,
                },
                api::Notification::default(),
            ],
        }),
    ]
}

fn decode(bytes: &[u8]) -> Result<rtapi::Envelope, rtapi::DecodeError> {
    proto::decode(&Bytes::copy_from_slice(bytes))
}

fn code(bytes: &[u8]) -> ErrorCode {
    decode(bytes).unwrap_err().code
}

#[test]
fn every_request_round_trips() {
    for (i, message) in requests().into_iter().enumerate() {
        let cid = if i % 2 == 0 {
            String::new()
        } else {
            i.to_string()
        };
        let bytes = proto::encode_request(&cid, &message);
        assert_eq!(
            decode(&bytes).unwrap(),
            rtapi::Envelope { cid, message },
            "{bytes:02x?}"
        );
    }
}

#[test]
fn every_reply_round_trips() {
    for (i, message) in replies().into_iter().enumerate() {
        let cid = if i % 2 == 0 {
            String::new()
        } else {
            i.to_string()
        };
        let envelope = proto::decode_server(&proto::encode(&cid, &message)).unwrap();
        assert_eq!(envelope.cid, cid);
        assert_eq!(
            envelope.message.as_ref().and_then(proto::to_outgoing),
            Some(message)
        );
    }
}

#[test]
fn every_outgoing_variant_is_covered() {
    let mut seen: Vec<&str> = replies()
        .iter()
        .map(|m| {
            let json: serde_json::Value = serde_json::from_slice(&m.to_json("")).unwrap();
            let name = json.as_object().unwrap().keys().next().unwrap().clone();
            proto::MESSAGE_NAMES
                .iter()
                .find(|n| **n == name)
                .copied()
                .unwrap()
        })
        .collect();
    seen.dedup();
    assert_eq!(
        seen,
        [
            "pong",
            "error",
            "match",
            "match_presence_event",
            "match_data",
            "status",
            "rpc",
            "status_presence_event",
            "stream_data",
            "stream_presence_event",
            "channel",
            "channel_message_ack",
            "channel_message",
            "channel_presence_event",
            "notifications",
        ]
    );
    // And the protobuf message is the one the JSON names.
    for m in replies() {
        let json: serde_json::Value = serde_json::from_slice(&m.to_json("")).unwrap();
        let name = json.as_object().unwrap().keys().next().unwrap().clone();
        let envelope = proto::decode_server(&proto::encode("", &m)).unwrap();
        assert_eq!(envelope.message.unwrap().name(), name);
    }
}

#[test]
fn message_names_follow_field_numbers() {
    assert_eq!(proto::MESSAGE_NAMES.len(), 50);
    for (i, name) in proto::MESSAGE_NAMES.iter().enumerate() {
        let m = Message::empty(name).unwrap();
        assert_eq!((m.name(), m.tag()), (*name, i as u32 + 2));
        // An empty message is its tag (a 1 or 2 byte varint) and a zero length.
        let bytes = proto::Envelope {
            cid: String::new(),
            message: Some(m),
        }
        .encode_to_vec();
        let key = ((i as u32 + 2) << 3) | 2;
        let want: Vec<u8> = if key < 0x80 {
            vec![key as u8, 0]
        } else {
            vec![(key as u8) | 0x80, (key >> 7) as u8, 0]
        };
        assert_eq!(bytes, want, "{name}");
    }
    assert!(Message::empty("nope").is_none());
}

#[test]
fn every_client_message_is_recognised() {
    for name in CLIENT_MESSAGES {
        assert!(proto::MESSAGE_NAMES.contains(name), "{name}");
        let bytes = proto::Envelope {
            cid: "1".into(),
            message: Message::empty(name),
        }
        .encode_to_vec();
        let e = decode(&bytes).unwrap_or_else(|e| panic!("{name}: {e:?}"));
        assert_eq!(e.cid, "1");
        // Decodes like the JSON envelope `{"<name>":{}}`.
        let json = format!(r#"{{"cid":"1","{name}":{{}}}}"#);
        assert_eq!(
            e,
            rtapi::Envelope::from_json(json.as_bytes()).unwrap(),
            "{name}"
        );
        assert_eq!(
            proto::encode_request("1", &e.message),
            bytes,
            "{name} re-encodes"
        );
    }
}

#[test]
fn party_matchmaking_requests_decode_with_their_fields() {
    let bytes = proto::Envelope {
        cid: "9".into(),
        message: Some(Message::PartyMatchmakerRemove(
            proto::party::PartyMatchmakerRemove {
                party_id: "p.kairos".into(),
                ticket: "t".into(),
            },
        )),
    }
    .encode_to_vec();
    let e = decode(&bytes).unwrap();
    assert_eq!(e.cid, "9");
    assert_eq!(
        e.message,
        Incoming::PartyMatchmakerRemove(rtapi::PartyMatchmakerRemove {
            party_id: "p.kairos".into(),
            ticket: "t".into(),
        })
    );
    let add = Incoming::PartyMatchmakerAdd(rtapi::PartyMatchmakerAdd {
        party_id: "p.kairos".into(),
        min_count: 2,
        max_count: 4,
        query: "+properties.mode:duo".into(),
        string_properties: [("mode".to_string(), "duo".to_string())].into(),
        numeric_properties: [("skill".to_string(), 7.5)].into(),
        count_multiple: None,
    });
    let back = decode(&proto::encode_request("1", &add)).unwrap();
    assert_eq!(back.message, add);
}

#[test]
fn server_only_messages_are_unrecognized() {
    for name in proto::MESSAGE_NAMES {
        if CLIENT_MESSAGES.contains(name) {
            continue;
        }
        let bytes = proto::Envelope {
            cid: "1".into(),
            message: Message::empty(name),
        }
        .encode_to_vec();
        let err = decode(&bytes).unwrap_err();
        assert_eq!(err.code, ErrorCode::UnrecognizedPayload, "{name}");
        assert!(err.message.contains(name), "{}", err.message);
    }
}

#[test]
fn missing_message() {
    assert_eq!(code(b""), ErrorCode::MissingPayload);
    assert_eq!(
        code(&proto::encode_empty_reply("7")),
        ErrorCode::MissingPayload
    );
    // Only a field this protocol does not know (60, a varint).
    assert_eq!(code(&[0xe0, 0x03, 0x01]), ErrorCode::MissingPayload);
    assert_eq!(
        decode(b"").unwrap_err().message,
        rtapi::Envelope::from_json(b"{}").unwrap_err().message
    );
}

#[test]
fn malformed_input_is_unrecognized() {
    for bad in [
        &[0xff][..],                           // truncated key
        &[0x0a],                               // cid without a length
        &[0x0a, 0x05, b'a'],                   // cid shorter than its length
        &[0x0a, 0x01, 0xff],                   // cid not UTF-8
        &[0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f], // absurd length
        &[0x82, 0x02],                         // ping without a length
        &[0x80, 0x02, 0x00],                   // ping as a varint
        &[0x82, 0x02, 0x02, 0x08],             // ping holding a truncated field
        &[0x7a, 0x02, 0x10, 0x80],             // op_code truncated
        &[0x7a, 0x03, 0x0a, 0x01, 0xc3],       // match_id not UTF-8
        &[0x00],                               // field number 0
        &[0x0c],                               // stray end-group
        &[0x0f],                               // wire type 7
        &[0x7a, 0x02, 0x18, 0x00],             // data (bytes) as a varint
        &[0x1a, 0x02, 0x1a, 0x01],             // persistence truncated
        &[0x1a, 0x04, 0x1a, 0x02, 0x08, 0x80], // persistence value truncated
    ] {
        assert_eq!(code(bad), ErrorCode::UnrecognizedPayload, "{bad:02x?}");
    }
    // The JSON text of an envelope is not a protobuf one.
    assert_eq!(
        code(br#"{"cid":"1","ping":{}}"#),
        ErrorCode::UnrecognizedPayload
    );
}

#[test]
fn protobuf_rules_not_json_rules() {
    // Unknown fields inside a message are skipped (the JSON wire refuses
    // them).
    assert_eq!(
        decode(&[0x82, 0x02, 0x02, 0x28, 0x01]).unwrap().message,
        Incoming::Ping
    );
    // Two messages: the last wins, as for any protobuf oneof (the JSON wire
    // refuses two).
    let mut two = proto::encode_request("", &Incoming::Ping);
    two.extend(proto::encode_request("4", &Incoming::Pong));
    assert_eq!(
        decode(&two).unwrap(),
        rtapi::Envelope {
            cid: "4".into(),
            message: Incoming::Pong
        }
    );
    // Unknown fields in the envelope around a message are skipped too.
    let mut framed = vec![0xe0, 0x03, 0x01];
    framed.extend(proto::encode_request("5", &Incoming::Ping));
    assert_eq!(decode(&framed).unwrap().message, Incoming::Ping);
}

#[test]
fn deep_nesting_is_refused_not_overflowed() {
    // 200,000 nested groups of an unknown field (60, start-group).
    let mut deep = Vec::new();
    for _ in 0..200_000 {
        deep.extend([0xe3, 0x03]);
    }
    assert_eq!(code(&deep), ErrorCode::UnrecognizedPayload);
    assert!(proto::decode_server(&deep).is_err());
}

#[test]
fn match_data_is_a_slice_of_the_frame() {
    let message = Incoming::MatchDataSend(rtapi::MatchDataSend {
        match_id: "m1.".into(),
        op_code: 1,
        data: Bytes::from(vec![7u8; 1000]),
        presences: vec![alice()],
        reliable: false,
    });
    // The frame sits inside a larger receive buffer.
    let mut buffer = b"HEADER".to_vec();
    buffer.extend(proto::encode_request("", &message));
    buffer.extend(b"TRAILER");
    let buffer = Bytes::from(buffer);
    let frame = buffer.slice(6..buffer.len() - 7);
    let e = proto::decode(&frame).unwrap();
    assert_eq!(e.message, message);
    let Incoming::MatchDataSend(m) = e.message else {
        unreachable!()
    };
    assert!(frame.as_ptr_range().contains(&m.data.as_ptr()));
    assert!(frame.as_ptr_range().contains(&m.data[999..].as_ptr()));
}

#[test]
fn wrappers_written_even_when_zero() {
    let ack = Outgoing::ChannelMessageAck(rtapi::ChannelMessageAck {
        channel_id: "c".into(),
        message_id: "m".into(),
        ..Default::default()
    });
    let Some(Message::ChannelMessageAck(a)) = proto::decode_server(&proto::encode("1", &ack))
        .unwrap()
        .message
    else {
        panic!("not an ack");
    };
    assert_eq!(a.code, Some(wrappers::Int32Value { value: 0 }));
    assert_eq!(a.persistent, Some(wrappers::BoolValue { value: false }));
    // Times that are not RFC 3339 (here empty) are left out.
    assert_eq!((a.create_time, a.update_time), (None, None));

    let msg = Outgoing::ChannelMessage(api::ChannelMessage {
        create_time: "2024-02-29T13:05:09.5Z".into(),
        update_time: "yesterday".into(),
        ..Default::default()
    });
    let Some(Message::ChannelMessage(m)) = proto::decode_server(&proto::encode("", &msg))
        .unwrap()
        .message
    else {
        panic!("not a channel message");
    };
    assert_eq!(m.code, Some(wrappers::Int32Value { value: 0 }));
    assert_eq!(m.persistent, Some(wrappers::BoolValue { value: false }));
    assert_eq!(
        m.create_time,
        Some(wrappers::Timestamp {
            seconds: 1_709_211_909,
            nanos: 500_000_000
        })
    );
    assert_eq!(m.update_time, None);

    // A match label: absent stays absent, empty is present.
    for label in [None, Some(String::new())] {
        let out = Outgoing::Match(rtapi::MatchOut {
            label: label.clone(),
            ..Default::default()
        });
        let Some(Message::Match(m)) = proto::decode_server(&proto::encode("", &out))
            .unwrap()
            .message
        else {
            panic!("not a match");
        };
        assert_eq!(m.label.map(|l| l.value), label);
        assert!(m.self_.is_some(), "self is always written");
    }
}

#[test]
fn empty_reply_and_cids() {
    assert_eq!(proto::encode_empty_reply(""), b"");
    assert_eq!(proto::encode_empty_reply("7"), [0x0a, 0x01, b'7']);
    let e = proto::decode_server(&proto::encode_empty_reply("12")).unwrap();
    assert_eq!((e.cid.as_str(), e.message), ("12", None));
    // Pong with and without a cid.
    assert_eq!(proto::encode("", &Outgoing::Pong {}), [0x8a, 0x02, 0x00]);
    assert_eq!(
        proto::encode("3", &Outgoing::Pong {}),
        [0x0a, 0x01, b'3', 0x8a, 0x02, 0x00]
    );
}

#[test]
fn match_join_sends_one_id() {
    // With both set, the token wins, as in nakama-js.
    let both = Incoming::MatchJoin(rtapi::MatchJoin {
        match_id: "m".into(),
        token: "t".into(),
        metadata: BTreeMap::new(),
    });
    let e = decode(&proto::encode_request("", &both)).unwrap();
    assert_eq!(
        e.message,
        Incoming::MatchJoin(rtapi::MatchJoin {
            match_id: String::new(),
            token: "t".into(),
            metadata: BTreeMap::new(),
        })
    );
}

/// xorshift64*: deterministic, no dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

fn mutate(rng: &mut Rng, seed: &[u8], seeds: &[Vec<u8>]) -> Vec<u8> {
    let mut b = seed.to_vec();
    for _ in 0..1 + rng.below(4) {
        match rng.below(8) {
            0 if !b.is_empty() => {
                let i = rng.below(b.len());
                b[i] ^= 1 << rng.below(8);
            }
            1 if !b.is_empty() => {
                let i = rng.below(b.len());
                b[i] = rng.next() as u8;
            }
            2 => {
                let i = rng.below(b.len() + 1);
                b.insert(i, rng.next() as u8);
            }
            3 if !b.is_empty() => {
                let i = rng.below(b.len());
                b.remove(i);
            }
            4 => {
                let n = rng.below(b.len() + 1);
                b.truncate(n);
            }
            5 => {
                // Splice in part of another seed.
                let other = &seeds[rng.below(seeds.len())];
                let from = rng.below(other.len() + 1);
                let to = from + rng.below(other.len() - from + 1);
                let at = rng.below(b.len() + 1);
                b.splice(at..at, other[from..to].iter().copied());
            }
            6 if !b.is_empty() => {
                // An interesting byte: lengths and varint edges.
                let i = rng.below(b.len());
                b[i] = [0x00, 0x01, 0x7f, 0x80, 0xff, 0x0a, 0x12][rng.below(7)];
            }
            _ => {
                let n = rng.below(16);
                b.extend((0..n).map(|_| rng.next() as u8));
            }
        }
    }
    b
}

#[test]
fn mutation_fuzz_never_panics() {
    let mut seeds: Vec<Vec<u8>> = requests()
        .iter()
        .map(|m| proto::encode_request("17", m))
        .chain(replies().iter().map(|m| proto::encode("3", m)))
        .chain(proto::MESSAGE_NAMES.iter().map(|n| {
            proto::Envelope {
                cid: String::new(),
                message: Message::empty(n),
            }
            .encode_to_vec()
        }))
        .collect();
    seeds.push(Vec::new());
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let (mut ok, mut failed) = (0u32, 0u32);
    for _ in 0..100_000 {
        let seed = &seeds[rng.below(seeds.len())];
        let input = mutate(&mut rng, seed, &seeds);
        match proto::decode(&Bytes::from(input.clone())) {
            Ok(e) => {
                ok += 1;
                // Whatever decodes re-encodes to the same request.
                let again = proto::encode_request(&e.cid, &e.message);
                assert_eq!(proto::decode(&Bytes::from(again)).unwrap(), e);
            }
            Err(e) => {
                failed += 1;
                assert!(matches!(
                    e.code,
                    ErrorCode::MissingPayload | ErrorCode::UnrecognizedPayload
                ));
            }
        }
        if let Ok(e) = proto::decode_server(&input)
            && let Some(out) = e.message.as_ref().and_then(proto::to_outgoing)
        {
            // What a client makes of it encodes again without panicking.
            let _ = proto::encode(&e.cid, &out);
        }
    }
    // The mutations reach both outcomes.
    assert!(ok > 1_000 && failed > 1_000, "ok {ok}, failed {failed}");
    // Random bytes too.
    for len in 0..2_000 {
        let input: Vec<u8> = (0..len % 97).map(|_| rng.next() as u8).collect();
        let _ = proto::decode(&Bytes::from(input.clone()));
        let _ = proto::decode_server(&input);
    }
}
