//! Groups: their fields and bounds, a member's state, who may do what to
//! whom (the rules both store backends apply inside their transactions),
//! the membership messages written to a group's channel, and the listing
//! cursors.
//!
//! As in Nakama, a member's state is 0 superadmin, 1 admin, 2 member,
//! 3 join request and 4 banned. A lower state outranks a higher one. A
//! group's `edge_count` counts its members (states 0 to 2); join requests
//! and bans do not count, and `edge_count` never passes `max_count`.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::channel::{self, ChannelMessage, code as message_code};
use crate::cursor;
use crate::error::{ApiError, ApiResult};

/// A member's state in a group (Nakama's `GroupUserList.GroupUser.State`).
pub mod state {
    pub const SUPERADMIN: i32 = 0;
    pub const ADMIN: i32 = 1;
    pub const MEMBER: i32 = 2;
    pub const JOIN_REQUEST: i32 = 3;
    pub const BANNED: i32 = 4;
}

/// `max_count` when a create leaves it out (Nakama's default).
pub const DEFAULT_MAX_COUNT: i32 = 100;
/// `lang_tag` when a create leaves it out (Nakama's column default).
pub const DEFAULT_LANG_TAG: &str = "en";
/// Most entries per page of every group listing, and the default of the
/// member and user-group listings (Nakama's).
pub const MAX_LIST: usize = 100;
/// Longest name and description, in characters (Nakama's columns).
pub const MAX_NAME: usize = 255;
pub const MAX_DESCRIPTION: usize = 255;
/// Longest avatar URL, in characters (Nakama's column).
pub const MAX_AVATAR_URL: usize = 512;
/// Longest language tag, in characters (Nakama's column).
pub const MAX_LANG_TAG: usize = 18;
/// Largest metadata, in bytes (Kairos's bound; Nakama has none).
pub const MAX_METADATA: usize = 16 * 1024;
/// Most users one add, kick, ban, promote or demote names (Kairos's
/// bound; Nakama has none).
pub const MAX_USER_IDS: usize = 256;

/// A group as stored. Times are unix seconds.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Group {
    pub id: Uuid,
    pub creator_id: Uuid,
    pub name: String,
    pub description: String,
    pub avatar_url: String,
    pub lang_tag: String,
    /// A JSON object, as text.
    pub metadata: String,
    pub open: bool,
    pub edge_count: i32,
    pub max_count: i32,
    pub create_time: i64,
    pub update_time: i64,
}

/// What a new group is made of.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct NewGroup {
    /// The user who becomes its superadmin (Nakama's `user_id`).
    pub owner: Uuid,
    /// Recorded as its creator (the owner, unless game code says otherwise).
    pub creator_id: Uuid,
    pub name: String,
    pub description: String,
    pub avatar_url: String,
    /// Empty for [`DEFAULT_LANG_TAG`].
    pub lang_tag: String,
    /// Empty for `{}`.
    pub metadata: String,
    pub open: bool,
    pub max_count: i32,
}

impl NewGroup {
    /// Checks the fields, with Nakama's messages where Nakama checks, and
    /// fills the defaults.
    pub fn check(mut self) -> ApiResult<NewGroup> {
        if self.name.is_empty() {
            return Err(ApiError::invalid("Group name must be set."));
        }
        if self.max_count == 0 {
            self.max_count = DEFAULT_MAX_COUNT;
        } else if self.max_count < 1 {
            return Err(ApiError::invalid("Group max count must be >= 1 when set."));
        }
        if self.lang_tag.is_empty() {
            self.lang_tag = DEFAULT_LANG_TAG.to_string();
        }
        if self.metadata.is_empty() {
            self.metadata = "{}".to_string();
        }
        check_fields(
            Some(&self.name),
            Some(&self.description),
            Some(&self.avatar_url),
            Some(&self.lang_tag),
            Some(&self.metadata),
        )?;
        Ok(self)
    }
}

/// The fields an update changes; `None` leaves one as it is. An empty
/// description or avatar URL clears it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct GroupUpdate {
    pub name: Option<String>,
    pub description: Option<String>,
    pub avatar_url: Option<String>,
    pub lang_tag: Option<String>,
    pub metadata: Option<String>,
    pub open: Option<bool>,
    pub max_count: Option<i32>,
    pub creator_id: Option<Uuid>,
}

