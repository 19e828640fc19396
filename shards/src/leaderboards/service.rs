//! The leaderboard operations both callers share: REST
//! (`http/handlers/leaderboards.rs`) and game code (`Nk`). Each returns a
//! [`LbError`] that the caller words as Nakama words it for that caller.

use std::sync::Arc;

use kairos_core::error::ApiError;
use kairos_core::leaderboard::list::{self, ListCursor};
use kairos_core::leaderboard::schedule;
use kairos_core::leaderboard::write::RecordWrite;
use kairos_core::leaderboard::{
    DEFAULT_MAX_NUM_SCORE, Leaderboard, NewLeaderboard, Operator, Record, SortOrder,
};
use kairos_core::time::now_secs;
use uuid::Uuid;

use super::Board;
use crate::modules::leaderboards::{LeaderboardInfo, LeaderboardRecordList};
use crate::shard::Shard;

/// Why a leaderboard operation failed.
#[derive(Debug)]
pub enum LbError {
    NotFound,
    /// A client write or delete on an authoritative board.
    Authoritative,
    InvalidCursor,
    /// The store failed, or refused the write (a negative score).
    Store(ApiError),
}

/// Who asks: a user (REST) or game code (authoritative).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Caller {
    User(Uuid),
    System,
}

/// A board as game code sees it at `now`.
pub fn info(board: &Board, now: i64) -> LeaderboardInfo {
    let d = &board.def;
    let s = board.schedule.as_ref();
    LeaderboardInfo {
        id: d.id.clone(),
        authoritative: d.authoritative,
        sort_order: d.sort_order,
        operator: d.operator,
        reset_schedule: d.reset_schedule.clone(),
        prev_reset: schedule::prev_reset(s, d.create_time, now),
        next_reset: s.and_then(|s| s.next_after(now)).unwrap_or(0),
        metadata: d.metadata.clone(),
        create_time: d.create_time,
        enable_ranks: d.enable_ranks,
    }
}

async fn board(shard: &Shard, id: &str) -> Result<Arc<Board>, LbError> {
    shard
        .shared
        .leaderboards
        .get(id)
        .await
        .ok_or(LbError::NotFound)
}

/// Creates a board unless one with its id exists; whether it created it.
pub async fn create(shard: &Shard, new: NewLeaderboard) -> Result<bool, ApiError> {
    if shard.shared.leaderboards.get(&new.id).await.is_some() {
        return Ok(false);
    }
    let now = now_secs();
    let schedule = (!new.reset_schedule.is_empty())
        .then(|| schedule::Schedule::parse(&new.reset_schedule).ok())
        .flatten();
    let def = Leaderboard {
        id: new.id,
        authoritative: new.authoritative,
        sort_order: new.sort_order,
        operator: new.operator,
        reset_schedule: new.reset_schedule,
        metadata: new.metadata,
        create_time: now,
        enable_ranks: new.enable_ranks,
        // Resets before its creation are not its own.
        last_reset: schedule::prev_reset(schedule.as_ref(), now, now),
    };
    let (stored, created) = shard
        .shared
        .persist
        .run(move |store| async move { store.leaderboard_create(def).await })
        .await?;
    shard.shared.leaderboards.created(Board::new(stored));
    Ok(created)
}

/// Deletes a board and its records (idempotent).
pub async fn delete(shard: &Shard, id: String) -> Result<(), ApiError> {
    let id2 = id.clone();
    shard
        .shared
        .persist
        .run(move |store| async move { store.leaderboard_delete(id2).await })
        .await?;
    shard.shared.leaderboards.deleted(id);
    Ok(())
}

/// Every board as game code sees it, oldest first.
pub async fn all(shard: &Shard) -> Vec<LeaderboardInfo> {
    let now = now_secs();
    shard
        .shared
        .leaderboards
        .all()
        .await
        .iter()
        .map(|b| info(b, now))
        .collect()
}

/// Boards by id, unknown ones left out.
pub async fn get(shard: &Shard, ids: &[String]) -> Vec<LeaderboardInfo> {
    let now = now_secs();
    let mut out = Vec::with_capacity(ids.len());
    for id in ids {
        if let Some(b) = shard.shared.leaderboards.get(id).await {
            out.push(info(&b, now));
        }
    }
    out
}

/// One write of an owner's record, ranked.
#[derive(Clone, Debug)]
pub struct Write {
    pub owner: Uuid,
    pub username: Option<String>,
    pub score: i64,
    pub subscore: i64,
    pub metadata: Option<String>,
    pub operator: Option<Operator>,
}

