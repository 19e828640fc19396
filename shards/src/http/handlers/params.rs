//! Query parameters the REST calls share, read as grpc-gateway reads
//! protobuf wrappers from a query string, with Nakama's messages.

use kairos_core::error::{ApiError, ApiResult};
use uuid::Uuid;

use crate::http::auth::Caller;
use crate::http::query::parse_bool;
use crate::http::router::Call;
use crate::shard::Shard;

/// An `Int32Value`; absent or empty is `None`.
pub fn int32(call: &Call, key: &str) -> ApiResult<Option<i32>> {
    match call.param(key) {
        None | Some("") => Ok(None),
        Some(v) => v
            .parse()
            .map(Some)
            .map_err(|_| ApiError::invalid(format!("Invalid value for {key}: '{v}'."))),
    }
}

/// A `BoolValue`; absent or empty is `None`.
pub fn boolean(call: &Call, key: &str) -> ApiResult<Option<bool>> {
    match call.param(key) {
        None | Some("") => Ok(None),
        Some(v) => parse_bool(v)
            .map(Some)
            .ok_or_else(|| ApiError::invalid(format!("Invalid value for {key}: '{v}'."))),
    }
}

/// `limit`, between 1 and `max`, `default` when absent.
pub fn limit(call: &Call, default: usize, max: usize) -> ApiResult<usize> {
    match int32(call, "limit")? {
        None => Ok(default),
        Some(n) if n >= 1 && n as usize <= max => Ok(n as usize),
        Some(_) => Err(ApiError::invalid(format!(
            "Invalid limit - limit must be between 1 and {max}."
        ))),
    }
}

/// The users a friend call names by `ids` and `usernames`, resolved to ids.
/// Naming oneself is refused with `self_error`; unknown usernames are left
/// out. `None` when the call names nobody at all.
pub async fn named_users(
    shard: &Shard,
    caller: &Caller,
    call: &Call,
    self_error: &'static str,
) -> ApiResult<Option<Vec<Uuid>>> {
    let raw_ids = call.params("ids");
    let usernames = call.params("usernames");
    if raw_ids.is_empty() && usernames.is_empty() {
        return Ok(None);
    }
    let mut ids = Vec::with_capacity(raw_ids.len() + usernames.len());
    for id in &raw_ids {
        let user = Uuid::parse_str(id)
            .ok()
            .filter(|u| !u.is_nil())
            .ok_or_else(|| ApiError::invalid(format!("Invalid user ID '{id}'.")))?;
        if user == caller.user_id {
            return Err(ApiError::invalid(self_error));
        }
        ids.push(user);
    }
    for name in &usernames {
        if name.is_empty() {
            return Err(ApiError::invalid("Username must not be empty."));
        }
        if *name == caller.username {
            return Err(ApiError::invalid(self_error));
        }
    }
    if !usernames.is_empty() {
        let found = shard
            .shared
            .persist
            .run(move |store| async move { store.get_users(Vec::new(), usernames).await })
            .await?;
        for u in found {
            if u.id == caller.user_id {
                return Err(ApiError::invalid(self_error));
            }
            ids.push(u.id);
        }
    }
    ids.sort_unstable();
    ids.dedup();
    Ok(Some(ids))
}
