//! End-to-end runs of the binary against the real server: one `kairos`
//! process (2 shards, SQLite, every transport on ephemeral ports, started
//! by the `kairos-tests` harness) for the whole file.
//!
//! The server binary is `kairos-tests`' `kairos-under-test`, found next to
//! this test executable; it is built here first (with the cargo that runs
//! the tests, into the same target directory and profile) unless
//! `KAIROS_BIN` names a binary.
//!
//! Runs are short (1 s windows) and assert correctness only: every reliable
//! message sent in the window is delivered to every receiver (nothing is
//! lost on loopback), the counters agree with each other and the JSON
//! report has its shape. Never times.

use std::process::Command;
use std::sync::{Mutex, OnceLock};

use kairos_tests::{Backend, TestServer, build_server_binary};
use serde_json::Value;

fn server() -> &'static TestServer {
    static SERVER: OnceLock<TestServer> = OnceLock::new();
    SERVER.get_or_init(|| {
        build_server_binary();
        TestServer::start(&Backend::Sqlite)
    })
}

/// One run at a time: the machine is small, and the runs are about
/// correctness, not load.
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

/// Runs the binary against the server with `args` plus `--json`; returns
/// the JSON report and stdout, after checking the exit code is 0.
fn run(name: &str, args: &[&str]) -> (Value, String) {
    let target = server().addr.clone();
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let path = std::env::temp_dir().join(format!(
        "kairos-loadtest-server-{}-{name}.json",
        std::process::id()
    ));
    let out = Command::new(env!("CARGO_BIN_EXE_kairos-loadtest"))
        .args(args)
        .args(["--target", &target, "--no-progress", "--json"])
        .arg(&path)
        .output()
        .expect("run kairos-loadtest");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{args:?}\nstdout:\n{stdout}\nstderr:\n{stderr}\nserver log:\n{}",
        server().log()
    );
    let text = std::fs::read_to_string(&path).expect("JSON report written");
    let _ = std::fs::remove_file(&path);
    (serde_json::from_str(&text).expect("valid JSON"), stdout)
}

fn op<'a>(report: &'a Value, name: &str) -> &'a Value {
    report["operations"]
        .as_array()
        .expect("operations")
        .iter()
        .find(|o| o["name"] == name)
        .unwrap_or_else(|| panic!("no operation {name} in {report:#}"))
}

fn counter(report: &Value, name: &str) -> u64 {
    report["counters"][name]
        .as_u64()
        .unwrap_or_else(|| panic!("no counter {name} in {:#}", report["counters"]))
}

/// Setup operations all succeeded, `n` times each.
fn setup_ok(report: &Value, names: &[&str], n: u64) {
    for name in names {
        let o = op(report, name);
        assert_eq!(o["phase"], "setup", "{o:#}");
        assert_eq!(o["ok"].as_u64(), Some(n), "{name}: {o:#}");
        assert_eq!(o["errors"], 0, "{name}: {o:#}");
        assert_eq!(o["timeouts"], 0, "{name}: {o:#}");
    }
}

/// A clean latency distribution of `count` successful samples.
fn clean_latency(o: &Value, count: u64) {
    assert_eq!(o["phase"], "measured", "{o:#}");
    assert_eq!(o["ok"].as_u64(), Some(count), "{o:#}");
    assert_eq!(o["count"], o["ok"], "{o:#}");
    let lat = &o["latency_us"];
    let (p50, p99, max) = (
        lat["p50"].as_f64().unwrap(),
        lat["p99"].as_f64().unwrap(),
        lat["max"].as_f64().unwrap(),
    );
    assert!(0.0 < p50 && p50 <= p99 && p99 <= max, "{lat:#}");
}