/// Writes a record to the current period of board `id`.
pub async fn write(shard: &Shard, caller: Caller, id: &str, w: Write) -> Result<Record, LbError> {
    let board = board(shard, id).await?;
    if board.def.authoritative && caller != Caller::System {
        return Err(LbError::Authoritative);
    }
    let now = now_secs();
    let expiry = board.expiry(now);
    let write = RecordWrite {
        leaderboard_id: id.to_string(),
        expiry,
        owner_id: w.owner,
        username: w.username,
        score: w.score,
        subscore: w.subscore,
        metadata: w.metadata,
        operator: w.operator.unwrap_or(board.def.operator),
        sort: board.def.sort_order,
        now,
        max_num_score: DEFAULT_MAX_NUM_SCORE,
    };
    let written = shard
        .shared
        .persist
        .run(move |store| async move { store.leaderboard_record_write(write).await })
        .await
        .map_err(LbError::Store)?;
    let mut record = written.record;
    record.rank = shard
        .shared
        .leaderboards
        .ranked(
            id.to_string(),
            expiry,
            record.owner_id,
            record.score,
            record.subscore,
            record.num_score,
        )
        .await;
    Ok(record)
}

/// Deletes an owner's record of the current period (if any).
pub async fn delete_record(
    shard: &Shard,
    caller: Caller,
    id: &str,
    owner: Uuid,
) -> Result<(), LbError> {
    let board = board(shard, id).await?;
    if board.def.authoritative && caller != Caller::System {
        return Err(LbError::Authoritative);
    }
    let expiry = board.expiry(now_secs());
    let id2 = id.to_string();
    shard
        .shared
        .persist
        .run(move |store| async move { store.leaderboard_record_delete(id2, expiry, owner).await })
        .await
        .map_err(LbError::Store)?;
    shard
        .shared
        .leaderboards
        .removed(id.to_string(), expiry, owner);
    Ok(())
}

/// The period a listing reads: `expiry` when given, else the current one.
fn listed_expiry(board: &Board, expiry: i64) -> i64 {
    if expiry == 0 {
        board.expiry(now_secs())
    } else {
        expiry
    }
}

/// Sorts records in the board's order.
fn sort_records(records: &mut [Record], sort: SortOrder) {
    records.sort_by(|a, b| match sort {
        SortOrder::Ascending => a.key().cmp(&b.key()),
        SortOrder::Descending => b.key().cmp(&a.key()),
    });
}

/// Fills records' ranks from the index; the period's ranked count.
async fn fill(shard: &Shard, id: &str, expiry: i64, records: &mut [Record]) -> i64 {
    let owners = records.iter().map(|r| r.owner_id).collect();
    let (ranks, count) = shard
        .shared
        .leaderboards
        .fill(id.to_string(), expiry, owners)
        .await;
    for (r, rank) in records.iter_mut().zip(ranks) {
        if rank != 0 {
            r.rank = rank;
        }
    }
    count
}

/// Nakama's `LeaderboardRecordsList`: a page of `limit` (if any) after
/// `cursor`, and the records of `owners`, in period `expiry` (0: the
/// current one).
pub async fn list(
    shard: &Shard,
    id: &str,
    limit: Option<usize>,
    cursor: &str,
    owners: Vec<Uuid>,
    expiry: i64,
) -> Result<LeaderboardRecordList, LbError> {
    let board = board(shard, id).await?;
    let expiry = listed_expiry(&board, expiry);
    let sort = board.def.sort_order;
    let mut out = LeaderboardRecordList::default();
    if let Some(limit) = limit {
        let cursor = if cursor.is_empty() {
            None
        } else {
            Some(ListCursor::parse(cursor, id, expiry).map_err(|_| LbError::InvalidCursor)?)
        };
        let query = list::list_query(sort, cursor.as_ref(), limit);
        let id2 = id.to_string();
        let rows =
            shard
                .shared
                .persist
                .run(move |store| async move {
                    store.leaderboard_records_range(id2, expiry, query).await
                })
                .await
                .map_err(LbError::Store)?;
        let page = list::list_page(expiry, cursor.as_ref(), limit, rows);
        out.records = page.records;
        out.next_cursor = page.next.map(|c| c.encode()).unwrap_or_default();
        out.prev_cursor = page.prev.map(|c| c.encode()).unwrap_or_default();
    }
    if !owners.is_empty() {
        let id2 = id.to_string();
        let mut found = shard
            .shared
            .persist
            .run(
                move |store| async move { store.leaderboard_records_of(id2, expiry, owners).await },
            )
            .await
            .map_err(LbError::Store)?;
        sort_records(&mut found, sort);
        out.owner_records = found;
    }
    out.rank_count = fill(shard, id, expiry, &mut out.owner_records).await;
    Ok(out)
}

