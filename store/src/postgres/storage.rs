//! Storage objects on PostgreSQL / CockroachDB. A write batch locks each
//! existing row (`FOR UPDATE`) in a fixed order before checking it, so
//! concurrent versioned writes to one object serialize and a writer always
//! checks the latest committed version.

use kairos_core::error::ApiResult;
use kairos_core::storage::{
    self, StorageAck, StorageCaller, StorageCursor, StorageId, StorageObject, StorageWrite,
    WritePlan,
};
use kairos_core::time::now_secs;
use tokio_postgres::{Row, Statement, Transaction};
use uuid::Uuid;

use super::pool::PgConn;
use super::rows::get;
use super::{PgStore, db_err};
use crate::common;
use crate::{BoxFuture, StorageStore};

const LOCK: &str = "SELECT version, write::INTEGER, create_time FROM storage
     WHERE collection = $1 AND key = $2 AND user_id = $3 FOR UPDATE";

/// Inserts unless a concurrent writer inserted first (then no row).
const INSERT: &str = "INSERT INTO storage (collection, key, user_id, value, version, read, write, create_time, update_time)
     VALUES ($1, $2, $3, $4, $5, $6::INTEGER, $7::INTEGER, $8, $8)
     ON CONFLICT (collection, key, user_id) DO NOTHING";

const UPDATE: &str = "UPDATE storage SET value = $4, version = $5, read = $6::INTEGER, write = $7::INTEGER, update_time = $8
     WHERE collection = $1 AND key = $2 AND user_id = $3";

const READ_SYSTEM: &str = "SELECT collection, key, user_id, value, version, read::INTEGER, write::INTEGER, create_time, update_time
     FROM storage WHERE collection = $1 AND key = $2 AND user_id = $3";

const READ_USER: &str = "SELECT collection, key, user_id, value, version, read::INTEGER, write::INTEGER, create_time, update_time
     FROM storage WHERE collection = $1 AND key = $2 AND user_id = $3
     AND (read = 2 OR (read = 1 AND user_id = $4))";

const LIST_ALL: &str = "SELECT collection, key, user_id, value, version, read::INTEGER, write::INTEGER, create_time, update_time
     FROM storage WHERE collection = $1 AND read >= $2::INTEGER
     ORDER BY read, key, user_id LIMIT $3";

const LIST_ALL_AFTER: &str = "SELECT collection, key, user_id, value, version, read::INTEGER, write::INTEGER, create_time, update_time
     FROM storage WHERE collection = $1 AND read >= $2::INTEGER
     AND (read, key, user_id) > ($4::INTEGER, $5::TEXT, $6::UUID)
     ORDER BY read, key, user_id LIMIT $3";

const LIST_OWNER: &str = "SELECT collection, key, user_id, value, version, read::INTEGER, write::INTEGER, create_time, update_time
     FROM storage WHERE collection = $1 AND read >= $2::INTEGER AND user_id = $4
     ORDER BY read, key, user_id LIMIT $3";

const LIST_OWNER_AFTER: &str = "SELECT collection, key, user_id, value, version, read::INTEGER, write::INTEGER, create_time, update_time
     FROM storage WHERE collection = $1 AND read >= $2::INTEGER AND user_id = $4
     AND (read, key, user_id) > ($5::INTEGER, $6::TEXT, $7::UUID)
     ORDER BY read, key, user_id LIMIT $3";

const SCAN_NEWEST: &str = "SELECT collection, key, user_id, value, version, read::INTEGER, write::INTEGER, create_time, update_time
     FROM storage WHERE collection = $1 AND ($2::TEXT = '' OR key = $2::TEXT)
     ORDER BY update_time DESC, key, user_id LIMIT $3";

const DELETE_SYSTEM: &str =
    "DELETE FROM storage WHERE collection = $1 AND key = $2 AND user_id = $3";
const DELETE_SYSTEM_VERSION: &str =
    "DELETE FROM storage WHERE collection = $1 AND key = $2 AND user_id = $3 AND version = $4";
const DELETE_USER: &str =
    "DELETE FROM storage WHERE collection = $1 AND key = $2 AND user_id = $3 AND write > 0";
const DELETE_USER_VERSION: &str = "DELETE FROM storage WHERE collection = $1 AND key = $2 AND user_id = $3 AND write > 0 AND version = $4";

const OF_OWNER: &str = "SELECT collection, key, user_id, value, version, read::INTEGER, write::INTEGER, create_time, update_time
     FROM storage WHERE user_id = $1 ORDER BY collection, key";

/// Every object `user` owns, by collection and key (an account export).
pub(super) async fn objects_of(conn: &mut PgConn, user: Uuid) -> ApiResult<Vec<StorageObject>> {
    let stmt = conn.prepare(OF_OWNER).await?;
    let rows = conn.client.query(&stmt, &[&user]).await.map_err(db_err)?;
    rows.iter().map(object_from_row).collect()
}

