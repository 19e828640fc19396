//! The client's codecs against the server's: every request each wire
//! encodes decodes on the server side to the same `Incoming`, and every
//! server message the server encodes decodes back to the same `Outgoing`.

use std::collections::BTreeMap;

use bytes::Bytes;
use kairos_client::codec::{Decoded, ServerMessage, Wire, decode_json, encode_json_request};
use kairos_client::rtapi::*;
use kairos_schema::{flat, proto};

const WIRES: [Wire; 3] = [Wire::Json, Wire::Protobuf, Wire::FlatBuffers];

fn presence(n: u8) -> UserPresence {
    UserPresence {
        user_id: format!("user-{n}"),
        session_id: format!("session-{n}"),
        username: format!("name-{n}"),
        persistence: n.is_multiple_of(2),
        status: n.is_multiple_of(3).then(|| format!("status {n}")),
    }
}

fn requests() -> Vec<Incoming> {
    vec![
        Incoming::Ping,
        Incoming::Pong,
        Incoming::MatchCreate(MatchCreate::default()),
        Incoming::MatchCreate(MatchCreate {
            name: "arena".into(),
        }),
        Incoming::MatchJoin(MatchJoin {
            match_id: "0195f0d2-aaaa-7bbb-8ccc-123456789abc.".into(),
            token: String::new(),
            metadata: BTreeMap::from([("team".to_string(), "red".to_string())]),
        }),
        Incoming::MatchLeave(MatchLeave {
            match_id: "m.".into(),
        }),
        Incoming::MatchDataSend(MatchDataSend {
            match_id: "m.".into(),
            op_code: 42,
            data: Bytes::from_static(b"\x00\x01binary\xff"),
            presences: vec![presence(1), presence(2)],
            reliable: false,
        }),
        Incoming::MatchDataSend(MatchDataSend {
            match_id: "m.".into(),
            op_code: i64::MAX,
            data: Bytes::from_static(b"x"),
            presences: vec![],
            reliable: true,
        }),
        Incoming::StatusFollow(StatusFollow {
            user_ids: vec!["a".into(), "b".into()],
            usernames: vec!["c".into()],
        }),
        Incoming::StatusUnfollow(StatusUnfollow {
            user_ids: vec!["a".into()],
        }),
        Incoming::StatusUpdate(StatusUpdate { status: None }),
        Incoming::StatusUpdate(StatusUpdate {
            status: Some("in a match".into()),
        }),
        Incoming::Rpc(Rpc {
            id: "echo".into(),
            payload: "{\"x\":[1,2]}".into(),
            http_key: String::new(),
        }),
        Incoming::ChannelJoin(ChannelJoin {
            target: "lobby".into(),
            kind: 1,
            persistence: Some(false),
            hidden: Some(true),
        }),
        Incoming::ChannelJoin(ChannelJoin {
            target: "someone".into(),
            kind: 2,
            persistence: None,
            hidden: None,
        }),
        Incoming::ChannelLeave(ChannelLeave {
            channel_id: "2...lobby".into(),
        }),
        Incoming::ChannelMessageSend(ChannelMessageSend {
            channel_id: "2...lobby".into(),
            content: r#"{"text":"héllo \"you\""}"#.into(),
        }),
        Incoming::ChannelMessageUpdate(ChannelMessageUpdate {
            channel_id: "2...lobby".into(),
            message_id: "msg".into(),
            content: r#"{"text":"edit"}"#.into(),
        }),
        Incoming::ChannelMessageRemove(ChannelMessageRemove {
            channel_id: "2...lobby".into(),
            message_id: "msg".into(),
        }),
        Incoming::PartyCreate(kairos_schema::rtapi::PartyCreate {
            open: true,
            max_size: 4,
            label: r#"{"mode":"duo"}"#.into(),
            hidden: true,
        }),
        Incoming::PartyPromote(kairos_schema::rtapi::PartyMember {
            party_id: "p.kairos".into(),
            presence: kairos_schema::rtapi::UserPresence {
                user_id: "u".into(),
                session_id: "s".into(),
                username: "n".into(),
                ..Default::default()
            },
        }),
        Incoming::PartyDataSend(kairos_schema::rtapi::PartyDataSend {
            party_id: "p.kairos".into(),
            op_code: 3,
            data: bytes::Bytes::from_static(b"\x00hi"),
        }),
        Incoming::PartyUpdate(kairos_schema::rtapi::PartyUpdate {
            party_id: "p.kairos".into(),
            label: "{}".into(),
            open: true,
            hidden: false,
        }),
        Incoming::PartyLeave(kairos_schema::rtapi::PartyRef {
            party_id: "p.kairos".into(),
        }),
        Incoming::PartyMatchmakerAdd(kairos_schema::rtapi::PartyMatchmakerAdd {
            party_id: "p.kairos".into(),
            min_count: 2,
            max_count: 4,
            query: "+properties.mode:duo".into(),
            string_properties: [("mode".to_string(), "duo".to_string())].into(),
            numeric_properties: [("skill".to_string(), 1200.5)].into(),
            count_multiple: Some(2),
        }),
        Incoming::PartyMatchmakerRemove(kairos_schema::rtapi::PartyMatchmakerRemove {
            party_id: "p.kairos".into(),
            ticket: "t".into(),
        }),
    ]
}

