//! Stored (persistent) notifications.

use kairos_core::error::ApiResult;
use kairos_core::notification::{Notification, NotificationUpdate};
use uuid::Uuid;

use super::BoxFuture;

/// Persistent notifications.
pub trait NotificationStore: Send + Sync + 'static {
    /// Stores notifications in one transaction; those for users that do not
    /// exist are dropped.
    fn save_notifications(&self, notifications: Vec<Notification>) -> BoxFuture<'_, ApiResult<()>>;

    /// `user`'s stored notifications ordered by `(create_time, id)` and
    /// strictly after `after`; at most `limit`. All are `persistent`.
    fn list_notifications(
        &self,
        user: Uuid,
        after: Option<(i64, Uuid)>,
        limit: usize,
    ) -> BoxFuture<'_, ApiResult<Vec<Notification>>>;

    /// Deletes those of `ids` that belong to `user`.
    fn delete_notifications(&self, user: Uuid, ids: Vec<Uuid>) -> BoxFuture<'_, ApiResult<()>>;

    /// The stored notifications among `ids`, of any user or only of
    /// `user`, in no particular order (game code's `notifications_get_id`).
    fn get_notifications_by_id(
        &self,
        ids: Vec<Uuid>,
        user: Option<Uuid>,
    ) -> BoxFuture<'_, ApiResult<Vec<Notification>>>;

    /// Deletes the stored notifications among `ids`, of any user or only
    /// of `user` (game code's `notifications_delete_id`).
    fn delete_notifications_by_id(
        &self,
        ids: Vec<Uuid>,
        user: Option<Uuid>,
    ) -> BoxFuture<'_, ApiResult<()>>;

    /// Applies the updates in one transaction: each sets the fields it
    /// has on the stored notification of its id (of any user); an id
    /// that is not stored changes nothing.
    fn update_notifications(
        &self,
        updates: Vec<NotificationUpdate>,
    ) -> BoxFuture<'_, ApiResult<()>>;
}
