//! Leaderboards and their records (see `kairos_core::leaderboard`).
//!
//! Records are keyed by `(leaderboard_id, expiry_time, owner_id)`: one
//! per owner per period. Listings are keyset queries over
//! `(score, subscore, owner_id)` (`kairos_core::leaderboard::list::Query`);
//! ranks come from the rank index, not from here.

use kairos_core::error::ApiResult;
use kairos_core::leaderboard::list::Query;
use kairos_core::leaderboard::rank::RankRow;
use kairos_core::leaderboard::write::{RecordWrite, Written};
use kairos_core::leaderboard::{Leaderboard, Record};
use uuid::Uuid;

use super::BoxFuture;

/// Leaderboard definitions and records.
pub trait LeaderboardStore: Send + Sync + 'static {
    /// Creates `lb` unless a leaderboard with its id exists (creation is
    /// idempotent, as Nakama's); returns the stored one and whether this
    /// call created it.
    fn leaderboard_create(&self, lb: Leaderboard) -> BoxFuture<'_, ApiResult<(Leaderboard, bool)>>;

    /// Deletes a leaderboard and all its records; whether it existed.
    fn leaderboard_delete(&self, id: String) -> BoxFuture<'_, ApiResult<bool>>;

    /// Every leaderboard, oldest first (by creation, then id).
    fn leaderboards_all(&self) -> BoxFuture<'_, ApiResult<Vec<Leaderboard>>>;

    /// Records that the reset at `at` was announced, unless one at or after
    /// it already was; whether this call recorded it (so each reset's hook
    /// fires once, across restarts too).
    fn leaderboard_mark_reset(&self, id: String, at: i64) -> BoxFuture<'_, ApiResult<bool>>;

    /// Turns ranks off for good (Nakama's `LeaderboardRanksDisable`);
    /// whether the leaderboard exists.
    fn leaderboard_ranks_disable(&self, id: String) -> BoxFuture<'_, ApiResult<bool>>;

    /// Applies one write (`kairos_core::leaderboard::write::apply`) with
    /// the owner's record locked, so concurrent writes add up.
    fn leaderboard_record_write(&self, write: RecordWrite) -> BoxFuture<'_, ApiResult<Written>>;

    /// Deletes an owner's record of one period; whether there was one.
    fn leaderboard_record_delete(
        &self,
        id: String,
        expiry: i64,
        owner: Uuid,
    ) -> BoxFuture<'_, ApiResult<bool>>;

    /// One keyset query over a period's records.
    fn leaderboard_records_range(
        &self,
        id: String,
        expiry: i64,
        query: Query,
    ) -> BoxFuture<'_, ApiResult<Vec<Record>>>;

    /// The records of these owners in one period (any order; unknown ones
    /// left out).
    fn leaderboard_records_of(
        &self,
        id: String,
        expiry: i64,
        owners: Vec<Uuid>,
    ) -> BoxFuture<'_, ApiResult<Vec<Record>>>;

    /// What the rank index of one period is built from: every record's
    /// `(owner, score, subscore, num_score)`.
    fn leaderboard_rank_rows(
        &self,
        id: String,
        expiry: i64,
    ) -> BoxFuture<'_, ApiResult<Vec<RankRow>>>;
}
