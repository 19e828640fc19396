//! The nakama-js scripts in `tests/js`: the test harness installs their
//! packages itself (`npm ci`, once per change of the lockfile, safe when
//! tests run in parallel threads or processes) and fails loudly when Node.js
//! is missing, so they can never pass without running.

use std::fs::File;
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Where the scripts live.
pub fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("js")
}

/// What the tests need and how to get it, for the failure message.
pub const NEEDS_NODE: &str = "the nakama-js tests need Node.js (18 or newer) and npm on PATH: \
     install them (Debian/Ubuntu: `apt-get install nodejs npm`; otherwise https://nodejs.org), \
     then run the tests again; the harness runs `npm ci` in tests/js itself";

/// Makes `tests/js` ready to run: checks that `node` and `npm` run, then
/// installs the locked packages unless the installed ones match the
/// lockfile. `path` is the PATH to look in (the process's own normally).
pub fn prepare(path: &str) -> Result<PathBuf, String> {
    let dir = dir();
    for tool in ["node", "npm"] {
        let ok = Command::new(tool)
            .arg("--version")
            .env("PATH", path)
            .output()
            .map(|o| o.status.success())
            .unwrap_or(false);
        if !ok {
            return Err(format!(
                "`{tool}` was not found or did not run: {NEEDS_NODE}"
            ));
        }
    }
    let lock = File::create(dir.join(".install.lock")).map_err(|e| e.to_string())?;
    // SAFETY: flock on a descriptor we own; released when `lock` closes.
    if unsafe { libc::flock(lock.as_raw_fd(), libc::LOCK_EX) } != 0 {
        return Err(format!(
            "cannot lock tests/js: {}",
            std::io::Error::last_os_error()
        ));
    }
    let want = stamp(&dir)?;
    let stamp_file = dir.join("node_modules/.kairos-installed");
    if std::fs::read_to_string(&stamp_file).ok().as_deref() != Some(want.as_str()) {
        eprintln!("tests/js: running npm ci");
        let out = Command::new("npm")
            .args([
                "ci",
                "--ignore-scripts",
                "--no-audit",
                "--no-fund",
                "--loglevel=error",
            ])
            .current_dir(&dir)
            .env("PATH", path)
            .output()
            .map_err(|e| format!("npm ci: {e}"))?;
        if !out.status.success() {
            return Err(format!(
                "npm ci in tests/js failed:\n{}\n{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            ));
        }
        std::fs::write(&stamp_file, &want).map_err(|e| e.to_string())?;
    }
    drop(lock);
    Ok(dir)
}

/// What the installed packages must match: the manifest and the lockfile.
fn stamp(dir: &Path) -> Result<String, String> {
    let mut text = String::new();
    for f in ["package.json", "package-lock.json"] {
        text += &std::fs::read_to_string(dir.join(f)).map_err(|e| format!("{f}: {e}"))?;
    }
    Ok(format!("{:016x}", fnv1a(text.as_bytes())))
}

fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}
