//! Wallet batches, as both backends apply them: the users to lock, and
//! what the batch writes once their wallets are loaded.

use kairos_core::error::ApiResult;
use uuid::Uuid;

/// What a batch of wallet updates writes: each result in order, the final
/// wallet JSON of each changed user (sorted by id), and the ledger rows
/// `(id, user, changeset JSON, metadata)`.
pub struct WalletPlan {
    pub results: Vec<kairos_core::wallet::WalletUpdateResult>,
    pub wallets: Vec<(Uuid, String)>,
    pub ledger: Vec<(Uuid, Uuid, String, String)>,
}

/// The distinct users of a batch of wallet updates, sorted: the order
/// their rows are locked in.
pub fn wallet_users(updates: &[kairos_core::wallet::WalletUpdate]) -> Vec<Uuid> {
    let mut users: Vec<Uuid> = updates.iter().map(|u| u.user_id).collect();
    users.sort_unstable();
    users.dedup();
    users
}

/// Applies `updates` in order to the `loaded` wallets (users missing from
/// it do not exist and are skipped), or the first rejection.
pub fn plan_wallets(
    mut loaded: std::collections::HashMap<Uuid, kairos_core::wallet::Wallet>,
    updates: &[kairos_core::wallet::WalletUpdate],
    ledger: bool,
) -> ApiResult<WalletPlan> {
    use kairos_core::wallet;
    let mut results = Vec::with_capacity(updates.len());
    let mut rows = Vec::new();
    for u in updates {
        let Some(current) = loaded.get_mut(&u.user_id) else {
            continue;
        };
        let updated = wallet::apply(current, &u.changeset)?;
        let previous = std::mem::replace(current, updated.clone());
        results.push(wallet::WalletUpdateResult {
            user_id: u.user_id,
            previous,
            updated,
        });
        if ledger {
            rows.push((
                Uuid::now_v7(),
                u.user_id,
                wallet::to_json(&u.changeset),
                crate::common::json_or_empty(u.metadata.clone()),
            ));
        }
    }
    let mut wallets: Vec<(Uuid, String)> = results
        .iter()
        .map(|r| r.user_id)
        .collect::<std::collections::HashSet<_>>()
        .into_iter()
        .map(|id| (id, wallet::to_json(&loaded[&id])))
        .collect();
    wallets.sort_unstable_by_key(|(id, _)| *id);
    Ok(WalletPlan {
        results,
        wallets,
        ledger: rows,
    })
}
