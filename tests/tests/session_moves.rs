//! WebSocket sessions move to the shard that owns the match they join
//! (`kairos.session.move_to_match`, on by default): the client sees
//! nothing of it. Replies, match data and the envelopes it pipelined
//! behind its join keep their order; notifications, kicks and bans sent
//! while it moves, or after, reach it; sessions that something records
//! on their shard (status, parties) stay where they are.
//!
//! Only the tokio runtime can move a socket between shards
//! (`rt::STREAMS_MOVE`); on glommio and monoio the same tests check that
//! nobody moves and that all of it works across shards.

use std::time::{Duration, Instant};

use kairos_tests::{Backend, Http, TestServer, Ws, backend_tests, unique};
use serde_json::{Value, json};
use tungstenite::Message;

backend_tests!(
    a_joiner_moves_to_its_match_with_everything_in_order,
    what_is_sent_to_a_moving_session_reaches_it,
    sessions_recorded_on_their_shard_stay,
    a_session_moves_from_match_to_match,
    a_member_who_left_hears_no_more_on_the_matchs_shard,
    matched_players_meet_on_their_matchs_shard,
    new_matches_are_packed_onto_the_first_shard_with_room,
    matchmaker_matches_are_packed_too
);

/// Whether this build moves sessions: moves counted are 1 per move here,
/// 0 where the runtime cannot move a socket.
fn moves() -> u64 {
    u64::from(kairos_shards::rt::STREAMS_MOVE)
}

fn modules_dir() -> String {
    std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("lua")
        .to_string_lossy()
        .into_owned()
}

/// A two-shard server with its metrics endpoint and the test modules,
/// whose unnamed matches are made on their creators' shards (packing off):
/// these tests place creators and joiners on chosen shards.
fn start(b: &Backend, extra: &[&str]) -> (TestServer, Http) {
    let mut args = vec!["--kairos.session.pack_matches_below", "0"];
    args.extend_from_slice(extra);
    start_packing(b, &args)
}

/// The same server, new matches packed as by default.
fn start_packing(b: &Backend, extra: &[&str]) -> (TestServer, Http) {
    let dir = modules_dir();
    let mut args = vec!["--runtime.path", &dir];
    args.extend_from_slice(extra);
    let s = TestServer::start_with_metrics(b, &args);
    let metrics = s.metrics();
    (s, metrics)
}

/// A metric's value on one shard.
fn metric(metrics: &Http, name: &str, shard: u32) -> u64 {
    metric_as(metrics, name, shard)
}

/// A metric's value on one shard, as `T` (a count, or a number with a
/// fraction).
fn metric_as<T: std::str::FromStr>(metrics: &Http, name: &str, shard: u32) -> T {
    let r = metrics.request("GET", "/metrics", None, None);
    assert_eq!(r.status, 200, "{}", r.text);
    let label = format!("shard=\"{shard}\"}} ");
    r.text
        .lines()
        .filter(|l| l.starts_with(&format!("{name}{{")))
        .find_map(|l| l.split_once(&label).map(|(_, v)| v))
        .unwrap_or_else(|| panic!("no {name} on shard {shard}"))
        .parse()
        .unwrap_or_else(|_| panic!("{name} on shard {shard} is not a number"))
}

