//! Nakama's tournament calls: `POST /v2/tournament/{id}/join`, `PUT` and
//! `POST /v2/tournament/{id}` (write the caller's record), `GET
//! /v2/tournament/{id}` (records, with `limit`, `cursor`, `owner_ids`,
//! `expiry`) and `GET /v2/tournament/{id}/owner/{owner_id}` (around an
//! owner). The work is `tournaments::service`'s; this file reads the
//! requests and words the errors as Nakama's API does.

use kairos_core::error::{ApiError, ApiResult};
use kairos_core::leaderboard::{self, MAX_OWNER_IDS, Operator};
use kairos_core::time::now_secs;
use kairos_core::tournament::Refusal;
use uuid::Uuid;

use super::leaderboards::{int64, list_json, record_json};
use super::params;
use crate::http::auth::Caller;
use crate::http::response::{self, HttpResponse};
use crate::http::router::Call;
use crate::shard::Shard;
use crate::tournaments::service::{self, TnError};

fn not_found() -> ApiError {
    ApiError::not_found("Tournament not found.")
}

/// Nakama's own wording of an internal failure of this call: a 500 with
/// the message, the cause logged.
fn internal(message: &'static str, e: TnError) -> ApiResult<HttpResponse> {
    tracing::error!(error = ?e, "{message}");
    Ok(response::error(&ApiError::internal(message)))
}

/// `POST /v2/tournament/{tournament_id}/join`.
pub(super) async fn join(shard: &Shard, caller: Caller, call: Call) -> ApiResult<HttpResponse> {
    let id = call.path("tournament_id");
    match service::join(shard, id, caller.user_id, Some(caller.username.clone())).await {
        Ok(()) => Ok(response::empty()),
        Err(TnError::Refused(r)) => Err(r.join_error()),
        Err(e) => internal("Error while trying to join tournament.", e),
    }
}

/// `PUT` or `POST /v2/tournament/{tournament_id} {score, subscore,
/// metadata, operator}`.
pub(super) async fn write(shard: &Shard, caller: Caller, call: Call) -> ApiResult<HttpResponse> {
    let trimmed = call.body.trim_ascii();
    if trimmed.is_empty() || trimmed == b"null" {
        return Err(ApiError::invalid(
            "Invalid input, record score value is required.",
        ));
    }
    let body: kairos_schema::api::LeaderboardRecordWrite = call.json()?;
    if !body.metadata.is_empty() && !leaderboard::metadata_ok(&body.metadata) {
        return Err(ApiError::invalid(
            "Metadata value must be JSON, if provided.",
        ));
    }
    const WRITING: &str = "Error writing score to tournament.";
    let id = call.path("tournament_id");
    let found = service::get(shard, vec![id.to_string()])
        .await
        .map_err(|e| {
            tracing::error!(error = %e.message, "{WRITING}");
            ApiError::internal(WRITING)
        })?;
    let Some(t) = found.first() else {
        return Err(not_found());
    };
    if t.end_time > 0 && t.end_time <= now_secs() {
        return Err(ApiError::not_found("Tournament not found or has ended."));
    }
    // An operator number that names none: Nakama's write fails internally.
    let Some(operator) = Operator::from_api_override(body.operator) else {
        return Ok(response::error(&ApiError::internal(WRITING)));
    };
    let w = service::Write {
        owner: caller.user_id,
        username: Some(caller.username.clone()),
        score: body.score,
        subscore: body.subscore,
        metadata: (!body.metadata.is_empty()).then_some(body.metadata),
        operator,
    };
    match service::write(shard, false, id, w).await {
        Ok(record) => Ok(response::json(&record_json(record))),
        Err(TnError::Refused(r)) => Err(r.write_error()),
        Err(e) => internal(WRITING, e),
    }
}

/// `GET /v2/tournament/{tournament_id}?limit=&cursor=&owner_ids=&expiry=`.
pub(super) async fn list(shard: &Shard, _caller: Caller, call: Call) -> ApiResult<HttpResponse> {
    let id = call.path("tournament_id");
    let cursor = call.param("cursor").unwrap_or("");
    let raw_owners = call.params("owner_ids");
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
    let limit = match params::int32(&call, "limit")? {
        Some(n) if (1..=100).contains(&n) => Some(n as usize),
        Some(_) => {
            return Err(ApiError::invalid(
                "Invalid limit - limit must be between 1 and 100.",
            ));
        }
        None if owners.is_empty() || !cursor.is_empty() => Some(1),
        None => None,
    };
    let expiry = int64(&call, "expiry")?;
    match service::list(shard, id, limit, cursor, owners, expiry).await {
        Ok(list) => Ok(response::json(&list_json(list))),
        Err(TnError::Refused(Refusal::NotFound)) => Err(not_found()),
        Err(TnError::Ended) => Err(ApiError::not_found("Tournament has ended.")),
        Err(TnError::InvalidCursor) => Err(ApiError::invalid("Cursor is invalid or expired.")),
        Err(e) => internal("Error listing records from tournament.", e),
    }
}

/// `GET /v2/tournament/{tournament_id}/owner/{owner_id}?limit=&expiry=&cursor=`.
pub(super) async fn around(shard: &Shard, _caller: Caller, call: Call) -> ApiResult<HttpResponse> {
    let id = call.path("tournament_id");
    let limit = match params::int32(&call, "limit")? {
        None => 1,
        Some(n) if (1..=100).contains(&n) => n as usize,
        Some(_) => {
            return Err(ApiError::invalid(
                "Invalid limit - limit must be between 1 and 100.",
            ));
        }
    };
    let raw_owner = call.path("owner_id");
    if raw_owner.is_empty() {
        return Err(ApiError::invalid(
            "Owner ID must be provided for a haystack query.",
        ));
    }
    let owner =
        Uuid::parse_str(raw_owner).map_err(|_| ApiError::invalid("Invalid owner ID provided."))?;
    let expiry = int64(&call, "expiry")?;
    let cursor = call.param("cursor").unwrap_or("");
    match service::around(shard, id, owner, limit, cursor, expiry).await {
        Ok(list) => Ok(response::json(&list_json(list))),
        Err(TnError::Refused(Refusal::NotFound)) => Err(not_found()),
        Err(TnError::InvalidCursor) => Err(ApiError::invalid("Cursor is invalid or expired.")),
        Err(e) => internal("Error querying records from leaderboard.", e),
    }
}
