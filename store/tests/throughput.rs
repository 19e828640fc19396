//! A rough throughput check of the SQLite backend through the pool:
//! `cargo test -p kairos-store --release --test throughput -- --ignored --nocapture`.

use std::time::Instant;

use kairos_core::account::Identity;
use kairos_store::{Persist, StoreConfig};
use uuid::Uuid;

#[test]
#[ignore = "a measurement, not a check"]
fn sqlite_device_auth_throughput() {
    let dir = std::env::temp_dir().join(format!("kairos-throughput-{}", Uuid::new_v4().simple()));
    let persist = Persist::open(&StoreConfig {
        address: None,
        data_dir: dir.clone(),
        threads: 2,
        max_open_conns: 4,
        password_hash_cost: 4,
        pg_schema: None,
    })
    .expect("open");
    persist
        .block_on(persist.run(|s| async move { s.migrate_up().await }))
        .expect("migrate");
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
