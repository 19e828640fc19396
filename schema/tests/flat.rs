//! The FlatBuffers wire (`kairos_schema::flat`): round trips, zero copy,
//! hostile input, the pinned layout, and agreement with the JSON decoder.

use std::collections::BTreeMap;

use bytes::Bytes;
use kairos_schema::api::{ChannelMessage, Notification};
use kairos_schema::flat::{
    self, ServerEnvelope, decode, decode_outgoing, encode, encode_empty_reply, encode_request, fb,
};
use kairos_schema::rtapi::{
    CLIENT_MESSAGES, ChannelJoin, ChannelLeave, ChannelMessageAck, ChannelMessageRemove,
    ChannelMessageSend, ChannelMessageUpdate, ChannelOut, ChannelPresenceEvent, Envelope,
    ErrorCode, Incoming, MatchCreate, MatchData, MatchDataSend, MatchJoin, MatchLeave, MatchOut,
    MatchPresenceEvent, MatchmakerAdd, MatchmakerMatched, MatchmakerRemove, MatchmakerTicket,
    MatchmakerUser, NotificationsOut, Outgoing, PartyCreate, PartyData, PartyDataSend,
    PartyJoinRequest, PartyLeader, PartyMatchmakerAdd, PartyMatchmakerRemove,
    PartyMatchmakerTicket, PartyMember, PartyOut, PartyPresenceEvent, PartyRef, PartyUpdate, Rpc,
    RpcOut, StatusFollow, StatusOut, StatusPresenceEvent, StatusUnfollow, StatusUpdate,
    UserPresence,
};

fn presence(n: u8) -> UserPresence {
    UserPresence {
        user_id: format!("user-{n}"),
        session_id: format!("session-{n}"),
        username: format!("name-{n}"),
        persistence: n.is_multiple_of(2),
        status: n.is_multiple_of(3).then(|| format!("status {n}")),
    }
}

/// One of every modeled client message, with every field set, plus
/// variants with fields at their defaults.
fn requests() -> Vec<Incoming> {
    vec![
        Incoming::Ping,
        Incoming::Pong,
        Incoming::MatchCreate(MatchCreate::default()),
        Incoming::MatchCreate(MatchCreate {
            name: "arena".into(),
        }),
        Incoming::MatchJoin(MatchJoin {
            match_id: "m.1".into(),
            token: String::new(),
            metadata: BTreeMap::from([("a".into(), "1".into()), ("b".into(), String::new())]),
        }),
        Incoming::MatchJoin(MatchJoin {
            token: "tok".into(),
            ..Default::default()
        }),
        Incoming::MatchLeave(MatchLeave {
            match_id: "m.1".into(),
        }),
        Incoming::MatchDataSend(MatchDataSend {
            match_id: "m.1".into(),
            op_code: -9_007_199_254_740_993,
            data: Bytes::from_static(b"\x00\x01payload\xff"),
            presences: vec![presence(1), presence(2), presence(3)],
            reliable: true,
        }),
        Incoming::MatchDataSend(MatchDataSend::default()),
        Incoming::StatusFollow(StatusFollow {
            user_ids: vec!["u1".into(), String::new(), "u3".into()],
            usernames: vec!["alice".into()],
        }),
        Incoming::StatusUnfollow(StatusUnfollow {
            user_ids: vec!["u1".into()],
        }),
        Incoming::StatusUpdate(StatusUpdate { status: None }),
        Incoming::StatusUpdate(StatusUpdate {
            status: Some(String::new()),
        }),
        Incoming::StatusUpdate(StatusUpdate {
            status: Some("busy".into()),
        }),
        Incoming::Rpc(Rpc {
            id: "clientrpc.echo".into(),
            payload: "{\"a\":1}".into(),
            http_key: String::new(),
        }),
        Incoming::Rpc(Rpc::default()),
        Incoming::ChannelJoin(ChannelJoin {
            target: "lobby".into(),
            kind: 1,
            persistence: Some(false),
            hidden: Some(true),
        }),
        Incoming::ChannelJoin(ChannelJoin {
            target: "u2".into(),
            kind: 2,
            persistence: Some(true),
            hidden: Some(false),
        }),
        Incoming::ChannelJoin(ChannelJoin {
            target: "g".into(),
            kind: 3,
            persistence: None,
            hidden: None,
        }),
        Incoming::ChannelLeave(ChannelLeave {
            channel_id: "2...lobby".into(),
        }),
        Incoming::ChannelMessageSend(ChannelMessageSend {
            channel_id: "2...lobby".into(),
            content: r#"{"text":"héllo"}"#.into(),
        }),
        Incoming::ChannelMessageUpdate(ChannelMessageUpdate {
            channel_id: "2...lobby".into(),
            message_id: "m1".into(),
            content: "{}".into(),
        }),
        Incoming::ChannelMessageRemove(ChannelMessageRemove {
            channel_id: "2...lobby".into(),
            message_id: "m1".into(),
        }),
        Incoming::PartyCreate(PartyCreate {
            open: true,
            max_size: 8,
            label: r#"{"mode":"duo"}"#.into(),
            hidden: true,
        }),
        Incoming::PartyCreate(PartyCreate::default()),
        Incoming::PartyJoin(PartyRef {
            party_id: "p.kairos".into(),
        }),
        Incoming::PartyLeave(PartyRef {
            party_id: "p.kairos".into(),
        }),
        Incoming::PartyClose(PartyRef::default()),
        Incoming::PartyJoinRequestList(PartyRef {
            party_id: "p.kairos".into(),
        }),
        Incoming::PartyPromote(PartyMember {
            party_id: "p.kairos".into(),
            presence: presence(2),
        }),
        Incoming::PartyAccept(PartyMember {
            party_id: "p.kairos".into(),
            presence: presence(3),
        }),
        Incoming::PartyRemove(PartyMember::default()),
        Incoming::PartyDataSend(PartyDataSend {
            party_id: "p.kairos".into(),
            op_code: -3,
            data: Bytes::from_static(b"\x00party\xff"),
        }),
        Incoming::PartyDataSend(PartyDataSend::default()),
        Incoming::PartyUpdate(PartyUpdate {
            party_id: "p.kairos".into(),
            label: "{}".into(),
            open: true,
            hidden: true,
        }),
        Incoming::MatchmakerAdd(MatchmakerAdd {
            min_count: 2,
            max_count: 8,
            query: "+properties.mode:ranked".into(),
            string_properties: BTreeMap::from([("mode".into(), "ranked".into())]),
            numeric_properties: BTreeMap::from([("skill".into(), 1200.5)]),
            count_multiple: Some(2),
        }),
        Incoming::MatchmakerAdd(MatchmakerAdd::default()),
        Incoming::MatchmakerRemove(MatchmakerRemove {
            ticket: "t1".into(),
        }),
        Incoming::PartyMatchmakerAdd(PartyMatchmakerAdd {
            party_id: "p.kairos".into(),
            min_count: 2,
            max_count: 4,
            query: "+properties.mode:duo".into(),
            string_properties: BTreeMap::from([("mode".into(), "duo".into())]),
            numeric_properties: BTreeMap::from([("skill".into(), 900.0)]),
            count_multiple: Some(2),
        }),
        Incoming::PartyMatchmakerAdd(PartyMatchmakerAdd::default()),
        Incoming::PartyMatchmakerRemove(PartyMatchmakerRemove {
            party_id: "p.kairos".into(),
            ticket: "t1".into(),
        }),
    ]
}

