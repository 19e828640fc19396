//! Nakama's multi-update on PostgreSQL / CockroachDB: one transaction that
//! first locks every user row it touches, in id order, then takes the
//! storage rows of its writes and deletes in one order (see `MultiUpdateStore::multi_update`
//! for the lock order and why), then runs each part with its own feature's
//! statements.

use kairos_core::error::{ApiResult, Code};
use kairos_core::multi::{self, MultiUpdate, StorageStep};
use kairos_core::storage::{StorageAck, StorageCaller, StorageId, StorageWrite};
use kairos_core::time::now_secs;
use kairos_core::wallet::WalletUpdateResult;
use tokio_postgres::Transaction;

use super::accounts::account_update_in;
use super::storage::{DeleteStatements, WriteStatements, delete_one, write_one};
use super::wallets::{WalletStatements, wallets_update_in};
use super::{PgStore, db_err};
use crate::{BoxFuture, MultiUpdateStore};

/// Locks the existing users among `$1`, in id order. `FOR UPDATE`, the
/// strongest lock the update needs later (a username change updates a
/// unique column), so no lock is upgraded midway.
const LOCK_USERS: &str = "SELECT id FROM users WHERE id = ANY($1) ORDER BY id FOR UPDATE";

impl MultiUpdateStore for PgStore {
    fn multi_update(
        &self,
        update: MultiUpdate,
    ) -> BoxFuture<'_, ApiResult<(Vec<StorageAck>, Vec<WalletUpdateResult>)>> {
        Box::pin(async move {
            if update.is_empty() {
                return Ok((Vec::new(), Vec::new()));
            }
            let users = update.users();
            let MultiUpdate {
                accounts,
                writes,
                deletes,
                wallets,
                ledger,
            } = update;
            let caller = StorageCaller::System;
            let mut conn = self.pool.get().await?;
            let lock = conn.prepare(LOCK_USERS).await?;
            let write_stmts = WriteStatements::prepare(&mut conn).await?;
            let delete_stmts = DeleteStatements::prepare(&mut conn, caller).await?;
            let wallet_stmts = WalletStatements::prepare(&mut conn).await?;
            // Dropped uncommitted on any error: everything rolls back.
            let tx = conn.client.transaction().await.map_err(db_err)?;
            if !users.is_empty() {
                tx.query(&lock, &[&users]).await.map_err(db_err)?;
            }
            for a in &accounts {
                multi::check_account(&a.update)?;
                account_update_in(&tx, a.user_id, &multi::applied(&a.update)).await?;
            }
            let acks =
                storage_in_order(&tx, &write_stmts, &delete_stmts, &writes, &deletes).await?;
            let results = wallets_update_in(&tx, &wallet_stmts, &wallets, ledger).await?;
            tx.commit().await.map_err(db_err)?;
            Ok((acks, results))
        })
    }
}

/// The writes and deletes inside `tx`, one object after another in
/// `kairos_core::multi::storage_steps` order, so row locks are taken in
/// one order. Errors as Nakama's writes-then-deletes would report them:
/// the first rejected write, else the first rejected delete (the writes
/// after a rejected delete still run, to find a rejected write; the
/// transaction is rolled back either way). Returns the acks in the order
/// of `writes`.
async fn storage_in_order(
    tx: &Transaction<'_>,
    write_stmts: &WriteStatements,
    delete_stmts: &DeleteStatements,
    writes: &[StorageWrite],
    deletes: &[StorageId],
) -> ApiResult<Vec<StorageAck>> {
    let caller = StorageCaller::System;
    let now = now_secs();
    let mut acks = vec![None; writes.len()];
    let mut rejected_delete = None;
    for step in multi::storage_steps(writes, deletes) {
        match step {
            StorageStep::Write(i) => {
                acks[i] = Some(write_one(tx, write_stmts, caller, &writes[i], now).await?);
            }
            StorageStep::Delete(i) if rejected_delete.is_none() => {
                match delete_one(tx, delete_stmts, caller, &deletes[i]).await {
                    Ok(()) => {}
                    Err(e) if e.code == Code::Internal => return Err(e),
                    Err(e) => rejected_delete = Some(e),
                }
            }
            StorageStep::Delete(_) => {}
        }
    }
    match rejected_delete {
        Some(e) => Err(e),
        None => Ok(acks.into_iter().flatten().collect()),
    }
}
