//! Nakama's leaderboard record calls: `POST /v2/leaderboard/{id}` (write
//! the caller's record), `GET /v2/leaderboard/{id}` (list, with
//! `limit`, `cursor`, `owner_ids`, `expiry`), `DELETE
//! /v2/leaderboard/{id}` (delete the caller's record) and `GET
//! /v2/leaderboard/{id}/owner/{owner_id}` (around an owner). The work is
//! `leaderboards::service`'s; this file reads the requests and words the
//! errors as Nakama's API does.

use kairos_core::error::{ApiError, ApiResult};
use kairos_core::leaderboard::{self, MAX_OWNER_IDS, Operator, Record};
use kairos_core::time::rfc3339;
use kairos_schema::api;
use uuid::Uuid;

use super::params;
use crate::http::auth::Caller;
use crate::http::response::{self, HttpResponse};
use crate::http::router::Call;
use crate::leaderboards::service::{self, Caller as Who, LbError};
use crate::modules::LeaderboardRecordList;
use crate::shard::Shard;

fn not_found() -> ApiError {
    ApiError::not_found("Leaderboard not found.")
}

/// Nakama's own wording of an internal failure of this call (the router
/// words other handlers' internal errors generically): a 500 with the
/// message, the cause logged.
fn internal(message: &'static str, e: LbError) -> ApiResult<HttpResponse> {
    tracing::error!(error = ?e, "{message}");
    Ok(response::error(&ApiError::internal(message)))
}

/// A record's wire form.
pub fn record_json(r: Record) -> api::LeaderboardRecord {
    api::LeaderboardRecord {
        leaderboard_id: r.leaderboard_id,
        owner_id: r.owner_id.to_string(),
        username: r.username,
        score: r.score,
        subscore: r.subscore,
        num_score: r.num_score,
        metadata: r.metadata,
        create_time: Some(rfc3339(r.create_time)),
        update_time: Some(rfc3339(r.update_time)),
        expiry_time: (r.expiry_time != 0).then(|| rfc3339(r.expiry_time)),
        rank: r.rank,
        max_num_score: u32::try_from(r.max_num_score).unwrap_or(0),
    }
}

pub(super) fn list_json(l: LeaderboardRecordList) -> api::LeaderboardRecordList {
    api::LeaderboardRecordList {
        records: l.records.into_iter().map(record_json).collect(),
        owner_records: l.owner_records.into_iter().map(record_json).collect(),
        next_cursor: l.next_cursor,
        prev_cursor: l.prev_cursor,
        rank_count: l.rank_count,
    }
}

/// An `Int64Value` query parameter; absent or empty is 0.
pub(super) fn int64(call: &Call, key: &str) -> ApiResult<i64> {
    match call.param(key) {
        None | Some("") => Ok(0),
        Some(v) => v
            .parse()
            .map_err(|_| ApiError::invalid(format!("Invalid value for {key}: '{v}'."))),
    }
}

/// `POST /v2/leaderboard/{leaderboard_id} {score, subscore, metadata,
/// operator}`.
pub(super) async fn write(shard: &Shard, caller: Caller, call: Call) -> ApiResult<HttpResponse> {
    let trimmed = call.body.trim_ascii();
    if trimmed.is_empty() || trimmed == b"null" {
        return Err(ApiError::invalid(
            "Invalid input, record score value is required.",
        ));
    }
    let body: api::LeaderboardRecordWrite = call.json()?;
    if !body.metadata.is_empty() && !leaderboard::metadata_ok(&body.metadata) {
        return Err(ApiError::invalid(
            "Metadata value must be JSON, if provided.",
        ));
    }
    const WRITING: &str = "Error writing score to leaderboard.";
    // An operator number that names none: Nakama's write fails internally.
    let Some(operator) = Operator::from_api_override(body.operator) else {
        return Ok(response::error(&ApiError::internal(WRITING)));
    };
    let id = call.path("leaderboard_id");
    let w = service::Write {
        owner: caller.user_id,
        username: Some(caller.username.clone()),
        score: body.score,
        subscore: body.subscore,
        metadata: (!body.metadata.is_empty()).then_some(body.metadata),
        operator,
    };
    match service::write(shard, Who::User(caller.user_id), id, w).await {
        Ok(record) => Ok(response::json(&record_json(record))),
        Err(LbError::NotFound) => Err(not_found()),
        Err(LbError::Authoritative) => Err(ApiError::denied(
            "Leaderboard only allows authoritative score submissions.",
        )),
        Err(e) => internal(WRITING, e),
    }
}

