//! Groups on every backend (see `common`): the life cycle with its
//! membership messages, the rules of who may act on whom, the listings
//! and their cursors, and concurrent joins against `max_count`.

#[macro_use]
mod common;

use kairos_core::channel::{self, ChannelMessage};
use kairos_core::group::{
    Changes, EdgeCursor, Group, GroupCursor, GroupError, GroupFilter, GroupResult, GroupUpdate,
    Joined, Left, MemberOp, NewGroup, state,
};
use uuid::Uuid;

use common::{Backend, auth, device, unique};

conformance!(
    life_cycle,
    roles_limit_who_acts_on_whom,
    listings_filter_and_page,
    concurrent_joins_respect_max_count,
    names_are_unique,
    account_deletion_leaves_groups,
    group_ids_after_page_in_id_order,
);

fn user(b: &Backend) -> (Uuid, String) {
    let name = unique("u");
    let id = auth(b, device(&unique("dev-")), &name, true)
        .unwrap()
        .user_id;
    (id, name)
}

fn create(b: &Backend, owner: Uuid, name: &str, open: bool, max_count: i32) -> Group {
    let g = NewGroup {
        owner,
        creator_id: owner,
        name: name.to_string(),
        lang_tag: "en".into(),
        open,
        max_count,
        ..Default::default()
    }
    .check()
    .unwrap();
    b.call(move |s| Box::pin(async move { s.create_group(g).await }))
        .unwrap()
        .unwrap()
}

fn get(b: &Backend, id: Uuid) -> Option<Group> {
    b.call(move |s| Box::pin(async move { s.get_groups(vec![id]).await }))
        .unwrap()
        .pop()
}

fn change(
    b: &Backend,
    id: Uuid,
    caller: Option<Uuid>,
    op: MemberOp,
    users: Vec<Uuid>,
) -> GroupResult<Changes> {
    b.call(move |s| Box::pin(async move { s.change_members(id, caller, op, users).await }))
        .unwrap()
}

fn join(b: &Backend, id: Uuid, u: (Uuid, String)) -> GroupResult<Joined> {
    b.call(move |s| Box::pin(async move { s.join_group(id, u.0, u.1).await }))
        .unwrap()
}

fn leave(b: &Backend, id: Uuid, u: (Uuid, String)) -> GroupResult<Left> {
    b.call(move |s| Box::pin(async move { s.leave_group(id, u.0, u.1).await }))
        .unwrap()
}

fn state_of(b: &Backend, id: Uuid, user: Uuid) -> Option<i32> {
    b.call(move |s| Box::pin(async move { s.group_user_state(id, user).await }))
        .unwrap()
}

fn history(b: &Backend, id: Uuid) -> Vec<ChannelMessage> {
    b.call(move |s| {
        Box::pin(async move { s.list_messages(channel::group(id), true, None, 100).await })
    })
    .unwrap()
}

fn codes(b: &Backend, id: Uuid) -> Vec<(i32, Uuid)> {
    history(b, id)
        .iter()
        .map(|m| (m.code, m.sender_id))
        .collect()
}

