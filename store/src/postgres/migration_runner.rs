//! Applying the embedded migrations to PostgreSQL / CockroachDB. Servers
//! sharing a database take turns: PostgreSQL through an advisory lock,
//! databases without advisory locks (CockroachDB) through a row in
//! `migration_lock`. Each migration runs in its own transaction.

use std::time::{Duration, Instant};

use kairos_core::error::{ApiError, ApiResult};
use kairos_core::time::now_secs;
use tokio_postgres::Client;
use tokio_postgres::error::SqlState;
use uuid::Uuid;

use super::rows::get;
use super::{PgStore, db_err};
use crate::common::internal;
use crate::migrations::{self, MIGRATIONS};
use crate::{BoxFuture, MigrationStatus, MigrationStore};

/// Advisory lock key serialising migrations across processes ("kairos").
const MIGRATION_LOCK: i64 = 0x6b61_6972_6f73;
/// A `migration_lock` row older than this is from a crashed server.
const STALE_LOCK_SECS: i64 = 300;
/// How long to wait for another server's migrations.
const LOCK_WAIT: Duration = Duration::from_secs(120);

/// The lock this process holds while migrating.
pub(super) enum MigrationLock {
    Advisory,
    Table { holder: String },
}

impl MigrationLock {
    /// Takes the advisory lock, or the lock row where advisory locks are
    /// missing.
    pub(super) async fn acquire(c: &Client) -> ApiResult<MigrationLock> {
        match c
            .execute("SELECT pg_advisory_lock($1)", &[&MIGRATION_LOCK])
            .await
        {
            Ok(_) => Ok(MigrationLock::Advisory),
            Err(e)
                if matches!(
                    e.code(),
                    Some(&SqlState::UNDEFINED_FUNCTION) | Some(&SqlState::FEATURE_NOT_SUPPORTED)
                ) =>
            {
                tracing::info!(error = %e, "no advisory locks; using the migration_lock table");
                Self::acquire_table(c, LOCK_WAIT).await
            }
            Err(e) => Err(db_err(e)),
        }
    }

