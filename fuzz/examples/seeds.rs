//! Writes the seed corpora, `fuzz/seeds/<target>/`, from the inputs the
//! tests use: request bodies, query strings, realtime envelopes (each in
//! the three encodings, through the crates' own encoders), WebSocket frames
//! and handshakes, netcode packets (the hostile tests' crafted packets and
//! renet's own), a QUIC client's first flight, tokens and config files.
//!
//! `cargo +nightly run --manifest-path fuzz/Cargo.toml --example seeds`
//! (from the repository root; it replaces the generated files, and keeps
//! the others, such as crash regressions).

use std::collections::BTreeMap;
use std::fs;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use kairos_core::channel::MessageCursor;
use kairos_core::config::{ConfigBuilder, SessionConfig};
use kairos_core::cursor;
use kairos_core::friend::{FofCursor, FriendCursor};
use kairos_core::notification::NotificationCursor;
use kairos_core::session::SessionIssuer;
use kairos_net::quic::{ClientTls, QuicClient, QuicConfig};
use kairos_net::rudp::{Channel, RudpConfig};
use kairos_net::ws::{OpCode, encode_frame};
use kairos_schema::rtapi::{self, Envelope, ErrorCode, Outgoing};
use kairos_schema::{api, flat, proto};
use renet::{ChannelConfig, ConnectionConfig, RenetClient, SendType};
use uuid::Uuid;

/// Same clock as the targets.
const NOW: i64 = 1_760_000_000;

struct Seeds {
    dir: PathBuf,
}

impl Seeds {
    fn target(name: &str) -> Self {
        let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("seeds")
            .join(name);
        fs::create_dir_all(&dir).expect("seed directory");
        Seeds { dir }
    }

    fn put(&self, name: &str, bytes: impl AsRef<[u8]>) {
        fs::write(self.dir.join(name), bytes).expect("seed written");
    }
}

/// The realtime envelopes of the tests (schema, shards and tests/).
const ENVELOPES: &[&str] = &[
    r#"{"cid":"7","ping":{}}"#,
    r#"{"cid":"1","pong":{}}"#,
    r#"{"cid":"2","match_create":{}}"#,
    r#"{"cid":"2","match_create":{"name":"arena"}}"#,
    r#"{"cid":"3","match_join":{"match_id":"0193a1b2-0000-7000-8000-000000000001.","metadata":{"k":"v"}}}"#,
    r#"{"match_join":{"token":"tok"}}"#,
    r#"{"cid":"4","match_leave":{"match_id":"0193a1b2-0000-7000-8000-000000000001."}}"#,
    r#"{"match_data_send":{"match_id":"m.","op_code":"7","data":"aGVsbG8=","presences":[{"user_id":"u","session_id":"s","username":"n"}],"reliable":true}}"#,
    r#"{"match_data_send":{"match_id":"m.","op_code":3,"data":"aGk"}}"#,
    r#"{"cid":"5","status_follow":{"user_ids":["0193a1b2-0000-7000-8000-000000000002"],"usernames":["bob"]}}"#,
    r#"{"status_unfollow":{"userIds":["0193a1b2-0000-7000-8000-000000000002"]}}"#,
    r#"{"status_update":{"status":"busy"}}"#,
    r#"{"cid":"2","status_update":{}}"#,
    r#"{"cid":"1","channel_join":{"target":"lobby","type":1,"persistence":false}}"#,
    r#"{"channel_join":{"target":"x","type":"2","hidden":true}}"#,
    r#"{"channel_leave":{"channel_id":"2...lobby"}}"#,
    r#"{"channel_message_send":{"channel_id":"2...lobby","content":"{\"a\":1}"}}"#,
    r#"{"channel_message_update":{"channel_id":"2...lobby","message_id":"0193a1b2-0000-7000-8000-000000000003","content":"{\"b\":2}"}}"#,
    r#"{"channel_message_remove":{"channelId":"2...lobby","messageId":"0193a1b2-0000-7000-8000-000000000003"}}"#,
    r#"{"cid":"2","party_create":{}}"#,
    r#"{"cid":"1","nonsense":{}}"#,
    r#"{"cid":"1"}"#,
    r#"{"ping":{},"pong":{}}"#,
    r#"{"match_join":{"match_id":"x","bogus":1}}"#,
    r#"{"match_data_send":{"data":"!!"}}"#,
    r#"{"cid":"1","ping":"#,
];

