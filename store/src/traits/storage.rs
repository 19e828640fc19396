//! Storage objects (see `kairos_core::storage` for the rules).

use kairos_core::error::ApiResult;
use kairos_core::storage::{
    StorageAck, StorageCaller, StorageCursor, StorageId, StorageObject, StorageWrite,
};
use uuid::Uuid;

use super::BoxFuture;

/// The storage engine. Writes and deletes are batches applied in one
/// transaction: one failed check rejects the whole batch and changes
/// nothing. Concurrent writes to one object serialize on its row, so every
/// successful versioned write saw the version it replaced.
pub trait StorageStore: Send + Sync + 'static {
    /// Applies `writes` (each owned by its `user_id`; a user caller may only
    /// pass its own) and returns their acks in the same order. Errors with
    /// `kairos_core::storage::version_rejected` or `permission_rejected`.
    fn storage_write(
        &self,
        caller: StorageCaller,
        writes: Vec<StorageWrite>,
    ) -> BoxFuture<'_, ApiResult<Vec<StorageAck>>>;

    /// The objects of `ids` that exist and `caller` may read (game code:
    /// all; a user: public ones and its own with read 1). Order unspecified.
    fn storage_read(
        &self,
        caller: StorageCaller,
        ids: Vec<StorageId>,
    ) -> BoxFuture<'_, ApiResult<Vec<StorageObject>>>;

    /// `collection`'s objects of `owner` (every owner when `None`) with read
    /// permission at least `min_read`, ordered by `(read, key, user_id)`,
    /// strictly after `after`; at most `limit`.
    fn storage_list(
        &self,
        collection: String,
        owner: Option<Uuid>,
        min_read: i32,
        after: Option<StorageCursor>,
        limit: usize,
    ) -> BoxFuture<'_, ApiResult<Vec<StorageObject>>>;

    /// The newest `limit` objects of `collection` (of `key` only, when not
    /// empty), by update time, newest first (ties by key and owner): what a
    /// storage index loads at startup.
    fn storage_scan_newest(
        &self,
        collection: String,
        key: String,
        limit: usize,
    ) -> BoxFuture<'_, ApiResult<Vec<StorageObject>>>;

    /// Deletes `ids` (a non-empty version must match; a user needs write
    /// permission 1). Any id that deletes nothing rejects the batch with
    /// `delete_rejected`, except game code deleting without a version.
    fn storage_delete(
        &self,
        caller: StorageCaller,
        ids: Vec<StorageId>,
    ) -> BoxFuture<'_, ApiResult<()>>;
}
