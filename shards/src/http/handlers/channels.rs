//! Chat history: `GET /v2/channel/{channel_id}?limit=&forward=&cursor=`.

use kairos_core::channel::{self, MessageCursor};
use kairos_core::error::{ApiError, ApiResult};
use kairos_schema::api;

use super::params;
use crate::http::auth::Caller;
use crate::http::response::{self, HttpResponse};
use crate::http::router::Call;
use crate::realtime::chat;
use crate::shard::Shard;

/// Most messages per page.
const MAX_LIST: usize = 100;

/// A page of a channel's stored messages: oldest first by default
/// (`forward=true`), newest first with `forward=false`. Direct channels
/// are readable only by their two users.
pub(super) async fn list_messages(
    shard: &Shard,
    caller: Caller,
    call: Call,
) -> ApiResult<HttpResponse> {
    let channel_id = call.path("channel_id").to_string();
    if channel_id.is_empty() {
        return Err(ApiError::invalid("Invalid channel ID."));
    }
    let limit = params::limit(&call, 1, MAX_LIST)?;
    let forward = params::boolean(&call, "forward")?.unwrap_or(true);
    let stream = channel::parse_channel_id(&channel_id)
        .ok_or_else(|| ApiError::invalid("Invalid channel ID."))?;
    let cursor = match call.param("cursor") {
        None | Some("") => None,
        Some(c) => Some(MessageCursor::parse(c, &channel_id, forward)?),
    };
    chat::check_history_access(shard, &stream, caller.user_id).await?;
    let q = channel::history_query(forward, cursor.as_ref(), limit);
    let rows = shard
        .shared
        .persist
        .run(move |store| async move {
            store
                .list_messages(stream, q.ascending, q.after, q.limit)
                .await
        })
        .await?;
    let page = channel::history_page(&channel_id, forward, cursor, limit, rows);
    Ok(response::json(&api::ChannelMessageList {
        messages: page
            .messages
            .iter()
            .map(|m| chat::to_wire(m, true))
            .collect(),
        next_cursor: page.next_cursor.unwrap_or_default(),
        prev_cursor: page.prev_cursor.unwrap_or_default(),
        cacheable_cursor: page.cacheable_cursor.unwrap_or_default(),
    }))
}