/// Server envelopes, for the clients' decoders.
fn outgoing() -> Vec<(&'static str, Outgoing)> {
    vec![
        ("pong", Outgoing::Pong {}),
        ("error", Outgoing::error(ErrorCode::BadInput, "bad input")),
        (
            "match_data",
            Outgoing::MatchData(rtapi::MatchData {
                match_id: "0193a1b2-0000-7000-8000-000000000001.".into(),
                presence: rtapi::UserPresence {
                    user_id: "u".into(),
                    session_id: "s".into(),
                    username: "n".into(),
                    ..Default::default()
                },
                op_code: 7,
                data: Bytes::from_static(b"hello"),
                reliable: true,
            }),
        ),
        (
            "channel_message",
            Outgoing::ChannelMessage(api::ChannelMessage {
                channel_id: "2...lobby".into(),
                message_id: "0193a1b2-0000-7000-8000-000000000003".into(),
                content: "{\"a\":1}".into(),
                create_time: "2026-01-01T00:00:00Z".into(),
                update_time: "2026-01-01T00:00:00Z".into(),
                ..Default::default()
            }),
        ),
    ]
}

fn envelopes() {
    let (json, pb, fb) = (
        Seeds::target("rt_json"),
        Seeds::target("rt_proto"),
        Seeds::target("rt_flat"),
    );
    for (i, text) in ENVELOPES.iter().enumerate() {
        json.put(&format!("envelope-{i:02}"), text);
        if let Ok(Envelope { cid, message }) = Envelope::from_json(text.as_bytes()) {
            pb.put(
                &format!("envelope-{i:02}"),
                proto::encode_request(&cid, &message),
            );
            fb.put(
                &format!("envelope-{i:02}"),
                flat::encode_request(&cid, &message),
            );
        }
    }
    for (name, message) in outgoing() {
        pb.put(&format!("server-{name}"), proto::encode("9", &message));
        fb.put(&format!("server-{name}"), flat::encode("9", &message));
    }
    pb.put("server-empty-reply", proto::encode_empty_reply("9"));
    fb.put("server-empty-reply", flat::encode_empty_reply("9"));
}