/// What the server makes of a request frame of `wire`.
fn server_decode(wire: Wire, frame: Vec<u8>) -> Envelope {
    let result = match wire {
        Wire::Json => Envelope::from_json(&frame),
        Wire::Protobuf => proto::decode(&Bytes::from(frame)),
        Wire::FlatBuffers => flat::decode(&Bytes::from(frame)),
    };
    result.unwrap_or_else(|e| panic!("{wire:?}: server refused the request: {e:?}"))
}

#[test]
fn every_request_decodes_on_the_server_as_sent() {
    for wire in WIRES {
        for (i, request) in requests().into_iter().enumerate() {
            let cid = if i % 2 == 0 {
                format!("{i}")
            } else {
                String::new()
            };
            let frame = wire.encode_request(&cid, &request);
            let decoded = server_decode(wire, frame);
            assert_eq!(decoded.cid, cid, "{wire:?} {request:?}");
            assert_eq!(decoded.message, request, "{wire:?}");
        }
    }
}

#[test]
fn json_requests_look_like_nakama() {
    let frame = encode_json_request(
        "7",
        &Incoming::MatchDataSend(MatchDataSend {
            match_id: "m.".into(),
            op_code: 3,
            data: Bytes::from_static(b"hello"),
            presences: vec![],
            reliable: true,
        }),
    );
    let value: serde_json::Value = serde_json::from_slice(&frame).unwrap();
    assert_eq!(
        value,
        serde_json::json!({"cid": "7", "match_data_send": {
            "match_id": "m.", "op_code": "3", "data": "aGVsbG8=", "reliable": true
        }})
    );
    assert_eq!(
        encode_json_request("", &Incoming::Ping),
        br#"{"ping":{}}"#.to_vec()
    );
    assert_eq!(
        encode_json_request("1", &Incoming::StatusUpdate(StatusUpdate { status: None })),
        br#"{"cid":"1","status_update":{}}"#.to_vec()
    );
}

fn server_messages() -> Vec<Outgoing> {
    let t = "2024-05-06T07:08:09.123Z".to_string();
    vec![
        Outgoing::Pong {},
        Outgoing::error(ErrorCode::MatchNotFound, "Match not found"),
        Outgoing::Match(MatchOut {
            match_id: "m.".into(),
            authoritative: false,
            label: None,
            size: 2,
            presences: vec![presence(1), presence(2)],
            self_: presence(3),
        }),
        Outgoing::Match(MatchOut {
            match_id: "m2.".into(),
            authoritative: true,
            label: Some("label".into()),
            size: 0,
            presences: vec![],
            self_: presence(4),
        }),
        Outgoing::MatchPresenceEvent(MatchPresenceEvent {
            match_id: "m.".into(),
            joins: vec![presence(5)],
            leaves: vec![presence(6)],
        }),
        Outgoing::MatchData(MatchData {
            match_id: "m.".into(),
            presence: presence(7),
            op_code: 9_007_199_254_740_993,
            data: Bytes::from_static(b"\x00\xffdata"),
            reliable: true,
        }),
        Outgoing::MatchData(MatchData {
            match_id: "m.".into(),
            presence: presence(8),
            op_code: 0,
            data: Bytes::new(),
            reliable: false,
        }),
        Outgoing::Status(StatusOut {
            presences: vec![presence(9)],
        }),
        Outgoing::Rpc(RpcOut {
            id: "echo".into(),
            payload: "{\"x\":[1,2]}".into(),
        }),
        Outgoing::StatusPresenceEvent(StatusPresenceEvent {
            joins: vec![presence(3)],
            leaves: vec![],
        }),
        Outgoing::Channel(ChannelOut {
            id: "2...lobby".into(),
            presences: vec![presence(1)],
            self_: presence(2),
            room_name: "lobby".into(),
            ..Default::default()
        }),
        Outgoing::ChannelMessageAck(ChannelMessageAck {
            channel_id: "2...lobby".into(),
            message_id: "msg".into(),
            code: 0,
            username: "name".into(),
            create_time: t.clone(),
            update_time: t.clone(),
            persistent: true,
            room_name: "lobby".into(),
            ..Default::default()
        }),
        Outgoing::ChannelMessage(ChannelMessage {
            channel_id: "4.a.b.".into(),
            message_id: "msg".into(),
            code: 1,
            sender_id: "a".into(),
            username: "name".into(),
            content: r#"{"text":"hi"}"#.into(),
            create_time: t.clone(),
            update_time: t.clone(),
            persistent: false,
            user_id_one: "a".into(),
            user_id_two: "b".into(),
            ..Default::default()
        }),
        Outgoing::ChannelPresenceEvent(ChannelPresenceEvent {
            channel_id: "3.g..".into(),
            joins: vec![],
            leaves: vec![presence(2)],
            group_id: "g".into(),
            ..Default::default()
        }),
        Outgoing::Notifications(NotificationsOut {
            notifications: vec![Notification {
                id: "n".into(),
                subject: "s".into(),
                content: "{}".into(),
                code: -2,
                sender_id: "x".into(),
                create_time: t,
                persistent: true,
            }],
        }),
    ]
}