fn life_cycle(b: Backend) {
    let b = b.migrated();
    let (owner, alice, bob, carol) = (user(&b), user(&b), user(&b), user(&b));
    let open = create(&b, owner.0, &unique("open-"), true, 10);
    assert_eq!((open.edge_count, open.max_count, open.open), (1, 10, true));
    assert_eq!(state_of(&b, open.id, owner.0), Some(state::SUPERADMIN));

    // Joining an open group makes a member and writes a join message.
    let Ok(Joined::Member(m)) = join(&b, open.id, alice.clone()) else {
        panic!("open join")
    };
    assert_eq!(
        (m.code, m.sender_id, m.username.as_str()),
        (3, alice.0, alice.1.as_str())
    );
    assert_eq!(join(&b, open.id, alice.clone()), Ok(Joined::Unchanged));
    assert_eq!(get(&b, open.id).unwrap().edge_count, 2);

    // A closed group takes a request, which an admin accepts with an add.
    let closed = create(&b, owner.0, &unique("closed-"), false, 10);
    let Ok(Joined::Requested { admins }) = join(&b, closed.id, bob.clone()) else {
        panic!("closed join")
    };
    assert_eq!(admins, vec![owner.0]);
    assert_eq!(state_of(&b, closed.id, bob.0), Some(state::JOIN_REQUEST));
    assert_eq!(get(&b, closed.id).unwrap().edge_count, 1);
    let added = change(
        &b,
        closed.id,
        Some(owner.0),
        MemberOp::Add,
        vec![bob.0, carol.0],
    )
    .unwrap();
    assert_eq!(added.added, vec![bob.0, carol.0]);
    assert_eq!(added.group_name, closed.name);
    assert_eq!(get(&b, closed.id).unwrap().edge_count, 3);
    // Adding again changes nothing.
    assert!(
        change(&b, closed.id, Some(owner.0), MemberOp::Add, vec![bob.0])
            .unwrap()
            .messages
            .is_empty()
    );

    // Promote, demote, kick, ban.
    change(&b, closed.id, Some(owner.0), MemberOp::Promote, vec![bob.0]).unwrap();
    assert_eq!(state_of(&b, closed.id, bob.0), Some(state::ADMIN));
    change(&b, closed.id, Some(owner.0), MemberOp::Demote, vec![bob.0]).unwrap();
    assert_eq!(state_of(&b, closed.id, bob.0), Some(state::MEMBER));
    let kicked = change(&b, closed.id, Some(owner.0), MemberOp::Kick, vec![carol.0]).unwrap();
    assert_eq!(kicked.removed, vec![carol.0]);
    assert_eq!(state_of(&b, closed.id, carol.0), None);
    let banned = change(&b, closed.id, Some(owner.0), MemberOp::Ban, vec![bob.0]).unwrap();
    assert_eq!(banned.removed, vec![bob.0]);
    assert_eq!(state_of(&b, closed.id, bob.0), Some(state::BANNED));
    assert_eq!(get(&b, closed.id).unwrap().edge_count, 1);
    // A banned user's join and leave change nothing.
    assert_eq!(join(&b, closed.id, bob.clone()), Ok(Joined::Unchanged));
    assert_eq!(leave(&b, closed.id, bob.clone()), Ok(Left::Unchanged));
    assert_eq!(
        codes(&b, closed.id),
        vec![
            (4, bob.0),
            (4, carol.0),
            (7, bob.0),
            (9, bob.0),
            (6, carol.0),
            (8, bob.0)
        ]
    );

    // The last superadmin cannot leave while others remain.
    assert_eq!(
        leave(&b, open.id, owner.clone()),
        Err(GroupError::LastSuperadmin)
    );
    let Ok(Left::Member(m)) = leave(&b, open.id, alice.clone()) else {
        panic!("leave")
    };
    assert_eq!(m.code, 5);
    assert_eq!(get(&b, open.id).unwrap().edge_count, 1);
    // ... and leaving last deletes the group.
    assert_eq!(leave(&b, open.id, owner.clone()), Ok(Left::Deleted));
    assert!(get(&b, open.id).is_none());

    // Updates: admins and up; delete: superadmins only.
    let bob_id = bob.0;
    let u = GroupUpdate {
        description: Some("d".into()),
        ..Default::default()
    };
    let cid = closed.id;
    let denied = b
        .call(move |s| Box::pin(async move { s.update_group(cid, Some(bob_id), u).await }))
        .unwrap();
    assert_eq!(denied, Err(GroupError::PermissionDenied));
    let owner_id = owner.0;
    let empty = b
        .call(move |s| {
            Box::pin(async move {
                s.update_group(cid, Some(owner_id), GroupUpdate::default())
                    .await
            })
        })
        .unwrap();
    assert_eq!(empty, Err(GroupError::NoUpdateOps));
    let u = GroupUpdate {
        description: Some("new".into()),
        open: Some(true),
        ..Default::default()
    };
    b.call(move |s| Box::pin(async move { s.update_group(cid, Some(owner_id), u).await }))
        .unwrap()
        .unwrap();
    let g = get(&b, cid).unwrap();
    assert_eq!((g.description.as_str(), g.open), ("new", true));
    let denied = b
        .call(move |s| Box::pin(async move { s.delete_group(cid, Some(bob_id)).await }))
        .unwrap();
    assert_eq!(denied, Err(GroupError::PermissionDenied));
    b.call(move |s| Box::pin(async move { s.delete_group(cid, Some(owner_id)).await }))
        .unwrap()
        .unwrap();
    assert!(get(&b, cid).is_none());
    assert_eq!(state_of(&b, cid, owner_id), None);
}

