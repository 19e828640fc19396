//! Test harness: starts the real `kairos` binary on an ephemeral port with
//! two shards and gives tests small HTTP and WebSocket clients.
//!
//! PostgreSQL: set `KAIROS_TEST_POSTGRES=postgres://postgres@127.0.0.1:5432/test`
//! to run every backend-parametrised test against PostgreSQL too; without
//! it their PostgreSQL variants are listed as ignored (`backends`).
//! The nakama-js scripts install their own packages (`js`).

pub mod backends;
pub mod client;
pub mod js;
pub mod server;

pub use backends::Backend;
pub use client::{Connect, Http, Reply, Session, Ws, basic, bearer};
pub use server::{TestServer, build_server_binary};

/// `n` users, each with a socket (opened with `query`, e.g. `&status=true`),
/// such that both shards serve some of them: sockets are reopened until
/// the kernel has spread them.
pub fn users_on_both_shards(s: &TestServer, n: usize, query: &str) -> Vec<(Ws, Session)> {
    assert!(n >= 2);
    let http = s.http();
    let mut users: Vec<(Ws, Session)> = (0..n)
        .map(|_| {
            let sess = http.device(&unique("device-"));
            (Ws::open(&s.addr, &sess.token, query), sess)
        })
        .collect();
    for _ in 0..50 {
        if users.iter().any(|(w, _)| w.shard != users[0].0.shard) {
            return users;
        }
        let (mut ws, sess) = users.pop().expect("n >= 2");
        ws.close();
        users.push((Ws::open(&s.addr, &sess.token, query), sess));
    }
    panic!("sockets never reached both shards");
}

/// A unique string for ids that must not collide across tests and runs.
pub fn unique(prefix: &str) -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!(
        "{prefix}{}{:x}{}",
        std::process::id(),
        nanos,
        N.fetch_add(1, Ordering::Relaxed)
    )
}

/// An RFC 3339 UTC time as the API writes it (`2024-01-01T00:00:02Z`),
/// as Unix seconds.
pub fn unix_secs(t: &str) -> i64 {
    let num = |a: usize, b: usize| t[a..b].parse::<i64>().unwrap();
    let (y, m, d) = (num(0, 4), num(5, 7), num(8, 10));
    let (hh, mm, ss) = (num(11, 13), num(14, 16), num(17, 19));
    // Days from civil (Howard Hinnant).
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    days * 86_400 + hh * 3600 + mm * 60 + ss
}
