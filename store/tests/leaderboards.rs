//! Leaderboards on every backend (see `common`): creation is idempotent,
//! each operator's write, listings in both sort orders by keyset pages,
//! records by owner, deletes, concurrent increments that add up exactly,
//! the reset mark set once, and the rank rows the index is built from.

#[macro_use]
mod common;

use kairos_core::error::{ApiResult, Code};
use kairos_core::leaderboard::list::{Dir, Query};
use kairos_core::leaderboard::rank::RankIndex;
use kairos_core::leaderboard::write::{RecordWrite, Written};
use kairos_core::leaderboard::{Leaderboard, Operator, Record, SortOrder};
use uuid::Uuid;

use common::{Backend, unique};

conformance!(
    creation_is_idempotent_and_deletion_cascades,
    operators_apply_as_nakama,
    listings_page_by_key_in_both_directions,
    records_of_owners_and_deletes,
    concurrent_increments_add_up,
    reset_marks_only_move_forward,
    rank_rows_rebuild_the_index,
);

fn board(id: &str, sort: SortOrder, op: Operator) -> Leaderboard {
    Leaderboard {
        id: id.into(),
        authoritative: false,
        sort_order: sort,
        operator: op,
        reset_schedule: String::new(),
        metadata: "{}".into(),
        create_time: 1000,
        enable_ranks: true,
        last_reset: 0,
    }
}

fn create(b: &Backend, lb: Leaderboard) -> (Leaderboard, bool) {
    b.call(move |s| Box::pin(async move { s.leaderboard_create(lb).await }))
        .unwrap()
}

fn w(
    lb: &Leaderboard,
    owner: Uuid,
    score: i64,
    subscore: i64,
    op: Option<Operator>,
) -> RecordWrite {
    RecordWrite {
        leaderboard_id: lb.id.clone(),
        expiry: 0,
        owner_id: owner,
        username: Some("name".into()),
        score,
        subscore,
        metadata: None,
        operator: op.unwrap_or(lb.operator),
        sort: lb.sort_order,
        now: 2000,
        max_num_score: 1_000_000,
    }
}

fn write(b: &Backend, write: RecordWrite) -> ApiResult<Written> {
    b.call(move |s| Box::pin(async move { s.leaderboard_record_write(write).await }))
}

fn range(b: &Backend, id: &str, q: Query) -> Vec<Record> {
    let id = id.to_string();
    b.call(move |s| Box::pin(async move { s.leaderboard_records_range(id, 0, q).await }))
        .unwrap()
}

fn creation_is_idempotent_and_deletion_cascades(b: Backend) {
    let b = b.migrated();
    let id = unique("lb-");
    let lb = board(&id, SortOrder::Descending, Operator::Best);
    let (stored, created) = create(&b, lb.clone());
    assert!(created);
    assert_eq!(stored, lb);
    // A second creation with other settings keeps the first.
    let (again, created) = create(&b, board(&id, SortOrder::Ascending, Operator::Set));
    assert!(!created);
    assert_eq!(again, lb);
    let all = b
        .call(|s| Box::pin(async move { s.leaderboards_all().await }))
        .unwrap();
    assert!(all.contains(&lb));
    write(&b, w(&lb, Uuid::new_v4(), 5, 0, None)).unwrap();
    let id2 = id.clone();
    assert!(
        b.call(move |s| Box::pin(async move { s.leaderboard_delete(id2).await }))
            .unwrap()
    );
    let id2 = id.clone();
    assert!(
        !b.call(move |s| Box::pin(async move { s.leaderboard_delete(id2).await }))
            .unwrap()
    );
    // Its records went with it.
    let q = Query {
        bound: None,
        dir: Dir::Up,
        limit: 10,
    };
    assert!(range(&b, &id, q).is_empty());
}