fn http_json() {
    let s = Seeds::target("http_json");
    let bodies: &[(u8, &str, &str)] = &[
        (
            0,
            "device",
            r#"{"id":"device-0123456789","vars":{"k":"v"}}"#,
        ),
        (
            0,
            "device-camel",
            r#"{"id":"device-0123456789","vars":null}"#,
        ),
        (0, "device-short", r#"{"id":"short"}"#),
        (0, "empty", " \n"),
        (1, "custom", r#"{"id":"custom-123456"}"#),
        (
            2,
            "email",
            r#"{"email":"Someone@Example.com","password":"password1","vars":{}}"#,
        ),
        (
            2,
            "email-bad",
            r#"{"email":"no-at-sign","password":"short"}"#,
        ),
        (3, "refresh", r#"{"token":"a.b.c","vars":{"x":"y"}}"#),
        (4, "logout", r#"{"token":"a.b.c","refreshToken":"d.e.f"}"#),
        (
            5,
            "update",
            r#"{"username":"newname","display_name":"Dee","avatarUrl":"http://a/b.png","lang_tag":"","location":"here","timezone":"UTC"}"#,
        ),
        (
            5,
            "update-bad",
            r#"{"username":"a b\u0001","langTag":"xxxxxxxxxxxxxxxxxxxxxxxxxx"}"#,
        ),
    ];
    for (route, name, body) in bodies {
        let mut seed = vec![*route];
        seed.extend_from_slice(body.as_bytes());
        s.put(name, seed);
    }
}

/// Percent-encodes a query value.
fn escape(value: &str) -> String {
    value
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

fn query_string() {
    let s = Seeds::target("query_string");
    let id = Uuid::from_u128(0x0193_a1b2_0000_7000_8000_0000_0000_0003);
    let message = cursor::encode(&MessageCursor {
        channel: "2...lobby".into(),
        create_time: 1_760_000_000_000,
        id,
        forward: true,
        is_next: true,
    });
    let friend = cursor::encode(&FriendCursor {
        state: 0,
        position: 42,
        user: id,
    });
    let fof = FofCursor {
        referrer: id,
        user: id,
    }
    .encode();
    let notification = NotificationCursor {
        create_time: 1_760_000_000_000,
        id,
    }
    .encode();
    s.put(
        "query-test",
        "2...a+b%20c%2B\ncreate=false&username=b%C3%B6b+x&ids=a&ids=b&bad=%zz&tail=%4",
    );
    s.put(
        "channel-history",
        format!(
            "2...lobby\nlimit=10&forward=true&cursor={}",
            escape(&message)
        ),
    );
    s.put(
        "friends",
        format!("\nlimit=5&state=0&cursor={}", escape(&friend)),
    );
    s.put("friends-of-friends", format!("\ncursor={}", escape(&fof)));
    s.put(
        "notifications",
        format!("\nlimit=100&cacheable_cursor={}", escape(&notification)),
    );
    s.put(
        "friend-add",
        format!("\nids={id}&usernames=bob&metadata=%7B%22a%22%3A1%7D"),
    );
    s.put("direct", "4...0193a1b2-0000-7000-8000-000000000001...0193a1b2-0000-7000-8000-000000000002\nforward=f");
}

fn ws_frames() {
    let s = Seeds::target("ws_frames");
    let mask = Some([0x37, 0xfa, 0x21, 0x3d]);
    let frames: &[(&str, OpCode, bool, &[u8])] = &[
        ("text", OpCode::Text, true, b"{\"cid\":\"1\",\"ping\":{}}"),
        ("binary", OpCode::Binary, true, &[1, 2, 3]),
        ("ping", OpCode::Ping, true, b"hb"),
        ("pong", OpCode::Pong, true, b"p"),
        (
            "close",
            OpCode::Close,
            true,
            &[0x03, 0xE8, b'b', b'y', b'e'],
        ),
        ("close-empty", OpCode::Close, true, &[]),
    ];
    for (role, flags, mask) in [("server", 0b100u8, mask), ("client", 0b101, None)] {
        for (name, opcode, fin, payload) in frames {
            let mut stream = BytesMut::new();
            encode_frame(&mut stream, *opcode, *fin, payload, mask);
            let mut seed = vec![flags, 7];
            seed.extend_from_slice(&stream);
            s.put(&format!("{role}-{name}"), seed);
        }
        // A fragmented text message with a ping between its fragments, then
        // a message of 70 000 bytes (64-bit length) and a close.
        let mut stream = BytesMut::new();
        encode_frame(&mut stream, OpCode::Text, false, "hél".as_bytes(), mask);
        encode_frame(&mut stream, OpCode::Ping, true, b"x", mask);
        encode_frame(&mut stream, OpCode::Continuation, true, b"lo", mask);
        encode_frame(&mut stream, OpCode::Binary, true, &[0xAB; 300], mask);
        encode_frame(&mut stream, OpCode::Close, true, &[0x03, 0xE8], mask);
        let mut seed = vec![flags | 0b110, 200];
        seed.extend_from_slice(&stream);
        s.put(&format!("{role}-fragmented"), seed);
    }
}

fn ws_handshake() {
    let s = Seeds::target("ws_handshake");
    let key = "dGhlIHNhbXBsZSBub25jZQ==";
    let accept = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=";
    s.put(
        "rfc6455",
        format!("GET\nwebsocket\nUpgrade\n13\n{key}\n{accept}"),
    );
    s.put(
        "keep-alive",
        format!("GET\nWebSocket\nkeep-alive, Upgrade\n 13 \n {key} \n{accept} "),
    );
    s.put("post", format!("POST\nwebsocket\nUpgrade\n13\n{key}"));
    s.put("version-8", format!("GET\nwebsocket\nUpgrade\n8\n{key}"));
    s.put("short-key", "GET\nwebsocket\nUpgrade\n13\nAAAA");
}

fn jwt() {
    let s = Seeds::target("jwt");
    let config = SessionConfig::default();
    let issuer = SessionIssuer::new(&config);
    let user = Uuid::from_u128(0x0193_a1b2_0000_7000_8000_0000_0000_0001);
    let vars = BTreeMap::from([("k".to_string(), "v".to_string())]);
    let issued = issuer.issue(user, "someone", vars, NOW - 10);
    s.put("session", [&[0u8][..], issued.token.as_bytes()].concat());
    s.put(
        "refresh",
        [&[2u8][..], issued.refresh_token.as_bytes()].concat(),
    );
    let claims = serde_json::to_string(&issued.claims).expect("claims");
    for (mode, name) in [(1u8, "signed-session"), (3, "signed-refresh")] {
        s.put(
            name,
            [
                &[mode][..],
                br#"{"alg":"HS256","typ":"JWT"}"#,
                b"\n",
                claims.as_bytes(),
            ]
            .concat(),
        );
    }
    s.put(
        "signed-none-alg",
        [&[1u8][..], br#"{"alg":"none"}"#, b"\n", claims.as_bytes()].concat(),
    );
}

fn config_loader() {
    let s = Seeds::target("config_loader");
    // core/src/config/mod.rs, a_nakama_config_file_loads_and_says_what_has_no_effect.
    let nakama_yml = "name: nakama1
logger:
  level: DEBUG
  stdout: true
  file: /var/log/nakama.log
  max_size: 100
session:
  token_expiry_sec: 7200
  single_match: false
socket:
  server_key: s3cret
  write_wait_ms: 5000
  ping_backoff_threshold: 40
  response_headers: [\"X-Game: one\"]
database:
  address: [\"root@db:26257\"]
  max_idle_conns: 50
runtime:
  http_key: h
  path: /nakama/data/modules
  lua_max_count: 48
console:
  port: 7351
  username: admin
leaderboard:
  blacklist_rank_cache: [\"*\"]
";
    s.put(
        "nakama",
        format!("{nakama_yml}\n---flags---\nmatchmaker.max_tickets=5\nsocket.port=7400\n"),
    );
    // Every key, with its default, as `--help` lists it.
    let defaults = ConfigBuilder::new().build().expect("the defaults load");
    let mut flags = String::from("{}\n---flags---\n");
    for (key, value) in defaults.keys() {
        flags.push_str(&format!("{key}={value}\n"));
    }
    s.put("every-key", flags);
    s.put("unknown-key", "socket:\n  prot: 1\n");
    s.put("not-a-mapping", "- a\n- b\n");
}

/// renet packets of a client that sends on each channel, as Kairos
/// configures them (`net/src/rudp/channel.rs`).
fn renet_packets() -> Vec<Vec<u8>> {
    let transport = RudpConfig::default();
    let channels: Vec<ChannelConfig> = Channel::ALL
        .iter()
        .map(|&channel| ChannelConfig {
            channel_id: channel.renet_id(),
            max_memory_usage_bytes: 1 << 20,
            send_type: match channel {
                Channel::ReliableOrdered => SendType::ReliableOrdered {
                    resend_time: transport.reliable_resend_time,
                },
                _ => SendType::Unreliable,
            },
        })
        .collect();
    let mut client = RenetClient::new(ConnectionConfig {
        available_bytes_per_tick: 1 << 20,
        server_channels_config: channels.clone(),
        client_channels_config: channels,
    });
    client.set_connected();
    client.send_message(Channel::ReliableOrdered.renet_id(), b"reliable".to_vec());
    client.send_message(Channel::Unreliable.renet_id(), b"unreliable".to_vec());
    // A sequenced message: a 4-byte sequence number, then the payload.
    client.send_message(
        Channel::UnreliableSequenced.renet_id(),
        [&1u32.to_be_bytes()[..], b"sequenced"].concat(),
    );
    // A reliable message of two slices.
    client.send_message(Channel::ReliableOrdered.renet_id(), vec![0x5A; 1500]);
    client.get_packets_to_send()
}

/// A record of the rudp target: op, 2-byte length, bytes.
fn record(op: u8, bytes: &[u8]) -> Vec<u8> {
    let len = u16::try_from(bytes.len()).expect("short");
    [&[op][..], &len.to_le_bytes(), bytes].concat()
}

fn rudp_datagram() {
    let s = Seeds::target("rudp_datagram");
    let packets = renet_packets();
    let mut all = Vec::new();
    for (i, packet) in packets.iter().enumerate() {
        s.put(&format!("renet-{i}"), record(1, packet));
        all.extend(record(1, packet));
    }
    all.extend([2, 25, 3]);
    s.put("renet-all-then-tick", all);
    // net/src/rudp/tests/hostile.rs: the crafted packets of modified clients.
    let mut slice = vec![2, 0, 0, 0, 5, 2, 0x44, 0xB0];
    slice.resize(slice.len() + 1200, 0xAB);
    s.put("cheat-slice-index", record(1, &slice));
    let cheats: [&[u8]; 4] = [
        &[3, 0, 1, 0, 0, 2, 1, 0],
        &[9, 9, 9],
        &[0, 0, 7, 0, 0],
        &[1, 0, 2, 0, 1, 2, 0xAA, 0xBB],
    ];
    for (i, cheat) in cheats.iter().enumerate() {
        s.put(&format!("cheat-{i}"), record(1, cheat));
    }
    // The filter's cases: renetcode's killer headers, and a connection
    // request of the exact size from a stranger.
    s.put("killer-header", record(4, &[0xF5; 40]));
    let mut request = vec![0u8; 1078];
    request[1..14].copy_from_slice(b"NETCODE 1.02\0");
    s.put("connection-request", record(8, &request));
    s.put("ticks", [2, 250, 2, 250, 3]);
}

fn quic_datagram() {
    let s = Seeds::target("quic_datagram");
    let now = Instant::now();
    let server = SocketAddr::from(([10, 0, 0, 1], 7353));
    let mut client = QuicClient::connect(
        now,
        server,
        "localhost",
        "good-token",
        &ClientTls::dangerously_skip_verification(),
        QuicConfig::default(),
    )
    .expect("client");
    let mut buf = Vec::new();
    let mut flight = Vec::new();
    let mut i = 0;
    while let Some(t) = client.poll_transmit(now, &mut buf) {
        let datagram = &buf[..t.size];
        let len = u16::try_from(datagram.len()).expect("short");
        let seed = [&[0u8][..], &len.to_le_bytes(), datagram].concat();
        s.put(&format!("client-initial-{i}"), &seed);
        flight.extend(seed);
        i += 1;
    }
    flight.extend([1, 250, 1, 250]);
    s.put("client-initial-then-timers", flight);
    // A version negotiation trigger: a long header with an unknown version.
    let mut unknown = vec![0xC0, 0x1A, 0x2A, 0x3A, 0x4A, 8];
    unknown.extend([1; 8]);
    unknown.push(8);
    unknown.extend([2; 8]);
    unknown.resize(1200, 0);
    s.put(
        "unknown-version",
        [&[2u8][..], &1200u16.to_le_bytes(), &unknown].concat(),
    );
    let _ = Duration::ZERO;
}

/// Match-listing query strings (Nakama's documented examples and the
/// query tests of `core`), each with a label after a newline.
fn query_parse() {
    let s = Seeds::target("query_parse");
    let label = r#"{"mode":"ranked","skill":55,"region":"eu-west","open":true,"convo_ids":["abc","def"],"level":12,"code":"007","start":"2024-02-29T13:05:09Z","maps":["map1","map3"],"neg":-3.5}"#;
    let queries: &[(&str, &str)] = &[
        ("nakama-doc", "+label.mode:ranked +label.skill:>=50 -label.region:eu"),
        ("array-member", "+label.convo_ids:abc"),
        ("boosted-range", "label.level:>=10^2"),
        ("should-boosts", "label.region:eu^10 label.region:asia^5 label.mode:ranked"),
        ("regexp", r"+properties.game_mode:foo -properties.blocked:/.*4bd6667a\-2659.*/"),
        ("alternation", "+label.maps:/.*(map3|some_map_foo).*/"),
        ("wildcard-fuzzy", "label.mode:r?nk* label.mode:rnaked~2 ^2"),
        ("dates", r#"label.start:>"2024-02-29T13:05:09Z" label.start:<="2024-02-29T14:05:09.5+01:00""#),
        ("numbers", "label.neg:<=-3 label.code:007 label.level:- 12.5"),
        ("escapes", r#"label\:x:a\ b label.name:"say \"hi\"" -label.open:F"#),
        ("unqualified", r#"ranked "a b" 5 -5 *"#),
        ("match-all", "*"),
    ];
    for (name, query) in queries {
        s.put(name, format!("{query}\n{label}"));
    }
    s.put(
        "nested-label",
        "+label.a.b:x\n{\"a\":{\"b\":[\"x\",[1,{\"c\":null}]]},\"t\":\"2024-02-29 13:05:09\"}",
    );
    s.put("unterminated", "label.a:\"b");
}

fn main() {
    envelopes();
    http_json();
    query_string();
    query_parse();
    ws_frames();
    ws_handshake();
    jwt();
    config_loader();
    rudp_datagram();
    quic_datagram();
}
