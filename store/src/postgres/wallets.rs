//! Wallets and the wallet ledger on PostgreSQL / CockroachDB: each batch
//! locks its users' rows (`FOR UPDATE`, in id order) before reading them.

use std::collections::HashMap;

use kairos_core::error::ApiResult;
use kairos_core::time::now_micros;
use kairos_core::wallet::{self, WalletLedgerItem, WalletUpdate, WalletUpdateResult};
use tokio_postgres::{Statement, Transaction};
use uuid::Uuid;

use super::pool::PgConn;
use super::rows::get;
use super::{PgStore, db_err};
use crate::{BoxFuture, WalletStore};
use crate::{common, wallet_plan};

const LOCK: &str = "SELECT wallet FROM users WHERE id = $1 FOR UPDATE";
const SET: &str = "UPDATE users SET wallet = $2, update_time = $3 WHERE id = $1";
const LEDGER: &str =
    "INSERT INTO wallet_ledger (id, user_id, changeset, metadata, create_time, update_time)
     VALUES ($1, $2, $3, $4, $5, $5)";
const LEDGER_LOCK: &str =
    "SELECT user_id, changeset, metadata, create_time FROM wallet_ledger WHERE id = $1 FOR UPDATE";
const LEDGER_SET: &str = "UPDATE wallet_ledger SET metadata = $2, update_time = $3 WHERE id = $1";
const LIST: &str =
    "SELECT id, user_id, changeset, metadata, create_time, update_time FROM wallet_ledger
     WHERE user_id = $1 AND (create_time, id) < ($2, $3)
     ORDER BY create_time DESC, id DESC LIMIT $4";

impl WalletStore for PgStore {
    fn wallets_update(
        &self,
        updates: Vec<WalletUpdate>,
        ledger: bool,
    ) -> BoxFuture<'_, ApiResult<Vec<WalletUpdateResult>>> {
        Box::pin(async move {
            if updates.is_empty() {
                return Ok(Vec::new());
            }
            let mut conn = self.pool.get().await?;
            let stmts = WalletStatements::prepare(&mut conn).await?;
            let tx = conn.client.transaction().await.map_err(db_err)?;
            let results = wallets_update_in(&tx, &stmts, &updates, ledger).await?;
            tx.commit().await.map_err(db_err)?;
            Ok(results)
        })
    }

    fn wallet_ledger_update(
        &self,
        id: Uuid,
        metadata: String,
    ) -> BoxFuture<'_, ApiResult<Option<WalletLedgerItem>>> {
        Box::pin(async move {
            let now = now_micros();
            let mut conn = self.pool.get().await?;
            let lock = conn.prepare(LEDGER_LOCK).await?;
            let set = conn.prepare(LEDGER_SET).await?;
            let tx = conn.client.transaction().await.map_err(db_err)?;
            let Some(row) = tx.query_opt(&lock, &[&id]).await.map_err(db_err)? else {
                return Ok(None);
            };
            let merged = wallet::merge_metadata(&get::<String>(&row, 2)?, &metadata);
            tx.execute(&set, &[&id, &merged, &now])
                .await
                .map_err(db_err)?;
            tx.commit().await.map_err(db_err)?;
            Ok(Some(WalletLedgerItem {
                id,
                user_id: get(&row, 0)?,
                changeset: wallet::parse(&get::<String>(&row, 1)?)?,
                metadata: merged,
                create_time: get(&row, 3)?,
                update_time: now,
            }))
        })
    }

    fn wallet_ledger_list(
        &self,
        user: Uuid,
        before: Option<(i64, Uuid)>,
        limit: usize,
    ) -> BoxFuture<'_, ApiResult<Vec<WalletLedgerItem>>> {
        Box::pin(async move {
            let (time, id) = before.unwrap_or((i64::MAX, Uuid::max()));
            let limit = common::sql_limit(limit);
            let mut conn = self.pool.get().await?;
            let stmt = conn.prepare(LIST).await?;
            let rows = conn
                .client
                .query(&stmt, &[&user, &time, &id, &limit])
                .await
                .map_err(db_err)?;
            rows.iter()
                .map(|r| {
                    Ok(WalletLedgerItem {
                        id: get(r, 0)?,
                        user_id: get(r, 1)?,
                        changeset: wallet::parse(&get::<String>(r, 2)?)?,
                        metadata: get(r, 3)?,
                        create_time: get(r, 4)?,
                        update_time: get(r, 5)?,
                    })
                })
                .collect()
        })
    }
}

/// The statements a wallet batch uses, prepared before its transaction.
pub(super) struct WalletStatements {
    lock: Statement,
    set: Statement,
    insert: Statement,
}

impl WalletStatements {
    pub(super) async fn prepare(conn: &mut PgConn) -> ApiResult<WalletStatements> {
        Ok(WalletStatements {
            lock: conn.prepare(LOCK).await?,
            set: conn.prepare(SET).await?,
            insert: conn.prepare(LEDGER).await?,
        })
    }
}

/// Applies wallet updates inside `tx`; the caller commits.
pub(super) async fn wallets_update_in(
    tx: &Transaction<'_>,
    stmts: &WalletStatements,
    updates: &[WalletUpdate],
    ledger: bool,
) -> ApiResult<Vec<WalletUpdateResult>> {
    if updates.is_empty() {
        return Ok(Vec::new());
    }
    let now = now_micros();
    let (lock, set, insert) = (&stmts.lock, &stmts.set, &stmts.insert);
    let mut loaded = HashMap::new();
    for user in wallet_plan::wallet_users(updates) {
        if let Some(row) = tx.query_opt(lock, &[&user]).await.map_err(db_err)? {
            loaded.insert(user, wallet::parse(&get::<String>(&row, 0)?)?);
        }
    }
    let plan = wallet_plan::plan_wallets(loaded, updates, ledger)?;
    for (user, json) in &plan.wallets {
        tx.execute(set, &[user, json, &(now / 1_000_000)])
            .await
            .map_err(db_err)?;
    }
    for (id, user, changeset, metadata) in &plan.ledger {
        tx.execute(insert, &[id, user, changeset, metadata, &now])
            .await
            .map_err(db_err)?;
    }
    Ok(plan.results)
}
