//! The PostgreSQL / CockroachDB backend, through tokio-postgres (no TLS) on
//! the persistence pool's runtime.
//!
//! CockroachDB notes: the SQL avoids PostgreSQL-only syntax except partial
//! unique indexes (CockroachDB 20.2+) and `pg_advisory_lock`, for which
//! migrations fall back to a lock row when it is missing.

mod accounts;
mod friends;
mod messages;
mod notifications;
mod pool;
mod rows;
mod schema;
mod sessions;

use std::future::Future;
use std::str::FromStr;

use kairos_core::account::{Account, AccountUpdate, Authenticated, Identity, User, UserStatus};
use kairos_core::channel::{ChannelMessage, MessageKey};
use kairos_core::error::{ApiError, ApiResult};
use kairos_core::friend::{
    FofCursor, Friend, FriendAdded, FriendCursor, FriendOfFriend, FriendState,
};
use kairos_core::notification::Notification;
use kairos_core::stream::StreamId;
use tokio_postgres::Config;
use tokio_postgres::error::SqlState;
use uuid::Uuid;

use crate::auth::{self, Accounts, Found, Inserted};
use crate::common::{self, Unique, internal, unique_kind};
use crate::{BoxFuture, MigrationStatus, Revocations, Store};
use pool::PgPool;

/// The PostgreSQL [`Store`].
pub struct PgStore {
    pool: PgPool,
    hash_cost: u32,
}

fn db_err(e: tokio_postgres::Error) -> ApiError {
    internal("postgres query", e)
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

impl Accounts for PgStore {
    fn find<'a>(
        &'a self,
        identity: &'a Identity,
    ) -> impl Future<Output = ApiResult<Option<Found>>> + Send + 'a {
        self.find_account(identity)
    }

    fn insert<'a>(
        &'a self,
        identity: &'a Identity,
        username: &'a str,
        password: Option<&'a [u8]>,
    ) -> impl Future<Output = ApiResult<Inserted>> + Send + 'a {
        self.insert_account(identity, username, password)
    }
}

