//! What the test files that run the real server share.

use std::path::PathBuf;
use std::process::Command;

use kairos_client::Client;
use kairos_tests::TestServer;

/// Builds `kairos-under-test` into the target directory this test runs
/// from, with the same profile, so `TestServer` finds an up-to-date one.
pub fn build_server_binary() {
    if std::env::var_os("KAIROS_BIN").is_some() {
        return;
    }
    let exe = std::env::current_exe().expect("test executable path");
    let profile_dir = exe
        .parent()
        .and_then(|deps| deps.parent())
        .expect("target/<profile>/deps");
    let target_dir = profile_dir.parent().expect("target/<profile>");
    let profile = profile_dir
        .file_name()
        .and_then(|p| p.to_str())
        .expect("profile directory name");
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| env!("CARGO").to_owned());
    let manifest = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../Cargo.toml");
    let mut cmd = Command::new(cargo);
    cmd.args(["build", "-p", "kairos-tests", "--bin", "kairos-under-test"])
        .arg("--manifest-path")
        .arg(&manifest)
        .arg("--target-dir")
        .arg(target_dir);
    match profile {
        "debug" => {}
        "release" => {
            cmd.arg("--release");
        }
        other => {
            cmd.args(["--profile", other]);
        }
    }
    let status = cmd.status().expect("cargo runs");
    assert!(
        status.success(),
        "building kairos-under-test failed; build it yourself (cargo build -p kairos-tests) \
         or set KAIROS_BIN"
    );
}

/// A client of `server`'s HTTP port, with the default server key.
pub fn client_of(server: &TestServer) -> Client {
    let (host, port) = server.addr.rsplit_once(':').expect("host:port");
    Client::new(host, port.parse().expect("port"), "defaultkey")
}
