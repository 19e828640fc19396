//! `Nk`'s group calls, as Nakama's runtime has them (`GroupCreate`,
//! `GroupUpdate`, `GroupDelete`, `GroupsGetId`, `GroupUserJoin`,
//! `GroupUserLeave`, `GroupUsersAdd`/`Kick`/`Ban`/`Promote`/`Demote`,
//! `GroupUsersList`, `UserGroupsList`, `GroupsList`). Game code acts as a
//! superadmin of every group unless it names a caller; the group's channel
//! hears the membership messages, and users are notified, as for clients.

use kairos_core::error::{ApiError, ApiResult};
use kairos_core::group::{
    self, EdgeCursor, Group, GroupCursor, GroupError, GroupFilter, GroupMember, GroupUpdate,
    MAX_LIST, MemberOp, NewGroup, UserGroup,
};
use uuid::Uuid;

use super::Nk;
use crate::realtime::chat;

/// A group rule's refusal as game code sees it.
fn refusal(e: GroupError) -> ApiError {
    match e {
        GroupError::NotFound | GroupError::NotUpdated => ApiError::not_found("Group not found."),
        GroupError::PermissionDenied => ApiError::denied("Group not found or permission denied."),
        GroupError::Full => ApiError::invalid("Group is full."),
        GroupError::NameInUse => ApiError::exists("Group name is in use."),
        GroupError::UserNotFound => ApiError::not_found("One or more users not found."),
        GroupError::LastSuperadmin => {
            ApiError::invalid("Cannot leave group when you are the last superadmin.")
        }
        GroupError::NoUpdateOps => ApiError::invalid("Specify at least one field to update."),
    }
}

/// Most groups one `groups_get_id` names (Kairos's bound; Nakama has
/// none).
pub const MAX_GET_IDS: usize = 1000;

fn check_limit(limit: usize) -> ApiResult<()> {
    if (1..=MAX_LIST).contains(&limit) {
        Ok(())
    } else {
        Err(ApiError::invalid(
            "Invalid limit - limit must be between 1 and 100.",
        ))
    }
}

impl Nk {
    /// Creates a group with `group.owner` as its superadmin (and
    /// `group.creator_id` recorded as its creator; the nil id means the
    /// owner). Nakama's checks and defaults apply (`max_count` 0 is 100).
    pub async fn group_create(&self, mut group: NewGroup) -> ApiResult<Group> {
        if group.owner.is_nil() {
            return Err(ApiError::invalid(
                "Expects user ID to be a valid identifier.",
            ));
        }
        if group.creator_id.is_nil() {
            group.creator_id = group.owner;
        }
        let group = group.check()?;
        self.store(move |store| async move { store.create_group(group).await })
            .await?
            .map_err(refusal)
    }

    /// Changes a group's fields (game code may also change `metadata`,
    /// `max_count` and `creator_id`).
    pub async fn group_update(&self, id: Uuid, update: GroupUpdate) -> ApiResult<()> {
        self.group_update_as(None, id, update).await
    }

    /// [`Nk::group_update`] as `caller` (Nakama's `userID`): refused
    /// unless the caller is an admin or superadmin of the group; `None`
    /// acts as game code.
    pub async fn group_update_as(
        &self,
        caller: Option<Uuid>,
        id: Uuid,
        update: GroupUpdate,
    ) -> ApiResult<()> {
        update.check()?;
        self.store(move |store| async move { store.update_group(id, caller, update).await })
            .await?
            .map_err(refusal)
    }

    /// Deletes a group and ends its channel; a group that does not exist
    /// is no error.
    pub async fn group_delete(&self, id: Uuid) -> ApiResult<()> {
        self.store(move |store| async move { store.delete_group(id, None).await })
            .await?
            .map_err(refusal)?;
        chat::close_group(&self.shard, id);
        Ok(())
    }