/// One of every `Outgoing` variant, with every field set, plus variants
/// with fields at their defaults.
fn replies() -> Vec<Outgoing> {
    vec![
        Outgoing::Pong {},
        Outgoing::error(ErrorCode::BadInput, "bad input"),
        Outgoing::error(ErrorCode::RuntimeException, ""),
        Outgoing::Match(MatchOut {
            match_id: "m.1".into(),
            authoritative: true,
            label: Some("{\"mode\":1}".into()),
            size: 3,
            presences: vec![presence(1), presence(2)],
            self_: presence(1),
        }),
        Outgoing::Match(MatchOut {
            label: Some(String::new()),
            ..Default::default()
        }),
        Outgoing::Match(MatchOut::default()),
        Outgoing::MatchPresenceEvent(MatchPresenceEvent {
            match_id: "m.1".into(),
            joins: vec![presence(4)],
            leaves: vec![presence(5), presence(6)],
        }),
        Outgoing::MatchData(MatchData {
            match_id: "m.1".into(),
            presence: presence(7),
            op_code: i64::MAX,
            data: Bytes::from_static(&[0, 1, 2, 3, 255]),
            reliable: true,
        }),
        Outgoing::MatchData(MatchData::default()),
        Outgoing::Status(StatusOut {
            presences: vec![presence(3), presence(9)],
        }),
        Outgoing::Status(StatusOut::default()),
        Outgoing::Rpc(RpcOut {
            id: "clientrpc.echo".into(),
            payload: "{\"a\":1}".into(),
        }),
        Outgoing::Rpc(RpcOut::default()),
        Outgoing::StatusPresenceEvent(StatusPresenceEvent {
            joins: vec![presence(3)],
            leaves: vec![presence(6)],
        }),
        Outgoing::StreamData(kairos_schema::rtapi::StreamData {
            stream: kairos_schema::rtapi::Stream {
                mode: 20,
                subject: "s".into(),
                subcontext: "c".into(),
                label: "l".into(),
            },
            sender: Some(presence(2)),
            data: "{\"hp\":3}".into(),
            reliable: true,
        }),
        Outgoing::StreamData(Default::default()),
        Outgoing::StreamPresenceEvent(kairos_schema::rtapi::StreamPresenceEvent {
            stream: kairos_schema::rtapi::Stream {
                mode: 255,
                label: "room".into(),
                ..Default::default()
            },
            joins: vec![presence(3)],
            leaves: vec![presence(4), presence(5)],
        }),
        Outgoing::StreamPresenceEvent(Default::default()),
        Outgoing::Channel(ChannelOut {
            id: "2...lobby".into(),
            presences: vec![presence(1), presence(2)],
            self_: presence(2),
            room_name: "lobby".into(),
            group_id: "g".into(),
            user_id_one: "u1".into(),
            user_id_two: "u2".into(),
        }),
        Outgoing::ChannelMessageAck(ChannelMessageAck {
            channel_id: "2...lobby".into(),
            message_id: "m1".into(),
            code: 7,
            username: "alice".into(),
            create_time: "2026-01-02T03:04:05Z".into(),
            update_time: "2026-01-02T03:04:06Z".into(),
            persistent: true,
            room_name: "lobby".into(),
            group_id: "g".into(),
            user_id_one: "u1".into(),
            user_id_two: "u2".into(),
        }),
        Outgoing::ChannelMessage(ChannelMessage {
            channel_id: "4.u1.u2..".into(),
            message_id: "m2".into(),
            code: -1,
            sender_id: "u1".into(),
            username: "alice".into(),
            content: r#"{"a":1}"#.into(),
            create_time: "2026-01-02T03:04:05Z".into(),
            update_time: "2026-01-02T03:04:05Z".into(),
            persistent: true,
            room_name: "r".into(),
            group_id: "g".into(),
            user_id_one: "u1".into(),
            user_id_two: "u2".into(),
        }),
        Outgoing::ChannelPresenceEvent(ChannelPresenceEvent {
            channel_id: "2...lobby".into(),
            joins: vec![presence(1)],
            leaves: vec![presence(2)],
            room_name: "lobby".into(),
            group_id: "g".into(),
            user_id_one: "u1".into(),
            user_id_two: "u2".into(),
        }),
        Outgoing::Notifications(NotificationsOut {
            notifications: vec![
                Notification {
                    id: "n1".into(),
                    subject: "hi".into(),
                    content: "{}".into(),
                    code: -2,
                    sender_id: "u1".into(),
                    create_time: "2026-01-02T03:04:05Z".into(),
                    persistent: true,
                },
                Notification::default(),
            ],
        }),
        Outgoing::Notifications(NotificationsOut::default()),
        Outgoing::Party(PartyOut {
            party_id: "p.kairos".into(),
            open: true,
            hidden: true,
            max_size: 4,
            self_: presence(2),
            leader: presence(1),
            presences: vec![presence(1), presence(2)],
            label: r#"{"mode":"duo"}"#.into(),
        }),
        Outgoing::Party(PartyOut::default()),
        Outgoing::PartyLeader(PartyLeader {
            party_id: "p.kairos".into(),
            presence: presence(5),
        }),
        Outgoing::PartyClose(PartyRef {
            party_id: "p.kairos".into(),
        }),
        Outgoing::PartyJoinRequest(PartyJoinRequest {
            party_id: "p.kairos".into(),
            presences: vec![presence(7)],
        }),
        Outgoing::PartyJoinRequest(PartyJoinRequest::default()),
        Outgoing::PartyData(PartyData {
            party_id: "p.kairos".into(),
            presence: presence(1),
            op_code: 9,
            data: Bytes::from_static(b"state"),
        }),
        Outgoing::PartyData(PartyData::default()),
        Outgoing::PartyPresenceEvent(PartyPresenceEvent {
            party_id: "p.kairos".into(),
            joins: vec![presence(1)],
            leaves: vec![presence(2)],
        }),
        Outgoing::PartyUpdate(PartyUpdate {
            party_id: "p.kairos".into(),
            label: "{}".into(),
            open: true,
            hidden: false,
        }),
        Outgoing::MatchmakerTicket(MatchmakerTicket {
            ticket: "t1".into(),
        }),
        Outgoing::PartyMatchmakerTicket(PartyMatchmakerTicket {
            party_id: "p.kairos".into(),
            ticket: "t1".into(),
        }),
        Outgoing::MatchmakerMatched(MatchmakerMatched {
            ticket: "t1".into(),
            match_id: String::new(),
            token: "tok".into(),
            users: vec![
                MatchmakerUser {
                    presence: presence(1),
                    party_id: "p".into(),
                    string_properties: BTreeMap::from([("mode".into(), "ranked".into())]),
                    numeric_properties: BTreeMap::from([("skill".into(), 3.25)]),
                },
                MatchmakerUser::default(),
            ],
            self_: MatchmakerUser {
                presence: presence(1),
                ..Default::default()
            },
        }),
        Outgoing::MatchmakerMatched(MatchmakerMatched {
            ticket: "t2".into(),
            match_id: "m.kairos".into(),
            ..Default::default()
        }),
    ]
}