impl GroupUpdate {
    /// Whether it changes nothing (Nakama: "Specify at least one field to
    /// update.").
    pub fn is_empty(&self) -> bool {
        self.name.is_none()
            && self.description.is_none()
            && self.avatar_url.is_none()
            && self.lang_tag.is_none()
            && self.metadata.is_none()
            && self.open.is_none()
            && self.max_count.is_none()
            && self.creator_id.is_none()
    }

    /// Checks the fields, with Nakama's messages where Nakama checks.
    pub fn check(&self) -> ApiResult<()> {
        if self.name.as_deref() == Some("") {
            return Err(ApiError::invalid("Group name cannot be empty."));
        }
        if self.lang_tag.as_deref() == Some("") {
            return Err(ApiError::invalid("Group language cannot be empty."));
        }
        if matches!(self.max_count, Some(n) if n < 1) {
            return Err(ApiError::invalid("Group max count must be >= 1 when set."));
        }
        check_fields(
            self.name.as_deref(),
            self.description.as_deref(),
            self.avatar_url.as_deref(),
            self.lang_tag.as_deref(),
            self.metadata.as_deref(),
        )
    }
}

fn check_fields(
    name: Option<&str>,
    description: Option<&str>,
    avatar_url: Option<&str>,
    lang_tag: Option<&str>,
    metadata: Option<&str>,
) -> ApiResult<()> {
    let long = |v: Option<&str>, max: usize| v.is_some_and(|s| s.chars().count() > max);
    if long(name, MAX_NAME) {
        return Err(ApiError::invalid(format!(
            "Group name must be at most {MAX_NAME} characters."
        )));
    }
    if long(description, MAX_DESCRIPTION) {
        return Err(ApiError::invalid(format!(
            "Group description must be at most {MAX_DESCRIPTION} characters."
        )));
    }
    if long(avatar_url, MAX_AVATAR_URL) {
        return Err(ApiError::invalid(format!(
            "Group avatar URL must be at most {MAX_AVATAR_URL} characters."
        )));
    }
    if long(lang_tag, MAX_LANG_TAG) {
        return Err(ApiError::invalid(format!(
            "Group language must be at most {MAX_LANG_TAG} characters."
        )));
    }
    if let Some(m) = metadata {
        if m.len() > MAX_METADATA {
            return Err(ApiError::invalid(format!(
                "Group metadata must be at most {MAX_METADATA} bytes."
            )));
        }
        if !channel::is_json_object(m) {
            return Err(ApiError::invalid("Metadata must be a valid JSON object."));
        }
    }
    Ok(())
}

/// Why a group operation did nothing. The REST calls and game code each
/// turn these into Nakama's error for the operation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GroupError {
    /// No such group.
    NotFound,
    /// The caller is not in the group, or not high enough in it.
    PermissionDenied,
    /// One more member would pass `max_count`.
    Full,
    /// Another group has this name.
    NameInUse,
    /// A user to add has no account.
    UserNotFound,
    /// The caller is the group's only superadmin and others remain.
    LastSuperadmin,
    /// An update that names no field.
    NoUpdateOps,
    /// An update of a group that does not exist.
    NotUpdated,
}

/// A store's answer: done (with what it yields), or refused for a reason
/// of the group's rules; `Err` of the outer [`ApiResult`] is a failure.
pub type GroupResult<T> = Result<T, GroupError>;

/// What a membership change leaves for the caller to do once committed:
/// the messages written to the group's channel (to relay live), the users
/// to remove from the channel, and the notifications to send.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Changes {
    pub messages: Vec<ChannelMessage>,
    /// Users no longer members: their sessions leave the group channel.
    pub removed: Vec<Uuid>,
    /// Users added by an admin (`add`): each gets a "group add"
    /// notification naming the group.
    pub added: Vec<Uuid>,
    /// The group's name, for the notifications.
    pub group_name: String,
}

/// What `join` did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Joined {
    /// An open group: the user is a member; the message to relay.
    Member(ChannelMessage),
    /// A closed group: a join request, for these admins and superadmins
    /// to hear of.
    Requested { admins: Vec<Uuid> },
    /// The user already had a place in the group (any state, bans
    /// included): nothing changed, as in Nakama.
    Unchanged,
}