fn operators_apply_as_nakama(b: Backend) {
    let b = b.migrated();
    let lb = board(&unique("lb-"), SortOrder::Descending, Operator::Best);
    create(&b, lb.clone());
    let me = Uuid::new_v4();
    let first = write(&b, w(&lb, me, 10, 5, None)).unwrap();
    assert!(first.changed);
    assert_eq!(
        (
            first.record.score,
            first.record.subscore,
            first.record.num_score
        ),
        (10, 5, 1)
    );
    assert_eq!(first.record.username.as_deref(), Some("name"));
    assert_eq!(first.record.metadata, "{}");
    assert_eq!(first.record.max_num_score, 1_000_000);
    // A worse best changes nothing, not even num_score or metadata.
    let mut worse = w(&lb, me, 9, 4, None);
    worse.metadata = Some(r#"{"x":1}"#.into());
    let same = write(&b, worse).unwrap();
    assert!(!same.changed);
    assert_eq!(
        (
            same.record.score,
            same.record.num_score,
            same.record.metadata.as_str()
        ),
        (10, 1, "{}")
    );
    // Better on subscore only.
    let mut better = w(&lb, me, 9, 6, None);
    better.metadata = Some(r#"{"x":2}"#.into());
    better.username = None;
    let r = write(&b, better).unwrap().record;
    assert_eq!((r.score, r.subscore, r.num_score), (10, 6, 2));
    assert_eq!(r.metadata, r#"{"x":2}"#);
    assert_eq!(r.username.as_deref(), Some("name"));
    // Overrides: set, incr, decr (floored at 0).
    let r = write(&b, w(&lb, me, 3, 3, Some(Operator::Set)))
        .unwrap()
        .record;
    assert_eq!((r.score, r.subscore, r.num_score), (3, 3, 3));
    let r = write(&b, w(&lb, me, 4, 1, Some(Operator::Increment)))
        .unwrap()
        .record;
    assert_eq!((r.score, r.subscore, r.num_score), (7, 4, 4));
    let r = write(&b, w(&lb, me, 10, 1, Some(Operator::Decrement)))
        .unwrap()
        .record;
    assert_eq!((r.score, r.subscore, r.num_score), (0, 3, 5));
    // A first decrement starts at zero.
    let other = write(&b, w(&lb, Uuid::new_v4(), 8, 8, Some(Operator::Decrement))).unwrap();
    assert_eq!((other.record.score, other.record.subscore), (0, 0));
    // Negative results are refused, and leave the record as it was.
    let err = write(&b, w(&lb, me, -1, 0, Some(Operator::Increment))).unwrap_err();
    assert_eq!(err.code, Code::Internal);
    let err = write(&b, w(&lb, Uuid::new_v4(), -5, 0, Some(Operator::Set))).unwrap_err();
    assert_eq!(err.code, Code::Internal);
    let err = write(&b, w(&lb, me, i64::MAX, 0, Some(Operator::Increment)));
    assert!(err.is_ok());
    let err = write(&b, w(&lb, me, 1, 0, Some(Operator::Increment))).unwrap_err();
    assert_eq!(err.code, Code::Internal);
    // Ascending best keeps the lower.
    let asc = board(&unique("lb-"), SortOrder::Ascending, Operator::Best);
    create(&b, asc.clone());
    write(&b, w(&asc, me, 50, 0, None)).unwrap();
    assert_eq!(
        write(&b, w(&asc, me, 40, 1, None)).unwrap().record.score,
        40
    );
    assert!(!write(&b, w(&asc, me, 45, 1, None)).unwrap().changed);
}

fn listings_page_by_key_in_both_directions(b: Backend) {
    let b = b.migrated();
    let lb = board(&unique("lb-"), SortOrder::Descending, Operator::Set);
    create(&b, lb.clone());
    let mut owners: Vec<Uuid> = (0..6).map(|_| Uuid::new_v4()).collect();
    owners.sort();
    // Scores 10, 10, 20, 20, 30, 30: ties broken by owner id.
    for (i, o) in owners.iter().enumerate() {
        write(&b, w(&lb, *o, 10 * (i as i64 / 2 + 1), 0, None)).unwrap();
    }
    let keys = |v: &[Record]| v.iter().map(|r| (r.score, r.owner_id)).collect::<Vec<_>>();
    let up = range(
        &b,
        &lb.id,
        Query {
            bound: None,
            dir: Dir::Up,
            limit: 10,
        },
    );
    let mut expected: Vec<_> = owners
        .iter()
        .enumerate()
        .map(|(i, o)| (10 * (i as i64 / 2 + 1), *o))
        .collect();
    assert_eq!(keys(&up), expected);
    let down = range(
        &b,
        &lb.id,
        Query {
            bound: None,
            dir: Dir::Down,
            limit: 3,
        },
    );
    expected.reverse();
    assert_eq!(keys(&down), expected[..3].to_vec());
    let after = range(
        &b,
        &lb.id,
        Query {
            bound: Some(down[2].key()),
            dir: Dir::Down,
            limit: 10,
        },
    );
    assert_eq!(keys(&after), expected[3..].to_vec());
    let before = range(
        &b,
        &lb.id,
        Query {
            bound: Some(after[0].key()),
            dir: Dir::Up,
            limit: 2,
        },
    );
    assert_eq!(keys(&before), vec![expected[2], expected[1]]);
}

fn records_of_owners_and_deletes(b: Backend) {
    let b = b.migrated();
    let lb = board(&unique("lb-"), SortOrder::Descending, Operator::Best);
    create(&b, lb.clone());
    let (a, c) = (Uuid::new_v4(), Uuid::new_v4());
    write(&b, w(&lb, a, 1, 0, None)).unwrap();
    let id = lb.id.clone();
    let found = b
        .call(move |s| Box::pin(async move { s.leaderboard_records_of(id, 0, vec![a, c]).await }))
        .unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].owner_id, a);
    let id = lb.id.clone();
    assert!(
        b.call(move |s| Box::pin(async move { s.leaderboard_record_delete(id, 0, a).await }))
            .unwrap()
    );
    let id = lb.id.clone();
    assert!(
        !b.call(move |s| Box::pin(async move { s.leaderboard_record_delete(id, 0, a).await }))
            .unwrap()
    );
    // Another period holds records of its own.
    let mut later = w(&lb, a, 7, 0, None);
    later.expiry = 5000;
    write(&b, later).unwrap();
    assert!(
        range(
            &b,
            &lb.id,
            Query {
                bound: None,
                dir: Dir::Up,
                limit: 5
            }
        )
        .is_empty()
    );
}

fn concurrent_increments_add_up(b: Backend) {
    let b = b.migrated();
    let lb = board(&unique("lb-"), SortOrder::Descending, Operator::Increment);
    create(&b, lb.clone());
    let me = Uuid::new_v4();
    const WRITERS: i64 = 20;
    let replies: Vec<_> = (1..=WRITERS)
        .map(|i| {
            let write = w(&lb, me, i, 1, None);
            b.persist
                .run(move |s| async move { s.leaderboard_record_write(write).await })
        })
        .collect();
    for r in replies {
        assert!(b.persist.block_on(r).unwrap().changed);
    }
    let rows = range(
        &b,
        &lb.id,
        Query {
            bound: None,
            dir: Dir::Up,
            limit: 5,
        },
    );
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].score, WRITERS * (WRITERS + 1) / 2);
    assert_eq!(rows[0].subscore, WRITERS);
    assert_eq!(rows[0].num_score, WRITERS as i32);
}