fn roles_limit_who_acts_on_whom(b: Backend) {
    let b = b.migrated();
    let (sa, admin, m1, m2) = (user(&b), user(&b), user(&b), user(&b));
    let g = create(&b, sa.0, &unique("roles-"), true, 100);
    for u in [&admin, &m1, &m2] {
        join(&b, g.id, u.clone()).unwrap();
    }
    change(&b, g.id, None, MemberOp::Promote, vec![admin.0]).unwrap();
    // A member may not kick, add, promote or demote.
    for op in [
        MemberOp::Kick,
        MemberOp::Add,
        MemberOp::Promote,
        MemberOp::Ban,
    ] {
        assert_eq!(
            change(&b, g.id, Some(m1.0), op, vec![m2.0]),
            Err(GroupError::PermissionDenied)
        );
    }
    // A stranger may not either.
    let stranger = user(&b);
    assert_eq!(
        change(&b, g.id, Some(stranger.0), MemberOp::Kick, vec![m2.0]),
        Err(GroupError::PermissionDenied)
    );
    // An admin cannot kick the superadmin: skipped, nothing changes.
    let c = change(&b, g.id, Some(admin.0), MemberOp::Kick, vec![sa.0]).unwrap();
    assert!(c.removed.is_empty());
    assert_eq!(state_of(&b, g.id, sa.0), Some(state::SUPERADMIN));
    // An admin can promote a member to admin, not an admin to superadmin.
    change(&b, g.id, Some(admin.0), MemberOp::Promote, vec![m1.0]).unwrap();
    assert_eq!(state_of(&b, g.id, m1.0), Some(state::ADMIN));
    change(&b, g.id, Some(admin.0), MemberOp::Promote, vec![m1.0]).unwrap();
    assert_eq!(state_of(&b, g.id, m1.0), Some(state::ADMIN));
    // The last superadmin cannot be demoted, even by game code.
    change(&b, g.id, None, MemberOp::Demote, vec![sa.0]).unwrap();
    assert_eq!(state_of(&b, g.id, sa.0), Some(state::SUPERADMIN));
    // A kick of someone without a place is ignored; an add of someone
    // without an account refuses the whole add.
    assert!(
        change(&b, g.id, Some(admin.0), MemberOp::Kick, vec![stranger.0])
            .unwrap()
            .removed
            .is_empty()
    );
    assert_eq!(
        change(
            &b,
            g.id,
            Some(admin.0),
            MemberOp::Add,
            vec![stranger.0, Uuid::new_v4()]
        ),
        Err(GroupError::UserNotFound)
    );
    assert_eq!(state_of(&b, g.id, stranger.0), None);
    // Game code on a group that does not exist.
    assert_eq!(
        change(&b, Uuid::new_v4(), None, MemberOp::Kick, vec![m2.0]),
        Err(GroupError::NotFound)
    );
    assert_eq!(
        join(&b, Uuid::new_v4(), m2.clone()),
        Err(GroupError::NotFound)
    );
    // A full group refuses joins and adds.
    let small = create(&b, sa.0, &unique("small-"), true, 2);
    join(&b, small.id, m1.clone()).unwrap();
    assert_eq!(join(&b, small.id, m2.clone()), Err(GroupError::Full));
    assert_eq!(
        change(&b, small.id, Some(sa.0), MemberOp::Add, vec![m2.0]),
        Err(GroupError::Full)
    );
}