    /// The groups among `ids` (at most [`MAX_GET_IDS`]) that exist.
    pub async fn groups_get_id(&self, ids: Vec<Uuid>) -> ApiResult<Vec<Group>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        if ids.len() > MAX_GET_IDS {
            return Err(ApiError::invalid(format!(
                "expects at most {MAX_GET_IDS} group IDs"
            )));
        }
        self.store(move |store| async move { store.get_groups(ids).await })
            .await
    }

    /// Up to `count` groups picked at random, as Nakama's
    /// `GetRandomGroups` picks them: the groups after a random id, then,
    /// when too few, the first ones.
    pub async fn groups_get_random(&self, count: usize) -> ApiResult<Vec<Group>> {
        if count == 0 {
            return Ok(Vec::new());
        }
        if count > MAX_GET_IDS {
            return Err(ApiError::invalid(format!(
                "expects at most {MAX_GET_IDS} groups"
            )));
        }
        let ids = self
            .random_ids(count, |after| {
                self.store(move |store| async move { store.group_ids_after(after, count).await })
            })
            .await?;
        self.groups_get_id(ids).await
    }

    /// `user_id` (named `username` in the join message) joins as the
    /// client call does: a member of an open group, a join request to a
    /// closed one.
    pub async fn group_user_join(
        &self,
        group_id: Uuid,
        user_id: Uuid,
        username: &str,
    ) -> ApiResult<()> {
        let name = username.to_string();
        let joined = self
            .store(move |store| async move { store.join_group(group_id, user_id, name).await })
            .await?
            .map_err(refusal)?;
        chat::after_join(&self.shard, group_id, user_id, username, joined).await;
        Ok(())
    }

    /// `user_id` leaves, as the client call does (the last superadmin may
    /// not while others remain; the last member deletes the group).
    pub async fn group_user_leave(
        &self,
        group_id: Uuid,
        user_id: Uuid,
        username: &str,
    ) -> ApiResult<()> {
        let name = username.to_string();
        let left = self
            .store(move |store| async move { store.leave_group(group_id, user_id, name).await })
            .await?
            .map_err(refusal)?;
        chat::after_leave(&self.shard, group_id, user_id, left);
        Ok(())
    }

    async fn group_change(
        &self,
        caller: Option<Uuid>,
        group_id: Uuid,
        user_ids: Vec<Uuid>,
        op: MemberOp,
    ) -> ApiResult<()> {
        let users =
            group::parse_user_ids(&user_ids.iter().map(Uuid::to_string).collect::<Vec<_>>())?;
        if users.is_empty() {
            return Ok(());
        }
        let changes = self
            .store(
                move |store| async move { store.change_members(group_id, caller, op, users).await },
            )
            .await?
            .map_err(refusal)?;
        chat::after_change(&self.shard, group_id, caller, changes).await;
        Ok(())
    }

    /// Adds users (or accepts their join requests), as `caller` (`None`:
    /// as game code, with a superadmin's rights); all or nothing.
    pub async fn group_users_add(
        &self,
        caller: Option<Uuid>,
        group_id: Uuid,
        user_ids: Vec<Uuid>,
    ) -> ApiResult<()> {
        self.group_change(caller, group_id, user_ids, MemberOp::Add)
            .await
    }

    /// Kicks users, as `caller` (see [`Nk::group_users_add`]).
    pub async fn group_users_kick(
        &self,
        caller: Option<Uuid>,
        group_id: Uuid,
        user_ids: Vec<Uuid>,
    ) -> ApiResult<()> {
        self.group_change(caller, group_id, user_ids, MemberOp::Kick)
            .await
    }

    /// Bans users, as `caller` (see [`Nk::group_users_add`]).
    pub async fn group_users_ban(
        &self,
        caller: Option<Uuid>,
        group_id: Uuid,
        user_ids: Vec<Uuid>,
    ) -> ApiResult<()> {
        self.group_change(caller, group_id, user_ids, MemberOp::Ban)
            .await
    }

    /// Promotes users one rank, as `caller` (see [`Nk::group_users_add`]).
    pub async fn group_users_promote(
        &self,
        caller: Option<Uuid>,
        group_id: Uuid,
        user_ids: Vec<Uuid>,
    ) -> ApiResult<()> {
        self.group_change(caller, group_id, user_ids, MemberOp::Promote)
            .await
    }

    /// Demotes users one rank, as `caller` (see [`Nk::group_users_add`]).
    pub async fn group_users_demote(
        &self,
        caller: Option<Uuid>,
        group_id: Uuid,
        user_ids: Vec<Uuid>,
    ) -> ApiResult<()> {
        self.group_change(caller, group_id, user_ids, MemberOp::Demote)
            .await
    }

    /// One page (at most `limit`, 1 to 100) of a group's users, of one
    /// `state` or of states 0 to 3, after `cursor` (`""`: from the start).
    /// Returns them and the next page's cursor (`""` at the end).
    pub async fn group_users_list(
        &self,
        group_id: Uuid,
        limit: usize,
        state: Option<i32>,
        cursor: &str,
    ) -> ApiResult<(Vec<GroupMember>, String)> {
        check_limit(limit)?;
        let state = group::check_state_filter(state)?;
        let after = (!cursor.is_empty())
            .then(|| EdgeCursor::parse(cursor, state))
            .transpose()?;
        let mut rows = self
            .store(move |store| async move {
                store
                    .list_group_users(group_id, state, after, limit + 1)
                    .await
            })
            .await?;
        let mut next = String::new();
        if rows.len() > limit {
            rows.truncate(limit);
            if let Some(last) = rows.last() {
                next = EdgeCursor {
                    state: last.state,
                    position: last.position,
                    id: last.user.id,
                }
                .encode();
            }
        }
        Ok((rows, next))
    }

    /// One page of a user's groups, as [`Nk::group_users_list`].
    pub async fn user_groups_list(
        &self,
        user_id: Uuid,
        limit: usize,
        state: Option<i32>,
        cursor: &str,
    ) -> ApiResult<(Vec<UserGroup>, String)> {
        check_limit(limit)?;
        let state = group::check_state_filter(state)?;
        let after = (!cursor.is_empty())
            .then(|| EdgeCursor::parse(cursor, state))
            .transpose()?;
        let mut rows = self
            .store(move |store| async move {
                store
                    .list_user_groups(user_id, state, after, limit + 1)
                    .await
            })
            .await?;
        let mut next = String::new();
        if rows.len() > limit {
            rows.truncate(limit);
            if let Some(last) = rows.last() {
                next = EdgeCursor {
                    state: last.state,
                    position: last.position,
                    id: last.group.id,
                }
                .encode();
            }
        }
        Ok((rows, next))
    }

    /// One page of groups matching `filter`, as `GET /v2/group` lists
    /// them.
    pub async fn groups_list(
        &self,
        filter: GroupFilter,
        limit: usize,
        cursor: &str,
    ) -> ApiResult<(Vec<Group>, String)> {
        check_limit(limit)?;
        let filter = filter.check()?;
        let after = (!cursor.is_empty())
            .then(|| GroupCursor::parse(cursor))
            .transpose()?;
        let mut rows = self
            .store(move |store| async move { store.list_groups(filter, after, limit + 1).await })
            .await?;
        let mut next = String::new();
        if rows.len() > limit {
            rows.truncate(limit);
            if let Some(last) = rows.last() {
                next = GroupCursor::after(last).encode();
            }
        }
        Ok((rows, next))
    }
}
