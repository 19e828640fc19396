//! Groups: their fields and bounds, a member's state, who may do what to
//! whom (the rules both store backends apply inside their transactions),
//! the membership messages written to a group's channel, and the listing
//! cursors.
//!
//! - this file: a group's fields, bounds and checks, member states, the
//!   errors and outcomes of a change, and what listings return;
//! - `rules.rs`: who may act on whom, the membership messages, id and
//!   state-filter parsing;
//! - `listing.rs`: the filters and cursors of the three listings;
//! - `plan.rs`: what a join, a leave or a bulk change does to the edges.
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

mod listing;
mod plan;
mod rules;
#[cfg(test)]
mod tests;

pub use listing::*;
pub use plan::*;
pub use rules::*;

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