/// Waits until a metric reaches `want` on one shard.
fn wait_for(metrics: &Http, name: &str, shard: u32, want: u64) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let got = metric(metrics, name, shard);
        if got == want {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{name} on shard {shard}: {got}, never {want}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// A new user's socket, and its user id.
fn player(s: &TestServer, extra: &str) -> (Ws, String) {
    let sess = s.http().device(&unique("device-"));
    (Ws::open(&s.addr, &sess.token, extra), sess.user_id())
}

/// A new user's socket on another shard than `shard`.
fn player_off(s: &TestServer, shard: Option<u32>, extra: &str) -> (Ws, String) {
    let sess = s.http().device(&unique("device-"));
    (socket_off(s, &sess.token, shard, extra), sess.user_id())
}

/// A socket of the user with `token` on another shard than `shard`.
fn socket_off(s: &TestServer, token: &str, shard: Option<u32>, extra: &str) -> Ws {
    for _ in 0..64 {
        let ws = Ws::open(&s.addr, token, extra);
        if ws.shard != shard {
            return ws;
        }
    }
    panic!("no socket landed off shard {shard:?}");
}

/// Creates an unnamed match; returns its id.
fn create(ws: &mut Ws) -> String {
    let m = ws.request("create", "match_create", json!({}));
    m["match"]["match_id"]
        .as_str()
        .expect("match id")
        .to_string()
}

/// Writes several envelopes in one go, so that the server reads them
/// together.
fn pipeline(ws: &mut Ws, envelopes: &[Value]) {
    for e in envelopes {
        ws.socket
            .write(Message::Text(e.to_string().into()))
            .expect("write");
    }
    ws.socket.flush().expect("flush");
}

fn data(match_id: &str, op: usize) -> Value {
    json!({"match_data_send": {"match_id": match_id, "op_code": op.to_string(), "data": ""}})
}

fn a_joiner_moves_to_its_match_with_everything_in_order(b: &Backend) {
    let (s, metrics) = start(b, &[]);
    let (mut creator, _) = player(&s, "");
    let home = creator.shard.expect("shard header");
    let match_id = create(&mut creator);
    creator.next_with("match_presence_event");
    let (mut joiner, joiner_id) = player_off(&s, creator.shard, "");
    let away = joiner.shard.expect("shard header");

    // The join, data behind it and a ping, read by the server together:
    // the join moves the socket, the rest must follow it there in order.
    const SENT: usize = 50;
    let mut burst = vec![json!({"cid": "j", "match_join": {"match_id": match_id}})];
    burst.extend((1..=SENT).map(|op| data(&match_id, op)));
    burst.push(json!({"cid": "p", "ping": {}}));
    pipeline(&mut joiner, &burst);

    let joined = joiner.recv_json();
    assert_eq!(joined["cid"], "j", "the join is answered first: {joined}");
    assert_eq!(joined["match"]["size"], 2, "{joined}");
    let own = joiner.recv_json();
    assert!(own.get("match_presence_event").is_some(), "{own}");
    let pong = joiner.recv_json();
    assert_eq!(pong, json!({"cid": "p", "pong": {}}), "then the ping");

    let ev = creator.next_with("match_presence_event");
    assert_eq!(
        ev["match_presence_event"]["joins"][0]["user_id"],
        json!(joiner_id)
    );
    for op in 1..=SENT {
        let d = creator.recv_json();
        assert_eq!(
            d["match_data"]["op_code"],
            json!(op.to_string()),
            "data in order: {d}"
        );
        assert_eq!(d["match_data"]["presence"]["user_id"], json!(joiner_id));
    }
    creator.send_json(&data(&match_id, 99));
    assert_eq!(
        joiner.next_with("match_data")["match_data"]["op_code"],
        "99"
    );

    // It moved: one session left the joiner's shard for the match's.
    assert_eq!(
        metric(&metrics, "kairos_shard_sessions_moved_total", away),
        moves()
    );
    assert_eq!(
        metric(&metrics, "kairos_shard_sessions_moved_total", home),
        0
    );
    assert_eq!(metric(&metrics, "kairos_shard_sessions", home), 1 + moves());
    assert_eq!(metric(&metrics, "kairos_shard_sessions", away), 1 - moves());
    assert_eq!(
        metric(&metrics, "kairos_shard_session_forwards", away),
        moves()
    );

    // Its end is announced to the match, and its old shard forgets it.
    joiner.close();
    let ev = creator.next_with("match_presence_event");
    assert_eq!(
        ev["match_presence_event"]["leaves"][0]["user_id"],
        json!(joiner_id)
    );
    wait_for(&metrics, "kairos_shard_session_forwards", away, 0);
    wait_for(&metrics, "kairos_shard_sessions", home, 1);
    wait_for(&metrics, "kairos_shard_sessions", away, 0);
}

/// The numbers of the storm notifications in `envelopes`.
fn storm_numbers(envelopes: &[Value]) -> Vec<u64> {
    envelopes
        .iter()
        .filter_map(|v| v["notifications"]["notifications"].as_array())
        .flatten()
        .filter(|n| n["subject"] == "storm")
        .map(|n| {
            let content: Value =
                serde_json::from_str(n["content"].as_str().expect("content")).expect("json");
            content["n"].as_u64().expect("n")
        })
        .collect()
}

fn what_is_sent_to_a_moving_session_reaches_it(b: &Backend) {
    // A queue long enough for the whole storm, read slower than it comes.
    let (s, metrics) = start(b, &["--socket.outgoing_queue_size", "4096"]);
    let http = s.http();
    let (mut creator, _) = player(&s, "");
    let match_id = create(&mut creator);
    let (mut joiner, joiner_id) = player_off(&s, creator.shard, "");
    let away = joiner.shard.expect("shard header");

    // A storm of notifications from game code on the match's shard, which
    // the joiner's join interrupts: while that shard runs the storm, it
    // cannot take the joiner in, so it keeps sending the notifications to
    // the joiner's old shard, which forwards them behind the joiner. None
    // is lost, repeated or reordered.
    const STORM: u64 = 3000;
    let payload = json!({"user_id": joiner_id, "count": STORM}).to_string();
    creator.send_json(&json!({"cid": "storm", "rpc": {"id": "moves.notify", "payload": payload}}));
    let mut seen = vec![joiner.next_with("notifications")];
    joiner.send_json(&json!({"cid": "j", "match_join": {"match_id": match_id}}));
    let mut numbers = storm_numbers(&seen);
    let mut joined = false;
    while numbers.len() < STORM as usize || !joined {
        let v = joiner.recv_json();
        joined |= v["cid"] == "j" && v.get("match").is_some();
        seen = vec![v];
        numbers.extend(storm_numbers(&seen));
    }
    assert_eq!(
        numbers,
        (1..=STORM).collect::<Vec<_>>(),
        "every notification, once, in order"
    );
    assert!(creator.next_with("rpc")["cid"] == "storm");
    assert_eq!(
        metric(&metrics, "kairos_shard_sessions_moved_total", away),
        moves(),
        "the joiner moved"
    );

    // Game code's disconnect finds it on its new shard.
    let who = joiner.request("w", "rpc", json!({"id": "sessions.whoami"}));
    let session: Value = serde_json::from_str(who["rpc"]["payload"].as_str().unwrap()).unwrap();
    let r = http.request(
        "POST",
        "/v2/rpc/sessions.disconnect?http_key=defaulthttpkey",
        None,
        Some(
            &Value::String(json!({"session_id": session["session_id"], "reason": 0}).to_string())
                .to_string(),
        ),
    );
    assert_eq!(r.status, 200, "{}", r.text);
    let (close, _) = joiner.until_close();
    assert!(
        close.as_ref().is_none_or(|(code, _)| *code == 1000),
        "{close:?}"
    );

    // A ban closes moved sockets too, with its notice, even two of one
    // user that moved in opposite directions (each shard forwards to the
    // other): the kicks follow each session, and nothing goes round.
    let (mut other_host, _) = player_off(&s, creator.shard, "");
    let other_match = create(&mut other_host);
    let banned = s.http().device(&unique("banned-"));
    let banned_id = banned.user_id();
    let mut sockets = Vec::new();
    for (shard_of_match, id) in [(creator.shard, &match_id), (other_host.shard, &other_match)] {
        let mut ws = socket_off(&s, &banned.token, shard_of_match, "");
        ws.request("j", "match_join", json!({"match_id": id}));
        sockets.push(ws);
    }
    let r = http.request(
        "POST",
        "/v2/rpc/sessions.ban?http_key=defaulthttpkey",
        None,
        Some(&Value::String(json!({"ids": [banned_id]}).to_string()).to_string()),
    );
    assert_eq!(r.status, 200, "{}", r.text);
    for ws in &mut sockets {
        let (_, seen) = ws.until_close();
        assert!(
            seen.iter()
                .any(|v| v["notifications"]["notifications"][0]["code"] == -8),
            "told it is banned: {seen:?}"
        );
    }
    let mesh = || -> u64 {
        (0..2)
            .map(|shard| metric(&metrics, "kairos_shard_mesh_received_total", shard))
            .sum()
    };
    let before = mesh();
    std::thread::sleep(Duration::from_millis(300));
    let after = mesh();
    assert!(
        after - before < 100,
        "the mesh is quiet: {before} then {after}"
    );
}

fn sessions_recorded_on_their_shard_stay(b: &Backend) {
    let (s, metrics) = start(b, &[]);
    let (mut creator, _) = player(&s, "");
    let match_id = create(&mut creator);
    let away = |ws: &Ws| ws.shard.expect("shard header");

    // Shown online: its status presence lives with its shard.
    let (mut online, _) = player_off(&s, creator.shard, "&status=true");
    online.request("j", "match_join", json!({"match_id": match_id}));
    // In a party: the party keeps its shard.
    let (mut partier, _) = player_off(&s, creator.shard, "");
    partier.request("p", "party_create", json!({"open": true, "max_size": 2}));
    partier.request("j", "match_join", json!({"match_id": match_id}));
    for ws in [&online, &partier] {
        assert_eq!(
            metric(&metrics, "kairos_shard_sessions_moved_total", away(ws)),
            0
        );
    }
    // They are served where they are: data reaches them from the creator.
    creator.send_json(&data(&match_id, 7));
    for ws in [&mut online, &mut partier] {
        assert_eq!(ws.next_with("match_data")["match_data"]["op_code"], "7");
    }

    // And with moves turned off, nobody moves.
    let (s, metrics) = start(b, &["--kairos.session.move_to_match", "false"]);
    let (mut creator, _) = player(&s, "");
    let match_id = create(&mut creator);
    let (mut joiner, _) = player_off(&s, creator.shard, "");
    joiner.request("j", "match_join", json!({"match_id": match_id}));
    creator.send_json(&data(&match_id, 8));
    assert_eq!(joiner.next_with("match_data")["match_data"]["op_code"], "8");
    assert_eq!(
        metric(&metrics, "kairos_shard_sessions_moved_total", away(&joiner)),
        0
    );
}

fn a_session_moves_from_match_to_match(b: &Backend) {
    let (s, metrics) = start(b, &[]);
    // Two matches, one created on each shard.
    let (mut first_host, _) = player(&s, "");
    let (mut second_host, _) = player_off(&s, first_host.shard, "");
    let hosts = [first_host.shard, second_host.shard];
    let ids = [create(&mut first_host), create(&mut second_host)];
    let (mut roamer, roamer_id) = player(&s, "");

    // Match after match, alternating shards: every join is answered and
    // every match hears the roamer, whichever shard serves it by then.
    for round in 0..4 {
        let (id, host) = if round % 2 == 0 {
            (&ids[0], &mut first_host)
        } else {
            (&ids[1], &mut second_host)
        };
        let joined = roamer.request("j", "match_join", json!({"match_id": id}));
        assert_eq!(joined["match"]["size"], 2, "round {round}: {joined}");
        roamer.send_json(&data(id, round + 1));
        let d = host.next_with("match_data");
        assert_eq!(d["match_data"]["presence"]["user_id"], json!(roamer_id));
        assert_eq!(d["match_data"]["op_code"], json!((round + 1).to_string()));
        let left = roamer.request("l", "match_leave", json!({"match_id": id}));
        assert_eq!(left, json!({"cid": "l"}));
        host.next_with("match_presence_event");
    }
    // Each move went from one shard to the other; at most one per join.
    let moved: u64 = hosts
        .iter()
        .map(|h| metric(&metrics, "kairos_shard_sessions_moved_total", h.unwrap()))
        .sum();
    assert!(
        (moves()..=4 * moves()).contains(&moved),
        "moved {moved} times"
    );
    roamer.request("p", "ping", json!({}));
}

/// With every member on the match's shard, that shard's replica alone
/// says who is a member (the members' own stream lists are not asked):
/// a member who leaves in the middle of a burst hears nothing after its
/// leave's reply, and its own data goes nowhere.
fn a_member_who_left_hears_no_more_on_the_matchs_shard(b: &Backend) {
    let (s, metrics) = start(b, &[]);
    let (mut sender, _) = player(&s, "");
    let home = sender.shard.expect("shard header");
    let match_id = create(&mut sender);
    let (mut leaver, _) = player_off(&s, sender.shard, "");
    let (mut stayer, _) = player_off(&s, sender.shard, "");
    for ws in [&mut leaver, &mut stayer] {
        ws.request("j", "match_join", json!({"match_id": match_id}));
    }
    assert_eq!(
        metric(&metrics, "kairos_shard_sessions", home),
        1 + 2 * moves()
    );

    const BURST: usize = 1000;
    let stayer = std::thread::spawn(move || {
        for n in 1..=BURST {
            let d = stayer.next_with("match_data");
            assert_eq!(d["match_data"]["op_code"], json!(n.to_string()));
        }
        stayer
    });
    for n in 1..=BURST {
        sender.send_json(&data(&match_id, n));
    }
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
    let mut stayer = stayer.join().expect("the stayer heard the whole burst");
    leaver.send_json(&json!({"cid": "p", "ping": {}}));
    loop {
        let v = leaver.recv_json();
        assert!(v.get("match_data").is_none(), "data after leaving: {v}");
        if v.get("cid") == Some(&json!("p")) {
            break;
        }
    }
    leaver.send_json(&data(&match_id, 9));
    // Served before this ping's answer, and relayed (it would be) at once.
    leaver.request("p2", "ping", json!({}));
    sender.send_json(&data(&match_id, 2000));
    let d = stayer.next_with("match_data");
    assert_eq!(d["match_data"]["op_code"], "2000", "not the leaver's: {d}");
}

/// The matchmaker's way: two players on different shards are matched,
/// and join the match their token names; the one not on its shard moves
/// there (a ticket matched is no ticket queued), and they play.
fn matched_players_meet_on_their_matchs_shard(b: &Backend) {
    let (s, metrics) = start(b, &["--kairos.matchmaker.interval_ms", "50"]);
    let (mut a, _) = player(&s, "");
    let (mut b2, b_id) = player_off(&s, a.shard, "");
    let match_id = matchmake_pair(&mut a, &mut b2);
    a.send_json(&data(&match_id, 5));
    let d = b2.next_with("match_data");
    assert_eq!(d["match_data"]["op_code"], "5");
    b2.send_json(&data(&match_id, 6));
    let d = a.next_with("match_data");
    assert_eq!(d["match_data"]["presence"]["user_id"], json!(b_id));
    let moved: u64 = [a.shard, b2.shard]
        .iter()
        .map(|s| metric(&metrics, "kairos_shard_sessions_moved_total", s.unwrap()))
        .sum();
    assert_eq!(moved, moves(), "the one off the match's shard moved");
}

/// Queues two sockets in the matchmaker for a match of their own; each
/// joins with the token it is given. Returns the match's id.
fn matchmake_pair(a: &mut Ws, b: &mut Ws) -> String {
    let run = unique("run");
    for ws in [&mut *a, &mut *b] {
        let t = ws.request(
            "add",
            "matchmaker_add",
            json!({
                "min_count": 2,
                "max_count": 2,
                "query": format!("+properties.run:{run}"),
                "string_properties": {"run": run},
            }),
        );
        assert!(t.get("matchmaker_ticket").is_some(), "{t}");
    }
    let mut match_id = String::new();
    for ws in [a, b] {
        let matched = ws.next_with("matchmaker_matched");
        let token = matched["matchmaker_matched"]["token"]
            .as_str()
            .expect("a token")
            .to_string();
        let joined = ws.request("j", "match_join", json!({"token": token}));
        match_id = joined["match"]["match_id"]
            .as_str()
            .expect("joined")
            .to_string();
    }
    match_id
}

/// The shard that owns a relayed match.
fn owner(match_id: &str) -> usize {
    let (id, _node) = match_id.split_once('.').expect("id.node");
    let id = uuid::Uuid::parse_str(id).expect("a uuid");
    kairos_shards::fanout::StreamId::relayed_match(id).owner(2)
}

/// Packing, on by default: an idle node makes each unnamed match on shard
/// 0, its creator moving there from shard 1, until the shard has had
/// `pack_matches_per_sec` new matches this second; the rest are made
/// where their creators are. Where sessions cannot move, every match is
/// made on its creator's shard.
fn new_matches_are_packed_onto_the_first_shard_with_room(b: &Backend) {
    let (s, metrics) = start_packing(b, &["--kairos.session.pack_matches_per_sec", "1"]);
    let busy: f64 = metric_as(&metrics, "kairos_shard_busy_ratio", 0);
    assert!((0.0..=1.0).contains(&busy), "busy {busy}");

    // Creators on shard 1, back to back: the first match goes to shard 0;
    // the second, within shard 0's second, stays on shard 1 unless a new
    // second began in between (at most one per second elapsed).
    let started = Instant::now();
    let mut creators = Vec::new();
    let mut owners = Vec::new();
    for _ in 0..4 {
        let (mut ws, id) = player_off(&s, Some(0), "");
        let match_id = create(&mut ws);
        ws.next_with("match_presence_event");
        owners.push(owner(&match_id));
        creators.push((ws, id, match_id));
    }
    let seconds = started.elapsed().as_secs() as usize;
    let packed = owners.iter().filter(|&&o| o == 0).count();
    let moved = metric(&metrics, "kairos_shard_sessions_moved_total", 1);
    if moves() == 0 {
        // Nobody moves, so nothing is packed (ids are drawn at random).
        assert_eq!(moved, 0);
    } else {
        assert_eq!(owners[0], 0, "the first packed onto shard 0: {owners:?}");
        assert!(
            packed <= 2 + seconds,
            "one a second: {owners:?} in {seconds} s"
        );
        assert_eq!(moved as usize, packed, "each creator packed moved once");
    }

    // A packed match works as any other: a joiner from the other shard
    // meets its creator, and their data flows both ways.
    let (mut creator, creator_id, match_id) = creators.remove(0);
    let (mut joiner, joiner_id) = player(&s, "");
    let joined = joiner.request("j", "match_join", json!({"match_id": match_id}));
    assert_eq!(joined["match"]["size"], 2, "{joined}");
    assert_eq!(
        joined["match"]["presences"][0]["user_id"],
        json!(creator_id),
        "{joined}"
    );
    joiner.send_json(&data(&match_id, 3));
    let d = creator.next_with("match_data");
    assert_eq!(d["match_data"]["presence"]["user_id"], json!(joiner_id));
    creator.send_json(&data(&match_id, 4));
    assert_eq!(joiner.next_with("match_data")["match_data"]["op_code"], "4");

    // Packing off: each match is made where its creator is.
    let (s, metrics) = start(b, &[]);
    let (mut ws, _) = player_off(&s, Some(0), "");
    let match_id = create(&mut ws);
    if moves() == 1 {
        assert_eq!(owner(&match_id), 1);
    }
    assert_eq!(metric(&metrics, "kairos_shard_sessions_moved_total", 1), 0);
}

/// A matchmaker match's id, minted by the shard of its first player,
/// names the shard packing chooses: two players on shard 1 of an idle
/// node meet on shard 0.
fn matchmaker_matches_are_packed_too(b: &Backend) {
    let (s, metrics) = start_packing(b, &["--kairos.matchmaker.interval_ms", "50"]);
    let (mut a, _) = player_off(&s, Some(0), "");
    let (mut b2, b_id) = player_off(&s, Some(0), "");
    let match_id = matchmake_pair(&mut a, &mut b2);
    b2.send_json(&data(&match_id, 6));
    let d = a.next_with("match_data");
    assert_eq!(d["match_data"]["presence"]["user_id"], json!(b_id));
    let moved = metric(&metrics, "kairos_shard_sessions_moved_total", 1);
    if moves() == 1 {
        assert_eq!(owner(&match_id), 0, "{match_id}");
        assert_eq!(moved, 2, "both players moved to shard 0");
    } else {
        assert_eq!(moved, 0);
    }
}

/// A hostile client joining match after match (here, matches that do not
/// exist, on whichever shard owns each id) cannot make the server move its
/// socket more than once a second: it is answered every time, served
/// where it is in between, and its moves stay within the time it took.
#[test]
fn a_client_cannot_make_its_socket_hop() {
    let (s, metrics) = start(&Backend::Sqlite, &[]);
    let (mut ws, _) = player(&s, "");
    const JOINS: usize = 300;
    let started = Instant::now();
    for n in 0..JOINS {
        let id = format!("{}.", uuid::Uuid::new_v4());
        let cid = n.to_string();
        let r = ws.request(&cid, "match_join", json!({"match_id": id}));
        assert_eq!(r["error"]["code"], 4, "no such match: {r}");
    }
    let seconds = started.elapsed().as_secs();
    let moved: u64 = (0..2)
        .map(|shard| metric(&metrics, "kairos_shard_sessions_moved_total", shard))
        .sum();
    assert!(
        moved <= moves() * (seconds + 1),
        "{moved} moves in {seconds} s of {JOINS} joins"
    );
    assert!(moves() == 0 || moved >= 1, "it moved at least once");
    let pong = ws.request("p", "ping", json!({}));
    assert!(pong.get("pong").is_some(), "{pong}");
}
