//! Sets `cfg(kairos_test_postgres)` when `KAIROS_TEST_POSTGRES` names a
//! database, so that the PostgreSQL variants of the backend tests are
//! compiled as ordinary tests then, and as `#[ignore]`d ones (listed as
//! ignored, never as passed) otherwise.

fn main() {
    println!("cargo::rerun-if-env-changed=KAIROS_TEST_POSTGRES");
    println!("cargo::rustc-check-cfg=cfg(kairos_test_postgres)");
    if std::env::var("KAIROS_TEST_POSTGRES").is_ok_and(|v| !v.is_empty()) {
        println!("cargo::rustc-cfg=kairos_test_postgres");
    }
}
