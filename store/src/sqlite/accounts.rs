//! Account queries on SQLite. Each runs in one transaction (or one
//! statement) so nothing is half-written; new accounts share theirs with
//! concurrent ones (group commit, see `group`), each in its own savepoint.
//! [`insert_account`] writes one new account's rows.

use std::collections::HashSet;
use std::future::Future;

use kairos_core::account::{Account, AccountUpdate, Authenticated, Identity, User, UserStatus};
use kairos_core::error::ApiResult;
use kairos_core::time::now_secs;
use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params, params_from_iter};
use uuid::Uuid;

use super::SqliteStore;
use super::db::{Db, db_err, exec, foreign_key_failed, uuid, violation};
use super::friends::recount;
use super::group::{self, NewAccount};
use super::rows::{USER_COLUMNS, user_from_row};
use crate::auth::{self, Accounts, Found, Inserted};
use crate::common::{self, Unique};
use crate::{AccountStore, BoxFuture, ExportRows};

/// Identifiers other than email, custom id and devices: an account keeps
/// one of these, or it cannot lose its last other identifier.
const SOCIAL: &str = "facebook_id IS NOT NULL OR google_id IS NOT NULL OR gamecenter_id IS NOT NULL \
    OR steam_id IS NOT NULL OR apple_id IS NOT NULL OR facebook_instant_game_id IS NOT NULL";

/// Most bound parameters per `IN (...)` list.
const CHUNK: usize = 500;

impl AccountStore for SqliteStore {
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

    fn link(&self, user_id: Uuid, identity: Identity) -> BoxFuture<'_, ApiResult<()>> {
        Box::pin(async move {
            let identity = common::normalize(identity);
            let hash = common::link_password_hash(&identity, self.hash_cost).await?;
            self.blocking(move |db| db.link(user_id, &identity, hash.as_deref()))
                .await
        })
    }

    fn unlink(&self, user_id: Uuid, identity: Identity) -> BoxFuture<'_, ApiResult<()>> {
        let identity = common::normalize(identity);
        Box::pin(self.blocking(move |db| db.unlink(user_id, &identity)))
    }

    fn get_account(&self, user_id: Uuid) -> BoxFuture<'_, ApiResult<Account>> {
        Box::pin(self.blocking(move |db| db.get_account(user_id)))
    }

    fn update_account(&self, user_id: Uuid, update: AccountUpdate) -> BoxFuture<'_, ApiResult<()>> {
        Box::pin(self.blocking(move |db| db.update_account(user_id, update)))
    }

    fn delete_account(&self, user_id: Uuid, recorded: bool) -> BoxFuture<'_, ApiResult<()>> {
        Box::pin(self.blocking(move |db| db.delete_account(user_id, recorded)))
    }

    fn set_disabled(&self, ids: Vec<Uuid>, disabled: bool) -> BoxFuture<'_, ApiResult<()>> {
        if ids.is_empty() {
            return Box::pin(async { Ok(()) });
        }
        Box::pin(self.blocking(move |db| db.set_disabled(&ids, disabled)))
    }

    fn export_rows(&self, user_id: Uuid) -> BoxFuture<'_, ApiResult<ExportRows>> {
        Box::pin(self.blocking(move |db| db.export_rows(user_id)))
    }

    fn user_ids_after(&self, after: Uuid, limit: usize) -> BoxFuture<'_, ApiResult<Vec<Uuid>>> {
        Box::pin(self.blocking(move |db| db.user_ids_after(after, limit)))
    }

    fn get_users(
        &self,
        ids: Vec<Uuid>,
        usernames: Vec<String>,
    ) -> BoxFuture<'_, ApiResult<Vec<User>>> {
        if ids.is_empty() && usernames.is_empty() {
            return Box::pin(async { Ok(Vec::new()) });
        }
        Box::pin(self.blocking(move |db| db.get_users(&ids, &usernames)))
    }

    fn user_status(&self, user_id: Uuid) -> BoxFuture<'_, ApiResult<UserStatus>> {
        Box::pin(self.blocking(move |db| db.user_status(user_id)))
    }
}

/// The two operations of the shared authenticate flow (`crate::auth`).
impl Accounts for SqliteStore {
    fn find<'a>(
        &'a self,
        identity: &'a Identity,
    ) -> impl Future<Output = ApiResult<Option<Found>>> + Send + 'a {
        let identity = identity.clone();
        self.blocking(move |db| db.find(&identity))
    }

    fn insert<'a>(
        &'a self,
        identity: &'a Identity,
        username: &'a str,
        password: Option<&'a [u8]>,
    ) -> impl Future<Output = ApiResult<Inserted>> + Send + 'a {
        let account = NewAccount::new(
            identity.clone(),
            username.to_string(),
            password.map(<[u8]>::to_vec),
        );
        let db = self.db.clone();
        async move {
            if !db.group().batching() {
                return self.blocking(move |db| db.insert_alone(account)).await;
            }
            // Group commit: the reply is awaited here, holding no thread.
            let (reply, lead) = db.group().submit(account);
            if lead {
                let leader = group::StartLeader::new(db);
                tokio::task::spawn_blocking(move || leader.run());
            }
            group::settle(reply.await)
        }
    }
}

