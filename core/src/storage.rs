//! Storage objects: JSON object values keyed by collection, key and owner,
//! with read and write permissions and an optimistic-concurrency version.
//! System-owned objects have the nil user id. The rules every backend
//! applies (version checks, permissions) live in [`plan_write`] so both
//! backends decide alike.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::error::{ApiError, ApiResult};

/// Longest collection or key, in characters (Nakama's columns are
/// `VARCHAR(128)`).
pub const MAX_NAME_CHARS: usize = 128;
/// Most objects a listing returns.
pub const MAX_LIST: usize = 100;

/// Read permission: only game code reads it.
pub const READ_NONE: i32 = 0;
/// Read permission: the owner (and game code) reads it. Nakama's default.
pub const READ_OWNER: i32 = 1;
/// Read permission: anyone reads it.
pub const READ_PUBLIC: i32 = 2;
/// Write permission: only game code writes it.
pub const WRITE_NONE: i32 = 0;
/// Write permission: the owner (and game code) writes it. Nakama's default.
pub const WRITE_OWNER: i32 = 1;

/// A stored object as read back. Times are unix seconds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StorageObject {
    pub collection: String,
    pub key: String,
    /// The owner; nil for system-owned objects.
    pub user_id: Uuid,
    /// A JSON object, as text.
    pub value: String,
    /// MD5 hex of `value`.
    pub version: String,
    pub permission_read: i32,
    pub permission_write: i32,
    pub create_time: i64,
    pub update_time: i64,
}

/// One write of a batch.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StorageWrite {
    pub collection: String,
    pub key: String,
    pub user_id: Uuid,
    pub value: String,
    /// `""`: last write wins; `"*"`: only if absent; otherwise only if the
    /// stored version is still this one.
    pub version: String,
    pub permission_read: i32,
    pub permission_write: i32,
}

/// What a successful write returns, in the order of the writes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StorageAck {
    pub collection: String,
    pub key: String,
    pub user_id: Uuid,
    pub version: String,
    pub create_time: i64,
    pub update_time: i64,
}

/// The address of an object; `version` is only used by deletes (empty: any).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct StorageId {
    pub collection: String,
    pub key: String,
    pub user_id: Uuid,
    pub version: String,
}

/// Where a listing resumes: strictly after this `(read, key, user_id)`.
/// Clients get it as an opaque [`crate::cursor`] string.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StorageCursor {
    pub read: i32,
    pub key: String,
    pub user_id: Uuid,
}

/// Who asks: game code sees and writes everything; a user is held to the
/// permissions.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StorageCaller {
    System,
    User(Uuid),
}

impl StorageCaller {
    pub fn is_system(self) -> bool {
        self == StorageCaller::System
    }

    /// The lowest read permission `caller` may list in `owner`'s objects
    /// (all owners when `None`): game code 0, a user their own from 1,
    /// anyone else's from 2.
    pub fn min_list_read(self, owner: Option<Uuid>) -> i32 {
        match (self, owner) {
            (StorageCaller::System, _) => READ_NONE,
            (StorageCaller::User(me), Some(o)) if me == o => READ_OWNER,
            _ => READ_PUBLIC,
        }
    }
}

impl StorageCursor {
    /// The cursor resuming after `last`.
    pub fn after(last: &StorageObject) -> StorageCursor {
        StorageCursor {
            read: last.permission_read,
            key: last.key.clone(),
            user_id: last.user_id,
        }
    }

    pub fn encode(&self) -> String {
        crate::cursor::encode(self)
    }

    /// InvalidArgument "Malformed cursor was used." for anything not ours.
    pub fn parse(text: &str) -> ApiResult<StorageCursor> {
        crate::cursor::decode(text).ok_or_else(|| ApiError::invalid("Malformed cursor was used."))
    }
}

/// One page of a listing fetched with `limit + 1` rows: the first `limit`
/// and, when there were more, the cursor resuming after the last kept.
pub fn page(mut rows: Vec<StorageObject>, limit: usize) -> (Vec<StorageObject>, String) {
    if rows.len() <= limit {
        return (rows, String::new());
    }
    rows.truncate(limit);
    let cursor = rows.last().map(|o| StorageCursor::after(o).encode());
    (rows, cursor.unwrap_or_default())
}

/// InvalidArgument "Invalid collection or key value supplied. They must be set."
pub fn names_unset() -> ApiError {
    ApiError::invalid("Invalid collection or key value supplied. They must be set.")
}

/// Checks a collection and key: both set, and at most [`MAX_NAME_CHARS`].
pub fn check_names(collection: &str, key: &str) -> ApiResult<()> {
    if collection.is_empty() || key.is_empty() {
        return Err(names_unset());
    }
    if collection.chars().count() > MAX_NAME_CHARS || key.chars().count() > MAX_NAME_CHARS {
        return Err(ApiError::invalid(
            "Invalid collection or key value supplied. They must be at most 128 characters.",
        ));
    }
    Ok(())
}

