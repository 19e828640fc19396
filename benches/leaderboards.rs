//! criterion: leaderboards at 1,000,000 records.
//!
//! * The rank index (`kairos_core::leaderboard::rank::RankIndex`), as the
//!   `kairos-leaderboards` thread runs it: an update (a write's new
//!   score), a rank lookup, the ranks of 100 owners (a listing's
//!   `owner_ids`), the record at a rank, and building the index from 1M
//!   stored rows (what start-up does per board).
//! * The store (SQLite, through the persistence pool as a shard reaches
//!   it) holding 1M records of one board: a write (the owner's record
//!   locked, decided, stored), a first page, and an around-owner window
//!   (the owner's record and the two keyset queries of
//!   `kairos_core::leaderboard::list`).
//!
//! `cargo bench -p kairos-benches --bench leaderboards`

use std::time::Instant;

use criterion::{Criterion, criterion_group, criterion_main};
use kairos_core::leaderboard::list::{self, Dir, Query};
use kairos_core::leaderboard::rank::{RankIndex, RankRow};
use kairos_core::leaderboard::write::RecordWrite;
use kairos_core::leaderboard::{Leaderboard, Operator, SortOrder};
use kairos_store::{Persist, StoreConfig};
use uuid::Uuid;

const N: usize = 1_000_000;

/// xorshift64*: deterministic scores and owners, no extra crate.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
}

fn rows(rng: &mut Rng) -> Vec<RankRow> {
    (0..N)
        .map(|_| {
            let owner = Uuid::from_u128(((rng.next() as u128) << 64) | rng.next() as u128);
            (
                owner,
                (rng.next() % 1_000_000) as i64,
                (rng.next() % 100) as i64,
                1,
            )
        })
        .collect()
}

fn rank_index(c: &mut Criterion) {
    let mut rng = Rng(42);
    let rows = rows(&mut rng);
    let owners: Vec<Uuid> = rows.iter().map(|r| r.0).collect();
    let started = Instant::now();
    let mut index = RankIndex::from_rows(SortOrder::Descending, rows.clone());
    eprintln!("built a 1M-record index in {:?}", started.elapsed());
    c.bench_function("leaderboard_index_build_1m", |b| {
        b.iter(|| RankIndex::from_rows(SortOrder::Descending, rows.clone()))
    });
    let mut generation = 1;
    c.bench_function("leaderboard_index_update_1m", |b| {
        b.iter(|| {
            generation += 1;
            let owner = owners[(rng.next() % N as u64) as usize];
            index.upsert(owner, (rng.next() % 1_000_000) as i64, 0, generation)
        })
    });
    c.bench_function("leaderboard_index_rank_1m", |b| {
        b.iter(|| index.rank(owners[(rng.next() % N as u64) as usize]))
    });
    c.bench_function("leaderboard_index_fill_100_of_1m", |b| {
        b.iter(|| {
            (0..100)
                .map(|_| {
                    index
                        .rank(owners[(rng.next() % N as u64) as usize])
                        .unwrap_or(0)
                })
                .sum::<u64>()
        })
    });
    c.bench_function("leaderboard_index_at_rank_1m", |b| {
        b.iter(|| index.at_rank(1 + rng.next() % N as u64))
    });
}

fn open() -> (Persist, std::path::PathBuf) {
    let dir = std::env::temp_dir().join(format!("kairos-bench-{}", Uuid::new_v4().simple()));
    let persist = Persist::open(&StoreConfig {
        address: None,
        data_dir: dir.clone(),
        threads: 2,
        max_open_conns: 8,
        password_hash_cost: 4,
        pg_schema: None,
    })
    .expect("open the store");
    persist
        .block_on(persist.run(|s| async move { s.migrate_up().await }))
        .expect("migrate");
    (persist, dir)
}

