//! Storage objects on SQLite. Batches run in an IMMEDIATE transaction on
//! the single writer, so concurrent batches are serialized whole.

use kairos_core::error::ApiResult;
use kairos_core::storage::{
    self, StorageAck, StorageCaller, StorageCursor, StorageId, StorageObject, StorageWrite,
    WritePlan,
};
use kairos_core::time::now_secs;
use rusqlite::types::Value;
use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params, params_from_iter};
use uuid::Uuid;

use super::SqliteStore;
use super::db::{Db, db_err, exec};
use super::rows::uuid_at;
use crate::common;
use crate::{BoxFuture, StorageStore};

const COLUMNS: &str =
    "collection, key, user_id, value, version, read, write, create_time, update_time";

fn object_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<StorageObject> {
    Ok(StorageObject {
        collection: r.get(0)?,
        key: r.get(1)?,
        user_id: uuid_at(r, 2)?,
        value: r.get(3)?,
        version: r.get(4)?,
        permission_read: r.get(5)?,
        permission_write: r.get(6)?,
        create_time: r.get(7)?,
        update_time: r.get(8)?,
    })
}

/// Every object `user_id` owns, by collection and key (an account export).
pub(super) fn objects_of(c: &Connection, user_id: &str) -> ApiResult<Vec<StorageObject>> {
    let sql = format!("SELECT {COLUMNS} FROM storage WHERE user_id = ?1 ORDER BY collection, key");
    let mut stmt = c.prepare_cached(&sql).map_err(db_err)?;
    let rows = stmt.query_map([user_id], object_from_row).map_err(db_err)?;
    rows.collect::<rusqlite::Result<_>>().map_err(db_err)
}

impl StorageStore for SqliteStore {
    fn storage_write(
        &self,
        caller: StorageCaller,
        writes: Vec<StorageWrite>,
    ) -> BoxFuture<'_, ApiResult<Vec<StorageAck>>> {
        Box::pin(self.blocking(move |db| db.storage_write(caller, writes)))
    }

    fn storage_read(
        &self,
        caller: StorageCaller,
        ids: Vec<StorageId>,
    ) -> BoxFuture<'_, ApiResult<Vec<StorageObject>>> {
        Box::pin(self.blocking(move |db| db.storage_read(caller, ids)))
    }

    fn storage_list(
        &self,
        collection: String,
        owner: Option<Uuid>,
        min_read: i32,
        after: Option<StorageCursor>,
        limit: usize,
    ) -> BoxFuture<'_, ApiResult<Vec<StorageObject>>> {
        Box::pin(
            self.blocking(move |db| db.storage_list(collection, owner, min_read, after, limit)),
        )
    }

    fn storage_delete(
        &self,
        caller: StorageCaller,
        ids: Vec<StorageId>,
    ) -> BoxFuture<'_, ApiResult<()>> {
        Box::pin(self.blocking(move |db| db.storage_delete(caller, ids)))
    }

    fn storage_scan_newest(
        &self,
        collection: String,
        key: String,
        limit: usize,
    ) -> BoxFuture<'_, ApiResult<Vec<StorageObject>>> {
        Box::pin(self.blocking(move |db| db.storage_scan_newest(collection, key, limit)))
    }
}

impl Db {
    pub fn storage_write(
        &self,
        caller: StorageCaller,
        writes: Vec<StorageWrite>,
    ) -> ApiResult<Vec<StorageAck>> {
        self.write(|c| {
            let tx = c
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(db_err)?;
            let acks = storage_write_in(&tx, caller, &writes)?;
            tx.commit().map_err(db_err)?;
            Ok(acks)
        })
    }
}

/// Applies a storage batch inside `tx` (see [`StorageStore::storage_write`]);
/// the caller commits.
pub(super) fn storage_write_in(
    tx: &rusqlite::Transaction<'_>,
    caller: StorageCaller,
    writes: &[StorageWrite],
) -> ApiResult<Vec<StorageAck>> {
    let now = now_secs();
    let mut acks = vec![None; writes.len()];
    for i in storage::write_order(writes) {
        let w = &writes[i];
        let owner = w.user_id.to_string();
        let stored: Option<(String, i32, i64)> = tx
            .prepare_cached(
                "SELECT version, write, create_time FROM storage
                         WHERE collection = ?1 AND key = ?2 AND user_id = ?3",
            )
            .map_err(db_err)?
            .query_row(params![w.collection, w.key, owner], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?))
            })
            .optional()
            .map_err(db_err)?;
        let plan = storage::plan_write(
            w,
            stored.as_ref().map(|(v, wr, _)| (v.as_str(), *wr)),
            caller,
        )?;
        let version = storage::version_of(&w.value);
        let args = params![
            w.collection,
            w.key,
            owner,
            w.value,
            version,
            w.permission_read,
            w.permission_write,
            now
        ];
        let create_time = match plan {
            WritePlan::Insert => {
                exec(
                            tx,
                            "INSERT INTO storage (collection, key, user_id, value, version, read, write, create_time, update_time)
                             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?8)",
                            args,
                        )
                        .map_err(db_err)?;
                now
            }
            WritePlan::Update => {
                exec(
                            tx,
                            "UPDATE storage SET value = ?4, version = ?5, read = ?6, write = ?7, update_time = ?8
                             WHERE collection = ?1 AND key = ?2 AND user_id = ?3",
                            args,
                        )
                        .map_err(db_err)?;
                stored.map_or(now, |(_, _, t)| t)
            }
        };
        acks[i] = Some(StorageAck {
            collection: w.collection.clone(),
            key: w.key.clone(),
            user_id: w.user_id,
            version,
            create_time,
            update_time: now,
        });
    }
    Ok(acks.into_iter().flatten().collect())
}

