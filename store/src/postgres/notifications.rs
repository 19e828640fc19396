//! Persistent notifications on PostgreSQL / CockroachDB.

use kairos_core::error::ApiResult;
use kairos_core::notification::{Notification, NotificationUpdate};
use tokio_postgres::Row;
use uuid::Uuid;

use super::rows::get;
use super::{PgStore, db_err};
use crate::common;
use crate::{BoxFuture, NotificationStore};

/// Inserts one notification unless its user is gone or its id is taken.
const SAVE: &str =
    "INSERT INTO notification (id, user_id, subject, content, code, sender_id, create_time)
     SELECT $1::UUID, $2::UUID, $3::TEXT, $4::TEXT, $5::INTEGER, $6::UUID, $7::BIGINT
     WHERE EXISTS (SELECT 1 FROM users WHERE id = $2::UUID)
     ON CONFLICT (id) DO NOTHING";

const LIST_FIRST: &str =
    "SELECT id, user_id, subject, content, code, sender_id, create_time FROM notification
     WHERE user_id = $1 ORDER BY create_time, id LIMIT $2";

const LIST_AFTER: &str = "SELECT id, user_id, subject, content, code, sender_id, create_time FROM notification
     WHERE user_id = $1 AND (create_time, id) > ($2::BIGINT, $3::UUID) ORDER BY create_time, id LIMIT $4";

const DELETE: &str = "DELETE FROM notification WHERE user_id = $1 AND id = ANY($2)";

/// By id, of any user when `$2` is null.
const GET_BY_ID: &str =
    "SELECT id, user_id, subject, content, code, sender_id, create_time FROM notification
     WHERE id = ANY($1) AND ($2::UUID IS NULL OR user_id = $2::UUID)";

const DELETE_BY_ID: &str =
    "DELETE FROM notification WHERE id = ANY($1) AND ($2::UUID IS NULL OR user_id = $2::UUID)";

const UPDATE: &str = "UPDATE notification SET content = coalesce($1::TEXT, content),
       subject = coalesce($2::TEXT, subject), sender_id = coalesce($3::UUID, sender_id)
     WHERE id = $4::UUID";

fn notification_from_row(r: &Row) -> ApiResult<Notification> {
    Ok(Notification {
        id: get(r, 0)?,
        user_id: get(r, 1)?,
        subject: get(r, 2)?,
        content: get(r, 3)?,
        code: get(r, 4)?,
        sender_id: get(r, 5)?,
        create_time: get(r, 6)?,
        persistent: true,
    })
}

impl NotificationStore for PgStore {
    /// Stores the notifications in one transaction, dropping those for
    /// users that do not exist and those whose id is already stored.
    fn save_notifications(&self, notifications: Vec<Notification>) -> BoxFuture<'_, ApiResult<()>> {
        Box::pin(async move {
            if notifications.is_empty() {
                return Ok(());
            }
            let mut conn = self.pool.get().await?;
            let save = conn.prepare(SAVE).await?;
            let tx = conn.client.transaction().await.map_err(db_err)?;
            for n in notifications {
                let content = common::json_or_empty(n.content);
                tx.execute(
                    &save,
                    &[
                        &n.id,
                        &n.user_id,
                        &n.subject,
                        &content,
                        &n.code,
                        &n.sender_id,
                        &n.create_time,
                    ],
                )
                .await
                .map_err(db_err)?;
            }
            tx.commit().await.map_err(db_err)
        })
    }

    fn list_notifications(
        &self,
        user: Uuid,
        after: Option<(i64, Uuid)>,
        limit: usize,
    ) -> BoxFuture<'_, ApiResult<Vec<Notification>>> {
        Box::pin(async move {
            let limit = common::sql_limit(limit);
            let mut conn = self.pool.get().await?;
            let rows = match after {
                None => {
                    let stmt = conn.prepare(LIST_FIRST).await?;
                    conn.client.query(&stmt, &[&user, &limit]).await
                }
                Some((time, id)) => {
                    let stmt = conn.prepare(LIST_AFTER).await?;
                    conn.client.query(&stmt, &[&user, &time, &id, &limit]).await
                }
            }
            .map_err(db_err)?;
            rows.iter().map(notification_from_row).collect()
        })
    }

    /// Deletes those of `ids` that belong to `user`.
    fn delete_notifications(&self, user: Uuid, ids: Vec<Uuid>) -> BoxFuture<'_, ApiResult<()>> {
        Box::pin(async move {
            if ids.is_empty() {
                return Ok(());
            }
            let ids = &ids[..];
            let mut conn = self.pool.get().await?;
            let stmt = conn.prepare(DELETE).await?;
            conn.client
                .execute(&stmt, &[&user, &ids])
                .await
                .map(|_| ())
                .map_err(db_err)
        })
    }

    fn get_notifications_by_id(
        &self,
        ids: Vec<Uuid>,
        user: Option<Uuid>,
    ) -> BoxFuture<'_, ApiResult<Vec<Notification>>> {
        Box::pin(async move {
            if ids.is_empty() {
                return Ok(Vec::new());
            }
            let ids = &ids[..];
            let mut conn = self.pool.get().await?;
            let stmt = conn.prepare(GET_BY_ID).await?;
            let rows = conn
                .client
                .query(&stmt, &[&ids, &user])
                .await
                .map_err(db_err)?;
            rows.iter().map(notification_from_row).collect()
        })
    }

    fn delete_notifications_by_id(
        &self,
        ids: Vec<Uuid>,
        user: Option<Uuid>,
    ) -> BoxFuture<'_, ApiResult<()>> {
        Box::pin(async move {
            if ids.is_empty() {
                return Ok(());
            }
            let ids = &ids[..];
            let mut conn = self.pool.get().await?;
            let stmt = conn.prepare(DELETE_BY_ID).await?;
            conn.client
                .execute(&stmt, &[&ids, &user])
                .await
                .map(|_| ())
                .map_err(db_err)
        })
    }

    fn update_notifications(
        &self,
        updates: Vec<NotificationUpdate>,
    ) -> BoxFuture<'_, ApiResult<()>> {
        Box::pin(async move {
            if updates.is_empty() {
                return Ok(());
            }
            let mut conn = self.pool.get().await?;
            let update = conn.prepare(UPDATE).await?;
            let tx = conn.client.transaction().await.map_err(db_err)?;
            for u in &updates {
                tx.execute(&update, &[&u.content, &u.subject, &u.sender_id, &u.id])
                    .await
                    .map_err(db_err)?;
            }
            tx.commit().await.map_err(db_err)
        })
    }
}