/// Nakama's name of a modeled client message.
fn name_of(m: &Incoming) -> &'static str {
    match m {
        Incoming::Ping => "ping",
        Incoming::Pong => "pong",
        Incoming::MatchCreate(_) => "match_create",
        Incoming::MatchJoin(_) => "match_join",
        Incoming::MatchLeave(_) => "match_leave",
        Incoming::MatchDataSend(_) => "match_data_send",
        Incoming::StatusFollow(_) => "status_follow",
        Incoming::StatusUnfollow(_) => "status_unfollow",
        Incoming::StatusUpdate(_) => "status_update",
        Incoming::Rpc(_) => "rpc",
        Incoming::ChannelJoin(_) => "channel_join",
        Incoming::ChannelLeave(_) => "channel_leave",
        Incoming::ChannelMessageSend(_) => "channel_message_send",
        Incoming::ChannelMessageUpdate(_) => "channel_message_update",
        Incoming::ChannelMessageRemove(_) => "channel_message_remove",
        Incoming::PartyCreate(_) => "party_create",
        Incoming::PartyJoin(_) => "party_join",
        Incoming::PartyLeave(_) => "party_leave",
        Incoming::PartyPromote(_) => "party_promote",
        Incoming::PartyAccept(_) => "party_accept",
        Incoming::PartyRemove(_) => "party_remove",
        Incoming::PartyClose(_) => "party_close",
        Incoming::PartyJoinRequestList(_) => "party_join_request_list",
        Incoming::PartyDataSend(_) => "party_data_send",
        Incoming::PartyUpdate(_) => "party_update",
        Incoming::MatchmakerAdd(_) => "matchmaker_add",
        Incoming::MatchmakerRemove(_) => "matchmaker_remove",
        Incoming::PartyMatchmakerAdd(_) => "party_matchmaker_add",
        Incoming::PartyMatchmakerRemove(_) => "party_matchmaker_remove",
        Incoming::Unhandled(name) => name,
    }
}

