//! The embedded backend: SQLite in WAL mode, one writer connection and a few
//! readers. SQLite calls block, so every one runs through
//! `tokio::task::spawn_blocking` on the persistence pool; password hashing
//! goes to the same blocking threads.
//!
//! New accounts are created with group commit: sign-ups arriving while the
//! writer is busy share one transaction, each in a savepoint of its own,
//! and await their outcome without holding a blocking thread (the scheme
//! and its invariants are in `group.rs`).

mod accounts;
mod db;
mod friends;
mod group;
mod messages;
mod notifications;
mod rows;
mod schema;
mod sessions;

use std::future::Future;
use std::path::Path;
use std::sync::Arc;

use kairos_core::account::{Account, AccountUpdate, Authenticated, Identity, User, UserStatus};
use kairos_core::channel::{ChannelMessage, MessageKey};
use kairos_core::error::ApiResult;
use kairos_core::friend::{
    FofCursor, Friend, FriendAdded, FriendCursor, FriendOfFriend, FriendState,
};
use kairos_core::notification::Notification;
use kairos_core::stream::StreamId;
use uuid::Uuid;

use crate::auth::{self, Accounts, Found, Inserted};
use crate::common::{self, internal};
use crate::migrations;
use crate::{BoxFuture, MigrationStatus, Revocations, Store};
use db::Db;
use group::NewAccount;
pub use group::{DEFAULT_LIMIT as DEFAULT_GROUP_COMMIT_LIMIT, set_group_commit_limit};

/// The SQLite [`Store`].
pub struct SqliteStore {
    db: Arc<Db>,
    hash_cost: u32,
}

impl SqliteStore {
    /// Opens (creating if needed) the database file at `path` with
    /// `readers` reader connections besides the writer. `hash_cost` is the
    /// bcrypt cost of new passwords (Nakama's is 10; 4 is the minimum).
    /// Must run on a thread that may block. Does not migrate.
    pub fn open(path: &Path, readers: usize, hash_cost: u32) -> ApiResult<SqliteStore> {
        Ok(SqliteStore {
            db: Arc::new(Db::open(path, readers)?),
            hash_cost,
        })
    }

    /// Runs blocking database work on the runtime's blocking threads.
    fn blocking<T, F>(&self, f: F) -> impl Future<Output = ApiResult<T>> + Send + 'static
    where
        T: Send + 'static,
        F: FnOnce(&Db) -> ApiResult<T> + Send + 'static,
    {
        let db = self.db.clone();
        async move {
            tokio::task::spawn_blocking(move || f(&db))
                .await
                .map_err(|e| internal("sqlite task", e))?
        }
    }
}

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

impl Store for SqliteStore {
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

    fn delete_account(&self, user_id: Uuid) -> BoxFuture<'_, ApiResult<()>> {
        Box::pin(self.blocking(move |db| db.delete_account(user_id)))
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

    fn revoke_token(
        &self,
        user_id: Uuid,
        token_id: Uuid,
        expires_at: i64,
    ) -> BoxFuture<'_, ApiResult<()>> {
        Box::pin(self.blocking(move |db| db.revoke_token(user_id, token_id, expires_at)))
    }

    fn revoke_all(&self, user_id: Uuid, cutoff_millis: i64) -> BoxFuture<'_, ApiResult<()>> {
        Box::pin(self.blocking(move |db| db.revoke_all(user_id, cutoff_millis)))
    }

    fn load_revocations(&self, now: i64) -> BoxFuture<'_, ApiResult<Revocations>> {
        Box::pin(self.blocking(move |db| db.load_revocations(now)))
    }

    fn add_friends(
        &self,
        user: Uuid,
        ids: Vec<Uuid>,
        metadata: String,
    ) -> BoxFuture<'_, ApiResult<Vec<FriendAdded>>> {
        let ids = common::distinct_others(user, ids);
        if ids.is_empty() {
            return Box::pin(async { Ok(Vec::new()) });
        }
        Box::pin(self.blocking(move |db| db.add_friends(user, &ids, &metadata)))
    }

    fn delete_friends(&self, user: Uuid, ids: Vec<Uuid>) -> BoxFuture<'_, ApiResult<Vec<Uuid>>> {
        let ids = common::distinct_others(user, ids);
        if ids.is_empty() {
            return Box::pin(async { Ok(Vec::new()) });
        }
        Box::pin(self.blocking(move |db| db.delete_friends(user, &ids)))
    }

    fn block_friends(&self, user: Uuid, ids: Vec<Uuid>) -> BoxFuture<'_, ApiResult<Vec<Uuid>>> {
        let ids = common::distinct_others(user, ids);
        if ids.is_empty() {
            return Box::pin(async { Ok(Vec::new()) });
        }
        Box::pin(self.blocking(move |db| db.block_friends(user, &ids)))
    }

    fn list_friends(
        &self,
        user: Uuid,
        state: Option<FriendState>,
        after: Option<FriendCursor>,
        limit: usize,
    ) -> BoxFuture<'_, ApiResult<Vec<Friend>>> {
        Box::pin(self.blocking(move |db| db.list_friends(user, state, after, limit)))
    }

    fn list_friends_of_friends(
        &self,
        user: Uuid,
        after: Option<FofCursor>,
        limit: usize,
    ) -> BoxFuture<'_, ApiResult<Vec<FriendOfFriend>>> {
        Box::pin(self.blocking(move |db| db.list_friends_of_friends(user, after, limit)))
    }

    fn can_message(&self, from: Uuid, to: Uuid) -> BoxFuture<'_, ApiResult<bool>> {
        Box::pin(self.blocking(move |db| db.can_message(from, to)))
    }

    fn save_notifications(&self, notifications: Vec<Notification>) -> BoxFuture<'_, ApiResult<()>> {
        if notifications.is_empty() {
            return Box::pin(async { Ok(()) });
        }
        Box::pin(self.blocking(move |db| db.save_notifications(notifications)))
    }

    fn list_notifications(
        &self,
        user: Uuid,
        after: Option<(i64, Uuid)>,
        limit: usize,
    ) -> BoxFuture<'_, ApiResult<Vec<Notification>>> {
        Box::pin(self.blocking(move |db| db.list_notifications(user, after, limit)))
    }

    fn delete_notifications(&self, user: Uuid, ids: Vec<Uuid>) -> BoxFuture<'_, ApiResult<()>> {
        if ids.is_empty() {
            return Box::pin(async { Ok(()) });
        }
        Box::pin(self.blocking(move |db| db.delete_notifications(user, &ids)))
    }

    fn insert_message(&self, message: ChannelMessage) -> BoxFuture<'_, ApiResult<()>> {
        Box::pin(self.blocking(move |db| db.insert_message(message)))
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
        Box::pin(self.blocking(move |db| {
            db.update_message(&stream, id, sender, &username, &content, update_time)
        }))
    }

    fn remove_message(
        &self,
        stream: StreamId,
        id: Uuid,
        sender: Uuid,
    ) -> BoxFuture<'_, ApiResult<Option<(i64, i64)>>> {
        Box::pin(self.blocking(move |db| db.remove_message(&stream, id, sender)))
    }

    fn list_messages(
        &self,
        stream: StreamId,
        ascending: bool,
        after: Option<MessageKey>,
        limit: usize,
    ) -> BoxFuture<'_, ApiResult<Vec<ChannelMessage>>> {
        Box::pin(self.blocking(move |db| db.list_messages(&stream, ascending, after, limit)))
    }
}