fn object_from_row(r: &Row) -> ApiResult<StorageObject> {
    Ok(StorageObject {
        collection: get(r, 0)?,
        key: get(r, 1)?,
        user_id: get(r, 2)?,
        value: get(r, 3)?,
        version: get(r, 4)?,
        permission_read: get(r, 5)?,
        permission_write: get(r, 6)?,
        create_time: get(r, 7)?,
        update_time: get(r, 8)?,
    })
}

impl StorageStore for PgStore {
    fn storage_write(
        &self,
        caller: StorageCaller,
        writes: Vec<StorageWrite>,
    ) -> BoxFuture<'_, ApiResult<Vec<StorageAck>>> {
        Box::pin(async move {
            let mut conn = self.pool.get().await?;
            let stmts = WriteStatements::prepare(&mut conn).await?;
            let tx = conn.client.transaction().await.map_err(db_err)?;
            let acks = storage_write_in(&tx, &stmts, caller, &writes).await?;
            tx.commit().await.map_err(db_err)?;
            Ok(acks)
        })
    }

    fn storage_read(
        &self,
        caller: StorageCaller,
        ids: Vec<StorageId>,
    ) -> BoxFuture<'_, ApiResult<Vec<StorageObject>>> {
        Box::pin(async move {
            let mut conn = self.pool.get().await?;
            let mut out = Vec::with_capacity(ids.len());
            for id in &ids {
                let row = match caller {
                    StorageCaller::System => {
                        let stmt = conn.prepare(READ_SYSTEM).await?;
                        conn.client
                            .query_opt(&stmt, &[&id.collection, &id.key, &id.user_id])
                            .await
                    }
                    StorageCaller::User(me) => {
                        let stmt = conn.prepare(READ_USER).await?;
                        conn.client
                            .query_opt(&stmt, &[&id.collection, &id.key, &id.user_id, &me])
                            .await
                    }
                }
                .map_err(db_err)?;
                if let Some(r) = row {
                    out.push(object_from_row(&r)?);
                }
            }
            Ok(out)
        })
    }

    fn storage_list(
        &self,
        collection: String,
        owner: Option<Uuid>,
        min_read: i32,
        after: Option<StorageCursor>,
        limit: usize,
    ) -> BoxFuture<'_, ApiResult<Vec<StorageObject>>> {
        Box::pin(async move {
            let limit = common::sql_limit(limit);
            let mut conn = self.pool.get().await?;
            let rows = match (owner, after) {
                (None, None) => {
                    let stmt = conn.prepare(LIST_ALL).await?;
                    conn.client
                        .query(&stmt, &[&collection, &min_read, &limit])
                        .await
                }
                (None, Some(a)) => {
                    let stmt = conn.prepare(LIST_ALL_AFTER).await?;
                    conn.client
                        .query(
                            &stmt,
                            &[&collection, &min_read, &limit, &a.read, &a.key, &a.user_id],
                        )
                        .await
                }
                (Some(o), None) => {
                    let stmt = conn.prepare(LIST_OWNER).await?;
                    conn.client
                        .query(&stmt, &[&collection, &min_read, &limit, &o])
                        .await
                }
                (Some(o), Some(a)) => {
                    let stmt = conn.prepare(LIST_OWNER_AFTER).await?;
                    conn.client
                        .query(
                            &stmt,
                            &[
                                &collection,
                                &min_read,
                                &limit,
                                &o,
                                &a.read,
                                &a.key,
                                &a.user_id,
                            ],
                        )
                        .await
                }
            }
            .map_err(db_err)?;
            rows.iter().map(object_from_row).collect()
        })
    }

    fn storage_scan_newest(
        &self,
        collection: String,
        key: String,
        limit: usize,
    ) -> BoxFuture<'_, ApiResult<Vec<StorageObject>>> {
        Box::pin(async move {
            let limit = common::sql_limit(limit);
            let mut conn = self.pool.get().await?;
            let stmt = conn.prepare(SCAN_NEWEST).await?;
            let rows = conn
                .client
                .query(&stmt, &[&collection, &key, &limit])
                .await
                .map_err(db_err)?;
            rows.iter().map(object_from_row).collect()
        })
    }

    fn storage_delete(
        &self,
        caller: StorageCaller,
        ids: Vec<StorageId>,
    ) -> BoxFuture<'_, ApiResult<()>> {
        Box::pin(async move {
            let mut conn = self.pool.get().await?;
            let stmts = DeleteStatements::prepare(&mut conn, caller).await?;
            let tx = conn.client.transaction().await.map_err(db_err)?;
            storage_delete_in(&tx, &stmts, caller, ids).await?;
            tx.commit().await.map_err(db_err)
        })
    }
}

/// The statements a delete batch of `caller` uses, prepared before its
/// transaction: without and with a version to match.
pub(super) struct DeleteStatements {
    plain: Statement,
    versioned: Statement,
}