impl Db {
    pub fn storage_read(
        &self,
        caller: StorageCaller,
        ids: Vec<StorageId>,
    ) -> ApiResult<Vec<StorageObject>> {
        let (sql, me) = match caller {
            StorageCaller::System => (
                format!(
                    "SELECT {COLUMNS} FROM storage WHERE collection = ?1 AND key = ?2 AND user_id = ?3"
                ),
                String::new(),
            ),
            StorageCaller::User(me) => (
                format!(
                    "SELECT {COLUMNS} FROM storage WHERE collection = ?1 AND key = ?2 AND user_id = ?3
                     AND (read = 2 OR (read = 1 AND user_id = ?4))"
                ),
                me.to_string(),
            ),
        };
        self.read(|c| {
            let mut stmt = c.prepare_cached(&sql).map_err(db_err)?;
            let mut out = Vec::with_capacity(ids.len());
            for id in &ids {
                let owner = id.user_id.to_string();
                let found = if caller.is_system() {
                    stmt.query_row(params![id.collection, id.key, owner], object_from_row)
                } else {
                    stmt.query_row(params![id.collection, id.key, owner, me], object_from_row)
                }
                .optional()
                .map_err(db_err)?;
                out.extend(found);
            }
            Ok(out)
        })
    }

    pub fn storage_scan_newest(
        &self,
        collection: String,
        key: String,
        limit: usize,
    ) -> ApiResult<Vec<StorageObject>> {
        let sql = format!(
            "SELECT {COLUMNS} FROM storage WHERE collection = ?1 AND (?2 = '' OR key = ?2)
             ORDER BY update_time DESC, key, user_id LIMIT ?3"
        );
        self.read(|c| {
            let mut stmt = c.prepare_cached(&sql).map_err(db_err)?;
            let rows = stmt
                .query_map(
                    params![collection, key, common::sql_limit(limit)],
                    object_from_row,
                )
                .map_err(db_err)?;
            rows.collect::<Result<_, _>>().map_err(db_err)
        })
    }

    pub fn storage_list(
        &self,
        collection: String,
        owner: Option<Uuid>,
        min_read: i32,
        after: Option<StorageCursor>,
        limit: usize,
    ) -> ApiResult<Vec<StorageObject>> {
        let mut sql = format!("SELECT {COLUMNS} FROM storage WHERE collection = ?1 AND read >= ?2");
        let mut args: Vec<Value> = vec![Value::Text(collection), Value::Integer(min_read.into())];
        if let Some(owner) = owner {
            args.push(Value::Text(owner.to_string()));
            sql.push_str(&format!(" AND user_id = ?{}", args.len()));
        }
        if let Some(after) = after {
            args.push(Value::Integer(after.read.into()));
            args.push(Value::Text(after.key));
            args.push(Value::Text(after.user_id.to_string()));
            let n = args.len();
            sql.push_str(&format!(
                " AND (read, key, user_id) > (?{}, ?{}, ?{n})",
                n - 2,
                n - 1
            ));
        }
        args.push(Value::Integer(common::sql_limit(limit)));
        sql.push_str(&format!(
            " ORDER BY read, key, user_id LIMIT ?{}",
            args.len()
        ));
        self.read(|c| {
            let mut stmt = c.prepare_cached(&sql).map_err(db_err)?;
            let rows = stmt
                .query_map(params_from_iter(args.iter()), object_from_row)
                .map_err(db_err)?;
            rows.collect::<Result<_, _>>().map_err(db_err)
        })
    }

    pub fn storage_delete(&self, caller: StorageCaller, ids: Vec<StorageId>) -> ApiResult<()> {
        self.write(|c| {
            let tx = c
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(db_err)?;
            storage_delete_in(&tx, caller, ids)?;
            tx.commit().map_err(db_err)
        })
    }
}

/// Applies a delete batch inside `tx` (see [`StorageStore::storage_delete`]),
/// in sorted order; the caller commits.
pub(super) fn storage_delete_in(
    tx: &rusqlite::Transaction<'_>,
    caller: StorageCaller,
    mut ids: Vec<StorageId>,
) -> ApiResult<()> {
    ids.sort();
    for id in &ids {
        let mut sql =
            String::from("DELETE FROM storage WHERE collection = ?1 AND key = ?2 AND user_id = ?3");
        let mut args: Vec<Value> = vec![
            Value::Text(id.collection.clone()),
            Value::Text(id.key.clone()),
            Value::Text(id.user_id.to_string()),
        ];
        if !caller.is_system() {
            sql.push_str(" AND write > 0");
        }
        if !id.version.is_empty() {
            args.push(Value::Text(id.version.clone()));
            sql.push_str(" AND version = ?4");
        }
        let deleted = exec(tx, &sql, params_from_iter(args.iter())).map_err(db_err)?;
        if deleted == 0 && !(caller.is_system() && id.version.is_empty()) {
            return Err(storage::delete_rejected());
        }
    }
    Ok(())
}
