//! Accounts: the authenticate flow, linked identifiers, profiles, deletion
//! and user lookups. Emails are lowercased by the store (as Nakama does)
//! in authenticate, link and unlink.

use kairos_core::account::{Account, AccountUpdate, Authenticated, Identity, User, UserStatus};
use kairos_core::channel::ChannelMessage;
use kairos_core::error::ApiResult;
use kairos_core::leaderboard::Record;
use kairos_core::storage::StorageObject;
use uuid::Uuid;

use super::BoxFuture;

/// What an account export reads that no listing reads: every storage
/// object the user owns, every chat message the user sent, and every
/// leaderboard or tournament record the user holds (of every period).
#[derive(Clone, Debug, Default)]
pub struct ExportRows {
    /// By collection, then key.
    pub objects: Vec<StorageObject>,
    /// Oldest first.
    pub messages: Vec<ChannelMessage>,
    /// By board, then period.
    pub records: Vec<Record>,
}

/// Accounts and their identifiers.
pub trait AccountStore: Send + Sync + 'static {
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
    /// tombstone (`user_tombstone`) when `recorded`, as Nakama's
    /// `DeleteAccount`. Chat messages it sent stay in their channels'
    /// history. A missing user is not an error.
    fn delete_account(&self, user_id: Uuid, recorded: bool) -> BoxFuture<'_, ApiResult<()>>;
    /// Bans (`disabled`: sets `disable_time` to now) or unbans (clears
    /// it) each of `ids` that exists, as Nakama's `BanUsers` and
    /// `UnbanUsers`; unknown ids are skipped.
    fn set_disabled(&self, ids: Vec<Uuid>, disabled: bool) -> BoxFuture<'_, ApiResult<()>>;
    /// The rows of an account export besides the account, friends, groups,
    /// notifications and wallet ledger (which their listings read).
    fn export_rows(&self, user_id: Uuid) -> BoxFuture<'_, ApiResult<ExportRows>>;
    /// Users by ids or usernames; unknown ones are left out.
    fn get_users(
        &self,
        ids: Vec<Uuid>,
        usernames: Vec<String>,
    ) -> BoxFuture<'_, ApiResult<Vec<User>>>;
    /// At most `limit` user ids greater than `after`, in id order (the
    /// nil system user never among them): random users are read from a
    /// random id onward, as Nakama reads them, without a full scan.
    fn user_ids_after(&self, after: Uuid, limit: usize) -> BoxFuture<'_, ApiResult<Vec<Uuid>>>;
    /// Username and ban state, for session refresh. NotFound when the account is gone.
    fn user_status(&self, user_id: Uuid) -> BoxFuture<'_, ApiResult<UserStatus>>;
}
