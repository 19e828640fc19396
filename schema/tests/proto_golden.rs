//! Golden vectors from the real client: `@heroiclabs/nakama-js` 2.8.0 with
//! `@heroiclabs/nakama-js-protobuf` 1.4.0 (`tests/js/golden.mjs`).
//!
//! * [`CLIENT_FRAMES`]: frames the client sent through its protobuf adapter,
//!   decoded here by [`proto::decode`].
//! * [`SERVER_FRAMES`]: frames [`proto::encode`] wrote for
//!   [`server_vectors`], with what the client's adapter decoded from them.
//!   The encoder must still write exactly these bytes, and what the client
//!   saw must match what a JSON client sees for the same message.
//!
//! The adapter connects to `/ws?lang=en&status=false&token=…&format=protobuf`
//! with `binaryType = "arraybuffer"` and sends one Envelope per binary frame.
//! To regenerate: `npm ci` in `tests/js`, `node golden.mjs encode`, then
//! `node golden.mjs decode $(cargo test -p kairos-schema --test proto_golden
//! -- --ignored --nocapture print_server_vectors | sed -n 's/^HEX //p')`.

use std::collections::BTreeMap;

use base64::Engine;
use bytes::Bytes;
use kairos_schema::api;
use kairos_schema::proto;
use kairos_schema::rtapi::{self, ErrorCode, Incoming, Outgoing, UserPresence};
use serde_json::{Value, json};

fn alice() -> UserPresence {
    UserPresence {
        user_id: "u1".into(),
        session_id: "s1".into(),
        username: "alice".into(),
        persistence: false,
        status: None,
    }
}

fn bob() -> UserPresence {
    UserPresence {
        user_id: "u2".into(),
        session_id: "s2".into(),
        username: "bob".into(),
        persistence: true,
        status: Some("busy".into()),
    }
}

/// The server messages the JS client decodes: (name, cid, message); `None`
/// is the empty reply.
fn server_vectors() -> Vec<(&'static str, &'static str, Option<Outgoing>)> {
    vec![
        ("pong", "1", Some(Outgoing::Pong {})),
        ("empty_reply", "7", None),
        (
            "error",
            "2",
            Some(Outgoing::error(ErrorCode::MatchNotFound, "Match not found")),
        ),
        (
            "error_zero_code",
            "3",
            Some(Outgoing::error(ErrorCode::RuntimeException, "boom")),
        ),
        (
            "match",
            "4",
            Some(Outgoing::Match(rtapi::MatchOut {
                match_id: "m1.".into(),
                authoritative: false,
                label: Some(String::new()),
                size: 2,
                presences: vec![alice(), bob()],
                self_: alice(),
            })),
        ),
        (
            "match_presence_event",
            "",
            Some(Outgoing::MatchPresenceEvent(rtapi::MatchPresenceEvent {
                match_id: "m1.".into(),
                joins: vec![bob()],
                leaves: vec![alice()],
            })),
        ),
        (
            "match_data",
            "",
            Some(Outgoing::MatchData(rtapi::MatchData {
                match_id: "m1.".into(),
                presence: alice(),
                op_code: 7,
                data: Bytes::from_static(&[1, 2, 3, 0xff]),
                reliable: true,
            })),
        ),
        (
            "match_data_negative",
            "",
            Some(Outgoing::MatchData(rtapi::MatchData {
                match_id: "m1.".into(),
                presence: alice(),
                op_code: -1,
                data: Bytes::new(),
                reliable: false,
            })),
        ),
        (
            "match_data_huge_op_code",
            "",
            Some(Outgoing::MatchData(rtapi::MatchData {
                match_id: "m1.".into(),
                presence: alice(),
                op_code: 1 << 60,
                data: Bytes::from_static(b"x"),
                reliable: false,
            })),
        ),
        (
            "status",
            "5",
            Some(Outgoing::Status(rtapi::StatusOut {
                presences: vec![bob()],
            })),
        ),
        (
            "status_presence_event",
            "",
            Some(Outgoing::StatusPresenceEvent(rtapi::StatusPresenceEvent {
                joins: vec![bob()],
                leaves: vec![UserPresence {
                    status: Some(String::new()),
                    ..alice()
                }],
            })),
        ),
        (
            "channel",
            "6",
            Some(Outgoing::Channel(rtapi::ChannelOut {
                id: "2...lobby".into(),
                presences: vec![alice()],
                self_: alice(),
                room_name: "lobby".into(),
                ..Default::default()
            })),
        ),
        (
            "channel_message_ack",
            "8",
            Some(Outgoing::ChannelMessageAck(rtapi::ChannelMessageAck {
                channel_id: "2...lobby".into(),
                message_id: "msg1".into(),
                code: 0,
                username: "alice".into(),
                create_time: "2024-02-29T13:05:09.123Z".into(),
                update_time: "2024-02-29T13:05:09.123456Z".into(),
                persistent: false,
                room_name: "lobby".into(),
                ..Default::default()
            })),
        ),
        (
            "channel_message",
            "",
            Some(Outgoing::ChannelMessage(api::ChannelMessage {
                channel_id: "4...u1.u2".into(),
                message_id: "msg2".into(),
                code: 0,
                sender_id: "u1".into(),
                username: "alice".into(),
                content: r#"{"hello":"world"}"#.into(),
                create_time: "2024-02-29T13:05:09Z".into(),
                update_time: "2024-02-29T13:05:10Z".into(),
                persistent: true,
                user_id_one: "u1".into(),
                user_id_two: "u2".into(),
                ..Default::default()
            })),
        ),
        (
            "channel_presence_event",
            "",
            Some(Outgoing::ChannelPresenceEvent(
                rtapi::ChannelPresenceEvent {
                    channel_id: "3...g1".into(),
                    joins: vec![bob()],
                    leaves: vec![],
                    group_id: "g1".into(),
                    ..Default::default()
                },
            )),
        ),
        (
            "notifications",
            "",
            Some(Outgoing::Notifications(rtapi::NotificationsOut {
                notifications: vec![api::Notification {
                    id: "n1".into(),
                    subject: "hi".into(),
                    content: r#"{"a":1}"#.into(),
                    code: -2,
                    sender_id: "u2".into(),
                    create_time: "1970-01-01T00:00:00Z".into(),
                    persistent: true,
                }],
            })),
        ),
    ]
}

