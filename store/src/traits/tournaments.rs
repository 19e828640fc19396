//! Tournaments (see `kairos_core::tournament`): a leaderboard row and a
//! `tournament` row of the same id. Records live in `leaderboard_record`,
//! so listings, deletes and rank rows are the [`super::LeaderboardStore`]
//! calls. Joins and writes read the definition and decide with the core's
//! rules (`join_expiry`, `write_expiry`, `plan_write`) in the same
//! transaction that locks the owner's record and counts the player
//! against `max_size`.

use kairos_core::error::ApiResult;
use kairos_core::leaderboard::Record;
use kairos_core::tournament::{NewTournament, Refusal, Tournament, TournamentWrite};
use uuid::Uuid;

use super::BoxFuture;

/// Tournament definitions, joins and record writes.
pub trait TournamentStore: Send + Sync + 'static {
    /// Creates the tournament (its leaderboard too) unless one with its id
    /// exists: creation is idempotent, as Nakama's; an id already taken by
    /// a plain leaderboard is refused. A `start_time` of 0 stores `now`.
    fn tournament_create(
        &self,
        t: NewTournament,
        now: i64,
    ) -> BoxFuture<'_, ApiResult<(Tournament, bool)>>;

    /// The tournaments with these ids (unknown ones left out).
    fn tournaments_get(&self, ids: Vec<String>) -> BoxFuture<'_, ApiResult<Vec<Tournament>>>;

    /// Every tournament, by category, start time and id.
    fn tournaments_all(&self) -> BoxFuture<'_, ApiResult<Vec<Tournament>>>;

    /// Joins the owner to the current period at `now`: an empty record
    /// (score 0, `num_score` 0), counted against `max_size` (refused when
    /// full); joining twice is a no-op. `Ok(Ok(true))` when this call
    /// joined.
    fn tournament_join(
        &self,
        id: String,
        owner: Uuid,
        username: Option<String>,
        now: i64,
    ) -> BoxFuture<'_, ApiResult<Result<bool, Refusal>>>;

    /// Adds `count` (negative: removes) to the `max_num_score` of the
    /// owner's record of the period current at `now`, kept within 1 and
    /// `i32::MAX` (a cap of 0 or less is no cap; Nakama's
    /// `TournamentAddAttempt`); an owner without a
    /// record there is no error. Refused when the tournament does not
    /// exist or its active window has closed.
    fn tournament_add_attempt(
        &self,
        id: String,
        owner: Uuid,
        count: i64,
        now: i64,
    ) -> BoxFuture<'_, ApiResult<Result<(), Refusal>>>;

    /// Writes a record (Nakama's tournament write): refused outside the
    /// active window, without a join when one is required, past
    /// `max_num_score`, or when a new player would pass `max_size`.
    fn tournament_record_write(
        &self,
        w: TournamentWrite,
    ) -> BoxFuture<'_, ApiResult<Result<Record, Refusal>>>;

    /// Deletes the owner's record of the period current at `now` and, if
    /// there was one, uncounts the player (Nakama's tournament record
    /// delete); refused on an authoritative tournament unless
    /// `from_server`. `Ok(Ok(expiry))`: the period it deleted from.
    fn tournament_record_delete(
        &self,
        id: String,
        owner: Uuid,
        from_server: bool,
        now: i64,
    ) -> BoxFuture<'_, ApiResult<Result<i64, Refusal>>>;

    /// Records that the end hook of the active window closing at `at`
    /// fired: a compare-and-set on `last_end` that only moves forward.
    /// `true` when this call moved it (so the hook fires once, across
    /// restarts too). A reset is marked as a leaderboard's is
    /// (`LeaderboardStore::leaderboard_mark_reset`); a tournament's
    /// `size` needs no reset, as it counts one period (`size_expiry`).
    fn tournament_mark_end(&self, id: String, at: i64) -> BoxFuture<'_, ApiResult<bool>>;
}
