//! End-to-end runs of the binary that need no server: the baselines for
//! one second (the relay baseline starting its own relay process), and a
//! server scenario against a closed port.

use std::path::PathBuf;
use std::process::Command;

use serde_json::Value;

fn json_path(name: &str) -> PathBuf {
    std::env::temp_dir().join(format!(
        "kairos-loadtest-{}-{name}.json",
        std::process::id()
    ))
}

/// Runs the binary with `args` plus `--json`; returns (exit code, JSON, stdout).
fn run(name: &str, args: &[&str]) -> (i32, Value, String) {
    let path = json_path(name);
    let out = Command::new(env!("CARGO_BIN_EXE_kairos-loadtest"))
        .args(args)
        .arg("--json")
        .arg(&path)
        .arg("--no-progress")
        .output()
        .expect("run kairos-loadtest");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let code = out.status.code().unwrap_or(-1);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "no JSON report ({e}); exit {code}\nstdout:\n{stdout}\nstderr:\n{}",
            String::from_utf8_lossy(&out.stderr)
        )
    });
    let _ = std::fs::remove_file(&path);
    (
        code,
        serde_json::from_str(&text).expect("valid JSON"),
        stdout,
    )
}

fn op<'a>(report: &'a Value, name: &str) -> &'a Value {
    report["operations"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["name"] == name)
        .unwrap_or_else(|| panic!("no operation {name} in {report:#}"))
}

fn check_clean_echo(report: &Value, stdout: &str, setup: &str, concurrency: u64) {
    let echo = op(report, "echo");
    assert!(echo["count"].as_u64().unwrap() > 0, "{echo:#}");
    assert_eq!(echo["ok"], echo["count"]);
    assert_eq!(echo["errors"], 0);
    assert_eq!(echo["timeouts"], 0);
    assert!(echo["throughput_ok_per_sec"].as_f64().unwrap() > 0.0);
    let lat = &echo["latency_us"];
    let (p50, p99, max) = (
        lat["p50"].as_f64().unwrap(),
        lat["p99"].as_f64().unwrap(),
        lat["max"].as_f64().unwrap(),
    );
    assert!(0.0 < p50 && p50 <= p99 && p99 <= max, "{lat:#}");
    let setup = op(report, setup);
    assert_eq!(setup["ok"].as_u64(), Some(concurrency));
    assert_eq!(setup["errors"], 0);
    assert!(report["measured_secs"].as_f64().unwrap() >= 0.9);
    assert_eq!(report["interrupted"], false);
    assert!(stdout.contains("# command: "));
    assert!(stdout.lines().any(|l| l.starts_with("echo ")), "{stdout}");
}

#[test]
fn baseline_ws_echo_one_second() {
    let (code, report, stdout) = run(
        "ws",
        &["baseline-ws-echo", "--concurrency", "3", "--duration", "1"],
    );
    assert_eq!(code, 0, "{stdout}");
    assert_eq!(report["scenario"], "baseline-ws-echo");
    assert_eq!(report["argv"][1], "baseline-ws-echo");
    check_clean_echo(&report, &stdout, "ws_connect", 3);
}

#[test]
fn baseline_ws_echo_with_payload_and_threads() {
    let (code, report, stdout) = run(
        "ws-payload",
        &[
            "baseline-ws-echo",
            "-c",
            "2",
            "-d",
            "1",
            "--payload",
            "1000",
            "--threads",
            "2",
        ],
    );
    assert_eq!(code, 0, "{stdout}");
    assert_eq!(report["settings"]["payload_bytes"], 1000);
    check_clean_echo(&report, &stdout, "ws_connect", 2);
}

#[test]
fn baseline_udp_echo_one_second() {
    let (code, report, stdout) = run(
        "udp",
        &[
            "baseline-udp-echo",
            "--concurrency",
            "3",
            "--duration",
            "1",
            "--payload",
            "64",
        ],
    );
    assert_eq!(code, 0, "{stdout}");
    assert_eq!(report["extra"]["payload_bytes"], 64);
    check_clean_echo(&report, &stdout, "udp_bind", 3);
}

