//! Hostile realtime clients: a session being closed stops at once, the mesh
//! between shards stays bounded under a flood, and a session's matches,
//! streams and message rate have limits. No test asserts a time: they
//! assert counts, memory and metric bounds, and that others are served.

use std::collections::BTreeSet;
use std::net::TcpStream;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use kairos_tests::{Backend, Http, TestServer, Ws, unique, users_on_both_shards};
use serde_json::{Value, json};
use tungstenite::protocol::{Role, WebSocket};
use tungstenite::{Message, Utf8Bytes};

// ---- helpers ---------------------------------------------------------------

/// The sum over all series (shards) of a metric, from one scrape.
fn metric(metrics: &Http, name: &str) -> f64 {
    let r = metrics.request("GET", "/metrics", None, None);
    assert_eq!(r.status, 200, "{}", r.text);
    let mut found = false;
    let mut sum = 0.0;
    for line in r.text.lines().filter(|l| !l.starts_with('#')) {
        let Some((key, value)) = line.rsplit_once(' ') else {
            continue;
        };
        if key.split('{').next() == Some(name) {
            found = true;
            sum += value.parse::<f64>().expect("sample value");
        }
    }
    assert!(found, "metric {name} is not exported");
    sum
}

/// A server with a Prometheus endpoint; returns it, the endpoint and its
/// address.
fn server_with_metrics(extra: &[&str]) -> (TestServer, Http, String) {
    let s = TestServer::start_with_metrics(&Backend::Sqlite, extra);
    let addr = s.metrics_addr.clone().expect("metrics address");
    (s, Http::new(&addr), addr)
}

/// Splits a socket into a writing half (this thread) and a reading half
/// that drains everything the server sends in its own thread, until the
/// server closes. The reader counts the text frames it saw.
fn split(ws: Ws) -> (WebSocket<TcpStream>, thread::JoinHandle<u64>) {
    let stream = ws.socket.get_ref().try_clone().expect("clone socket");
    stream
        .set_write_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    let read_half = stream.try_clone().expect("clone socket");
    read_half
        .set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    // The handshake is done; what follows is plain frames both ways.
    std::mem::forget(ws);
    let writer = WebSocket::from_raw_socket(stream, Role::Client, None);
    let reader = thread::spawn(move || {
        let mut r = WebSocket::from_raw_socket(read_half, Role::Client, None);
        let mut n = 0;
        loop {
            match r.read() {
                Ok(Message::Text(_)) | Ok(Message::Binary(_)) => n += 1,
                Ok(Message::Close(_)) | Err(_) => return n,
                Ok(_) => {}
            }
        }
    });
    (writer, reader)
}

/// Caps a socket's receive buffer (and so the window it advertises).
fn shrink_receive_buffer(stream: &TcpStream) {
    set_receive_buffer(stream, 4096);
}

