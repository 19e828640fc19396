//! Friends, notifications and chat history, on every backend (see
//! `common` for the harness).

#[macro_use]
mod common;

use std::collections::HashSet;

use kairos_core::channel::{self, ChannelMessage, MessageKey};
use kairos_core::error::ApiResult;
use kairos_core::friend::{
    FofCursor, Friend, FriendAdded, FriendCursor, FriendOfFriend, FriendState,
};
use kairos_core::notification::{Notification, NotificationUpdate};
use kairos_core::stream::StreamId;
use uuid::Uuid;

use common::{Backend, auth, device, raw_sql, unique};

conformance!(
    migration_adds_social,
    invites_and_accepts,
    accept_keeps_metadata_when_none_given,
    adding_skips_self_unknown_and_duplicates,
    blocks,
    blocking_a_friend,
    deletes,
    list_friends_orders_filters_and_pages,
    friends_of_friends,
    can_message,
    concurrent_adds_keep_counts_exact,
    delete_account_cleans_up_social,
    notifications_save_list_delete,
    notifications_by_id,
    notification_batches_are_atomic,
    messages_update_and_remove,
    messages_list_both_ways,
    messages_need_a_living_sender,
    export_rows_hold_what_the_user_owns,
    server_messages_need_no_account,
    friend_edges_by_id_and_their_metadata,
    notification_updates,
);

// ---- helpers -------------------------------------------------------------

const FRIEND: FriendState = FriendState::Friend;
const SENT: FriendState = FriendState::InviteSent;
const RECEIVED: FriendState = FriendState::InviteReceived;
const BLOCKED: FriendState = FriendState::Blocked;

fn user(b: &Backend) -> Uuid {
    auth(b, device(&unique("dev-")), "", true).unwrap().user_id
}

fn users(b: &Backend, n: usize) -> Vec<Uuid> {
    (0..n).map(|_| user(b)).collect()
}

fn add_with(b: &Backend, me: Uuid, ids: &[Uuid], metadata: &str) -> Vec<FriendAdded> {
    let (ids, metadata) = (ids.to_vec(), metadata.to_string());
    b.call(move |s| Box::pin(async move { s.add_friends(me, ids, metadata).await }))
        .unwrap()
}

fn add(b: &Backend, me: Uuid, ids: &[Uuid]) -> Vec<FriendAdded> {
    add_with(b, me, ids, "")
}

fn invited(id: Uuid) -> FriendAdded {
    FriendAdded {
        user_id: id,
        accepted: false,
    }
}

fn accepted(id: Uuid) -> FriendAdded {
    FriendAdded {
        user_id: id,
        accepted: true,
    }
}

fn delete(b: &Backend, me: Uuid, ids: &[Uuid]) -> Vec<Uuid> {
    let ids = ids.to_vec();
    b.call(move |s| Box::pin(async move { s.delete_friends(me, ids).await }))
        .unwrap()
}

fn block(b: &Backend, me: Uuid, ids: &[Uuid]) -> Vec<Uuid> {
    let ids = ids.to_vec();
    b.call(move |s| Box::pin(async move { s.block_friends(me, ids).await }))
        .unwrap()
}

fn list(
    b: &Backend,
    me: Uuid,
    state: Option<FriendState>,
    after: Option<FriendCursor>,
    limit: usize,
) -> Vec<Friend> {
    b.call(move |s| Box::pin(async move { s.list_friends(me, state, after, limit).await }))
        .unwrap()
}

/// Every edge leaving `me`, as `(other, state)`, in listing order.
fn edges(b: &Backend, me: Uuid) -> Vec<(Uuid, FriendState)> {
    list(b, me, None, None, 10_000)
        .into_iter()
        .map(|f| (f.user.id, f.state))
        .collect()
}

fn edge(b: &Backend, from: Uuid, to: Uuid) -> Option<Friend> {
    list(b, from, None, None, 10_000)
        .into_iter()
        .find(|f| f.user.id == to)
}

fn state(b: &Backend, from: Uuid, to: Uuid) -> Option<FriendState> {
    edge(b, from, to).map(|f| f.state)
}

fn edge_count(b: &Backend, id: Uuid) -> i32 {
    b.call(move |s| Box::pin(async move { s.get_account(id).await }))
        .unwrap()
        .user
        .edge_count
}

/// Each user's `edge_count` is the number of edges leaving them, and the
/// listed friends carry the same counts.
fn assert_counts(b: &Backend, ids: &[Uuid]) {
    for &id in ids {
        let listed = list(b, id, None, None, 10_000);
        assert_eq!(
            edge_count(b, id) as usize,
            listed.len(),
            "edge_count of {id}: {listed:?}"
        );
        for f in &listed {
            assert_eq!(
                f.user.edge_count,
                edge_count(b, f.user.id),
                "listed count of {}",
                f.user.id
            );
        }
    }
}

fn befriend(b: &Backend, x: Uuid, y: Uuid) {
    assert_eq!(add(b, x, &[y]), [invited(y)]);
    assert_eq!(add(b, y, &[x]), [accepted(x)]);
}

fn is_sqlite(b: &Backend) -> bool {
    b.config.address.is_none()
}

// ---- friends ---------------------------------------------------------------

fn migration_adds_social(b: Backend) {
    let applied = b
        .call(|s| Box::pin(async move { s.migrate_up().await }))
        .unwrap();
    let social = applied.iter().find(|m| m.version == 2).expect("version 2");
    assert_eq!(social.name, "social");
    assert!(social.applied_at.is_some());
}

