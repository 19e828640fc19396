//! Nakama's multi-update: account updates, storage writes, storage deletes
//! and wallet updates that game code applies in one transaction, all or
//! nothing. Nakama applies them in that order, and so does every backend;
//! the checks here are the ones Nakama makes on each part, with its
//! messages.

use uuid::Uuid;

use crate::account::AccountUpdate;
use crate::error::{ApiError, ApiResult};
use crate::storage::{self, StorageId, StorageWrite};
use crate::wallet::WalletUpdate;

/// Most items one multi-update may carry, counting its account updates,
/// storage writes, storage deletes and wallet updates together. Nakama sets
/// no bound; one transaction holding a row lock per item must have one, and
/// a thousand is far beyond what a game's single call needs.
pub const MAX_ITEMS: usize = 1000;

/// One user's account change in a multi-update.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AccountChange {
    pub user_id: Uuid,
    /// `None` leaves a field as it is; `""` clears it (except `username`,
    /// which `""` leaves as it is, and `lang_tag`, which can't be cleared).
    pub update: AccountUpdate,
}

/// Everything one multi-update does.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MultiUpdate {
    pub accounts: Vec<AccountChange>,
    /// Written with game code's rights (see [`crate::storage`]).
    pub writes: Vec<StorageWrite>,
    /// Deleted with game code's rights: a version must match; without one,
    /// a missing object is not an error.
    pub deletes: Vec<StorageId>,
    pub wallets: Vec<WalletUpdate>,
    /// Record each wallet update in its user's ledger.
    pub ledger: bool,
}

impl MultiUpdate {
    /// How many items it carries (see [`MAX_ITEMS`]).
    pub fn len(&self) -> usize {
        self.accounts.len() + self.writes.len() + self.deletes.len() + self.wallets.len()
    }

    /// Nothing to do: Nakama returns at once, touching nothing.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The users whose rows the update touches (account and wallet
    /// updates, and the owners of written and deleted objects; not the
    /// nil system owner), sorted and without repeats: the order a backend
    /// with row locks locks them in, before anything else.
    pub fn users(&self) -> Vec<Uuid> {
        let mut users: Vec<Uuid> = self
            .accounts
            .iter()
            .map(|a| a.user_id)
            .chain(self.writes.iter().map(|w| w.user_id))
            .chain(self.deletes.iter().map(|d| d.user_id))
            .chain(self.wallets.iter().map(|w| w.user_id))
            .filter(|id| !id.is_nil())
            .collect();
        users.sort_unstable();
        users.dedup();
        users
    }

    /// The checks made before the transaction, in Nakama's order: the item
    /// bound, each account's metadata, each write (as a storage write),
    /// each delete's collection and key, each wallet update's metadata.
    /// Usernames and "no fields" are checked in the transaction, as Nakama
    /// does, by [`check_account`].
    pub fn check(&self) -> ApiResult<()> {
        if self.len() > MAX_ITEMS {
            return Err(ApiError::invalid(format!(
                "Too many items in one multi update - at most {MAX_ITEMS} may be given."
            )));
        }
        for a in &self.accounts {
            if let Some(m) = &a.update.metadata
                && !crate::channel::is_json_object(m)
            {
                return Err(ApiError::invalid("Metadata must be a JSON object."));
            }
        }
        for w in &self.writes {
            storage::check_write(w)?;
        }
        for d in &self.deletes {
            storage::check_names(&d.collection, &d.key)?;
        }
        for u in &self.wallets {
            if !u.metadata.is_empty() && !crate::channel::is_json_object(&u.metadata) {
                return Err(ApiError::invalid("Metadata must be a JSON object."));
            }
        }
        Ok(())
    }
}

/// One storage step of a multi-update: its `i`th write or delete.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StorageStep {
    Write(usize),
    Delete(usize),
}

/// The writes and deletes of a multi-update as one sequence sorted by
/// object (`(collection, key, owner)`, the order every storage batch
/// locks rows in), a write before a delete of the same object and each
/// kind in its given order among equals. Applying them so takes each row
/// lock in one order, where writes first and deletes after would take
/// them crosswise against a crossed update or a storage batch. The
/// outcome is Nakama's (all writes, then all deletes): a write and a
/// delete of different objects do not see each other, and of one object
/// the write still goes first.
pub fn storage_steps(writes: &[StorageWrite], deletes: &[StorageId]) -> Vec<StorageStep> {
    let mut steps: Vec<(&str, &str, Uuid, StorageStep)> = writes
        .iter()
        .enumerate()
        .map(|(i, w)| {
            (
                w.collection.as_str(),
                w.key.as_str(),
                w.user_id,
                StorageStep::Write(i),
            )
        })
        .chain(deletes.iter().enumerate().map(|(i, d)| {
            (
                d.collection.as_str(),
                d.key.as_str(),
                d.user_id,
                StorageStep::Delete(i),
            )
        }))
        .collect();
    let rank = |s: &StorageStep| match *s {
        StorageStep::Write(i) => (0, i),
        StorageStep::Delete(i) => (1, i),
    };
    steps.sort_by(|a, b| (a.0, a.1, a.2, rank(&a.3)).cmp(&(b.0, b.1, b.2, rank(&b.3))));
    steps.into_iter().map(|s| s.3).collect()
}

