//! Nakama's multi-update on PostgreSQL / CockroachDB: one transaction that
//! first locks every user row it touches, in id order (see
//! `MultiUpdateStore::multi_update` for the lock order and why), then runs
//! each part with its own feature's statements.

use kairos_core::error::ApiResult;
use kairos_core::multi::{self, MultiUpdate};
use kairos_core::storage::{StorageAck, StorageCaller};
use kairos_core::wallet::WalletUpdateResult;

use super::accounts::account_update_in;
use super::storage::{DeleteStatements, WriteStatements, storage_delete_in, storage_write_in};
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
            let acks = storage_write_in(&tx, &write_stmts, caller, &writes).await?;
            storage_delete_in(&tx, &delete_stmts, caller, deletes).await?;
            let results = wallets_update_in(&tx, &wallet_stmts, &wallets, ledger).await?;
            tx.commit().await.map_err(db_err)?;
            Ok((acks, results))
        })
    }
}