impl DeleteStatements {
    pub(super) async fn prepare(
        conn: &mut PgConn,
        caller: StorageCaller,
    ) -> ApiResult<DeleteStatements> {
        let (plain, versioned) = if caller.is_system() {
            (DELETE_SYSTEM, DELETE_SYSTEM_VERSION)
        } else {
            (DELETE_USER, DELETE_USER_VERSION)
        };
        Ok(DeleteStatements {
            plain: conn.prepare(plain).await?,
            versioned: conn.prepare(versioned).await?,
        })
    }
}

/// Applies a delete batch inside `tx` (see `StorageStore::storage_delete`),
/// in sorted order so concurrent batches lock rows alike; the caller
/// commits. `stmts` must be prepared for the same `caller`.
async fn storage_delete_in(
    tx: &Transaction<'_>,
    stmts: &DeleteStatements,
    caller: StorageCaller,
    mut ids: Vec<StorageId>,
) -> ApiResult<()> {
    ids.sort();
    for id in &ids {
        delete_one(tx, stmts, caller, id).await?;
    }
    Ok(())
}

/// Deletes one object inside `tx`: `delete_rejected` when it deletes
/// nothing, unless game code deletes without a version. Batches call it
/// in sorted order.
pub(super) async fn delete_one(
    tx: &Transaction<'_>,
    stmts: &DeleteStatements,
    caller: StorageCaller,
    id: &StorageId,
) -> ApiResult<()> {
    let deleted = if id.version.is_empty() {
        tx.execute(&stmts.plain, &[&id.collection, &id.key, &id.user_id])
            .await
    } else {
        tx.execute(
            &stmts.versioned,
            &[&id.collection, &id.key, &id.user_id, &id.version],
        )
        .await
    }
    .map_err(db_err)?;
    if deleted == 0 && !(caller.is_system() && id.version.is_empty()) {
        return Err(storage::delete_rejected());
    }
    Ok(())
}

/// The statements a storage batch uses, prepared before its transaction.
pub(super) struct WriteStatements {
    lock: Statement,
    insert: Statement,
    update: Statement,
}

impl WriteStatements {
    pub(super) async fn prepare(conn: &mut PgConn) -> ApiResult<WriteStatements> {
        Ok(WriteStatements {
            lock: conn.prepare(LOCK).await?,
            insert: conn.prepare(INSERT).await?,
            update: conn.prepare(UPDATE).await?,
        })
    }
}

/// Applies a storage batch inside `tx` (see `StorageStore::storage_write`);
/// the caller commits.
pub(super) async fn storage_write_in(
    tx: &Transaction<'_>,
    stmts: &WriteStatements,
    caller: StorageCaller,
    writes: &[StorageWrite],
) -> ApiResult<Vec<StorageAck>> {
    let now = now_secs();
    let mut acks = vec![None; writes.len()];
    for i in storage::write_order(writes) {
        acks[i] = Some(write_one(tx, stmts, caller, &writes[i], now).await?);
    }
    Ok(acks.into_iter().flatten().collect())
}

/// Applies one write inside `tx` at time `now` (unix seconds): locks the
/// stored row, decides with `storage::plan_write`, inserts or updates.
/// Batches call it in `storage::write_order`.
pub(super) async fn write_one(
    tx: &Transaction<'_>,
    stmts: &WriteStatements,
    caller: StorageCaller,
    w: &StorageWrite,
    now: i64,
) -> ApiResult<StorageAck> {
    let (lock, insert, update) = (&stmts.lock, &stmts.insert, &stmts.update);
    let version = storage::version_of(&w.value);
    let args: [&(dyn tokio_postgres::types::ToSql + Sync); 8] = [
        &w.collection,
        &w.key,
        &w.user_id,
        &w.value,
        &version,
        &w.permission_read,
        &w.permission_write,
        &now,
    ];
    // Twice at most: an insert that loses to a concurrent one
    // checks again against the row that writer committed.
    let mut create_time = None;
    for _ in 0..2 {
        let stored = tx
            .query_opt(lock, &[&w.collection, &w.key, &w.user_id])
            .await
            .map_err(db_err)?;
        let stored: Option<(String, i32, i64)> = match stored {
            Some(r) => Some((get(&r, 0)?, get(&r, 1)?, get(&r, 2)?)),
            None => None,
        };
        match storage::plan_write(
            w,
            stored.as_ref().map(|(v, wr, _)| (v.as_str(), *wr)),
            caller,
        )? {
            WritePlan::Insert => {
                if tx.execute(insert, &args).await.map_err(db_err)? == 1 {
                    create_time = Some(now);
                    break;
                }
            }
            WritePlan::Update => {
                tx.execute(update, &args).await.map_err(db_err)?;
                create_time = stored.map(|(_, _, t)| t);
                break;
            }
        }
    }
    // Lost two inserts in a row: only `*` or an object deleted
    // and recreated meanwhile gets here; report a version clash.
    let create_time = create_time.ok_or_else(storage::version_rejected)?;
    Ok(StorageAck {
        collection: w.collection.clone(),
        key: w.key.clone(),
        user_id: w.user_id,
        version,
        create_time,
        update_time: now,
    })
}