/// `DELETE /v2/leaderboard/{leaderboard_id}`: the caller's record.
pub(super) async fn delete(shard: &Shard, caller: Caller, call: Call) -> ApiResult<HttpResponse> {
    let id = call.path("leaderboard_id");
    match service::delete_record(shard, Who::User(caller.user_id), id, caller.user_id).await {
        Ok(()) => Ok(response::empty()),
        Err(LbError::NotFound) => Err(not_found()),
        Err(LbError::Authoritative) => Err(ApiError::denied(
            "Leaderboard only allows authoritative score deletions.",
        )),
        Err(e) => internal("Error deleting score from leaderboard.", e),
    }
}

/// `GET /v2/leaderboard/{leaderboard_id}?limit=&cursor=&owner_ids=&expiry=`.
pub(super) async fn list(shard: &Shard, _caller: Caller, call: Call) -> ApiResult<HttpResponse> {
    let id = call.path("leaderboard_id");
    let cursor = call.param("cursor").unwrap_or("");
    let raw_owners = call.params("owner_ids");
    let limit = match params::int32(&call, "limit")? {
        Some(n) if (1..=1000).contains(&n) => Some(n as usize),
        Some(_) => {
            return Err(ApiError::invalid(
                "Invalid limit - limit must be between 1 and 1000.",
            ));
        }
        None if raw_owners.is_empty() || !cursor.is_empty() => Some(1),
        None => None,
    };
    if raw_owners.len() > MAX_OWNER_IDS {
        return Err(ApiError::invalid(
            "Too many owner IDs - at most 1000 may be given.",
        ));
    }
    let owners = raw_owners
        .iter()
        .map(|o| Uuid::parse_str(o))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|_| ApiError::invalid("One or more owner IDs are invalid."))?;
    let expiry = int64(&call, "expiry")?;
    match service::list(shard, id, limit, cursor, owners, expiry).await {
        Ok(list) => Ok(response::json(&list_json(list))),
        Err(LbError::NotFound) => Err(not_found()),
        Err(LbError::InvalidCursor) => Err(ApiError::invalid("Cursor is invalid or expired.")),
        Err(e) => internal("Error listing records from leaderboard.", e),
    }
}

/// `GET /v2/leaderboard/{leaderboard_id}/owner/{owner_id}?limit=&expiry=&cursor=`.
pub(super) async fn around(shard: &Shard, _caller: Caller, call: Call) -> ApiResult<HttpResponse> {
    let id = call.path("leaderboard_id");
    let limit = match params::int32(&call, "limit")? {
        None => 1,
        Some(n) if (1..=100).contains(&n) => n as usize,
        Some(_) => {
            return Err(ApiError::invalid(
                "Invalid limit - limit must be between 1 and 100.",
            ));
        }
    };
    let owner = Uuid::parse_str(call.path("owner_id"))
        .map_err(|_| ApiError::invalid("Invalid owner ID provided."))?;
    let expiry = int64(&call, "expiry")?;
    let cursor = call.param("cursor").unwrap_or("");
    match service::around(shard, id, owner, limit, cursor, expiry).await {
        Ok(list) => Ok(response::json(&list_json(list))),
        Err(LbError::NotFound) => Err(not_found()),
        Err(e) => internal("Error querying records from leaderboard.", e),
    }
}