/// The delivery accounting of an open-loop run: everything sent inside the
/// window arrived `fanout` times, nothing late, lost or reordered.
fn all_delivered(report: &Value, fanout: u64, stdout: &str) {
    let sent = counter(report, "sent");
    assert!(sent > 0, "{stdout}");
    let expected = counter(report, "expected");
    assert_eq!(expected, sent * fanout, "{stdout}");
    assert_eq!(counter(report, "delivered"), expected, "{stdout}");
    assert_eq!(counter(report, "lost"), 0, "{stdout}");
    assert_eq!(counter(report, "late"), 0, "{stdout}");
    assert_eq!(counter(report, "reordered"), 0, "{stdout}");
    // Every delivery is a sample of `deliver`, every send one of `send`.
    clean_latency(op(report, "deliver"), expected);
    let send = op(report, "send");
    assert_eq!(send["ok"].as_u64(), Some(sent), "{send:#}");
    assert_eq!(send["errors"], 0);
    assert_eq!(report["extra"]["delivery_ratio"], 1.0, "{stdout}");
    assert!(report["extra"]["delivered_per_sec"].as_f64().unwrap() > 0.0);
    assert!(report["measured_secs"].as_f64().unwrap() >= 0.9);
    assert_eq!(report["interrupted"], false);
    assert!(
        stdout.lines().any(|l| l.starts_with("deliver ")),
        "{stdout}"
    );
    assert!(stdout.contains("counters: "), "{stdout}");
}

fn match_relay(transport: &str, connect: &str) {
    match_relay_with(transport, connect, &[]);
}

fn match_relay_with(transport: &str, connect: &str, more: &[&str]) -> Value {
    let mut args = vec![
        "match-relay",
        "--transport",
        transport,
        "--players-per-match",
        "3",
        "-c",
        "6",
        "--rate",
        "20",
        "--payload",
        "100",
        "-d",
        "1",
    ];
    args.extend_from_slice(more);
    let (report, stdout) = run(&format!("relay-{transport}-{}", more.len()), &args);
    assert_eq!(report["scenario"], "match-relay");
    let settings = &report["settings"];
    assert_eq!(settings["transport"], transport);
    assert_eq!(settings["players_per_match"], 3);
    assert_eq!(settings["rate_per_sec"], 20.0);
    assert_eq!(settings["reliable"], true);
    assert_eq!(settings["payload_bytes"], 100);
    setup_ok(&report, &["authenticate_device", connect], 6);
    setup_ok(&report, &["match_create"], 2);
    setup_ok(&report, &["match_join"], 4);
    assert_eq!(report["extra"]["matches"], 2);
    assert_eq!(report["extra"]["players_ready"], 6);
    all_delivered(&report, 2, &stdout);
    // Relayed data never comes back to its sender.
    assert!(report["counters"].get("own_messages").is_none(), "{stdout}");
    // 6 players at 20/s for about a second: the schedule held.
    let sent = counter(&report, "sent");
    assert!((60..=150).contains(&sent), "{sent} sent\n{stdout}");
    report
}

#[test]
fn match_relay_ws_json() {
    match_relay("ws-json", "ws_connect");
}

/// `--colocate-shards`: every player reconnects until the server's
/// `kairos-shard` header names its match's shard (match index mod 2 on
/// this 2-shard server). A player that never got there would count a
/// `colocate_misses` (a missing header would make all of them miss).
#[test]
fn match_relay_colocated_on_one_shard_per_match() {
    let report = match_relay_with("ws-json", "ws_connect", &["--colocate-shards", "2"]);
    assert_eq!(report["settings"]["colocate_shards"], 2);
    assert!(
        report["counters"].get("colocate_misses").is_none(),
        "{report}"
    );
}

#[test]
fn match_relay_udp() {
    match_relay("udp", "udp_connect");
}

#[test]
fn match_relay_quic() {
    match_relay("quic", "quic_connect");
}

