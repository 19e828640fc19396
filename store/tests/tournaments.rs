//! Tournaments on every backend (see `common`): idempotent creation that
//! refuses a plain leaderboard's id, joins counted against `max_size`
//! (idempotent, and never past the cap under concurrent joins), and
//! writes refused outside the window, without a join, past
//! `max_num_score` or past `max_size`, with concurrent first writes that
//! add up; each period's players counted apart, and each end marked once.

#[macro_use]
mod common;

use kairos_core::error::ApiResult;
use kairos_core::leaderboard::{Leaderboard, Operator, Record, SortOrder};
use kairos_core::tournament::{
    CreateArgs, NewTournament, Refusal, Tournament, TournamentWrite, check_create,
};
use uuid::Uuid;

use common::{Backend, unique};

conformance!(
    creation_is_idempotent_and_refuses_a_leaderboards_id,
    joins_are_idempotent_and_capped,
    writes_follow_the_window_the_join_and_the_caps,
    concurrent_joins_never_pass_max_size,
    concurrent_first_writes_add_up,
    deletes_uncount_the_player,
    each_period_counts_its_own_players,
    an_end_is_marked_once,
    attempts_move_the_owners_cap_in_the_window,
);

/// 2026-01-01T00:00:00Z.
const T: i64 = 1_767_225_600;
const H: i64 = 3600;

fn new(id: &str, join_required: bool, max_size: i64, max_num_score: i64) -> NewTournament {
    check_create(&CreateArgs {
        id,
        authoritative: false,
        sort_order: "desc",
        operator: "incr",
        reset_schedule: "",
        metadata: "",
        title: "A title",
        description: "",
        category: 3,
        start_time: T,
        end_time: 0,
        duration: H,
        max_size,
        max_num_score,
        join_required,
        enable_ranks: true,
    })
    .unwrap()
}

fn create(b: &Backend, t: NewTournament, now: i64) -> ApiResult<(Tournament, bool)> {
    b.call(move |s| Box::pin(async move { s.tournament_create(t, now).await }))
}

fn join(b: &Backend, id: &str, owner: Uuid, now: i64) -> Result<bool, Refusal> {
    let id = id.to_string();
    b.call(move |s| {
        Box::pin(async move { s.tournament_join(id, owner, Some("name".into()), now).await })
    })
    .unwrap()
}

fn tw(id: &str, owner: Uuid, score: i64, now: i64) -> TournamentWrite {
    TournamentWrite {
        tournament_id: id.to_string(),
        owner_id: owner,
        username: Some("name".into()),
        score,
        subscore: 0,
        metadata: None,
        operator: None,
        from_server: false,
        now,
    }
}

fn write(b: &Backend, w: TournamentWrite) -> Result<Record, Refusal> {
    b.call(move |s| Box::pin(async move { s.tournament_record_write(w).await }))
        .unwrap()
}

fn get(b: &Backend, id: &str) -> Tournament {
    let ids = vec![id.to_string()];
    b.call(move |s| Box::pin(async move { s.tournaments_get(ids).await }))
        .unwrap()
        .pop()
        .unwrap()
}

fn creation_is_idempotent_and_refuses_a_leaderboards_id(b: Backend) {
    let b = b.migrated();
    let id = unique("t-");
    let (made, created) = create(&b, new(&id, true, 5, 0), T - 10).unwrap();
    assert!(created);
    assert_eq!(made.title, "A title");
    assert_eq!((made.category, made.duration, made.start_time), (3, H, T));
    assert_eq!(
        (made.max_size, made.max_num_score, made.size),
        (5, 1_000_000, 0)
    );
    assert!(made.join_required);
    assert_eq!(made.leaderboard.create_time, T - 10);
    let (again, created) = create(&b, new(&id, false, 9, 0), T).unwrap();
    assert!(!created);
    assert_eq!(again, made);
    assert_eq!(get(&b, &id), made);

    // A start of 0 is the creation time.
    let id0 = unique("t-");
    let mut zero = new(&id0, false, 0, 0);
    zero.start_time = 0;
    let (z, _) = create(&b, zero, T + 5).unwrap();
    assert_eq!(z.start_time, T + 5);
    assert_eq!(z.max_size, i32::MAX);

    // A plain leaderboard's id is taken.
    let lb_id = unique("lb-");
    let lb = Leaderboard {
        id: lb_id.clone(),
        authoritative: false,
        sort_order: SortOrder::Descending,
        operator: Operator::Best,
        reset_schedule: String::new(),
        metadata: "{}".into(),
        create_time: T,
        enable_ranks: true,
        last_reset: 0,
    };
    b.call(move |s| Box::pin(async move { s.leaderboard_create(lb).await }))
        .unwrap();
    let err = create(&b, new(&lb_id, false, 0, 0), T).unwrap_err();
    assert_eq!(
        err.message,
        "cannot create tournament as leaderboard is already in use"
    );

    let all = b
        .call(|s| Box::pin(async move { s.tournaments_all().await }))
        .unwrap();
    assert!(all.iter().any(|t| t.leaderboard.id == id));
    assert!(all.iter().any(|t| t.leaderboard.id == id0));
    assert!(!all.iter().any(|t| t.leaderboard.id == lb_id));

    // Deleting the leaderboard deletes the tournament.
    let del = id.clone();
    assert!(
        b.call(move |s| Box::pin(async move { s.leaderboard_delete(del).await }))
            .unwrap()
    );
    let ids = vec![id];
    assert!(
        b.call(move |s| Box::pin(async move { s.tournaments_get(ids).await }))
            .unwrap()
            .is_empty()
    );
}

