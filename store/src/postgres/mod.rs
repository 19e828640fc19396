//! The PostgreSQL / CockroachDB backend, through tokio-postgres (no TLS) on
//! the persistence pool's runtime.
//!
//! CockroachDB notes: the SQL avoids PostgreSQL-only syntax except partial
//! unique indexes (CockroachDB 20.2+) and `pg_advisory_lock`, for which
//! migrations fall back to a lock row when it is missing.
//!
//! Each capability trait is implemented in the file for its concern, next
//! to its SQL: `accounts.rs`, `sessions.rs`, `friends.rs`,
//! `notifications.rs`, `messages.rs`, `groups.rs`, `multi.rs` (Nakama's
//! multi-update), and `migration_runner.rs` (applying
//! the versioned migrations). This file holds the store type, its
//! connection and the error mapping the queries share.

mod accounts;
mod friends;
mod groups;
mod leaderboards;
mod messages;
mod migration_runner;
mod multi;
mod notifications;
mod pool;
mod rows;
mod sessions;
mod storage;
mod tournaments;
mod wallets;

use std::str::FromStr;

use kairos_core::error::{ApiError, ApiResult};
use tokio_postgres::Config;
use tokio_postgres::error::SqlState;

use crate::common::{Unique, internal, unique_kind};
use pool::PgPool;

/// The PostgreSQL [`Store`](crate::Store).
pub struct PgStore {
    pool: PgPool,
    hash_cost: u32,
}

/// An unexpected database error: Internal, its message naming the
/// SQLSTATE when the server sent one (a deadlock is `40P01`), for the log
/// and for tests; callers never show it to clients.
fn db_err(e: tokio_postgres::Error) -> ApiError {
    match e.code() {
        Some(state) => internal(&format!("postgres query (SQLSTATE {})", state.code()), e),
        None => internal("postgres query", e),
    }
}

/// The unique column a failed statement violated, if that is why it failed.
fn violation(e: &tokio_postgres::Error) -> Option<Unique> {
    let db = e.as_db_error()?;
    if *db.code() == SqlState::UNIQUE_VIOLATION {
        // The constraint name when the server gives one, else the message
        // (CockroachDB's name the index, e.g. "users_username_key").
        Some(match db.constraint() {
            Some(name) => unique_kind(name),
            None => unique_kind(db.message()),
        })
    } else {
        None
    }
}

/// Accepts `postgres://...`, `postgresql://...` and Nakama's scheme-less
/// `user:pass@host:port/db`.
pub fn parse_address(address: &str) -> ApiResult<Config> {
    let url = if address.contains("://") {
        address.to_string()
    } else {
        format!("postgresql://{address}")
    };
    Config::from_str(&url)
        .map_err(|e| ApiError::invalid(format!("database.address is not a valid address: {e}")))
}

/// A schema name safe to splice into SQL: ASCII letters, digits and `_`,
/// not starting with a digit, at most 63 bytes.
fn valid_schema(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 63
        && !name.starts_with(|c: char| c.is_ascii_digit())
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

impl PgStore {
    /// Connects (checking the database answers) with at most `max_conns`
    /// pooled connections. `schema`, when given, is created if missing and
    /// becomes every connection's `search_path` (tests use it for
    /// isolation; the server passes `None`). `hash_cost` is the bcrypt cost
    /// of new passwords.
    pub async fn connect(
        address: &str,
        max_conns: usize,
        hash_cost: u32,
        schema: Option<String>,
    ) -> ApiResult<PgStore> {
        let mut config = parse_address(address)?;
        if let Some(schema) = &schema {
            if !valid_schema(schema) {
                return Err(ApiError::invalid(format!(
                    "not a valid schema name: {schema:?}"
                )));
            }
            config.options(format!("-c search_path={schema}"));
        }
        let store = PgStore {
            pool: PgPool::new(config, max_conns),
            hash_cost,
        };
        // Fail fast on an unreachable database.
        let conn = store.pool.get().await?;
        if let Some(schema) = &schema {
            conn.client
                .batch_execute(&format!("CREATE SCHEMA IF NOT EXISTS {schema}"))
                .await
                .map_err(|e| internal("creating the schema", e))?;
        }
        drop(conn);
        Ok(store)
    }
}
