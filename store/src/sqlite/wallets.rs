//! Wallets and the wallet ledger on SQLite: one IMMEDIATE transaction on
//! the single writer per batch.

use std::collections::HashMap;

use kairos_core::error::ApiResult;
use kairos_core::time::now_micros;
use kairos_core::wallet::{self, WalletLedgerItem, WalletUpdate, WalletUpdateResult};
use rusqlite::{OptionalExtension, TransactionBehavior, params};
use uuid::Uuid;

use super::SqliteStore;
use super::db::{Db, db_err, exec};
use super::rows::uuid_at;
use crate::{BoxFuture, WalletStore};
use crate::{common, wallet_plan};

impl WalletStore for SqliteStore {
    fn wallets_update(
        &self,
        updates: Vec<WalletUpdate>,
        ledger: bool,
    ) -> BoxFuture<'_, ApiResult<Vec<WalletUpdateResult>>> {
        Box::pin(self.blocking(move |db| db.wallets_update(&updates, ledger)))
    }

    fn wallet_ledger_update(
        &self,
        id: Uuid,
        metadata: String,
    ) -> BoxFuture<'_, ApiResult<Option<WalletLedgerItem>>> {
        Box::pin(self.blocking(move |db| db.wallet_ledger_update(id, &metadata)))
    }

    fn wallet_ledger_list(
        &self,
        user: Uuid,
        before: Option<(i64, Uuid)>,
        limit: usize,
    ) -> BoxFuture<'_, ApiResult<Vec<WalletLedgerItem>>> {
        Box::pin(self.blocking(move |db| db.wallet_ledger_list(user, before, limit)))
    }
}

impl Db {
    pub fn wallets_update(
        &self,
        updates: &[WalletUpdate],
        ledger: bool,
    ) -> ApiResult<Vec<WalletUpdateResult>> {
        if updates.is_empty() {
            return Ok(Vec::new());
        }
        self.write(|c| {
            let tx = c
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(db_err)?;
            let results = wallets_update_in(&tx, updates, ledger)?;
            tx.commit().map_err(db_err)?;
            Ok(results)
        })
    }
}

/// Applies wallet updates inside `tx`; the caller commits.
pub(super) fn wallets_update_in(
    tx: &rusqlite::Transaction<'_>,
    updates: &[WalletUpdate],
    ledger: bool,
) -> ApiResult<Vec<WalletUpdateResult>> {
    let now = now_micros();
    let mut loaded = HashMap::new();
    for user in wallet_plan::wallet_users(updates) {
        let stored: Option<String> = tx
            .prepare_cached("SELECT wallet FROM users WHERE id = ?1")
            .map_err(db_err)?
            .query_row([user.to_string()], |r| r.get(0))
            .optional()
            .map_err(db_err)?;
        if let Some(json) = stored {
            loaded.insert(user, wallet::parse(&json)?);
        }
    }
    let plan = wallet_plan::plan_wallets(loaded, updates, ledger)?;
    for (user, json) in &plan.wallets {
        exec(
            tx,
            "UPDATE users SET wallet = ?2, update_time = ?3 WHERE id = ?1",
            params![user.to_string(), json, now / 1_000_000],
        )
        .map_err(db_err)?;
    }
    for (id, user, changeset, metadata) in &plan.ledger {
        exec(
            tx,
            "INSERT INTO wallet_ledger (id, user_id, changeset, metadata, create_time, update_time)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?5)",
            params![id.to_string(), user.to_string(), changeset, metadata, now],
        )
        .map_err(db_err)?;
    }
    Ok(plan.results)
}

impl Db {
    pub fn wallet_ledger_update(
        &self,
        id: Uuid,
        metadata: &str,
    ) -> ApiResult<Option<WalletLedgerItem>> {
        let now = now_micros();
        self.write(|c| {
            let tx = c
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(db_err)?;
            let found = tx
                .prepare_cached(
                    "SELECT user_id, changeset, metadata, create_time FROM wallet_ledger WHERE id = ?1",
                )
                .map_err(db_err)?
                .query_row([id.to_string()], |r| {
                    Ok((
                        uuid_at(r, 0)?,
                        r.get::<_, String>(1)?,
                        r.get::<_, String>(2)?,
                        r.get::<_, i64>(3)?,
                    ))
                })
                .optional()
                .map_err(db_err)?;
            let Some((user_id, changeset, stored, create_time)) = found else {
                return Ok(None);
            };
            let merged = wallet::merge_metadata(&stored, metadata);
            exec(
                &tx,
                "UPDATE wallet_ledger SET metadata = ?2, update_time = ?3 WHERE id = ?1",
                params![id.to_string(), merged, now],
            )
            .map_err(db_err)?;
            tx.commit().map_err(db_err)?;
            Ok(Some(WalletLedgerItem {
                id,
                user_id,
                changeset: wallet::parse(&changeset)?,
                metadata: merged,
                create_time,
                update_time: now,
            }))
        })
    }

    pub fn wallet_ledger_list(
        &self,
        user: Uuid,
        before: Option<(i64, Uuid)>,
        limit: usize,
    ) -> ApiResult<Vec<WalletLedgerItem>> {
        let (time, id) = before.unwrap_or((i64::MAX, Uuid::max()));
        self.read(|c| {
            let mut stmt = c
                .prepare_cached(
                    "SELECT id, user_id, changeset, metadata, create_time, update_time FROM wallet_ledger
                     WHERE user_id = ?1 AND (create_time, id) < (?2, ?3)
                     ORDER BY create_time DESC, id DESC LIMIT ?4",
                )
                .map_err(db_err)?;
            let rows = stmt
                .query_map(
                    params![user.to_string(), time, id.to_string(), common::sql_limit(limit)],
                    |r| {
                        Ok((
                            uuid_at(r, 0)?,
                            uuid_at(r, 1)?,
                            r.get::<_, String>(2)?,
                            r.get::<_, String>(3)?,
                            r.get::<_, i64>(4)?,
                            r.get::<_, i64>(5)?,
                        ))
                    },
                )
                .map_err(db_err)?
                .collect::<Result<Vec<_>, _>>()
                .map_err(db_err)?;
            rows.into_iter()
                .map(|(id, user_id, changeset, metadata, create_time, update_time)| {
                    Ok(WalletLedgerItem {
                        id,
                        user_id,
                        changeset: wallet::parse(&changeset)?,
                        metadata,
                        create_time,
                        update_time,
                    })
                })
                .collect()
        })
    }
}