fn chat_fanout(transport: &str, connect: &str) {
    let (report, stdout) = run(
        &format!("chat-{transport}"),
        &[
            "chat-fanout",
            "--transport",
            transport,
            "-c",
            "5",
            "--senders",
            "2",
            "--rate",
            "10",
            "-d",
            "1",
        ],
    );
    assert_eq!(report["scenario"], "chat-fanout");
    assert_eq!(report["settings"]["senders"], 2);
    assert_eq!(report["settings"]["persistence"], false);
    setup_ok(
        &report,
        &["authenticate_device", connect, "channel_join"],
        5,
    );
    assert_eq!(report["extra"]["members_joined"], 5);
    // Each message reaches every member, the sender included.
    all_delivered(&report, 5, &stdout);
    assert_eq!(counter(&report, "sends_rejected"), 0);
    assert!(counter(&report, "acks") >= counter(&report, "sent"));
}

#[test]
fn chat_fanout_ws_json() {
    chat_fanout("ws-json", "ws_connect");
}

#[test]
fn chat_fanout_udp() {
    chat_fanout("udp", "udp_connect");
}

fn match_rtt(transport: &str, connect: &str) {
    let (report, stdout) = run(
        &format!("rtt-{transport}"),
        &["match-rtt", "--transport", transport, "-c", "2", "-d", "1"],
    );
    assert_eq!(report["scenario"], "match-rtt");
    setup_ok(&report, &["authenticate_device", connect], 4);
    setup_ok(&report, &["match_create", "match_join"], 2);
    let rtt = op(&report, "rtt");
    let n = rtt["ok"].as_u64().unwrap();
    assert!(n > 0, "{stdout}");
    clean_latency(rtt, n);
    // B echoed every round trip A completed (and perhaps the one cut off
    // by the end of the window).
    assert!(counter(&report, "echoed") >= n, "{stdout}");
    assert_eq!(report["extra"]["pairs"], 2);
    assert!(stdout.lines().any(|l| l.starts_with("rtt ")), "{stdout}");
}

#[test]
fn match_rtt_ws_json() {
    match_rtt("ws-json", "ws_connect");
}

#[test]
fn match_rtt_udp() {
    match_rtt("udp", "udp_connect");
}

#[test]
fn ws_ping_over_client_transports() {
    for (transport, connect) in [("ws-protobuf", "ws_connect"), ("quic", "quic_connect")] {
        let (report, stdout) = run(
            &format!("ping-{transport}"),
            &["ws-ping", "--transport", transport, "-c", "2", "-d", "1"],
        );
        setup_ok(&report, &["authenticate_device", connect], 2);
        let ping = op(&report, "ping");
        let n = ping["ok"].as_u64().unwrap();
        assert!(n > 0, "{stdout}");
        clean_latency(ping, n);
        assert_eq!(report["extra"]["transport"], transport);
    }
}

#[test]
fn rpc_echo_round_trips() {
    let (report, stdout) = run("rpc-echo", &["rpc-echo", "-c", "2", "-d", "1"]);
    setup_ok(&report, &["authenticate_device", "ws_connect"], 2);
    let call = op(&report, "rpc");
    let n = call["ok"].as_u64().unwrap();
    assert!(n > 0, "{stdout}");
    clean_latency(call, n);
    assert_eq!(report["extra"]["rpc"], "example.echo");
}

#[test]
fn storage_write_batches() {
    let (report, stdout) = run(
        "storage-write",
        &[
            "storage-write",
            "-c",
            "2",
            "-d",
            "1",
            "--batch",
            "3",
            "--keys",
            "4",
        ],
    );
    setup_ok(&report, &["authenticate_device"], 2);
    let write = op(&report, "storage_write");
    let n = write["ok"].as_u64().unwrap();
    assert!(n > 0, "{stdout}");
    clean_latency(write, n);
    assert_eq!(report["extra"]["objects_per_request"], 3);
    assert_eq!(report["extra"]["keys_per_account"], 4);
}

