//! What a join, a leave or a bulk membership change does to a group's
//! edges: the plans both store backends apply in their transactions.

use super::*;

/// The kinds of bulk membership change.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MemberOp {
    /// Add users as members, or accept their join requests.
    Add,
    Kick,
    Ban,
    Promote,
    Demote,
}

/// A user a bulk change names, as the store found them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Target {
    pub id: Uuid,
    /// Their state in the group, if they have one.
    pub state: Option<i32>,
    /// Their username; `None` when they have no account.
    pub username: Option<String>,
}

/// One write to a group's edges.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EdgeWrite {
    /// A new edge, at the end of its state's order.
    Insert { user: Uuid, state: i32 },
    /// The edge keeps its place and takes a new state.
    SetState { user: Uuid, state: i32 },
    /// The edge goes.
    Delete { user: Uuid },
    /// The edge is replaced by a new one (a ban: at the end of the bans).
    Replace { user: Uuid, state: i32 },
}

/// What a store writes for a change, in one transaction: the edges, the
/// change of `edge_count`, and the messages in `changes`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Plan {
    pub writes: Vec<EdgeWrite>,
    pub edge_delta: i32,
    pub changes: Changes,
}

/// Plans a bulk change of `group`'s members by a caller acting with state
/// `acting` ([`acting_state`]; `caller` is skipped among the targets).
/// `superadmins` is the group's count of superadmins before the change.
/// Users the caller may not act on, or whose state the change does not
/// apply to, are skipped; an add past `max_count` is `Full`, and an add of
/// a user without an account `UserNotFound`, refusing the whole change.
pub fn plan_members(
    op: MemberOp,
    acting: i32,
    caller: Option<Uuid>,
    group: &Group,
    mut superadmins: i64,
    targets: &[Target],
    now_micros: i64,
) -> GroupResult<Plan> {
    let mut plan = Plan {
        changes: Changes {
            group_name: group.name.clone(),
            ..Changes::default()
        },
        ..Plan::default()
    };
    for t in targets {
        if Some(t.id) == caller {
            continue;
        }
        let username = t.username.as_deref().unwrap_or_default();
        let others = |s: i32| superadmins - i64::from(s == state::SUPERADMIN);
        let message = match (op, t.state) {
            (MemberOp::Add, _) if t.username.is_none() => return Err(GroupError::UserNotFound),
            (MemberOp::Add, None) => {
                plan.writes.push(EdgeWrite::Insert {
                    user: t.id,
                    state: state::MEMBER,
                });
                message_code::GROUP_ADD
            }
            (MemberOp::Add, Some(state::JOIN_REQUEST)) => {
                plan.writes.push(EdgeWrite::SetState {
                    user: t.id,
                    state: state::MEMBER,
                });
                message_code::GROUP_ADD
            }
            (MemberOp::Kick | MemberOp::Ban, Some(s)) if may_remove(acting, s, others(s)) => {
                plan.writes.push(if op == MemberOp::Kick {
                    EdgeWrite::Delete { user: t.id }
                } else {
                    EdgeWrite::Replace {
                        user: t.id,
                        state: state::BANNED,
                    }
                });
                if s == state::SUPERADMIN {
                    superadmins -= 1;
                }
                if !is_member(s) {
                    continue;
                }
                plan.edge_delta -= 1;
                plan.changes.removed.push(t.id);
                if op == MemberOp::Kick {
                    message_code::GROUP_KICK
                } else {
                    message_code::GROUP_BAN
                }
            }
            (MemberOp::Promote, Some(s)) => match promoted(acting, s) {
                Some(next) => {
                    plan.writes.push(EdgeWrite::SetState {
                        user: t.id,
                        state: next,
                    });
                    if next == state::SUPERADMIN {
                        superadmins += 1;
                    }
                    message_code::GROUP_PROMOTE
                }
                None => continue,
            },
            (MemberOp::Demote, Some(s)) => match demoted(acting, s, others(s)) {
                Some(next) => {
                    plan.writes.push(EdgeWrite::SetState {
                        user: t.id,
                        state: next,
                    });
                    if s == state::SUPERADMIN {
                        superadmins -= 1;
                    }
                    message_code::GROUP_DEMOTE
                }
                None => continue,
            },
            _ => continue,
        };
        if op == MemberOp::Add {
            plan.edge_delta += 1;
            if i64::from(group.edge_count) + i64::from(plan.edge_delta) > i64::from(group.max_count)
            {
                return Err(GroupError::Full);
            }
            plan.changes.added.push(t.id);
        }
        // A microsecond apart, so that history keeps the order of the
        // change.
        let at = now_micros + plan.changes.messages.len() as i64;
        plan.changes
            .messages
            .push(membership_message(group.id, message, t.id, username, at));
    }
    Ok(plan)
}

/// What a join writes: the user's new state, or nothing.
pub fn plan_join(group: &Group, current: Option<i32>) -> GroupResult<Option<i32>> {
    if group.edge_count >= group.max_count {
        return Err(GroupError::Full);
    }
    Ok(match current {
        Some(_) => None,
        None if group.open => Some(state::MEMBER),
        None => Some(state::JOIN_REQUEST),
    })
}

/// What a leave does, given the user's state and the group's other
/// superadmins and other members (states 0 to 2).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LeavePlan {
    /// Nothing: not in the group, or banned from it.
    Nothing,
    /// The last member goes: the group is deleted.
    DeleteGroup,
    /// The edge goes (and `edge_count` drops if it was a member's).
    Leave { was_member: bool },
}

pub fn plan_leave(
    current: Option<i32>,
    other_superadmins: i64,
    other_members: i64,
) -> GroupResult<LeavePlan> {
    match current {
        None | Some(state::BANNED) => Ok(LeavePlan::Nothing),
        Some(state::SUPERADMIN) if other_superadmins == 0 => {
            if other_members == 0 {
                Ok(LeavePlan::DeleteGroup)
            } else {
                Err(GroupError::LastSuperadmin)
            }
        }
        Some(s) => Ok(LeavePlan::Leave {
            was_member: is_member(s),
        }),
    }
}