fn joins_are_idempotent_and_capped(b: Backend) {
    let b = b.migrated();
    let id = unique("t-");
    create(&b, new(&id, true, 2, 0), T).unwrap();
    let (a, c, d) = (Uuid::new_v4(), Uuid::new_v4(), Uuid::new_v4());
    assert_eq!(join(&b, &id, a, T + 1), Ok(true));
    assert_eq!(join(&b, &id, a, T + 2), Ok(false));
    // Joining before the start is allowed, after the window is not.
    assert_eq!(join(&b, &id, c, T - 100), Ok(true));
    assert_eq!(join(&b, &id, d, T + 3), Err(Refusal::MaxSizeReached));
    assert_eq!(get(&b, &id).size, 2);
    assert_eq!(join(&b, &id, d, T + H), Err(Refusal::OutsideDuration));
    assert_eq!(join(&b, "nope", d, T), Err(Refusal::NotFound));
    // The joined record is empty: score 0, no attempt yet.
    let ids = vec![a];
    let rid = id.clone();
    let recs = b
        .call(move |s| Box::pin(async move { s.leaderboard_records_of(rid, 0, ids).await }))
        .unwrap();
    assert_eq!(recs.len(), 1);
    assert_eq!((recs[0].score, recs[0].num_score), (0, 0));
    // Without join_required a join is a no-op.
    let free = unique("t-");
    create(&b, new(&free, false, 2, 0), T).unwrap();
    assert_eq!(join(&b, &free, a, T + 1), Ok(false));
    assert_eq!(get(&b, &free).size, 0);
}

fn writes_follow_the_window_the_join_and_the_caps(b: Backend) {
    let b = b.migrated();
    let id = unique("t-");
    create(&b, new(&id, true, 0, 2), T).unwrap();
    let me = Uuid::new_v4();
    assert_eq!(write(&b, tw(&id, me, 5, T + 1)), Err(Refusal::JoinRequired));
    assert_eq!(join(&b, &id, me, T + 1), Ok(true));
    let r = write(&b, tw(&id, me, 5, T + 2)).unwrap();
    assert_eq!((r.score, r.num_score, r.max_num_score), (5, 1, 2));
    let r = write(&b, tw(&id, me, 4, T + 3)).unwrap();
    assert_eq!((r.score, r.num_score), (9, 2));
    assert_eq!(
        write(&b, tw(&id, me, 1, T + 4)),
        Err(Refusal::MaxNumScoreReached)
    );
    assert_eq!(
        write(&b, tw(&id, me, 1, T - 1)),
        Err(Refusal::OutsideDuration)
    );
    assert_eq!(
        write(&b, tw(&id, me, 1, T + H)),
        Err(Refusal::OutsideDuration)
    );
    assert_eq!(write(&b, tw("nope", me, 1, T)), Err(Refusal::NotFound));

    // Without a join: a new writer is counted against max_size.
    let free = unique("t-");
    create(&b, new(&free, false, 1, 0), T).unwrap();
    let r = write(&b, tw(&free, me, 7, T + 1)).unwrap();
    assert_eq!((r.score, r.num_score), (7, 1));
    let other = Uuid::new_v4();
    assert_eq!(
        write(&b, tw(&free, other, 1, T + 1)),
        Err(Refusal::MaxSizeReached)
    );
    assert_eq!(get(&b, &free).size, 1);
    assert!(write(&b, tw(&free, me, 1, T + 2)).is_ok());

    // Authoritative: only game code writes.
    let auth = unique("t-");
    let mut def = new(&auth, false, 0, 0);
    def.authoritative = true;
    create(&b, def, T).unwrap();
    assert_eq!(
        write(&b, tw(&auth, me, 1, T + 1)),
        Err(Refusal::Authoritative)
    );
    let server = TournamentWrite {
        from_server: true,
        ..tw(&auth, me, 1, T + 1)
    };
    assert_eq!(write(&b, server).unwrap().score, 1);
}

