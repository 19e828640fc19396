//! Tournaments for game code: `Nk::tournament_*` (Nakama's
//! `Tournament*`): leaderboards with a category, an active window, joins
//! and caps. Game code writes to any tournament, authoritative ones
//! included. And the end and reset hooks ([`TournamentHookFn`], Nakama's
//! `RegisterTournamentEnd` and `RegisterTournamentReset`), each called
//! once per deadline (`crate::leaderboards::deadlines`).

use std::future::Future;
use std::pin::Pin;

use kairos_core::error::{ApiError, ApiResult};
use kairos_core::tournament::Tournament;
use uuid::Uuid;

use super::leaderboards::{check_haystack, check_record_write, check_records_list};
use super::nk::hide_internal;
use super::{Context, LeaderboardRecord, LeaderboardRecordList, Nk};
use crate::leaderboards::service as lb;
use crate::tournaments::service as tn;

/// A tournament end or reset hook: the tournament as it was the second
/// before the deadline (its `size` that period's), the close of that
/// period's active window (`end`) and the period's expiry (`reset`, 0
/// when it never expires), Unix seconds, as Nakama passes them.
pub trait TournamentHookFn: Send + Sync + 'static {
    fn call(
        &self,
        ctx: Context,
        tournament: Tournament,
        end: i64,
        reset: i64,
    ) -> Pin<Box<dyn Future<Output = Result<(), ApiError>>>>;
}

impl<F, Fut> TournamentHookFn for F
where
    F: Fn(Context, Tournament, i64, i64) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<(), ApiError>> + 'static,
{
    fn call(
        &self,
        ctx: Context,
        tournament: Tournament,
        end: i64,
        reset: i64,
    ) -> Pin<Box<dyn Future<Output = Result<(), ApiError>>>> {
        Box::pin(self(ctx, tournament, end, reset))
    }
}

impl Nk {
    /// Creates a tournament unless one with its id exists (then nothing
    /// changes, as Nakama's). The arguments are Nakama's
    /// `TournamentCreate`'s, checked with its messages; `max_size` 0 is
    /// no cap, `max_num_score` 0 the default, `start_time` 0 now.
    pub async fn tournament_create(
        &self,
        args: kairos_core::tournament::CreateArgs<'_>,
    ) -> ApiResult<()> {
        let new = kairos_core::tournament::check_create(&args)?;
        tn::create(&self.shard, new)
            .await
            .map(|_| ())
            .map_err(hide_internal)
    }

    /// Deletes a tournament and all its records (no error if absent).
    pub async fn tournament_delete(&self, id: &str) -> ApiResult<()> {
        if id.is_empty() {
            return Err(ApiError::invalid("expects a tournament ID string"));
        }
        lb::delete(&self.shard, id.to_string())
            .await
            .map_err(hide_internal)
    }

    /// Joins `owner` to tournament `id` (a no-op when it needs no join or
    /// the owner already joined this period).
    pub async fn tournament_join(&self, id: &str, owner: Uuid, username: &str) -> ApiResult<()> {
        if id.is_empty() {
            return Err(ApiError::invalid("expects a tournament ID string"));
        }
        tn::join(
            &self.shard,
            id,
            owner,
            (!username.is_empty()).then(|| username.to_string()),
        )
        .await
        .map_err(tn_error)
    }

    /// Tournaments by id, unknown ones left out.
    pub async fn tournaments_get_id(
        &self,
        ids: &[String],
    ) -> ApiResult<Vec<kairos_core::tournament::Tournament>> {
        if ids.len() > 1000 {
            return Err(ApiError::invalid("expects at most 1000 tournament IDs"));
        }
        tn::get(&self.shard, ids.to_vec())
            .await
            .map_err(hide_internal)
    }

    /// A page of tournaments (Nakama's `TournamentList`), in listing
    /// order, each as it is now: categories `category_start` to
    /// `category_end` (0 to 127), starting at or after `start_time` (-1:
    /// any), and by `end_time`: -1 those not yet ended, 0 those without
    /// an end, else those ending by it; at most `limit` (1 to 100) after
    /// `cursor` (`""`: from the start). Returns them and the next page's
    /// cursor (`""` at the end). Checked with the runtime's messages.
    pub async fn tournament_list(
        &self,
        (category_start, category_end): (i64, i64),
        (start_time, end_time): (i64, i64),
        limit: usize,
        cursor: &str,
    ) -> ApiResult<(Vec<Tournament>, String)> {
        if !(0..128).contains(&category_start) {
            return Err(ApiError::invalid("categoryStart must be 0-127"));
        }
        if !(0..128).contains(&category_end) {
            return Err(ApiError::invalid("categoryEnd must be 0-127"));
        }
        if start_time < -1 {
            return Err(ApiError::invalid("startTime must be >= -1"));
        }
        if end_time < -1 {
            return Err(ApiError::invalid("endTime must be >= -1"));
        }
        if end_time < start_time {
            return Err(ApiError::invalid("endTime must be >= startTime"));
        }
        if !(1..=100).contains(&limit) {
            return Err(ApiError::invalid("limit must be 1-100"));
        }
        let filter = kairos_core::tournament::ListFilter {
            category_start: category_start as i32,
            category_end: category_end as i32,
            start_time: (start_time >= 0).then_some(start_time),
            end_time: (end_time >= 0).then_some(end_time),
            limit,
        };
        match tn::list_tournaments(&self.shard, filter, cursor.to_string()).await {
            Ok((page, next)) => Ok((page.into_iter().map(|(t, _)| t).collect(), next)),
            Err(tn::TnError::InvalidCursor) => Err(ApiError::invalid(
                "expects cursor to be valid when provided",
            )),
            Err(e) => Err(tn_error(e)),
        }
    }

