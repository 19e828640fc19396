//! Nakama's multi-update on SQLite: one IMMEDIATE transaction on the single
//! writer, so it runs whole with no other write in between and needs no
//! lock order; each part reuses its own feature's statements.

use kairos_core::error::ApiResult;
use kairos_core::multi::{self, MultiUpdate};
use kairos_core::storage::{StorageAck, StorageCaller};
use kairos_core::wallet::WalletUpdateResult;
use rusqlite::TransactionBehavior;

use super::SqliteStore;
use super::accounts::account_update_in;
use super::db::{Db, db_err};
use super::storage::{storage_delete_in, storage_write_in};
use super::wallets::wallets_update_in;
use crate::{BoxFuture, MultiUpdateStore};

impl MultiUpdateStore for SqliteStore {
    fn multi_update(
        &self,
        update: MultiUpdate,
    ) -> BoxFuture<'_, ApiResult<(Vec<StorageAck>, Vec<WalletUpdateResult>)>> {
        Box::pin(self.blocking(move |db| db.multi_update(update)))
    }
}

impl Db {
    /// Account updates, storage writes, storage deletes and wallet updates
    /// in that order, in one transaction: the first rejection rolls back
    /// everything (the transaction is dropped uncommitted).
    pub fn multi_update(
        &self,
        update: MultiUpdate,
    ) -> ApiResult<(Vec<StorageAck>, Vec<WalletUpdateResult>)> {
        if update.is_empty() {
            return Ok((Vec::new(), Vec::new()));
        }
        let MultiUpdate {
            accounts,
            writes,
            deletes,
            wallets,
            ledger,
        } = update;
        self.write(|c| {
            let tx = c
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(db_err)?;
            for a in &accounts {
                multi::check_account(&a.update)?;
                account_update_in(&tx, a.user_id, &multi::applied(&a.update))?;
            }
            let acks = storage_write_in(&tx, StorageCaller::System, &writes)?;
            storage_delete_in(&tx, StorageCaller::System, deletes)?;
            let results = wallets_update_in(&tx, &wallets, ledger)?;
            tx.commit().map_err(db_err)?;
            Ok((acks, results))
        })
    }
}