/// Checks one write as Nakama does, in its order: names and value set,
/// read permission 0 to 2, write permission 0 or 1, value a JSON object.
pub fn check_write(w: &StorageWrite) -> ApiResult<()> {
    if w.value.is_empty() {
        return Err(names_unset());
    }
    check_names(&w.collection, &w.key)?;
    if !(READ_NONE..=READ_PUBLIC).contains(&w.permission_read) {
        return Err(ApiError::invalid(
            "Invalid Read permission supplied. It must be either 0, 1 or 2.",
        ));
    }
    if !(WRITE_NONE..=WRITE_OWNER).contains(&w.permission_write) {
        return Err(ApiError::invalid(
            "Invalid Write permission supplied. It must be either 0 or 1.",
        ));
    }
    if !crate::channel::is_json_object(&w.value) {
        return Err(ApiError::invalid("Value must be a JSON object."));
    }
    Ok(())
}

/// The version of a value: the MD5 hex of its text, as Nakama.
pub fn version_of(value: &str) -> String {
    use md5::Digest;
    let digest = md5::Md5::digest(value.as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// InvalidArgument "Storage write rejected - version check failed."
pub fn version_rejected() -> ApiError {
    ApiError::invalid("Storage write rejected - version check failed.")
}

/// InvalidArgument "Storage write rejected - permission denied."
pub fn permission_rejected() -> ApiError {
    ApiError::invalid("Storage write rejected - permission denied.")
}

/// InvalidArgument for a delete that matched nothing.
pub fn delete_rejected() -> ApiError {
    ApiError::invalid(
        "Storage delete rejected - not found, version check failed, or permission denied.",
    )
}

/// What a write does to the row, given what is stored now.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WritePlan {
    Insert,
    Update,
}

/// Decides a write against the stored `(version, write permission)`:
/// `*` needs the object absent; a hash needs it present with that version;
/// a user needs write permission 1 on an existing object (checked before
/// the version, as Nakama does, except for `*`).
pub fn plan_write(
    w: &StorageWrite,
    stored: Option<(&str, i32)>,
    caller: StorageCaller,
) -> ApiResult<WritePlan> {
    match stored {
        None if w.version.is_empty() || w.version == "*" => Ok(WritePlan::Insert),
        None => Err(version_rejected()),
        Some(_) if w.version == "*" => Err(version_rejected()),
        Some((_, write)) if !caller.is_system() && write != WRITE_OWNER => {
            Err(permission_rejected())
        }
        Some((version, _)) if !w.version.is_empty() && w.version != version => {
            Err(version_rejected())
        }
        Some(_) => Ok(WritePlan::Update),
    }
}

/// The order a batch's writes are applied in (collection, key, owner), so
/// that concurrent batches lock rows alike and cannot deadlock.
pub fn write_order(writes: &[StorageWrite]) -> Vec<usize> {
    let mut order: Vec<usize> = (0..writes.len()).collect();
    order.sort_by(|&a, &b| {
        let (x, y) = (&writes[a], &writes[b]);
        (&x.collection, &x.key, x.user_id).cmp(&(&y.collection, &y.key, y.user_id))
    });
    order
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(version: &str) -> StorageWrite {
        StorageWrite {
            collection: "c".into(),
            key: "k".into(),
            user_id: Uuid::nil(),
            value: "{}".into(),
            version: version.into(),
            permission_read: 1,
            permission_write: 1,
        }
    }

    #[test]
    fn version_is_md5_hex() {
        assert_eq!(version_of(""), "d41d8cd98f00b204e9800998ecf8427e");
    }

    #[test]
    fn plans() {
        let me = StorageCaller::User(Uuid::now_v7());
        assert_eq!(plan_write(&write(""), None, me), Ok(WritePlan::Insert));
        assert_eq!(plan_write(&write("*"), None, me), Ok(WritePlan::Insert));
        assert_eq!(plan_write(&write("abc"), None, me), Err(version_rejected()));
        assert_eq!(
            plan_write(&write("*"), Some(("v", 1)), me),
            Err(version_rejected())
        );
        assert_eq!(
            plan_write(&write("v"), Some(("v", 1)), me),
            Ok(WritePlan::Update)
        );
        assert_eq!(
            plan_write(&write("w"), Some(("v", 1)), me),
            Err(version_rejected())
        );
        assert_eq!(
            plan_write(&write(""), Some(("v", 0)), me),
            Err(permission_rejected())
        );
        let sys = StorageCaller::System;
        assert_eq!(
            plan_write(&write(""), Some(("v", 0)), sys),
            Ok(WritePlan::Update)
        );
    }
}