#[test]
fn every_request_round_trips() {
    for message in requests() {
        for cid in ["", "42"] {
            let buf = Bytes::from(encode_request(cid, &message));
            let back = decode(&buf).unwrap_or_else(|e| panic!("{message:?}: {e:?}"));
            assert_eq!(
                back,
                Envelope {
                    cid: cid.into(),
                    message: message.clone()
                }
            );
        }
    }
}

#[test]
fn every_reply_round_trips() {
    for message in replies() {
        for cid in ["", "7"] {
            let back = decode_outgoing(&encode(cid, &message))
                .unwrap_or_else(|e| panic!("{message:?}: {e:?}"));
            assert_eq!(
                back,
                ServerEnvelope {
                    cid: cid.into(),
                    message: Some(message.clone())
                }
            );
        }
    }
}

#[test]
fn every_nakama_client_message_is_named() {
    for &name in CLIENT_MESSAGES {
        let buf = Bytes::from(encode_request("1", &Incoming::Unhandled(name)));
        let e = decode(&buf).unwrap_or_else(|e| panic!("{name}: {e:?}"));
        assert_eq!(name_of(&e.message), name);
        let modeled = !matches!(e.message, Incoming::Unhandled(_));
        // Modeled messages round-trip through their own variant above; the
        // rest come back as `Unhandled` with the same static name.
        assert_eq!(
            modeled,
            requests().iter().any(|r| name_of(r) == name),
            "{name}"
        );
    }
    // A name Nakama doesn't have: no message at all.
    let buf = Bytes::from(encode_request("1", &Incoming::Unhandled("nope")));
    assert_eq!(decode(&buf).unwrap_err().code, ErrorCode::MissingPayload);
}

#[test]
fn empty_reply_is_a_cid_alone() {
    let buf = encode_empty_reply("4");
    assert_eq!(
        decode_outgoing(&buf).unwrap(),
        ServerEnvelope {
            cid: "4".into(),
            message: None
        }
    );
    assert_eq!(
        decode(&Bytes::from(buf)).unwrap_err().code,
        ErrorCode::MissingPayload
    );
    let root = encode_empty_reply("");
    assert_eq!(decode_outgoing(&root).unwrap().cid, "");
}

