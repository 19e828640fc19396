//! Account queries on PostgreSQL / CockroachDB. Multi-statement changes run
//! in a transaction.

use std::sync::LazyLock;

use kairos_core::account::{Account, AccountUpdate, Authenticated, Identity, User, UserStatus};
use kairos_core::error::ApiResult;
use kairos_core::time::now_secs;
use tokio_postgres::GenericClient;
use tokio_postgres::error::SqlState;
use tokio_postgres::types::ToSql;
use uuid::Uuid;

use super::rows::{USER_COLUMNS, get, text, user_from_row};
use super::{PgStore, db_err, friends, violation};
use crate::auth::{self, Accounts, Found, Inserted};
use crate::common::{self, Unique, internal};
use crate::{AccountStore, BoxFuture, ExportRows};

/// Identifiers other than email, custom id and devices.
const SOCIAL: &str = "facebook_id IS NOT NULL OR google_id IS NOT NULL OR gamecenter_id IS NOT NULL \
    OR steam_id IS NOT NULL OR apple_id IS NOT NULL OR facebook_instant_game_id IS NOT NULL";

static ACCOUNT_SQL: LazyLock<String> = LazyLock::new(|| {
    format!(
        "SELECT {USER_COLUMNS}, wallet, email, custom_id, verify_time, disable_time FROM users WHERE id = $1"
    )
});

static USERS_SQL: LazyLock<String> = LazyLock::new(|| {
    format!("SELECT {USER_COLUMNS} FROM users WHERE id = ANY($1) OR username = ANY($2)")
});

