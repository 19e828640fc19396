//! Tidy checks, as rust-analyzer's `xtask/src/tidy.rs`: rules of the
//! house that ARCHITECTURE.md states, enforced on the sources themselves.

use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .canonicalize()
        .expect("repository root")
}

/// The runtime's crate name, spelled so that this file does not name it.
const RUNTIME: &str = concat!("glom", "mio");

/// Build outputs, fuzzing corpora and installed packages: not sources.
fn skipped(name: &std::ffi::OsStr) -> bool {
    let name = name.to_string_lossy();
    name.starts_with("target")
        || [".git", "node_modules", "corpus", "artifacts"].contains(&name.as_ref())
}

/// Every `.rs` file under `dir`, build outputs and packages left out.
fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let p = entry.path();
            let skip = skipped(&entry.file_name());
            if p.is_dir() {
                if !skip {
                    stack.push(p);
                }
            } else if p.extension().is_some_and(|e| e == "rs") {
                out.push(p);
            }
        }
    }
    out
}

/// A file's lines of code: comments dropped, and nothing from its first
/// `#[cfg(test)]` on (unit tests may do what the code may not).
fn code_lines(path: &Path) -> Vec<(usize, String)> {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    text.lines()
        .enumerate()
        .take_while(|(_, l)| l.trim() != "#[cfg(test)]")
        .map(|(i, l)| (i + 1, l.split("//").next().unwrap_or("").to_string()))
        .filter(|(_, l)| !l.trim().is_empty())
        .collect()
}

fn offenders(files: &[PathBuf], bad: &[&str], root: &Path) -> Vec<String> {
    let mut out = Vec::new();
    for f in files {
        for (n, line) in code_lines(f) {
            if let Some(word) = bad.iter().find(|w| line.contains(*w)) {
                let rel = f.strip_prefix(root).unwrap_or(f).display();
                out.push(format!("{rel}:{n}: `{word}` in `{}`", line.trim()));
            }
        }
    }
    out
}

/// Only `shards/src/rt/` names the async runtime.
#[test]
fn only_the_runtime_seam_names_the_runtime() {
    let root = root();
    let files: Vec<PathBuf> = [
        "core", "net", "schema", "store", "shards", "client", "loadtest",
    ]
    .iter()
    .flat_map(|c| rust_files(&root.join(c).join("src")))
    .filter(|f| !f.starts_with(root.join("shards/src/rt")))
    .collect();
    assert!(files.len() > 100, "found only {} files", files.len());
    let found = offenders(&files, &[RUNTIME], &root);
    assert!(
        found.is_empty(),
        "the runtime named outside rt/:\n{}",
        found.join("\n")
    );
}

/// Nothing of either runtime escapes the seam into the rest of shards: not
/// tokio's reactor (the store's own pool is outside shards), not the I/O
/// traits of futures-lite 1 that glommio's sockets implement, and no raw
/// file descriptor.
#[test]
fn no_runtime_type_escapes_the_seam() {
    let root = root();
    let files: Vec<PathBuf> = rust_files(&root.join("shards/src"))
        .into_iter()
        .filter(|f| !f.starts_with(root.join("shards/src/rt")))
        .collect();
    assert!(files.len() > 50, "found only {} files", files.len());
    let found = offenders(
        &files,
        &[
            "tokio",
            "futures_lite1",
            "AsyncRead",
            "AsyncWrite",
            "RawFd",
            "as_raw_fd",
            "libc::shutdown",
        ],
        &root,
    );
    assert!(
        found.is_empty(),
        "a runtime type outside rt/:\n{}",
        found.join("\n")
    );
}

/// `core` does no I/O and names no runtime; it reads the wall clock only
/// through `core::time`.
#[test]
fn core_does_no_io() {
    let root = root();
    let files = rust_files(&root.join("core/src"));
    assert!(files.len() > 10);
    let io = [
        "std::fs",
        "std::net",
        "std::process",
        "std::thread",
        "std::env",
        "File::",
        "TcpStream",
        "UdpSocket",
        "tokio",
        RUNTIME,
        "libc::",
    ];
    let found = offenders(&files, &io, &root);
    assert!(found.is_empty(), "I/O in core:\n{}", found.join("\n"));
    let clock: Vec<PathBuf> = files
        .iter()
        .filter(|f| !f.ends_with("core/src/time.rs"))
        .cloned()
        .collect();
    let found = offenders(&clock, &["SystemTime::now", "Instant::now"], &root);
    assert!(
        found.is_empty(),
        "clock read outside core::time:\n{}",
        found.join("\n")
    );
}