    /// Takes the `migration_lock` row, waiting up to `wait` for its holder.
    pub(super) async fn acquire_table(c: &Client, wait: Duration) -> ApiResult<MigrationLock> {
        c.batch_execute(
            "CREATE TABLE IF NOT EXISTS migration_lock (id INTEGER PRIMARY KEY, holder TEXT NOT NULL, acquired_at BIGINT NOT NULL)",
        )
        .await
        .map_err(db_err)?;
        let holder = Uuid::new_v4().to_string();
        let deadline = Instant::now() + wait;
        loop {
            let now = now_secs();
            c.execute(
                "DELETE FROM migration_lock WHERE id = 1 AND acquired_at < $1",
                &[&(now - STALE_LOCK_SECS)],
            )
            .await
            .map_err(db_err)?;
            let taken = c
                .execute(
                    "INSERT INTO migration_lock (id, holder, acquired_at) VALUES (1, $1, $2) ON CONFLICT (id) DO NOTHING",
                    &[&holder, &now],
                )
                .await
                .map_err(db_err)?;
            if taken == 1 {
                return Ok(MigrationLock::Table { holder });
            }
            if Instant::now() >= deadline {
                return Err(ApiError::unavailable(
                    "Another server is migrating the database.",
                ));
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    /// Releases the lock (failures are logged: an advisory lock also ends
    /// with the session, a lock row once stale).
    pub(super) async fn release(self, c: &Client) {
        let result = match &self {
            MigrationLock::Advisory => c
                .execute("SELECT pg_advisory_unlock($1)", &[&MIGRATION_LOCK])
                .await
                .map(|_| ()),
            MigrationLock::Table { holder } => c
                .execute(
                    "DELETE FROM migration_lock WHERE id = 1 AND holder = $1",
                    &[holder],
                )
                .await
                .map(|_| ()),
        };
        if let Err(e) = result {
            tracing::warn!(error = %e, "releasing the migration lock failed");
        }
    }
}

/// Applies every pending migration, each in its own transaction. The
/// caller holds the [`MigrationLock`].
async fn apply_pending(c: &mut Client) -> ApiResult<()> {
    c.batch_execute(
        "CREATE TABLE IF NOT EXISTS migration_info (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)",
    )
    .await
    .map_err(db_err)?;
    for m in MIGRATIONS {
        let tx = c.transaction().await.map_err(db_err)?;
        let version = m.version as i32;
        let done = tx
            .query_opt(
                "SELECT applied_at FROM migration_info WHERE version = $1",
                &[&version],
            )
            .await
            .map_err(db_err)?;
        if done.is_some() {
            continue;
        }
        let what = format!("migration {} {}", m.version, m.name);
        tx.batch_execute(m.postgres)
            .await
            .map_err(|e| internal(&what, e))?;
        tx.execute(
            "INSERT INTO migration_info (version, name, applied_at) VALUES ($1, $2, $3)",
            &[&version, &m.name, &now_secs()],
        )
        .await
        .map_err(|e| internal(&what, e))?;
        tx.commit().await.map_err(|e| internal(&what, e))?;
        tracing::info!(version = m.version, name = m.name, "applied migration");
    }
    Ok(())
}

impl MigrationStore for PgStore {
    fn backend(&self) -> &'static str {
        "postgres"
    }

    fn migrate_up(&self) -> BoxFuture<'_, ApiResult<Vec<MigrationStatus>>> {
        Box::pin(async move {
            // A connection of its own: if this future is dropped midway, the
            // session (and with it an advisory lock) simply ends.
            let mut conn = self.pool.dedicated().await?;
            let lock = MigrationLock::acquire(&conn.client).await?;
            let result = apply_pending(&mut conn.client).await;
            lock.release(&conn.client).await;
            drop(conn);
            result?;
            self.migrate_status().await
        })
    }

    fn migrate_status(&self) -> BoxFuture<'_, ApiResult<Vec<MigrationStatus>>> {
        Box::pin(async move {
            let conn = self.pool.get().await?;
            let c = &conn.client;
            let exists = c
                .query_opt(
                    "SELECT 1 FROM information_schema.tables WHERE table_schema = current_schema() AND table_name = 'migration_info'",
                    &[],
                )
                .await
                .map_err(db_err)?
                .is_some();
            if !exists {
                return Ok(migrations::status(&[]));
            }
            let applied = c
                .query("SELECT version, applied_at FROM migration_info", &[])
                .await
                .map_err(db_err)?
                .iter()
                .map(|r| Ok((get::<i32>(r, 0)? as u32, get(r, 1)?)))
                .collect::<ApiResult<Vec<_>>>()?;
            Ok(migrations::status(&applied))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The lock-row fallback excludes a second holder until released.
    #[test]
    #[cfg_attr(
        not(kairos_test_postgres),
        ignore = "KAIROS_TEST_POSTGRES is not set; set it to a database URL to run"
    )]
    fn lock_table_excludes() {
        let url = std::env::var("KAIROS_TEST_POSTGRES")
            .expect("KAIROS_TEST_POSTGRES must name a database to run the PostgreSQL tests");
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        rt.block_on(async move {
            let schema = format!("kairos_lock_{}", Uuid::new_v4().simple());
            let connect = || async {
                let (client, conn) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
                    .await
                    .expect("connect");
                tokio::spawn(conn);
                client
            };
            let a = connect().await;
            let b = connect().await;
            a.batch_execute(&format!("CREATE SCHEMA {schema}"))
                .await
                .expect("schema");
            for c in [&a, &b] {
                c.batch_execute(&format!("SET search_path TO {schema}"))
                    .await
                    .expect("path");
            }
            let held = MigrationLock::acquire_table(&a, Duration::ZERO)
                .await
                .expect("first");
            let refused = MigrationLock::acquire_table(&b, Duration::ZERO).await;
            assert!(matches!(refused, Err(e) if e.code == kairos_core::error::Code::Unavailable));
            held.release(&a).await;
            let again = MigrationLock::acquire_table(&b, Duration::ZERO)
                .await
                .expect("after release");
            again.release(&b).await;
            a.batch_execute(&format!("DROP SCHEMA {schema} CASCADE"))
                .await
                .expect("drop");
        });
    }
}