#[test]
fn match_data_is_sliced_from_the_receive_buffer() {
    let payload: Vec<u8> = (0..=255).collect();
    let buf = Bytes::from(encode_request(
        "",
        &Incoming::MatchDataSend(MatchDataSend {
            match_id: "m.1".into(),
            op_code: 3,
            data: Bytes::from(payload.clone()),
            ..Default::default()
        }),
    ));
    let Incoming::MatchDataSend(m) = decode(&buf).unwrap().message else {
        panic!("not match data")
    };
    assert_eq!(m.data, payload);
    let range = buf.as_ptr_range();
    let data = m.data.as_ptr_range();
    assert!(
        range.start <= data.start && data.end <= range.end,
        "data {data:?} is not inside the buffer {range:?}"
    );
    // Dropping the buffer keeps the data alive: it shares the allocation.
    drop(buf);
    assert_eq!(m.data, payload);
}

#[test]
fn server_messages_and_garbage_are_unrecognized() {
    let unrecognized = |buf: &[u8]| {
        let e = decode(&Bytes::copy_from_slice(buf)).unwrap_err();
        assert_eq!(e.code, ErrorCode::UnrecognizedPayload, "{buf:?}: {e:?}");
        e.message
    };
    // A server-only message sent by a client.
    let msg = unrecognized(&encode("1", &Outgoing::MatchData(MatchData::default())));
    assert!(
        msg.contains("`match_data` is not a client message"),
        "{msg}"
    );
    // Truncated, empty, and random bytes.
    unrecognized(&[]);
    unrecognized(&[1, 2, 3]);
    unrecognized(&[0xff; 64]);
    let good = encode_request("12", &Incoming::Ping);
    for len in 0..good.len() {
        if let Ok(e) = decode(&Bytes::copy_from_slice(&good[..len])) {
            panic!("{len} bytes of {good:?} decoded to {e:?}");
        }
    }
    // A union tag from a newer schema.
    let mut newer = good.clone();
    let tag = newer
        .iter()
        .position(|&b| b == 31)
        .expect("ping's union tag");
    newer[tag] = 200;
    unrecognized(&newer);
    // A string that is not UTF-8.
    let mut bad = encode_request("\u{e9}\u{e9}", &Incoming::Ping);
    let at = bad.windows(2).position(|w| w == [0xc3, 0xa9]).unwrap();
    bad[at] = 0xff;
    unrecognized(&bad);
    // On the client side, a client message is no server message.
    let e = decode_outgoing(&encode_request("", &Incoming::Ping)).unwrap_err();
    assert_eq!(e.code, ErrorCode::UnrecognizedPayload);
    assert!(e.message.contains("`ping`"), "{}", e.message);
    let e = decode_outgoing(&encode_request(
        "",
        &Incoming::MatchLeave(MatchLeave::default()),
    ));
    assert!(e.unwrap_err().message.contains("`match_leave`"));
}

/// xorshift64*: deterministic, so a failure reproduces.
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

#[test]
fn mutated_truncated_and_random_buffers_never_panic() {
    let mut seeds: Vec<Vec<u8>> = requests().iter().map(|m| encode_request("9", m)).collect();
    seeds.extend(replies().iter().map(|m| encode("9", m)));
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let (mut ok, mut refused) = (0u32, 0u32);
    for round in 0..40_000 {
        let mut buf = seeds[round % seeds.len()].clone();
        match rng.below(4) {
            // Flip a few bytes.
            0 | 1 => {
                for _ in 0..=rng.below(4) {
                    let at = rng.below(buf.len());
                    buf[at] = rng.next() as u8;
                }
            }
            // Truncate.
            2 => buf.truncate(rng.below(buf.len())),
            // Pure noise, with now and then a plausible root offset.
            _ => {
                buf = (0..rng.below(96)).map(|_| rng.next() as u8).collect();
                if buf.len() > 4 && rng.below(2) == 0 {
                    let root = rng.below(buf.len()) as u32;
                    buf[..4].copy_from_slice(&root.to_le_bytes());
                }
            }
        }
        let server = decode(&Bytes::from(buf.clone()));
        let client = decode_outgoing(&buf);
        match server {
            Ok(_) => ok += 1,
            Err(e) => {
                assert!(
                    matches!(
                        e.code,
                        ErrorCode::UnrecognizedPayload | ErrorCode::MissingPayload
                    ),
                    "{e:?}"
                );
                refused += 1;
            }
        }
        // The client side must also only answer, never panic.
        let _ = client;
        // A mutated buffer that still decodes re-encodes and decodes the same.
        if let Ok(Envelope { cid, message }) = decode(&Bytes::from(buf)) {
            let again = decode(&Bytes::from(encode_request(&cid, &message))).unwrap();
            assert_eq!(again.message, message);
        }
    }
    // Both outcomes were exercised.
    assert!(ok > 300 && refused > 1_000, "ok {ok}, refused {refused}");
}