fn list(b: &Backend, f: GroupFilter, after: Option<GroupCursor>, limit: usize) -> Vec<Group> {
    let f = f.check().unwrap();
    b.call(move |s| Box::pin(async move { s.list_groups(f, after, limit).await }))
        .unwrap()
}

fn listings_filter_and_page(b: Backend) {
    let b = b.migrated();
    let owner = user(&b);
    let prefix = unique("lst");
    let mut made = Vec::new();
    for i in 0..5 {
        let g = create(&b, owner.0, &format!("{prefix}-{i}"), i % 2 == 0, 100);
        made.push(g);
    }
    let joiner = user(&b);
    join(&b, made[0].id, joiner.clone()).unwrap();
    // By name prefix, case-insensitively, paged by name.
    let by_name = |after| {
        list(
            &b,
            GroupFilter {
                name: Some(format!("{}%", prefix.to_uppercase())),
                ..Default::default()
            },
            after,
            2,
        )
    };
    let mut names = Vec::new();
    let mut after = None;
    loop {
        let page = by_name(after.clone());
        names.extend(page.iter().map(|g| g.name.clone()));
        if page.len() < 2 {
            break;
        }
        after = page.last().map(GroupCursor::after);
    }
    assert_eq!(
        names,
        (0..5).map(|i| format!("{prefix}-{i}")).collect::<Vec<_>>()
    );
    // Open ones with at most one member.
    let open_small: Vec<Uuid> = list(
        &b,
        GroupFilter {
            open: Some(true),
            members: Some(1),
            ..Default::default()
        },
        None,
        100,
    )
    .iter()
    .map(|g| g.id)
    .collect();
    assert!(open_small.contains(&made[2].id) && open_small.contains(&made[4].id));
    assert!(!open_small.contains(&made[0].id) && !open_small.contains(&made[1].id));

    // Members, paged by (state, position).
    for _ in 0..3 {
        join(&b, made[0].id, user(&b)).unwrap();
    }
    let gid = made[0].id;
    let mut seen = Vec::new();
    let mut after: Option<EdgeCursor> = None;
    loop {
        let a = after.clone();
        let page = b
            .call(move |s| Box::pin(async move { s.list_group_users(gid, None, a, 2).await }))
            .unwrap();
        seen.extend(page.iter().map(|m| (m.state, m.user.id)));
        let Some(last) = page.last() else { break };
        after = Some(EdgeCursor {
            state: last.state,
            position: last.position,
            id: last.user.id,
        });
        if page.len() < 2 {
            break;
        }
    }
    assert_eq!(seen.len(), 5);
    assert_eq!(seen[0], (state::SUPERADMIN, owner.0));
    assert_eq!(seen[1], (state::MEMBER, joiner.0));
    // The owner's groups, all superadmin; the joiner's, one.
    let oid = owner.0;
    let mine = b
        .call(move |s| Box::pin(async move { s.list_user_groups(oid, Some(0), None, 100).await }))
        .unwrap();
    assert_eq!(mine.len(), 5);
    let jid = joiner.0;
    let theirs = b
        .call(move |s| Box::pin(async move { s.list_user_groups(jid, None, None, 100).await }))
        .unwrap();
    assert_eq!(theirs.len(), 1);
    assert_eq!(
        (theirs[0].group.id, theirs[0].state),
        (made[0].id, state::MEMBER)
    );
}

fn concurrent_joins_respect_max_count(b: Backend) {
    let b = b.migrated();
    let owner = user(&b);
    let g = create(&b, owner.0, &unique("race-"), true, 5);
    let joiners: Vec<_> = (0..12).map(|_| user(&b)).collect();
    let replies: Vec<_> = joiners
        .into_iter()
        .map(|u| {
            let id = g.id;
            b.persist
                .run(move |s| async move { s.join_group(id, u.0, u.1).await })
        })
        .collect();
    let mut joined = 0;
    let mut full = 0;
    for r in replies {
        match b.persist.block_on(r).unwrap() {
            Ok(Joined::Member(_)) => joined += 1,
            Err(GroupError::Full) => full += 1,
            other => panic!("{other:?}"),
        }
    }
    assert_eq!((joined, full), (4, 8));
    let after = get(&b, g.id).unwrap();
    assert_eq!(after.edge_count, 5);
    let gid = g.id;
    let members = b
        .call(move |s| Box::pin(async move { s.list_group_users(gid, None, None, 100).await }))
        .unwrap();
    assert_eq!(members.len(), 5);
    assert_eq!(history(&b, g.id).len(), 4);
}

