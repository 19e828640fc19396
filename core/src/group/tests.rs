use super::state::*;
use super::*;

#[test]
fn new_group_defaults_and_checks() {
    let g = NewGroup {
        name: "a".into(),
        ..Default::default()
    }
    .check()
    .unwrap();
    assert_eq!(
        (g.max_count, g.lang_tag.as_str(), g.metadata.as_str()),
        (100, "en", "{}")
    );
    let err = |g: NewGroup| g.check().unwrap_err().message.to_string();
    assert_eq!(err(NewGroup::default()), "Group name must be set.");
    assert_eq!(
        err(NewGroup {
            name: "a".into(),
            max_count: -1,
            ..Default::default()
        }),
        "Group max count must be >= 1 when set."
    );
    assert!(
        err(NewGroup {
            name: "x".repeat(256),
            ..Default::default()
        })
        .contains("at most 255")
    );
    assert!(
        NewGroup {
            name: "é".repeat(255),
            ..Default::default()
        }
        .check()
        .is_ok()
    );
    assert_eq!(
        err(NewGroup {
            name: "a".into(),
            metadata: "[1]".into(),
            ..Default::default()
        }),
        "Metadata must be a valid JSON object."
    );
}

#[test]
fn update_checks() {
    assert!(GroupUpdate::default().is_empty());
    let u = GroupUpdate {
        name: Some(String::new()),
        ..Default::default()
    };
    assert!(!u.is_empty());
    assert_eq!(
        u.check().unwrap_err().message,
        "Group name cannot be empty."
    );
    let u = GroupUpdate {
        lang_tag: Some(String::new()),
        ..Default::default()
    };
    assert_eq!(
        u.check().unwrap_err().message,
        "Group language cannot be empty."
    );
    let u = GroupUpdate {
        description: Some(String::new()),
        ..Default::default()
    };
    assert!(u.check().is_ok());
}

#[test]
fn acting_states() {
    assert_eq!(acting_state(None, true), Ok(SUPERADMIN));
    assert_eq!(acting_state(Some(ADMIN), false), Ok(ADMIN));
    for s in [None, Some(MEMBER), Some(JOIN_REQUEST), Some(BANNED)] {
        assert_eq!(acting_state(s, false), Err(GroupError::PermissionDenied));
    }
}

#[test]
fn removal_rules() {
    // A superadmin removes anyone but the last superadmin.
    for t in [ADMIN, MEMBER, JOIN_REQUEST, BANNED] {
        assert!(may_remove(SUPERADMIN, t, 0));
    }
    assert!(!may_remove(SUPERADMIN, SUPERADMIN, 0));
    assert!(may_remove(SUPERADMIN, SUPERADMIN, 1));
    // An admin removes only those below admins.
    assert!(!may_remove(ADMIN, SUPERADMIN, 3));
    assert!(!may_remove(ADMIN, ADMIN, 3));
    for t in [MEMBER, JOIN_REQUEST, BANNED] {
        assert!(may_remove(ADMIN, t, 0));
    }
}

#[test]
fn promotion_rules() {
    assert_eq!(promoted(SUPERADMIN, MEMBER), Some(ADMIN));
    assert_eq!(promoted(SUPERADMIN, ADMIN), Some(SUPERADMIN));
    assert_eq!(promoted(SUPERADMIN, SUPERADMIN), None);
    assert_eq!(promoted(ADMIN, MEMBER), Some(ADMIN));
    assert_eq!(promoted(ADMIN, ADMIN), None);
    assert_eq!(promoted(SUPERADMIN, JOIN_REQUEST), None);
    assert_eq!(promoted(SUPERADMIN, BANNED), None);
}

#[test]
fn demotion_rules() {
    assert_eq!(demoted(SUPERADMIN, ADMIN, 1), Some(MEMBER));
    assert_eq!(demoted(SUPERADMIN, SUPERADMIN, 1), Some(ADMIN));
    // The last superadmin stays one.
    assert_eq!(demoted(SUPERADMIN, SUPERADMIN, 0), None);
    assert_eq!(demoted(SUPERADMIN, MEMBER, 1), None);
    assert_eq!(demoted(ADMIN, ADMIN, 1), Some(MEMBER));
    assert_eq!(demoted(ADMIN, SUPERADMIN, 1), None);
    assert_eq!(demoted(ADMIN, MEMBER, 1), None);
}

