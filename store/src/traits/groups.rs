//! Groups and their members (see `kairos_core::group` for the rules).
//!
//! Every change runs in one transaction that first takes the group's row
//! for writing, so concurrent changes to one group take turns: the states
//! a change reads are current, `edge_count` always equals the number of
//! members and never passes `max_count`. The membership messages a change
//! calls for are written to the group channel's history in the same
//! transaction. `caller` is the acting user; `None` is game code, which
//! acts as a superadmin of every group.

use kairos_core::error::ApiResult;
use kairos_core::group::{
    Changes, EdgeCursor, Group, GroupCursor, GroupFilter, GroupMember, GroupResult, GroupUpdate,
    Joined, Left, MemberOp, NewGroup, UserGroup,
};
use uuid::Uuid;

use super::BoxFuture;

/// Groups, members, join requests and bans.
pub trait GroupStore: Send + Sync + 'static {
    /// Creates a group (fields already checked) with its owner as its
    /// only member, a superadmin. `NameInUse` when the name is taken.
    fn create_group(&self, group: NewGroup) -> BoxFuture<'_, ApiResult<GroupResult<Group>>>;

    /// Updates a group's fields; the caller must be an admin or
    /// superadmin. `NoUpdateOps` for an empty update, `NotUpdated` when
    /// the group does not exist, `NameInUse`.
    fn update_group(
        &self,
        id: Uuid,
        caller: Option<Uuid>,
        update: GroupUpdate,
    ) -> BoxFuture<'_, ApiResult<GroupResult<()>>>;

    /// Deletes a group and its members (its channel's history stays, as
    /// in Nakama); the caller must be a superadmin. Deleting a group that
    /// does not exist as game code does nothing.
    fn delete_group(
        &self,
        id: Uuid,
        caller: Option<Uuid>,
    ) -> BoxFuture<'_, ApiResult<GroupResult<()>>>;

    /// `user` joins: a member of an open group (with a join message), a
    /// join request to a closed one. `NotFound`, `Full`.
    fn join_group(
        &self,
        id: Uuid,
        user: Uuid,
        username: String,
    ) -> BoxFuture<'_, ApiResult<GroupResult<Joined>>>;

    /// `user` leaves (a join request is withdrawn). `LastSuperadmin`
    /// when others remain but no other superadmin; the last member
    /// leaving deletes the group.
    fn leave_group(
        &self,
        id: Uuid,
        user: Uuid,
        username: String,
    ) -> BoxFuture<'_, ApiResult<GroupResult<Left>>>;

    /// Adds, kicks, bans, promotes or demotes each of `users` (the caller
    /// is skipped) as the caller's rank allows, all or nothing (an add
    /// past `max_count` is `Full`, of a user without an account
    /// `UserNotFound`). Users the caller may not act on are skipped.
    fn change_members(
        &self,
        id: Uuid,
        caller: Option<Uuid>,
        op: MemberOp,
        users: Vec<Uuid>,
    ) -> BoxFuture<'_, ApiResult<GroupResult<Changes>>>;

    /// The groups among `ids` that exist.
    fn get_groups(&self, ids: Vec<Uuid>) -> BoxFuture<'_, ApiResult<Vec<Group>>>;

    /// At most `limit` group ids greater than `after`, in id order: random
    /// groups are read from a random id onward, as Nakama reads them.
    fn group_ids_after(&self, after: Uuid, limit: usize) -> BoxFuture<'_, ApiResult<Vec<Uuid>>>;

    /// Groups matching `filter`, in its order ([`GroupFilter::order`]),
    /// strictly after `after`; at most `limit`.
    fn list_groups(
        &self,
        filter: GroupFilter,
        after: Option<GroupCursor>,
        limit: usize,
    ) -> BoxFuture<'_, ApiResult<Vec<Group>>>;

    /// A group's users by `(state, position, user id)`, of one state or
    /// of states 0 to 3, strictly after `after`; at most `limit`.
    fn list_group_users(
        &self,
        id: Uuid,
        state: Option<i32>,
        after: Option<EdgeCursor>,
        limit: usize,
    ) -> BoxFuture<'_, ApiResult<Vec<GroupMember>>>;

    /// A user's groups by `(state, position, group id)`, of one state or
    /// of states 0 to 3, strictly after `after`; at most `limit`.
    fn list_user_groups(
        &self,
        user: Uuid,
        state: Option<i32>,
        after: Option<EdgeCursor>,
        limit: usize,
    ) -> BoxFuture<'_, ApiResult<Vec<UserGroup>>>;

    /// `user`'s state in group `id`, if any.
    fn group_user_state(&self, id: Uuid, user: Uuid) -> BoxFuture<'_, ApiResult<Option<i32>>>;
}
