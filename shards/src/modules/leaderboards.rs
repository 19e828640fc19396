//! Leaderboards for game code: `Nk::leaderboard_*` (Nakama's
//! `Leaderboard*`: game code creates boards and writes to any board,
//! authoritative ones included), the types they take and return, and the
//! `leaderboard_reset` hook (Nakama's `RegisterLeaderboardReset`), called
//! once for each reset of each board that has a reset schedule, with the
//! board and the reset's time.

use std::future::Future;
use std::pin::Pin;

use kairos_core::error::{ApiError, ApiResult};
use kairos_core::leaderboard;
pub use kairos_core::leaderboard::{Operator, Record as LeaderboardRecord, SortOrder};
use uuid::Uuid;

use super::nk::hide_internal;
use super::{Context, Nk};
use crate::leaderboards::service as lb;

/// A leaderboard as game code sees it (Nakama's `api.Leaderboard`).
#[derive(Clone, Debug, PartialEq)]
pub struct LeaderboardInfo {
    pub id: String,
    pub authoritative: bool,
    pub sort_order: SortOrder,
    pub operator: Operator,
    /// The cron expression, empty if it never resets.
    pub reset_schedule: String,
    /// The last reset at or before now, Unix seconds (0: none).
    pub prev_reset: i64,
    /// The next reset, Unix seconds (0: none).
    pub next_reset: i64,
    /// A JSON object.
    pub metadata: String,
    /// Unix seconds.
    pub create_time: i64,
    pub enable_ranks: bool,
}

/// A page of records (Nakama's `api.LeaderboardRecordList`).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct LeaderboardRecordList {
    pub records: Vec<LeaderboardRecord>,
    pub owner_records: Vec<LeaderboardRecord>,
    pub next_cursor: String,
    pub prev_cursor: String,
    pub rank_count: i64,
}

type Boxed<T> = Pin<Box<dyn Future<Output = T>>>;

/// The leaderboard-reset hook: the board, and the reset's time (Unix
/// seconds: the end of the period that just ended).
pub trait LeaderboardResetFn: Send + Sync + 'static {
    fn call(&self, ctx: Context, board: LeaderboardInfo, reset: i64)
    -> Boxed<Result<(), ApiError>>;
}

impl<F, Fut> LeaderboardResetFn for F
where
    F: Fn(Context, LeaderboardInfo, i64) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<(), ApiError>> + 'static,
{
    fn call(
        &self,
        ctx: Context,
        board: LeaderboardInfo,
        reset: i64,
    ) -> Boxed<Result<(), ApiError>> {
        Box::pin(self(ctx, board, reset))
    }
}

impl Nk {
    /// Creates a leaderboard unless one with `id` exists (then nothing
    /// changes, as Nakama's). `sort_order` is `asc` or `desc`, `operator`
    /// `best`, `set`, `incr` or `decr`; `reset_schedule` a cron
    /// expression (empty: never resets); `metadata` a JSON object or
    /// null. Errors carry Nakama's runtime messages.
    #[allow(clippy::too_many_arguments)]
    pub async fn leaderboard_create(
        &self,
        id: &str,
        authoritative: bool,
        sort_order: &str,
        operator: &str,
        reset_schedule: &str,
        metadata: serde_json::Value,
        enable_ranks: bool,
    ) -> ApiResult<()> {
        let (sort_order, operator) =
            leaderboard::check_create(id, sort_order, operator, reset_schedule)?;
        let metadata = match metadata {
            serde_json::Value::Null => "{}".to_string(),
            v @ serde_json::Value::Object(_) => v.to_string(),
            _ => return Err(ApiError::invalid("expects metadata to be a JSON object")),
        };
        let new = leaderboard::NewLeaderboard {
            id: id.to_string(),
            authoritative,
            sort_order,
            operator,
            reset_schedule: reset_schedule.trim().to_string(),
            metadata,
            enable_ranks,
        };
        lb::create(&self.shard, new)
            .await
            .map(|_| ())
            .map_err(hide_internal)
    }

    /// Deletes a leaderboard and all its records (no error if absent).
    pub async fn leaderboard_delete(&self, id: &str) -> ApiResult<()> {
        if id.is_empty() {
            return Err(ApiError::invalid("expects a leaderboard ID string"));
        }
        lb::delete(&self.shard, id.to_string())
            .await
            .map_err(hide_internal)
    }

