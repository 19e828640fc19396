//! A backend that cannot run is reported, never passed: without
//! `KAIROS_TEST_POSTGRES` at build time every PostgreSQL variant is listed
//! as ignored, and the binary ends with a line counting them; with it,
//! none is ignored.

use std::process::Command;

use kairos_tests::{Backend, backend_tests};

backend_tests!(a_backend_test);

fn a_backend_test(b: &Backend) {
    assert!(matches!(b, Backend::Sqlite | Backend::Postgres(_)));
}

/// Lists this binary's ignored tests and runs its SQLite variant, as
/// `cargo test` would.
#[test]
fn postgres_variants_are_ignored_not_passed_without_a_database() {
    let me = std::env::current_exe().expect("test binary");
    let listed = Command::new(&me)
        .args(["--list", "--ignored"])
        .output()
        .expect("list");
    let listed = String::from_utf8_lossy(&listed.stdout).into_owned();
    let run = Command::new(&me)
        .args(["--exact", "sqlite::a_backend_test"])
        .output()
        .expect("run");
    let stderr = String::from_utf8_lossy(&run.stderr).into_owned();
    assert!(run.status.success(), "{stderr}");
    if cfg!(kairos_test_postgres) {
        assert!(!listed.contains("postgres::"), "ignored: {listed}");
        assert!(!stderr.contains("were ignored"), "{stderr}");
    } else {
        assert!(
            listed.contains("postgres::a_backend_test: test"),
            "not ignored: {listed}"
        );
        assert!(
            stderr.contains(&kairos_tests::backends::ignored_line(1)),
            "no closing line: {stderr}"
        );
    }
}

/// Every test source that reads `KAIROS_TEST_POSTGRES` also names
/// `cfg(kairos_test_postgres)`, which marks its PostgreSQL tests ignored
/// without a database: a test that reads the variable and returns early
/// (a silent pass) cannot come back unnoticed.
#[test]
fn no_test_reads_the_database_switch_without_the_ignore_cfg() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut files = Vec::new();
    for dir in [
        "tests/tests",
        "tests/harness",
        "store/tests",
        "store/src",
        "shards/src",
    ] {
        collect_rs(&root.join(dir), &mut files);
    }
    assert!(files.len() > 20, "found only {} sources", files.len());
    let mut offenders = Vec::new();
    for f in files {
        let text = std::fs::read_to_string(&f).unwrap_or_default();
        let reads = text.contains(&format!("var(\"{}\")", "KAIROS_TEST_POSTGRES"));
        if reads && !text.contains("kairos_test_postgres") {
            offenders.push(f.display().to_string());
        }
    }
    assert!(offenders.is_empty(), "silent-skip risk in {offenders:?}");
}

fn collect_rs(dir: &std::path::Path, out: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            collect_rs(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}
