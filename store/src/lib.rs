//! Kairos persistence.
//!
//! * [`Store`]: the interface, implemented by [`SqliteStore`] (embedded,
//!   the default) and [`PgStore`] (PostgreSQL or CockroachDB).
//! * [`Persist`]: the pool of threads that runs store calls away from the
//!   shards, and the hand-off shards use to reach it.
//! * [`migrations`]: versioned schema changes, applied at start or with
//!   `kairos migrate up`.

mod auth;
mod common;
pub mod migrations;
mod pool;
pub mod postgres;
pub mod sqlite;
mod store;

pub use pool::{Persist, PoolStats, Reply, StoreConfig};
pub use postgres::PgStore;
pub use sqlite::SqliteStore;
pub use store::{BoxFuture, MigrationStatus, Revocations, Store};
