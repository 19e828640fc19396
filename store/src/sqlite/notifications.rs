//! Persistent notifications on SQLite.

use kairos_core::error::ApiResult;
use kairos_core::notification::{Notification, NotificationUpdate};
use rusqlite::types::Value;
use rusqlite::{TransactionBehavior, params, params_from_iter};
use uuid::Uuid;

use super::SqliteStore;
use super::db::{Db, db_err, exec};
use super::rows::{opt_uuid_at, uuid_at};
use crate::common;
use crate::{BoxFuture, NotificationStore};

impl NotificationStore for SqliteStore {
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

    fn get_notifications_by_id(
        &self,
        ids: Vec<Uuid>,
        user: Option<Uuid>,
    ) -> BoxFuture<'_, ApiResult<Vec<Notification>>> {
        if ids.is_empty() {
            return Box::pin(async { Ok(Vec::new()) });
        }
        Box::pin(self.blocking(move |db| db.get_notifications_by_id(&ids, user)))
    }

    fn delete_notifications_by_id(
        &self,
        ids: Vec<Uuid>,
        user: Option<Uuid>,
    ) -> BoxFuture<'_, ApiResult<()>> {
        if ids.is_empty() {
            return Box::pin(async { Ok(()) });
        }
        Box::pin(self.blocking(move |db| db.delete_notifications_by_id(&ids, user)))
    }

    fn update_notifications(
        &self,
        updates: Vec<NotificationUpdate>,
    ) -> BoxFuture<'_, ApiResult<()>> {
        if updates.is_empty() {
            return Box::pin(async { Ok(()) });
        }
        Box::pin(self.blocking(move |db| db.update_notifications(updates)))
    }
}

impl Db {
    /// Stores the notifications in one transaction, dropping those for
    /// users that do not exist and those whose id is already stored.
    pub fn save_notifications(&self, notifications: Vec<Notification>) -> ApiResult<()> {
        self.write(|c| {
            let tx = c
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(db_err)?;
            for n in notifications {
                exec(
                    &tx,
                    "INSERT INTO notification (id, user_id, subject, content, code, sender_id, create_time)
                     SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7 WHERE EXISTS (SELECT 1 FROM users WHERE id = ?2)
                     ON CONFLICT (id) DO NOTHING",
                    params![
                        n.id.to_string(),
                        n.user_id.to_string(),
                        n.subject,
                        common::json_or_empty(n.content),
                        n.code,
                        n.sender_id.map(|s| s.to_string()),
                        n.create_time
                    ],
                )
                .map_err(db_err)?;
            }
            tx.commit().map_err(db_err)
        })
    }

    pub fn list_notifications(
        &self,
        user: Uuid,
        after: Option<(i64, Uuid)>,
        limit: usize,
    ) -> ApiResult<Vec<Notification>> {
        let mut sql = String::from(
            "SELECT id, user_id, subject, content, code, sender_id, create_time FROM notification WHERE user_id = ?1",
        );
        let mut args: Vec<Value> = vec![Value::Text(user.to_string())];
        if let Some((time, id)) = after {
            args.push(Value::Integer(time));
            args.push(Value::Text(id.to_string()));
            sql.push_str(" AND (create_time, id) > (?2, ?3)");
        }
        args.push(Value::Integer(common::sql_limit(limit)));
        sql.push_str(&format!(" ORDER BY create_time, id LIMIT ?{}", args.len()));
        self.read(|c| {
            let mut stmt = c.prepare_cached(&sql).map_err(db_err)?;
            let rows = stmt
                .query_map(params_from_iter(args.iter()), stored)
                .map_err(db_err)?;
            rows.collect::<Result<_, _>>().map_err(db_err)
        })
    }

    /// Deletes those of `ids` that belong to `user`, in one transaction.
    pub fn delete_notifications(&self, user: Uuid, ids: &[Uuid]) -> ApiResult<()> {
        let me = user.to_string();
        self.write(|c| {
            let tx = c
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(db_err)?;
            for id in ids {
                exec(
                    &tx,
                    "DELETE FROM notification WHERE id = ?1 AND user_id = ?2",
                    [&id.to_string(), &me],
                )
                .map_err(db_err)?;
            }
            tx.commit().map_err(db_err)
        })
    }

    /// The stored notifications among `ids`, of any user when `user` is
    /// `None`.
    pub fn get_notifications_by_id(
        &self,
        ids: &[Uuid],
        user: Option<Uuid>,
    ) -> ApiResult<Vec<Notification>> {
        let user = user.map(|u| u.to_string());
        self.read(|c| {
            let mut stmt = c
                .prepare_cached(
                    "SELECT id, user_id, subject, content, code, sender_id, create_time FROM notification
                     WHERE id = ?1 AND (?2 IS NULL OR user_id = ?2)",
                )
                .map_err(db_err)?;
            let mut out = Vec::new();
            for id in ids {
                let rows = stmt
                    .query_map(params![id.to_string(), user], stored)
                    .map_err(db_err)?;
                for row in rows {
                    out.push(row.map_err(db_err)?);
                }
            }
            Ok(out)
        })
    }

    /// Deletes the stored notifications among `ids`, of any user when
    /// `user` is `None`, in one transaction.
    pub fn delete_notifications_by_id(&self, ids: &[Uuid], user: Option<Uuid>) -> ApiResult<()> {
        let user = user.map(|u| u.to_string());
        self.write(|c| {
            let tx = c
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(db_err)?;
            for id in ids {
                exec(
                    &tx,
                    "DELETE FROM notification WHERE id = ?1 AND (?2 IS NULL OR user_id = ?2)",
                    params![id.to_string(), user],
                )
                .map_err(db_err)?;
            }
            tx.commit().map_err(db_err)
        })
    }

    /// Sets each update's fields on its notification, in one transaction.
    pub fn update_notifications(&self, updates: Vec<NotificationUpdate>) -> ApiResult<()> {
        self.write(|c| {
            let tx = c
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(db_err)?;
            for u in &updates {
                exec(
                    &tx,
                    "UPDATE notification SET content = coalesce(?1, content),
                       subject = coalesce(?2, subject), sender_id = coalesce(?3, sender_id)
                     WHERE id = ?4",
                    params![
                        u.content,
                        u.subject,
                        u.sender_id.map(|s| s.to_string()),
                        u.id.to_string()
                    ],
                )
                .map_err(db_err)?;
            }
            tx.commit().map_err(db_err)
        })
    }
}

/// A stored notification from a row of `id, user_id, subject, content,
/// code, sender_id, create_time`.
fn stored(r: &rusqlite::Row<'_>) -> rusqlite::Result<Notification> {
    Ok(Notification {
        id: uuid_at(r, 0)?,
        user_id: uuid_at(r, 1)?,
        subject: r.get(2)?,
        content: r.get(3)?,
        code: r.get(4)?,
        sender_id: opt_uuid_at(r, 5)?,
        create_time: r.get(6)?,
        persistent: true,
    })
}
