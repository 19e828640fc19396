//! Relayed matches across shards: create, join, data both ways, presence
//! events, ordering, leaving and abrupt disconnects, bad input, and the
//! replicas that let data leave from the sender's shard.

use std::time::{Duration, Instant};

use kairos_tests::{Backend, Http, TestServer, Ws, backend_tests, unique};
use serde_json::{Value, json};

backend_tests!(
    four_players_share_a_relayed_match_across_shards,
    a_member_who_left_hears_no_more_and_replicas_go
);

/// Asserts that nothing reaches `ws` before the answer to a ping it sends
/// now: no error, no match data (what Nakama sends for data it drops).
fn hears_nothing(ws: &mut Ws, cid: &str) {
    ws.send_json(&json!({"cid": cid, "ping": {}}));
    loop {
        let v = ws.recv_json();
        assert!(
            v.get("error").is_none() && v.get("match_data").is_none(),
            "nothing before the pong: {v}"
        );
        if v.get("cid") == Some(&json!(cid)) {
            return;
        }
    }
}

/// Keeps sessions on the shard that accepted them, so that a match's
/// members stay spread over both shards (sessions that may move go to
/// their match's shard otherwise: `tests/session_moves.rs`).
const STAY: [&str; 2] = ["--kairos.session.move_to_match", "false"];

fn player(s: &TestServer) -> (Ws, String) {
    let sess = s.http().device(&unique("device-"));
    let ws = Ws::open(&s.addr, &sess.token, "");
    (ws, sess.user_id())
}