#[test]
fn user_ids() {
    let a = Uuid::new_v4();
    let ids = [a.to_string(), a.to_string()];
    assert_eq!(parse_user_ids(&ids).unwrap(), vec![a]);
    for bad in ["x", "00000000-0000-0000-0000-000000000000", ""] {
        assert_eq!(
            parse_user_ids(&[bad]).unwrap_err().message,
            "User ID must be a valid ID."
        );
    }
    let many: Vec<String> = (0..=MAX_USER_IDS)
        .map(|_| Uuid::new_v4().to_string())
        .collect();
    assert!(parse_user_ids(&many).is_err());
    assert_eq!(
        parse_group_id("").unwrap_err().message,
        "Group ID must be set."
    );
    assert_eq!(
        parse_group_id("nope").unwrap_err().message,
        "Group ID must be a valid ID."
    );
}

#[test]
fn filters() {
    let f = GroupFilter {
        name: Some("%% abc%".into()),
        ..Default::default()
    }
    .check()
    .unwrap();
    assert_eq!(f.name.as_deref(), Some("abc%"));
    assert_eq!(f.order(), GroupOrder::Name);
    let err = GroupFilter {
        name: Some("a".into()),
        open: Some(true),
        ..Default::default()
    }
    .check()
    .unwrap_err();
    assert_eq!(
        err.message,
        "name filter cannot be combined with any other filter"
    );
    let f = GroupFilter {
        lang_tag: Some("en".into()),
        members: Some(3),
        ..Default::default()
    };
    assert_eq!(f.order(), GroupOrder::MembersDesc);
    assert_eq!(GroupFilter::default().order(), GroupOrder::Updated);
    assert_eq!(
        check_state_filter(Some(5)).unwrap_err().message,
        "Invalid state - state must be between 0 and 4."
    );
}

#[test]
fn cursors_round_trip() {
    let c = EdgeCursor {
        state: 2,
        position: 7,
        id: Uuid::new_v4(),
    };
    assert_eq!(EdgeCursor::parse(&c.encode(), None).unwrap(), c);
    assert_eq!(EdgeCursor::parse(&c.encode(), Some(2)).unwrap(), c);
    assert!(EdgeCursor::parse(&c.encode(), Some(1)).is_err());
    assert!(EdgeCursor::parse("garbage", None).is_err());
    let g = GroupCursor {
        name: "n".into(),
        edge_count: 2,
        update_time: 5,
        id: Uuid::new_v4(),
    };
    assert_eq!(GroupCursor::parse(&g.encode()).unwrap(), g);
    assert_eq!(
        GroupCursor::parse("%%").unwrap_err().message,
        "Malformed cursor was used."
    );
}

fn target(state: Option<i32>) -> Target {
    Target {
        id: Uuid::new_v4(),
        state,
        username: Some("u".into()),
    }
}

fn group(edge_count: i32, max_count: i32) -> Group {
    Group {
        id: Uuid::new_v4(),
        name: "g".into(),
        edge_count,
        max_count,
        open: true,
        ..Default::default()
    }
}

#[test]
fn add_plans() {
    let g = group(1, 3);
    let (new, request, member) = (
        target(None),
        target(Some(JOIN_REQUEST)),
        target(Some(MEMBER)),
    );
    let p = plan_members(
        MemberOp::Add,
        ADMIN,
        None,
        &g,
        1,
        &[new.clone(), request.clone(), member],
        1,
    )
    .unwrap();
    assert_eq!(p.edge_delta, 2);
    assert_eq!(p.changes.added, vec![new.id, request.id]);
    assert_eq!(p.changes.messages.len(), 2);
    assert!(p.changes.messages.iter().all(|m| m.code == 4));
    assert_eq!(
        p.writes,
        vec![
            EdgeWrite::Insert {
                user: new.id,
                state: MEMBER
            },
            EdgeWrite::SetState {
                user: request.id,
                state: MEMBER
            },
        ]
    );
    // One more than max_count refuses the whole add.
    let three = [target(None), target(None), target(None)];
    assert_eq!(
        plan_members(MemberOp::Add, ADMIN, None, &g, 1, &three, 1),
        Err(GroupError::Full)
    );
    let ghost = Target {
        username: None,
        ..target(None)
    };
    assert_eq!(
        plan_members(MemberOp::Add, ADMIN, None, &g, 1, &[ghost], 1),
        Err(GroupError::UserNotFound)
    );
}