fn names_are_unique(b: Backend) {
    let b = b.migrated();
    let owner = user(&b);
    let name = unique("same-");
    let first = create(&b, owner.0, &name, true, 10);
    let again = NewGroup {
        owner: owner.0,
        creator_id: owner.0,
        name: name.clone(),
        ..Default::default()
    }
    .check()
    .unwrap();
    let r = b
        .call(move |s| Box::pin(async move { s.create_group(again).await }))
        .unwrap();
    assert_eq!(r, Err(GroupError::NameInUse));
    let other = create(&b, owner.0, &unique("other-"), true, 10);
    let (oid, uid) = (other.id, owner.0);
    let rename = GroupUpdate {
        name: Some(name),
        ..Default::default()
    };
    let r = b
        .call(move |s| Box::pin(async move { s.update_group(oid, Some(uid), rename).await }))
        .unwrap();
    assert_eq!(r, Err(GroupError::NameInUse));
    assert!(get(&b, first.id).is_some());
}

fn account_deletion_leaves_groups(b: Backend) {
    let b = b.migrated();
    let (solo, shared, member) = (user(&b), user(&b), user(&b));
    // solo is the only superadmin of a group with another member: the
    // group goes with the account, as in Nakama.
    let g1 = create(&b, solo.0, &unique("g1-"), true, 10);
    join(&b, g1.id, member.clone()).unwrap();
    // In a group of someone else's, the account's edge goes and the count
    // drops.
    let g2 = create(&b, shared.0, &unique("g2-"), true, 10);
    join(&b, g2.id, solo.clone()).unwrap();
    join(&b, g2.id, member.clone()).unwrap();
    assert_eq!(get(&b, g2.id).unwrap().edge_count, 3);
    let id = solo.0;
    b.call(move |s| Box::pin(async move { s.delete_account(id, true).await }))
        .unwrap();
    assert!(get(&b, g1.id).is_none());
    assert_eq!(state_of(&b, g1.id, member.0), None);
    assert_eq!(get(&b, g2.id).unwrap().edge_count, 2);
    assert_eq!(state_of(&b, g2.id, solo.0), None);
}

fn ids_after(b: &Backend, after: Uuid, limit: usize) -> Vec<Uuid> {
    b.call(move |s| Box::pin(async move { s.group_ids_after(after, limit).await }))
        .unwrap()
}

fn group_ids_after_page_in_id_order(b: Backend) {
    let b = b.migrated();
    let owner = user(&b);
    let mut made = [
        create(&b, owner.0, &unique("ids-"), true, 10).id,
        create(&b, owner.0, &unique("ids-"), true, 10).id,
    ];
    made.sort();
    // The database may hold other tests' groups: every page is in id
    // order, after its start, and holds ours where they fall.
    let all = ids_after(&b, Uuid::nil(), 1_000_000);
    assert!(all.windows(2).all(|w| w[0] < w[1]));
    assert!(made.iter().all(|g| all.contains(g)));
    let page = ids_after(&b, made[0], 2);
    assert!(!page.is_empty() && page.len() <= 2, "{page:?}");
    assert!(page.windows(2).all(|w| w[0] < w[1]));
    assert!(page.iter().all(|g| *g > made[0]));
    assert!(page.contains(&made[1]) || page.iter().all(|g| *g < made[1]));
    assert!(ids_after(&b, Uuid::max(), 10).is_empty());
    assert_eq!(ids_after(&b, Uuid::nil(), 1).len(), 1);
}