#[test]
fn leaderboard_writes_and_around_owner() {
    let (report, stdout) = run("leaderboard", &["leaderboard", "-c", "2", "-d", "1"]);
    let write = op(&report, "leaderboard_write");
    let n = write["ok"].as_u64().unwrap();
    assert!(n > 0, "{stdout}");
    clean_latency(write, n);
    let around = op(&report, "leaderboard_around_owner");
    assert!(around["ok"].as_u64().unwrap() > 0, "{stdout}");
    assert_eq!(around["errors"], 0, "{stdout}");
    assert!(
        report["extra"]["leaderboard"]
            .as_str()
            .unwrap()
            .starts_with("loadtest-")
    );
}

#[test]
fn authoritative_players() {
    let (report, stdout) = run(
        "authoritative",
        &[
            "authoritative",
            "--players-per-match",
            "3",
            "-c",
            "6",
            "--tick-rate",
            "20",
            "--rate",
            "20",
            "--payload",
            "40",
            "-d",
            "1",
        ],
    );
    assert_eq!(report["scenario"], "authoritative");
    let settings = &report["settings"];
    assert_eq!(settings["players_per_match"], 3);
    assert_eq!(settings["tick_rate"], 20);
    assert_eq!(settings["rpc"], "example.create_arena");
    setup_ok(&report, &["authenticate_device", "ws_connect"], 6);
    setup_ok(&report, &["create_match"], 2);
    setup_ok(&report, &["match_join"], 6);
    let extra = &report["extra"];
    assert_eq!(extra["matches"], 2);
    assert_eq!(extra["players_ready"], 6);
    assert_eq!(
        extra["rpc_payload"], r#"{"max_players":3,"tick_rate":20}"#,
        "{stdout}"
    );
    // Every player got states, none skipped a tick number, and every state
    // carried the player's own position.
    let delivered = counter(&report, "delivered");
    assert!(delivered > 0, "{stdout}");
    assert_eq!(counter(&report, "states_missed"), 0, "{stdout}");
    assert_eq!(counter(&report, "states_reordered"), 0, "{stdout}");
    assert_eq!(
        counter(&report, "states_without_own_position"),
        0,
        "{stdout}"
    );
    let gap = op(&report, "state_gap");
    assert_eq!(gap["errors"], 0, "{stdout}");
    clean_latency(gap, gap["ok"].as_u64().unwrap());
    assert!(extra["jitter_p99_us"].is_number(), "{stdout}");
    // Every input sent in the window moved its player, and each was
    // measured once, from its send to the first state showing it.
    let sent = counter(&report, "inputs_sent");
    assert!(sent > 0, "{stdout}");
    assert_eq!(counter(&report, "inputs_reflected"), sent, "{stdout}");
    assert_eq!(counter(&report, "inputs_unreflected"), 0, "{stdout}");
    clean_latency(op(&report, "input_to_state"), sent);
    let input = op(&report, "input");
    assert_eq!(input["ok"].as_u64(), Some(sent), "{input:#}");
    assert_eq!(input["errors"], 0);
    assert!(report["counters"].get("sockets_lost").is_none(), "{stdout}");
    assert!(
        stdout.lines().any(|l| l.starts_with("input_to_state ")),
        "{stdout}"
    );
}

#[test]
fn authoritative_with_an_rpc_that_creates_nothing() {
    // example.echo answers its payload: `{}` holds no match id, so no
    // match is created, no player joins, and the run says so.
    let target = server().addr.clone();
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let out = Command::new(env!("CARGO_BIN_EXE_kairos-loadtest"))
        .args([
            "authoritative",
            "--rpc",
            "example.echo",
            "--rpc-payload",
            "{}",
            "--players-per-match",
            "2",
            "-c",
            "2",
            "-d",
            "1",
            "--target",
            &target,
            "--no-progress",
        ])
        .output()
        .expect("run kairos-loadtest");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(3), "{stdout}");
    assert!(stdout.contains("no-match-id"), "{stdout}");
}
