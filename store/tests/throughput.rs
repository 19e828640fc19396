//! Rough throughput checks of the SQLite backend through the pool, ignored
//! by default (measurements, not checks):
//! `cargo test -p kairos-store --release --test throughput -- --ignored --nocapture`.
//!
//! `sqlite_concurrent_device_signups` takes these environment variables,
//! read only here:
//! * `KAIROS_BENCH_THREADS`: client threads (16);
//! * `KAIROS_BENCH_SECS`: seconds measured per configuration (5);
//! * `KAIROS_BENCH_MAX_BATCH`: comma-separated group-commit limits to
//!   measure in turn, each on a fresh database (`1,64`); 1 turns group
//!   commit off (one transaction per account, the code path from before
//!   it), so the default run prints before and after side by side.
//!
//! The limit is process-wide: run one measurement at a time
//! (`--test-threads 1`, or name the test).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use kairos_core::account::Identity;
use kairos_store::{Persist, StoreConfig};
use uuid::Uuid;

fn open(dir: &std::path::Path) -> Persist {
    let persist = Persist::open(&StoreConfig {
        address: None,
        data_dir: dir.to_path_buf(),
        threads: 2,
        max_open_conns: 4,
        password_hash_cost: 4,
        pg_schema: None,
    })
    .expect("open");
    persist
        .block_on(persist.run(|s| async move { s.migrate_up().await }))
        .expect("migrate");
    persist
}

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

#[test]
#[ignore = "a measurement, not a check"]
fn sqlite_device_auth_throughput() {
    let dir = std::env::temp_dir().join(format!("kairos-throughput-{}", Uuid::new_v4().simple()));
    let persist = open(&dir);
    for (label, create) in [("create", true), ("find", false)] {
        let n = 5000;
        let ids: Vec<String> = (0..n)
            .map(|i| format!("throughput-device-{i:08}"))
            .collect();
        let start = Instant::now();
        let replies: Vec<_> = ids
            .into_iter()
            .map(|id| {
                persist.run(move |s| async move {
                    s.authenticate(Identity::Device { id }, String::new(), create)
                        .await
                })
            })
            .collect();
        for r in replies {
            persist.block_on(r).expect("auth");
        }
        let secs = start.elapsed().as_secs_f64();
        println!("device auth ({label}): {:.0}/s", n as f64 / secs);
    }
    persist.shutdown();
    let _ = std::fs::remove_dir_all(dir);
}

/// `threads` client threads, each creating device accounts one after
/// another (a closed loop, like keep-alive HTTP connections) for `secs`
/// seconds after a one-second warm-up. Returns accounts/s and the p50 and
/// p99 latency of one sign-up.
fn signups(persist: &Persist, threads: usize, secs: f64) -> (f64, Duration, Duration) {
    let measuring = Arc::new(AtomicBool::new(false));
    let stop = Arc::new(AtomicBool::new(false));
    let workers: Vec<_> = (0..threads)
        .map(|t| {
            let (persist, measuring, stop) = (persist.clone(), measuring.clone(), stop.clone());
            std::thread::spawn(move || {
                let mut latencies = Vec::new();
                let mut i = 0u64;
                while !stop.load(Ordering::Relaxed) {
                    let id = format!("bench-{t:02}-{i:09}");
                    i += 1;
                    let started = Instant::now();
                    let created = persist
                        .block_on(persist.run(move |s| async move {
                            s.authenticate(Identity::Device { id }, String::new(), true)
                                .await
                        }))
                        .expect("sign-up");
                    assert!(created.created);
                    if measuring.load(Ordering::Relaxed) {
                        latencies.push(started.elapsed());
                    }
                }
                latencies
            })
        })
        .collect();
    std::thread::sleep(Duration::from_secs(1));
    measuring.store(true, Ordering::Relaxed);
    let start = Instant::now();
    std::thread::sleep(Duration::from_secs_f64(secs));
    measuring.store(false, Ordering::Relaxed);
    let elapsed = start.elapsed().as_secs_f64();
    stop.store(true, Ordering::Relaxed);
    let mut all: Vec<Duration> = workers
        .into_iter()
        .flat_map(|w| w.join().expect("worker"))
        .collect();
    all.sort();
    let at = |q: f64| all[((all.len() as f64 * q) as usize).min(all.len() - 1)];
    (all.len() as f64 / elapsed, at(0.5), at(0.99))
}

#[test]
#[ignore = "a measurement, not a check"]
fn sqlite_concurrent_device_signups() {
    let threads = env_or("KAIROS_BENCH_THREADS", 16usize);
    let secs = env_or("KAIROS_BENCH_SECS", 5.0f64);
    let limits = std::env::var("KAIROS_BENCH_MAX_BATCH").unwrap_or_else(|_| "1,64".into());
    for limit in limits.split(',').filter(|s| !s.trim().is_empty()) {
        let limit: usize = limit.trim().parse().expect("KAIROS_BENCH_MAX_BATCH");
        kairos_store::sqlite::set_group_commit_limit(limit);
        let dir =
            std::env::temp_dir().join(format!("kairos-throughput-{}", Uuid::new_v4().simple()));
        let persist = open(&dir);
        let (rate, p50, p99) = signups(&persist, threads, secs);
        println!(
            "device sign-ups, {threads} threads, group commit limit {limit}: {rate:.0} accounts/s (p50 {:.2} ms, p99 {:.2} ms)",
            p50.as_secs_f64() * 1e3,
            p99.as_secs_f64() * 1e3,
        );
        persist.shutdown();
        let _ = std::fs::remove_dir_all(dir);
    }
    kairos_store::sqlite::set_group_commit_limit(kairos_store::sqlite::DEFAULT_GROUP_COMMIT_LIMIT);
}