/// Sets a socket's receive buffer.
fn set_receive_buffer(stream: &TcpStream, size: libc::c_int) {
    use std::os::fd::AsRawFd;
    // SAFETY: a valid socket descriptor and a c_int option value.
    let rc = unsafe {
        libc::setsockopt(
            stream.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_RCVBUF,
            (&size as *const libc::c_int).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    assert_eq!(rc, 0, "setsockopt SO_RCVBUF");
}

fn send_text(w: &mut WebSocket<TcpStream>, v: &Value) -> bool {
    w.send(Message::Text(Utf8Bytes::from(v.to_string())))
        .is_ok()
}

/// A fresh client on each shard still gets its pong.
fn each_shard_serves(s: &TestServer) {
    let users = users_on_both_shards(s, 2, "");
    for (mut ws, _) in users {
        let r = ws.request("p", "ping", json!({}));
        assert!(r.get("pong").is_some(), "ping: {r}");
        ws.close();
    }
}

fn join_room(ws: &mut Ws, room: &str) -> String {
    let r = ws.request("join", "channel_join", json!({"target": room, "type": 1}));
    assert!(r.get("channel").is_some(), "join: {r}");
    r["channel"]["id"].as_str().unwrap().to_string()
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// Every stored message of a channel, oldest first.
fn history(http: &Http, token: &str, channel: &str) -> Vec<Value> {
    let mut all = Vec::new();
    let mut cursor = String::new();
    for _ in 0..1000 {
        let path = format!(
            "/v2/channel/{}?limit=100&forward=true&cursor={cursor}",
            urlencode(channel)
        );
        let r = http.get(&path, token);
        assert_eq!(r.status, 200, "{}", r.text);
        all.extend(r.body["messages"].as_array().cloned().unwrap_or_default());
        match r.body["next_cursor"].as_str() {
            Some(c) if !c.is_empty() => cursor = c.to_string(),
            _ => return all,
        }
    }
    panic!("history never ended");
}

/// The `n` field of each message's content sent by `sender`.
fn seqs_from(messages: &[Value], sender: &str) -> BTreeSet<u64> {
    messages
        .iter()
        .filter(|m| m["sender_id"] == sender)
        .map(|m| {
            let content: Value = serde_json::from_str(m["content"].as_str().unwrap()).unwrap();
            content["n"].as_u64().unwrap()
        })
        .collect()
}

/// Watches a gauge from a thread; returns the highest value seen.
struct Sampler {
    stop: Arc<AtomicBool>,
    peak: Arc<AtomicU64>,
    handle: thread::JoinHandle<()>,
}

impl Sampler {
    fn start(metrics_addr: String, name: &'static str) -> Sampler {
        let stop = Arc::new(AtomicBool::new(false));
        let peak = Arc::new(AtomicU64::new(0));
        let (s, p) = (stop.clone(), peak.clone());
        let handle = thread::spawn(move || {
            let http = Http::new(&metrics_addr);
            while !s.load(Ordering::Relaxed) {
                let v = metric(&http, name) as u64;
                p.fetch_max(v, Ordering::Relaxed);
                thread::sleep(Duration::from_millis(20));
            }
        });
        Sampler { stop, peak, handle }
    }

    fn finish(self) -> u64 {
        self.stop.store(true, Ordering::Relaxed);
        self.handle.join().unwrap();
        self.peak.load(Ordering::Relaxed)
    }
}

/// The peak of the mesh overflow over the whole run: what the server
/// recorded, and what a sampler saw.
fn overflow_peak(metrics: &Http, sampled: u64) -> u64 {
    sampled.max(metric(metrics, "kairos_shard_mesh_overflow_peak") as u64)
}

// ---- (a) a match flooded by half its members -------------------------------

/// Mesh overflow allowed under a flood: the pause watermark (1024, set
/// below) plus what is in flight when readers pause: the mesh queues (256
/// per pair of shards, set below), one Deliver per shard for each input
/// they hold, and a message per session. Without backpressure these
/// floods reach tens of thousands.
const FLOOD_OVERFLOW_BOUND: u64 = 8192;
/// Peak resident memory allowed for the server under the flood.
const FLOOD_RSS_BOUND_KIB: u64 = 80 * 1024;

#[test]
fn a_flooded_match_keeps_the_mesh_and_memory_bounded() {
    let (s, metrics, metrics_addr) = server_with_metrics(&[
        // The rate limit is tested on its own below; here the mesh's own
        // backpressure is what bounds the flood.
        "--kairos.session.max_messages_per_sec",
        "1000000",
        "--kairos.session.message_burst",
        "1000000",
        "--kairos.session.mesh_overflow_pause",
        "1024",
        "--mesh.queue_size",
        "256",
        "--socket.outgoing_queue_size",
        "256",
    ]);
    let mut users = users_on_both_shards(&s, 8, "");
    let created = users[0].0.request("c", "match_create", json!({}));
    let match_id = created["match"]["match_id"].as_str().unwrap().to_string();
    for (ws, _) in users.iter_mut().skip(1) {
        let r = ws.request("j", "match_join", json!({"match_id": match_id}));
        assert!(r.get("match").is_some(), "join: {r}");
    }
    let sampler = Sampler::start(metrics_addr, "kairos_shard_mesh_overflow");
    // Members 4..8 never read again; members 0..4 flood and drain.
    let idle: Vec<Ws> = users.drain(4..).map(|(ws, _)| ws).collect();
    let data = base64_of(&[7u8; 96]);
    let flooders: Vec<_> = users
        .drain(..)
        .map(|(ws, _)| {
            let (mut w, reader) = split(ws);
            let msg =
                json!({"match_data_send": {"match_id": match_id, "op_code": "1", "data": data}});
            let text = Utf8Bytes::from(msg.to_string());
            thread::spawn(move || {
                let until = Instant::now() + Duration::from_secs(4);
                let mut sent = 0u64;
                while sent < 400_000 && Instant::now() < until {
                    if w.send(Message::Text(text.clone())).is_err() {
                        break;
                    }
                    sent += 1;
                }
                let _ = w.close(None);
                let _ = w.flush();
                drop(w);
                let _ = reader.join();
                sent
            })
        })
        .collect();
    let sent: u64 = flooders.into_iter().map(|t| t.join().unwrap()).sum();
    let peak = overflow_peak(&metrics, sampler.finish());
    let rss = s.peak_rss_kib();
    eprintln!("flood: {sent} messages sent, mesh overflow peak {peak}, peak RSS {rss} KiB");
    assert!(
        peak <= FLOOD_OVERFLOW_BOUND,
        "mesh overflow reached {peak} (bound {FLOOD_OVERFLOW_BOUND})"
    );
    assert!(
        rss <= FLOOD_RSS_BOUND_KIB,
        "peak RSS {rss} KiB (bound {FLOOD_RSS_BOUND_KIB} KiB)"
    );
    each_shard_serves(&s);
    drop(idle);
}

fn base64_of(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

// ---- (b) match data to random match ids -------------------------------------

#[test]
fn data_to_unknown_matches_keeps_the_mesh_bounded() {
    let (s, metrics, metrics_addr) = server_with_metrics(&[
        "--kairos.session.max_messages_per_sec",
        "1000000",
        "--kairos.session.message_burst",
        "1000000",
        "--kairos.session.mesh_overflow_pause",
        "1024",
        "--mesh.queue_size",
        "256",
    ]);
    let http = s.http();
    let sampler = Sampler::start(metrics_addr, "kairos_shard_mesh_overflow");
    // Eight sockets in no match, each sending to ids nobody created (each
    // answered with MATCH_NOT_FOUND by the id's owner), reading the errors.
    let floods: Vec<_> = (0..8u64)
        .map(|k| {
            let sess = http.device(&unique("device-"));
            let (mut w, reader) = split(Ws::open(&s.addr, &sess.token, ""));
            thread::spawn(move || {
                let until = Instant::now() + Duration::from_secs(4);
                let mut sent = 0u64;
                while sent < 400_000 && Instant::now() < until {
                    let id = format!("{sent:08x}-0000-4000-8000-{k:012x}.");
                    let msg = json!({"match_data_send": {"match_id": id, "op_code": "1", "data": "aGk="}});
                    if !send_text(&mut w, &msg) {
                        break;
                    }
                    sent += 1;
                }
                let _ = w.close(None);
                let _ = w.flush();
                let _ = reader.join();
                sent
            })
        })
        .collect();
    let sent: u64 = floods.into_iter().map(|t| t.join().unwrap()).sum();
    let peak = overflow_peak(&metrics, sampler.finish());
    eprintln!("random match ids: {sent} sent, mesh overflow peak {peak}");
    assert!(
        peak <= FLOOD_OVERFLOW_BOUND,
        "mesh overflow reached {peak} (bound {FLOOD_OVERFLOW_BOUND})"
    );
    each_shard_serves(&s);
}

// ---- (c) queue-full close ---------------------------------------------------

#[test]
fn a_session_closed_for_a_full_queue_stops_relaying_and_storing() {
    let s = TestServer::start_with(
        &Backend::Sqlite,
        &[
            // The flood can take a while on a loaded machine; the history
            // is read with the sessions' tokens afterwards.
            "--session.token_expiry_sec",
            "3600",
            "--socket.outgoing_queue_size",
            "8",
            "--kairos.session.max_messages_per_sec",
            "1000000",
            "--kairos.session.message_burst",
            "1000000",
        ],
    );
    let mut users = users_on_both_shards(&s, 2, "");
    let (mut observer, obs_sess) = users.pop().unwrap();
    let (mut member, member_sess) = users.pop().unwrap();
    let room = unique("room-");
    let channel = join_room(&mut member, &room);
    join_room(&mut observer, &room);
    // The observer drains in its own thread, counting what it is relayed.
    let obs_reader = {
        let stream = observer.socket.get_ref().try_clone().unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(3)))
            .unwrap();
        let member_id = member_sess.user_id();
        thread::spawn(move || {
            let mut r = WebSocket::from_raw_socket(stream, Role::Client, None);
            let mut seen = BTreeSet::new();
            while let Ok(m) = r.read() {
                if let Message::Text(t) = m {
                    let v: Value = serde_json::from_str(&t).unwrap_or(Value::Null);
                    let msg = &v["channel_message"];
                    if msg["sender_id"] == member_id.as_str() {
                        let c: Value =
                            serde_json::from_str(msg["content"].as_str().unwrap()).unwrap();
                        seen.insert(c["n"].as_u64().unwrap());
                    }
                }
            }
            seen
        })
    };
    // The member sends big messages and never reads while it sends: its
    // own relays and acks fill its queue, and it is closed. A small receive
    // buffer makes that come soon. Once the server has logged the close,
    // the member sends a last round, then reads: the server still reads
    // (and drops) what it sends, so everything gets there and the close
    // frame comes back.
    member
        .socket
        .get_ref()
        .set_write_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    shrink_receive_buffer(member.socket.get_ref());
    let pad = "x".repeat(3000);
    let round = 50u64;
    let mut sent = 0u64;
    let mut rounds_after_close = 0;
    // Messages numbered from here on were sent after the server had closed
    // the session: none may be stored or relayed, whatever else happens.
    let mut sent_at_close = u64::MAX;
    let mut gone = false;
    // The member's close, not another's: on a loaded machine the observer
    // can fall behind (its reader gives up after 3 s without a message) and
    // be closed for a full queue too.
    let member_id = member_sess.user_id();
    let member_closed = || {
        s.log()
            .lines()
            .any(|l| l.contains("outgoing queue full; closing session") && l.contains(&member_id))
    };
    'flood: while sent < 4000 && rounds_after_close < 2 {
        if member_closed() {
            rounds_after_close += 1;
            sent_at_close = sent_at_close.min(sent);
        }
        for _ in 0..round {
            let msg = json!({"cid": sent.to_string(), "channel_message_send": {
                "channel_id": channel, "content": json!({"n": sent, "pad": pad}).to_string()}});
            if let Err(e) = member
                .socket
                .send(Message::Text(Utf8Bytes::from(msg.to_string())))
            {
                // The server ended the connection: 2 s after its close
                // frame when a loaded machine kept the member from
                // answering, or by the write watchdog when the member's
                // reads stalled first. Either way the session is over, and
                // the checks below still hold (the ones on acks need the
                // close frame, which is lost then).
                eprintln!("the server ended the member's connection: {e}");
                gone = true;
                break 'flood;
            }
            sent += 1;
        }
    }
    assert!(
        rounds_after_close == 2 || gone,
        "the member was never closed"
    );
    let (close, seen) = if gone {
        (None, Vec::new())
    } else {
        member.until_close()
    };
    // Under heavy load the member may read too late for the server's wait
    // for its close (2 s): the server then resets the socket, and the close
    // frame and the last acks can be lost with it.
    let reset = close.is_none();
    if let Some((code, reason)) = close {
        assert_eq!(
            (code, reason.as_str()),
            (1008, "session outgoing queue full")
        );
    }
    let acked: BTreeSet<u64> = seen
        .iter()
        .filter(|v| v.get("channel_message_ack").is_some())
        .filter_map(|v| v["cid"].as_str()?.parse().ok())
        .collect();
    let relayed = obs_reader.join().unwrap();
    let http = s.http();
    let stored = seqs_from(
        &history(&http, &obs_sess.token, &channel),
        &member_sess.user_id(),
    );
    eprintln!(
        "queue-full close: {sent} sent, {} acked, {} relayed, {} stored",
        acked.len(),
        relayed.len(),
        stored.len()
    );
    assert!(sent > 0 && (acked.len() as u64) < sent);
    // A message is stored before it is relayed, so nothing is relayed
    // that was not stored.
    assert!(
        relayed.is_subset(&stored),
        "relayed but not stored: {relayed:?} {stored:?}"
    );
    assert!(
        gone || sent_at_close < sent,
        "the member was closed while it sent"
    );
    assert!(
        stored.iter().chain(&relayed).all(|n| *n < sent_at_close),
        "stored or relayed after the close: {stored:?} {relayed:?}"
    );
    if !reset {
        // What the server handled before the close was acked; at most one
        // more message (the one whose reply found the queue full) got
        // through.
        let after = |set: &BTreeSet<u64>| set.iter().filter(|n| !acked.contains(n)).count();
        assert!(after(&stored) <= 1, "stored after the close: {stored:?}");
        assert!(after(&relayed) <= 1, "relayed after the close: {relayed:?}");
    }
}

// ---- (d) account deletion while chatting ------------------------------------

#[test]
fn a_deleted_account_stores_nothing_more() {
    let s = TestServer::start_with(
        &Backend::Sqlite,
        &[
            "--kairos.session.max_messages_per_sec",
            "1000000",
            "--kairos.session.message_burst",
            "1000000",
        ],
    );
    let mut users = users_on_both_shards(&s, 2, "");
    let (mut reader_ws, reader_sess) = users.pop().unwrap();
    let (mut doomed, doomed_sess) = users.pop().unwrap();
    let room = unique("room-");
    let channel = join_room(&mut doomed, &room);
    join_room(&mut reader_ws, &room);
    reader_ws.close();
    let (mut w, reader) = split(doomed);
    let counter = Arc::new(AtomicU64::new(0));
    let sender = {
        let counter = counter.clone();
        let channel = channel.clone();
        thread::spawn(move || {
            for n in 0..200_000u64 {
                let msg = json!({"cid": "s", "channel_message_send": {
                    "channel_id": channel, "content": json!({"n": n}).to_string()}});
                if !send_text(&mut w, &msg) {
                    return;
                }
                counter.store(n, Ordering::Relaxed);
            }
        })
    };
    // Let the chat get going, then delete the account.
    let deadline = Instant::now() + Duration::from_secs(10);
    while counter.load(Ordering::Relaxed) < 500 && Instant::now() < deadline {
        thread::sleep(Duration::from_millis(5));
    }
    let http = s.http();
    let r = http.send("DELETE", "/v2/account", &doomed_sess.token, &json!({}));
    assert_eq!(r.status, 200, "{}", r.text);
    let sender_id = doomed_sess.user_id();
    let at_ack = seqs_from(&history(&http, &reader_sess.token, &channel), &sender_id);
    // The socket is closed by the server; the client sees its end.
    reader.join().unwrap();
    sender.join().unwrap();
    thread::sleep(Duration::from_millis(300));
    let later = seqs_from(&history(&http, &reader_sess.token, &channel), &sender_id);
    eprintln!(
        "account deletion: {} sent, {} stored when acknowledged, {} later",
        counter.load(Ordering::Relaxed),
        at_ack.len(),
        later.len()
    );
    assert_eq!(
        later.len(),
        at_ack.len(),
        "messages stored under the deleted account after its deletion"
    );
}

// ---- (e) caps on matches and streams per session -----------------------------

#[test]
fn a_session_joins_a_bounded_number_of_matches_and_streams() {
    let s = TestServer::start_with(
        &Backend::Sqlite,
        &[
            "--kairos.session.max_matches",
            "3",
            "--kairos.session.max_streams",
            "5",
        ],
    );
    let http = s.http();
    let sess = http.device(&unique("device-"));
    let mut ws = Ws::open(&s.addr, &sess.token, "");
    // Joins the owner refuses (no such match) do not count.
    for i in 0..5 {
        let unknown = format!("{i:08x}-0000-4000-8000-000000000000.");
        let r = ws.request(&format!("u{i}"), "match_join", json!({"match_id": unknown}));
        assert_eq!(r["error"]["code"], 4, "unknown match: {r}");
    }
    let mut matches = Vec::new();
    for i in 0..3 {
        let r = ws.request(&format!("c{i}"), "match_create", json!({}));
        assert!(r.get("match").is_some(), "create {i}: {r}");
        matches.push(r["match"]["match_id"].as_str().unwrap().to_string());
    }
    let r = ws.request("c3", "match_create", json!({}));
    assert_eq!(r["error"]["code"], 5, "match cap: {r}");
    assert!(
        r["error"]["message"]
            .as_str()
            .unwrap()
            .contains("kairos.session.max_matches"),
        "{r}"
    );
    // Joining a match another user created is refused the same way, and
    // nothing is joined: its members hear of no one.
    let other = http.device(&unique("device-"));
    let mut ows = Ws::open(&s.addr, &other.token, "");
    let theirs = ows.request("o", "match_create", json!({}));
    let theirs = theirs["match"]["match_id"].as_str().unwrap().to_string();
    let r = ws.request("j", "match_join", json!({"match_id": theirs}));
    assert_eq!(r["error"]["code"], 5, "match cap on join: {r}");
    let r = ows.request("p", "ping", json!({}));
    assert!(r.get("pong").is_some(), "no presence event came first: {r}");
    // Leaving one frees a place.
    let r = ws.request("l", "match_leave", json!({"match_id": matches[0]}));
    assert!(r.get("error").is_none(), "{r}");
    let r = ws.request("j2", "match_join", json!({"match_id": theirs}));
    assert!(r.get("match").is_some(), "join after a leave: {r}");
    // Three matches and two rooms: five streams; the sixth is refused.
    join_room(&mut ws, &unique("r1-"));
    join_room(&mut ws, &unique("r2-"));
    let r = ws.request(
        "r3",
        "channel_join",
        json!({"target": unique("r3-"), "type": 1}),
    );
    assert_eq!(r["error"]["code"], 3, "stream cap: {r}");
    assert!(
        r["error"]["message"]
            .as_str()
            .unwrap()
            .contains("kairos.session.max_streams"),
        "{r}"
    );
    // Following a user is joining their status stream.
    let r = ws.request("f", "status_follow", json!({"user_ids": [other.user_id()]}));
    assert_eq!(r["error"]["code"], 3, "status follows count: {r}");
    // Joining a match never joined before also counts against streams.
    let r = ws.request("c5", "match_create", json!({"name": unique("m-")}));
    assert!(r.get("error").is_some(), "{r}");
    // A join of a stream already joined is not a new stream.
    let r = ws.request("again", "match_join", json!({"match_id": theirs}));
    assert!(r.get("match").is_some(), "rejoin: {r}");
}

// ---- (f) message rate ------------------------------------------------------

#[test]
fn a_session_over_its_message_rate_is_throttled_and_still_served() {
    let (s, metrics, _) = server_with_metrics(&[
        "--kairos.session.max_messages_per_sec",
        "200",
        "--kairos.session.message_burst",
        "20",
    ]);
    assert_eq!(
        metric(&metrics, "kairos_session_throttled_messages_total"),
        0.0
    );
    let http = s.http();
    let sess = http.device(&unique("device-"));
    let mut ws = Ws::open(&s.addr, &sess.token, "");
    let n = 400;
    for i in 0..n {
        ws.send_json(&json!({"cid": i.to_string(), "ping": {}}));
    }
    let mut pongs = 0;
    while pongs < n {
        let v = ws.recv_json();
        assert!(v.get("pong").is_some(), "{v}");
        pongs += 1;
    }
    let throttled = metric(&metrics, "kairos_session_throttled_messages_total");
    assert!(throttled > 0.0, "no message was throttled");
    assert!(metric(&metrics, "kairos_session_throttled_sessions_total") >= 1.0);
    let r = ws.request("last", "ping", json!({}));
    assert!(r.get("pong").is_some(), "{r}");
    // Other sessions were never slowed by it.
    each_shard_serves(&s);
}

/// The same limit holds on the datagram transports, whose sessions are
/// read from an inbox: over the rate, their reader waits too.
#[test]
fn datagram_sessions_are_throttled_too() {
    use kairos_client::rtapi::{Incoming, Outgoing};
    use kairos_client::{Client, ConnectOptions, Transport};
    let (s, metrics, _) = server_with_metrics(&[
        "--kairos.session.max_messages_per_sec",
        "200",
        "--kairos.session.message_burst",
        "10",
    ]);
    let port: u16 = s.addr.rsplit(':').next().unwrap().parse().unwrap();
    let client = Client::new("127.0.0.1", port, "defaultkey");
    for transport in [Transport::ReliableUdp, Transport::Quic] {
        let before = metric(&metrics, "kairos_session_throttled_messages_total");
        let session = client
            .authenticate_device(&unique("device-"), true, None)
            .expect("authenticates");
        // Other tests of this file flood the server beside this one: give
        // the handshake time on a loaded machine (CI once took 10 s).
        let options = ConnectOptions {
            timeout: Duration::from_secs(30),
            ..ConnectOptions::default()
        };
        let mut rt = client
            .connect(&session, transport, options)
            .unwrap_or_else(|e| panic!("{transport} connects: {e}"));
        let n = 60;
        for i in 0..n {
            rt.send_with_cid(&i.to_string(), &Incoming::Ping)
                .expect("send");
        }
        let mut pongs = 0;
        for _ in 0..10_000 {
            if pongs == n {
                break;
            }
            match rt.poll(Duration::from_millis(200)) {
                Ok(Some(m)) if matches!(m.message, Some(Outgoing::Pong {})) => pongs += 1,
                Ok(_) => {}
                Err(e) => panic!("{transport}: {e}"),
            }
        }
        assert_eq!(pongs, n, "{transport}: every ping is answered");
        let after = metric(&metrics, "kairos_session_throttled_messages_total");
        assert!(after > before, "{transport}: nothing was throttled");
        rt.ping().expect("still served");
        rt.close();
    }
}

/// Two members of one chat room, on different shards, of a server with a
/// deep outgoing queue, the message rate lifted and the given
/// `socket.write_timeout_ms` (and a pong wait longer than any test): one
/// that keeps reading (`sender`) and one that will not (`slow`).
struct SlowReaderRoom {
    s: TestServer,
    metrics: Http,
    sender: Ws,
    slow: (Ws, kairos_tests::Session),
    channel: String,
}

fn slow_reader_room(write_timeout_ms: &str) -> SlowReaderRoom {
    let (s, metrics, _) = server_with_metrics(&[
        "--socket.outgoing_queue_size",
        "100000",
        "--socket.write_timeout_ms",
        write_timeout_ms,
        // A client that only reads sends no pong until it writes: under
        // a loaded CI its catching up took past the default 25 s.
        "--socket.pong_wait_ms",
        "300000",
        "--kairos.session.max_messages_per_sec",
        "1000000",
        "--kairos.session.message_burst",
        "1000000",
    ]);
    let mut users = users_on_both_shards(&s, 2, "");
    let (mut sender, _) = users.pop().unwrap();
    let (mut slow, slow_sess) = users.pop().unwrap();
    let room = unique("room-");
    let join = json!({"target": room, "type": 1, "persistence": false});
    let r = slow.request("j", "channel_join", join.clone());
    let channel = r["channel"]["id"].as_str().expect("joined").to_string();
    assert!(
        sender
            .request("j", "channel_join", join)
            .get("channel")
            .is_some()
    );
    SlowReaderRoom {
        s,
        metrics,
        sender,
        slow: (slow, slow_sess),
        channel,
    }
}

/// A client that stops reading while the server still has frames for it is
/// closed by the write watchdog (`socket.write_timeout_ms`), though its
/// outgoing queue has room: the watchdog is armed only while a write waits
/// for a full socket, and then it fires. The other member is still served.
#[test]
fn a_client_that_stops_reading_is_closed_by_the_write_watchdog() {
    let SlowReaderRoom {
        s,
        metrics,
        sender,
        slow: (victim, victim_sess),
        channel,
    } = slow_reader_room("400");
    // From here on the victim reads nothing, and takes little.
    shrink_receive_buffer(victim.socket.get_ref());
    let (mut writer, reader) = split(sender);
    let victim_id = victim_sess.user_id();
    let closed_as = |what: &str| {
        s.log()
            .lines()
            .any(|l| l.contains(what) && l.contains(&victim_id))
    };
    let content = json!({"pad": "x".repeat(3000)}).to_string();
    let mut sent = 0;
    while !closed_as("write stalled past write_timeout") {
        assert!(
            sent < 20_000,
            "the victim was not closed after {sent} messages"
        );
        // A gentle flood (about 1.5 MB/s each way): the suite runs tests
        // side by side, and the victim's socket fills all the same.
        for _ in 0..25 {
            let msg = json!({"channel_message_send": {"channel_id": channel, "content": content}});
            assert!(send_text(&mut writer, &msg), "the sender was cut off");
            sent += 1;
        }
        thread::sleep(Duration::from_millis(50));
    }
    eprintln!("the watchdog closed the victim after {sent} messages");
    assert!(
        !closed_as("outgoing queue full"),
        "closed for its queue, not by the watchdog"
    );
    // Its session ends; the sender's stays, and is still answered.
    let mut sessions = metric(&metrics, "kairos_shard_sessions");
    for _ in 0..200 {
        if sessions == 1.0 {
            break;
        }
        thread::sleep(Duration::from_millis(50));
        sessions = metric(&metrics, "kairos_shard_sessions");
    }
    assert_eq!(sessions, 1.0, "the victim's session is still counted");
    assert!(send_text(&mut writer, &json!({"cid": "last", "ping": {}})));
    writer.close(None).ok();
    assert!(reader.join().unwrap() > 0, "the sender heard nothing");
    drop(victim);
}

/// A client that pauses reading, until the server's socket to it is full,
/// gets every message whole and in order once it reads again. While its
/// writer is idle the shard's flush list writes its socket without
/// waiting; once the socket takes only part of a write, the unwritten tail
/// goes back to the connection, first out, and the session's writer takes
/// over (`kairos_shard_ws_flush_handbacks_total`). A tail lost or sent out
/// of turn would cut a frame, and the client would fail to parse.
#[test]
fn a_client_that_pauses_reading_gets_every_message_whole_and_in_order() {
    let SlowReaderRoom {
        s,
        metrics,
        sender,
        slow: (mut paused, _),
        channel,
    } = slow_reader_room("120000");
    let handbacks = metric(&metrics, "kairos_shard_ws_flush_handbacks_total");
    // From here on the paused client reads nothing, and takes little.
    shrink_receive_buffer(paused.socket.get_ref());
    let (mut writer, reader) = split(sender);
    let pad = "x".repeat(3000);
    let mut sent: u64 = 0;
    // Until the server has had to hand a full socket back to a writer
    // (the sender's own socket, which its reader drains, never fills).
    while metric(&metrics, "kairos_shard_ws_flush_handbacks_total") == handbacks {
        assert!(sent < 20_000, "no socket filled after {sent} messages");
        for _ in 0..25 {
            let content = json!({"n": sent, "pad": pad}).to_string();
            let msg = json!({"channel_message_send": {"channel_id": channel, "content": content}});
            assert!(send_text(&mut writer, &msg), "the sender was cut off");
            sent += 1;
        }
        thread::sleep(Duration::from_millis(50));
    }
    // A few more, queued behind the full socket.
    for _ in 0..50 {
        let content = json!({"n": sent, "pad": pad}).to_string();
        let msg = json!({"channel_message_send": {"channel_id": channel, "content": content}});
        assert!(send_text(&mut writer, &msg), "the sender was cut off");
        sent += 1;
    }
    eprintln!("the paused client's socket filled; {sent} messages sent");
    // It reads again, with a window wide enough to read briskly (a 4 KiB
    // window and delayed acks would take 40 ms a message).
    set_receive_buffer(paused.socket.get_ref(), 1 << 20);
    let mut next = 0;
    while next < sent {
        let v = match paused.socket.read() {
            Ok(Message::Text(t)) => serde_json::from_str::<Value>(&t).expect("json"),
            Ok(_) => continue,
            Err(e) => panic!("read failed after {next} messages: {e}\nlog:\n{}", s.log()),
        };
        let Some(m) = v.get("channel_message") else {
            continue;
        };
        let content: Value =
            serde_json::from_str(m["content"].as_str().expect("content")).expect("content json");
        assert_eq!(content["n"], json!(next), "out of order or lost");
        assert_eq!(content["pad"].as_str().map(str::len), Some(3000));
        next += 1;
    }
    writer.close(None).ok();
    assert!(reader.join().unwrap() > 0, "the sender heard nothing");
    drop(paused);
}