    /// Leaderboards, oldest first: at most `limit` (1 to 100) from
    /// `cursor` (empty: the first), and the cursor of the rest if any.
    pub async fn leaderboard_list(
        &self,
        limit: usize,
        cursor: &str,
    ) -> ApiResult<(Vec<LeaderboardInfo>, String)> {
        if !(1..=100).contains(&limit) {
            return Err(ApiError::invalid("limit must be 1-100"));
        }
        let offset: usize = if cursor.is_empty() {
            0
        } else {
            kairos_core::cursor::decode(cursor)
                .ok_or_else(|| ApiError::invalid("expects cursor to be valid when provided"))?
        };
        let all = lb::all(&self.shard).await;
        let next = if all.len() > offset + limit {
            kairos_core::cursor::encode(&(offset + limit))
        } else {
            String::new()
        };
        Ok((all.into_iter().skip(offset).take(limit).collect(), next))
    }

    /// Leaderboards by id, unknown ones left out.
    pub async fn leaderboards_get_id(&self, ids: &[String]) -> Vec<LeaderboardInfo> {
        lb::get(&self.shard, ids).await
    }

    /// Writes `owner`'s record to board `id`'s current period with the
    /// board's operator, or `override_operator` (Nakama's `api.Operator`:
    /// 0 none, 1 best, 2 set, 3 incr, 4 decr); returns it, ranked.
    #[allow(clippy::too_many_arguments)]
    pub async fn leaderboard_record_write(
        &self,
        id: &str,
        owner: Uuid,
        username: &str,
        score: i64,
        subscore: i64,
        metadata: Option<serde_json::Value>,
        override_operator: Option<i32>,
    ) -> ApiResult<LeaderboardRecord> {
        let (metadata, operator) = check_record_write(
            "leaderboard",
            id,
            (score, subscore),
            metadata,
            override_operator,
        )?;
        let w = lb::Write {
            owner,
            username: (!username.is_empty()).then(|| username.to_string()),
            score,
            subscore,
            metadata,
            operator,
        };
        lb::write(&self.shard, lb::Caller::System, id, w)
            .await
            .map_err(lb_error)
    }

    /// Deletes `owner`'s record of board `id`'s current period.
    pub async fn leaderboard_record_delete(&self, id: &str, owner: Uuid) -> ApiResult<()> {
        if id.is_empty() {
            return Err(ApiError::invalid("expects a leaderboard ID string"));
        }
        lb::delete_record(&self.shard, lb::Caller::System, id, owner)
            .await
            .map_err(lb_error)
    }

    /// Lists board `id`'s records: a page of `limit` (0: none, up to
    /// 10,000) from `cursor`, and the records of `owner_ids`, in the
    /// period ending at `expiry` (0: the current one).
    pub async fn leaderboard_records_list(
        &self,
        id: &str,
        owner_ids: Vec<Uuid>,
        limit: usize,
        cursor: &str,
        expiry: i64,
    ) -> ApiResult<LeaderboardRecordList> {
        check_records_list("leaderboard", id, limit, expiry, owner_ids.len())?;
        let limit = (limit > 0).then_some(limit);
        lb::list(&self.shard, id, limit, cursor, owner_ids, expiry)
            .await
            .map_err(lb_error)
    }

    /// `limit` (1 to 100) records of board `id` around `owner`'s; with a
    /// cursor, the page from it.
    pub async fn leaderboard_records_haystack(
        &self,
        id: &str,
        owner: Uuid,
        limit: usize,
        cursor: &str,
        expiry: i64,
    ) -> ApiResult<LeaderboardRecordList> {
        check_haystack("leaderboard", id, limit, expiry)?;
        lb::around(&self.shard, id, owner, limit, cursor, expiry)
            .await
            .map_err(lb_error)
    }

    /// Turns board `id`'s ranks off for good (Nakama's
    /// `LeaderboardRanksDisable`): records keep being written and listed,
    /// without ranks. A tournament's id is not found here.
    pub async fn leaderboard_ranks_disable(&self, id: &str) -> ApiResult<()> {
        if id.is_empty() {
            return Err(ApiError::invalid("expects a leaderboard ID string"));
        }
        lb::ranks_disable(&self.shard, id, false)
            .await
            .map_err(lb_error)
    }