#[test]
fn baseline_udp_blast_one_second() {
    let (code, report, stdout) = run(
        "blast",
        &[
            "baseline-udp-blast",
            "--concurrency",
            "2",
            "--duration",
            "1",
            "--payload",
            "32",
        ],
    );
    assert_eq!(code, 0, "{stdout}");
    assert_eq!(report["scenario"], "baseline-udp-blast");
    assert_eq!(report["settings"]["concurrency"], 2);
    assert_eq!(report["settings"]["payload_bytes"], 32);
    let bind = op(&report, "udp_bind");
    assert_eq!(
        (bind["ok"].as_u64(), bind["errors"].as_u64()),
        (Some(2), Some(0))
    );
    let d = op(&report, "datagram");
    let c = &report["counters"];
    let (sent, received, dropped) = (
        c["sent"].as_u64().unwrap(),
        c["received"].as_u64().unwrap(),
        c["dropped"].as_u64().unwrap(),
    );
    assert!(received > 0, "{stdout}");
    // Received datagrams are the successes, drops the errors; together
    // every datagram sent in the window.
    assert_eq!(received + dropped, sent, "{stdout}");
    assert_eq!(d["ok"].as_u64(), Some(received));
    assert_eq!(d["errors"].as_u64(), Some(dropped));
    assert_eq!(d["count"].as_u64(), Some(sent));
    assert_eq!(d["timeouts"], 0);
    if dropped > 0 {
        assert_eq!(d["error_kinds"]["dropped"].as_u64(), Some(dropped));
    }
    // No latency is timed per datagram.
    assert_eq!(d["latency_us"]["p50"], 0.0);
    let extra = &report["extra"];
    assert_eq!(extra["payload_bytes"], 32);
    assert!(extra["received_per_sec"].as_f64().unwrap() > 0.0);
    let ratio = extra["drop_ratio"].as_f64().unwrap();
    assert!((0.0..1.0).contains(&ratio), "{ratio}");
    assert!(report["measured_secs"].as_f64().unwrap() >= 0.9);
    assert!(
        stdout.lines().any(|l| l.starts_with("datagram ")),
        "{stdout}"
    );
}

#[test]
fn baseline_udp_blast_rejects_tiny_payloads() {
    let out = Command::new(env!("CARGO_BIN_EXE_kairos-loadtest"))
        .args(["baseline-udp-blast", "--payload", "15"])
        .output()
        .expect("run kairos-loadtest");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--payload"));
}

#[test]
fn baseline_relay_delivers_and_reports_the_relay_cpu() {
    let (code, report, stdout) = run(
        "relay",
        &[
            "baseline-relay",
            "-c",
            "8",
            "--players-per-match",
            "4",
            "--rate",
            "50",
            "--payload",
            "32",
            "-d",
            "1",
        ],
    );
    assert_eq!(code, 0, "{stdout}");
    let deliver = op(&report, "deliver");
    assert!(deliver["ok"].as_u64().unwrap() > 0, "{deliver:#}");
    assert_eq!(deliver["errors"], 0);
    let connect = op(&report, "ws_connect");
    assert_eq!(connect["ok"], 8);
    let counters = &report["counters"];
    let (delivered, expected) = (
        counters["delivered"].as_u64().unwrap(),
        counters["expected"].as_u64().unwrap(),
    );
    // Every message sent in the window reaches the 3 others of its match,
    // and no one else.
    assert!(expected > 0 && delivered == expected, "{counters:#}");
    assert_eq!(expected, 3 * counters["sent"].as_u64().unwrap());
    assert!(counters.get("own_messages").is_none(), "{counters:#}");
    assert!(counters.get("foreign_messages").is_none(), "{counters:#}");
    let extra = &report["extra"];
    assert_eq!(extra["matches"], 2);
    assert_eq!(extra["players_ready"], 8);
    assert!(extra["relay_pid"].as_u64().unwrap() > 0);
    // The relay's CPU, read from /proc without --server-pid.
    assert!(extra["server_cpu_s"].as_f64().unwrap() >= 0.0, "{extra:#}");
    assert!(
        extra["server_cpu_per_delivered_us"].is_number(),
        "{extra:#}"
    );
    assert!(stdout.contains("server_cpu_per_delivered_us"), "{stdout}");
    // The generator's own CPU in the same window, read the same way.
    assert!(
        extra["generator_cpu_s"].as_f64().unwrap() >= 0.0,
        "{extra:#}"
    );
    assert!(
        extra["generator_cpu_per_delivered_us"].is_number(),
        "{extra:#}"
    );
    // The relay process is gone with the run.
    let pid = extra["relay_pid"].as_u64().unwrap();
    assert!(!std::path::Path::new(&format!("/proc/{pid}")).exists());
}

#[test]
fn unreachable_server_fails_fast_with_a_report() {
    // Port 1 on loopback: connection refused, nothing listens there.
    let started = std::time::Instant::now();
    let (code, report, _) = run(
        "refused",
        &["ws-ping", "--target", "127.0.0.1:1", "-c", "2", "-d", "30"],
    );
    assert_eq!(code, 3);
    assert!(
        started.elapsed().as_secs() < 20,
        "should stop without waiting for --duration"
    );
    let auth = op(&report, "authenticate_device");
    assert_eq!(auth["errors"], 2);
    assert_eq!(auth["error_kinds"]["io:ConnectionRefused"], 2);
}