/// Every path ARCHITECTURE.md names (a backticked token with a `/` or a
/// file extension) exists: as written from the repository root, or as the
/// end of a real path (`router.rs` for `shards/src/http/router.rs`, with
/// `.rs` implied for a module such as `config/nakama_only`).
#[test]
fn every_path_architecture_names_exists() {
    let root = root();
    let doc = std::fs::read_to_string(root.join("ARCHITECTURE.md")).expect("ARCHITECTURE.md");
    let mut all = Vec::new();
    let mut stack = vec![root.clone()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let p = entry.path();
            let name = entry.file_name();
            if skipped(&name) {
                continue;
            }
            let rel = p
                .strip_prefix(&root)
                .unwrap()
                .to_string_lossy()
                .into_owned();
            if p.is_dir() {
                all.push(format!("{rel}/"));
                stack.push(p);
            } else {
                all.push(rel);
            }
        }
    }
    let is_path = |t: &str| {
        !t.is_empty()
            && !t.starts_with('/')
            && t.chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_./".contains(c))
            && (t.contains('/')
                || [".rs", ".md", ".toml", ".mjs", ".fbs", ".sh", ".yml"]
                    .iter()
                    .any(|e| t.ends_with(e)))
    };
    let mut named = 0;
    let mut missing = Vec::new();
    for token in doc.split('`').skip(1).step_by(2).filter(|t| is_path(t)) {
        named += 1;
        let t = token.trim_start_matches("./");
        let found = all.iter().any(|p| {
            let candidates = [t.to_string(), format!("{t}.rs"), format!("{t}/")];
            candidates
                .iter()
                .any(|c| p == c || p.ends_with(&format!("/{c}")))
        });
        if !found {
            missing.push(token.to_string());
        }
    }
    assert!(named > 40, "only {named} paths found in ARCHITECTURE.md");
    assert!(
        missing.is_empty(),
        "ARCHITECTURE.md names paths that do not exist: {missing:?}"
    );
}

/// A module of `kairos-shards` is `pub` only when another crate uses it;
/// the rest are `pub(crate)`, so that rustc reports what nothing uses.
#[test]
fn shards_modules_are_public_only_when_used_elsewhere() {
    let root = root();
    let lib = std::fs::read_to_string(root.join("shards/src/lib.rs")).expect("lib.rs");
    let public: Vec<&str> = lib
        .lines()
        .filter_map(|l| l.trim().strip_prefix("pub mod "))
        .map(|m| m.trim_end_matches(';'))
        .collect();
    assert!(!public.is_empty());
    let users: Vec<String> = ["benches", "tests", "loadtest", "client", "fuzz", "examples"]
        .iter()
        .flat_map(|d| rust_files(&root.join(d)))
        // The stock binary is a crate of its own too.
        .chain([root.join("shards/src/main.rs")])
        .filter(|f| !f.starts_with(root.join("tests/tests/tidy.rs")))
        .map(|f| std::fs::read_to_string(f).unwrap_or_default())
        .collect();
    let unused: Vec<&&str> = public
        .iter()
        .filter(|m| {
            let path = format!("kairos_shards::{m}");
            !users.iter().any(|text| text.contains(&path))
        })
        .collect();
    assert!(
        unused.is_empty(),
        "public modules of kairos-shards no other crate uses (make them pub(crate)): {unused:?}"
    );
}

/// The layers inside `kairos-shards`, as ARCHITECTURE.md draws them:
/// `fanout/` knows no feature; a realtime feature knows no other feature
/// (notifications excepted: a service the others call); and neither the
/// features, the fan-out, the session nor game code (`modules/`) know a
/// transport.
#[test]
fn shards_layers_keep_to_their_side() {
    let root = root();
    let src = root.join("shards/src");
    let files_in = |dir: &str| rust_files(&src.join(dir));
    let mut found = Vec::new();

    let fanout = files_in("fanout");
    assert!(fanout.len() >= 4, "fanout/ has {} files", fanout.len());
    found.extend(offenders(
        &fanout,
        &["realtime::", "crate::realtime"],
        &root,
    ));

    let features = ["matches", "chat", "status"];
    for f in features {
        let files = files_in(&format!("realtime/{f}"));
        assert!(!files.is_empty(), "realtime/{f}/ is missing");
        let others: Vec<String> = features
            .iter()
            .filter(|o| **o != f)
            .flat_map(|o| [format!("realtime::{o}"), format!("super::super::{o}")])
            .collect();
        let others: Vec<&str> = others.iter().map(String::as_str).collect();
        found.extend(offenders(&files, &others, &root));
    }

    let inner: Vec<PathBuf> = ["realtime", "fanout", "session", "modules"]
        .iter()
        .flat_map(|d| files_in(d))
        .collect();
    found.extend(offenders(
        &inner,
        &[
            "crate::http",
            "crate::ws",
            "crate::udp",
            "crate::quic",
            "crate::datagram",
        ],
        &root,
    ));
    assert!(
        found.is_empty(),
        "a layer of kairos-shards reaches across:\n{}",
        found.join("\n")
    );
}
