//! criterion: persistence round trips, as a shard sees them: submit a job
//! to the pool, the pool runs it on the store, the reply comes back. A
//! read (`user_status` of an existing account), a write (storing a chat
//! message) and storage batches (`PUT /v2/storage`'s transaction: 1 and 10
//! objects of a user's, replacing objects of 16 keys, each batch all or
//! nothing) on SQLite, and on PostgreSQL when `KAIROS_BENCH_POSTGRES`
//! names a database (each run in a schema of its own, dropped afterwards).
//! A storage batch's objects per second is its size over its time.

use criterion::{Criterion, criterion_group, criterion_main};
use kairos_core::account::Identity;
use kairos_core::channel::{self, ChannelMessage};
use kairos_core::storage::{StorageCaller, StorageWrite};
use kairos_store::{Persist, StoreConfig};
use uuid::Uuid;

fn open(address: Option<String>, schema: Option<String>) -> Persist {
    let dir = std::env::temp_dir().join(format!("kairos-bench-{}", Uuid::new_v4().simple()));
    let persist = Persist::open(&StoreConfig {
        address,
        data_dir: dir,
        threads: 2,
        max_open_conns: 8,
        password_hash_cost: 4,
        pg_schema: schema,
    })
    .expect("open the store");
    persist
        .block_on(persist.run(|s| async move { s.migrate_up().await }))
        .expect("migrate");
    persist
}

fn bench_backend(c: &mut Criterion, name: &str, persist: &Persist) {
    let device = format!("bench-device-{}", Uuid::new_v4().simple());
    let user = persist
        .block_on(persist.run(move |s| async move {
            s.authenticate(Identity::Device { id: device }, String::new(), true)
                .await
        }))
        .expect("account")
        .user_id;
    c.bench_function(&format!("persist_read_user_status/{name}"), |b| {
        b.iter(|| {
            persist
                .block_on(persist.run(move |s| async move { s.user_status(user).await }))
                .expect("read")
        })
    });
    let room = channel::room("bench");
    c.bench_function(&format!("persist_write_chat_message/{name}"), |b| {
        b.iter(|| {
            let now = kairos_core::time::now_micros();
            let m = ChannelMessage {
                id: Uuid::new_v4(),
                stream: room.clone(),
                code: 0,
                sender_id: user,
                username: "bench".into(),
                content: r#"{"text":"hello"}"#.into(),
                create_time: now,
                update_time: now,
            };
            persist
                .block_on(persist.run(move |s| async move { s.insert_message(m).await }))
                .expect("write")
        })
    });
    for batch in [1usize, 10] {
        let mut next = 0usize;
        c.bench_function(&format!("persist_storage_write_batch{batch}/{name}"), |b| {
            b.iter(|| {
                let writes: Vec<StorageWrite> = (0..batch)
                    .map(|i| StorageWrite {
                        collection: "bench".into(),
                        key: format!("k{}", (next + i) % 16),
                        user_id: user,
                        value: r#"{"level":12,"coins":340,"items":["sword","shield"]}"#.into(),
                        version: String::new(),
                        permission_read: 1,
                        permission_write: 1,
                    })
                    .collect();
                next += batch;
                persist
                    .block_on(persist.run(move |s| async move {
                        s.storage_write(StorageCaller::User(user), writes).await
                    }))
                    .expect("storage batch")
            })
        });
    }
}

/// Drops the bench's schema over a connection of its own.
fn drop_schema(url: &str, schema: &str) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        if let Ok((client, conn)) = tokio_postgres::connect(url, tokio_postgres::NoTls).await {
            tokio::spawn(conn);
            let _ = client
                .batch_execute(&format!("DROP SCHEMA IF EXISTS \"{schema}\" CASCADE"))
                .await;
        }
    });
}

fn persistence(c: &mut Criterion) {
    let sqlite = open(None, None);
    bench_backend(c, "sqlite", &sqlite);
    sqlite.shutdown();
    match std::env::var("KAIROS_BENCH_POSTGRES") {
        Ok(url) if !url.is_empty() => {
            let schema = format!("kairos_bench_{}", Uuid::new_v4().simple());
            let pg = open(Some(url.clone()), Some(schema.clone()));
            bench_backend(c, "postgres", &pg);
            pg.shutdown();
            drop_schema(&url, &schema);
        }
        _ => eprintln!("postgres persistence bench skipped: KAIROS_BENCH_POSTGRES is not set"),
    }
}

criterion_group!(benches, persistence);
criterion_main!(benches);
