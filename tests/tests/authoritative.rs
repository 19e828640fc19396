//! Authoritative matches: the example arena's whole life on two shards
//! (creation by RPC, joins and a rejected join, inputs handed to ticks,
//! state broadcast, leaves, a signal from the other shard, the end), a
//! panicking handler ending only its own match, steady ticks, and bad
//! input.

use kairos_tests::{Http, Session, TestServer, Ws, bearer, unique, users_on_both_shards};
use serde_json::{Value, json};

fn rpc(http: &Http, who: &Session, id: &str, payload: Value) -> kairos_tests::Reply {
    http.request(
        "POST",
        &format!("/v2/rpc/{id}"),
        Some(&bearer(&who.token)),
        Some(&Value::String(payload.to_string()).to_string()),
    )
}

fn answer(r: &kairos_tests::Reply) -> Value {
    assert_eq!(r.status, 200, "{}", r.text);
    serde_json::from_str(r.body["payload"].as_str().unwrap()).unwrap()
}

/// The next `match_data` with this op code, decoded from base64 JSON.
fn next_data(ws: &mut Ws, op: i64) -> (Value, Value) {
    for _ in 0..200 {
        let v = ws.next_with("match_data");
        let d = &v["match_data"];
        if d["op_code"] == json!(op.to_string()) {
            let bytes = base64_decode(d["data"].as_str().unwrap_or(""));
            let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
            return (d.clone(), body);
        }
    }
    panic!("no match_data with op code {op}");
}

fn base64_decode(s: &str) -> Vec<u8> {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD
        .decode(s)
        .expect("base64")
}