fn reset_marks_only_move_forward(b: Backend) {
    let b = b.migrated();
    let lb = board(&unique("lb-"), SortOrder::Descending, Operator::Best);
    create(&b, lb.clone());
    let mark = |at: i64| {
        let id = lb.id.clone();
        b.call(move |s| Box::pin(async move { s.leaderboard_mark_reset(id, at).await }))
            .unwrap()
    };
    assert!(mark(100));
    assert!(!mark(100));
    assert!(!mark(50));
    assert!(mark(200));
    let all = b
        .call(|s| Box::pin(async move { s.leaderboards_all().await }))
        .unwrap();
    assert_eq!(all.iter().find(|l| l.id == lb.id).unwrap().last_reset, 200);
}

fn rank_rows_rebuild_the_index(b: Backend) {
    let b = b.migrated();
    let lb = board(&unique("lb-"), SortOrder::Ascending, Operator::Set);
    create(&b, lb.clone());
    for i in 0..40 {
        write(&b, w(&lb, Uuid::new_v4(), i % 7, i % 3, None)).unwrap();
    }
    let id = lb.id.clone();
    let rows = b
        .call(move |s| Box::pin(async move { s.leaderboard_rank_rows(id, 0).await }))
        .unwrap();
    let index = RankIndex::from_rows(SortOrder::Ascending, rows);
    let listed = range(
        &b,
        &lb.id,
        Query {
            bound: None,
            dir: Dir::Up,
            limit: 100,
        },
    );
    let ranked: Vec<_> = index.iter().map(|(o, _, _)| o).collect();
    let stored: Vec<_> = listed.iter().map(|r| r.owner_id).collect();
    assert_eq!(ranked, stored);
}