    /// Writes `owner`'s record of tournament `id` (Nakama's
    /// `TournamentRecordWrite`): refused outside the active window,
    /// without a join when one is required, past `max_num_score` or
    /// `max_size`, with Nakama runtime's messages.
    #[allow(clippy::too_many_arguments)]
    pub async fn tournament_record_write(
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
            "tournament",
            id,
            (score, subscore),
            metadata,
            override_operator,
        )?;
        let w = tn::Write {
            owner,
            username: (!username.is_empty()).then(|| username.to_string()),
            score,
            subscore,
            metadata,
            operator,
        };
        tn::write(&self.shard, true, id, w).await.map_err(tn_error)
    }

    /// Deletes `owner`'s record of tournament `id`'s current period (and
    /// uncounts the player).
    pub async fn tournament_record_delete(&self, id: &str, owner: Uuid) -> ApiResult<()> {
        if id.is_empty() {
            return Err(ApiError::invalid("expects a tournament ID string"));
        }
        tn::delete_record(&self.shard, true, id, owner)
            .await
            .map_err(tn_error)
    }

    /// Gives `owner` `count` more attempts (fewer when negative) in
    /// tournament `id`'s current period, as Nakama's
    /// `TournamentAddAttempt`: the `max_num_score` of the owner's record
    /// of the period moves by `count`, kept within 1 and `i32::MAX` (so
    /// removing attempts never lifts the cap, which 0 would); an
    /// owner without a record there is left as is. `count` 0 does nothing;
    /// a tournament that does not exist, or whose window has closed, is
    /// refused.
    pub async fn tournament_add_attempt(&self, id: &str, owner: Uuid, count: i64) -> ApiResult<()> {
        if id.is_empty() {
            return Err(ApiError::invalid("expects a tournament ID string"));
        }
        if count == 0 {
            return Ok(());
        }
        let count = count.clamp(-i64::from(i32::MAX), i64::from(i32::MAX));
        let id = id.to_string();
        let now = kairos_core::time::now_secs();
        self.store(
            move |store| async move { store.tournament_add_attempt(id, owner, count, now).await },
        )
        .await?
        .map_err(|r| tn_error(tn::TnError::Refused(r)))
    }

    /// Turns tournament `id`'s ranks off for good (Nakama's
    /// `TournamentRanksDisable`); a plain leaderboard's id is not found.
    pub async fn tournament_ranks_disable(&self, id: &str) -> ApiResult<()> {
        if id.is_empty() {
            return Err(ApiError::invalid("expects a tournament ID string"));
        }
        lb::ranks_disable(&self.shard, id, true)
            .await
            .map_err(|e| match e {
                lb::LbError::NotFound => ApiError::not_found("tournament not found"),
                e => tn_error(e.into()),
            })
    }

    /// Lists tournament `id`'s records: a page of `limit` (0: none, up
    /// to 10,000) from `cursor`, and the records of `owner_ids`, in the
    /// period ending at `expiry` (0: the active window's).
    pub async fn tournament_records_list(
        &self,
        id: &str,
        owner_ids: Vec<Uuid>,
        limit: usize,
        cursor: &str,
        expiry: i64,
    ) -> ApiResult<LeaderboardRecordList> {
        check_records_list("tournament", id, limit, expiry, owner_ids.len())?;
        let limit = (limit > 0).then_some(limit);
        tn::list(&self.shard, id, limit, cursor, owner_ids, expiry)
            .await
            .map_err(tn_error)
    }

    /// `limit` (1 to 100) records of tournament `id` around `owner`'s.
    pub async fn tournament_records_haystack(
        &self,
        id: &str,
        owner: Uuid,
        limit: usize,
        cursor: &str,
        expiry: i64,
    ) -> ApiResult<LeaderboardRecordList> {
        check_haystack("tournament", id, limit, expiry)?;
        tn::around(&self.shard, id, owner, limit, cursor, expiry)
            .await
            .map_err(tn_error)
    }
}

/// A tournament call's failure as game code sees it (Nakama runtime's
/// wording).
fn tn_error(e: tn::TnError) -> ApiError {
    use kairos_core::tournament::Refusal;
    match e {
        tn::TnError::Refused(Refusal::NotFound) => ApiError::not_found("tournament not found"),
        tn::TnError::Refused(r) => ApiError::invalid(r.runtime_message()),
        tn::TnError::Ended => ApiError::invalid("tournament outside of duration"),
        tn::TnError::InvalidCursor => ApiError::invalid("leaderboard cursor invalid"),
        tn::TnError::Store(e) => hide_internal(e),
    }
}
