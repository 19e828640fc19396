//! The persistence interface every backend implements.
//!
//! Methods return boxed `Send` futures so that backends can be used as
//! `Arc<dyn Store>`. They run only on the persistence pool's threads, never on
//! a shard: shards reach them through [`crate::Persist`].

use std::future::Future;
use std::pin::Pin;

use kairos_core::account::{Account, AccountUpdate, Authenticated, Identity, User, UserStatus};
use kairos_core::channel::{ChannelMessage, MessageKey};
use kairos_core::error::ApiResult;
use kairos_core::friend::{
    FofCursor, Friend, FriendAdded, FriendCursor, FriendOfFriend, FriendState,
};
use kairos_core::notification::Notification;
use kairos_core::stream::StreamId;
use uuid::Uuid;

/// A boxed `Send` future, so that [`Store`] can be used as `dyn Store`.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Revocations loaded at start so that logouts survive restarts.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Revocations {
    /// `(token_id, user_id, expires_at_unix_secs)` of single revoked sessions.
    pub tokens: Vec<(Uuid, Uuid, i64)>,
    /// `(user_id, cutoff_unix_millis)`: every session of the user issued
    /// before the cutoff is revoked.
    pub cutoffs: Vec<(Uuid, i64)>,
}

/// One applied or pending schema migration.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MigrationStatus {
    pub version: u32,
    pub name: &'static str,
    /// Unix seconds when applied; `None` when pending.
    pub applied_at: Option<i64>,
}

/// The persistence interface. Emails are lowercased by the store (as
/// Nakama does) in authenticate, link and unlink.
pub trait Store: Send + Sync + 'static {
    /// `"sqlite"` or `"postgres"`.
    fn backend(&self) -> &'static str;

    /// Applies every pending migration. Safe to call concurrently from
    /// several processes (PostgreSQL takes an advisory lock).
    fn migrate_up(&self) -> BoxFuture<'_, ApiResult<Vec<MigrationStatus>>>;
    fn migrate_status(&self) -> BoxFuture<'_, ApiResult<Vec<MigrationStatus>>>;

    /// Finds the account owning `identity`, creating it when `create` is set.
    /// `username` is the wanted username for a new account (already validated;
    /// empty means generate one). Errors, as Nakama: NotFound "User account not
    /// found." when absent and `create` is false; AlreadyExists "Username is
    /// already in use." on a taken username; Unauthenticated "Invalid
    /// credentials." on a wrong password; PermissionDenied "User account
    /// banned." when disabled.
    fn authenticate(
        &self,
        identity: Identity,
        username: String,
        create: bool,
    ) -> BoxFuture<'_, ApiResult<Authenticated>>;

    /// Adds `identity` to the user's account. AlreadyExists when another
    /// account holds it; linking an identifier the user already holds is a no-op.
    fn link(&self, user_id: Uuid, identity: Identity) -> BoxFuture<'_, ApiResult<()>>;

    /// Removes `identity` from the user's account. PermissionDenied "Cannot
    /// unlink last account identifier. Check profile exists and is not last
    /// link." when it is the account's last identifier or is not the user's.
    fn unlink(&self, user_id: Uuid, identity: Identity) -> BoxFuture<'_, ApiResult<()>>;

    fn get_account(&self, user_id: Uuid) -> BoxFuture<'_, ApiResult<Account>>;
    fn update_account(&self, user_id: Uuid, update: AccountUpdate) -> BoxFuture<'_, ApiResult<()>>;
    /// Deletes the account and its identifiers, friend edges (both ways,
    /// fixing the other users' `edge_count`) and notifications, leaving a
    /// tombstone. Chat messages it sent stay in their channels' history.
    fn delete_account(&self, user_id: Uuid) -> BoxFuture<'_, ApiResult<()>>;
    /// Users by ids or usernames; unknown ones are left out.
    fn get_users(
        &self,
        ids: Vec<Uuid>,
        usernames: Vec<String>,
    ) -> BoxFuture<'_, ApiResult<Vec<User>>>;
    /// Username and ban state, for session refresh. NotFound when the account is gone.
    fn user_status(&self, user_id: Uuid) -> BoxFuture<'_, ApiResult<UserStatus>>;

    fn revoke_token(
        &self,
        user_id: Uuid,
        token_id: Uuid,
        expires_at: i64,
    ) -> BoxFuture<'_, ApiResult<()>>;
    fn revoke_all(&self, user_id: Uuid, cutoff_millis: i64) -> BoxFuture<'_, ApiResult<()>>;
    /// Every revocation that still matters at `now` (unix seconds); expired
    /// single-token revocations are pruned.
    fn load_revocations(&self, now: i64) -> BoxFuture<'_, ApiResult<Revocations>>;

    // ---- friends (see `kairos_core::friend` for the edge rules) --------

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

    /// Whether `from` may open a direct conversation with `to`: `to`
    /// exists and neither has blocked the other.
    fn can_message(&self, from: Uuid, to: Uuid) -> BoxFuture<'_, ApiResult<bool>>;

    // ---- notifications --------------------------------------------------

    /// Stores notifications in one transaction; those for users that do not
    /// exist are dropped.
    fn save_notifications(&self, notifications: Vec<Notification>) -> BoxFuture<'_, ApiResult<()>>;

    /// `user`'s stored notifications ordered by `(create_time, id)` and
    /// strictly after `after`; at most `limit`. All are `persistent`.
    fn list_notifications(
        &self,
        user: Uuid,
        after: Option<(i64, Uuid)>,
        limit: usize,
    ) -> BoxFuture<'_, ApiResult<Vec<Notification>>>;

    /// Deletes those of `ids` that belong to `user`.
    fn delete_notifications(&self, user: Uuid, ids: Vec<Uuid>) -> BoxFuture<'_, ApiResult<()>>;

    // ---- chat history ---------------------------------------------------

    /// Stores a chat message. Refused with NotFound when its sender has
    /// no account (deleted, even concurrently): checked in the same
    /// statement, so no message is ever stored under a deleted id.
    fn insert_message(&self, message: ChannelMessage) -> BoxFuture<'_, ApiResult<()>>;

    /// Replaces the content and username of `sender`'s message `id` in
    /// `stream`, and its update time (unix micros). Returns its create time,
    /// or `None` when `sender` has no such message there.
    fn update_message(
        &self,
        stream: StreamId,
        id: Uuid,
        sender: Uuid,
        username: String,
        content: String,
        update_time: i64,
    ) -> BoxFuture<'_, ApiResult<Option<i64>>>;

    /// Deletes `sender`'s message `id` in `stream`. Returns its create and
    /// update times, or `None` when `sender` has no such message there.
    fn remove_message(
        &self,
        stream: StreamId,
        id: Uuid,
        sender: Uuid,
    ) -> BoxFuture<'_, ApiResult<Option<(i64, i64)>>>;

    /// Messages of `stream` by `(create_time, id)`: ascending and strictly
    /// after `after`, or descending and strictly before it; at most `limit`.
    fn list_messages(
        &self,
        stream: StreamId,
        ascending: bool,
        after: Option<MessageKey>,
        limit: usize,
    ) -> BoxFuture<'_, ApiResult<Vec<ChannelMessage>>>;
}
