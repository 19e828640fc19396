//! Kairos persistence.
//!
//! * [`traits`]: the interface, one trait per capability ([`AccountStore`],
//!   [`SessionStore`], [`FriendStore`], [`NotificationStore`],
//!   [`MessageStore`], [`StorageStore`], [`WalletStore`], [`MultiUpdateStore`],
//!   [`LeaderboardStore`], [`TournamentStore`], [`MigrationStore`]) and [`Store`], all of them;
//!   implemented by [`SqliteStore`] (embedded, the default) and [`PgStore`]
//!   (PostgreSQL or CockroachDB), each trait in the backend's file for that
//!   concern. [`prelude`] brings every trait into scope.
//! * [`Persist`]: the pool of threads that runs store calls away from the
//!   shards, and the hand-off shards use to reach it.
//! * [`migrations`]: versioned schema changes, applied at start or with
//!   `kairos migrate up`.

mod auth;
mod common;
mod group_sql;
pub mod migrations;
mod pool;
pub mod postgres;
pub mod sqlite;
pub mod traits;
mod wallet_plan;

pub use common::generate_username;
pub use pool::{Persist, PoolStats, Reply, StoreConfig};
pub use postgres::PgStore;
pub use sqlite::SqliteStore;
pub use traits::TournamentStore;
pub use traits::{
    AccountStore, BoxFuture, ExportRows, FriendStore, GroupStore, LeaderboardStore, MessageStore,
    MigrationStatus, MigrationStore, MultiUpdateStore, NotificationStore, Revocations,
    SessionStore, StorageStore, Store, WalletStore,
};

/// Every capability trait, for calling store methods on a concrete backend
/// (`SqliteStore`, `PgStore`): `use kairos_store::prelude::*`. Through
/// `dyn Store` they need no import.
pub mod prelude {
    pub use crate::traits::TournamentStore;
    pub use crate::traits::{
        AccountStore, FriendStore, GroupStore, LeaderboardStore, MessageStore, MigrationStore,
        MultiUpdateStore, NotificationStore, SessionStore, StorageStore, Store, WalletStore,
    };
}
