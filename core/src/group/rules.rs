//! Who may act on whom in a group, the membership messages written to
//! its channel, and the parsing of ids and state filters.

use super::*;

/// The state a caller acts with: a user's own, or a superadmin's for game
/// code (no caller).
pub fn acting_state(caller_state: Option<i32>, system: bool) -> GroupResult<i32> {
    if system {
        return Ok(state::SUPERADMIN);
    }
    match caller_state {
        Some(s) if s <= state::ADMIN => Ok(s),
        _ => Err(GroupError::PermissionDenied),
    }
}

/// Whether `caller` (acting state, see [`acting_state`]) may kick or ban
/// a user whose state is `target`; `other_superadmins` counts the group's
/// superadmins besides the target. A superadmin may remove anyone but the
/// last superadmin; an admin only members, join requests and bans.
pub fn may_remove(caller: i32, target: i32, other_superadmins: i64) -> bool {
    if caller == state::SUPERADMIN {
        !(target == state::SUPERADMIN && other_superadmins == 0)
    } else {
        target > state::ADMIN
    }
}

/// The state a promotion gives a user whose state is `target`, if the
/// caller may promote them: one step up, to at most the caller's own
/// rank, and only for members and admins (join requests are accepted by
/// an add).
pub fn promoted(caller: i32, target: i32) -> Option<i32> {
    (target > state::SUPERADMIN && target > caller && target <= state::MEMBER).then(|| target - 1)
}

/// The state a demotion gives a user whose state is `target`, if the
/// caller may demote them: one step down from superadmin or admin, for
/// users of the caller's rank or below; a superadmin's demotion needs
/// another superadmin to remain.
pub fn demoted(caller: i32, target: i32, other_superadmins: i64) -> Option<i32> {
    let allowed = target >= caller
        && target < state::MEMBER
        && (caller != state::SUPERADMIN || other_superadmins > 0);
    allowed.then(|| target + 1)
}

/// Whether a state counts towards `edge_count`.
pub fn is_member(s: i32) -> bool {
    (state::SUPERADMIN..=state::MEMBER).contains(&s)
}

/// A membership message for a group's channel (codes 3 to 9): sent as
/// `user`, whom it is about, with empty content, as Nakama writes them.
pub fn membership_message(
    group: Uuid,
    code: i32,
    user: Uuid,
    username: &str,
    now_micros: i64,
) -> ChannelMessage {
    debug_assert!((message_code::GROUP_JOIN..=message_code::GROUP_DEMOTE).contains(&code));
    ChannelMessage {
        id: Uuid::new_v4(),
        stream: channel::group(group),
        code,
        sender_id: user,
        username: username.to_string(),
        content: "{}".to_string(),
        create_time: now_micros,
        update_time: now_micros,
    }
}

/// Checks the user ids of an add, kick, ban, promote or demote: at most
/// [`MAX_USER_IDS`], each a valid, non-nil id (Nakama's message). Returns
/// them without duplicates, in the order given.
pub fn parse_user_ids<S: AsRef<str>>(ids: &[S]) -> ApiResult<Vec<Uuid>> {
    if ids.len() > MAX_USER_IDS {
        return Err(ApiError::invalid(format!(
            "At most {MAX_USER_IDS} user IDs may be given at once."
        )));
    }
    let mut out: Vec<Uuid> = Vec::with_capacity(ids.len());
    for id in ids {
        let uid = Uuid::parse_str(id.as_ref())
            .ok()
            .filter(|u| !u.is_nil())
            .ok_or_else(|| ApiError::invalid("User ID must be a valid ID."))?;
        if !out.contains(&uid) {
            out.push(uid);
        }
    }
    Ok(out)
}

/// Parses a group id, with Nakama's messages.
pub fn parse_group_id(id: &str) -> ApiResult<Uuid> {
    if id.is_empty() {
        return Err(ApiError::invalid("Group ID must be set."));
    }
    Uuid::parse_str(id).map_err(|_| ApiError::invalid("Group ID must be a valid ID."))
}

/// Checks a member listing's `state` filter (0 to 4).
pub fn check_state_filter(s: Option<i32>) -> ApiResult<Option<i32>> {
    match s {
        Some(v) if !(state::SUPERADMIN..=state::BANNED).contains(&v) => Err(ApiError::invalid(
            "Invalid state - state must be between 0 and 4.",
        )),
        other => Ok(other),
    }
}