#[test]
fn kick_and_ban_plans() {
    let g = group(4, 10);
    let (a, b) = (target(Some(SUPERADMIN)), target(Some(SUPERADMIN)));
    // Two superadmins kicked by game code: the second is the last one.
    let p = plan_members(MemberOp::Kick, SUPERADMIN, None, &g, 2, &[a.clone(), b], 1).unwrap();
    assert_eq!(p.writes, vec![EdgeWrite::Delete { user: a.id }]);
    assert_eq!((p.edge_delta, p.changes.removed.clone()), (-1, vec![a.id]));
    assert_eq!(p.changes.messages[0].code, 6);
    // A join request banned: no count, no message.
    let r = target(Some(JOIN_REQUEST));
    let p = plan_members(
        MemberOp::Ban,
        ADMIN,
        None,
        &g,
        1,
        std::slice::from_ref(&r),
        1,
    )
    .unwrap();
    assert_eq!(
        p.writes,
        vec![EdgeWrite::Replace {
            user: r.id,
            state: BANNED
        }]
    );
    assert_eq!((p.edge_delta, p.changes.messages.len()), (0, 0));
    // An admin cannot kick an admin; nobody acts on themselves.
    let me = target(Some(ADMIN));
    let other = target(Some(ADMIN));
    let p = plan_members(MemberOp::Kick, ADMIN, Some(me.id), &g, 1, &[me, other], 1).unwrap();
    assert!(p.writes.is_empty());
    // Users without a place are skipped.
    let p = plan_members(MemberOp::Ban, SUPERADMIN, None, &g, 1, &[target(None)], 1).unwrap();
    assert!(p.writes.is_empty());
}

#[test]
fn promote_and_demote_plans() {
    let g = group(3, 10);
    let m = target(Some(MEMBER));
    let p = plan_members(
        MemberOp::Promote,
        SUPERADMIN,
        None,
        &g,
        1,
        std::slice::from_ref(&m),
        1,
    )
    .unwrap();
    assert_eq!(
        p.writes,
        vec![EdgeWrite::SetState {
            user: m.id,
            state: ADMIN
        }]
    );
    assert_eq!(p.changes.messages[0].code, 7);
    let s = target(Some(SUPERADMIN));
    let p = plan_members(
        MemberOp::Demote,
        SUPERADMIN,
        None,
        &g,
        1,
        std::slice::from_ref(&s),
        1,
    )
    .unwrap();
    assert!(p.writes.is_empty(), "the last superadmin stays");
    let p = plan_members(
        MemberOp::Demote,
        SUPERADMIN,
        None,
        &g,
        2,
        std::slice::from_ref(&s),
        1,
    )
    .unwrap();
    assert_eq!(
        p.writes,
        vec![EdgeWrite::SetState {
            user: s.id,
            state: ADMIN
        }]
    );
    assert_eq!(p.changes.messages[0].code, 9);
}

#[test]
fn join_and_leave_plans() {
    let mut g = group(1, 2);
    assert_eq!(plan_join(&g, None), Ok(Some(MEMBER)));
    assert_eq!(plan_join(&g, Some(BANNED)), Ok(None));
    g.open = false;
    assert_eq!(plan_join(&g, None), Ok(Some(JOIN_REQUEST)));
    g.edge_count = 2;
    assert_eq!(plan_join(&g, None), Err(GroupError::Full));
    assert_eq!(plan_leave(None, 0, 0), Ok(LeavePlan::Nothing));
    assert_eq!(plan_leave(Some(BANNED), 0, 0), Ok(LeavePlan::Nothing));
    assert_eq!(
        plan_leave(Some(SUPERADMIN), 0, 0),
        Ok(LeavePlan::DeleteGroup)
    );
    assert_eq!(
        plan_leave(Some(SUPERADMIN), 0, 1),
        Err(GroupError::LastSuperadmin)
    );
    assert_eq!(
        plan_leave(Some(SUPERADMIN), 1, 1),
        Ok(LeavePlan::Leave { was_member: true })
    );
    assert_eq!(
        plan_leave(Some(JOIN_REQUEST), 0, 1),
        Ok(LeavePlan::Leave { was_member: false })
    );
}

#[test]
fn membership_messages() {
    let (g, u) = (Uuid::new_v4(), Uuid::new_v4());
    let m = membership_message(g, message_code::GROUP_KICK, u, "bob", 10);
    assert_eq!(channel::channel_id(&m.stream), format!("3.{g}.."));
    assert_eq!((m.code, m.sender_id, m.content.as_str()), (6, u, "{}"));
}