/// The checks Nakama makes on one account update inside the transaction,
/// just before applying it: a username without control characters (and at
/// most 128 bytes), the profile fields within their columns, and some
/// field to set ("No fields to update."). `username: Some("")` counts as
/// unset, as in Nakama.
pub fn check_account(update: &AccountUpdate) -> ApiResult<()> {
    use crate::validate;
    if let Some(name) = update.username.as_deref().filter(|n| !n.is_empty()) {
        validate::username(name)?;
    }
    for (label, value, max) in [
        ("Display name", &update.display_name, 255),
        ("Avatar URL", &update.avatar_url, 512),
        ("Language tag", &update.lang_tag, 18),
        ("Location", &update.location, 255),
        ("Timezone", &update.timezone, 255),
    ] {
        if let Some(v) = value {
            validate::profile_field(label, v, max)?;
        }
    }
    if applied(update).is_empty() {
        return Err(ApiError::invalid("No fields to update."));
    }
    Ok(())
}

/// `update` as a store applies it: an empty username is no change.
pub fn applied(update: &AccountUpdate) -> AccountUpdate {
    AccountUpdate {
        username: update.username.clone().filter(|n| !n.is_empty()),
        ..update.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn change(user_id: Uuid) -> AccountChange {
        AccountChange {
            user_id,
            update: AccountUpdate {
                display_name: Some("x".into()),
                ..Default::default()
            },
        }
    }

    #[test]
    fn users_are_sorted_distinct_and_not_nil() {
        let (a, b) = (Uuid::from_u128(2), Uuid::from_u128(1));
        let m = MultiUpdate {
            accounts: vec![change(a), change(b), change(a)],
            deletes: vec![StorageId {
                collection: "c".into(),
                key: "k".into(),
                user_id: Uuid::nil(),
                version: String::new(),
            }],
            ..Default::default()
        };
        assert_eq!(m.users(), [b, a]);
    }

    #[test]
    fn bounds_the_items() {
        let mut m = MultiUpdate {
            accounts: vec![change(Uuid::from_u128(1)); MAX_ITEMS],
            ..Default::default()
        };
        assert!(m.check().is_ok());
        m.wallets.push(WalletUpdate {
            user_id: Uuid::from_u128(1),
            changeset: Default::default(),
            metadata: String::new(),
        });
        assert_eq!(
            m.check().unwrap_err().message,
            "Too many items in one multi update - at most 1000 may be given."
        );
    }

    #[test]
    fn storage_steps_go_by_object_writes_first() {
        let owner = Uuid::nil();
        let write = |key: &str| StorageWrite {
            collection: "c".into(),
            key: key.into(),
            user_id: owner,
            value: "{}".into(),
            version: String::new(),
            permission_read: 1,
            permission_write: 1,
        };
        let delete = |key: &str| StorageId {
            collection: "c".into(),
            key: key.into(),
            user_id: owner,
            version: String::new(),
        };
        let steps = storage_steps(
            &[write("y"), write("x"), write("y")],
            &[delete("x"), delete("a")],
        );
        use StorageStep::{Delete, Write};
        assert_eq!(steps, [Delete(1), Write(1), Delete(0), Write(0), Write(2)]);
    }

    #[test]
    fn account_checks() {
        assert_eq!(
            check_account(&AccountUpdate::default())
                .unwrap_err()
                .message,
            "No fields to update."
        );
        let empty_name = AccountUpdate {
            username: Some(String::new()),
            ..Default::default()
        };
        assert!(check_account(&empty_name).is_err());
        let metadata_only = AccountUpdate {
            metadata: Some("{}".into()),
            ..Default::default()
        };
        assert!(check_account(&metadata_only).is_ok());
        let bad_name = AccountUpdate {
            username: Some("a\tb".into()),
            ..Default::default()
        };
        assert_eq!(
            check_account(&bad_name).unwrap_err().message,
            "Username invalid, no spaces or control characters allowed."
        );
        assert_eq!(applied(&empty_name).username, None);
    }
}
