//! The realtime WebSocket: authentication before the upgrade, the envelope,
//! limits, keepalive, single-socket and cleanup.

use std::time::Duration;

use kairos_tests::{Backend, Connect, TestServer, Ws, backend_tests, unique};
use serde_json::json;
use tungstenite::Message;

backend_tests!(connect_ping_and_close);

fn connect_ping_and_close(b: &Backend) {
    let s = TestServer::start(b);
    let http = s.http();
    let sess = http.device(&unique("device-"));
    let mut ws = Ws::open(&s.addr, &sess.token, "&status=true&lang=en");
    assert!(ws.shard.is_some(), "the upgrade names the shard");
    ws.send_json(&json!({"cid": "1", "ping": {}}));
    assert_eq!(ws.recv_json(), json!({"cid": "1", "pong": {}}));
    ws.send_json(&json!({"pong": {}}));
    ws.send_json(&json!({"ping": {}}));
    assert_eq!(ws.recv_json(), json!({"pong": {}}));

    // Online while connected with status=true, offline after close.
    let me = format!("/v2/user?ids={}", sess.user_id());
    assert_eq!(
        http.get(&me, &sess.token).body["users"][0]["online"],
        json!(true)
    );
    ws.close();
    wait_until(|| {
        http.get(&me, &sess.token).body["users"][0]
            .get("online")
            .is_none()
    });
    assert_eq!(http.get("/v2/account", &sess.token).status, 200);
}

#[test]
fn tokens_are_checked_before_the_upgrade() {
    let s = TestServer::start(&kairos_tests::Backend::Sqlite);
    let sess = s.http().device(&unique("device-"));
    for query in [
        "",
        "token=",
        "token=abc.def.ghi",
        &format!("token={}x", sess.token),
    ] {
        match Ws::connect(&s.addr, query) {
            Connect::Refused(status, body) => {
                assert_eq!(status, 401, "{query}");
                assert!(body.contains("Missing or invalid token"), "{body}");
            }
            Connect::Open(_) => panic!("accepted {query}"),
        }
    }
    match Ws::connect(&s.addr, &format!("token={}&format=xml", sess.token)) {
        Connect::Refused(status, _) => assert_eq!(status, 400),
        Connect::Open(_) => panic!("accepted format=xml"),
    }
    // A logged-out session can't open a socket.
    assert_eq!(
        s.http()
            .send(
                "POST",
                "/v2/session/logout",
                &sess.token,
                &json!({"token": sess.token})
            )
            .status,
        200
    );
    assert!(matches!(
        Ws::connect(&s.addr, &format!("token={}", sess.token)),
        Connect::Refused(401, _)
    ));
}

