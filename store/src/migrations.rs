//! Versioned schema migrations, embedded in the binary. Each backend has its
//! own SQL for the same versions; `migration_info` records what was applied.

/// One migration: a version, a name, and the SQL per backend.
pub struct Migration {
    pub version: u32,
    pub name: &'static str,
    pub sqlite: &'static str,
    pub postgres: &'static str,
}

/// Every migration, in order. Append only: never edit an applied one.
pub const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        name: "accounts",
        sqlite: include_str!("../migrations/sqlite/0001_accounts.sql"),
        postgres: include_str!("../migrations/postgres/0001_accounts.sql"),
    },
    Migration {
        version: 2,
        name: "social",
        sqlite: include_str!("../migrations/sqlite/0002_social.sql"),
        postgres: include_str!("../migrations/postgres/0002_social.sql"),
    },
    Migration {
        version: 3,
        name: "storage",
        sqlite: include_str!("../migrations/sqlite/0003_storage.sql"),
        postgres: include_str!("../migrations/postgres/0003_storage.sql"),
    },
    Migration {
        version: 4,
        name: "wallet",
        sqlite: include_str!("../migrations/sqlite/0004_wallet.sql"),
        postgres: include_str!("../migrations/postgres/0004_wallet.sql"),
    },
    Migration {
        version: 5,
        name: "leaderboards",
        sqlite: include_str!("../migrations/sqlite/0005_leaderboards.sql"),
        postgres: include_str!("../migrations/postgres/0005_leaderboards.sql"),
    },
    Migration {
        version: 6,
        name: "groups",
        sqlite: include_str!("../migrations/sqlite/0006_groups.sql"),
        postgres: include_str!("../migrations/postgres/0006_groups.sql"),
    },
    Migration {
        version: 7,
        name: "tournaments",
        sqlite: include_str!("../migrations/sqlite/0007_tournaments.sql"),
        postgres: include_str!("../migrations/postgres/0007_tournaments.sql"),
    },
    Migration {
        version: 8,
        name: "tournament_periods",
        sqlite: include_str!("../migrations/sqlite/0008_tournament_periods.sql"),
        postgres: include_str!("../migrations/postgres/0008_tournament_periods.sql"),
    },
];

/// Status of every known migration given the applied `(version, unix secs)` pairs.
pub fn status(applied: &[(u32, i64)]) -> Vec<crate::MigrationStatus> {
    MIGRATIONS
        .iter()
        .map(|m| crate::MigrationStatus {
            version: m.version,
            name: m.name,
            applied_at: applied
                .iter()
                .find(|(v, _)| *v == m.version)
                .map(|(_, t)| *t),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn versions_increase() {
        let v: Vec<u32> = super::MIGRATIONS.iter().map(|m| m.version).collect();
        assert!(v.windows(2).all(|w| w[0] < w[1]));
    }
}
