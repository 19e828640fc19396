//! The official Nakama JavaScript client, unchanged, against Kairos on two
//! shards: `tests/js/smoke.mjs` (a first session) and `tests/js/social.mjs`
//! (four players: a match, chat, status, friends, notifications) and
//! `tests/js/protobuf.mjs` (the protobuf adapter with a JSON client), on
//! both backends, `tests/js/rpc.mjs` (RPCs over HTTP and the socket),
//! `tests/js/arena.mjs` (the example authoritative match, and its
//! listing), `tests/js/arena_mixed.mjs` (nakama-js and a Rust client over
//! reliable UDP in one arena), `tests/js/streams.mjs` (game code's
//! streams), `tests/js/parties.mjs` (open and closed parties),
//! `tests/js/matchmaker.mjs` (the matchmaker, its token and the example
//! matched hook), `tests/js/storage.mjs` (the storage engine, on both
//! backends), `tests/js/groups.mjs` (groups and their chat, on both
//! backends) and `tests/js/leaderboards.mjs` (leaderboard records, on both
//! backends).
//!
//! The harness installs `tests/js` itself (`npm ci`, see
//! `kairos_tests::js`). Without Node.js these tests fail, saying how to
//! install it: they never pass without running.

use std::process::Command;

use kairos_tests::{Backend, TestServer, backend_tests};

backend_tests!(
    nakama_js_first_session,
    nakama_js_four_players,
    nakama_js_protobuf_adapter,
    nakama_js_storage,
    nakama_js_groups,
    nakama_js_leaderboards,
    nakama_js_tournaments
);

/// Storage through nakama-js: write, read, list with the cursor, another
/// player's view, a version conflict rejected, delete.
fn nakama_js_storage(b: &Backend) {
    run_script(b, "storage.mjs", "all nakama-js storage checks passed");
}

/// Groups through nakama-js: create, join open and closed, list, add,
/// promote, kick, leave, delete, a user's groups, and the group's chat
/// with its membership messages live and in history.
fn nakama_js_groups(b: &Backend) {
    run_script(b, "groups.mjs", "all nakama-js groups checks passed");
}

/// Leaderboards through nakama-js: a board made by game code, writes,
/// listings with the cursor and owner ids, around an owner, an
/// authoritative board's refusal, a delete.
fn nakama_js_leaderboards(b: &Backend) {
    run_script(
        b,
        "leaderboards.mjs",
        "all nakama-js leaderboard checks passed",
    );
}

/// Tournaments through nakama-js: one made by game code, listed by
/// category, joined up to its max size, written (refused before a join
/// and past `max_num_score`), its records listed with the cursor and
/// owner ids, and around an owner.
fn nakama_js_tournaments(b: &Backend) {
    run_script(
        b,
        "tournaments.mjs",
        "all nakama-js tournament checks passed",
    );
}

/// Game code through nakama-js: `client.rpc`, `rpcHttpKey`, `socket.rpc`
/// and their errors (the backend does not matter to RPCs).
#[test]
fn nakama_js_rpc() {
    run_script(
        &Backend::Sqlite,
        "rpc.mjs",
        "all nakama-js rpc checks passed",
    );
}

/// The example authoritative arena through nakama-js: created by RPC,
/// joined, played, full, signalled with the HTTP key, left.
#[test]
fn nakama_js_authoritative_arena() {
    run_script(
        &Backend::Sqlite,
        "arena.mjs",
        "all nakama-js arena checks passed",
    );
}

/// The matchmaker through nakama-js: `addMatchmaker` with a query and
/// properties, `onmatchmakermatched`, `joinMatch(undefined, token)`, the
/// example hook's arena, `removeMatchmaker`, a refused add, and a party
/// queued by its leader (`addMatchmakerParty`, `onpartymatchmakerticket`,
/// `removeMatchmakerParty`) and matched with solo players; passes every
/// 100 ms.
#[test]
fn nakama_js_matchmaker() {
    run_script_with(
        &Backend::Sqlite,
        "matchmaker.mjs",
        "all nakama-js matchmaker checks passed",
        &["--kairos.matchmaker.interval_ms", "100"],
    );
}

/// Game code's streams through nakama-js: joins by `socket.rpc`, heard on
/// `onstreampresence`; `example.stream_send` on `onstreamdata`; a leave.
#[test]
fn nakama_js_streams() {
    run_script(
        &Backend::Sqlite,
        "streams.mjs",
        "all nakama-js stream checks passed",
    );
}

/// Parties through nakama-js: an open party's joins, data, promotion and
/// leader leaving; a closed party's request, listing, acceptance and
/// close.
#[test]
fn nakama_js_parties() {
    run_script(
        &Backend::Sqlite,
        "parties.mjs",
        "all nakama-js party checks passed",
    );
}