impl AccountStore for PgStore {
    fn authenticate(
        &self,
        identity: Identity,
        username: String,
        create: bool,
    ) -> BoxFuture<'_, ApiResult<Authenticated>> {
        Box::pin(auth::authenticate(
            self,
            identity,
            username,
            create,
            self.hash_cost,
        ))
    }

    /// Links an identifier; `password` is the hash for an email link.
    fn link(&self, user: Uuid, identity: Identity) -> BoxFuture<'_, ApiResult<()>> {
        Box::pin(async move {
            let identity = common::normalize(identity);
            let hash = common::link_password_hash(&identity, self.hash_cost).await?;
            let (identity, password) = (&identity, hash.as_deref());
            let now = now_secs();
            let mut conn = self.pool.get().await?;
            match identity {
                Identity::Device { id } => {
                    let stmt = conn
                        .prepare("SELECT user_id FROM user_device WHERE id = $1")
                        .await?;
                    let owner = conn.client.query_opt(&stmt, &[id]).await.map_err(db_err)?;
                    match owner.map(|r| get::<Uuid>(&r, 0)).transpose()? {
                        Some(o) if o == user => return Ok(()),
                        Some(_) => return Err(common::link_conflict(Unique::Device)),
                        None => {}
                    }
                    let result = async {
                        let tx = conn.client.transaction().await?;
                        tx.execute(
                            "INSERT INTO user_device (id, user_id) VALUES ($1, $2)",
                            &[id, &user],
                        )
                        .await?;
                        tx.execute(
                            "UPDATE users SET update_time = $1 WHERE id = $2",
                            &[&now, &user],
                        )
                        .await?;
                        tx.commit().await
                    }
                    .await;
                    match result {
                        Ok(()) => Ok(()),
                        Err(e) if e.code() == Some(&SqlState::FOREIGN_KEY_VIOLATION) => {
                            Err(common::user_not_found())
                        }
                        Err(e) if violation(&e).is_some() => {
                            Err(common::link_conflict(Unique::Device))
                        }
                        Err(e) => Err(db_err(e)),
                    }
                }
                // As Nakama: 0 rows (another account holds it, or the caller's
                // row is gone) is a conflict.
                Identity::Custom { id } => {
                    let stmt = conn
                        .prepare(
                            "UPDATE users SET custom_id = $1, update_time = $2 WHERE id = $3
                             AND NOT EXISTS (SELECT 1 FROM users WHERE custom_id = $1 AND id <> $3)",
                        )
                        .await?;
                    settle(
                        conn.client.execute(&stmt, &[id, &now, &user]).await,
                        Unique::CustomId,
                    )
                }
                Identity::Email { email, .. } => {
                    let stmt = conn
                        .prepare(
                            "UPDATE users SET email = $1, password = $2, update_time = $3 WHERE id = $4
                             AND NOT EXISTS (SELECT 1 FROM users WHERE email = $1 AND id <> $4)",
                        )
                        .await?;
                    settle(
                        conn.client
                            .execute(&stmt, &[email, &password, &now, &user])
                            .await,
                        Unique::Email,
                    )
                }
            }
        })
    }

    /// Unlinks an identifier if the account keeps another one.
    fn unlink(&self, user: Uuid, identity: Identity) -> BoxFuture<'_, ApiResult<()>> {
        Box::pin(async move {
            let identity = common::normalize(identity);
            let identity = &identity;
            let now = now_secs();
            let mut conn = self.pool.get().await?;
            let changed = match identity {
                Identity::Device { id } => {
                    async {
                        let tx = conn.client.transaction().await?;
                        let n = tx
                            .execute(
                                &format!(
                                    "DELETE FROM user_device WHERE id = $1 AND user_id = $2 AND (
                                       EXISTS (SELECT 1 FROM user_device WHERE user_id = $2 AND id <> $1)
                                       OR EXISTS (SELECT 1 FROM users WHERE id = $2 AND (email IS NOT NULL OR custom_id IS NOT NULL OR {SOCIAL})))"
                                ),
                                &[id, &user],
                            )
                            .await?;
                        if n > 0 {
                            tx.execute(
                                "UPDATE users SET update_time = $1 WHERE id = $2",
                                &[&now, &user],
                            )
                            .await?;
                        }
                        tx.commit().await.map(|_| n)
                    }
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
        })
    }

    fn get_account(&self, user: Uuid) -> BoxFuture<'_, ApiResult<Account>> {
        Box::pin(async move {
            let mut conn = self.pool.get().await?;
            let stmt = conn.prepare(ACCOUNT_SQL.as_str()).await?;
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
                .map(|r| get(r, 0))
                .collect::<ApiResult<_>>()?;
            Ok(Account {
                user: user_from_row(&row)?,
                wallet: get(&row, 17)?,
                email: text(&row, 18)?,
                devices,
                custom_id: text(&row, 19)?,
                verify_time: get(&row, 20)?,
                disable_time: get(&row, 21)?,
            })
        })
    }

    /// Sets the given fields ("" clears one). Like Nakama, it writes (and
    /// bumps `update_time`) only when some value actually differs.
    fn update_account(&self, user: Uuid, update: AccountUpdate) -> BoxFuture<'_, ApiResult<()>> {
        Box::pin(async move {
            let conn = self.pool.get().await?;
            account_update_in(&conn.client, user, &update).await
        })
    }

    /// Deletes the user, devices, friend edges (both ways, recounting the
    /// `edge_count` of the users who had one to it) and notifications, and
    /// writes a tombstone; a missing user is not an error. Chat messages
    /// stay.
    fn delete_account(&self, user: Uuid, recorded: bool) -> BoxFuture<'_, ApiResult<()>> {
        Box::pin(async move {
            let mut conn = self.pool.get().await?;
            let lock = conn.prepare(friends::LOCK_USERS).await?;
            let recount = conn.prepare(friends::RECOUNT).await?;
            let tx = conn.client.transaction().await.map_err(db_err)?;
            // Lock the user and everyone with an edge to it, in id order as
            // friend changes do; once the user is locked nobody adds an edge to
            // it, so the edges deleted below are the ones to recount for.
            let ids_of = |rows: Vec<tokio_postgres::Row>| -> ApiResult<Vec<Uuid>> {
                rows.iter().map(|r| get(r, 0)).collect()
            };
            let seen = ids_of(
                tx.query(
                    "SELECT source_id FROM user_edge WHERE destination_id = $1",
                    &[&user],
                )
                .await
                .map_err(db_err)?,
            )?;
            let mut locked: Vec<Uuid> = std::iter::once(user).chain(seen).collect();
            friends::lock_users(&tx, &lock, &locked).await?;
            let counterparts = ids_of(
                tx.query(
                    "DELETE FROM user_edge WHERE destination_id = $1 RETURNING source_id",
                    &[&user],
                )
                .await
                .map_err(db_err)?,
            )?;
            tx.execute("DELETE FROM user_edge WHERE source_id = $1", &[&user])
                .await
                .map_err(db_err)?;
            tx.execute("DELETE FROM notification WHERE user_id = $1", &[&user])
                .await
                .map_err(db_err)?;
            // Lock the user's objects in the order storage batches lock
            // them (collection, key, as bytes): the delete alone would lock
            // them in the owner index's order, and deadlock with a batch.
            tx.execute(
                "SELECT 1 FROM storage WHERE user_id = $1
                 ORDER BY collection COLLATE \"C\", key COLLATE \"C\" FOR UPDATE",
                &[&user],
            )
            .await
            .map_err(db_err)?;
            tx.execute("DELETE FROM storage WHERE user_id = $1", &[&user])
                .await
                .map_err(db_err)?;
            tx.execute(
                "DELETE FROM leaderboard_record WHERE owner_id = $1",
                &[&user],
            )
            .await
            .map_err(db_err)?;
            // Edges added between the first look and the lock: lock those
            // users too before recounting them.
            locked.sort_unstable();
            let late: Vec<Uuid> = counterparts
                .iter()
                .filter(|id| locked.binary_search(id).is_err())
                .copied()
                .collect();
            if !late.is_empty() {
                friends::lock_users(&tx, &lock, &late).await?;
            }
            friends::recount(&tx, &recount, &counterparts).await?;
            super::groups::remove_user(&tx, user).await?;
            tx.execute("DELETE FROM user_device WHERE user_id = $1", &[&user])
                .await
                .map_err(db_err)?;
            let deleted = tx
                .execute("DELETE FROM users WHERE id = $1", &[&user])
                .await
                .map_err(db_err)?;
            if deleted > 0 && recorded {
                tx.execute(
                    "INSERT INTO user_tombstone (user_id, create_time) VALUES ($1, $2)
                     ON CONFLICT (user_id) DO UPDATE SET create_time = excluded.create_time",
                    &[&user, &now_secs()],
                )
                .await
                .map_err(db_err)?;
            }
            tx.commit().await.map_err(db_err)
        })
    }

    /// Users by ids or usernames; unknown ones are left out.
    fn get_users(
        &self,
        ids: Vec<Uuid>,
        usernames: Vec<String>,
    ) -> BoxFuture<'_, ApiResult<Vec<User>>> {
        Box::pin(async move {
            let (ids, usernames) = (&ids[..], &usernames[..]);
            if ids.is_empty() && usernames.is_empty() {
                return Ok(Vec::new());
            }
            let mut conn = self.pool.get().await?;
            let stmt = conn.prepare(USERS_SQL.as_str()).await?;
            let rows = conn
                .client
                .query(&stmt, &[&ids, &usernames])
                .await
                .map_err(db_err)?;
            rows.iter().map(user_from_row).collect()
        })
    }

    fn user_ids_after(&self, after: Uuid, limit: usize) -> BoxFuture<'_, ApiResult<Vec<Uuid>>> {
        Box::pin(async move {
            let limit = common::sql_limit(limit);
            let mut conn = self.pool.get().await?;
            let stmt = conn
                .prepare("SELECT id FROM users WHERE id > $1 ORDER BY id LIMIT $2")
                .await?;
            let rows = conn
                .client
                .query(&stmt, &[&after, &limit])
                .await
                .map_err(db_err)?;
            rows.iter().map(|r| get(r, 0)).collect()
        })
    }

    fn set_disabled(&self, ids: Vec<Uuid>, disabled: bool) -> BoxFuture<'_, ApiResult<()>> {
        Box::pin(async move {
            if ids.is_empty() {
                return Ok(());
            }
            let at = disabled.then(now_secs);
            let mut conn = self.pool.get().await?;
            let stmt = conn
                .prepare("UPDATE users SET disable_time = $1 WHERE id = ANY($2)")
                .await?;
            conn.client
                .execute(&stmt, &[&at, &ids])
                .await
                .map_err(db_err)?;
            Ok(())
        })
    }

    fn export_rows(&self, user: Uuid) -> BoxFuture<'_, ApiResult<ExportRows>> {
        Box::pin(async move {
            let mut conn = self.pool.get().await?;
            Ok(ExportRows {
                objects: super::storage::objects_of(&mut conn, user).await?,
                messages: super::messages::sent_by(&mut conn, user).await?,
                records: super::leaderboards::records_of_owner(&mut conn, user).await?,
            })
        })
    }

    fn user_status(&self, user: Uuid) -> BoxFuture<'_, ApiResult<UserStatus>> {
        Box::pin(async move {
            let mut conn = self.pool.get().await?;
            let stmt = conn
                .prepare("SELECT username, disable_time FROM users WHERE id = $1")
                .await?;
            let row = conn
                .client
                .query_opt(&stmt, &[&user])
                .await
                .map_err(db_err)?
                .ok_or_else(common::user_not_found)?;
            Ok(UserStatus {
                username: get(&row, 0)?,
                disabled: get::<Option<i64>>(&row, 1)?.is_some(),
            })
        })
    }
}

