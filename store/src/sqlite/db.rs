//! SQLite connections: one writer behind a mutex, a few readers taken in
//! turn, the group-commit queue of account creations (see `group`), and
//! the mapping of SQLite errors. Everything here blocks; callers run it on
//! the pool's blocking threads.

use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard};

use kairos_core::error::{ApiError, ApiResult};
use rusqlite::{Connection, ErrorCode, ffi};
use uuid::Uuid;

use super::group::GroupCommit;
use crate::common::{Unique, internal, unique_kind};

/// The connections of one database file.
pub struct Db {
    writer: Mutex<Connection>,
    readers: Vec<Mutex<Connection>>,
    next_reader: AtomicUsize,
    /// Account creations waiting to share a transaction on the writer.
    group: GroupCommit,
}

/// Logs a query failure and returns a generic internal error.
pub fn db_err(e: rusqlite::Error) -> ApiError {
    internal("sqlite query", e)
}

/// The unique column a failed statement violated, if that is why it failed
/// (NOT NULL, CHECK and foreign key failures are not unique violations).
pub fn violation(e: &rusqlite::Error) -> Option<Unique> {
    match e {
        rusqlite::Error::SqliteFailure(f, msg)
            if f.code == ErrorCode::ConstraintViolation
                && (f.extended_code == ffi::SQLITE_CONSTRAINT_UNIQUE
                    || f.extended_code == ffi::SQLITE_CONSTRAINT_PRIMARYKEY) =>
        {
            Some(unique_kind(msg.as_deref().unwrap_or("")))
        }
        _ => None,
    }
}

/// True when a statement failed on a foreign key.
pub fn foreign_key_failed(e: &rusqlite::Error) -> bool {
    matches!(e, rusqlite::Error::SqliteFailure(f, _) if f.extended_code == ffi::SQLITE_CONSTRAINT_FOREIGNKEY)
}

/// Runs a statement through the connection's prepared-statement cache, so
/// the SQL is parsed once per connection, not once per call.
pub fn exec(c: &Connection, sql: &str, params: impl rusqlite::Params) -> rusqlite::Result<usize> {
    c.prepare_cached(sql)?.execute(params)
}

/// Parses a stored id.
pub fn uuid(s: &str) -> ApiResult<Uuid> {
    Uuid::parse_str(s).map_err(|e| internal("reading a stored id", e))
}

fn open_connection(path: &Path) -> ApiResult<Connection> {
    let conn = Connection::open(path).map_err(|e| internal("opening the SQLite database", e))?;
    conn.execute_batch(
        "PRAGMA journal_mode = WAL;
         PRAGMA synchronous = NORMAL;
         PRAGMA foreign_keys = ON;
         PRAGMA busy_timeout = 5000;
         PRAGMA cache_size = -16384;",
    )
    .map_err(|e| internal("configuring SQLite", e))?;
    Ok(conn)
}

fn lock(m: &Mutex<Connection>) -> MutexGuard<'_, Connection> {
    // A panic while holding a connection leaves it usable: SQLite rolls an
    // unfinished transaction back when the `Transaction` is dropped.
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl Db {
    /// Opens (creating if needed) the database file at `path` with WAL,
    /// `synchronous = NORMAL`, foreign keys and a busy timeout.
    pub fn open(path: &Path, readers: usize) -> ApiResult<Db> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(|e| internal("creating the data directory", e))?;
        }
        let writer = open_connection(path)?;
        let readers = (0..readers.max(1))
            .map(|_| open_connection(path).map(Mutex::new))
            .collect::<ApiResult<_>>()?;
        Ok(Db {
            writer: Mutex::new(writer),
            readers,
            next_reader: AtomicUsize::new(0),
            group: GroupCommit::default(),
        })
    }

    /// Runs `f` on the writer connection.
    pub fn write<T>(&self, f: impl FnOnce(&mut Connection) -> ApiResult<T>) -> ApiResult<T> {
        f(&mut lock(&self.writer))
    }

    /// The group-commit queue of account creations.
    pub fn group(&self) -> &GroupCommit {
        &self.group
    }

    #[cfg(test)]
    pub fn group_mut(&mut self) -> &mut GroupCommit {
        &mut self.group
    }

    /// Runs `f` on the next reader connection.
    pub fn read<T>(&self, f: impl FnOnce(&Connection) -> ApiResult<T>) -> ApiResult<T> {
        let i = self.next_reader.fetch_add(1, Ordering::Relaxed) % self.readers.len();
        f(&lock(&self.readers[i]))
    }
}
