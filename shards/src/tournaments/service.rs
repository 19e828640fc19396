//! The tournament operations both callers share: REST
//! (`http/handlers/tournaments.rs`) and game code (`Nk`). Each returns a
//! [`TnError`] that the caller words as Nakama words it for that caller.

use kairos_core::error::ApiError;
use kairos_core::leaderboard::{Operator, Record};
use kairos_core::time::now_secs;
use kairos_core::tournament::{NewTournament, Refusal, Tournament, TournamentWrite};
use uuid::Uuid;

use crate::leaderboards::Board;
use crate::leaderboards::service::{self as lb, LbError};
use crate::modules::leaderboards::LeaderboardRecordList;
use crate::shard::Shard;

/// Why a tournament operation failed.
#[derive(Debug)]
pub enum TnError {
    /// Nakama's refusals (not found, outside the window, full, ...).
    Refused(Refusal),
    /// A listing whose tournament has ended (Nakama: listing without an
    /// expiry after the end time).
    Ended,
    InvalidCursor,
    Store(ApiError),
}

impl From<LbError> for TnError {
    fn from(e: LbError) -> TnError {
        match e {
            LbError::NotFound | LbError::Authoritative => TnError::Refused(Refusal::NotFound),
            LbError::InvalidCursor => TnError::InvalidCursor,
            LbError::Store(e) => TnError::Store(e),
        }
    }
}

/// Creates a tournament unless one with its id exists; whether it did.
pub async fn create(shard: &Shard, new: NewTournament) -> Result<bool, ApiError> {
    let now = now_secs();
    let (stored, created) = shard
        .shared
        .persist
        .run(move |store| async move { store.tournament_create(new, now).await })
        .await?;
    shard
        .shared
        .leaderboards
        .created(Board::tournament(&stored));
    Ok(created)
}

/// The tournaments with these ids, in the order asked (unknown ones left
/// out), as they are now (each `size` the current period's).
pub async fn get(shard: &Shard, ids: Vec<String>) -> Result<Vec<Tournament>, ApiError> {
    let found = shard
        .shared
        .persist
        .run(move |store| async move { store.tournaments_get(ids).await })
        .await?;
    let now = now_secs();
    Ok(found.into_iter().map(|t| t.at(now)).collect())
}

async fn one(shard: &Shard, id: &str) -> Result<Tournament, TnError> {
    get(shard, vec![id.to_string()])
        .await
        .map_err(TnError::Store)?
        .pop()
        .ok_or(TnError::Refused(Refusal::NotFound))
}

/// Joins `owner` to the tournament's current period (a no-op when it
/// needs no join, or when already joined).
pub async fn join(
    shard: &Shard,
    id: &str,
    owner: Uuid,
    username: Option<String>,
) -> Result<(), TnError> {
    let id = id.to_string();
    let now = now_secs();
    shard
        .shared
        .persist
        .run(move |store| async move { store.tournament_join(id, owner, username, now).await })
        .await
        .map_err(TnError::Store)?
        .map(|_| ())
        .map_err(TnError::Refused)
}

/// One write of an owner's record.
#[derive(Clone, Debug)]
pub struct Write {
    pub owner: Uuid,
    pub username: Option<String>,
    pub score: i64,
    pub subscore: i64,
    pub metadata: Option<String>,
    pub operator: Option<Operator>,
}

/// Writes a record to the tournament's current period, ranked.
/// `from_server`: game code (allowed on an authoritative tournament).
pub async fn write(
    shard: &Shard,
    from_server: bool,
    id: &str,
    w: Write,
) -> Result<Record, TnError> {
    let write = TournamentWrite {
        tournament_id: id.to_string(),
        owner_id: w.owner,
        username: w.username,
        score: w.score,
        subscore: w.subscore,
        metadata: w.metadata,
        operator: w.operator,
        from_server,
        now: now_secs(),
    };
    let mut record = shard
        .shared
        .persist
        .run(move |store| async move { store.tournament_record_write(write).await })
        .await
        .map_err(TnError::Store)?
        .map_err(TnError::Refused)?;
    record.rank = shard
        .shared
        .leaderboards
        .ranked(
            id.to_string(),
            record.expiry_time,
            record.owner_id,
            record.score,
            record.subscore,
            record.num_score,
        )
        .await;
    Ok(record)
}

/// The period a listing reads: `expiry` when given, else the one of the
/// active window now; Nakama refuses a listing without an expiry once
/// the tournament's end time has passed.
async fn listed_expiry(shard: &Shard, id: &str, expiry: i64) -> Result<i64, TnError> {
    let t = one(shard, id).await?;
    let now = now_secs();
    if expiry != 0 {
        return Ok(expiry);
    }
    if t.end_time > 0 && t.end_time <= now {
        return Err(TnError::Ended);
    }
    Ok(t.window(now).expiry)
}

/// Nakama's `TournamentRecordsList`.
pub async fn list(
    shard: &Shard,
    id: &str,
    limit: Option<usize>,
    cursor: &str,
    owners: Vec<Uuid>,
    expiry: i64,
) -> Result<LeaderboardRecordList, TnError> {
    let expiry = listed_expiry(shard, id, expiry).await?;
    Ok(lb::list(shard, id, limit, cursor, owners, expiry).await?)
}

/// Nakama's tournament haystack: `limit` records around `owner`'s.
pub async fn around(
    shard: &Shard,
    id: &str,
    owner: Uuid,
    limit: usize,
    cursor: &str,
    expiry: i64,
) -> Result<LeaderboardRecordList, TnError> {
    let t = one(shard, id).await?;
    let expiry = if expiry == 0 {
        t.window(now_secs()).expiry
    } else {
        expiry
    };
    Ok(lb::around(shard, id, owner, limit, cursor, expiry).await?)
}

/// Nakama's `TournamentList`: a page of the tournaments `filter` keeps,
/// after `cursor`, each with its window and `can_enter` at `now`; and the
/// next page's cursor.
pub async fn list_tournaments(
    shard: &Shard,
    filter: kairos_core::tournament::ListFilter,
    cursor: String,
) -> Result<(Vec<(Tournament, i64)>, String), TnError> {
    let all = shard
        .shared
        .persist
        .run(|store| async move { store.tournaments_all().await })
        .await
        .map_err(TnError::Store)?;
    let now = now_secs();
    let (page, next) = kairos_core::tournament::list_page(&all, &filter, now, &cursor)
        .ok_or(TnError::InvalidCursor)?;
    Ok((
        page.into_iter().map(|t| (t.clone().at(now), now)).collect(),
        next,
    ))
}

/// Deletes `owner`'s record of the current period (if any) and uncounts
/// the player; only game code (`from_server`) deletes from an
/// authoritative tournament.
pub async fn delete_record(
    shard: &Shard,
    from_server: bool,
    id: &str,
    owner: Uuid,
) -> Result<(), TnError> {
    let id2 = id.to_string();
    let now = now_secs();
    let expiry = shard
        .shared
        .persist
        .run(move |store| async move {
            store
                .tournament_record_delete(id2, owner, from_server, now)
                .await
        })
        .await
        .map_err(TnError::Store)?
        .map_err(TnError::Refused)?;
    shard
        .shared
        .leaderboards
        .removed(id.to_string(), expiry, owner);
    Ok(())
}
