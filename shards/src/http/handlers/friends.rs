//! Nakama's friend calls: `GET`, `POST` and `DELETE /v2/friend`,
//! `POST /v2/friend/block` and `GET /v2/friend/friends`.
//!
//! Invites, accepts and removals notify the other user (codes -2, -3 and
//! -9); a block also ends any direct conversation between the two users.

use kairos_core::channel::is_json_object;
use kairos_core::error::{ApiError, ApiResult};
use kairos_core::friend::{self, FofCursor, Friend, FriendCursor, FriendState};
use kairos_core::time::rfc3339;
use kairos_schema::api;

use super::params;
use super::users::{online, user_json};
use crate::http::auth::Caller;
use crate::http::response::{self, HttpResponse};
use crate::http::router::Call;
use crate::realtime::friends;
use crate::shard::Shard;

/// `GET /v2/friend?limit=&state=&cursor=`.
pub(super) async fn list(shard: &Shard, caller: Caller, call: Call) -> ApiResult<HttpResponse> {
    let limit = params::limit(&call, friend::MAX_LIST, friend::MAX_LIST)?;
    let state =
        match params::int32(&call, "state")? {
            None => None,
            Some(v) => Some(FriendState::from_i32(v).ok_or_else(|| {
                ApiError::invalid("Invalid state - state must be between 0 and 3.")
            })?),
        };
    let after = match call.param("cursor") {
        None | Some("") => None,
        Some(c) => Some(FriendCursor::parse(c, state)?),
    };
    let user = caller.user_id;
    let mut rows = shard
        .shared
        .persist
        .run(move |store| async move { store.list_friends(user, state, after, limit + 1).await })
        .await?;
    let mut cursor = String::new();
    if rows.len() > limit {
        rows.truncate(limit);
        if let Some(last) = rows.last() {
            cursor = FriendCursor::after(last).encode();
        }
    }
    let friends = rows.into_iter().map(|f| friend_json(shard, f)).collect();
    Ok(response::json(&api::FriendList { friends, cursor }))
}

/// A friend edge as its listing user sees it, with whether the other user
/// is online now.
pub fn friend_json(shard: &Shard, f: Friend) -> api::Friend {
    let id = f.user.id;
    api::Friend {
        user: online(shard, user_json(f.user), id),
        state: f.state.as_i32(),
        update_time: rfc3339(f.update_time),
        metadata: f.metadata,
    }
}

/// `POST /v2/friend?ids=&usernames=&metadata=`: invites, or accepts the
/// invites of, the named users.
pub(super) async fn add(shard: &Shard, caller: Caller, call: Call) -> ApiResult<HttpResponse> {
    let Some(ids) =
        params::named_users(shard, &caller, &call, "Cannot add self as friend.").await?
    else {
        return Ok(response::empty());
    };
    if ids.is_empty() {
        return Err(ApiError::invalid("No valid ID or username was provided."));
    }
    let metadata = call.param("metadata").unwrap_or("").to_string();
    if !metadata.is_empty() && !is_json_object(&metadata) {
        return Err(ApiError::invalid("Metadata must be a valid JSON object."));
    }
    let user = caller.user_id;
    let added = shard
        .shared
        .persist
        .run(move |store| async move { store.add_friends(user, ids, metadata).await })
        .await?;
    friends::after_add(shard, user, &caller.username, added).await;
    Ok(response::empty())
}

/// `DELETE /v2/friend?ids=&usernames=`: removes friends, cancels or
/// declines invites, and lifts one's own blocks.
pub(super) async fn delete(shard: &Shard, caller: Caller, call: Call) -> ApiResult<HttpResponse> {
    let Some(ids) = params::named_users(shard, &caller, &call, "Cannot delete self.").await? else {
        return Ok(response::empty());
    };
    if ids.is_empty() {
        return Ok(response::empty());
    }
    let user = caller.user_id;
    let removed = shard
        .shared
        .persist
        .run(move |store| async move { store.delete_friends(user, ids).await })
        .await?;
    friends::after_delete(shard, user, &caller.username, removed).await;
    Ok(response::empty())
}

/// `POST /v2/friend/block?ids=&usernames=`.
pub(super) async fn block(shard: &Shard, caller: Caller, call: Call) -> ApiResult<HttpResponse> {
    let Some(ids) = params::named_users(shard, &caller, &call, "Cannot block self.").await? else {
        return Ok(response::empty());
    };
    if ids.is_empty() {
        return Err(ApiError::invalid("No valid ID or username was provided."));
    }
    let user = caller.user_id;
    let blocked = shard
        .shared
        .persist
        .run(move |store| async move { store.block_friends(user, ids).await })
        .await?;
    friends::after_block(shard, user, blocked);
    Ok(response::empty())
}

/// `GET /v2/friend/friends?limit=&cursor=`.
pub(super) async fn list_friends_of_friends(
    shard: &Shard,
    caller: Caller,
    call: Call,
) -> ApiResult<HttpResponse> {
    let limit = params::limit(&call, 10, friend::MAX_FOF_LIST)?;
    let after = match call.param("cursor") {
        None | Some("") => None,
        Some(c) => Some(FofCursor::parse(c)?),
    };
    let user = caller.user_id;
    let mut rows = shard
        .shared
        .persist
        .run(
            move |store| async move { store.list_friends_of_friends(user, after, limit + 1).await },
        )
        .await?;
    let mut cursor = String::new();
    if rows.len() > limit {
        rows.truncate(limit);
        if let Some(last) = rows.last() {
            cursor = FofCursor {
                referrer: last.referrer,
                user: last.user.id,
            }
            .encode();
        }
    }
    let friends_of_friends = rows
        .into_iter()
        .map(|f| {
            let id = f.user.id;
            api::FriendOfFriend {
                referrer: f.referrer.to_string(),
                user: online(shard, user_json(f.user), id),
            }
        })
        .collect();
    Ok(response::json(&api::FriendsOfFriendsList {
        friends_of_friends,
        cursor,
    }))
}