fn four_players_share_a_relayed_match_across_shards(b: &Backend) {
    let s = TestServer::start_with(b, &STAY);
    let mut players: Vec<(Ws, String)> = (0..4).map(|_| player(&s)).collect();
    // Make sure both shards host players (open more sockets if needed).
    let mut tries = 0;
    while players.iter().all(|p| p.0.shard == players[0].0.shard) && tries < 20 {
        players.pop();
        players.push(player(&s));
        tries += 1;
    }
    assert!(
        players.iter().any(|p| p.0.shard != players[0].0.shard),
        "players on both shards"
    );

    players[0]
        .0
        .send_json(&json!({"cid": "1", "match_create": {}}));
    let created = players[0].0.next_with("match");
    assert_eq!(created["cid"], "1");
    let match_id = created["match"]["match_id"].as_str().unwrap().to_string();
    assert!(match_id.ends_with('.'), "{match_id}");
    assert_eq!(created["match"]["size"], 1);
    assert_eq!(created["match"]["self"]["user_id"], json!(players[0].1));
    // The creator hears of its own join, as in Nakama.
    let own = players[0].0.next_with("match_presence_event");
    assert_eq!(
        own["match_presence_event"]["joins"][0]["session_id"],
        created["match"]["self"]["session_id"]
    );

    for i in 1..4 {
        players[i]
            .0
            .send_json(&json!({"cid": "j", "match_join": {"match_id": match_id}}));
        let joined = players[i].0.next_with("match");
        assert_eq!(joined["match"]["size"], json!(i + 1));
        assert_eq!(
            joined["match"]["presences"].as_array().unwrap().len(),
            i,
            "the others: {joined}"
        );
        // Everyone hears of the join, the joiner included.
        for p in players.iter_mut().take(i + 1) {
            let ev = p.0.next_with("match_presence_event");
            assert_eq!(
                ev["match_presence_event"]["joins"][0]["user_id"],
                json!(players_id(i, &joined))
            );
        }
    }

    let ids: Vec<String> = players.iter().map(|p| p.1.clone()).collect();
    // Data from player 0 reaches the three others, not the sender.
    players[0].0.send_json(&json!({"match_data_send": {"match_id": match_id, "op_code": "1", "data": "aGVsbG8=", "reliable": true}}));
    for p in players.iter_mut().skip(1) {
        let d = p.0.next_with("match_data");
        assert_eq!(d["match_data"]["op_code"], "1");
        assert_eq!(d["match_data"]["data"], "aGVsbG8=");
        assert_eq!(d["match_data"]["reliable"], true);
        assert_eq!(d["match_data"]["presence"]["user_id"], json!(ids[0]));
    }
    // And the other way, to a subset: player 3 to player 0 only.
    let p0_session = created["match"]["self"]["session_id"].clone();
    players[3].0.send_json(
        &json!({"match_data_send": {"match_id": match_id, "op_code": 2, "data": "eA==",
        "presences": [{"user_id": ids[0], "session_id": p0_session, "username": ""}]}}),
    );
    let d = players[0].0.next_with("match_data");
    assert_eq!(d["match_data"]["op_code"], "2");
    assert_eq!(d["match_data"]["presence"]["user_id"], json!(ids[3]));

    // Order is kept per sender, across shards.
    for n in 0..300 {
        players[1].0.send_json(
            &json!({"match_data_send": {"match_id": match_id, "op_code": n + 10, "data": ""}}),
        );
    }
    for receiver in [0usize, 2, 3] {
        for n in 0..300 {
            let d = players[receiver].0.next_with("match_data");
            assert_eq!(
                d["match_data"]["op_code"],
                json!((n + 10).to_string()),
                "receiver {receiver}"
            );
        }
    }

    // A leaves properly; D vanishes without a close. Both are announced.
    players[2]
        .0
        .send_json(&json!({"cid": "l", "match_leave": {"match_id": match_id}}));
    assert_eq!(players[2].0.next_with("cid"), json!({"cid": "l"}));
    let leaver = players[2].1.clone();
    for i in [0usize, 1, 3] {
        let ev = players[i].0.next_with("match_presence_event");
        assert_eq!(
            ev["match_presence_event"]["leaves"][0]["user_id"],
            json!(leaver)
        );
    }
    let (gone, gone_id) = players.remove(3);
    drop(gone); // TCP closed without a WebSocket close
    for i in [0usize, 1] {
        let ev = players[i].0.next_with("match_presence_event");
        assert_eq!(
            ev["match_presence_event"]["leaves"][0]["user_id"],
            json!(gone_id)
        );
    }
    // The match goes on for the rest.
    players[1].0.send_json(
        &json!({"match_data_send": {"match_id": match_id, "op_code": "5", "data": "AA=="}}),
    );
    assert_eq!(
        players[0].0.next_with("match_data")["match_data"]["op_code"],
        "5"
    );
    // The leaver is no longer a member: its data goes nowhere, and, as
    // with Nakama, it hears no error either.
    players[2]
        .0
        .send_json(&json!({"match_data_send": {"match_id": match_id, "op_code": "9", "data": ""}}));
    hears_nothing(&mut players[2].0, "after-leave");
    players[1]
        .0
        .send_json(&json!({"match_data_send": {"match_id": match_id, "op_code": "6", "data": ""}}));
    assert_eq!(
        players[0].0.next_with("match_data")["match_data"]["op_code"],
        "6",
        "the leaver's data was not relayed"
    );
}

fn players_id(_i: usize, joined: &Value) -> Value {
    joined["match"]["self"]["user_id"].clone()
}