fn base64(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

#[test]
fn arena_lives_on_two_shards() {
    let s = TestServer::start(&kairos_tests::Backend::Sqlite);
    let http = s.http();
    let mut users = users_on_both_shards(&s, 3, "");
    let creator = users[0].1.clone();
    let created = answer(&rpc(
        &http,
        &creator,
        "example.create_arena",
        json!({ "max_players": 2 }),
    ));
    let match_id = created["match_id"].as_str().unwrap().to_string();
    assert!(match_id.ends_with(".kairos"), "{match_id}");

    // Two players join (on both shards when the first two differ; the
    // third user is refused: the arena holds two).
    users.sort_by_key(|(w, _)| w.shard);
    let (mut w3, _s3) = users.remove(1);
    let (mut w1, s1) = users.remove(0);
    let (mut w2, s2) = users.remove(0);
    let r = w1.request("j1", "match_join", json!({ "match_id": match_id }));
    assert_eq!(r["match"]["authoritative"], true, "{r}");
    assert_eq!(r["match"]["match_id"], json!(match_id));
    let r = w2.request("j2", "match_join", json!({ "match_id": match_id }));
    assert_eq!(r["match"]["size"], 2, "{r}");
    let r = w3.request("j3", "match_join", json!({ "match_id": match_id }));
    assert_eq!(r["error"]["code"], 5, "{r}");
    assert_eq!(r["error"]["message"], "match full");

    // Inputs reach the next tick; the state comes back to both players.
    let mv = base64(br#"{"dx":1,"dy":-1}"#);
    w1.send_json(
        &json!({ "match_data_send": { "match_id": match_id, "op_code": "1", "data": mv } }),
    );
    let me1 = s1.user_id();
    let mut seen = false;
    for _ in 0..50 {
        let (_, state) = next_data(&mut w2, 2);
        if state["players"][&me1] == json!([1, -1]) {
            assert_eq!(state["players"][s2.user_id()], json!([0, 0]));
            seen = true;
            break;
        }
    }
    assert!(seen, "the move never showed in the state");

    // A signal from any shard reaches the handler: the label counts two.
    let signalled = answer(&rpc(
        &http,
        &s2,
        "example.signal_match",
        json!({ "match_id": match_id, "data": "label" }),
    ));
    let label: Value = serde_json::from_str(signalled["answer"].as_str().unwrap()).unwrap();
    assert_eq!(label["players"], 2);
    // match_get from any shard: the owner's view.
    let got = answer(&rpc(
        &http,
        &s2,
        "example.match_get",
        json!({ "match_id": match_id }),
    ));
    assert_eq!(got["authoritative"], true);
    assert_eq!(got["size"], 2);
    assert_eq!(got["tick_rate"], 10);
    assert_eq!(got["handler_name"], "example.arena");
    assert_eq!(
        serde_json::from_str::<Value>(got["label"].as_str().unwrap()).unwrap()["players"],
        2
    );

    // A leave reaches the other member and the handler.
    let r = w2.request("l2", "match_leave", json!({ "match_id": match_id }));
    assert!(r.get("error").is_none(), "{r}");
    let left = (0..10)
        .map(|_| w1.next_with("match_presence_event"))
        .find(|ev| ev["match_presence_event"]["leaves"].is_array())
        .expect("a leave event");
    assert_eq!(
        left["match_presence_event"]["leaves"][0]["user_id"],
        json!(s2.user_id())
    );
    let signalled = answer(&rpc(
        &http,
        &s1,
        "example.signal_match",
        json!({ "match_id": match_id, "data": "" }),
    ));
    let label: Value = serde_json::from_str(signalled["answer"].as_str().unwrap()).unwrap();
    assert_eq!(label["players"], 1);

    // Op code 99 ends the match: it is gone for joins and signals.
    w1.send_json(
        &json!({ "match_data_send": { "match_id": match_id, "op_code": "99", "data": "" } }),
    );
    let mut gone = false;
    for i in 0..100 {
        let r = rpc(
            &http,
            &s1,
            "example.signal_match",
            json!({ "match_id": match_id, "data": "" }),
        );
        if r.status == 404 {
            gone = true;
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(10 + i));
    }
    assert!(gone, "the match did not end");
    let r = w3.request("j4", "match_join", json!({ "match_id": match_id }));
    assert_eq!(r["error"]["code"], 4, "{r}");
    let got = answer(&rpc(
        &http,
        &s1,
        "example.match_get",
        json!({ "match_id": match_id }),
    ));
    assert_eq!(got, json!({}));
}

#[test]
fn match_get_describes_relayed_matches_and_refuses_bad_ids() {
    let s = TestServer::start(&kairos_tests::Backend::Sqlite);
    let http = s.http();
    let me = http.device(&unique("device-"));
    let mut ws = Ws::open(&s.addr, &me.token, "");
    let r = ws.request("c", "match_create", json!({}));
    let id = r["match"]["match_id"].as_str().unwrap().to_string();
    let got = answer(&rpc(
        &http,
        &me,
        "example.match_get",
        json!({ "match_id": id }),
    ));
    assert_eq!(got["authoritative"], false);
    assert_eq!(got["size"], 1);
    assert_eq!(got["handler_name"], "");
    // Gone once its last member leaves.
    ws.request("l", "match_leave", json!({ "match_id": id }));
    let mut gone = false;
    for _ in 0..50 {
        let got = answer(&rpc(
            &http,
            &me,
            "example.match_get",
            json!({ "match_id": id }),
        ));
        if got == json!({}) {
            gone = true;
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    assert!(gone);
    // Another node's match does not exist here; a malformed id is refused.
    let other = "9f5ad4e5-2c2b-4a8e-a0f3-4d3b1d7a0c11.elsewhere";
    let got = answer(&rpc(
        &http,
        &me,
        "example.match_get",
        json!({ "match_id": other }),
    ));
    assert_eq!(got, json!({}));
    rpc(
        &http,
        &me,
        "example.match_get",
        json!({ "match_id": "nope" }),
    )
    .assert_error(400, 3);
}

#[test]
fn a_panicking_handler_ends_only_its_match() {
    let s = TestServer::start(&kairos_tests::Backend::Sqlite);
    let http = s.http();
    let me = http.device(&unique("device-"));
    let mut ws = Ws::open(&s.addr, &me.token, "");
    let fragile = answer(&rpc(&http, &me, "test.create_fragile", json!({})))["match_id"]
        .as_str()
        .unwrap()
        .to_string();
    let steady = answer(&rpc(&http, &me, "test.create_fragile", json!({})))["match_id"]
        .as_str()
        .unwrap()
        .to_string();
    for id in [&fragile, &steady] {
        let r = ws.request("j", "match_join", json!({ "match_id": id }));
        assert_eq!(r["match"]["authoritative"], true, "{r}");
    }
    ws.send_json(
        &json!({ "match_data_send": { "match_id": fragile, "op_code": "98", "data": "" } }),
    );
    // The other match goes on ticking; the fragile one goes quiet.
    let mut last_fragile = None;
    let mut steady_ticks = 0;
    for _ in 0..400 {
        let (d, _) = next_data(&mut ws, 3);
        if d["match_id"] == json!(fragile) {
            last_fragile = Some(steady_ticks);
        } else {
            steady_ticks += 1;
        }
        if steady_ticks >= 40 {
            break;
        }
    }
    assert!(steady_ticks >= 40);
    assert!(
        last_fragile.unwrap_or(0) < 20,
        "the fragile match kept ticking"
    );
    // Its data goes nowhere now, without an error (as Nakama drops data
    // for a match the sender is not in); the session and the server are
    // fine.
    ws.send_json(
        &json!({ "match_data_send": { "match_id": fragile, "op_code": "1", "data": "" } }),
    );
    ws.send_json(&json!({ "cid": "p", "ping": {} }));
    loop {
        let v = ws.recv_json();
        assert!(v.get("error").is_none(), "no error for dropped data: {v}");
        if v.get("cid") == Some(&json!("p")) {
            assert!(v.get("pong").is_some(), "{v}");
            break;
        }
    }
}

#[test]
fn ticks_are_consecutive_and_never_stacked() {
    let s = TestServer::start(&kairos_tests::Backend::Sqlite);
    let http = s.http();
    let me = http.device(&unique("device-"));
    let mut ws = Ws::open(&s.addr, &me.token, "");
    let id = answer(&rpc(
        &http,
        &me,
        "test.create_fragile",
        json!({ "tick_rate": 60 }),
    ))["match_id"]
        .as_str()
        .unwrap()
        .to_string();
    ws.request("j", "match_join", json!({ "match_id": id }));
    // Each broadcast carries its tick number: they rise by one each time
    // (a skipped tick would show as a gap, never as a repeat).
    let mut ticks = Vec::new();
    while ticks.len() < 120 {
        let (d, _) = next_data(&mut ws, 3);
        let n: u64 = String::from_utf8(base64_decode(d["data"].as_str().unwrap()))
            .unwrap()
            .parse()
            .unwrap();
        ticks.push(n);
    }
    assert!(ticks.windows(2).all(|w| w[1] > w[0]), "{ticks:?}");
    let gaps = ticks.windows(2).filter(|w| w[1] != w[0] + 1).count();
    eprintln!("120 ticks at 60 Hz, {gaps} gaps (skipped ticks under load)");
}

#[test]
fn bad_creations_and_joins_are_refused() {
    let s = TestServer::start(&kairos_tests::Backend::Sqlite);
    let http = s.http();
    let me = http.device(&unique("device-"));
    let mut ws = Ws::open(&s.addr, &me.token, "");
    // A tick rate past kairos.runtime.max_tick_rate (60), or zero.
    for rate in [0, 61] {
        rpc(
            &http,
            &me,
            "test.create_fragile",
            json!({ "tick_rate": rate }),
        )
        .assert_error(400, 3);
    }
    // An unknown handler.
    rpc(
        &http,
        &me,
        "test.create_fragile",
        json!({ "module": "no.such" }),
    )
    .assert_error(404, 5);
    // Another node's match, an unknown one, a malformed id.
    let u = "9f5ad4e5-2c2b-4a8e-a0f3-4d3b1d7a0c11";
    for (id, code) in [
        (format!("{u}.elsewhere"), 4),
        (format!("{u}.kairos"), 4),
        ("nope.kairos".to_string(), 3),
    ] {
        let r = ws.request("j", "match_join", json!({ "match_id": id }));
        assert_eq!(r["error"]["code"], code, "{id}: {r}");
    }
    // A signal to nothing.
    rpc(
        &http,
        &me,
        "example.signal_match",
        json!({ "match_id": format!("{u}.kairos"), "data": "" }),
    )
    .assert_error(404, 5);
}

/// The example arena played by Rust clients over reliable UDP and QUIC
/// and a JSON WebSocket client, in the same match: every player's move
/// shows in the state each of them receives.
#[test]
fn arena_mixes_datagram_and_websocket_players() {
    use kairos_client::rtapi::Outgoing;
    use kairos_client::{Client, ConnectOptions, Transport};
    use std::time::{Duration, Instant};

    let s = TestServer::start(&kairos_tests::Backend::Sqlite);
    let http = s.http();
    let web = http.device(&unique("device-"));
    let id = answer(&rpc(
        &http,
        &web,
        "example.create_arena",
        json!({ "tick_rate": 20 }),
    ))["match_id"]
        .as_str()
        .unwrap()
        .to_string();
    let mut ws = Ws::open(&s.addr, &web.token, "");
    assert_eq!(
        ws.request("j", "match_join", json!({ "match_id": id }))["match"]["authoritative"],
        true
    );

    let port: u16 = s.addr.rsplit(':').next().unwrap().parse().unwrap();
    let client = Client::new("127.0.0.1", port, "defaultkey");
    let mut players = Vec::new();
    for (i, transport) in [Transport::ReliableUdp, Transport::Quic]
        .into_iter()
        .enumerate()
    {
        let sess = client
            .authenticate_device(&unique("device-"), true, None)
            .expect("authenticates");
        let mut rt = client
            .connect(&sess, transport, ConnectOptions::default())
            .unwrap_or_else(|e| panic!("{transport} connects: {e}"));
        let m = rt
            .match_join(&id)
            .unwrap_or_else(|e| panic!("{transport} joins: {e}"));
        assert!(m.authoritative);
        // Each moves a different number of steps right.
        for _ in 0..=i {
            rt.match_data_send(&id, 1, &br#"{"dx":1,"dy":0}"#[..], true, &[])
                .unwrap();
        }
        let user = sess.user_id.clone();
        players.push((rt, user, (i + 1) as i64));
    }
    ws.send_json(&json!({ "match_data_send": { "match_id": id, "op_code": "1", "data": base64(br#"{"dx":0,"dy":1}"#) } }));

    let moves: Vec<(String, i64)> = players.iter().map(|(_, u, x)| (u.clone(), *x)).collect();
    let web_id = web.user_id();
    let expected = move |state: &Value| {
        players_moved(state, &moves) && state["players"][&web_id] == json!([0, 1])
    };
    // The WebSocket player sees everyone's moves ...
    let mut seen = false;
    for _ in 0..100 {
        let (_, state) = next_data(&mut ws, 2);
        if expected(&state) {
            seen = true;
            break;
        }
    }
    assert!(seen, "the WebSocket player never saw every move");
    // ... and so does each datagram player.
    for (rt, _, _) in players.iter_mut() {
        let deadline = Instant::now() + Duration::from_secs(10);
        let mut ok = false;
        while Instant::now() < deadline && !ok {
            if let Ok(Some(msg)) = rt.poll(Duration::from_millis(200))
                && let Some(Outgoing::MatchData(d)) = msg.message
                && d.op_code == 2
            {
                let state: Value = serde_json::from_slice(&d.data).unwrap_or(Value::Null);
                ok = expected(&state);
            }
        }
        assert!(ok, "a datagram player never saw every move");
    }
}

fn players_moved(state: &Value, players: &[(String, i64)]) -> bool {
    players
        .iter()
        .all(|(user, x)| state["players"][user] == json!([x, 0]))
}

/// On SIGTERM a match's `terminate` runs with the grace period, and what
/// it broadcasts reaches its members before their sockets close.
#[test]
fn matches_hear_the_shutdown_before_their_members_are_closed() {
    let mut s = TestServer::start_with(
        &kairos_tests::Backend::Sqlite,
        &["--shards", "1", "--shutdown_grace_sec", "2"],
    );
    let http = s.http();
    let me = http.device(&unique("device-"));
    let mut ws = Ws::open(&s.addr, &me.token, "");
    let id = answer(&rpc(&http, &me, "test.create_fragile", json!({})))["match_id"]
        .as_str()
        .unwrap()
        .to_string();
    ws.request("j", "match_join", json!({ "match_id": id }));
    assert_eq!(s.terminate(std::time::Duration::from_secs(20)), Some(0));
    let (_, seen) = ws.until_close();
    let note = seen
        .iter()
        .filter_map(|v| v.get("match_data"))
        .find(|d| d["op_code"] == "4")
        .unwrap_or_else(|| panic!("no terminate broadcast in {seen:?}"));
    assert_eq!(
        base64_decode(note["data"].as_str().unwrap()),
        b"terminating in 2"
    );
}

/// A refused join carries the handler's reason, or Nakama's words when it
/// gives none.
#[test]
fn refused_joins_carry_the_handlers_reason() {
    let s = TestServer::start(&kairos_tests::Backend::Sqlite);
    let http = s.http();
    let me = http.device(&unique("device-"));
    let mut ws = Ws::open(&s.addr, &me.token, "");
    let id = answer(&rpc(&http, &me, "test.create_fragile", json!({})))["match_id"]
        .as_str()
        .unwrap()
        .to_string();
    for (reason, said) in [
        ("no spectators", "no spectators"),
        ("", "Match join rejected"),
    ] {
        let r = ws.request(
            "j",
            "match_join",
            json!({ "match_id": id, "metadata": { "reject": reason } }),
        );
        assert_eq!(r["error"], json!({ "code": 5, "message": said }), "{r}");
    }
    // Refused joins leave nothing behind: a plain join still works.
    let r = ws.request("j", "match_join", json!({ "match_id": id }));
    assert_eq!(r["match"]["size"], 1, "{r}");
}

/// A flood of input to a match is held to `kairos.runtime.match_input_queue`
/// per tick: the rest is dropped and counted, and the match and the
/// session go on.
#[test]
fn match_input_past_the_queue_bound_is_dropped_and_counted() {
    let s = TestServer::start_with_metrics(
        &kairos_tests::Backend::Sqlite,
        &["--kairos.runtime.match_input_queue", "4"],
    );
    let http = s.http();
    let me = http.device(&unique("device-"));
    let mut ws = Ws::open(&s.addr, &me.token, "");
    let id = answer(&rpc(
        &http,
        &me,
        "test.create_fragile",
        json!({ "tick_rate": 1 }),
    ))["match_id"]
        .as_str()
        .unwrap()
        .to_string();
    ws.request("j", "match_join", json!({ "match_id": id }));
    for _ in 0..200 {
        ws.send_json(&json!({ "match_data_send": { "match_id": id, "op_code": "1", "data": "" } }));
    }
    let r = ws.request("p", "ping", json!({}));
    assert!(r.get("pong").is_some(), "{r}");
    let metrics = s.metrics();
    let mut dropped = 0.0;
    for _ in 0..100 {
        let text = metrics.request("GET", "/metrics", None, None).text;
        dropped = text
            .lines()
            .filter(|l| l.starts_with("kairos_match_input_dropped_total"))
            .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
            .sum();
        if dropped > 0.0 {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    // 200 sent at a 1 Hz match that holds 4 between ticks: unless the
    // sends spread over 50 ticks, some are dropped.
    assert!(dropped > 0.0, "dropped {dropped}");
    let (d, _) = next_data(&mut ws, 3);
    assert_eq!(d["match_id"], json!(id));
}
