//! The PostgreSQL / CockroachDB backend, through tokio-postgres on the
//! persistence pool's runtime.

mod pool;

use std::str::FromStr;

use kairos_core::account::{Account, AccountUpdate, Authenticated, Identity, User, UserStatus};
use kairos_core::error::{ApiError, ApiResult};
use kairos_core::time::now_secs;
use tokio_postgres::error::SqlState;
use tokio_postgres::types::ToSql;
use tokio_postgres::{Config, Row};
use uuid::Uuid;

use crate::common::{self, Unique, internal, unique_kind};
use crate::migrations::{self, MIGRATIONS};
use crate::{BoxFuture, MigrationStatus, Revocations, Store};
use pool::PgPool;

/// Advisory lock key serialising migrations across processes.
const MIGRATION_LOCK: i64 = 0x6b61_6972_6f73; // "kairos"

pub struct PgStore {
    pool: PgPool,
    hash_cost: u32,
}

fn db_err(e: tokio_postgres::Error) -> ApiError {
    internal("postgres query", e)
}

fn violation(e: &tokio_postgres::Error) -> Option<Unique> {
    let db = e.as_db_error()?;
    if *db.code() == SqlState::UNIQUE_VIOLATION {
        Some(unique_kind(db.constraint().unwrap_or("")))
    } else {
        None
    }
}