/// One authoritative arena played by nakama-js over WebSocket and by
/// `kairos-client` over reliable UDP: each sees the other's moves in the
/// server's state. The UDP player moves twice, the script moves once
/// after seeing that, and the UDP player answers the script's move with a
/// third step, which the script must see: a handshake, no timing.
#[test]
fn nakama_js_and_reliable_udp_share_the_arena() {
    use kairos_client::rtapi::Outgoing;
    use kairos_client::{Client, ConnectOptions, Transport};
    use std::time::{Duration, Instant};

    let path = std::env::var("PATH").unwrap_or_default();
    let dir = kairos_tests::js::prepare(&path).unwrap_or_else(|e| panic!("{e}"));
    let s = TestServer::start(&Backend::Sqlite);
    let port: u16 = s.addr.rsplit(':').next().unwrap().parse().unwrap();
    let client = Client::new("127.0.0.1", port, "defaultkey");
    let udp_session = client
        .authenticate_device(&kairos_tests::unique("udp-"), true, None)
        .expect("authenticates");
    let http = s.http();
    let creator = http.device(&kairos_tests::unique("creator-"));
    let made = http.request(
        "POST",
        "/v2/rpc/example.create_arena",
        Some(&kairos_tests::bearer(&creator.token)),
        Some(&serde_json::Value::String(r#"{"tick_rate":20}"#.into()).to_string()),
    );
    assert_eq!(made.status, 200, "{}", made.text);
    let payload: serde_json::Value =
        serde_json::from_str(made.body["payload"].as_str().unwrap()).unwrap();
    let match_id = payload["match_id"].as_str().unwrap().to_string();
    let mut udp = client
        .connect(
            &udp_session,
            Transport::ReliableUdp,
            ConnectOptions::default(),
        )
        .expect("reliable UDP connects");
    assert!(udp.match_join(&match_id).expect("joins").authoritative);
    let step = br#"{"dx":1,"dy":0}"#;
    for _ in 0..2 {
        udp.match_data_send(&match_id, 1, &step[..], true, &[])
            .unwrap();
    }

    let mut script = std::process::Command::new("node")
        .arg("arena_mixed.mjs")
        .current_dir(&dir)
        .env("KAIROS_HOST", "127.0.0.1")
        .env("KAIROS_PORT", port.to_string())
        .env("KAIROS_MATCH_ID", &match_id)
        .env("KAIROS_OTHER_USER", &udp_session.user_id)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("run node");
    // The UDP player waits for another player one step up, then answers.
    let me = udp_session.user_id.clone();
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut seen = false;
    while !seen && Instant::now() < deadline {
        if matches!(script.try_wait(), Ok(Some(_))) {
            break; // The script ended early: its output says why.
        }
        if let Ok(Some(msg)) = udp.poll(Duration::from_millis(200))
            && let Some(Outgoing::MatchData(d)) = msg.message
            && d.op_code == 2
        {
            let state: serde_json::Value = serde_json::from_slice(&d.data).unwrap_or_default();
            seen = state["players"].as_object().is_some_and(|p| {
                p.iter()
                    .any(|(user, at)| *user != me && *at == serde_json::json!([0, 1]))
            });
        }
    }
    if seen {
        udp.match_data_send(&match_id, 1, &step[..], true, &[])
            .unwrap();
    } else {
        let _ = script.kill();
    }
    let out = script.wait_with_output().expect("node ends");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        seen && out.status.success() && stdout.contains("all nakama-js mixed arena checks passed"),
        "arena_mixed.mjs failed (the UDP player saw its move: {seen}):\n{stdout}\n{}\nserver log:\n{}",
        String::from_utf8_lossy(&out.stderr),
        s.log()
    );
}

fn nakama_js_first_session(b: &Backend) {
    run_script(b, "smoke.mjs", "all nakama-js checks passed");
}

fn nakama_js_four_players(b: &Backend) {
    run_script(b, "social.mjs", "all nakama-js social checks passed");
}

/// nakama-js with `@heroiclabs/nakama-js-protobuf` and a JSON client in one
/// match and one chat room.
fn nakama_js_protobuf_adapter(b: &Backend) {
    run_script(b, "protobuf.mjs", "all nakama-js protobuf checks passed");
}

fn run_script(b: &Backend, script: &str, done: &str) {
    run_script_with(b, script, done, &[]);
}

fn run_script_with(b: &Backend, script: &str, done: &str, extra: &[&str]) {
    let path = std::env::var("PATH").unwrap_or_default();
    let dir = kairos_tests::js::prepare(&path).unwrap_or_else(|e| panic!("{e}"));
    let s = TestServer::start_with(b, extra);
    let port = s.addr.rsplit(':').next().unwrap().to_string();
    let out = Command::new("node")
        .arg(script)
        .current_dir(&dir)
        .env("KAIROS_HOST", "127.0.0.1")
        .env("KAIROS_PORT", &port)
        .env("KAIROS_EXPECT_SHARDS", "2")
        .output()
        .expect("run node");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "nakama-js {script} failed on {}:\n{stdout}\n{stderr}\nserver log:\n{}",
        b.name(),
        s.log()
    );
    assert!(stdout.contains(done), "{stdout}");
}

/// With node missing from PATH, a nakama-js test fails and says how to
/// install it, rather than passing unrun. Runs this very test binary again,
/// with an empty PATH, on one of its tests.
#[test]
fn without_node_the_nakama_js_tests_fail_and_say_why() {
    let err = kairos_tests::js::prepare("").expect_err("no node on an empty PATH");
    assert!(err.contains("`node` was not found"), "{err}");
    assert!(err.contains(kairos_tests::js::NEEDS_NODE), "{err}");

    let me = std::env::current_exe().expect("test binary");
    let out = Command::new(me)
        .args([
            "--exact",
            "sqlite::nakama_js_first_session",
            "--test-threads=1",
        ])
        .env("PATH", "")
        .output()
        .expect("run the test binary");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!out.status.success(), "passed without node:\n{text}");
    assert!(text.contains("1 failed"), "{text}");
    assert!(text.contains("install them"), "{text}");
}
