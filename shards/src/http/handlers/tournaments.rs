//! Nakama's tournament calls: `GET /v2/tournament` (list by category,
//! start and end time, with a cursor), `POST /v2/tournament/{id}/join`, `PUT` and
//! `POST /v2/tournament/{id}` (write the caller's record), `GET
//! /v2/tournament/{id}` (records, with `limit`, `cursor`, `owner_ids`,
//! `expiry`) and `GET /v2/tournament/{id}/owner/{owner_id}` (around an
//! owner) and `DELETE /v2/tournament/{id}` (the caller's record). The work is `tournaments::service`'s; this file reads the
//! requests and words the errors as Nakama's API does.

use kairos_core::error::{ApiError, ApiResult};
use kairos_core::leaderboard::{self, MAX_OWNER_IDS, Operator};
use kairos_core::time::now_secs;
use kairos_core::time::rfc3339;
use kairos_core::tournament::{ListFilter, Refusal, Tournament};
use kairos_schema::api;
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

/// A `UInt32Value` query parameter; absent or empty is `None`.
fn uint32(call: &Call, key: &str) -> ApiResult<Option<i64>> {
    match call.param(key) {
        None | Some("") => Ok(None),
        Some(v) => v
            .parse::<u32>()
            .map(|n| Some(i64::from(n)))
            .map_err(|_| ApiError::invalid(format!("Invalid value for {key}: '{v}'."))),
    }
}

/// A tournament's wire form at `now`.
fn tournament_json(t: &Tournament, now: i64) -> api::Tournament {
    let w = t.window(now);
    let secs = |n: i64| u32::try_from(n).unwrap_or(0);
    api::Tournament {
        id: t.leaderboard.id.clone(),
        title: t.title.clone(),
        description: t.description.clone(),
        category: secs(i64::from(t.category)),
        sort_order: secs(i64::from(t.leaderboard.sort_order.as_i32())),
        size: secs(i64::from(t.size)),
        max_size: secs(i64::from(t.max_size)),
        max_num_score: secs(i64::from(t.max_num_score)),
        can_enter: t.can_enter(now),
        end_active: secs(w.end_active),
        next_reset: secs(w.expiry),
        metadata: t.leaderboard.metadata.clone(),
        create_time: Some(rfc3339(t.leaderboard.create_time)),
        start_time: Some(rfc3339(t.start_time)),
        end_time: (t.end_time > 0).then(|| rfc3339(t.end_time)),
        duration: secs(t.duration),
        start_active: secs(w.start_active),
        prev_reset: secs(t.prev_reset(now)),
        operator: t.leaderboard.operator.as_api(),
        authoritative: t.leaderboard.authoritative,
        join_required: t.join_required,
    }
}

/// `GET /v2/tournament?category_start=&category_end=&start_time=&end_time=&limit=&cursor=`.
pub(super) async fn list_tournaments(
    shard: &Shard,
    _caller: Caller,
    call: Call,
) -> ApiResult<HttpResponse> {
    let category_start = uint32(&call, "category_start")?.unwrap_or(0);
    let category_end = match uint32(&call, "category_end")? {
        None => 127,
        Some(e) if e >= 128 => {
            return Err(ApiError::invalid(
                "Tournament category end must be >=0 and <128.",
            ));
        }
        Some(e) if e < category_start => {
            return Err(ApiError::invalid(
                "Tournament category end must be greater than category start.",
            ));
        }
        Some(e) => e,
    };
    let start_time = uint32(&call, "start_time")?;
    let end_time = uint32(&call, "end_time")?;
    if let Some(e) = end_time
        && e != 0
        && e < start_time.unwrap_or(-1)
    {
        return Err(ApiError::invalid(
            "Tournament end time must be greater than start time.",
        ));
    }
    let limit = match params::int32(&call, "limit")? {
        None => 100,
        Some(n) if (1..=100).contains(&n) => n as usize,
        Some(_) => return Err(ApiError::invalid("Limit must be between 1 and 100.")),
    };
    let filter = ListFilter {
        category_start: category_start as i32,
        category_end: category_end as i32,
        start_time,
        end_time,
        limit,
    };
    let cursor = call.param("cursor").unwrap_or("").to_string();
    match service::list_tournaments(shard, filter, cursor).await {
        Ok((page, next)) => Ok(response::json(&api::TournamentList {
            tournaments: page
                .iter()
                .map(|(t, now)| tournament_json(t, *now))
                .collect(),
            cursor: next,
        })),
        Err(TnError::InvalidCursor) => Err(ApiError::invalid("Cursor is invalid or expired.")),
        Err(e) => internal("Error listing tournaments.", e),
    }
}

/// `DELETE /v2/tournament/{tournament_id}`: the caller's record.
pub(super) async fn delete(shard: &Shard, caller: Caller, call: Call) -> ApiResult<HttpResponse> {
    let id = call.path("tournament_id");
    match service::delete_record(shard, false, id, caller.user_id).await {
        Ok(()) => Ok(response::empty()),
        Err(TnError::Refused(Refusal::NotFound)) => Err(not_found()),
        Err(TnError::Refused(Refusal::Authoritative)) => Err(ApiError::denied(
            "Tournament only allows authoritative score deletions.",
        )),
        Err(e) => internal("Error deleting score from tournament.", e),
    }
}