fn concurrent_joins_never_pass_max_size(b: Backend) {
    let b = b.migrated();
    let id = unique("t-");
    create(&b, new(&id, true, 5, 0), T).unwrap();
    let replies: Vec<_> = (0..20)
        .map(|_| {
            let id = id.clone();
            b.persist.run(move |s| async move {
                s.tournament_join(id, Uuid::new_v4(), None, T + 1).await
            })
        })
        .collect();
    let mut joined = 0;
    let mut full = 0;
    for r in replies {
        match b.persist.block_on(r).unwrap() {
            Ok(true) => joined += 1,
            Err(Refusal::MaxSizeReached) => full += 1,
            other => panic!("unexpected join outcome {other:?}"),
        }
    }
    assert_eq!((joined, full), (5, 15));
    assert_eq!(get(&b, &id).size, 5);
}

fn concurrent_first_writes_add_up(b: Backend) {
    let b = b.migrated();
    let id = unique("t-");
    create(&b, new(&id, false, 0, 0), T).unwrap();
    let me = Uuid::new_v4();
    const WRITERS: i64 = 20;
    let replies: Vec<_> = (1..=WRITERS)
        .map(|i| {
            let w = tw(&id, me, i, T + 1);
            b.persist
                .run(move |s| async move { s.tournament_record_write(w).await })
        })
        .collect();
    for r in replies {
        assert!(b.persist.block_on(r).unwrap().is_ok());
    }
    let ids = vec![me];
    let recs = b
        .call(move |s| Box::pin(async move { s.leaderboard_records_of(id, 0, ids).await }))
        .unwrap();
    assert_eq!(recs.len(), 1);
    assert_eq!(recs[0].score, WRITERS * (WRITERS + 1) / 2);
    assert_eq!(recs[0].num_score, WRITERS as i32);
}

fn deletes_uncount_the_player(b: Backend) {
    let b = b.migrated();
    let del = |id: &str, owner: Uuid, from_server: bool| {
        let id = id.to_string();
        b.call(move |s| {
            Box::pin(async move {
                s.tournament_record_delete(id, owner, from_server, T + 5)
                    .await
            })
        })
        .unwrap()
    };
    let id = unique("t-");
    create(&b, new(&id, false, 1, 0), T).unwrap();
    let (me, other) = (Uuid::new_v4(), Uuid::new_v4());
    write(&b, tw(&id, me, 3, T + 1)).unwrap();
    assert_eq!(
        write(&b, tw(&id, other, 3, T + 1)),
        Err(Refusal::MaxSizeReached)
    );
    assert_eq!(del(&id, me, false), Ok(0));
    assert_eq!(get(&b, &id).size, 0);
    // Deleting nothing changes nothing.
    assert_eq!(del(&id, me, false), Ok(0));
    assert_eq!(get(&b, &id).size, 0);
    assert!(write(&b, tw(&id, other, 3, T + 2)).is_ok());
    assert_eq!(del("nope", me, false), Err(Refusal::NotFound));
    let auth = unique("t-");
    let mut def = new(&auth, false, 0, 0);
    def.authoritative = true;
    create(&b, def, T).unwrap();
    assert_eq!(del(&auth, me, false), Err(Refusal::Authoritative));
    assert_eq!(del(&auth, me, true), Ok(0));
}

