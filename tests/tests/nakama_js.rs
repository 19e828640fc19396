//! The official Nakama JavaScript client, unchanged, against Kairos on two
//! shards: `tests/js/smoke.mjs` (a first session) and `tests/js/social.mjs`
//! (four players: a match, chat, status, friends, notifications) and
//! `tests/js/protobuf.mjs` (the protobuf adapter with a JSON client), on
//! both backends, `tests/js/rpc.mjs` (RPCs over HTTP and the socket),
//! `tests/js/arena.mjs` (the example authoritative match) and
//! `tests/js/streams.mjs` (game code's streams).
//!
//! The harness installs `tests/js` itself (`npm ci`, see
//! `kairos_tests::js`). Without Node.js these tests fail, saying how to
//! install it: they never pass without running.

use std::process::Command;

use kairos_tests::{Backend, TestServer, backend_tests};

backend_tests!(
    nakama_js_first_session,
    nakama_js_four_players,
    nakama_js_protobuf_adapter
);

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
    let path = std::env::var("PATH").unwrap_or_default();
    let dir = kairos_tests::js::prepare(&path).unwrap_or_else(|e| panic!("{e}"));
    let s = TestServer::start(b);
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