fn encode_vector(cid: &str, message: &Option<Outgoing>) -> Vec<u8> {
    match message {
        Some(m) => proto::encode(cid, m),
        None => proto::encode_empty_reply(cid),
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(text: &str) -> Bytes {
    assert!(text.len().is_multiple_of(2), "{text}");
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&text[i..i + 2], 16).unwrap())
        .collect::<Vec<u8>>()
        .into()
}

fn client_frame(name: &str) -> Bytes {
    let (_, h) = CLIENT_FRAMES
        .iter()
        .find(|(n, _)| *n == name)
        .unwrap_or_else(|| panic!("no client frame {name}"));
    unhex(h)
}

#[test]
#[ignore = "prints the server vectors for golden.mjs decode"]
fn print_server_vectors() {
    let hexes: Vec<String> = server_vectors()
        .iter()
        .map(|(_, cid, m)| hex(&encode_vector(cid, m)))
        .collect();
    println!("HEX {}", hexes.join(" "));
}

/// `node golden.mjs encode`: what nakama-js 2.8.0 with nakama-js-protobuf
/// 1.4.0 sends, frame by frame.
const CLIENT_FRAMES: &[(&str, &str)] = &[
    ("ping", "0a0131820200"),
    (
        "match_data_send",
        "7a200a036d312e10071a04010203ff220f0a027531120273311a05616c6963652801",
    ),
    (
        "match_data_send_text",
        "7a130a036d312e108080808080201a0568656c6c6f",
    ),
    (
        "match_data_send_negative",
        "7a100a036d312e10ffffffffffffffffff01",
    ),
    (
        "channel_join_room",
        "0a01321a110a056c6f62627910011a02080122020800",
    ),
    ("channel_join_dm", "0a01331a0e0a02753210021a02080022020801"),
    (
        "channel_message_send",
        "0a01343a1e0a09322e2e2e6c6f62627912117b2268656c6c6f223a22776f726c64227d",
    ),
    (
        "channel_message_update",
        "0a0135421a0a09322e2e2e6c6f62627912046d7367311a077b226e223a327d",
    ),
    (
        "channel_message_remove",
        "0a01364a110a09322e2e2e6c6f62627912046d736731",
    ),
    ("channel_leave", "0a0137220b0a09322e2e2e6c6f626279"),
    ("status_follow", "0a0138d201080a0275310a027532"),
    ("status_follow_usernames", "0a0139d201051203626f62"),
    ("status_unfollow", "0a023130e201040a027531"),
    ("status_update", "0a023131ea01080a060a0462757379"),
    ("status_update_offline", "0a023132ea0100"),
    ("match_create", "0a0231336a00"),
    ("match_create_named", "0a0231346a00"),
    ("match_join", "0a02313582010d0a036d312e1a060a016b120176"),
    ("match_join_token", "0a0231368201051203746f6b"),
    ("match_leave", "0a0231378a01050a036d312e"),
    ("rpc", "0a023138c2010a0a046563686f12027b7d"),
    ("party_create", "0a0231399a020408011004"),
    (
        "matchmaker_add",
        "0a0232309a0124080210041a012a22090a046d6f64651201782a100a05736b696c6c11000000000000f83f",
    ),
];