impl Store for PgStore {
    fn backend(&self) -> &'static str {
        "postgres"
    }

    fn migrate_up(&self) -> BoxFuture<'_, ApiResult<Vec<MigrationStatus>>> {
        Box::pin(self.migrate_up_rows())
    }

    fn migrate_status(&self) -> BoxFuture<'_, ApiResult<Vec<MigrationStatus>>> {
        Box::pin(self.migrate_status_rows())
    }

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
            let hash = match &identity {
                Identity::Email { password, .. } => {
                    common::hash_password_for_link(password.clone(), self.hash_cost).await?
                }
                _ => None,
            };
            self.link_account(user_id, &identity, hash.as_deref()).await
        })
    }

    fn unlink(&self, user_id: Uuid, identity: Identity) -> BoxFuture<'_, ApiResult<()>> {
        Box::pin(async move {
            let identity = common::normalize(identity);
            self.unlink_account(user_id, &identity).await
        })
    }

    fn get_account(&self, user_id: Uuid) -> BoxFuture<'_, ApiResult<Account>> {
        Box::pin(self.get_account_row(user_id))
    }

    fn update_account(&self, user_id: Uuid, update: AccountUpdate) -> BoxFuture<'_, ApiResult<()>> {
        Box::pin(self.update_account_row(user_id, update))
    }

    fn delete_account(&self, user_id: Uuid) -> BoxFuture<'_, ApiResult<()>> {
        Box::pin(self.delete_account_rows(user_id))
    }

    fn get_users(
        &self,
        ids: Vec<Uuid>,
        usernames: Vec<String>,
    ) -> BoxFuture<'_, ApiResult<Vec<User>>> {
        Box::pin(async move { self.get_user_rows(&ids, &usernames).await })
    }

    fn user_status(&self, user_id: Uuid) -> BoxFuture<'_, ApiResult<UserStatus>> {
        Box::pin(self.user_status_row(user_id))
    }

    fn revoke_token(
        &self,
        user_id: Uuid,
        token_id: Uuid,
        expires_at: i64,
    ) -> BoxFuture<'_, ApiResult<()>> {
        Box::pin(self.revoke_token_row(user_id, token_id, expires_at))
    }

    fn revoke_all(&self, user_id: Uuid, cutoff_millis: i64) -> BoxFuture<'_, ApiResult<()>> {
        Box::pin(self.revoke_all_row(user_id, cutoff_millis))
    }

    fn load_revocations(&self, now: i64) -> BoxFuture<'_, ApiResult<Revocations>> {
        Box::pin(self.load_revocation_rows(now))
    }

    fn add_friends(
        &self,
        user: Uuid,
        ids: Vec<Uuid>,
        metadata: String,
    ) -> BoxFuture<'_, ApiResult<Vec<FriendAdded>>> {
        Box::pin(async move {
            let ids = common::distinct_others(user, ids);
            if ids.is_empty() {
                return Ok(Vec::new());
            }
            self.add_friend_rows(user, &ids, &metadata).await
        })
    }

    fn delete_friends(&self, user: Uuid, ids: Vec<Uuid>) -> BoxFuture<'_, ApiResult<Vec<Uuid>>> {
        Box::pin(async move {
            let ids = common::distinct_others(user, ids);
            if ids.is_empty() {
                return Ok(Vec::new());
            }
            self.delete_friend_rows(user, &ids).await
        })
    }

    fn block_friends(&self, user: Uuid, ids: Vec<Uuid>) -> BoxFuture<'_, ApiResult<Vec<Uuid>>> {
        Box::pin(async move {
            let ids = common::distinct_others(user, ids);
            if ids.is_empty() {
                return Ok(Vec::new());
            }
            self.block_friend_rows(user, &ids).await
        })
    }

    fn list_friends(
        &self,
        user: Uuid,
        state: Option<FriendState>,
        after: Option<FriendCursor>,
        limit: usize,
    ) -> BoxFuture<'_, ApiResult<Vec<Friend>>> {
        Box::pin(self.list_friend_rows(user, state, after, limit))
    }

    fn list_friends_of_friends(
        &self,
        user: Uuid,
        after: Option<FofCursor>,
        limit: usize,
    ) -> BoxFuture<'_, ApiResult<Vec<FriendOfFriend>>> {
        Box::pin(self.list_fof_rows(user, after, limit))
    }

    fn can_message(&self, from: Uuid, to: Uuid) -> BoxFuture<'_, ApiResult<bool>> {
        Box::pin(self.can_message_row(from, to))
    }

    fn save_notifications(&self, notifications: Vec<Notification>) -> BoxFuture<'_, ApiResult<()>> {
        Box::pin(async move {
            if notifications.is_empty() {
                return Ok(());
            }
            self.save_notification_rows(notifications).await
        })
    }

    fn list_notifications(
        &self,
        user: Uuid,
        after: Option<(i64, Uuid)>,
        limit: usize,
    ) -> BoxFuture<'_, ApiResult<Vec<Notification>>> {
        Box::pin(self.list_notification_rows(user, after, limit))
    }

    fn delete_notifications(&self, user: Uuid, ids: Vec<Uuid>) -> BoxFuture<'_, ApiResult<()>> {
        Box::pin(async move {
            if ids.is_empty() {
                return Ok(());
            }
            self.delete_notification_rows(user, &ids).await
        })
    }

    fn insert_message(&self, message: ChannelMessage) -> BoxFuture<'_, ApiResult<()>> {
        Box::pin(async move { self.insert_message_row(&message).await })
    }

    fn update_message(
        &self,
        stream: StreamId,
        id: Uuid,
        sender: Uuid,
        username: String,
        content: String,
        update_time: i64,
    ) -> BoxFuture<'_, ApiResult<Option<i64>>> {
        Box::pin(async move {
            self.update_message_row(&stream, id, sender, &username, &content, update_time)
                .await
        })
    }

    fn remove_message(
        &self,
        stream: StreamId,
        id: Uuid,
        sender: Uuid,
    ) -> BoxFuture<'_, ApiResult<Option<(i64, i64)>>> {
        Box::pin(async move { self.remove_message_row(&stream, id, sender).await })
    }

    fn list_messages(
        &self,
        stream: StreamId,
        ascending: bool,
        after: Option<MessageKey>,
        limit: usize,
    ) -> BoxFuture<'_, ApiResult<Vec<ChannelMessage>>> {
        Box::pin(async move {
            self.list_message_rows(&stream, ascending, after, limit)
                .await
        })
    }
}