fn user_from_row(r: &Row) -> User {
    let text = |i: usize| r.get::<_, Option<String>>(i).unwrap_or_default();
    User {
        id: r.get(0),
        username: r.get(1),
        display_name: text(2),
        avatar_url: text(3),
        lang_tag: text(4),
        location: text(5),
        timezone: text(6),
        metadata: text(7),
        facebook_id: text(8),
        google_id: text(9),
        gamecenter_id: text(10),
        steam_id: text(11),
        facebook_instant_game_id: text(12),
        apple_id: text(13),
        edge_count: r.get(14),
        create_time: r.get(15),
        update_time: r.get(16),
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

struct Found {
    id: Uuid,
    username: String,
    disabled: bool,
    password: Option<Vec<u8>>,
}

impl PgStore {
    pub async fn connect(
        address: &str,
        max_conns: usize,
        hash_cost: u32,
        schema: Option<String>,
    ) -> ApiResult<PgStore> {
        let config = parse_address(address)?;
        let store = PgStore {
            pool: PgPool::new(config, max_conns, schema),
            hash_cost,
        };
        // Fail fast on an unreachable database.
        drop(store.pool.get().await?);
        Ok(store)
    }

    async fn find(&self, identity: &Identity) -> ApiResult<Option<Found>> {
        let (sql, key): (&'static str, &str) = match identity {
            Identity::Device { id } => (
                "SELECT u.id, u.username, u.disable_time, u.password FROM user_device d JOIN users u ON u.id = d.user_id WHERE d.id = $1",
                id,
            ),
            Identity::Custom { id } => (
                "SELECT id, username, disable_time, password FROM users WHERE custom_id = $1",
                id,
            ),
            Identity::Email { email, .. } if !email.is_empty() => (
                "SELECT id, username, disable_time, password FROM users WHERE email = $1",
                email,
            ),
            Identity::Email { username, .. } => (
                "SELECT id, username, disable_time, password FROM users WHERE username = $1",
                username,
            ),
        };
        let mut conn = self.pool.get().await?;
        let stmt = conn.prepare(sql).await?;
        let row = conn
            .client
            .query_opt(&stmt, &[&key])
            .await
            .map_err(db_err)?;
        Ok(row.map(|r| Found {
            id: r.get(0),
            username: r.get(1),
            disabled: r.get::<_, Option<i64>>(2).is_some(),
            password: r.get(3),
        }))
    }

    /// Inserts a user (and its device) in one transaction. The outer error
    /// is the pool's; the inner one the statement's, for the caller to
    /// classify.
    async fn create(
        &self,
        identity: &Identity,
        username: &str,
        password: Option<&[u8]>,
    ) -> ApiResult<Result<Uuid, tokio_postgres::Error>> {
        let mut conn = self.pool.get().await?;
        Ok(Self::insert_user(&mut conn.client, identity, username, password).await)
    }

    async fn insert_user(
        client: &mut tokio_postgres::Client,
        identity: &Identity,
        username: &str,
        password: Option<&[u8]>,
    ) -> Result<Uuid, tokio_postgres::Error> {
        let id = Uuid::new_v4();
        let now = now_secs();
        let tx = client.transaction().await?;
        match identity {
            Identity::Device { id: device } => {
                tx.execute("INSERT INTO users (id, username, create_time, update_time) VALUES ($1, $2, $3, $3)", &[&id, &username, &now])
                    .await?;
                tx.execute(
                    "INSERT INTO user_device (id, user_id) VALUES ($1, $2)",
                    &[device, &id],
                )
                .await?;
            }
            Identity::Custom { id: custom } => {
                tx.execute(
                    "INSERT INTO users (id, username, custom_id, create_time, update_time) VALUES ($1, $2, $3, $4, $4)",
                    &[&id, &username, custom, &now],
                )
                .await?;
            }
            Identity::Email { email, .. } => {
                tx.execute(
                    "INSERT INTO users (id, username, email, password, create_time, update_time) VALUES ($1, $2, $3, $4, $5, $5)",
                    &[&id, &username, email, &password, &now],
                )
                .await?;
            }
        }
        tx.commit().await?;
        Ok(id)
    }

    async fn authenticate_inner(
        &self,
        identity: Identity,
        username: String,
        create: bool,
    ) -> ApiResult<Authenticated> {
        let email_login = matches!(&identity, Identity::Email { email, .. } if email.is_empty());
        if let Some(found) = self.find(&identity).await? {
            if found.disabled {
                return Err(common::banned());
            }
            if let Identity::Email { password, .. } = &identity
                && !common::verify_password(password.clone(), found.password).await?
            {
                return Err(common::invalid_credentials());
            }
            return Ok(Authenticated {
                user_id: found.id,
                username: found.username,
                created: false,
            });
        }
        if !create || email_login {
            return Err(common::user_not_found());
        }
        let hash = match &identity {
            Identity::Email { password, .. } => {
                Some(common::hash_password(password.clone(), self.hash_cost).await?)
            }
            _ => None,
        };
        let generated = username.is_empty();
        for _ in 0..5 {
            let name = if generated {
                common::generate_username()
            } else {
                username.clone()
            };
            match self.create(&identity, &name, hash.as_deref()).await? {
                Ok(id) => {
                    return Ok(Authenticated {
                        user_id: id,
                        username: name,
                        created: true,
                    });
                }
                Err(e) => match violation(&e) {
                    Some(Unique::Username) if generated => continue,
                    Some(Unique::Username) => return Err(common::username_taken()),
                    Some(_) => {
                        return match self.find(&identity).await? {
                            Some(f) => Ok(Authenticated {
                                user_id: f.id,
                                username: f.username,
                                created: false,
                            }),
                            None => Err(internal("account creation", e)),
                        };
                    }
                    None => return Err(internal("account creation", e)),
                },
            }
        }
        Err(common::username_taken())
    }

    async fn link_inner(&self, user: Uuid, identity: Identity) -> ApiResult<()> {
        let now = now_secs();
        let hash = match &identity {
            Identity::Email { password, .. } => {
                Some(common::hash_password(password.clone(), self.hash_cost).await?)
            }
            _ => None,
        };
        let mut conn = self.pool.get().await?;
        let result = match &identity {
            Identity::Device { id } => {
                let owner = conn
                    .client
                    .query_opt("SELECT user_id FROM user_device WHERE id = $1", &[id])
                    .await
                    .map_err(db_err)?;
                match owner.map(|r| r.get::<_, Uuid>(0)) {
                    Some(o) if o == user => return Ok(()),
                    Some(_) => return Err(common::link_conflict(Unique::Device)),
                    None => {}
                }
                let tx = conn.client.transaction().await.map_err(db_err)?;
                let r = async {
                    tx.execute(
                        "INSERT INTO user_device (id, user_id) VALUES ($1, $2)",
                        &[id, &user],
                    )
                    .await?;
                    tx.execute(
                        "UPDATE users SET update_time = $1 WHERE id = $2",
                        &[&now, &user],
                    )
                    .await
                }
                .await;
                match r {
                    Ok(n) => tx.commit().await.map(|_| n),
                    Err(e) => Err(e),
                }
            }
            Identity::Custom { id } => {
                conn.client
                    .execute(
                        "UPDATE users SET custom_id = $1, update_time = $2 WHERE id = $3",
                        &[id, &now, &user],
                    )
                    .await
            }
            Identity::Email { email, .. } => conn
                .client
                .execute(
                    "UPDATE users SET email = $1, password = $2, update_time = $3 WHERE id = $4",
                    &[email, &hash, &now, &user],
                )
                .await,
        };
        match result {
            Ok(0) => Err(common::user_not_found()),
            Ok(_) => Ok(()),
            Err(e) => match violation(&e) {
                Some(kind) => Err(common::link_conflict(kind)),
                None if e.code() == Some(&SqlState::FOREIGN_KEY_VIOLATION) => {
                    Err(common::user_not_found())
                }
                None => Err(db_err(e)),
            },
        }
    }

    async fn unlink_inner(&self, user: Uuid, identity: Identity) -> ApiResult<()> {
        const SOCIAL: &str = "facebook_id IS NOT NULL OR google_id IS NOT NULL OR gamecenter_id IS NOT NULL \
            OR steam_id IS NOT NULL OR apple_id IS NOT NULL OR facebook_instant_game_id IS NOT NULL";
        let now = now_secs();
        let conn = self.pool.get().await?;
        let changed = match &identity {
            Identity::Device { id } => {
                conn.client
                    .execute(
                        &format!(
                            "DELETE FROM user_device WHERE id = $1 AND user_id = $2 AND (
                               EXISTS (SELECT 1 FROM user_device WHERE user_id = $2 AND id <> $1)
                               OR EXISTS (SELECT 1 FROM users WHERE id = $2 AND (email IS NOT NULL OR custom_id IS NOT NULL OR {SOCIAL})))"
                        ),
                        &[id, &user],
                    )
                    .await
            }
            Identity::Custom { id } => {
                conn.client
                    .execute(
                        &format!(
                            "UPDATE users SET custom_id = NULL, update_time = $3 WHERE id = $1 AND ($2 = '' OR custom_id = $2) AND (
                               EXISTS (SELECT 1 FROM user_device WHERE user_id = $1) OR email IS NOT NULL OR {SOCIAL})"
                        ),
                        &[&user, id, &now],
                    )
                    .await
            }
            Identity::Email { email, .. } => {
                conn.client
                    .execute(
                        &format!(
                            "UPDATE users SET email = NULL, password = NULL, update_time = $3 WHERE id = $1 AND ($2 = '' OR email = $2) AND (
                               EXISTS (SELECT 1 FROM user_device WHERE user_id = $1) OR custom_id IS NOT NULL OR {SOCIAL})"
                        ),
                        &[&user, email, &now],
                    )
                    .await
            }
        }
        .map_err(db_err)?;
        if changed == 0 {
            Err(common::last_identifier())
        } else {
            Ok(())
        }
    }

    async fn get_account_inner(&self, user: Uuid) -> ApiResult<Account> {
        const SQL: &str = "SELECT id, username, display_name, avatar_url, lang_tag, location, timezone, metadata, \
            facebook_id, google_id, gamecenter_id, steam_id, facebook_instant_game_id, apple_id, edge_count, create_time, update_time, \
            wallet, email, custom_id, verify_time, disable_time FROM users WHERE id = $1";
        let mut conn = self.pool.get().await?;
        let stmt = conn.prepare(SQL).await?;
        let row = conn
            .client
            .query_opt(&stmt, &[&user])
            .await
            .map_err(db_err)?
            .ok_or_else(common::user_not_found)?;
        let devices_stmt = conn
            .prepare("SELECT id FROM user_device WHERE user_id = $1 ORDER BY id")
            .await?;
        let devices = conn
            .client
            .query(&devices_stmt, &[&user])
            .await
            .map_err(db_err)?
            .iter()
            .map(|r| r.get(0))
            .collect();
        Ok(Account {
            user: user_from_row(&row),
            wallet: row.get(17),
            email: row.get::<_, Option<String>>(18).unwrap_or_default(),
            devices,
            custom_id: row.get::<_, Option<String>>(19).unwrap_or_default(),
            verify_time: row.get(20),
            disable_time: row.get(21),
        })
    }

    async fn update_account_inner(&self, user: Uuid, update: AccountUpdate) -> ApiResult<()> {
        let fields = [
            ("username", update.username),
            ("display_name", update.display_name),
            ("avatar_url", update.avatar_url),
            ("lang_tag", update.lang_tag),
            ("location", update.location),
            ("timezone", update.timezone),
        ];
        let mut sets = Vec::new();
        let mut values: Vec<Option<String>> = Vec::new();
        for (column, value) in fields {
            if let Some(v) = value {
                values.push(if v.is_empty() { None } else { Some(v) });
                sets.push(format!("{column} = ${}", values.len()));
            }
        }
        if sets.is_empty() {
            return Ok(());
        }
        let now = now_secs();
        let mut params: Vec<&(dyn ToSql + Sync)> =
            values.iter().map(|v| v as &(dyn ToSql + Sync)).collect();
        params.push(&now);
        sets.push(format!("update_time = ${}", params.len()));
        params.push(&user);
        let sql = format!(
            "UPDATE users SET {} WHERE id = ${}",
            sets.join(", "),
            params.len()
        );
        let conn = self.pool.get().await?;
        match conn.client.execute(&sql, &params).await {
            Ok(_) => Ok(()),
            Err(e) if violation(&e) == Some(Unique::Username) => Err(common::username_taken()),
            Err(e) => Err(db_err(e)),
        }
    }

    async fn delete_account_inner(&self, user: Uuid) -> ApiResult<()> {
        let mut conn = self.pool.get().await?;
        let tx = conn.client.transaction().await.map_err(db_err)?;
        tx.execute("DELETE FROM user_device WHERE user_id = $1", &[&user])
            .await
            .map_err(db_err)?;
        let deleted = tx
            .execute("DELETE FROM users WHERE id = $1", &[&user])
            .await
            .map_err(db_err)?;
        if deleted > 0 {
            tx.execute(
                "INSERT INTO user_tombstone (user_id, create_time) VALUES ($1, $2)
                 ON CONFLICT (user_id) DO UPDATE SET create_time = excluded.create_time",
                &[&user, &now_secs()],
            )
            .await
            .map_err(db_err)?;
        }
        tx.commit().await.map_err(db_err)
    }

    async fn get_users_inner(
        &self,
        ids: Vec<Uuid>,
        usernames: Vec<String>,
    ) -> ApiResult<Vec<User>> {
        if ids.is_empty() && usernames.is_empty() {
            return Ok(Vec::new());
        }
        const SQL: &str = "SELECT id, username, display_name, avatar_url, lang_tag, location, timezone, metadata, \
            facebook_id, google_id, gamecenter_id, steam_id, facebook_instant_game_id, apple_id, edge_count, create_time, update_time \
            FROM users WHERE id = ANY($1) OR username = ANY($2)";
        let mut conn = self.pool.get().await?;
        let stmt = conn.prepare(SQL).await?;
        let rows = conn
            .client
            .query(&stmt, &[&ids, &usernames])
            .await
            .map_err(db_err)?;
        Ok(rows.iter().map(user_from_row).collect())
    }

    async fn migrate(&self, apply: bool) -> ApiResult<Vec<MigrationStatus>> {
        let conn = self.pool.get().await?;
        let c = &conn.client;
        c.batch_execute(
            "CREATE TABLE IF NOT EXISTS migration_info (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)",
        )
        .await
        .map_err(db_err)?;
        if apply {
            // Concurrent servers on one database take turns. CockroachDB
            // lacks advisory locks; there each migration's transaction and
            // its idempotent SQL keep it safe.
            let locked = c
                .execute("SELECT pg_advisory_lock($1)", &[&MIGRATION_LOCK])
                .await
                .is_ok();
            let result = async {
                for m in MIGRATIONS {
                    let done = c
                        .query_opt("SELECT applied_at FROM migration_info WHERE version = $1", &[&(m.version as i32)])
                        .await
                        .map_err(db_err)?;
                    if done.is_some() {
                        continue;
                    }
                    c.batch_execute("BEGIN").await.map_err(db_err)?;
                    let applied = async {
                        c.batch_execute(m.postgres).await?;
                        c.execute(
                            "INSERT INTO migration_info (version, name, applied_at) VALUES ($1, $2, $3) ON CONFLICT (version) DO NOTHING",
                            &[&(m.version as i32), &m.name, &now_secs()],
                        )
                        .await
                    }
                    .await;
                    match applied {
                        Ok(_) => c.batch_execute("COMMIT").await.map_err(db_err)?,
                        Err(e) => {
                            let _ = c.batch_execute("ROLLBACK").await;
                            return Err(internal(&format!("migration {} {}", m.version, m.name), e));
                        }
                    }
                    tracing::info!(version = m.version, name = m.name, "applied migration");
                }
                Ok(())
            }
            .await;
            if locked {
                let _ = c
                    .execute("SELECT pg_advisory_unlock($1)", &[&MIGRATION_LOCK])
                    .await;
            }
            result?;
        }
        let applied: Vec<(u32, i64)> = c
            .query("SELECT version, applied_at FROM migration_info", &[])
            .await
            .map_err(db_err)?
            .iter()
            .map(|r| (r.get::<_, i32>(0) as u32, r.get::<_, i64>(1)))
            .collect();
        Ok(migrations::status(&applied))
    }
}

