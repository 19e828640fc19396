//! Nakama's notification calls: `GET` and `DELETE /v2/notification`.

use kairos_core::error::{ApiError, ApiResult};
use kairos_core::notification::NotificationCursor;
use kairos_schema::api;
use uuid::Uuid;

use super::params;
use crate::http::auth::Caller;
use crate::http::response::{self, HttpResponse};
use crate::http::router::Call;
use crate::realtime::notifications::to_wire;
use crate::shard::Shard;

/// Most notifications per page.
const MAX_LIST: usize = 100;

/// `GET /v2/notification?limit=&cacheable_cursor=`: the oldest stored
/// notifications after the cursor. The reply's `cacheable_cursor` always
/// resumes after the last one seen, so a client that keeps it only ever
/// receives notifications it has not listed yet.
pub(super) async fn list(shard: &Shard, caller: Caller, call: Call) -> ApiResult<HttpResponse> {
    let limit = params::limit(&call, 1, MAX_LIST)?;
    let cursor = match call.param("cacheable_cursor") {
        None | Some("") => NotificationCursor::default(),
        Some(c) => NotificationCursor::parse(c)?,
    };
    let (user, after) = (caller.user_id, cursor.after());
    let rows = shard
        .shared
        .persist
        .run(move |store| async move { store.list_notifications(user, after, limit).await })
        .await?;
    let resume = rows
        .last()
        .map(NotificationCursor::after_notification)
        .unwrap_or(cursor);
    Ok(response::json(&api::NotificationList {
        notifications: rows.iter().map(to_wire).collect(),
        cacheable_cursor: resume.encode(),
    }))
}

/// `DELETE /v2/notification?ids=`: deletes those of the caller's.
pub(super) async fn delete(shard: &Shard, caller: Caller, call: Call) -> ApiResult<HttpResponse> {
    let ids = call
        .params("ids")
        .iter()
        .map(|id| {
            Uuid::parse_str(id)
                .map_err(|_| ApiError::invalid(format!("Invalid notification ID '{id}'.")))
        })
        .collect::<ApiResult<Vec<Uuid>>>()?;
    if ids.is_empty() {
        return Ok(response::empty());
    }
    let user = caller.user_id;
    shard
        .shared
        .persist
        .run(move |store| async move { store.delete_notifications(user, ids).await })
        .await?;
    Ok(response::empty())
}
