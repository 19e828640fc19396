//! Leaderboards for game code: the types `Nk::leaderboard_*` take and
//! return, and the `leaderboard_reset` hook (Nakama's
//! `RegisterLeaderboardReset`), called once for each reset of each board
//! that has a reset schedule, with the board and the reset's time.

use std::future::Future;
use std::pin::Pin;

use kairos_core::error::ApiError;
pub use kairos_core::leaderboard::{Operator, Record as LeaderboardRecord, SortOrder};

use super::Context;

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