/// What the server sends for `message` on `wire`.
fn server_encode(wire: Wire, cid: &str, message: &Outgoing) -> Vec<u8> {
    match wire {
        Wire::Json => message.to_json(cid),
        Wire::Protobuf => proto::encode(cid, message),
        Wire::FlatBuffers => flat::encode(cid, message),
    }
}

#[test]
fn every_server_message_decodes_as_the_server_meant() {
    for wire in WIRES {
        for (i, message) in server_messages().into_iter().enumerate() {
            let cid = if i % 2 == 0 {
                String::new()
            } else {
                format!("c{i}")
            };
            let frame = server_encode(wire, &cid, &message);
            let decoded = wire
                .decode(&frame)
                .unwrap_or_else(|e| panic!("{wire:?} {message:?}: {e}"));
            assert_eq!(
                decoded,
                Decoded::Message(ServerMessage {
                    cid,
                    message: Some(message)
                }),
                "{wire:?}"
            );
        }
    }
}

#[test]
fn empty_replies_decode_on_every_wire() {
    let frames = [
        (Wire::Json, Outgoing::empty_reply("5")),
        (Wire::Protobuf, proto::encode_empty_reply("5")),
        (Wire::FlatBuffers, flat::encode_empty_reply("5")),
    ];
    for (wire, frame) in frames {
        let decoded = wire.decode(&frame).unwrap();
        assert_eq!(
            decoded,
            Decoded::Message(ServerMessage {
                cid: "5".into(),
                message: None
            }),
            "{wire:?}"
        );
    }
}

#[test]
fn json_decoding_is_lenient_like_protojson() {
    // camelCase names, op_code as a number, nulls, unknown fields,
    // unpadded base64.
    let frame = br#"{"match_data":{"matchId":"m.","presence":{"userId":"u","sessionId":"s","username":"n","extra":1},"opCode":7,"data":"aGk","reliable":null,"future":true}}"#;
    let Decoded::Message(m) = decode_json(frame).unwrap() else {
        panic!("decodes")
    };
    let Some(Outgoing::MatchData(d)) = m.message else {
        panic!("match data")
    };
    assert_eq!(
        (
            d.match_id.as_str(),
            d.presence.user_id.as_str(),
            d.op_code,
            &d.data[..],
            d.reliable
        ),
        ("m.", "u", 7, &b"hi"[..], false)
    );
    // A message no server sends (a client's request) is reported by name,
    // with its cid.
    assert_eq!(
        decode_json(br#"{"cid":"3","party_matchmaker_add":{"party_id":"x"}}"#).unwrap(),
        Decoded::Unknown {
            cid: "3".into(),
            name: "party_matchmaker_add".into()
        }
    );
    assert!(decode_json(b"not json").is_err());
    assert!(decode_json(b"[1]").is_err());
    assert!(decode_json(br#"{"match_data":{"data":"!!"}}"#).is_err());
    assert!(decode_json(br#"{"error":{"code":"x"}}"#).is_err());
}

#[test]
fn binary_wires_report_unmodeled_and_refuse_garbage() {
    // A protobuf envelope with a message no server sends
    // (`party_matchmaker_add`, field 45).
    let pb = proto::Envelope {
        cid: "9".into(),
        message: Some(proto::Message::PartyMatchmakerAdd(Default::default())),
    };
    let frame = prost_encode(&pb);
    assert_eq!(
        Wire::Protobuf.decode(&frame).unwrap(),
        Decoded::Unknown {
            cid: "9".into(),
            name: "party_matchmaker_add".into()
        }
    );
    assert!(Wire::Protobuf.decode(b"\xff\xff\xff").is_err());
    assert!(Wire::FlatBuffers.decode(b"\x01\x02").is_err());
    // A client message is no server message the model has: skipped by name.
    let client_frame = flat::encode_request("1", &Incoming::Ping);
    assert_eq!(
        Wire::FlatBuffers.decode(&client_frame).unwrap(),
        Decoded::Unknown {
            cid: "1".into(),
            name: "ping".into()
        }
    );
}

fn prost_encode(envelope: &proto::Envelope) -> Vec<u8> {
    use prost::Message as _;
    envelope.encode_to_vec()
}
