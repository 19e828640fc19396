//! Storage indexes for game code (Nakama's `RegisterStorageIndex`,
//! `RegisterStorageIndexFilter` and `StorageIndexList`): the definition a
//! game registers, the filter deciding which writes an index keeps, and
//! `Nk::storage_index_list`. The indexes live on their own thread
//! (`crate::storage_index`).

use std::future::Future;
use std::pin::Pin;

use kairos_core::error::{ApiError, ApiResult};
use kairos_core::storage::StorageObject;
use uuid::Uuid;

use super::{Context, Nk};

/// Most entries one index may keep. Nakama has no bound; listings scan
/// the whole index with the reference evaluator, so it is bounded here.
pub const MAX_ENTRIES: usize = 100_000;
/// Most fields (and sortable fields) one index may name.
pub const MAX_FIELDS: usize = 256;
/// Most order fields one listing may name.
pub const MAX_ORDER: usize = 64;
/// Most results one listing may ask for (Nakama's Lua bound).
pub const MAX_LIMIT: usize = 10_000;

/// One storage index: the objects of `collection` (of `key` only, unless
/// it is empty), their value's top-level `fields` indexed under `value.`,
/// `sortable_fields` usable in a listing's order, at most `max_entries`
/// kept (the oldest by update time go first), and with `index_only` the
/// indexed fields themselves returned by listings, without reading the
/// store.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StorageIndexDef {
    pub name: String,
    pub collection: String,
    pub key: String,
    pub fields: Vec<String>,
    pub sortable_fields: Vec<String>,
    pub max_entries: usize,
    pub index_only: bool,
}

impl StorageIndexDef {
    /// Nakama's `CreateIndex` checks, in its order and words (plus
    /// Kairos's bounds on `max_entries` and the field lists). `max_entries`
    /// is signed here, as Nakama takes it.
    pub fn check(
        name: &str,
        collection: &str,
        max_entries: i64,
        fields: &[String],
        sortable_fields: &[String],
    ) -> Result<usize, String> {
        if name.is_empty() {
            return Err("storage index 'name' must be set".into());
        }
        if collection.is_empty() {
            return Err("storage index 'collection' must be set".into());
        }
        if max_entries < 1 {
            return Err("storage Index 'max_entries' must be > 0".into());
        }
        if fields.is_empty() {
            return Err(
                "storage Index 'fields' must contain at least one top level key to index".into(),
            );
        }
        if max_entries > MAX_ENTRIES as i64 {
            return Err(format!(
                "storage Index 'max_entries' must be at most {MAX_ENTRIES}"
            ));
        }
        if fields.len() > MAX_FIELDS || sortable_fields.len() > MAX_FIELDS {
            return Err(format!(
                "storage Index 'fields' and 'sortable_fields' may name at most {MAX_FIELDS} keys each"
            ));
        }
        Ok(max_entries as usize)
    }
}

/// A storage index filter: told of each write to an object its index
/// covers (after the write committed), it answers whether the index keeps
/// the object (`true`) or drops it (`false`). An error leaves the index
/// as it was for that object, and is logged.
pub trait StorageIndexFilterFn: Send + Sync + 'static {
    fn call(
        &self,
        ctx: Context,
        write: StorageObject,
    ) -> Pin<Box<dyn Future<Output = Result<bool, ApiError>>>>;
}

impl<F, Fut> StorageIndexFilterFn for F
where
    F: Fn(Context, StorageObject) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<bool, ApiError>> + 'static,
{
    fn call(
        &self,
        ctx: Context,
        write: StorageObject,
    ) -> Pin<Box<dyn Future<Output = Result<bool, ApiError>>>> {
        Box::pin(self(ctx, write))
    }
}

impl Nk {
    /// Lists index `index` (Nakama's `StorageIndexList`): the entries
    /// `query` matches (Nakama's query syntax; `""` is all), in `order`
    /// (sortable fields as `value.<field>`, `create_time`, `update_time`,
    /// `-` for descending; by score without one), at most `limit` (1 to
    /// 10,000), after `cursor`. With a `caller` only what that user may
    /// read is returned. Returns the objects and the next page's cursor
    /// (`""` at the end). Errors are Nakama's texts: `index "x" not
    /// found`, `invalid cursor`, `invalid cursor: query mismatch`, ...
    pub async fn storage_index_list(
        &self,
        index: &str,
        query: &str,
        limit: usize,
        order: Vec<String>,
        caller: Option<Uuid>,
        cursor: &str,
    ) -> ApiResult<(Vec<StorageObject>, String)> {
        crate::storage_index::list(&self.shard, index, query, limit, order, caller, cursor).await
    }
}