impl Store for PgStore {
    fn backend(&self) -> &'static str {
        "postgres"
    }

    fn migrate_up(&self) -> BoxFuture<'_, ApiResult<Vec<MigrationStatus>>> {
        Box::pin(self.migrate(true))
    }

    fn migrate_status(&self) -> BoxFuture<'_, ApiResult<Vec<MigrationStatus>>> {
        Box::pin(self.migrate(false))
    }

    fn authenticate(
        &self,
        identity: Identity,
        username: String,
        create: bool,
    ) -> BoxFuture<'_, ApiResult<Authenticated>> {
        Box::pin(self.authenticate_inner(identity, username, create))
    }

    fn link(&self, user_id: Uuid, identity: Identity) -> BoxFuture<'_, ApiResult<()>> {
        Box::pin(self.link_inner(user_id, identity))
    }

    fn unlink(&self, user_id: Uuid, identity: Identity) -> BoxFuture<'_, ApiResult<()>> {
        Box::pin(self.unlink_inner(user_id, identity))
    }

    fn get_account(&self, user_id: Uuid) -> BoxFuture<'_, ApiResult<Account>> {
        Box::pin(self.get_account_inner(user_id))
    }

    fn update_account(&self, user_id: Uuid, update: AccountUpdate) -> BoxFuture<'_, ApiResult<()>> {
        Box::pin(self.update_account_inner(user_id, update))
    }

    fn delete_account(&self, user_id: Uuid) -> BoxFuture<'_, ApiResult<()>> {
        Box::pin(self.delete_account_inner(user_id))
    }

    fn get_users(
        &self,
        ids: Vec<Uuid>,
        usernames: Vec<String>,
    ) -> BoxFuture<'_, ApiResult<Vec<User>>> {
        Box::pin(self.get_users_inner(ids, usernames))
    }

    fn user_status(&self, user_id: Uuid) -> BoxFuture<'_, ApiResult<UserStatus>> {
        Box::pin(async move {
            let mut conn = self.pool.get().await?;
            let stmt = conn
                .prepare("SELECT username, disable_time FROM users WHERE id = $1")
                .await?;
            let row = conn
                .client
                .query_opt(&stmt, &[&user_id])
                .await
                .map_err(db_err)?
                .ok_or_else(common::user_not_found)?;
            Ok(UserStatus {
                username: row.get(0),
                disabled: row.get::<_, Option<i64>>(1).is_some(),
            })
        })
    }

    fn revoke_token(
        &self,
        user_id: Uuid,
        token_id: Uuid,
        expires_at: i64,
    ) -> BoxFuture<'_, ApiResult<()>> {
        Box::pin(async move {
            let conn = self.pool.get().await?;
            conn.client
                .execute(
                    "INSERT INTO session_revocation (token_id, user_id, expires_at) VALUES ($1, $2, $3)
                     ON CONFLICT (token_id) DO UPDATE SET expires_at = GREATEST(session_revocation.expires_at, excluded.expires_at)",
                    &[&token_id, &user_id, &expires_at],
                )
                .await
                .map(|_| ())
                .map_err(db_err)
        })
    }

    fn revoke_all(&self, user_id: Uuid, cutoff_millis: i64) -> BoxFuture<'_, ApiResult<()>> {
        Box::pin(async move {
            let conn = self.pool.get().await?;
            conn.client
                .execute(
                    "INSERT INTO session_cutoff (user_id, cutoff_ms) VALUES ($1, $2)
                     ON CONFLICT (user_id) DO UPDATE SET cutoff_ms = GREATEST(session_cutoff.cutoff_ms, excluded.cutoff_ms)",
                    &[&user_id, &cutoff_millis],
                )
                .await
                .map(|_| ())
                .map_err(db_err)
        })
    }

    fn load_revocations(&self, now: i64) -> BoxFuture<'_, ApiResult<Revocations>> {
        Box::pin(async move {
            let conn = self.pool.get().await?;
            let c = &conn.client;
            c.execute(
                "DELETE FROM session_revocation WHERE expires_at <= $1",
                &[&now],
            )
            .await
            .map_err(db_err)?;
            let tokens = c
                .query(
                    "SELECT token_id, user_id, expires_at FROM session_revocation",
                    &[],
                )
                .await
                .map_err(db_err)?
                .iter()
                .map(|r| (r.get(0), r.get(1), r.get(2)))
                .collect();
            let cutoffs = c
                .query("SELECT user_id, cutoff_ms FROM session_cutoff", &[])
                .await
                .map_err(db_err)?
                .iter()
                .map(|r| (r.get(0), r.get(1)))
                .collect();
            Ok(Revocations { tokens, cutoffs })
        })
    }
}