fn each_period_counts_its_own_players(b: Backend) {
    let b = b.migrated();
    let id = unique("t-");
    let mut daily = new(&id, true, 1, 0);
    daily.reset_schedule = "0 0 * * *".into();
    create(&b, daily, T - 10).unwrap();
    let (a, c) = (Uuid::new_v4(), Uuid::new_v4());
    let day = 24 * H;
    assert_eq!(join(&b, &id, a, T + 60), Ok(true));
    assert_eq!(join(&b, &id, c, T + 120), Err(Refusal::MaxSizeReached));
    assert_eq!(get(&b, &id).size_at(T + 120), 1);
    // The next day's period has room again, with no reset written.
    assert_eq!(get(&b, &id).size_at(T + day + 10), 0);
    assert!(get(&b, &id).can_enter(T + day + 10));
    assert_eq!(join(&b, &id, c, T + day + 20), Ok(true));
    assert_eq!(join(&b, &id, a, T + day + 30), Err(Refusal::MaxSizeReached));
    let t = get(&b, &id);
    assert_eq!((t.size_at(T + day + 30), t.at(T + day + 30).size), (1, 1));
    // Deleting a record of the old period does not uncount the new one.
    let old = write(&b, {
        let mut w = tw(&id, c, 5, T + day + 40);
        w.from_server = true;
        w
    });
    assert!(old.is_ok());
    let del = |owner: Uuid, now: i64| {
        let id = id.clone();
        b.call(move |s| {
            Box::pin(async move { s.tournament_record_delete(id, owner, true, now).await })
        })
        .unwrap()
    };
    assert_eq!(del(c, T + day + 50), Ok(T + 2 * day));
    assert_eq!(get(&b, &id).size_at(T + day + 50), 0);
    assert_eq!(join(&b, &id, a, T + day + 60), Ok(true));
}

fn an_end_is_marked_once(b: Backend) {
    let b = b.migrated();
    let id = unique("t-");
    create(&b, new(&id, false, 0, 0), T - 10).unwrap();
    let mark = |at: i64| {
        let id = id.clone();
        b.call(move |s| Box::pin(async move { s.tournament_mark_end(id, at).await }))
            .unwrap()
    };
    assert!(mark(T + H));
    assert!(!mark(T + H));
    assert!(!mark(T + 10));
    assert_eq!(get(&b, &id).last_end, T + H);
    assert!(mark(T + 2 * H));
    assert!(!mark(T + 2 * H));
    assert!(!{
        let unknown = unique("t-");
        b.call(move |s| Box::pin(async move { s.tournament_mark_end(unknown, T).await }))
            .unwrap()
    });
}

fn add_attempt(b: &Backend, id: &str, owner: Uuid, count: i64, now: i64) -> Result<(), Refusal> {
    let id = id.to_string();
    b.call(move |s| Box::pin(async move { s.tournament_add_attempt(id, owner, count, now).await }))
        .unwrap()
}

fn attempts_move_the_owners_cap_in_the_window(b: Backend) {
    let b = b.migrated();
    let id = unique("t-");
    create(&b, new(&id, false, 0, 1), T).unwrap();
    let (me, other) = (Uuid::new_v4(), Uuid::new_v4());
    write(&b, tw(&id, me, 5, T + 1)).unwrap();
    assert_eq!(
        write(&b, tw(&id, me, 1, T + 2)),
        Err(Refusal::MaxNumScoreReached)
    );
    assert_eq!(add_attempt(&b, &id, me, 2, T + 3), Ok(()));
    let r = write(&b, tw(&id, me, 1, T + 4)).unwrap();
    assert_eq!((r.score, r.num_score, r.max_num_score), (6, 2, 3));
    // An owner without a record: nothing to change, no error.
    assert_eq!(add_attempt(&b, &id, other, 5, T + 4), Ok(()));
    assert_eq!(
        write(&b, tw(&id, other, 1, T + 5)).unwrap().max_num_score,
        1
    );
    // Kept within 1 (0 would be no cap) and i32::MAX.
    assert_eq!(add_attempt(&b, &id, me, -100, T + 5), Ok(()));
    assert_eq!(
        write(&b, tw(&id, me, 1, T + 6)),
        Err(Refusal::MaxNumScoreReached)
    );
    assert_eq!(add_attempt(&b, &id, me, i64::from(i32::MAX), T + 6), Ok(()));
    assert_eq!(add_attempt(&b, &id, me, i64::from(i32::MAX), T + 6), Ok(()));
    let r = write(&b, tw(&id, me, 1, T + 7)).unwrap();
    assert_eq!(r.max_num_score, i32::MAX);
    // Refused once the window has closed, and for an unknown tournament.
    assert_eq!(
        add_attempt(&b, &id, me, 1, T + H),
        Err(Refusal::OutsideDuration)
    );
    assert_eq!(add_attempt(&b, "nope", me, 1, T), Err(Refusal::NotFound));
}