/// Nakama's `LeaderboardRecordsHaystack`: `limit` records around
/// `owner`'s; with a cursor, a plain page from it.
pub async fn around(
    shard: &Shard,
    id: &str,
    owner: Uuid,
    limit: usize,
    cursor: &str,
    expiry: i64,
) -> Result<LeaderboardRecordList, LbError> {
    let board = board(shard, id).await?;
    let expiry = listed_expiry(&board, expiry);
    if !cursor.is_empty() {
        return list(shard, id, Some(limit), cursor, Vec::new(), expiry).await;
    }
    let sort = board.def.sort_order;
    let id2 = id.to_string();
    let found = shard
        .shared
        .persist
        .run(move |store| async move {
            let Some(me) = store
                .leaderboard_records_of(id2.clone(), expiry, vec![owner])
                .await?
                .pop()
            else {
                return Ok(None);
            };
            let above = store
                .leaderboard_records_range(
                    id2.clone(),
                    expiry,
                    list::around_above(sort, &me, limit),
                )
                .await?;
            let below_limit = list::around_below_limit(limit, above.len().min(limit));
            let below = store
                .leaderboard_records_range(id2, expiry, list::around_below(sort, &me, below_limit))
                .await?;
            Ok(Some((above, me, below)))
        })
        .await
        .map_err(LbError::Store)?;
    let Some((above, me, below)) = found else {
        return Ok(LeaderboardRecordList::default());
    };
    let (mut records, has_prev, has_next) = list::around_window(above, me, below, limit);
    let rank_count = fill(shard, id, expiry, &mut records).await;
    let cursor_at = |r: Option<&Record>, next: bool| {
        r.map(|r| ListCursor::at(r, next, expiry).encode())
            .unwrap_or_default()
    };
    Ok(LeaderboardRecordList {
        prev_cursor: if has_prev {
            cursor_at(records.first(), false)
        } else {
            String::new()
        },
        next_cursor: if has_next {
            cursor_at(records.last(), true)
        } else {
            String::new()
        },
        records,
        owner_records: Vec::new(),
        rank_count,
    })
}

/// Turns board `id`'s ranks off for good (Nakama's
/// `LeaderboardRanksDisable` and `TournamentRanksDisable`): `tournament`
/// names the kind the caller asks for, and the other kind is not found,
/// as in Nakama.
pub async fn ranks_disable(shard: &Shard, id: &str, tournament: bool) -> Result<(), LbError> {
    let b = board(shard, id).await?;
    if b.is_tournament() != tournament {
        return Err(LbError::NotFound);
    }
    let id2 = id.to_string();
    let found = shard
        .shared
        .persist
        .run(move |store| async move { store.leaderboard_ranks_disable(id2).await })
        .await
        .map_err(LbError::Store)?;
    if !found {
        return Err(LbError::NotFound);
    }
    shard.shared.leaderboards.ranks_disabled(id.to_string());
    Ok(())
}

/// Why no cursor could be made from a rank.
#[derive(Debug)]
pub enum FromRank {
    Board(LbError),
    /// A tournament's period asked for without an expiry has ended.
    Expired,
    /// No record holds the rank before the one asked for (or the board
    /// keeps no ranks); the period's expiry.
    NoEntry(i64),
}

/// Nakama's `LeaderboardRecordsListCursorFromRank`: a cursor whose listing
/// of period `expiry` (0: the current one) starts at `rank` (1-based;
/// `""` for rank 1, the first page's cursor).
pub async fn cursor_from_rank(
    shard: &Shard,
    id: &str,
    rank: u64,
    expiry: i64,
) -> Result<String, FromRank> {
    let b = board(shard, id).await.map_err(FromRank::Board)?;
    let expiry = if expiry == 0 {
        let now = now_secs();
        let current = b.expiry(now);
        if b.is_tournament() && current != 0 && current <= now {
            return Err(FromRank::Expired);
        }
        current
    } else {
        expiry
    };
    // The cursor is the record just before the rank asked for.
    let before = rank.saturating_sub(1);
    if before == 0 {
        return Ok(String::new());
    }
    let (owner, score, subscore) = shard
        .shared
        .leaderboards
        .at_rank(id.to_string(), expiry, before)
        .await
        .ok_or(FromRank::NoEntry(expiry))?;
    let cursor = ListCursor {
        is_next: true,
        leaderboard_id: id.to_string(),
        expiry,
        score,
        subscore,
        owner_id: owner,
        rank: before as i64,
    };
    Ok(cursor.encode())
}
