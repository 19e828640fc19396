//! Wallets: a user's map of currency name to amount, stored as JSON on the
//! account, changed only by game code; each change may be recorded in the
//! user's ledger. A change that would leave an amount negative (or
//! overflow) rejects the whole batch.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::error::{ApiError, ApiResult};

/// A wallet, or a changeset: amounts by name.
pub type Wallet = BTreeMap<String, i64>;

/// One user's change.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WalletUpdate {
    pub user_id: Uuid,
    /// Added to the wallet, name by name (negative to spend).
    pub changeset: Wallet,
    /// A JSON object recorded with the ledger entry.
    pub metadata: String,
}

/// A wallet before and after one update.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WalletUpdateResult {
    pub user_id: Uuid,
    pub previous: Wallet,
    pub updated: Wallet,
}

/// One ledger entry. Times are unix microseconds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WalletLedgerItem {
    pub id: Uuid,
    pub user_id: Uuid,
    pub changeset: Wallet,
    pub metadata: String,
    pub create_time: i64,
    pub update_time: i64,
}

/// Most ledger entries a listing returns.
pub const MAX_LEDGER_LIST: usize = 100;

/// Where a ledger listing resumes: strictly before this entry.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LedgerCursor {
    pub t: i64,
    pub id: Uuid,
}

impl LedgerCursor {
    pub fn after(last: &WalletLedgerItem) -> LedgerCursor {
        LedgerCursor {
            t: last.create_time,
            id: last.id,
        }
    }

    pub fn before(&self) -> (i64, Uuid) {
        (self.t, self.id)
    }

    pub fn encode(&self) -> String {
        crate::cursor::encode(self)
    }

    /// InvalidArgument "Invalid cursor." for anything not ours.
    pub fn parse(text: &str) -> ApiResult<LedgerCursor> {
        crate::cursor::decode(text).ok_or_else(|| ApiError::invalid("Invalid cursor."))
    }
}

/// A stored wallet's JSON; anything unreadable is an internal error.
pub fn parse(json: &str) -> ApiResult<Wallet> {
    if json.trim().is_empty() {
        return Ok(Wallet::new());
    }
    serde_json::from_str(json).map_err(|_| ApiError::internal("stored wallet is not a wallet"))
}

/// A wallet's JSON, as stored and as `Account.wallet` carries it.
pub fn to_json(wallet: &Wallet) -> String {
    serde_json::to_string(wallet).unwrap_or_else(|_| "{}".to_string())
}

/// `wallet` with `changeset` added, or Nakama's rejection for the first
/// name that would go negative ("wallet update rejected negative value at
/// path '<name>'", InvalidArgument); an overflow is rejected too.
pub fn apply(wallet: &Wallet, changeset: &Wallet) -> ApiResult<Wallet> {
    let mut next = wallet.clone();
    for (name, change) in changeset {
        let current = wallet.get(name).copied().unwrap_or(0);
        let value = current.checked_add(*change).ok_or_else(|| {
            ApiError::invalid(format!("wallet update rejected overflow at path '{name}'"))
        })?;
        if value < 0 {
            return Err(ApiError::invalid(format!(
                "wallet update rejected negative value at path '{name}'"
            )));
        }
        next.insert(name.clone(), value);
    }
    Ok(next)
}

/// A ledger entry's metadata with `update`'s top-level fields set over
/// `stored`'s (a shallow merge, as Nakama's JSONB `||`). Both are JSON
/// objects; anything else in `stored` is replaced.
pub fn merge_metadata(stored: &str, update: &str) -> String {
    use serde_json::{Map, Value};
    let mut base: Map<String, Value> = serde_json::from_str(stored).unwrap_or_default();
    let over: Map<String, Value> = serde_json::from_str(update).unwrap_or_default();
    base.extend(over);
    Value::Object(base).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn applies_and_rejects() {
        let w: Wallet = [("gold".to_string(), 10)].into();
        let spend: Wallet = [("gold".to_string(), -4), ("gems".to_string(), 2)].into();
        let next = apply(&w, &spend).unwrap();
        assert_eq!(to_json(&next), r#"{"gems":2,"gold":6}"#);
        let too_much: Wallet = [("gold".to_string(), -11)].into();
        assert_eq!(
            apply(&w, &too_much).unwrap_err().message,
            "wallet update rejected negative value at path 'gold'"
        );
        let overflow: Wallet = [("gold".to_string(), i64::MAX)].into();
        assert!(apply(&w, &overflow).is_err());
        assert_eq!(parse("{}").unwrap(), Wallet::new());
        assert_eq!(parse(r#"{"a":1}"#).unwrap()["a"], 1);
        assert_eq!(
            merge_metadata(r#"{"a":1,"b":{"x":1}}"#, r#"{"b":2,"c":3}"#),
            r#"{"a":1,"b":2,"c":3}"#
        );
    }
}
