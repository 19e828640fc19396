//! The migration runner's interface: which database this is, and applying
//! the versioned migrations of [`crate::migrations`].

use kairos_core::error::ApiResult;

use super::BoxFuture;

/// One applied or pending schema migration.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MigrationStatus {
    pub version: u32,
    pub name: &'static str,
    /// Unix seconds when applied; `None` when pending.
    pub applied_at: Option<i64>,
}

/// Running the versioned migrations.
pub trait MigrationStore: Send + Sync + 'static {
    /// `"sqlite"` or `"postgres"`.
    fn backend(&self) -> &'static str;

    /// Applies every pending migration. Safe to call concurrently from
    /// several processes (PostgreSQL takes an advisory lock).
    fn migrate_up(&self) -> BoxFuture<'_, ApiResult<Vec<MigrationStatus>>>;
    fn migrate_status(&self) -> BoxFuture<'_, ApiResult<Vec<MigrationStatus>>>;
}
