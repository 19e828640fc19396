//! Friend edges (see `kairos_core::friend` for the edge rules).

use kairos_core::error::ApiResult;
use kairos_core::friend::{
    FofCursor, Friend, FriendAdded, FriendCursor, FriendOfFriend, FriendState,
};
use uuid::Uuid;

use super::BoxFuture;

/// Friends, invites and blocks.
pub trait FriendStore: Send + Sync + 'static {
    /// `user` adds each of `ids`, in one transaction: accepts an invite
    /// from them, or invites them. Skipped without error: unknown users,
    /// users `user` has blocked, users who blocked `user`, and users already
    /// invited or befriended. `metadata` (a JSON object, or empty for `{}`)
    /// goes on `user`'s edge. Returns what was done, per user, for the
    /// notifications it calls for.
    fn add_friends(
        &self,
        user: Uuid,
        ids: Vec<Uuid>,
        metadata: String,
    ) -> BoxFuture<'_, ApiResult<Vec<FriendAdded>>>;

    /// `user` removes each of `ids`, in one transaction. Returns the users
    /// who lost an edge to `user` as well (a friendship, or an invite either
    /// way), who are told with a "friend removed" notification.
    fn delete_friends(&self, user: Uuid, ids: Vec<Uuid>) -> BoxFuture<'_, ApiResult<Vec<Uuid>>>;

    /// `user` blocks each of `ids` that exists, in one transaction. Returns
    /// the users now blocked.
    fn block_friends(&self, user: Uuid, ids: Vec<Uuid>) -> BoxFuture<'_, ApiResult<Vec<Uuid>>>;

    /// Edges leaving `user`, optionally of one state, ordered by
    /// `(state, position, user id)` and strictly after `after`; at most
    /// `limit`.
    fn list_friends(
        &self,
        user: Uuid,
        state: Option<FriendState>,
        after: Option<FriendCursor>,
        limit: usize,
    ) -> BoxFuture<'_, ApiResult<Vec<Friend>>>;

    /// Friends (state 0) of `user`'s friends who are neither `user` nor
    /// already `user`'s friends, ordered by `(referrer, user id)` and
    /// strictly after `after`; at most `limit`.
    fn list_friends_of_friends(
        &self,
        user: Uuid,
        after: Option<FofCursor>,
        limit: usize,
    ) -> BoxFuture<'_, ApiResult<Vec<FriendOfFriend>>>;

    /// The edges leaving `user` towards the users among `ids` (Nakama's
    /// `GetFriends`), in no particular order; users without one are left
    /// out.
    fn get_friends(&self, user: Uuid, ids: Vec<Uuid>) -> BoxFuture<'_, ApiResult<Vec<Friend>>>;

    /// Replaces the metadata (a JSON object, as text) of the edge `user`
    /// → `friend`, whatever its state; no edge is no error (Nakama's
    /// `UpdateFriendMetadata`).
    fn update_friend_metadata(
        &self,
        user: Uuid,
        friend: Uuid,
        metadata: String,
    ) -> BoxFuture<'_, ApiResult<()>>;

    /// Whether `from` may open a direct conversation with `to`: `to`
    /// exists and neither has blocked the other.
    fn can_message(&self, from: Uuid, to: Uuid) -> BoxFuture<'_, ApiResult<bool>>;
}
