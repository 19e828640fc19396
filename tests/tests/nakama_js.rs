//! The official Nakama JavaScript client, unchanged, against Kairos on two
//! shards: `tests/js/smoke.mjs` (a first session) and `tests/js/social.mjs`
//! (four players: a match, chat, status, friends, notifications) and
//! `tests/js/protobuf.mjs` (the protobuf adapter with a JSON client), on
//! both backends. Needs `node` and `npm ci` in `tests/js` (CI does both);
//! otherwise says it was skipped.

use std::path::Path;
use std::process::Command;

use kairos_tests::{TestServer, backends};

#[test]
fn nakama_js_first_session() {
    run_script("smoke.mjs", "all nakama-js checks passed");
}

#[test]
fn nakama_js_four_players() {
    run_script("social.mjs", "all nakama-js social checks passed");
}

/// nakama-js with `@heroiclabs/nakama-js-protobuf` and a JSON client in one
/// match and one chat room.
#[test]
fn nakama_js_protobuf_adapter() {
    run_script("protobuf.mjs", "all nakama-js protobuf checks passed");
}

fn run_script(script: &str, done: &str) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("js");
    if !dir.join("node_modules/@heroiclabs/nakama-js").exists() {
        eprintln!("nakama-js smoke skipped: run `npm ci` in tests/js first");
        return;
    }
    if Command::new("node").arg("--version").output().is_err() {
        eprintln!("nakama-js smoke skipped: node is not installed");
        return;
    }
    for b in backends() {
        let s = TestServer::start(&b);
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
}
