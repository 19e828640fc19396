//! Nakama's multi-update (see `kairos_core::multi`): account updates,
//! storage writes, storage deletes and wallet updates in one transaction.

use kairos_core::error::ApiResult;
use kairos_core::multi::MultiUpdate;
use kairos_core::storage::StorageAck;
use kairos_core::wallet::WalletUpdateResult;

use super::BoxFuture;

/// Several kinds of change, applied together or not at all.
pub trait MultiUpdateStore: Send + Sync + 'static {
    /// Applies `update` with game code's rights, in Nakama's order: each
    /// account update (checked by `kairos_core::multi::check_account`,
    /// then as [`crate::AccountStore::update_account`]), the storage
    /// writes (as [`crate::StorageStore::storage_write`]), the storage
    /// deletes (as [`crate::StorageStore::storage_delete`]) and the wallet
    /// updates (as [`crate::WalletStore::wallets_update`]). The first
    /// rejection rejects everything: nothing is written. Returns the
    /// writes' acks in the order of the writes and the wallet results in
    /// the order applied. The caller has checked `update`
    /// (`MultiUpdate::check`).
    ///
    /// Lock order, on a backend with row locks (PostgreSQL): first every
    /// existing user row the update touches (`MultiUpdate::users`: account
    /// and wallet users, owners of written and deleted objects), in id
    /// order, `FOR UPDATE`; then the storage rows of its writes and
    /// deletes together, object by object in `(collection, key, owner)`
    /// order (`kairos_core::multi::storage_steps`: a write before a delete
    /// of the same object, so the outcome is Nakama's writes-then-deletes),
    /// the order every storage batch locks rows in.
    /// Account deletion, friend changes and wallet batches also lock
    /// their user rows first and in id order, so a multi-update never
    /// waits for a user row while holding a storage row that an account
    /// deletion is waiting for, and never holds one storage row while
    /// waiting for an earlier one: they cannot deadlock. SQLite runs it on
    /// its single writer, whole, writes then deletes.
    fn multi_update(
        &self,
        update: MultiUpdate,
    ) -> BoxFuture<'_, ApiResult<(Vec<StorageAck>, Vec<WalletUpdateResult>)>>;
}