fn store(c: &mut Criterion) {
    let (persist, dir) = open();
    let board = Leaderboard {
        id: "bench".into(),
        authoritative: false,
        sort_order: SortOrder::Descending,
        operator: Operator::Best,
        reset_schedule: String::new(),
        metadata: "{}".into(),
        create_time: 0,
        enable_ranks: true,
        last_reset: 0,
    };
    let b2 = board.clone();
    persist
        .block_on(persist.run(move |s| async move { s.leaderboard_create(b2).await }))
        .expect("create");
    // 1M records, bulk-loaded straight into the file (setup only).
    let mut rng = Rng(7);
    let rows = rows(&mut rng);
    let started = Instant::now();
    {
        let mut conn = rusqlite::Connection::open(dir.join("kairos.db")).expect("open");
        let tx = conn.transaction().expect("tx");
        {
            let mut stmt = tx
                .prepare(
                    "INSERT INTO leaderboard_record (leaderboard_id, expiry_time, owner_id, username,
                        score, subscore, num_score, max_num_score, metadata, create_time, update_time)
                     VALUES ('bench', 0, ?1, 'p', ?2, ?3, 1, 1000000, '{}', 0, 0)",
                )
                .expect("prepare");
            for (o, s, ss, _) in &rows {
                stmt.execute(rusqlite::params![o.to_string(), s, ss])
                    .expect("insert");
            }
        }
        tx.commit().expect("commit");
    }
    eprintln!("loaded 1M records into SQLite in {:?}", started.elapsed());
    let started = Instant::now();
    let loaded = persist
        .block_on(persist.run(|s| async move { s.leaderboard_rank_rows("bench".into(), 0).await }))
        .expect("rank rows");
    let index = RankIndex::from_rows(SortOrder::Descending, loaded);
    eprintln!(
        "rebuilt the rank index of {} records from SQLite in {:?}",
        index.len(),
        started.elapsed()
    );
    let owners: Vec<Uuid> = rows.iter().map(|r| r.0).collect();
    c.bench_function("leaderboard_store_write_1m/sqlite", |b| {
        b.iter(|| {
            let w = RecordWrite {
                leaderboard_id: "bench".into(),
                expiry: 0,
                owner_id: owners[(rng.next() % N as u64) as usize],
                username: Some("p".into()),
                score: (rng.next() % 2_000_000) as i64,
                subscore: 0,
                metadata: None,
                operator: Operator::Best,
                sort: SortOrder::Descending,
                now: 1,
                max_num_score: 1_000_000,
            };
            persist
                .block_on(persist.run(move |s| async move { s.leaderboard_record_write(w).await }))
                .expect("write")
        })
    });
    c.bench_function("leaderboard_store_first_page_100_of_1m/sqlite", |b| {
        b.iter(|| {
            let q = Query {
                bound: None,
                dir: Dir::Down,
                limit: 101,
            };
            persist
                .block_on(persist.run(move |s| async move {
                    s.leaderboard_records_range("bench".into(), 0, q).await
                }))
                .expect("page")
        })
    });
    c.bench_function("leaderboard_store_around_owner_10_of_1m/sqlite", |b| {
        b.iter(|| {
            let owner = owners[(rng.next() % N as u64) as usize];
            persist
                .block_on(persist.run(move |s| async move {
                    let id = "bench".to_string();
                    let me = s
                        .leaderboard_records_of(id.clone(), 0, vec![owner])
                        .await?
                        .pop()
                        .expect("owner's record");
                    let sort = SortOrder::Descending;
                    let above = s
                        .leaderboard_records_range(id.clone(), 0, list::around_above(sort, &me, 10))
                        .await?;
                    let below_limit = list::around_below_limit(10, above.len().min(10));
                    let below = s
                        .leaderboard_records_range(
                            id,
                            0,
                            list::around_below(sort, &me, below_limit),
                        )
                        .await?;
                    Ok(list::around_window(above, me, below, 10).0.len())
                }))
                .expect("around")
        })
    });
    persist.shutdown();
    let _ = std::fs::remove_dir_all(dir);
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(20);
    targets = rank_index, store
}
criterion_main!(benches);