    /// A cursor whose listing (`leaderboard_records_list` or REST) starts
    /// at `rank` (1-based) in the period ending at `expiry` (0: the
    /// current one): Nakama's `LeaderboardRecordsListCursorFromRank`.
    /// Rank 1 is the first page, `""`. Works on tournaments too.
    pub async fn leaderboard_records_list_cursor_from_rank(
        &self,
        id: &str,
        rank: i64,
        expiry: i64,
    ) -> ApiResult<String> {
        if id.is_empty() {
            return Err(ApiError::invalid("invalid leaderboard id"));
        }
        if rank < 1 {
            return Err(ApiError::invalid("invalid rank - must be > 1"));
        }
        if expiry < 0 {
            return Err(ApiError::invalid(
                "expects expiry to equal or greater than 0",
            ));
        }
        lb::cursor_from_rank(&self.shard, id, rank as u64, expiry)
            .await
            .map_err(|e| match e {
                lb::FromRank::Board(e) => lb_error(e),
                lb::FromRank::Expired => ApiError::invalid("invalid expiry"),
                lb::FromRank::NoEntry(expiry) => ApiError::invalid(format!(
                    "failed to get cursor from rank: rank entry {} not found for leaderboard {id:?} with expiry {expiry}",
                    rank - 1
                )),
            })
    }
}

/// The checks a record listing's arguments get, with Nakama runtime's
/// words; `kind` is `leaderboard` or `tournament`.
pub(super) fn check_records_list(
    kind: &str,
    id: &str,
    limit: usize,
    expiry: i64,
    owners: usize,
) -> ApiResult<()> {
    if id.is_empty() {
        return Err(ApiError::invalid(format!("expects a {kind} ID string")));
    }
    if limit > 10_000 {
        return Err(ApiError::invalid("expects limit to be 0-10000"));
    }
    if expiry < 0 {
        return Err(ApiError::invalid(
            "expects expiry to equal or greater than 0",
        ));
    }
    if owners > leaderboard::MAX_OWNER_IDS {
        return Err(ApiError::invalid("expects at most 1000 owner IDs"));
    }
    Ok(())
}

/// The checks a record write's arguments get, with Nakama runtime's
/// words; `kind` is `leaderboard` or `tournament`. Returns the metadata
/// as JSON text (if any) and the override asked for (if any).
pub(super) fn check_record_write(
    kind: &str,
    id: &str,
    (score, subscore): (i64, i64),
    metadata: Option<serde_json::Value>,
    override_operator: Option<i32>,
) -> ApiResult<(Option<String>, Option<leaderboard::Operator>)> {
    if id.is_empty() {
        return Err(ApiError::invalid(format!("expects a {kind} ID string")));
    }
    if score < 0 {
        return Err(ApiError::invalid("expects score to be >= 0"));
    }
    if subscore < 0 {
        return Err(ApiError::invalid("expects subscore to be >= 0"));
    }
    let metadata = match metadata {
        None | Some(serde_json::Value::Null) => None,
        Some(v @ serde_json::Value::Object(_)) => Some(v.to_string()),
        Some(_) => return Err(ApiError::invalid("expects metadata to be a JSON object")),
    };
    let operator = leaderboard::Operator::from_api_override(override_operator.unwrap_or(0))
        .ok_or_else(|| ApiError::invalid("invalid operator"))?;
    Ok((metadata, operator))
}

/// The checks an around-owner listing's arguments get, with Nakama
/// runtime's words.
pub(super) fn check_haystack(kind: &str, id: &str, limit: usize, expiry: i64) -> ApiResult<()> {
    if id.is_empty() {
        return Err(ApiError::invalid(format!("expects a {kind} ID string")));
    }
    if !(1..=100).contains(&limit) {
        return Err(ApiError::invalid("limit must be 1-100"));
    }
    if expiry < 0 {
        return Err(ApiError::invalid(
            "expiry should be time since epoch in seconds and has to be a positive integer",
        ));
    }
    Ok(())
}

/// A leaderboard call's failure as game code sees it (Nakama runtime's
/// wording).
fn lb_error(e: lb::LbError) -> ApiError {
    match e {
        lb::LbError::NotFound => ApiError::not_found("leaderboard not found"),
        lb::LbError::Authoritative => {
            ApiError::denied("leaderboard only allows authoritative submissions")
        }
        lb::LbError::InvalidCursor => ApiError::invalid("leaderboard cursor invalid"),
        lb::LbError::Store(e) => hide_internal(e),
    }
}