/// The exact bytes, so a change to the schema's layout or to the encoder
/// shows here. These were checked once with code generated by Google's
/// flatc 25.12.19: its C++ `VerifyEnvelopeBuffer` accepts them and its
/// C++, Python and TypeScript readers see the same fields.
#[test]
fn golden_bytes() {
    let pong = encode("1", &Outgoing::Pong {});
    assert_eq!(hex(&pong), GOLDEN_PONG);
    let data = encode(
        "",
        &Outgoing::MatchData(MatchData {
            match_id: "m.1".into(),
            presence: UserPresence {
                user_id: "u".into(),
                session_id: "s".into(),
                username: "n".into(),
                ..Default::default()
            },
            op_code: 1,
            data: Bytes::from_static(b"hello"),
            reliable: true,
        }),
    );
    assert_eq!(hex(&data), GOLDEN_MATCH_DATA);
    let send = encode_request(
        "7",
        &Incoming::MatchDataSend(MatchDataSend {
            match_id: "m.1".into(),
            op_code: 2,
            data: Bytes::from_static(b"hi"),
            presences: Vec::new(),
            reliable: false,
        }),
    );
    assert_eq!(hex(&send), GOLDEN_MATCH_DATA_SEND);
    let join = encode_request(
        "",
        &Incoming::ChannelJoin(ChannelJoin {
            target: "lobby".into(),
            kind: 1,
            persistence: Some(false),
            hidden: None,
        }),
    );
    assert_eq!(hex(&join), GOLDEN_CHANNEL_JOIN);
    assert_eq!(hex(&encode_empty_reply("4")), GOLDEN_EMPTY_REPLY);
}

const GOLDEN_PONG: &str = concat!(
    "04000000f2ffffff140000001800000020000a000d0004000c00080001000000",
    "31000000fcffffff04000400",
);
const GOLDEN_MATCH_DATA: &str = concat!(
    "0800000000000000f6ffffff100000000d000a000900000008000400e6ffffff",
    "0100000000000000280000002c0000001400000001000e0019000c0010000400",
    "140018000500000068656c6c6f000000030000006d2e3100eeffffff28000000",
    "1c0000001000000000000a001000040008000c00010000006e00000001000000",
    "73000000010000007500",
);
const GOLDEN_MATCH_DATA_SEND: &str = concat!(
    "04000000f2ffffff14000000180000000e000a000d0004000c00080001000000",
    "37000000eaffffff02000000000000001c0000001000000000000a0014000c00",
    "040010000200000068690000030000006d2e3100",
);
const GOLDEN_CHANNEL_JOIN: &str = concat!(
    "04000000f6ffffff1000000002000a000900000008000400f2ffffff14000000",
    "0100000000000a000d00040008000c00050000006c6f62627900",
);
const GOLDEN_EMPTY_REPLY: &str = "04000000f6ffffff0c0000000000060008000400010000003400";

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[test]
fn union_tags_are_nakama_field_numbers_minus_one() {
    let mut b = planus::Builder::new();
    let tags = [
        (
            fb::Message::create_channel(&mut b, fb::Channel::default()).tag(),
            2,
        ),
        (
            fb::Message::create_error(&mut b, fb::Error::default()).tag(),
            11,
        ),
        (
            fb::Message::create_match_data_send(&mut b, fb::MatchDataSend::default()).tag(),
            15,
        ),
        (
            fb::Message::create_rpc(&mut b, fb::Rpc::default()).tag(),
            24,
        ),
        (
            fb::Message::create_ping(&mut b, fb::Ping::default()).tag(),
            32,
        ),
        (
            fb::Message::create_pong(&mut b, fb::Pong::default()).tag(),
            33,
        ),
        (
            fb::Message::create_party(&mut b, fb::Party::default()).tag(),
            34,
        ),
        (
            fb::Message::create_party_update(&mut b, fb::PartyUpdate::default()).tag(),
            51,
        ),
    ];
    for (tag, nakama_field) in tags {
        assert_eq!(u32::from(tag) + 1, nakama_field);
    }
}

