//! The persistence interface every backend implements: one trait per
//! capability, each in a file of its own, and [`Store`], which is all of
//! them. A backend implements each trait in its file for that concern
//! (`sqlite/accounts.rs` holds `impl AccountStore for SqliteStore`, next to
//! its SQL); `Store` then comes for free.
//!
//! Methods return boxed `Send` futures so that backends can be used as
//! `Arc<dyn Store>`. They run only on the persistence pool's threads, never on
//! a shard: shards reach them through [`crate::Persist`]. Through `dyn Store`
//! every capability's methods can be called as they are (a trait object's
//! supertrait methods need no import); on a concrete backend, bring the
//! traits into scope with `use kairos_store::prelude::*`.

mod accounts;
mod friends;
mod groups;
mod leaderboards;
mod messages;
mod migrations;
mod multi;
mod notifications;
mod sessions;
mod storage;
mod tournaments;
mod wallets;

use std::future::Future;
use std::pin::Pin;

pub use accounts::{AccountStore, ExportRows};
pub use friends::FriendStore;
pub use groups::GroupStore;
pub use leaderboards::LeaderboardStore;
pub use messages::MessageStore;
pub use migrations::{MigrationStatus, MigrationStore};
pub use multi::MultiUpdateStore;
pub use notifications::NotificationStore;
pub use sessions::{Revocations, SessionStore};
pub use storage::StorageStore;
pub use tournaments::TournamentStore;
pub use wallets::WalletStore;

/// A boxed `Send` future, so that [`Store`] can be used as `dyn Store`.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// The whole persistence interface: every capability. Implemented for
/// every type that implements them all; adding a capability is its trait
/// file, one file per backend, and one bound here and on the impl below.
pub trait Store:
    MigrationStore
    + AccountStore
    + SessionStore
    + FriendStore
    + NotificationStore
    + MessageStore
    + StorageStore
    + WalletStore
    + MultiUpdateStore
    + GroupStore
    + LeaderboardStore
    + TournamentStore
{
}

impl<T> Store for T where
    T: MigrationStore
        + AccountStore
        + SessionStore
        + FriendStore
        + NotificationStore
        + MessageStore
        + StorageStore
        + WalletStore
        + MultiUpdateStore
        + GroupStore
        + LeaderboardStore
        + TournamentStore
{
}
