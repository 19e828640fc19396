//! The embedded backend: SQLite in WAL mode, one writer connection and a few
//! readers. SQLite calls block, so every one runs through
//! `tokio::task::spawn_blocking` on the persistence pool; password hashing
//! goes to the same blocking threads.
//!
//! New accounts are created with group commit: sign-ups arriving while the
//! writer is busy share one transaction, each in a savepoint of its own,
//! and await their outcome without holding a blocking thread (the scheme
//! and its invariants are in `group.rs`).
//!
//! Each capability trait is implemented in the file for its concern, next
//! to its SQL: `accounts.rs`, `sessions.rs`, `friends.rs`,
//! `notifications.rs`, `messages.rs`, `groups.rs`, `multi.rs` (Nakama's
//! multi-update), and `migration_runner.rs` (applying
//! the versioned migrations). This file holds the store type, its opening
//! and the hop to a blocking thread.

mod accounts;
mod db;
mod friends;
mod group;
mod groups;
mod leaderboards;
mod messages;
mod migration_runner;
mod multi;
mod notifications;
mod rows;
mod sessions;
mod storage;
mod tournaments;
mod wallets;

use std::future::Future;
use std::path::Path;
use std::sync::Arc;

use kairos_core::error::ApiResult;

use crate::common::internal;
use db::Db;
pub use group::{DEFAULT_LIMIT as DEFAULT_GROUP_COMMIT_LIMIT, set_group_commit_limit};

/// The SQLite [`Store`](crate::Store).
pub struct SqliteStore {
    db: Arc<Db>,
    hash_cost: u32,
}

impl SqliteStore {
    /// Opens (creating if needed) the database file at `path` with
    /// `readers` reader connections besides the writer. `hash_cost` is the
    /// bcrypt cost of new passwords (Nakama's is 10; 4 is the minimum).
    /// Must run on a thread that may block. Does not migrate.
    pub fn open(path: &Path, readers: usize, hash_cost: u32) -> ApiResult<SqliteStore> {
        Ok(SqliteStore {
            db: Arc::new(Db::open(path, readers)?),
            hash_cost,
        })
    }

    /// Runs blocking database work on the runtime's blocking threads.
    fn blocking<T, F>(&self, f: F) -> impl Future<Output = ApiResult<T>> + Send + 'static
    where
        T: Send + 'static,
        F: FnOnce(&Db) -> ApiResult<T> + Send + 'static,
    {
        let db = self.db.clone();
        async move {
            tokio::task::spawn_blocking(move || f(&db))
                .await
                .map_err(|e| internal("sqlite task", e))?
        }
    }
}
