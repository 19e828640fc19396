//! The persistence interface every backend implements.
//!
//! Methods return boxed `Send` futures so that backends can be used as
//! `Arc<dyn Store>`. They run only on the persistence pool's threads, never on
//! a shard: shards reach them through [`crate::Persist`].

use std::future::Future;
use std::pin::Pin;

use kairos_core::account::{Account, AccountUpdate, Authenticated, Identity, User, UserStatus};
use kairos_core::error::ApiResult;
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
    /// Deletes the account and its identifiers, leaving a tombstone.
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
}
