//! The embedded backend: SQLite in WAL mode, one writer connection and a few
//! readers. Calls block, so they run only on the persistence pool's
//! threads; password hashing goes to its blocking threads.

mod rows;

use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use kairos_core::account::{Account, AccountUpdate, Authenticated, Identity, User, UserStatus};
use kairos_core::error::{ApiError, ApiResult};
use kairos_core::time::now_secs;
use rusqlite::{Connection, ErrorCode, OptionalExtension, params, params_from_iter};
use uuid::Uuid;

use crate::common::{self, Unique, internal, unique_kind};
use crate::migrations::{self, MIGRATIONS};
use crate::{BoxFuture, MigrationStatus, Revocations, Store};
use rows::{USER_COLUMNS, user_from_row};

pub struct SqliteStore {
    inner: Arc<Inner>,
}

struct Inner {
    writer: Mutex<Connection>,
    readers: Vec<Mutex<Connection>>,
    next_reader: AtomicUsize,
    hash_cost: u32,
}

/// What a lookup by identifier found.
struct Found {
    id: Uuid,
    username: String,
    disabled: bool,
    password: Option<Vec<u8>>,
}

fn db_err(e: rusqlite::Error) -> ApiError {
    internal("sqlite query", e)
}

/// The unique column a failed statement violated, if that is why it failed.
fn violation(e: &rusqlite::Error) -> Option<Unique> {
    match e {
        rusqlite::Error::SqliteFailure(f, msg) if f.code == ErrorCode::ConstraintViolation => {
            Some(unique_kind(msg.as_deref().unwrap_or("")))
        }
        _ => None,
    }
}

