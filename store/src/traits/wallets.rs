//! Wallets and their ledger (see `kairos_core::wallet`).

use kairos_core::error::ApiResult;
use kairos_core::wallet::{WalletLedgerItem, WalletUpdate, WalletUpdateResult};
use uuid::Uuid;

use super::BoxFuture;

/// Wallet changes, all in one transaction with each wallet's row locked,
/// so concurrent updates add up exactly.
pub trait WalletStore: Send + Sync + 'static {
    /// Applies `updates` in order (several may name one user); with
    /// `ledger`, records each in the user's ledger. Updates for users that
    /// do not exist are skipped. One that would leave an amount negative
    /// rejects them all and changes nothing. Results in the order applied.
    fn wallets_update(
        &self,
        updates: Vec<WalletUpdate>,
        ledger: bool,
    ) -> BoxFuture<'_, ApiResult<Vec<WalletUpdateResult>>>;

    /// Sets `metadata`'s fields over a ledger entry's metadata
    /// (`kairos_core::wallet::merge_metadata`); `None` if no entry has `id`.
    fn wallet_ledger_update(
        &self,
        id: Uuid,
        metadata: String,
    ) -> BoxFuture<'_, ApiResult<Option<WalletLedgerItem>>>;

    /// `user`'s ledger, newest first by `(create_time, id)`, strictly
    /// before `before`; at most `limit`.
    fn wallet_ledger_list(
        &self,
        user: Uuid,
        before: Option<(i64, Uuid)>,
        limit: usize,
    ) -> BoxFuture<'_, ApiResult<Vec<WalletLedgerItem>>>;
}