/// The same request in JSON and in FlatBuffers decodes to the same value.
#[test]
fn agrees_with_the_json_decoder() {
    let cases: Vec<(&str, Incoming)> = vec![
        (r#"{"cid":"1","ping":{}}"#, Incoming::Ping),
        (
            r#"{"cid":"1","channel_join":{"target":"lobby","type":1,"persistence":false}}"#,
            Incoming::ChannelJoin(ChannelJoin {
                target: "lobby".into(),
                kind: 1,
                persistence: Some(false),
                hidden: None,
            }),
        ),
        (
            r#"{"cid":"1","channel_join":{"target":"x","type":2,"hidden":true}}"#,
            Incoming::ChannelJoin(ChannelJoin {
                target: "x".into(),
                kind: 2,
                persistence: None,
                hidden: Some(true),
            }),
        ),
        (
            r#"{"cid":"1","status_update":{}}"#,
            Incoming::StatusUpdate(StatusUpdate { status: None }),
        ),
        (
            r#"{"cid":"1","status_update":{"status":""}}"#,
            Incoming::StatusUpdate(StatusUpdate {
                status: Some(String::new()),
            }),
        ),
        (
            r#"{"cid":"1","match_data_send":{"match_id":"m.","op_code":"7","data":"aGVsbG8=","presences":[{"user_id":"u","session_id":"s","username":"n"}],"reliable":true}}"#,
            Incoming::MatchDataSend(MatchDataSend {
                match_id: "m.".into(),
                op_code: 7,
                data: Bytes::from_static(b"hello"),
                presences: vec![UserPresence {
                    user_id: "u".into(),
                    session_id: "s".into(),
                    username: "n".into(),
                    ..Default::default()
                }],
                reliable: true,
            }),
        ),
        (
            r#"{"cid":"1","match_join":{"match_id":"m.","metadata":{"k":"v"}}}"#,
            Incoming::MatchJoin(MatchJoin {
                match_id: "m.".into(),
                token: String::new(),
                metadata: BTreeMap::from([("k".into(), "v".into())]),
            }),
        ),
        (
            r#"{"cid":"1","party_create":{"open":true,"max_size":"4","label":"{}"}}"#,
            Incoming::PartyCreate(PartyCreate {
                open: true,
                max_size: 4,
                label: "{}".into(),
                hidden: false,
            }),
        ),
        (
            r#"{"cid":"1","party_leave":{"party_id":"p"}}"#,
            Incoming::PartyLeave(PartyRef {
                party_id: "p".into(),
            }),
        ),
        (
            r#"{"cid":"1","party_promote":{"party_id":"p","presence":{"user_id":"u","session_id":"s","username":"n"}}}"#,
            Incoming::PartyPromote(PartyMember {
                party_id: "p".into(),
                presence: UserPresence {
                    user_id: "u".into(),
                    session_id: "s".into(),
                    username: "n".into(),
                    ..Default::default()
                },
            }),
        ),
        (
            r#"{"cid":"1","party_data_send":{"party_id":"p","op_code":"2","data":"aGk="}}"#,
            Incoming::PartyDataSend(PartyDataSend {
                party_id: "p".into(),
                op_code: 2,
                data: Bytes::from_static(b"hi"),
            }),
        ),
        (
            r#"{"cid":"1","party_matchmaker_add":{"party_id":"p","min_count":2,"max_count":4,"count_multiple":2}}"#,
            Incoming::PartyMatchmakerAdd(PartyMatchmakerAdd {
                party_id: "p".into(),
                min_count: 2,
                max_count: 4,
                count_multiple: Some(2),
                ..Default::default()
            }),
        ),
    ];
    for (json, message) in cases {
        let from_json = Envelope::from_json(json.as_bytes()).unwrap();
        let from_flat = decode(&Bytes::from(encode_request("1", &message))).unwrap();
        assert_eq!(from_json, from_flat, "{json}");
    }
    let missing_json = Envelope::from_json(br#"{"cid":"1"}"#).unwrap_err();
    let missing_flat = decode(&Bytes::from(encode_empty_reply("1"))).unwrap_err();
    assert_eq!(missing_json, missing_flat);
}

#[test]
fn the_reused_builder_leaves_nothing_behind() {
    let small = Outgoing::MatchData(MatchData {
        match_id: "m.1".into(),
        data: Bytes::from_static(b"x"),
        ..Default::default()
    });
    let first = encode("1", &small);
    // A big message (past the size a builder is kept at) in between.
    let big = Outgoing::MatchData(MatchData {
        data: Bytes::from(vec![7u8; 2 << 20]),
        ..Default::default()
    });
    let big_bytes = encode("", &big);
    assert_eq!(decode_outgoing(&big_bytes).unwrap().message, Some(big));
    assert_eq!(encode("1", &small), first);
    for m in replies() {
        encode("3", &m);
    }
    assert_eq!(encode("1", &small), first);
    // Other threads have their own builder and get the same bytes.
    let other = std::thread::spawn(move || encode("1", &small))
        .join()
        .unwrap();
    assert_eq!(other, first);
}

#[test]
fn module_paths_are_public() {
    // The generated tables are reachable for messages Kairos doesn't model.
    let buf = encode("5", &Outgoing::Pong {});
    let env = <fb::EnvelopeRef as planus::ReadAsRoot>::read_as_root(&buf).unwrap();
    assert_eq!(env.cid().unwrap(), Some("5"));
    let owned = fb::Envelope::try_from(env).unwrap();
    assert!(matches!(owned.message, Some(fb::Message::Pong(_))));
    let _ = flat::fb::ErrorCode::BadInput;
}

/// Envelopes written by the Python code that Google's flatc 25.12.19
/// generates from `realtime.fbs`: its builder lays tables out differently
/// from planus, and these must decode all the same.
#[test]
fn decodes_what_flatc_generated_code_writes() {
    let cases = [
        (
            concat!(
                "1000000000000a0010000c000b0004000a000000240000000000000e04000000",
                "020000006331000000000e001c00180010000c00080007000e00000000000001",
                "1400000060000000fbffffffffffffff60000000010000001400000000000e00",
                "1800140010000c000b0004000e00000014000000000000011400000018000000",
                "1c000000000000000000000002000000616c0000020000007331000002000000",
                "75310000050000000062696eff000000030000006d2e3900",
            ),
            Envelope {
                cid: "c1".into(),
                message: Incoming::MatchDataSend(MatchDataSend {
                    match_id: "m.9".into(),
                    op_code: -5,
                    data: Bytes::from_static(b"\x00bin\xff"),
                    presences: vec![UserPresence {
                        user_id: "u1".into(),
                        session_id: "s1".into(),
                        username: "al".into(),
                        persistence: true,
                        status: Some(String::new()),
                    }],
                    reliable: true,
                }),
            },
        ),
        (
            concat!(
                "1000000000000a000c0000000b0004000a00000014000000000000020c001000",
                "0c000800070006000c000000000001000100000004000000050000006c6f6262",
                "79000000",
            ),
            Envelope {
                cid: String::new(),
                message: Incoming::ChannelJoin(ChannelJoin {
                    target: "lobby".into(),
                    kind: 1,
                    persistence: Some(false),
                    hidden: Some(true),
                }),
            },
        ),
        (
            concat!(
                "1000000000000a0010000c000b0004000a000000180000000000001f04000000",
                "01000000370000000400040004000000",
            ),
            Envelope {
                cid: "7".into(),
                message: Incoming::Ping,
            },
        ),
    ];
    for (hex, want) in cases {
        let buf = Bytes::from(unhex(hex));
        assert_eq!(decode(&buf).unwrap(), want);
    }
}

fn unhex(h: &str) -> Vec<u8> {
    (0..h.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&h[i..i + 2], 16).unwrap())
        .collect()
}

/// FlatBuffers offsets may alias: many entries can point at one string.
/// Decoding copies strings, so a small hostile frame must not expand into
/// a huge allocation; modest sharing (as flatc's shared strings) is fine.
#[test]
fn aliased_strings_cannot_blow_up_a_small_buffer() {
    let follow = |copies: usize, len: usize| {
        let mut b = planus::Builder::new();
        let s = b.create_string("x".repeat(len).as_str());
        let ids = b.create_vector(vec![s; copies].as_slice());
        let m = fb::StatusFollow::create(&mut b, ids, ());
        let m = fb::Message::create_status_follow(&mut b, m);
        let env = fb::Envelope::create(&mut b, (), m);
        Bytes::copy_from_slice(b.finish(env, None))
    };
    let shared = follow(4, 1000);
    let Incoming::StatusFollow(f) = decode(&shared).unwrap().message else {
        panic!("not a follow")
    };
    assert_eq!(f.user_ids.len(), 4);
    let hostile = follow(1000, 3000);
    assert!(hostile.len() < 8000, "{}", hostile.len());
    let e = decode(&hostile).unwrap_err();
    assert_eq!(e.code, ErrorCode::UnrecognizedPayload);
    assert!(e.message.contains("shared too often"), "{}", e.message);

    // The same through presences, on both sides.
    let mut b = planus::Builder::new();
    let p = fb::UserPresence::create(&mut b, "u", "s", "y".repeat(3000).as_str(), false, ());
    let ps = b.create_vector(vec![p; 1000].as_slice());
    let m = fb::MatchDataSend::create(&mut b, "m", 0, (), ps, false);
    let m = fb::Message::create_match_data_send(&mut b, m);
    let env = fb::Envelope::create(&mut b, (), m);
    let hostile = Bytes::copy_from_slice(b.finish(env, None));
    assert!(
        decode(&hostile)
            .unwrap_err()
            .message
            .contains("shared too often")
    );
    let mut b = planus::Builder::new();
    let p = fb::UserPresence::create(&mut b, "u", "s", "y".repeat(3000).as_str(), false, ());
    let ps = b.create_vector(vec![p; 1000].as_slice());
    let m = fb::Status::create(&mut b, ps);
    let m = fb::Message::create_status(&mut b, m);
    let env = fb::Envelope::create(&mut b, (), m);
    let e = decode_outgoing(b.finish(env, None)).unwrap_err();
    assert!(e.message.contains("shared too often"), "{}", e.message);
}