impl Db {
    pub fn find(&self, identity: &Identity) -> ApiResult<Option<Found>> {
        let (sql, key) = match identity {
            Identity::Device { id } => (
                // A subquery, not a join: SQLite re-prepares the cached join
                // after every write (about 15% of the sign-up path's CPU);
                // this form stays prepared.
                "SELECT id, username, disable_time, password FROM users WHERE id = (SELECT user_id FROM user_device WHERE id = ?1)",
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
            let row = c
                .prepare_cached(sql)
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
                .map_err(db_err)?;
            row.map(|(id, username, disable, password)| {
                Ok(Found {
                    id: uuid(&id)?,
                    username,
                    disabled: disable.is_some(),
                    password,
                })
            })
            .transpose()
        })
    }

    /// Links an identifier; `password` is the hash for an email link.
    pub fn link(&self, user: Uuid, identity: &Identity, password: Option<&[u8]>) -> ApiResult<()> {
        let uid = user.to_string();
        let now = now_secs();
        self.write(|c| match identity {
            Identity::Device { id } => {
                let tx = c.transaction().map_err(db_err)?;
                let owner: Option<String> = tx
                    .prepare_cached("SELECT user_id FROM user_device WHERE id = ?1")
                    .map_err(db_err)?
                    .query_row([id], |r| r.get(0))
                    .optional()
                    .map_err(db_err)?;
                match owner {
                    Some(o) if o == uid => return Ok(()),
                    Some(_) => return Err(common::link_conflict(Unique::Device)),
                    None => {}
                }
                let inserted = exec(
                    &tx,
                    "INSERT INTO user_device (id, user_id) VALUES (?1, ?2)",
                    params![id, uid],
                );
                match inserted {
                    Ok(_) => {}
                    Err(e) if foreign_key_failed(&e) => return Err(common::user_not_found()),
                    Err(e) if violation(&e).is_some() => {
                        return Err(common::link_conflict(Unique::Device));
                    }
                    Err(e) => return Err(db_err(e)),
                }
                exec(
                    &tx,
                    "UPDATE users SET update_time = ?1 WHERE id = ?2",
                    params![now, uid],
                )
                .map_err(db_err)?;
                tx.commit().map_err(db_err)
            }
            // As Nakama: 0 rows (another account holds it, or the caller's
            // row is gone) is a conflict.
            Identity::Custom { id } => {
                let changed = exec(
                    c,
                    "UPDATE users SET custom_id = ?1, update_time = ?2 WHERE id = ?3
                     AND NOT EXISTS (SELECT 1 FROM users WHERE custom_id = ?1 AND id <> ?3)",
                    params![id, now, uid],
                );
                settle(changed, Unique::CustomId)
            }
            Identity::Email { email, .. } => {
                let changed = exec(
                    c,
                    "UPDATE users SET email = ?1, password = ?2, update_time = ?3 WHERE id = ?4
                     AND NOT EXISTS (SELECT 1 FROM users WHERE email = ?1 AND id <> ?4)",
                    params![email, password, now, uid],
                );
                settle(changed, Unique::Email)
            }
        })
    }

