//! Process lifecycle: configuration errors, migrations, graceful shutdown.

use std::process::Command;
use std::time::Duration;

use kairos_tests::{Backend, TestServer, Ws, backend_tests, unique};
use serde_json::json;

backend_tests!(sigterm_closes_sockets_and_exits_zero);

fn kairos(args: &[&str]) -> std::process::Output {
    Command::new(kairos_tests::server::binary())
        .args(args)
        .output()
        .expect("run kairos")
}

#[test]
fn bad_configuration_names_the_key_and_fails() {
    for (args, needle) in [
        (vec!["--socket.prot", "1"], "prot"),
        (vec!["--socket.port", "not-a-number"], "socket.port"),
        (vec!["--logger.level", "LOUD"], "logger.level"),
        // Nakama's key, refused rather than ignored: it would leave the
        // server in plaintext.
        (
            vec!["--socket.ssl_certificate", "/certs/cert.pem"],
            "socket.ssl_certificate",
        ),
        (
            vec!["--config", "/nonexistent/kairos.yml"],
            "/nonexistent/kairos.yml",
        ),
        (
            vec![
                "--session.encryption_key",
                "same",
                "--session.refresh_encryption_key",
                "same",
            ],
            "refresh_encryption_key",
        ),
    ] {
        let out = kairos(&args);
        assert!(!out.status.success(), "{args:?} should fail");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(needle), "{args:?}: {err}");
    }
    let dir = std::env::temp_dir().join(unique("kairos-cfg-"));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("bad.yml");
    std::fs::write(&file, "socket:\n  port: [1]\n").unwrap();
    let out = kairos(&["--config", file.to_str().unwrap()]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("socket.port"));
}

#[test]
fn migrate_up_and_status() {
    let dir = std::env::temp_dir().join(unique("kairos-migrate-"));
    let d = dir.to_str().unwrap();
    let out = kairos(&["--data_dir", d, "migrate", "status"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("pending"));
    let out = kairos(&["--data_dir", d, "migrate", "up"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = kairos(&["--data_dir", d, "migrate", "status"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("applied") && !text.contains("pending"),
        "{text}"
    );
    let out = kairos(&["--data_dir", d, "migrate", "sideways"]);
    assert!(!out.status.success());
    let _ = std::fs::remove_dir_all(dir);
}

fn sigterm_closes_sockets_and_exits_zero(b: &Backend) {
    let mut s = TestServer::start_with(b, &["--shutdown_grace_sec", "5"]);
    let sess = s.http().device(&unique("device-"));
    let mut ws = Ws::open(&s.addr, &sess.token, "");
    ws.send_json(&json!({"cid": "1", "ping": {}}));
    ws.recv_json();
    let waiter = std::thread::spawn(move || ws.until_close().0);
    // `kairos healthcheck PORT`, as `nakama healthcheck` in container
    // health checks: 0 while the server answers, 1 once it is gone.
    let port = s.addr.rsplit_once(':').unwrap().1.to_owned();
    let up = kairos(&["healthcheck", &port]);
    assert!(up.status.success(), "{up:?}");
    assert_eq!(
        s.terminate(Duration::from_secs(15)),
        Some(0),
        "log:\n{}",
        s.log()
    );
    let down = kairos(&["healthcheck", &port]);
    assert_eq!(down.status.code(), Some(1), "{down:?}");
    let close = waiter.join().unwrap();
    assert_eq!(
        close.map(|c| c.0),
        Some(1001),
        "sockets are told the server is going away"
    );
}

/// As Nakama does, the server warns at start about each secret still at
/// its published default, and says nothing once they are changed.
#[test]
fn insecure_default_keys_are_named_at_start() {
    const WARNING: &str = "insecure default parameter value";
    let keys = [
        "socket.server_key",
        "session.encryption_key",
        "session.refresh_encryption_key",
        "runtime.http_key",
    ];
    let s = TestServer::start(&kairos_tests::Backend::Sqlite);
    let log = s.log();
    for key in keys {
        assert!(
            log.lines().any(|l| l.contains(WARNING) && l.contains(key)),
            "no warning for {key}:\n{log}"
        );
    }
    drop(s);
    let s = TestServer::start_with(
        &kairos_tests::Backend::Sqlite,
        &[
            "--socket.server_key",
            "k-1",
            "--session.encryption_key",
            "k-2",
            "--session.refresh_encryption_key",
            "k-3",
            "--runtime.http_key",
            "k-4",
        ],
    );
    assert!(!s.log().contains(WARNING), "{}", s.log());
}

/// A port another server listens on refuses the start, as Nakama's does
/// ("address already in use"), for the API, reliable UDP and QUIC alike:
/// the shards' SO_REUSEPORT must not let a second server started by
/// mistake join the first one's sockets and take half its players.
#[test]
fn a_port_another_server_holds_refuses_the_start() {
    let first = TestServer::start(&Backend::Sqlite);
    let port = |addr: &str| addr.rsplit_once(':').unwrap().1.to_owned();
    let udp = first.udp_addr.as_deref().expect("udp enabled");
    let quic = first.quic_addr.as_deref().expect("quic enabled");
    for (key, taken, says) in [
        ("--socket.port", port(&first.addr), "cannot listen on"),
        ("--udp.port", port(udp), "cannot listen for udp on"),
        ("--quic.port", port(quic), "cannot listen for quic on"),
    ] {
        let log = TestServer::start_refused(&Backend::Sqlite, &[key, &taken]);
        assert!(
            log.contains(&format!("{says} 127.0.0.1:{taken}: Address already in use")),
            "{key} {taken}:\n{log}"
        );
    }
}