fn invites_and_accepts(b: Backend) {
    let b = b.migrated();
    let (a, c) = (user(&b), user(&b));
    assert_counts(&b, &[a, c]);

    assert_eq!(add_with(&b, a, &[c], r#"{"note":"hi"}"#), [invited(c)]);
    let out = edge(&b, a, c).unwrap();
    let back = edge(&b, c, a).unwrap();
    assert_eq!((out.state, back.state), (SENT, RECEIVED));
    assert_eq!(out.metadata, r#"{"note":"hi"}"#);
    assert_eq!(back.metadata, "{}");
    assert_eq!(out.position, back.position, "both edges share a position");
    assert!(out.position > 1_600_000_000_000_000_000, "unix nanos");
    assert!(out.update_time > 1_600_000_000 && out.update_time < 10_000_000_000);
    assert_eq!((edge_count(&b, a), edge_count(&b, c)), (1, 1));

    // Inviting again does nothing.
    assert!(add(&b, a, &[c]).is_empty());
    assert_eq!(
        (state(&b, a, c), state(&b, c, a)),
        (Some(SENT), Some(RECEIVED))
    );
    assert_counts(&b, &[a, c]);

    // Accepting: both become friends; metadata goes on the acceptor's edge.
    assert_eq!(add_with(&b, c, &[a], r#"{"x":1}"#), [accepted(a)]);
    let out = edge(&b, a, c).unwrap();
    let back = edge(&b, c, a).unwrap();
    assert_eq!((out.state, back.state), (FRIEND, FRIEND));
    assert_eq!(out.metadata, r#"{"note":"hi"}"#);
    assert_eq!(back.metadata, r#"{"x":1}"#);
    assert_eq!((edge_count(&b, a), edge_count(&b, c)), (1, 1));

    // Friends already: adding either way does nothing.
    assert!(add(&b, c, &[a]).is_empty());
    assert!(add(&b, a, &[c]).is_empty());
    assert_eq!(
        (state(&b, a, c), state(&b, c, a)),
        (Some(FRIEND), Some(FRIEND))
    );
    assert_counts(&b, &[a, c]);
}

fn accept_keeps_metadata_when_none_given(b: Backend) {
    let b = b.migrated();
    let (a, c) = (user(&b), user(&b));
    assert_eq!(add(&b, a, &[c]), [invited(c)]);
    assert_eq!(edge(&b, a, c).unwrap().metadata, "{}");
    assert_eq!(add(&b, c, &[a]), [accepted(a)]);
    assert_eq!(edge(&b, c, a).unwrap().metadata, "{}");
    assert_eq!(edge(&b, a, c).unwrap().metadata, "{}");
}

fn adding_skips_self_unknown_and_duplicates(b: Backend) {
    let b = b.migrated();
    let (a, c, d) = (user(&b), user(&b), user(&b));
    let ghost = Uuid::new_v4();
    assert!(add(&b, a, &[]).is_empty());
    assert!(add(&b, a, &[a]).is_empty());
    assert!(add(&b, a, &[ghost]).is_empty());
    assert_eq!(
        add(&b, a, &[a, ghost, c, c, d, ghost, c]),
        [invited(c), invited(d)]
    );
    assert_eq!(edges(&b, a).len(), 2);
    assert_eq!(edge_count(&b, a), 2);
    // In one call, edges keep the order they were added in.
    let positions: Vec<i64> = [c, d]
        .iter()
        .map(|x| edge(&b, a, *x).unwrap().position)
        .collect();
    assert!(positions[0] < positions[1], "{positions:?}");
    // An unknown user adds nobody.
    assert!(add(&b, ghost, &[a, c]).is_empty());
    assert!(edges(&b, ghost).is_empty());
    // Accepting one and inviting another in one call.
    let e = user(&b);
    assert_eq!(add(&b, c, &[e, a]), [invited(e), accepted(a)]);
    assert_counts(&b, &[a, c, d, e]);
}

fn blocks(b: Backend) {
    let b = b.migrated();
    let (a, c) = (user(&b), user(&b));
    assert_eq!(add(&b, a, &[c]), [invited(c)]);

    // c blocks a: c→a is a block, a's invite is gone.
    assert_eq!(block(&b, c, &[a]), [a]);
    assert_eq!(state(&b, c, a), Some(BLOCKED));
    assert_eq!(state(&b, a, c), None);
    assert_eq!((edge_count(&b, a), edge_count(&b, c)), (0, 1));

    // Neither can add the other while the block stands.
    assert!(add(&b, a, &[c]).is_empty(), "a is blocked by c");
    assert!(add(&b, c, &[a]).is_empty(), "c blocked a");
    assert!(edges(&b, a).is_empty());
    assert_eq!(edges(&b, c), [(a, BLOCKED)]);
    assert_counts(&b, &[a, c]);

    // Blocking again still reports the block.
    assert_eq!(block(&b, c, &[a]), [a]);
    assert_eq!(edge_count(&b, c), 1);

    // a blocks c back: c's block stays.
    assert_eq!(block(&b, a, &[c]), [c]);
    assert_eq!(
        (state(&b, a, c), state(&b, c, a)),
        (Some(BLOCKED), Some(BLOCKED))
    );
    assert_eq!((edge_count(&b, a), edge_count(&b, c)), (1, 1));

    // c lifts its block: a's block of c stays, nobody is told.
    assert!(delete(&b, c, &[a]).is_empty());
    assert_eq!((state(&b, a, c), state(&b, c, a)), (Some(BLOCKED), None));
    assert_eq!((edge_count(&b, a), edge_count(&b, c)), (1, 0));
    assert!(add(&b, c, &[a]).is_empty(), "still blocked by a");
    assert_counts(&b, &[a, c]);

    // a lifts its block too; then c can invite a.
    assert!(delete(&b, a, &[c]).is_empty());
    assert!(edges(&b, a).is_empty());
    assert_eq!(add(&b, c, &[a]), [invited(a)]);
    assert_counts(&b, &[a, c]);

    // Unknown users and oneself are not blocked.
    let ghost = Uuid::new_v4();
    assert!(block(&b, a, &[ghost, a]).is_empty());
    assert!(block(&b, ghost, &[a]).is_empty());
    assert_counts(&b, &[a, c]);
}

fn blocking_a_friend(b: Backend) {
    let b = b.migrated();
    let (a, c, d) = (user(&b), user(&b), user(&b));
    befriend(&b, a, c);
    let before = edge(&b, a, c).unwrap();
    // Duplicates and unknown ids are dropped; the rest are blocked in one go.
    assert_eq!(block(&b, a, &[c, c, Uuid::new_v4(), d]), [c, d]);
    let after = edge(&b, a, c).unwrap();
    assert_eq!(after.state, BLOCKED);
    assert_eq!(
        after.position, before.position,
        "a block keeps the edge's place"
    );
    assert_eq!(state(&b, c, a), None);
    assert_eq!(state(&b, a, d), Some(BLOCKED));
    assert_eq!(state(&b, d, a), None);
    assert_eq!(
        (edge_count(&b, a), edge_count(&b, c), edge_count(&b, d)),
        (2, 0, 0)
    );
    assert_counts(&b, &[a, c, d]);
}

fn deletes(b: Backend) {
    let b = b.migrated();
    let (a, c, d, e) = (user(&b), user(&b), user(&b), user(&b));

    // A friendship, from one side: both are told.
    befriend(&b, a, c);
    assert_eq!(delete(&b, a, &[c]), [c]);
    assert_eq!((edges(&b, a), edges(&b, c)), (vec![], vec![]));
    assert_counts(&b, &[a, c]);

    // Rejecting an invite, and cancelling one.
    assert_eq!(add(&b, a, &[c, d]), [invited(c), invited(d)]);
    assert_eq!(delete(&b, c, &[a]), [a]);
    assert_eq!(delete(&b, a, &[d, d]), [d]);
    assert!(edges(&b, a).is_empty());
    assert_counts(&b, &[a, c, d]);

    // One's own block: nobody is told.
    assert_eq!(block(&b, a, &[e]), [e]);
    assert!(delete(&b, a, &[e]).is_empty());
    assert!(edges(&b, a).is_empty());

    // Someone else's block of us stays.
    assert_eq!(block(&b, e, &[a]), [a]);
    assert!(delete(&b, a, &[e]).is_empty());
    assert_eq!(state(&b, e, a), Some(BLOCKED));

    // Mixed, with unknown ids, oneself and nothing to delete.
    befriend(&b, a, c);
    assert_eq!(add(&b, d, &[a]), [invited(a)]);
    assert_eq!(
        delete(&b, a, &[Uuid::new_v4(), a, c, e, d]),
        [c, d],
        "in the order given"
    );
    assert!(edges(&b, a).is_empty());
    assert_counts(&b, &[a, c, d, e]);
}

fn list_friends_orders_filters_and_pages(b: Backend) {
    let b = b.migrated();
    let a = user(&b);
    let others = users(&b, 12);
    // Invites to 0..8, of which 0..3 accept; 8..10 invite a; 10..12 are
    // blocked.
    let invited_ids: Vec<FriendAdded> = others[..8].iter().map(|&x| invited(x)).collect();
    assert_eq!(add(&b, a, &others[..8]), invited_ids);
    for &x in &others[..3] {
        assert_eq!(add(&b, x, &[a]), [accepted(a)]);
    }
    for &x in &others[8..10] {
        assert_eq!(add(&b, x, &[a]), [invited(a)]);
    }
    assert_eq!(block(&b, a, &others[10..]), &others[10..]);
    // Ties: several sent invites share one position.
    let tied: Vec<String> = others[3..7].iter().map(|x| format!("'{x}'")).collect();
    raw_sql(
        &b.config,
        &format!(
            "UPDATE user_edge SET position = 42 WHERE source_id = '{a}' AND destination_id IN ({})",
            tied.join(", ")
        ),
    );

    let all = list(&b, a, None, None, 1000);
    assert_eq!(all.len(), 12);
    let mut expected: Vec<(i32, i64, Uuid)> = all
        .iter()
        .map(|f| (f.state.as_i32(), f.position, f.user.id))
        .collect();
    expected.sort();
    assert_eq!(
        all.iter()
            .map(|f| (f.state.as_i32(), f.position, f.user.id))
            .collect::<Vec<_>>(),
        expected,
        "ordered by (state, position, user id)"
    );
    let count = |s: FriendState| all.iter().filter(|f| f.state == s).count();
    assert_eq!(
        (count(FRIEND), count(SENT), count(RECEIVED), count(BLOCKED)),
        (3, 5, 2, 2)
    );
    assert_eq!(all.iter().filter(|f| f.position == 42).count(), 4);
    // The listed users are whole.
    let first = &all[0];
    let profile = b
        .call({
            let id = first.user.id;
            move |s| Box::pin(async move { s.get_users(vec![id], vec![]).await })
        })
        .unwrap();
    assert_eq!(profile, std::slice::from_ref(&first.user));
    assert_eq!(first.metadata, "{}");

    // Paging, with and without a state filter, visits each edge once.
    for filter in [
        None,
        Some(FRIEND),
        Some(SENT),
        Some(RECEIVED),
        Some(BLOCKED),
    ] {
        let want: Vec<Friend> = all
            .iter()
            .filter(|f| filter.is_none_or(|s| f.state == s))
            .cloned()
            .collect();
        for limit in [1, 2, 3, 5] {
            let mut seen = Vec::new();
            let mut after = None;
            loop {
                let page = list(&b, a, filter, after, limit);
                assert!(page.len() <= limit);
                if page.is_empty() {
                    break;
                }
                after = Some(FriendCursor::after(page.last().unwrap()));
                seen.extend(page);
            }
            assert_eq!(seen, want, "filter {filter:?}, limit {limit}");
        }
    }
    // A cursor that went through encoding works the same.
    let c = FriendCursor::parse(&FriendCursor::after(&all[4]).encode(), None).unwrap();
    assert_eq!(list(&b, a, None, Some(c), 3), all[5..8].to_vec());
    assert!(list(&b, Uuid::new_v4(), None, None, 10).is_empty());
}

fn friends_of_friends(b: Backend) {
    let b = b.migrated();
    let [a, f1, f2, d, e, g, h] = users(&b, 7)[..] else {
        unreachable!()
    };
    befriend(&b, a, f1);
    befriend(&b, a, f2);
    befriend(&b, a, e);
    // f1's friends: d, e (a's friend already), a itself.
    befriend(&b, f1, d);
    befriend(&b, f1, e);
    // f2's friends: d and g; f2 only invited h.
    befriend(&b, f2, d);
    befriend(&b, f2, g);
    assert_eq!(add(&b, f2, &[h]), [invited(h)]);
    // a has a pending invite to g: g is not a's friend, so still listed.
    assert_eq!(add(&b, a, &[g]), [invited(g)]);
    let list_fof = |after: Option<FofCursor>, limit: usize| -> Vec<FriendOfFriend> {
        b.call(move |s| Box::pin(async move { s.list_friends_of_friends(a, after, limit).await }))
            .unwrap()
    };
    let all = list_fof(None, 100);
    let mut want = vec![(f1, d), (f2, d), (f2, g)];
    want.sort();
    assert_eq!(
        all.iter()
            .map(|x| (x.referrer, x.user.id))
            .collect::<Vec<_>>(),
        want
    );
    assert!(
        all.iter()
            .all(|x| x.user.edge_count > 0 && !x.user.username.is_empty())
    );
    // Paging one at a time.
    let mut seen = Vec::new();
    let mut after = None;
    loop {
        let page = list_fof(after, 1);
        let Some(last) = page.last() else { break };
        after = Some(FofCursor {
            referrer: last.referrer,
            user: last.user.id,
        });
        seen.extend(page);
    }
    assert_eq!(seen, all);
    assert_eq!(list_fof(None, 2), all[..2].to_vec());
    // Nobody's friends: nothing.
    let loner = user(&b);
    assert!(
        b.call(move |s| Box::pin(async move { s.list_friends_of_friends(loner, None, 10).await }))
            .unwrap()
            .is_empty()
    );
}

fn can_message(b: Backend) {
    let b = b.migrated();
    let (a, c) = (user(&b), user(&b));
    let can = |from: Uuid, to: Uuid| {
        b.call(move |s| Box::pin(async move { s.can_message(from, to).await }))
            .unwrap()
    };
    assert!(can(a, c) && can(c, a));
    assert!(!can(a, Uuid::new_v4()), "unknown user");
    befriend(&b, a, c);
    assert!(can(a, c) && can(c, a));
    assert_eq!(block(&b, c, &[a]), [a]);
    assert!(!can(a, c), "blocked by c");
    assert!(!can(c, a), "c blocked a");
    assert!(delete(&b, c, &[a]).is_empty());
    assert!(can(a, c) && can(c, a));
    assert_eq!(block(&b, a, &[c]), [c]);
    assert!(!can(a, c) && !can(c, a));
}

/// Everyone adds everyone at once: each pair ends up friends, and every
/// count is exact.
fn concurrent_adds_keep_counts_exact(b: Backend) {
    let b = b.migrated();
    let ids = users(&b, 6);
    let replies: Vec<_> = ids
        .iter()
        .map(|&me| {
            let others: Vec<Uuid> = ids.iter().copied().filter(|&x| x != me).collect();
            b.persist
                .run(move |s| async move { s.add_friends(me, others, String::new()).await })
        })
        .collect();
    let results: Vec<Vec<FriendAdded>> = replies
        .into_iter()
        .map(|r| b.persist.block_on(r).unwrap())
        .collect();
    // Each pair: one invite and one acceptance.
    let invites: usize = results.iter().flatten().filter(|x| !x.accepted).count();
    let accepts: usize = results.iter().flatten().filter(|x| x.accepted).count();
    assert_eq!((invites, accepts), (15, 15));
    for &me in &ids {
        assert_eq!(edges(&b, me).len(), 5);
        assert!(edges(&b, me).iter().all(|(_, s)| *s == FRIEND));
    }
    assert_counts(&b, &ids);
    // Everyone deletes everyone at once.
    let replies: Vec<_> = ids
        .iter()
        .map(|&me| {
            let others: Vec<Uuid> = ids.iter().copied().filter(|&x| x != me).collect();
            b.persist
                .run(move |s| async move { s.delete_friends(me, others).await })
        })
        .collect();
    let told: usize = replies
        .into_iter()
        .map(|r| b.persist.block_on(r).unwrap().len())
        .sum();
    assert_eq!(told, 15, "each friendship is removed once");
    assert_counts(&b, &ids);
    assert!(ids.iter().all(|&me| edge_count(&b, me) == 0));
}

fn delete_account_cleans_up_social(b: Backend) {
    let b = b.migrated();
    let [a, friend, inviter, invitee, blocker, blocked] = users(&b, 6)[..] else {
        unreachable!()
    };
    befriend(&b, a, friend);
    assert_eq!(add(&b, inviter, &[a]), [invited(a)]);
    assert_eq!(add(&b, a, &[invitee]), [invited(invitee)]);
    assert_eq!(block(&b, blocker, &[a]), [a]);
    assert_eq!(block(&b, a, &[blocked]), [blocked]);
    // Unrelated edges of the others must survive.
    befriend(&b, friend, inviter);
    assert_eq!(edge_count(&b, a), 4);
    assert_counts(&b, &[a, friend, inviter, invitee, blocker, blocked]);

    let room = channel::room(&unique("r"));
    let sent = message(&room, a, 1000);
    insert(&b, sent.clone());
    save(
        &b,
        vec![
            note(a, Some(friend), 1),
            note(friend, Some(a), 2),
            note(friend, None, 3),
        ],
    );

    b.call(move |s| Box::pin(async move { s.delete_account(a, true).await }))
        .unwrap();

    for &x in &[friend, inviter, invitee, blocker, blocked] {
        assert!(edges(&b, x).iter().all(|(id, _)| *id != a), "{x}");
    }
    assert_eq!(edges(&b, friend), [(inviter, FRIEND)]);
    assert_eq!(edges(&b, inviter), [(friend, FRIEND)]);
    assert!(edges(&b, invitee).is_empty());
    assert!(edges(&b, blocker).is_empty());
    assert!(edges(&b, blocked).is_empty());
    assert_counts(&b, &[friend, inviter, invitee, blocker, blocked]);
    assert_eq!(edge_count(&b, friend), 1);
    assert_eq!(edge_count(&b, blocker), 0);
    // Nothing of a's is listed, but what others received from a stays.
    assert!(edges(&b, a).is_empty());
    assert!(notes(&b, a, None, 100).is_empty());
    assert_eq!(notes(&b, friend, None, 100).len(), 2);
    // a's messages stay in the history.
    assert_eq!(history(&b, &room, true, None, 10), [sent]);
    // And a's edges and notifications are really gone.
    if is_sqlite(&b) {
        let c = rusqlite::Connection::open(b.config.data_dir.join("kairos.db")).unwrap();
        let left: i64 = c
            .query_row(
                "SELECT (SELECT count(*) FROM user_edge WHERE source_id = ?1 OR destination_id = ?1)
                      + (SELECT count(*) FROM notification WHERE user_id = ?1)",
                [a.to_string()],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(left, 0);
    }
}

// ---- notifications -----------------------------------------------------

fn note(user_id: Uuid, sender_id: Option<Uuid>, create_time: i64) -> Notification {
    Notification {
        id: Uuid::new_v4(),
        user_id,
        subject: unique("subject-"),
        content: r#"{"k":"v"}"#.to_string(),
        code: -2,
        sender_id,
        create_time,
        persistent: true,
    }
}

fn try_save(b: &Backend, n: Vec<Notification>) -> ApiResult<()> {
    b.call(move |s| Box::pin(async move { s.save_notifications(n).await }))
}

fn save(b: &Backend, n: Vec<Notification>) {
    try_save(b, n).unwrap()
}

fn notes(b: &Backend, me: Uuid, after: Option<(i64, Uuid)>, limit: usize) -> Vec<Notification> {
    b.call(move |s| Box::pin(async move { s.list_notifications(me, after, limit).await }))
        .unwrap()
}

fn notifications_save_list_delete(b: Backend) {
    let b = b.migrated();
    let (a, c) = (user(&b), user(&b));
    let ghost = Uuid::new_v4();
    let mut mine: Vec<Notification> = vec![
        note(a, Some(c), 300),
        note(a, None, 100),
        note(a, Some(c), 200),
        note(a, Some(c), 200),
        note(a, None, 200),
        note(a, Some(c), 400),
    ];
    let theirs = note(c, Some(a), 150);
    let lost = note(ghost, Some(a), 150);
    let mut batch = mine.clone();
    batch.push(theirs.clone());
    batch.push(lost.clone());
    // A repeated id is stored once and does not fail the batch.
    batch.push(mine[0].clone());
    save(&b, batch);
    save(&b, vec![]);
    mine.sort_by_key(|n| (n.create_time, n.id));

    assert_eq!(notes(&b, a, None, 100), mine);
    assert_eq!(notes(&b, c, None, 100), std::slice::from_ref(&theirs));
    assert!(
        notes(&b, ghost, None, 100).is_empty(),
        "unknown users' are dropped"
    );
    assert!(notes(&b, a, None, 100).iter().all(|n| n.persistent));

    // Paging after a cursor, through the ties at 200.
    for limit in [1, 2, 4] {
        let mut seen = Vec::new();
        let mut after = None;
        loop {
            let page = notes(&b, a, after, limit);
            assert!(page.len() <= limit);
            let Some(last) = page.last() else { break };
            after = Some((last.create_time, last.id));
            seen.extend(page);
        }
        assert_eq!(seen, mine, "limit {limit}");
    }
    assert_eq!(notes(&b, a, Some((200, Uuid::nil())), 100), mine[1..]);
    assert_eq!(
        notes(&b, a, Some((200, Uuid::from_u128(u128::MAX))), 100),
        mine[4..]
    );

    // Deleting: only one's own.
    let del = |me: Uuid, ids: Vec<Uuid>| {
        b.call(move |s| Box::pin(async move { s.delete_notifications(me, ids).await }))
            .unwrap()
    };
    del(c, vec![mine[0].id, theirs.id]);
    assert!(notes(&b, c, None, 100).is_empty());
    assert_eq!(notes(&b, a, None, 100), mine);
    del(a, vec![mine[0].id, mine[3].id, Uuid::new_v4()]);
    del(a, vec![]);
    let rest: Vec<Notification> = [1, 2, 4, 5].iter().map(|&i| mine[i].clone()).collect();
    assert_eq!(notes(&b, a, None, 100), rest);
}

/// Reading and deleting by id, of any user or of one user only.
fn notifications_by_id(b: Backend) {
    let b = b.migrated();
    let (a, c) = (user(&b), user(&b));
    let mine = note(a, Some(c), 100);
    let theirs = note(c, None, 200);
    save(&b, vec![mine.clone(), theirs.clone()]);
    let get = |ids: Vec<Uuid>, only: Option<Uuid>| {
        let mut found = b
            .call(move |s| Box::pin(async move { s.get_notifications_by_id(ids, only).await }))
            .unwrap();
        found.sort_by_key(|n| n.create_time);
        found
    };
    let del = |ids: Vec<Uuid>, only: Option<Uuid>| {
        b.call(move |s| Box::pin(async move { s.delete_notifications_by_id(ids, only).await }))
            .unwrap()
    };
    let both = vec![mine.id, theirs.id, Uuid::new_v4()];
    assert_eq!(get(both.clone(), None), vec![mine.clone(), theirs.clone()]);
    assert_eq!(get(both.clone(), Some(a)), vec![mine.clone()]);
    assert!(get(vec![], None).is_empty());
    // Another user named: nothing of a's goes.
    del(vec![mine.id], Some(c));
    assert_eq!(notes(&b, a, None, 100), vec![mine.clone()]);
    del(vec![theirs.id], None);
    assert!(notes(&b, c, None, 100).is_empty());
    del(vec![mine.id], Some(a));
    assert!(get(both, None).is_empty());
}

/// A batch that fails partway stores nothing.
fn notification_batches_are_atomic(b: Backend) {
    let b = b.migrated();
    let a = user(&b);
    let trap = if is_sqlite(&b) {
        "CREATE TRIGGER notification_trap BEFORE INSERT ON notification
         WHEN NEW.subject = 'boom' BEGIN SELECT RAISE(ABORT, 'boom'); END;"
    } else {
        "CREATE FUNCTION notification_trap() RETURNS trigger LANGUAGE plpgsql AS $$
         BEGIN IF NEW.subject = 'boom' THEN RAISE EXCEPTION 'boom'; END IF; RETURN NEW; END $$;
         CREATE TRIGGER notification_trap BEFORE INSERT ON notification
         FOR EACH ROW EXECUTE FUNCTION notification_trap();"
    };
    raw_sql(&b.config, trap);
    let mut boom = note(a, None, 2);
    boom.subject = "boom".into();
    let e = try_save(&b, vec![note(a, None, 1), boom]).unwrap_err();
    assert_eq!(e.code, kairos_core::error::Code::Internal);
    assert!(notes(&b, a, None, 10).is_empty());
    save(&b, vec![note(a, None, 1)]);
    assert_eq!(notes(&b, a, None, 10).len(), 1);
}

// ---- chat history --------------------------------------------------------

fn message(stream: &StreamId, sender: Uuid, create_time: i64) -> ChannelMessage {
    ChannelMessage {
        id: Uuid::new_v4(),
        stream: stream.clone(),
        code: channel::code::CHAT,
        sender_id: sender,
        username: unique("name-"),
        content: format!(r#"{{"t":{create_time}}}"#),
        create_time,
        update_time: create_time,
    }
}

fn insert(b: &Backend, m: ChannelMessage) {
    b.call(move |s| Box::pin(async move { s.insert_message(m).await }))
        .unwrap()
}

fn history(
    b: &Backend,
    stream: &StreamId,
    ascending: bool,
    after: Option<MessageKey>,
    limit: usize,
) -> Vec<ChannelMessage> {
    let stream = stream.clone();
    b.call(move |s| Box::pin(async move { s.list_messages(stream, ascending, after, limit).await }))
        .unwrap()
}

fn key(m: &ChannelMessage) -> MessageKey {
    (m.create_time, m.id)
}

fn messages_update_and_remove(b: Backend) {
    let b = b.migrated();
    let (a, c) = (user(&b), Uuid::new_v4());
    let room = channel::room(&unique("r"));
    let dm = channel::direct(a, c);
    let m = message(&room, a, 1_000);
    let d = message(&dm, a, 2_000);
    insert(&b, m.clone());
    insert(&b, d.clone());
    assert_eq!(history(&b, &dm, true, None, 10), std::slice::from_ref(&d));

    let update = |stream: &StreamId, id: Uuid, sender: Uuid, time: i64| {
        let stream = stream.clone();
        b.call(move |s| {
            Box::pin(async move {
                s.update_message(
                    stream,
                    id,
                    sender,
                    "new-name".into(),
                    r#"{"v":2}"#.into(),
                    time,
                )
                .await
            })
        })
        .unwrap()
    };
    let remove = |stream: &StreamId, id: Uuid, sender: Uuid| {
        let stream = stream.clone();
        b.call(move |s| Box::pin(async move { s.remove_message(stream, id, sender).await }))
            .unwrap()
    };
    let other_room = channel::room(&unique("r"));
    let same_label_other_mode = StreamId {
        mode: kairos_core::stream::mode::GROUP,
        ..room.clone()
    };
    let other_subcontext = StreamId {
        subcontext: "x".into(),
        ..room.clone()
    };
    // Wrong sender, wrong stream, unknown id: nothing matches.
    assert_eq!(update(&room, m.id, c, 5), None);
    assert_eq!(update(&other_room, m.id, a, 5), None);
    assert_eq!(update(&same_label_other_mode, m.id, a, 5), None);
    assert_eq!(update(&other_subcontext, m.id, a, 5), None);
    assert_eq!(update(&dm, m.id, a, 5), None);
    assert_eq!(update(&room, Uuid::new_v4(), a, 5), None);
    assert_eq!(history(&b, &room, true, None, 10), std::slice::from_ref(&m));

    assert_eq!(update(&room, m.id, a, 1_500), Some(1_000));
    let updated = ChannelMessage {
        username: "new-name".into(),
        content: r#"{"v":2}"#.into(),
        update_time: 1_500,
        ..m.clone()
    };
    assert_eq!(history(&b, &room, true, None, 10), [updated]);

    assert_eq!(remove(&room, m.id, c), None);
    assert_eq!(remove(&other_room, m.id, a), None);
    assert_eq!(remove(&same_label_other_mode, m.id, a), None);
    assert_eq!(remove(&dm, m.id, a), None);
    assert_eq!(history(&b, &room, true, None, 10).len(), 1);
    assert_eq!(remove(&room, m.id, a), Some((1_000, 1_500)));
    assert_eq!(remove(&room, m.id, a), None);
    assert!(history(&b, &room, true, None, 10).is_empty());
    assert_eq!(update(&room, m.id, a, 1_600), None);
    // The direct message is untouched.
    assert_eq!(history(&b, &dm, false, None, 10), std::slice::from_ref(&d));
    let d_stream = d.stream.clone();
    assert_eq!(remove(&d_stream, d.id, a), Some((2_000, 2_000)));
}

fn messages_list_both_ways(b: Backend) {
    let b = b.migrated();
    let sender = user(&b);
    let room = channel::room(&unique("r"));
    let group = channel::group(Uuid::new_v4());
    // Several share a create time, to check ties are broken by id.
    let times = [10, 20, 20, 20, 30, 40, 40, 50];
    let mut all: Vec<ChannelMessage> = times.iter().map(|&t| message(&room, sender, t)).collect();
    for m in all.iter().rev() {
        insert(&b, m.clone());
    }
    // Elsewhere: never listed with the room.
    insert(&b, message(&channel::room(&unique("r")), sender, 25));
    insert(&b, message(&group, sender, 25));
    all.sort_by_key(key);
    let mut newest_first = all.clone();
    newest_first.reverse();

    assert_eq!(history(&b, &room, true, None, 100), all);
    assert_eq!(history(&b, &room, false, None, 100), newest_first);
    assert_eq!(history(&b, &room, true, None, 3), all[..3]);
    assert_eq!(history(&b, &room, false, None, 3), newest_first[..3]);
    assert_eq!(history(&b, &group, true, None, 100).len(), 1);

    // Strictly after / before a key.
    for i in 0..all.len() {
        let k = key(&all[i]);
        assert_eq!(
            history(&b, &room, true, Some(k), 100),
            all[i + 1..],
            "after {i}"
        );
        let mut before: Vec<ChannelMessage> = all[..i].to_vec();
        before.reverse();
        assert_eq!(
            history(&b, &room, false, Some(k), 100),
            before,
            "before {i}"
        );
    }
    // Keys between stored ones.
    assert_eq!(
        history(&b, &room, true, Some((20, Uuid::nil())), 100),
        all[1..]
    );
    assert_eq!(
        history(&b, &room, true, Some((20, Uuid::from_u128(u128::MAX))), 100),
        all[4..]
    );
    assert_eq!(
        history(&b, &room, false, Some((20, Uuid::nil())), 100),
        [all[0].clone()]
    );

    // Paging both ways visits each message once.
    for (ascending, want) in [(true, &all), (false, &newest_first)] {
        let mut seen = Vec::new();
        let mut after = None;
        loop {
            let page = history(&b, &room, ascending, after, 3);
            let Some(last) = page.last() else { break };
            after = Some(key(last));
            seen.extend(page);
        }
        assert_eq!(&seen, want, "ascending {ascending}");
    }
    let distinct: HashSet<Uuid> = all.iter().map(|m| m.id).collect();
    assert_eq!(distinct.len(), times.len());
}

fn messages_need_a_living_sender(b: Backend) {
    let b = b.migrated();
    let room = channel::room(&unique("r"));
    let try_insert =
        |m: ChannelMessage| b.call(move |s| Box::pin(async move { s.insert_message(m).await }));
    let e = try_insert(message(&room, Uuid::new_v4(), 1)).unwrap_err();
    assert_eq!(e.code, kairos_core::error::Code::NotFound, "unknown sender");
    let a = user(&b);
    let kept = message(&room, a, 2);
    try_insert(kept.clone()).unwrap();
    b.call(move |s| Box::pin(async move { s.delete_account(a, true).await }))
        .unwrap();
    let e = try_insert(message(&room, a, 3)).unwrap_err();
    assert_eq!(e.code, kairos_core::error::Code::NotFound, "deleted sender");
    // What a sent before stays; nothing after its deletion was stored.
    assert_eq!(history(&b, &room, true, None, 10), [kept]);
}

/// An export's rows: the user's objects by collection and key, the
/// messages the user sent (in any channel) oldest first, and no one
/// else's.
fn export_rows_hold_what_the_user_owns(b: Backend) {
    use kairos_core::storage::{StorageCaller, StorageWrite};
    let b = b.migrated();
    let (a, other) = (user(&b), user(&b));
    let write = |owner: Uuid, collection: &str, key: &str| StorageWrite {
        collection: collection.into(),
        key: key.into(),
        user_id: owner,
        value: "{}".into(),
        version: String::new(),
        permission_read: 1,
        permission_write: 1,
    };
    let writes = vec![
        write(a, "b", "k"),
        write(a, "a", "z"),
        write(a, "a", "k"),
        write(other, "a", "k"),
    ];
    b.call(move |s| Box::pin(async move { s.storage_write(StorageCaller::System, writes).await }))
        .unwrap();
    let room = channel::room(&unique("r"));
    let late = message(&channel::direct(a, other), a, 20);
    let early = message(&room, a, 10);
    insert(&b, late.clone());
    insert(&b, early.clone());
    insert(&b, message(&room, other, 15));
    let rows = b
        .call(move |s| Box::pin(async move { s.export_rows(a).await }))
        .unwrap();
    let keys: Vec<(String, String)> = rows
        .objects
        .iter()
        .map(|o| (o.collection.clone(), o.key.clone()))
        .collect();
    assert_eq!(
        keys,
        [("a", "k"), ("a", "z"), ("b", "k")].map(|(c, k)| (c.to_string(), k.to_string()))
    );
    assert!(rows.objects.iter().all(|o| o.user_id == a));
    assert_eq!(rows.messages, [early, late]);
    assert!(rows.records.is_empty());
}

fn server_messages_need_no_account(b: Backend) {
    let b = b.migrated();
    let room = channel::room(&unique("r"));
    let sent = message(&room, Uuid::nil(), 1);
    let m = sent.clone();
    b.call(move |s| Box::pin(async move { s.insert_message(m).await }))
        .unwrap();
    assert_eq!(
        history(&b, &room, true, None, 10),
        std::slice::from_ref(&sent)
    );
    // Updated and removed as the server's, by the nil sender.
    let (stream, id) = (room.clone(), sent.id);
    let created = b
        .call(move |s| {
            Box::pin(async move {
                s.update_message(stream, id, Uuid::nil(), "srv".into(), "{}".into(), 5)
                    .await
            })
        })
        .unwrap();
    assert_eq!(created, Some(1));
    let stream = room.clone();
    let removed = b
        .call(move |s| Box::pin(async move { s.remove_message(stream, id, Uuid::nil()).await }))
        .unwrap();
    assert_eq!(removed, Some((1, 5)));
    assert!(history(&b, &room, true, None, 10).is_empty());
}

fn friend_edges_by_id_and_their_metadata(b: Backend) {
    let b = b.migrated();
    let [a, c, d, stranger] = users(&b, 4)[..] else {
        unreachable!()
    };
    befriend(&b, a, c);
    assert_eq!(add(&b, a, &[d]), [invited(d)]);
    let get = |ids: Vec<Uuid>| {
        let mut found: Vec<(Uuid, FriendState, String)> = b
            .call(move |s| Box::pin(async move { s.get_friends(a, ids).await }))
            .unwrap()
            .into_iter()
            .map(|f| (f.user.id, f.state, f.metadata))
            .collect();
        found.sort();
        found
    };
    let mut want = vec![(c, FRIEND, "{}".to_string()), (d, SENT, "{}".to_string())];
    want.sort();
    assert_eq!(get(vec![c, d, stranger, Uuid::new_v4()]), want);
    assert!(get(vec![]).is_empty());
    // Metadata replaced on a's edge only, whatever its state; no edge is
    // no error.
    for (to, meta) in [
        (c, r#"{"n":1}"#),
        (d, r#"{"n":2}"#),
        (stranger, r#"{"n":3}"#),
    ] {
        let meta = meta.to_string();
        b.call(move |s| Box::pin(async move { s.update_friend_metadata(a, to, meta).await }))
            .unwrap();
    }
    assert_eq!(edge(&b, a, c).unwrap().metadata, r#"{"n":1}"#);
    assert_eq!(edge(&b, a, d).unwrap().metadata, r#"{"n":2}"#);
    assert_eq!(edge(&b, c, a).unwrap().metadata, "{}");
    assert!(edge(&b, a, stranger).is_none());
    assert_eq!(state(&b, a, d), Some(SENT));
}

fn notification_updates(b: Backend) {
    let b = b.migrated();
    let (a, c) = (user(&b), user(&b));
    let first = note(a, None, 100);
    let second = note(c, Some(a), 200);
    save(&b, vec![first.clone(), second.clone()]);
    let updates = vec![
        NotificationUpdate {
            id: first.id,
            content: Some(r#"{"new":true}"#.into()),
            subject: Some("changed".into()),
            sender_id: Some(c),
        },
        NotificationUpdate {
            id: second.id,
            subject: Some("only the subject".into()),
            ..Default::default()
        },
        NotificationUpdate {
            id: Uuid::new_v4(),
            subject: Some("nobody".into()),
            ..Default::default()
        },
    ];
    b.call(move |s| Box::pin(async move { s.update_notifications(updates).await }))
        .unwrap();
    b.call(move |s| Box::pin(async move { s.update_notifications(vec![]).await }))
        .unwrap();
    let mut want_first = first.clone();
    want_first.content = r#"{"new":true}"#.into();
    want_first.subject = "changed".into();
    want_first.sender_id = Some(c);
    assert_eq!(notes(&b, a, None, 10), [want_first]);
    let mut want_second = second.clone();
    want_second.subject = "only the subject".into();
    assert_eq!(notes(&b, c, None, 10), [want_second]);
}