/// The two operations of the shared authenticate flow (`crate::auth`).
impl Accounts for PgStore {
    async fn find<'a>(&'a self, identity: &'a Identity) -> ApiResult<Option<Found>> {
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
        row.map(|r| {
            Ok(Found {
                id: get(&r, 0)?,
                username: get(&r, 1)?,
                disabled: get::<Option<i64>>(&r, 2)?.is_some(),
                password: get(&r, 3)?,
            })
        })
        .transpose()
    }

    /// Inserts a user (and its device) in one transaction.
    async fn insert<'a>(
        &'a self,
        identity: &'a Identity,
        username: &'a str,
        password: Option<&'a [u8]>,
    ) -> ApiResult<Inserted> {
        let id = Uuid::new_v4();
        let now = now_secs();
        let mut conn = self.pool.get().await?;
        let result = async {
            let tx = conn.client.transaction().await?;
            match identity {
                Identity::Device { id: device } => {
                    tx.execute(
                        "INSERT INTO users (id, username, create_time, update_time) VALUES ($1, $2, $3, $3)",
                        &[&id, &username, &now],
                    )
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
            tx.commit().await
        }
        .await;
        match result {
            Ok(()) => Ok(Inserted::Created(id)),
            Err(e) => match violation(&e) {
                Some(kind) => Ok(Inserted::Taken(kind)),
                None => Err(internal("account creation", e)),
            },
        }
    }
}

/// The outcome of a link's single UPDATE: no row changed, or a unique
/// index refusing it, is a conflict on `kind`.
fn settle(changed: Result<u64, tokio_postgres::Error>, kind: Unique) -> ApiResult<()> {
    match changed {
        Ok(0) => Err(common::link_conflict(kind)),
        Ok(_) => Ok(()),
        Err(e) if violation(&e).is_some() => Err(common::link_conflict(kind)),
        Err(e) => Err(db_err(e)),
    }
}

/// Applies one account update on `c` (a connection, or a transaction; see
/// `AccountStore::update_account`): sets the given fields, `""` clearing
/// one, and bumps `update_time`, only when some value differs. A missing
/// user changes nothing. AlreadyExists "Username is already in use." on a
/// taken username.
pub(super) async fn account_update_in(
    c: &(impl GenericClient + Sync),
    user: Uuid,
    update: &AccountUpdate,
) -> ApiResult<()> {
    let fields = [
        ("username", &update.username),
        ("display_name", &update.display_name),
        ("avatar_url", &update.avatar_url),
        ("lang_tag", &update.lang_tag),
        ("location", &update.location),
        ("timezone", &update.timezone),
        ("metadata", &update.metadata),
    ];
    let mut sets = Vec::new();
    let mut differs = Vec::new();
    let mut values: Vec<Option<&str>> = Vec::new();
    for (column, value) in fields {
        if let Some(v) = value {
            values.push(if v.is_empty() { None } else { Some(v) });
            sets.push(format!("{column} = ${}", values.len()));
            differs.push(format!("{column} IS DISTINCT FROM ${}", values.len()));
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
        "UPDATE users SET {} WHERE id = ${} AND ({})",
        sets.join(", "),
        params.len(),
        differs.join(" OR ")
    );
    match c.execute(sql.as_str(), &params).await {
        Ok(_) => Ok(()),
        Err(e) if violation(&e) == Some(Unique::Username) => Err(common::username_taken()),
        Err(e) => Err(db_err(e)),
    }
}