#[test]
fn bad_frames_and_payloads() {
    let s = TestServer::start_with(
        &kairos_tests::Backend::Sqlite,
        &["--socket.max_message_size_bytes", "512"],
    );
    let http = s.http();
    let sess = http.device(&unique("device-"));

    // Oversized frame: closed with 1009.
    let mut ws = Ws::open(&s.addr, &sess.token, "");
    ws.send_raw(Message::Text(
        format!(r#"{{"cid":"1","ping":{{}},"x":"{}"}}"#, "y".repeat(2000)).into(),
    ));
    let (close, _) = ws.until_close();
    assert_eq!(close.map(|c| c.0), Some(1009));

    // Malformed JSON, unknown message, missing message: error, then close.
    for payload in [
        r#"{"cid":"1","ping":"#,
        r#"{"cid":"1","nonsense":{}}"#,
        r#"{"cid":"1"}"#,
        r#"{"ping":{"extra":1}}"#,
    ] {
        let mut ws = Ws::open(&s.addr, &sess.token, "");
        ws.send_raw(Message::Text(payload.into()));
        let (close, seen) = ws.until_close();
        assert!(close.is_some(), "{payload}: closed with a close frame");
        assert!(
            seen.iter().any(|e| e["error"]["code"].is_number()),
            "{payload}: an error envelope first, saw {seen:?}"
        );
    }
    let mut ws = Ws::open(&s.addr, &sess.token, "");
    ws.send_raw(Message::Text(r#"{"cid":"9"}"#.into()));
    let (_, seen) = ws.until_close();
    assert_eq!(seen[0]["error"]["code"], json!(2));

    // Binary frames are not JSON envelopes.
    let mut ws = Ws::open(&s.addr, &sess.token, "");
    ws.send_raw(Message::Binary(vec![1, 2, 3].into()));
    assert!(ws.until_close().0.is_some());

    // The server still serves sockets.
    let mut ws = Ws::open(&s.addr, &sess.token, "");
    ws.send_json(&json!({"cid": "2", "ping": {}}));
    assert_eq!(ws.recv_json()["cid"], "2");
}

#[test]
fn keepalive_pings_and_dead_clients() {
    let s = TestServer::start_with(
        &kairos_tests::Backend::Sqlite,
        &[
            "--socket.ping_period_ms",
            "200",
            "--socket.pong_wait_ms",
            "600",
        ],
    );
    let sess = s.http().device(&unique("device-"));
    let mut ws = Ws::open(&s.addr, &sess.token, "");
    // The server pings; tungstenite answers pings automatically while reading.
    let mut pings = 0;
    ws.socket
        .get_mut()
        .set_read_timeout(Some(Duration::from_millis(300)))
        .unwrap();
    for _ in 0..10 {
        match ws.socket.read() {
            Ok(Message::Ping(_)) => pings += 1,
            Ok(_) => {}
            Err(tungstenite::Error::Io(e))
                if e.kind() == std::io::ErrorKind::WouldBlock
                    || e.kind() == std::io::ErrorKind::TimedOut => {}
            Err(e) => panic!("{e}"),
        }
    }
    assert!(pings >= 2, "saw {pings} pings");
    // Answering pongs keeps the socket open past pong_wait.
    ws.send_json(&json!({"cid": "k", "ping": {}}));
    let mut answered = false;
    for _ in 0..100 {
        match ws.socket.read() {
            Ok(Message::Text(t)) => {
                assert!(t.contains("\"k\""), "{t}");
                answered = true;
                break;
            }
            Ok(_) => {}
            Err(tungstenite::Error::Io(e))
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) => {}
            Err(e) => panic!("socket closed while answering pings: {e}"),
        }
    }
    assert!(answered, "no pong within 100 reads");

    // A client that sends nothing at all is dropped after pong_wait.
    let mut raw = std::net::TcpStream::connect(&s.addr).unwrap();
    use std::io::{Read, Write};
    raw.write_all(format!("GET /ws?token={} HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n", sess.token).as_bytes()).unwrap();
    raw.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let mut buf = [0u8; 4096];
    let mut total = 0;
    loop {
        match raw.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => total += n,
            Err(e) => panic!("server did not drop a silent client: {e}"),
        }
    }
    assert!(total > 0);
}

#[test]
fn single_socket_closes_older_sockets_on_any_shard() {
    let s = TestServer::start_with(
        &kairos_tests::Backend::Sqlite,
        &["--session.single_socket", "true"],
    );
    let sess = s.http().device(&unique("device-"));
    // Open sockets until the newest lands on the other shard from the first.
    let mut first = Ws::open(&s.addr, &sess.token, "");
    let mut shards_seen = vec![first.shard];
    let mut latest = None;
    for _ in 0..20 {
        let ws = Ws::open(&s.addr, &sess.token, "");
        shards_seen.push(ws.shard);
        let other_shard = ws.shard != first.shard;
        latest = Some(ws);
        if other_shard {
            break;
        }
    }
    let (close, seen) = first.until_close();
    assert_eq!(
        close,
        Some((1000, "server-side session disconnect".to_string()))
    );
    assert_eq!(
        seen[0]["notifications"]["notifications"][0]["code"],
        json!(-7),
        "{seen:?}"
    );
    assert!(
        shards_seen
            .iter()
            .collect::<std::collections::HashSet<_>>()
            .len()
            > 1,
        "sockets landed on both shards: {shards_seen:?}"
    );
    let mut latest = latest.unwrap();
    latest.send_json(&json!({"cid": "1", "ping": {}}));
    assert_eq!(latest.recv_json()["cid"], "1");
}

#[test]
fn deleting_an_account_closes_its_sockets() {
    let s = TestServer::start(&kairos_tests::Backend::Sqlite);
    let http = s.http();
    let sess = http.device(&unique("device-"));
    let mut sockets: Vec<Ws> = (0..4).map(|_| Ws::open(&s.addr, &sess.token, "")).collect();
    assert_eq!(
        http.send("DELETE", "/v2/account", &sess.token, &json!({}))
            .status,
        200
    );
    for ws in &mut sockets {
        assert!(ws.until_close().0.is_some());
    }
}

fn wait_until(mut f: impl FnMut() -> bool) {
    for _ in 0..200 {
        if f() {
            return;
        }
        std::thread::sleep(Duration::from_millis(25));
    }
    panic!("condition not reached");
}
