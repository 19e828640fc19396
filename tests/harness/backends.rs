//! Which store a test runs on, and how backend-parametrised tests are
//! declared so that a backend that cannot run is reported, never passed.
//!
//! [`backend_tests!`](crate::backend_tests) turns each listed
//! `fn name(b: &Backend)` into two tests, `sqlite::name` and
//! `postgres::name`. The PostgreSQL one is an ordinary test when
//! `KAIROS_TEST_POSTGRES` named a database at build time (`build.rs` sets
//! `cfg(kairos_test_postgres)`), and an `#[ignore]`d one otherwise: libtest
//! lists it as ignored with the reason, and the test binary ends its output
//! with one line counting them and saying how to run them.

use std::sync::Once;
use std::sync::atomic::{AtomicUsize, Ordering};

/// Which store a server runs on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres(String),
}

impl Backend {
    pub fn name(&self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres(_) => "postgres",
        }
    }

    /// The PostgreSQL database `KAIROS_TEST_POSTGRES` names. A test that
    /// asks for it without one fails: it never passes without running.
    pub fn postgres() -> Backend {
        match std::env::var("KAIROS_TEST_POSTGRES") {
            Ok(url) if !url.is_empty() => Backend::Postgres(url),
            _ => panic!(
                "KAIROS_TEST_POSTGRES must name a database to run the PostgreSQL tests, \
                 e.g. postgres://postgres@127.0.0.1:5432/test"
            ),
        }
    }
}

/// Declares backend-parametrised tests: `backend_tests!(a, b)` for
/// `fn a(b: &Backend)` and `fn b(b: &Backend)`.
#[macro_export]
macro_rules! backend_tests {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[test]
                fn $name() {
                    #[cfg(not(kairos_test_postgres))]
                    $crate::backends::postgres_variant_ignored();
                    super::$name(&$crate::Backend::Sqlite);
                }
            )*
        }
        mod postgres {
            $(
                #[test]
                #[cfg_attr(
                    not(kairos_test_postgres),
                    ignore = "KAIROS_TEST_POSTGRES is not set; set it to a database URL to run"
                )]
                fn $name() {
                    super::$name(&$crate::Backend::postgres());
                }
            )*
        }
    };
}

static IGNORED: AtomicUsize = AtomicUsize::new(0);
static AT_EXIT: Once = Once::new();

/// Counts a PostgreSQL variant left ignored (called by its SQLite twin,
/// which runs), and makes sure the binary says so as it exits.
pub fn postgres_variant_ignored() {
    IGNORED.fetch_add(1, Ordering::Relaxed);
    AT_EXIT.call_once(|| {
        // SAFETY: registers a plain function with no captured state.
        unsafe {
            libc::atexit(say_ignored);
        }
    });
}

/// The line a test binary ends with when it left PostgreSQL variants
/// ignored.
pub fn ignored_line(n: usize) -> String {
    format!(
        "\nNOTE: {n} PostgreSQL backend test(s) above were ignored, not run: \
         KAIROS_TEST_POSTGRES is not set. Run them with \
         KAIROS_TEST_POSTGRES=postgres://postgres@127.0.0.1:5432/test cargo test --workspace\n\n"
    )
}

extern "C" fn say_ignored() {
    let line = ignored_line(IGNORED.load(Ordering::Relaxed));
    // Straight to the descriptor: past libtest's output capture, after its
    // summary, with no lock or buffer that exit may have torn down.
    // SAFETY: writes from a valid buffer of the given length.
    unsafe {
        libc::write(2, line.as_ptr().cast(), line.len());
    }
}