/// What `leave` did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Left {
    /// The user left; the message to relay.
    Member(ChannelMessage),
    /// The user was the last member, a superadmin: the group is deleted.
    Deleted,
    /// The user was not in the group, or is banned from it: nothing
    /// changed.
    Unchanged,
}

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

/// The filters of `GET /v2/group`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct GroupFilter {
    /// A name pattern, `%` a wildcard, case-insensitive (a trailing `%`
    /// makes it a prefix); leading `%` and spaces are dropped, as Nakama
    /// does. May not be combined with the other filters.
    pub name: Option<String>,
    pub lang_tag: Option<String>,
    /// At most this many members.
    pub members: Option<i32>,
    pub open: Option<bool>,
}

/// The order a listing takes, by its filters.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GroupOrder {
    /// By name (the name filter).
    Name,
    /// Fullest first, then by id descending (any filter on members).
    MembersDesc,
    /// Emptiest first, then by id (a language filter).
    MembersAsc,
    /// Least recently updated first, then by members and id (no filter,
    /// or openness alone).
    Updated,
}

impl GroupFilter {
    /// Checks the filters (Nakama's message) and normalizes the name.
    pub fn check(mut self) -> ApiResult<GroupFilter> {
        if let Some(name) = &self.name {
            let trimmed = name.trim_start_matches(['%', ' ']).to_string();
            if trimmed.chars().count() > MAX_NAME {
                return Err(ApiError::invalid(format!(
                    "Group name must be at most {MAX_NAME} characters."
                )));
            }
            self.name = (!name.is_empty()).then_some(trimmed);
        }
        if self.lang_tag.as_deref() == Some("") {
            self.lang_tag = None;
        }
        if self.name.is_some()
            && (self.lang_tag.is_some() || self.open.is_some() || self.members.is_some())
        {
            return Err(ApiError::invalid(
                "name filter cannot be combined with any other filter",
            ));
        }
        Ok(self)
    }

    pub fn order(&self) -> GroupOrder {
        if self.name.is_some() {
            GroupOrder::Name
        } else if self.members.is_some() {
            GroupOrder::MembersDesc
        } else if self.lang_tag.is_some() {
            GroupOrder::MembersAsc
        } else {
            GroupOrder::Updated
        }
    }
}

/// Where a group listing resumes: the last group of the previous page.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct GroupCursor {
    #[serde(rename = "n")]
    pub name: String,
    #[serde(rename = "e")]
    pub edge_count: i32,
    #[serde(rename = "u")]
    pub update_time: i64,
    #[serde(rename = "i")]
    pub id: Uuid,
}

impl GroupCursor {
    pub fn after(g: &Group) -> GroupCursor {
        GroupCursor {
            name: g.name.clone(),
            edge_count: g.edge_count,
            update_time: g.update_time,
            id: g.id,
        }
    }

    /// Parses a cursor (Nakama's message for a bad one).
    pub fn parse(text: &str) -> ApiResult<GroupCursor> {
        cursor::decode(text).ok_or_else(|| ApiError::invalid("Malformed cursor was used."))
    }

    pub fn encode(&self) -> String {
        cursor::encode(self)
    }
}

/// Where a member or user-group listing resumes: the last edge of the
/// previous page, by `(state, position, id)`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct EdgeCursor {
    #[serde(rename = "s")]
    pub state: i32,
    #[serde(rename = "p")]
    pub position: i64,
    #[serde(rename = "i")]
    pub id: Uuid,
}

impl EdgeCursor {
    /// Parses a cursor; one taken with another `state` filter is refused,
    /// as in Nakama ("Cursor is invalid.").
    pub fn parse(text: &str, filter: Option<i32>) -> ApiResult<EdgeCursor> {
        let c: EdgeCursor =
            cursor::decode(text).ok_or_else(|| ApiError::invalid("Cursor is invalid."))?;
        if filter.is_some_and(|s| s != c.state) {
            return Err(ApiError::invalid("Cursor is invalid."));
        }
        Ok(c)
    }

    pub fn encode(&self) -> String {
        cursor::encode(self)
    }
}

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

/// One member of a group, with the edge's order key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GroupMember {
    pub user: crate::account::User,
    pub state: i32,
    pub position: i64,
}

/// One group of a user, with the edge's order key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UserGroup {
    pub group: Group,
    pub state: i32,
    pub position: i64,
}

#[cfg(test)]
mod tests {
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
}