/// Kairos' encoding of [`server_vectors`] and what `node golden.mjs decode`
/// printed for it: the envelope WebSocketAdapterPb hands to the socket.
const SERVER_FRAMES: &[(&str, &str, &str)] = &[
    (
        "pong",
        "0a01318a0200",
        r#"{"envelope":{"cid":"1","pong":{}}}"#,
    ),
    ("empty_reply", "0a0137", r#"{"envelope":{"cid":"7"}}"#),
    (
        "error",
        "0a01325a130804120f4d61746368206e6f7420666f756e64",
        r#"{"envelope":{"cid":"2","error":{"code":4,"message":"Match not found","context":{}}}}"#,
    ),
    (
        "error_zero_code",
        "0a01335a061204626f6f6d",
        r#"{"envelope":{"cid":"3","error":{"code":0,"message":"boom","context":{}}}}"#,
    ),
    (
        "match",
        "0a013462440a036d312e1a0020022a0f0a027531120273311a05616c6963652a170a027532120273321a03626f6220012a060a0462757379320f0a027531120273311a05616c696365",
        r#"{"envelope":{"cid":"4","match":{"match_id":"m1.","authoritative":false,"size":2,"presences":[{"user_id":"u1","session_id":"s1","username":"alice","persistence":false},{"user_id":"u2","session_id":"s2","username":"bob","persistence":true,"status":"busy"}],"label":"","self":{"user_id":"u1","session_id":"s1","username":"alice","persistence":false}}}}"#,
    ),
    (
        "match_presence_event",
        "92012f0a036d312e12170a027532120273321a03626f6220012a060a04627573791a0f0a027531120273311a05616c696365",
        r#"{"envelope":{"cid":"","match_presence_event":{"match_id":"m1.","joins":[{"user_id":"u2","session_id":"s2","username":"bob","persistence":true,"status":"busy"}],"leaves":[{"user_id":"u1","session_id":"s1","username":"alice","persistence":false}]}}}"#,
    ),
    (
        "match_data",
        "72200a036d312e120f0a027531120273311a05616c69636518072204010203ff2801",
        r#"{"envelope":{"cid":"","match_data":{"match_id":"m1.","op_code":7,"reliable":true,"data":{"$bytes":"010203ff"},"presence":{"user_id":"u1","session_id":"s1","username":"alice","persistence":false}}}}"#,
    ),
    (
        "match_data_negative",
        "72210a036d312e120f0a027531120273311a05616c69636518ffffffffffffffffff01",
        r#"{"envelope":{"cid":"","match_data":{"match_id":"m1.","op_code":-1,"reliable":false,"data":{"$bytes":""},"presence":{"user_id":"u1","session_id":"s1","username":"alice","persistence":false}}}}"#,
    ),
    (
        "match_data_huge_op_code",
        "72230a036d312e120f0a027531120273311a05616c69636518808080808080808010220178",
        r#"{"error":"Value is larger than Number.MAX_SAFE_INTEGER"}"#,
    ),
    (
        "status",
        "0a0135ca01190a170a027532120273321a03626f6220012a060a0462757379",
        r#"{"envelope":{"cid":"5","status":{"presences":[{"user_id":"u2","session_id":"s2","username":"bob","persistence":true,"status":"busy"}]}}}"#,
    ),
    (
        "status_presence_event",
        "da012c12170a027532120273321a03626f6220012a060a04627573791a110a027531120273311a05616c6963652a00",
        r#"{"envelope":{"cid":"","status_presence_event":{"joins":[{"user_id":"u2","session_id":"s2","username":"bob","persistence":true,"status":"busy"}],"leaves":[{"user_id":"u1","session_id":"s1","username":"alice","persistence":false,"status":""}]}}}"#,
    ),
    (
        "channel",
        "0a013612340a09322e2e2e6c6f626279120f0a027531120273311a05616c6963651a0f0a027531120273311a05616c69636522056c6f626279",
        r#"{"envelope":{"cid":"6","channel":{"id":"2...lobby","room_name":"lobby","group_id":"","user_id_one":"","user_id_two":"","presences":[{"user_id":"u1","session_id":"s1","username":"alice","persistence":false}],"self":{"user_id":"u1","session_id":"s1","username":"alice","persistence":false}}}}"#,
    ),
    (
        "channel_message_ack",
        "0a0138323d0a09322e2e2e6c6f62627912046d7367311a002205616c6963652a0b08858282af0610c0a9d33a320b08858282af06108094ef3a3a0042056c6f626279",
        r#"{"envelope":{"cid":"8","channel_message_ack":{"channel_id":"2...lobby","message_id":"msg1","username":"alice","room_name":"lobby","group_id":"","user_id_one":"","user_id_two":"","code":0,"create_time":{"$date":"2024-02-29T13:05:09.123Z"},"update_time":{"$date":"2024-02-29T13:05:09.123Z"},"persistent":false}}}"#,
    ),
    (
        "channel_message",
        "2a4d0a09342e2e2e75312e753212046d7367321a00220275312a05616c69636532117b2268656c6c6f223a22776f726c64227d3a0608858282af06420608868282af064a020801620275316a027532",
        r#"{"envelope":{"cid":"","channel_message":{"channel_id":"4...u1.u2","message_id":"msg2","sender_id":"u1","username":"alice","content":"{\"hello\":\"world\"}","room_name":"","group_id":"","user_id_one":"u1","user_id_two":"u2","code":0,"create_time":{"$date":"2024-02-29T13:05:09.000Z"},"update_time":{"$date":"2024-02-29T13:05:10.000Z"},"persistent":true}}}"#,
    ),
    (
        "channel_presence_event",
        "52250a06332e2e2e673112170a027532120273321a03626f6220012a060a04627573792a026731",
        r#"{"envelope":{"cid":"","channel_presence_event":{"channel_id":"3...g1","room_name":"","group_id":"g1","user_id_one":"","user_id_two":"","joins":[{"user_id":"u2","session_id":"s2","username":"bob","persistence":true,"status":"busy"}],"leaves":[]}}}"#,
    ),
    (
        "notifications",
        "ba01260a240a026e31120268691a077b2261223a317d20feffffffffffffffff012a02753232003801",
        r#"{"envelope":{"cid":"","notifications":{"notifications":[{"id":"n1","subject":"hi","content":"{\"a\":1}","code":-2,"sender_id":"u2","persistent":true,"create_time":{"$date":"1970-01-01T00:00:00.000Z"}}]}}}"#,
    ),
];

/// What each client frame must decode to: (name, cid, message).
fn client_expectations() -> Vec<(&'static str, &'static str, Incoming)> {
    let presence = UserPresence {
        persistence: false,
        status: None,
        ..alice()
    };
    vec![
        ("ping", "1", Incoming::Ping),
        (
            "match_data_send",
            "",
            Incoming::MatchDataSend(rtapi::MatchDataSend {
                match_id: "m1.".into(),
                op_code: 7,
                data: Bytes::from_static(&[1, 2, 3, 0xff]),
                presences: vec![presence],
                reliable: true,
            }),
        ),
        (
            "match_data_send_text",
            "",
            Incoming::MatchDataSend(rtapi::MatchDataSend {
                match_id: "m1.".into(),
                op_code: 1 << 40,
                data: Bytes::from_static(b"hello"),
                presences: vec![],
                reliable: false,
            }),
        ),
        (
            "match_data_send_negative",
            "",
            Incoming::MatchDataSend(rtapi::MatchDataSend {
                match_id: "m1.".into(),
                op_code: -1,
                ..Default::default()
            }),
        ),
        (
            "channel_join_room",
            "2",
            Incoming::ChannelJoin(rtapi::ChannelJoin {
                target: "lobby".into(),
                kind: 1,
                persistence: Some(true),
                hidden: Some(false),
            }),
        ),
        (
            "channel_join_dm",
            "3",
            Incoming::ChannelJoin(rtapi::ChannelJoin {
                target: "u2".into(),
                kind: 2,
                persistence: Some(false),
                hidden: Some(true),
            }),
        ),
        (
            "channel_message_send",
            "4",
            Incoming::ChannelMessageSend(rtapi::ChannelMessageSend {
                channel_id: "2...lobby".into(),
                content: r#"{"hello":"world"}"#.into(),
            }),
        ),
        (
            "channel_message_update",
            "5",
            Incoming::ChannelMessageUpdate(rtapi::ChannelMessageUpdate {
                channel_id: "2...lobby".into(),
                message_id: "msg1".into(),
                content: r#"{"n":2}"#.into(),
            }),
        ),
        (
            "channel_message_remove",
            "6",
            Incoming::ChannelMessageRemove(rtapi::ChannelMessageRemove {
                channel_id: "2...lobby".into(),
                message_id: "msg1".into(),
            }),
        ),
        (
            "channel_leave",
            "7",
            Incoming::ChannelLeave(rtapi::ChannelLeave {
                channel_id: "2...lobby".into(),
            }),
        ),
        (
            "status_follow",
            "8",
            Incoming::StatusFollow(rtapi::StatusFollow {
                user_ids: vec!["u1".into(), "u2".into()],
                usernames: vec![],
            }),
        ),
        (
            "status_follow_usernames",
            "9",
            Incoming::StatusFollow(rtapi::StatusFollow {
                user_ids: vec![],
                usernames: vec!["bob".into()],
            }),
        ),
        (
            "status_unfollow",
            "10",
            Incoming::StatusUnfollow(rtapi::StatusUnfollow {
                user_ids: vec!["u1".into()],
            }),
        ),
        (
            "status_update",
            "11",
            Incoming::StatusUpdate(rtapi::StatusUpdate {
                status: Some("busy".into()),
            }),
        ),
        (
            "status_update_offline",
            "12",
            Incoming::StatusUpdate(rtapi::StatusUpdate { status: None }),
        ),
        (
            "match_create",
            "13",
            Incoming::MatchCreate(rtapi::MatchCreate::default()),
        ),
        // nakama-js-protobuf's generated MatchCreate has no fields: the name
        // given to createMatch("arena") never reaches the wire.
        (
            "match_create_named",
            "14",
            Incoming::MatchCreate(rtapi::MatchCreate::default()),
        ),
        (
            "match_join",
            "15",
            Incoming::MatchJoin(rtapi::MatchJoin {
                match_id: "m1.".into(),
                token: String::new(),
                metadata: BTreeMap::from([("k".into(), "v".into())]),
            }),
        ),
        (
            "match_join_token",
            "16",
            Incoming::MatchJoin(rtapi::MatchJoin {
                match_id: String::new(),
                token: "tok".into(),
                metadata: BTreeMap::new(),
            }),
        ),
        (
            "match_leave",
            "17",
            Incoming::MatchLeave(rtapi::MatchLeave {
                match_id: "m1.".into(),
            }),
        ),
        (
            "rpc",
            "18",
            Incoming::Rpc(rtapi::Rpc {
                id: "echo".into(),
                payload: "{}".into(),
                http_key: String::new(),
            }),
        ),
        (
            "party_create",
            "19",
            Incoming::PartyCreate(rtapi::PartyCreate {
                open: true,
                max_size: 4,
                label: String::new(),
                hidden: false,
            }),
        ),
        (
            "matchmaker_add",
            "20",
            Incoming::MatchmakerAdd(rtapi::MatchmakerAdd {
                min_count: 2,
                max_count: 4,
                query: "*".into(),
                string_properties: BTreeMap::from([("mode".into(), "x".into())]),
                numeric_properties: BTreeMap::from([("skill".into(), 1.5)]),
                count_multiple: None,
            }),
        ),
    ]
}

#[test]
fn every_client_frame_has_an_expectation() {
    let expected: Vec<&str> = client_expectations().iter().map(|(n, _, _)| *n).collect();
    let frames: Vec<&str> = CLIENT_FRAMES.iter().map(|(n, _)| *n).collect();
    assert_eq!(expected, frames);
}

#[test]
fn client_frames_decode_as_expected() {
    for (name, cid, message) in client_expectations() {
        let decoded =
            proto::decode(&client_frame(name)).unwrap_or_else(|e| panic!("{name}: {e:?}"));
        assert_eq!(
            decoded,
            rtapi::Envelope {
                cid: cid.into(),
                message
            },
            "{name}"
        );
    }
}

#[test]
fn client_frames_match_the_json_decoder() {
    // The same requests as nakama-js sends them over the JSON wire.
    let json: &[(&str, &str)] = &[
        ("ping", r#"{"cid":"1","ping":{}}"#),
        (
            "match_data_send",
            r#"{"match_data_send":{"match_id":"m1.","op_code":"7","data":"AQID/w==","presences":[{"user_id":"u1","session_id":"s1","username":"alice"}],"reliable":true}}"#,
        ),
        (
            "channel_join_room",
            r#"{"cid":"2","channel_join":{"target":"lobby","type":1,"persistence":true,"hidden":false}}"#,
        ),
        (
            "status_update",
            r#"{"cid":"11","status_update":{"status":"busy"}}"#,
        ),
        (
            "status_update_offline",
            r#"{"cid":"12","status_update":{}}"#,
        ),
        (
            "match_join",
            r#"{"cid":"15","match_join":{"match_id":"m1.","metadata":{"k":"v"}}}"#,
        ),
        (
            "party_create",
            r#"{"cid":"19","party_create":{"open":true,"max_size":4}}"#,
        ),
        (
            "matchmaker_add",
            r#"{"cid":"20","matchmaker_add":{"min_count":2,"max_count":4,"query":"*","string_properties":{"mode":"x"},"numeric_properties":{"skill":1.5}}}"#,
        ),
    ];
    for (name, text) in json {
        let from_json = rtapi::Envelope::from_json(text.as_bytes()).unwrap();
        let from_proto = proto::decode(&client_frame(name)).unwrap();
        assert_eq!(from_proto, from_json, "{name}");
    }
}

#[test]
fn client_frames_reencode() {
    // ts-proto writes a wrapper's value even when it is the default
    // (BoolValue false is `08 00`), prost leaves it out; and Kairos encodes
    // unhandled messages empty. Everything else is byte for byte.
    let not_identical = ["channel_join_room", "channel_join_dm"];
    for (name, h) in CLIENT_FRAMES {
        let decoded = proto::decode(&unhex(h)).unwrap();
        let again = proto::encode_request(&decoded.cid, &decoded.message);
        assert_eq!(
            proto::decode(&Bytes::from(again.clone())).unwrap(),
            decoded,
            "{name}"
        );
        if !not_identical.contains(name) {
            assert_eq!(hex(&again), *h, "{name}");
        }
    }
}

#[test]
fn client_match_data_is_sliced_not_copied() {
    let frame = client_frame("match_data_send");
    let range = frame.as_ptr_range();
    let Incoming::MatchDataSend(m) = proto::decode(&frame).unwrap().message else {
        panic!("not match_data_send");
    };
    assert_eq!(&m.data[..], &[1, 2, 3, 0xff]);
    assert!(range.contains(&m.data.as_ptr()), "data was copied");
}

#[test]
fn every_server_vector_is_pinned() {
    let vectors: Vec<&str> = server_vectors().iter().map(|(n, _, _)| *n).collect();
    let frames: Vec<&str> = SERVER_FRAMES.iter().map(|(n, _, _)| *n).collect();
    assert_eq!(vectors, frames);
}

#[test]
fn server_vectors_encode_as_pinned() {
    for ((name, cid, message), (_, h, _)) in server_vectors().iter().zip(SERVER_FRAMES) {
        assert_eq!(hex(&encode_vector(cid, message)), *h, "{name}");
    }
}

#[test]
fn server_frames_round_trip() {
    for ((name, cid, message), (_, h, _)) in server_vectors().iter().zip(SERVER_FRAMES) {
        let envelope = proto::decode_server(&unhex(h)).unwrap();
        assert_eq!(envelope.cid, *cid, "{name}");
        assert_eq!(
            envelope.message.as_ref().and_then(proto::to_outgoing),
            *message,
            "{name}"
        );
    }
}

#[test]
fn nakama_js_saw_what_a_json_client_sees() {
    for ((name, cid, message), (_, _, js)) in server_vectors().iter().zip(SERVER_FRAMES) {
        let js: Value = serde_json::from_str(js).unwrap();
        if *name == "match_data_huge_op_code" {
            // op_code above 2^53: ts-proto's longToNumber throws inside the
            // adapter's onmessage, so the client drops the frame.
            assert_eq!(
                js["error"], "Value is larger than Number.MAX_SAFE_INTEGER",
                "{name}"
            );
            continue;
        }
        let text = match message {
            Some(m) => m.to_json(cid),
            None => Outgoing::empty_reply(cid),
        };
        let json: Value = serde_json::from_slice(&text).unwrap();
        same(&js["envelope"], &json, name);
    }
}

#[test]
fn nakama_js_decoded_the_details() {
    let js = |name: &str| -> Value {
        let (_, _, text) = SERVER_FRAMES.iter().find(|(n, _, _)| *n == name).unwrap();
        serde_json::from_str::<Value>(text).unwrap()["envelope"].clone()
    };
    // int64 op codes arrive as JS numbers, negative ones included.
    assert_eq!(js("match_data")["match_data"]["op_code"], 7);
    assert_eq!(js("match_data_negative")["match_data"]["op_code"], -1);
    assert_eq!(js("match_data")["match_data"]["data"]["$bytes"], "010203ff");
    // Wrappers written as zero still arrive as present values.
    let ack = &js("channel_message_ack")["channel_message_ack"];
    assert_eq!(
        (&ack["code"], &ack["persistent"]),
        (&json!(0), &json!(false))
    );
    // Timestamps become Dates, to the millisecond.
    assert_eq!(ack["create_time"]["$date"], "2024-02-29T13:05:09.123Z");
    assert_eq!(ack["update_time"]["$date"], "2024-02-29T13:05:09.123Z");
    let n = &js("notifications")["notifications"]["notifications"][0];
    assert_eq!(n["create_time"]["$date"], "1970-01-01T00:00:00.000Z");
    // The cid of pushes is "", of replies the request's.
    assert_eq!(js("match_data")["cid"], "");
    assert_eq!(js("empty_reply"), json!({ "cid": "7" }));
    // A presence's status is absent unless the server sets it, even to "".
    let ev = &js("status_presence_event")["status_presence_event"];
    assert_eq!(ev["joins"][0]["status"], "busy");
    assert_eq!(ev["leaves"][0]["status"], "");
    assert!(js("match")["match"]["self"].get("status").is_none());
}

/// Whether what nakama-js decoded (`js`) is what the JSON wire says
/// (`json`): JS has every scalar, with defaults, while JSON leaves defaults
/// out; int64 is a number in JS and a string in JSON; bytes and times have
/// the markers `golden.mjs` gives them.
fn same(js: &Value, json: &Value, at: &str) {
    match (js, json) {
        (Value::Object(j), _) if j.contains_key("$bytes") => {
            let want = base64::engine::general_purpose::STANDARD
                .decode(json.as_str().unwrap_or_else(|| panic!("{at}: {json}")))
                .unwrap();
            assert_eq!(j["$bytes"], hex(&want), "{at}");
        }
        (Value::Object(j), _) if j.contains_key("$date") => {
            let got = proto::timestamp::parse(j["$date"].as_str().unwrap()).unwrap();
            let want = proto::timestamp::parse(json.as_str().unwrap()).unwrap();
            assert_eq!(
                (got.seconds, got.nanos / 1_000_000),
                (want.seconds, want.nanos / 1_000_000),
                "{at}"
            );
        }
        (Value::Object(j), Value::Object(o)) => {
            for (k, v) in j {
                let at = format!("{at}.{k}");
                match o.get(k) {
                    Some(w) => same(v, w, &at),
                    None => assert!(is_default(v), "{at}: JS has {v}, JSON nothing"),
                }
            }
            for (k, w) in o {
                if !j.contains_key(k) {
                    assert!(is_default(w), "{at}.{k}: JSON has {w}, JS nothing");
                }
            }
        }
        (Value::Array(j), Value::Array(o)) => {
            assert_eq!(j.len(), o.len(), "{at}");
            for (i, (a, b)) in j.iter().zip(o).enumerate() {
                same(a, b, &format!("{at}[{i}]"));
            }
        }
        (Value::Number(n), Value::String(s)) => assert_eq!(n.to_string(), *s, "{at}"),
        _ => assert_eq!(js, json, "{at}"),
    }
}

fn is_default(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::Bool(b) => !b,
        Value::Number(n) => n.as_f64() == Some(0.0),
        Value::String(s) => s.is_empty(),
        Value::Array(a) => a.is_empty(),
        Value::Object(o) => o.is_empty() || o.get("$bytes") == Some(&json!("")),
    }
}