/// Runs a statement through the connection's prepared-statement cache, so
/// the SQL is parsed once per connection, not once per call.
fn exec(c: &Connection, sql: &str, params: impl rusqlite::Params) -> rusqlite::Result<usize> {
    c.prepare_cached(sql)?.execute(params)
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

impl SqliteStore {
    /// Opens (creating if needed) the database file at `path`.
    pub fn open(path: &Path, readers: usize, hash_cost: u32) -> ApiResult<SqliteStore> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(|e| internal("creating the data directory", e))?;
        }
        let writer = open_connection(path)?;
        let readers = (0..readers.max(1))
            .map(|_| open_connection(path).map(Mutex::new))
            .collect::<ApiResult<_>>()?;
        Ok(SqliteStore {
            inner: Arc::new(Inner {
                writer: Mutex::new(writer),
                readers,
                next_reader: AtomicUsize::new(0),
                hash_cost,
            }),
        })
    }

    fn write<T>(&self, f: impl FnOnce(&mut Connection) -> ApiResult<T>) -> ApiResult<T> {
        let mut conn = self
            .inner
            .writer
            .lock()
            .map_err(|_| ApiError::internal("sqlite writer poisoned"))?;
        f(&mut conn)
    }

    fn read<T>(&self, f: impl FnOnce(&Connection) -> ApiResult<T>) -> ApiResult<T> {
        let i = self.inner.next_reader.fetch_add(1, Ordering::Relaxed) % self.inner.readers.len();
        let conn = self.inner.readers[i]
            .lock()
            .map_err(|_| ApiError::internal("sqlite reader poisoned"))?;
        f(&conn)
    }

    fn find(&self, identity: &Identity) -> ApiResult<Option<Found>> {
        let (sql, key) = match identity {
            Identity::Device { id } => (
                "SELECT u.id, u.username, u.disable_time, u.password FROM user_device d JOIN users u ON u.id = d.user_id WHERE d.id = ?1",
                id.as_str(),
            ),
            Identity::Custom { id } => (
                "SELECT id, username, disable_time, password FROM users WHERE custom_id = ?1",
                id.as_str(),
            ),
            Identity::Email { email, .. } if !email.is_empty() => (
                "SELECT id, username, disable_time, password FROM users WHERE email = ?1",
                email.as_str(),
            ),
            Identity::Email { username, .. } => (
                "SELECT id, username, disable_time, password FROM users WHERE username = ?1",
                username.as_str(),
            ),
        };
        self.read(|c| {
            c.prepare_cached(sql)
                .map_err(db_err)?
                .query_row([key], |r| {
                    Ok((
                        r.get::<_, String>(0)?,
                        r.get::<_, String>(1)?,
                        r.get::<_, Option<i64>>(2)?,
                        r.get::<_, Option<Vec<u8>>>(3)?,
                    ))
                })
                .optional()
                .map_err(db_err)?
                .map(|(id, username, disable, password)| {
                    Ok(Found {
                        id: rows::uuid(&id)?,
                        username,
                        disabled: disable.is_some(),
                        password,
                    })
                })
                .transpose()
        })
    }

    /// Inserts a user (and its device) in one transaction.
    fn create(
        &self,
        identity: &Identity,
        username: &str,
        password: Option<&[u8]>,
    ) -> Result<Uuid, rusqlite::Error> {
        let id = Uuid::new_v4();
        let now = now_secs();
        let mut conn = self.inner.writer.lock().unwrap_or_else(|p| p.into_inner());
        let tx = conn.transaction()?;
        let idtext = id.to_string();
        match identity {
            Identity::Device { id: device } => {
                exec(
                    &tx,
                    "INSERT INTO users (id, username, create_time, update_time) VALUES (?1, ?2, ?3, ?3)",
                    params![idtext, username, now],
                )?;
                exec(
                    &tx,
                    "INSERT INTO user_device (id, user_id) VALUES (?1, ?2)",
                    params![device, idtext],
                )?;
            }
            Identity::Custom { id: custom } => {
                exec(
                    &tx,
                    "INSERT INTO users (id, username, custom_id, create_time, update_time) VALUES (?1, ?2, ?3, ?4, ?4)",
                    params![idtext, username, custom, now],
                )?;
            }
            Identity::Email { email, .. } => {
                exec(
                    &tx,
                    "INSERT INTO users (id, username, email, password, create_time, update_time) VALUES (?1, ?2, ?3, ?4, ?5, ?5)",
                    params![idtext, username, email, password, now],
                )?;
            }
        }
        tx.commit()?;
        Ok(id)
    }

    async fn authenticate_inner(
        &self,
        identity: Identity,
        username: String,
        create: bool,
    ) -> ApiResult<Authenticated> {
        let email_login = matches!(&identity, Identity::Email { email, .. } if email.is_empty());
        if let Some(found) = self.find(&identity)? {
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
                Some(common::hash_password(password.clone(), self.inner.hash_cost).await?)
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
            match self.create(&identity, &name, hash.as_deref()) {
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
                    // Someone created this identifier concurrently: use that account.
                    Some(_) => {
                        return match self.find(&identity)? {
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
        let uid = user.to_string();
        let now = now_secs();
        let hash = match &identity {
            Identity::Email { password, .. } => {
                Some(common::hash_password(password.clone(), self.inner.hash_cost).await?)
            }
            _ => None,
        };
        self.write(|c| {
            let result = match &identity {
                Identity::Device { id } => {
                    let owner: Option<String> = c
                        .query_row("SELECT user_id FROM user_device WHERE id = ?1", [id], |r| {
                            r.get(0)
                        })
                        .optional()
                        .map_err(db_err)?;
                    match owner {
                        Some(o) if o == uid => return Ok(()),
                        Some(_) => return Err(common::link_conflict(Unique::Device)),
                        None => {}
                    }
                    let tx = c.transaction().map_err(db_err)?;
                    let r = tx
                        .execute(
                            "INSERT INTO user_device (id, user_id) VALUES (?1, ?2)",
                            params![id, uid],
                        )
                        .and_then(|_| {
                            exec(
                                &tx,
                                "UPDATE users SET update_time = ?1 WHERE id = ?2",
                                params![now, uid],
                            )
                        });
                    match r {
                        Ok(_) => tx.commit().map(|_| 1),
                        Err(e) => Err(e),
                    }
                }
                Identity::Custom { id } => exec(
                    c,
                    "UPDATE users SET custom_id = ?1, update_time = ?2 WHERE id = ?3",
                    params![id, now, uid],
                ),
                Identity::Email { email, .. } => exec(
                    c,
                    "UPDATE users SET email = ?1, password = ?2, update_time = ?3 WHERE id = ?4",
                    params![email, hash, now, uid],
                ),
            };
            match result {
                Ok(0) => Err(common::user_not_found()),
                Ok(_) => Ok(()),
                Err(e) => match violation(&e) {
                    Some(_) if matches!(identity, Identity::Device { .. }) => {
                        // A foreign key failure means the account is gone.
                        if e.to_string().contains("FOREIGN KEY") {
                            Err(common::user_not_found())
                        } else {
                            Err(common::link_conflict(Unique::Device))
                        }
                    }
                    Some(kind) => Err(common::link_conflict(kind)),
                    None => Err(db_err(e)),
                },
            }
        })
    }

    fn unlink_inner(&self, user: Uuid, identity: Identity) -> ApiResult<()> {
        let uid = user.to_string();
        let now = now_secs();
        // Some identifier other than the one being removed must remain.
        const SOCIAL: &str = "facebook_id IS NOT NULL OR google_id IS NOT NULL OR gamecenter_id IS NOT NULL \
            OR steam_id IS NOT NULL OR apple_id IS NOT NULL OR facebook_instant_game_id IS NOT NULL";
        let changed = self.write(|c| {
            match &identity {
                Identity::Device { id } => exec(
                    c,
                    &format!(
                        "DELETE FROM user_device WHERE id = ?1 AND user_id = ?2 AND (
                           EXISTS (SELECT 1 FROM user_device WHERE user_id = ?2 AND id <> ?1)
                           OR EXISTS (SELECT 1 FROM users WHERE id = ?2 AND (email IS NOT NULL OR custom_id IS NOT NULL OR {SOCIAL})))"
                    ),
                    params![id, uid],
                ),
                Identity::Custom { id } => exec(
                    c,
                    &format!(
                        "UPDATE users SET custom_id = NULL, update_time = ?3 WHERE id = ?1 AND (?2 = '' OR custom_id = ?2) AND (
                           EXISTS (SELECT 1 FROM user_device WHERE user_id = ?1) OR email IS NOT NULL OR {SOCIAL})"
                    ),
                    params![uid, id, now],
                ),
                Identity::Email { email, .. } => exec(
                    c,
                    &format!(
                        "UPDATE users SET email = NULL, password = NULL, update_time = ?3 WHERE id = ?1 AND (?2 = '' OR email = ?2) AND (
                           EXISTS (SELECT 1 FROM user_device WHERE user_id = ?1) OR custom_id IS NOT NULL OR {SOCIAL})"
                    ),
                    params![uid, email, now],
                ),
            }
            .map_err(db_err)
        })?;
        if changed == 0 {
            Err(common::last_identifier())
        } else {
            Ok(())
        }
    }

    fn get_account_inner(&self, user: Uuid) -> ApiResult<Account> {
        self.read(|c| {
            let sql = format!("SELECT {USER_COLUMNS}, wallet, email, custom_id, verify_time, disable_time FROM users WHERE id = ?1");
            let found = c
                .query_row(&sql, [user.to_string()], |r| {
                    let u = user_from_row(r)?;
                    Ok(Account {
                        user: u,
                        wallet: r.get(17)?,
                        email: r.get::<_, Option<String>>(18)?.unwrap_or_default(),
                        devices: Vec::new(),
                        custom_id: r.get::<_, Option<String>>(19)?.unwrap_or_default(),
                        verify_time: r.get(20)?,
                        disable_time: r.get(21)?,
                    })
                })
                .optional()
                .map_err(db_err)?;
            let mut account = found.ok_or_else(common::user_not_found)?;
            let mut stmt = c.prepare_cached("SELECT id FROM user_device WHERE user_id = ?1 ORDER BY id").map_err(db_err)?;
            account.devices =
                stmt.query_map([user.to_string()], |r| r.get(0)).map_err(db_err)?.collect::<Result<_, _>>().map_err(db_err)?;
            Ok(account)
        })
    }

    fn update_account_inner(&self, user: Uuid, update: AccountUpdate) -> ApiResult<()> {
        let mut sets = Vec::new();
        let mut values: Vec<Option<String>> = Vec::new();
        let fields = [
            ("username", update.username),
            ("display_name", update.display_name),
            ("avatar_url", update.avatar_url),
            ("lang_tag", update.lang_tag),
            ("location", update.location),
            ("timezone", update.timezone),
        ];
        for (column, value) in fields {
            if let Some(v) = value {
                values.push(if v.is_empty() { None } else { Some(v) });
                sets.push(format!("{column} = ?{}", values.len()));
            }
        }
        if sets.is_empty() {
            return Ok(());
        }
        values.push(Some(now_secs().to_string()));
        sets.push(format!("update_time = CAST(?{} AS INTEGER)", values.len()));
        values.push(Some(user.to_string()));
        let sql = format!(
            "UPDATE users SET {} WHERE id = ?{}",
            sets.join(", "),
            values.len()
        );
        self.write(|c| match exec(c, &sql, params_from_iter(values.iter())) {
            Ok(_) => Ok(()),
            Err(e) if violation(&e) == Some(Unique::Username) => Err(common::username_taken()),
            Err(e) => Err(db_err(e)),
        })
    }

    fn delete_account_inner(&self, user: Uuid) -> ApiResult<()> {
        let uid = user.to_string();
        self.write(|c| {
            let tx = c.transaction().map_err(db_err)?;
            let deleted = tx
                .execute("DELETE FROM users WHERE id = ?1", [&uid])
                .map_err(db_err)?;
            if deleted > 0 {
                exec(&tx, "DELETE FROM user_device WHERE user_id = ?1", [&uid]).map_err(db_err)?;
                exec(
                    &tx,
                    "INSERT INTO user_tombstone (user_id, create_time) VALUES (?1, ?2)
                     ON CONFLICT (user_id) DO UPDATE SET create_time = excluded.create_time",
                    params![uid, now_secs()],
                )
                .map_err(db_err)?;
            }
            tx.commit().map_err(db_err)
        })
    }

    fn get_users_inner(&self, ids: Vec<Uuid>, usernames: Vec<String>) -> ApiResult<Vec<User>> {
        let mut keys: Vec<String> = ids.iter().map(Uuid::to_string).collect();
        let n_ids = keys.len();
        keys.extend(usernames);
        if keys.is_empty() {
            return Ok(Vec::new());
        }
        let marks = |range: std::ops::Range<usize>| {
            range
                .map(|i| format!("?{}", i + 1))
                .collect::<Vec<_>>()
                .join(",")
        };
        let mut conds = Vec::new();
        if n_ids > 0 {
            conds.push(format!("id IN ({})", marks(0..n_ids)));
        }
        if keys.len() > n_ids {
            conds.push(format!("username IN ({})", marks(n_ids..keys.len())));
        }
        let sql = format!(
            "SELECT {USER_COLUMNS} FROM users WHERE {}",
            conds.join(" OR ")
        );
        self.read(|c| {
            let mut stmt = c.prepare(&sql).map_err(db_err)?;
            stmt.query_map(params_from_iter(keys.iter()), user_from_row)
                .map_err(db_err)?
                .collect::<Result<Vec<_>, _>>()
                .map_err(db_err)
        })
    }
}