#[test]
fn bad_match_requests() {
    let s = TestServer::start(&kairos_tests::Backend::Sqlite);
    let (mut ws, _) = player(&s);
    let unknown = format!("{}.", uuid_v4_like());
    ws.send_json(&json!({"cid": "1", "match_join": {"match_id": unknown}}));
    let e = ws.next_with("error");
    assert_eq!(
        (e["cid"].clone(), e["error"]["code"].clone()),
        (json!("1"), json!(4))
    );
    ws.send_json(&json!({"cid": "2", "match_join": {"match_id": "not-a-match"}}));
    assert_eq!(ws.next_with("error")["error"]["code"], 3);
    ws.send_json(
        &json!({"cid": "3", "match_join": {"match_id": format!("{}.node", uuid_v4_like())}}),
    );
    assert_eq!(ws.next_with("error")["error"]["code"], 4);
    // Data for a match the sender is not in is dropped without a word, as
    // Nakama's pipeline drops it: an unknown match, another node's, or
    // presences that are not user and session ids. Only a malformed match
    // id is answered, without a cid.
    ws.send_json(&json!({"match_data_send": {"match_id": unknown, "op_code": "1", "data": ""}}));
    let other_node = format!("{}.node", uuid_v4_like());
    ws.send_json(&json!({"match_data_send": {"match_id": other_node, "op_code": "1", "data": ""}}));
    let bad_presence = json!([{"user_id": "nope", "session_id": uuid_v4_like()}]);
    ws.send_json(&json!({"match_data_send": {
        "match_id": unknown, "op_code": "1", "data": "", "presences": bad_presence}}));
    hears_nothing(&mut ws, "silent");
    ws.send_json(
        &json!({"match_data_send": {"match_id": "not-a-match", "op_code": "1", "data": ""}}),
    );
    let e = ws.next_with("error");
    assert_eq!(
        (e["error"]["code"].clone(), e["error"]["message"].clone()),
        (json!(3), json!("Invalid match ID"))
    );
    assert!(e.get("cid").is_none());
    // Leaving always succeeds once the id parses, as Nakama's matchLeave
    // does: a match never joined, or another node's. A malformed id is
    // refused.
    for (cid, id) in [("l1", &unknown), ("l2", &other_node)] {
        ws.send_json(&json!({"cid": cid, "match_leave": {"match_id": id}}));
        assert_eq!(ws.recv_json(), json!({ "cid": cid }), "leave {id}");
    }
    ws.send_json(&json!({"cid": "l3", "match_leave": {"match_id": "not-a-match"}}));
    let e = ws.recv_json();
    assert_eq!(
        (e["cid"].clone(), e["error"]["code"].clone()),
        (json!("l3"), json!(3))
    );
    // Joining twice answers the match again without a second presence:
    // every presence, the caller's own included (as Nakama does for a
    // session already in the match), and no second join event.
    ws.send_json(&json!({"cid": "4", "match_create": {"name": unique("room")}}));
    let m = ws.next_with("match");
    let id = m["match"]["match_id"].clone();
    assert!(
        m["match"].get("presences").is_none(),
        "a new match has no one else: {m}"
    );
    let own = ws.next_with("match_presence_event");
    assert_eq!(
        own["match_presence_event"]["joins"][0]["session_id"],
        m["match"]["self"]["session_id"]
    );
    ws.send_json(&json!({"cid": "5", "match_join": {"match_id": id}}));
    let again = ws.next_with("match");
    assert_eq!(again["match"]["size"], 1);
    assert_eq!(
        again["match"]["presences"],
        json!([m["match"]["self"].clone()]),
        "a member joining again is listed: {again}"
    );
    ws.send_json(&json!({"cid": "6", "ping": {}}));
    let next = ws.recv_json();
    assert_eq!(
        next["cid"], "6",
        "no second join event before the pong: {next}"
    );
    // Oversized data closes the socket with 1009; the server goes on.
    ws.send_json(
        &json!({"match_data_send": {"match_id": id, "op_code": "1", "data": "A".repeat(8000)}}),
    );
    assert_eq!(ws.until_close().0.map(|c| c.0), Some(1009));
    let (mut other, _) = player(&s);
    other.send_json(&json!({"cid": "p", "ping": {}}));
    assert_eq!(other.next_with("pong")["cid"], "p");
}

#[test]
fn named_matches_meet() {
    let s = TestServer::start(&kairos_tests::Backend::Sqlite);
    let name = unique("arena-");
    let (mut a, _) = player(&s);
    let (mut b, _) = player(&s);
    a.send_json(&json!({"cid": "1", "match_create": {"name": name}}));
    let ma = a.next_with("match");
    b.send_json(&json!({"cid": "1", "match_create": {"name": name}}));
    let mb = b.next_with("match");
    assert_eq!(ma["match"]["match_id"], mb["match"]["match_id"]);
    assert_eq!(mb["match"]["size"], 2);
    let _ = Duration::ZERO;
}

fn uuid_v4_like() -> String {
    let u = unique("");
    let hex: String = u
        .bytes()
        .map(|b| format!("{:02x}", b))
        .collect::<String>()
        .chars()
        .take(32)
        .collect();
    format!(
        "{}-{}-4{}-8{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[13..16],
        &hex[17..20],
        &hex[20..32]
    )
}