    /// Unlinks an identifier if the account keeps another one.
    pub fn unlink(&self, user: Uuid, identity: &Identity) -> ApiResult<()> {
        let uid = user.to_string();
        let now = now_secs();
        let changed = self.write(|c| {
            match identity {
                Identity::Device { id } => (|| {
                    let tx = c.transaction()?;
                    let n = exec(
                        &tx,
                        &format!(
                            "DELETE FROM user_device WHERE id = ?1 AND user_id = ?2 AND (
                               EXISTS (SELECT 1 FROM user_device WHERE user_id = ?2 AND id <> ?1)
                               OR EXISTS (SELECT 1 FROM users WHERE id = ?2 AND (email IS NOT NULL OR custom_id IS NOT NULL OR {SOCIAL})))"
                        ),
                        params![id, uid],
                    )?;
                    if n > 0 {
                        exec(&tx, "UPDATE users SET update_time = ?1 WHERE id = ?2", params![now, uid])?;
                    }
                    tx.commit().map(|_| n)
                })(),
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

    pub fn get_account(&self, user: Uuid) -> ApiResult<Account> {
        let uid = user.to_string();
        self.read(|c| {
            let sql = format!(
                "SELECT {USER_COLUMNS}, wallet, email, custom_id, verify_time, disable_time FROM users WHERE id = ?1"
            );
            let found = c
                .prepare_cached(&sql)
                .map_err(db_err)?
                .query_row([&uid], |r| {
                    Ok(Account {
                        user: user_from_row(r)?,
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
            let mut stmt = c
                .prepare_cached("SELECT id FROM user_device WHERE user_id = ?1 ORDER BY id")
                .map_err(db_err)?;
            account.devices = stmt
                .query_map([&uid], |r| r.get(0))
                .map_err(db_err)?
                .collect::<Result<_, _>>()
                .map_err(db_err)?;
            Ok(account)
        })
    }

    /// Sets the given fields ("" clears one). Like Nakama, it writes (and
    /// bumps `update_time`) only when some value actually differs.
    pub fn update_account(&self, user: Uuid, update: AccountUpdate) -> ApiResult<()> {
        self.write(|c| account_update_in(c, user, &update))
    }

    /// Deletes the user, devices, friend edges (both ways, recounting the
    /// `edge_count` of the users who had one to it), notifications and
    /// group memberships (`groups::remove_user`), and writes a tombstone; a
    /// missing user is not an error. Chat messages stay.
    pub fn delete_account(&self, user: Uuid, recorded: bool) -> ApiResult<()> {
        let uid = user.to_string();
        self.write(|c| {
            let tx = c
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(db_err)?;
            let counterparts: Vec<String> = tx
                .prepare_cached("SELECT source_id FROM user_edge WHERE destination_id = ?1")
                .map_err(db_err)?
                .query_map([&uid], |r| r.get(0))
                .map_err(db_err)?
                .collect::<Result<_, _>>()
                .map_err(db_err)?;
            exec(
                &tx,
                "DELETE FROM user_edge WHERE destination_id = ?1",
                [&uid],
            )
            .map_err(db_err)?;
            exec(&tx, "DELETE FROM user_edge WHERE source_id = ?1", [&uid]).map_err(db_err)?;
            exec(&tx, "DELETE FROM notification WHERE user_id = ?1", [&uid]).map_err(db_err)?;
            exec(&tx, "DELETE FROM storage WHERE user_id = ?1", [&uid]).map_err(db_err)?;
            exec(
                &tx,
                "DELETE FROM leaderboard_record WHERE owner_id = ?1",
                [&uid],
            )
            .map_err(db_err)?;
            recount(&tx, counterparts.iter().map(String::as_str))?;
            super::groups::remove_user(&tx, &uid)?;
            exec(&tx, "DELETE FROM user_device WHERE user_id = ?1", [&uid]).map_err(db_err)?;
            let deleted = exec(&tx, "DELETE FROM users WHERE id = ?1", [&uid]).map_err(db_err)?;
            if deleted > 0 && recorded {
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

    /// Sets (`disabled`) or clears each of `ids`' `disable_time`.
    pub fn set_disabled(&self, ids: &[Uuid], disabled: bool) -> ApiResult<()> {
        let at = disabled.then(now_secs);
        self.write(|c| {
            let tx = c
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(db_err)?;
            for chunk in ids.chunks(CHUNK) {
                let marks = (2..chunk.len() + 2)
                    .map(|i| format!("?{i}"))
                    .collect::<Vec<_>>()
                    .join(",");
                let sql = format!("UPDATE users SET disable_time = ?1 WHERE id IN ({marks})");
                let mut args: Vec<rusqlite::types::Value> = vec![at.into()];
                args.extend(chunk.iter().map(|id| id.to_string().into()));
                exec(&tx, &sql, params_from_iter(args.iter())).map_err(db_err)?;
            }
            tx.commit().map_err(db_err)
        })
    }

    /// The user's storage objects, sent messages and records, in one read.
    pub fn export_rows(&self, user: Uuid) -> ApiResult<ExportRows> {
        let uid = user.to_string();
        self.read(|c| {
            Ok(ExportRows {
                objects: super::storage::objects_of(c, &uid)?,
                messages: super::messages::sent_by(c, &uid)?,
                records: super::leaderboards::records_of_owner(c, &uid)?,
            })
        })
    }

    /// Users by ids or usernames; unknown ones are left out, each user once.
    /// At most `limit` user ids greater than `after`, in id order (ids are
    /// stored as lower-case hyphenated text, which sorts as the ids do).
    pub fn user_ids_after(&self, after: Uuid, limit: usize) -> ApiResult<Vec<Uuid>> {
        self.read(|c| {
            let mut stmt = c
                .prepare_cached("SELECT id FROM users WHERE id > ?1 ORDER BY id LIMIT ?2")
                .map_err(db_err)?;
            let rows = stmt
                .query_map(
                    params![after.to_string(), crate::common::sql_limit(limit)],
                    |r| super::rows::uuid_at(r, 0),
                )
                .map_err(db_err)?;
            rows.collect::<Result<_, _>>().map_err(db_err)
        })
    }

    pub fn get_users(&self, ids: &[Uuid], usernames: &[String]) -> ApiResult<Vec<User>> {
        let ids: Vec<String> = ids.iter().map(Uuid::to_string).collect();
        let mut seen = HashSet::new();
        let mut out = Vec::new();
        self.read(|c| {
            for (column, keys) in [("id", &ids), ("username", &usernames.to_vec())] {
                for chunk in keys.chunks(CHUNK) {
                    let marks = (1..=chunk.len())
                        .map(|i| format!("?{i}"))
                        .collect::<Vec<_>>()
                        .join(",");
                    let sql =
                        format!("SELECT {USER_COLUMNS} FROM users WHERE {column} IN ({marks})");
                    let mut stmt = c.prepare(&sql).map_err(db_err)?;
                    let users = stmt
                        .query_map(params_from_iter(chunk.iter()), user_from_row)
                        .map_err(db_err)?;
                    for user in users {
                        let user = user.map_err(db_err)?;
                        if seen.insert(user.id) {
                            out.push(user);
                        }
                    }
                }
            }
            Ok(())
        })?;
        Ok(out)
    }

    pub fn user_status(&self, user: Uuid) -> ApiResult<UserStatus> {
        self.read(|c| {
            c.prepare_cached("SELECT username, disable_time FROM users WHERE id = ?1")
                .map_err(db_err)?
                .query_row([user.to_string()], |r| {
                    Ok(UserStatus {
                        username: r.get(0)?,
                        disabled: r.get::<_, Option<i64>>(1)?.is_some(),
                    })
                })
                .optional()
                .map_err(db_err)?
                .ok_or_else(common::user_not_found)
        })
    }
}

/// The outcome of a link's single UPDATE: no row changed, or a unique
/// index refusing it, is a conflict on `kind`.
fn settle(changed: rusqlite::Result<usize>, kind: Unique) -> ApiResult<()> {
    match changed {
        Ok(0) => Err(common::link_conflict(kind)),
        Ok(_) => Ok(()),
        Err(e) if violation(&e).is_some() => Err(common::link_conflict(kind)),
        Err(e) => Err(db_err(e)),
    }
}

/// Writes one new account's rows (the user, and its device) on `c`, inside
/// the caller's transaction.
pub(super) fn insert_account(c: &Connection, a: &NewAccount) -> rusqlite::Result<()> {
    let id = a.id.to_string();
    match &a.identity {
        Identity::Device { id: device } => {
            exec(
                c,
                "INSERT INTO users (id, username, create_time, update_time) VALUES (?1, ?2, ?3, ?3)",
                params![id, a.username, a.now],
            )?;
            exec(
                c,
                "INSERT INTO user_device (id, user_id) VALUES (?1, ?2)",
                params![device, id],
            )?;
        }
        Identity::Custom { id: custom } => {
            exec(
                c,
                "INSERT INTO users (id, username, custom_id, create_time, update_time) VALUES (?1, ?2, ?3, ?4, ?4)",
                params![id, a.username, custom, a.now],
            )?;
        }
        Identity::Email { email, .. } => {
            exec(
                c,
                "INSERT INTO users (id, username, email, password, create_time, update_time) VALUES (?1, ?2, ?3, ?4, ?5, ?5)",
                params![id, a.username, email, a.password, a.now],
            )?;
        }
    }
    Ok(())
}

/// Applies one account update on `c` (the writer, or a transaction on it;
/// see `AccountStore::update_account`): sets the given fields, `""`
/// clearing one, and bumps `update_time`, only when some value differs.
/// A missing user changes nothing. AlreadyExists "Username is already in
/// use." on a taken username.
pub(super) fn account_update_in(
    c: &Connection,
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
    let mut values: Vec<Option<String>> = Vec::new();
    for (column, value) in fields {
        if let Some(v) = value {
            values.push(if v.is_empty() { None } else { Some(v.clone()) });
            sets.push(format!("{column} = ?{}", values.len()));
            differs.push(format!("{column} IS NOT ?{}", values.len()));
        }
    }
    if sets.is_empty() {
        return Ok(());
    }
    values.push(Some(now_secs().to_string()));
    sets.push(format!("update_time = CAST(?{} AS INTEGER)", values.len()));
    values.push(Some(user.to_string()));
    let sql = format!(
        "UPDATE users SET {} WHERE id = ?{} AND ({})",
        sets.join(", "),
        values.len(),
        differs.join(" OR ")
    );
    match exec(c, &sql, params_from_iter(values.iter())) {
        Ok(_) => Ok(()),
        Err(e) if violation(&e) == Some(Unique::Username) => Err(common::username_taken()),
        Err(e) => Err(db_err(e)),
    }
}