impl Store for SqliteStore {
    fn backend(&self) -> &'static str {
        "sqlite"
    }

    fn migrate_up(&self) -> BoxFuture<'_, ApiResult<Vec<MigrationStatus>>> {
        Box::pin(async move {
            self.write(|c| {
                c.execute_batch(
                    "CREATE TABLE IF NOT EXISTS migration_info (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)",
                )
                .map_err(db_err)?;
                for m in MIGRATIONS {
                    let tx = c.transaction().map_err(db_err)?;
                    let done: Option<i64> = tx
                        .query_row("SELECT applied_at FROM migration_info WHERE version = ?1", [m.version], |r| r.get(0))
                        .optional()
                        .map_err(db_err)?;
                    if done.is_none() {
                        tx.execute_batch(m.sqlite).map_err(|e| internal(&format!("migration {} {}", m.version, m.name), e))?;
                        exec(&tx,
                            "INSERT INTO migration_info (version, name, applied_at) VALUES (?1, ?2, ?3)",
                            params![m.version, m.name, now_secs()],
                        )
                        .map_err(db_err)?;
                        tracing::info!(version = m.version, name = m.name, "applied migration");
                    }
                    tx.commit().map_err(db_err)?;
                }
                Ok(())
            })?;
            self.migrate_status().await
        })
    }

    fn migrate_status(&self) -> BoxFuture<'_, ApiResult<Vec<MigrationStatus>>> {
        Box::pin(async move {
            let applied = self.read(|c| {
                let exists: bool = c
                    .query_row("SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'migration_info'", [], |r| {
                        r.get::<_, i64>(0)
                    })
                    .map_err(db_err)?
                    > 0;
                if !exists {
                    return Ok(Vec::new());
                }
                let mut stmt = c.prepare("SELECT version, applied_at FROM migration_info").map_err(db_err)?;
                stmt.query_map([], |r| Ok((r.get::<_, u32>(0)?, r.get::<_, i64>(1)?)))
                    .map_err(db_err)?
                    .collect::<Result<Vec<_>, _>>()
                    .map_err(db_err)
            })?;
            Ok(migrations::status(&applied))
        })
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
        Box::pin(async move { self.unlink_inner(user_id, identity) })
    }

    fn get_account(&self, user_id: Uuid) -> BoxFuture<'_, ApiResult<Account>> {
        Box::pin(async move { self.get_account_inner(user_id) })
    }

    fn update_account(&self, user_id: Uuid, update: AccountUpdate) -> BoxFuture<'_, ApiResult<()>> {
        Box::pin(async move { self.update_account_inner(user_id, update) })
    }

    fn delete_account(&self, user_id: Uuid) -> BoxFuture<'_, ApiResult<()>> {
        Box::pin(async move { self.delete_account_inner(user_id) })
    }

    fn get_users(
        &self,
        ids: Vec<Uuid>,
        usernames: Vec<String>,
    ) -> BoxFuture<'_, ApiResult<Vec<User>>> {
        Box::pin(async move { self.get_users_inner(ids, usernames) })
    }

    fn user_status(&self, user_id: Uuid) -> BoxFuture<'_, ApiResult<UserStatus>> {
        Box::pin(async move {
            self.read(|c| {
                c.query_row(
                    "SELECT username, disable_time FROM users WHERE id = ?1",
                    [user_id.to_string()],
                    |r| {
                        Ok(UserStatus {
                            username: r.get(0)?,
                            disabled: r.get::<_, Option<i64>>(1)?.is_some(),
                        })
                    },
                )
                .optional()
                .map_err(db_err)?
                .ok_or_else(common::user_not_found)
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
            self.write(|c| {
                exec(c,
                    "INSERT INTO session_revocation (token_id, user_id, expires_at) VALUES (?1, ?2, ?3)
                     ON CONFLICT (token_id) DO UPDATE SET expires_at = max(expires_at, excluded.expires_at)",
                    params![token_id.to_string(), user_id.to_string(), expires_at],
                )
                .map(|_| ())
                .map_err(db_err)
            })
        })
    }

    fn revoke_all(&self, user_id: Uuid, cutoff_millis: i64) -> BoxFuture<'_, ApiResult<()>> {
        Box::pin(async move {
            self.write(|c| {
                exec(c,
                    "INSERT INTO session_cutoff (user_id, cutoff_ms) VALUES (?1, ?2)
                     ON CONFLICT (user_id) DO UPDATE SET cutoff_ms = max(cutoff_ms, excluded.cutoff_ms)",
                    params![user_id.to_string(), cutoff_millis],
                )
                .map(|_| ())
                .map_err(db_err)
            })
        })
    }

    fn load_revocations(&self, now: i64) -> BoxFuture<'_, ApiResult<Revocations>> {
        Box::pin(async move {
            self.write(|c| {
                exec(
                    c,
                    "DELETE FROM session_revocation WHERE expires_at <= ?1",
                    [now],
                )
                .map_err(db_err)?;
                let mut out = Revocations::default();
                let mut stmt = c
                    .prepare("SELECT token_id, user_id, expires_at FROM session_revocation")
                    .map_err(db_err)?;
                let rows = stmt
                    .query_map([], |r| {
                        Ok((
                            r.get::<_, String>(0)?,
                            r.get::<_, String>(1)?,
                            r.get::<_, i64>(2)?,
                        ))
                    })
                    .map_err(db_err)?;
                for row in rows {
                    let (t, u, e) = row.map_err(db_err)?;
                    out.tokens.push((rows::uuid(&t)?, rows::uuid(&u)?, e));
                }
                let mut stmt = c
                    .prepare("SELECT user_id, cutoff_ms FROM session_cutoff")
                    .map_err(db_err)?;
                let rows = stmt
                    .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))
                    .map_err(db_err)?;
                for row in rows {
                    let (u, c) = row.map_err(db_err)?;
                    out.cutoffs.push((rows::uuid(&u)?, c));
                }
                Ok(out)
            })
        })
    }
}
