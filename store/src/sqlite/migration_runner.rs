//! Applying the embedded migrations to SQLite. The writer connection is
//! exclusive within a process, and each migration runs in an immediate
//! transaction, so two processes sharing the file take turns.

use kairos_core::error::ApiResult;
use kairos_core::time::now_secs;
use rusqlite::{OptionalExtension, TransactionBehavior, params};

use super::SqliteStore;
use super::db::{Db, db_err, exec};
use crate::common::internal;
use crate::migrations::{self, MIGRATIONS};
use crate::{BoxFuture, MigrationStatus, MigrationStore};

impl MigrationStore for SqliteStore {
    fn backend(&self) -> &'static str {
        "sqlite"
    }

    fn migrate_up(&self) -> BoxFuture<'_, ApiResult<Vec<MigrationStatus>>> {
        let applied = self.blocking(|db| {
            db.migrate_up()?;
            db.applied_migrations()
        });
        Box::pin(async move { Ok(migrations::status(&applied.await?)) })
    }

    fn migrate_status(&self) -> BoxFuture<'_, ApiResult<Vec<MigrationStatus>>> {
        let applied = self.blocking(|db| db.applied_migrations());
        Box::pin(async move { Ok(migrations::status(&applied.await?)) })
    }
}

impl Db {
    /// Applies every pending migration.
    pub fn migrate_up(&self) -> ApiResult<()> {
        self.write(|c| {
            c.execute_batch(
                "CREATE TABLE IF NOT EXISTS migration_info (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)",
            )
            .map_err(db_err)?;
            for m in MIGRATIONS {
                let tx = c
                    .transaction_with_behavior(TransactionBehavior::Immediate)
                    .map_err(db_err)?;
                let done: Option<i64> = tx
                    .query_row(
                        "SELECT applied_at FROM migration_info WHERE version = ?1",
                        [m.version],
                        |r| r.get(0),
                    )
                    .optional()
                    .map_err(db_err)?;
                if done.is_none() {
                    tx.execute_batch(m.sqlite)
                        .map_err(|e| internal(&format!("migration {} {}", m.version, m.name), e))?;
                    exec(
                        &tx,
                        "INSERT INTO migration_info (version, name, applied_at) VALUES (?1, ?2, ?3)",
                        params![m.version, m.name, now_secs()],
                    )
                    .map_err(db_err)?;
                    tracing::info!(version = m.version, name = m.name, "applied migration");
                }
                tx.commit().map_err(db_err)?;
            }
            Ok(())
        })
    }

    /// `(version, applied_at)` of every applied migration.
    pub fn applied_migrations(&self) -> ApiResult<Vec<(u32, i64)>> {
        self.read(|c| {
            let exists: i64 = c
                .query_row(
                    "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'migration_info'",
                    [],
                    |r| r.get(0),
                )
                .map_err(db_err)?;
            if exists == 0 {
                return Ok(Vec::new());
            }
            let mut stmt = c
                .prepare("SELECT version, applied_at FROM migration_info")
                .map_err(db_err)?;
            stmt.query_map([], |r| Ok((r.get::<_, u32>(0)?, r.get::<_, i64>(1)?)))
                .map_err(db_err)?
                .collect::<Result<Vec<_>, _>>()
                .map_err(db_err)
        })
    }
}