/// `kairos_shard_relay_replicas`, summed over shards.
fn replicas(metrics: &Http) -> u64 {
    let r = metrics.request("GET", "/metrics", None, None);
    assert_eq!(r.status, 200, "{}", r.text);
    r.text
        .lines()
        .filter(|l| l.starts_with("kairos_shard_relay_replicas{"))
        .map(|l| l.rsplit(' ').next().unwrap().parse::<u64>().unwrap())
        .sum()
}

fn wait_for_replicas(metrics: &Http, want: u64) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while replicas(metrics) != want {
        assert!(Instant::now() < deadline, "replicas never reached {want}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Data leaves from the sender's shard, from a replica of the match's
/// members; a member who has left must still hear nothing more, even
/// while a burst from another shard is in flight, and every replica
/// goes once its shard has no member left.
fn a_member_who_left_hears_no_more_and_replicas_go(b: &Backend) {
    let s = TestServer::start_with_metrics(b, &[STAY[0], STAY[1]]);
    let metrics = s.metrics();
    // A sender on one shard, a leaver and a stayer on the other.
    let (mut sender, _) = player(&s);
    let mut others = Vec::new();
    for _ in 0..60 {
        let p = player(&s);
        if p.0.shard != sender.shard {
            others.push(p.0);
            if others.len() == 2 {
                break;
            }
        }
    }
    assert_eq!(others.len(), 2, "two sockets on the other shard");
    let mut stayer = others.pop().unwrap();
    let mut leaver = others.pop().unwrap();

    sender.send_json(&json!({"cid": "1", "match_create": {}}));
    let match_id = sender.next_with("match")["match"]["match_id"]
        .as_str()
        .unwrap()
        .to_string();
    for ws in [&mut leaver, &mut stayer] {
        ws.send_json(&json!({"cid": "j", "match_join": {"match_id": match_id}}));
        ws.next_with("match");
    }
    // One replica on each shard.
    wait_for_replicas(&metrics, 2);

    const BURST: usize = 1000;
    // The stayer reads the whole burst as it comes.
    let stayer = std::thread::spawn(move || {
        for n in 0..BURST {
            let d = stayer.next_with("match_data");
            assert_eq!(d["match_data"]["op_code"], json!((n + 1).to_string()));
        }
        stayer
    });
    for n in 0..BURST {
        sender.send_json(
            &json!({"match_data_send": {"match_id": match_id, "op_code": n + 1, "data": ""}}),
        );
    }
    // The leaver leaves in the middle of the burst.
    loop {
        let v = leaver.recv_json();
        if v["match_data"]["op_code"] == json!("20") {
            break;
        }
    }
    leaver.send_json(&json!({"cid": "l", "match_leave": {"match_id": match_id}}));
    loop {
        let v = leaver.recv_json();
        if v.get("cid") == Some(&json!("l")) {
            break;
        }
    }
    // Once the stayer has everything, every relay to that shard has been
    // handled: nothing may reach the leaver between its leave's reply
    // and the answer to a ping it sends now.
    let stayer = stayer.join().expect("the stayer heard the whole burst");
    leaver.send_json(&json!({"cid": "p", "ping": {}}));
    loop {
        let v = leaver.recv_json();
        assert!(
            v.get("match_data").is_none(),
            "data after leaving the match: {v}"
        );
        if v.get("cid") == Some(&json!("p")) {
            break;
        }
    }
    // Its data goes nowhere now, without an error (as Nakama): the stayer,
    // on the leaver's shard, hears the sender's next message first.
    leaver
        .send_json(&json!({"match_data_send": {"match_id": match_id, "op_code": "9", "data": ""}}));
    hears_nothing(&mut leaver, "after-leave");
    let mut stayer = stayer;
    sender.send_json(
        &json!({"match_data_send": {"match_id": match_id, "op_code": "2000", "data": ""}}),
    );
    assert_eq!(
        stayer.next_with("match_data")["match_data"]["op_code"],
        "2000",
        "the leaver's data was not relayed"
    );

    // The stayer's shard keeps its replica; when the stayer goes too,
    // only the sender's is left, and then none.
    wait_for_replicas(&metrics, 2);
    drop(stayer);
    wait_for_replicas(&metrics, 1);
    sender.send_json(&json!({"cid": "l", "match_leave": {"match_id": match_id}}));
    wait_for_replicas(&metrics, 0);
}
