//! Tournaments on SQLite. Creation, joins and writes each run in one
//! IMMEDIATE transaction on the single writer: read the definition,
//! decide with `kairos_core::tournament`, count the player against
//! `max_size` with a conditional update, store the record.

use kairos_core::error::{ApiError, ApiResult};
use kairos_core::leaderboard::Record;
use kairos_core::tournament::{
    self, NewTournament, Refusal, Tournament, TournamentWrite, WritePlan,
};
use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};
use uuid::Uuid;

use super::SqliteStore;
use super::db::{db_err, exec};
use super::leaderboards::{lb_from_row, record_get};
use crate::common::{internal, leaderboard_out_of_range as out_of_range};
use crate::{BoxFuture, TournamentStore};

const SELECT: &str = "SELECT l.id, l.authoritative, l.sort_order, l.operator, l.reset_schedule,
        l.metadata, l.create_time, l.enable_ranks, l.last_reset,
        t.title, t.description, t.category, t.duration, t.start_time, t.end_time, t.max_size,
        t.max_num_score, t.join_required, t.size, t.size_expiry, t.last_end
     FROM tournament t JOIN leaderboard l ON l.id = t.id";

fn from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Tournament> {
    Ok(Tournament {
        leaderboard: lb_from_row(r)?,
        title: r.get(9)?,
        description: r.get(10)?,
        category: r.get(11)?,
        duration: r.get(12)?,
        start_time: r.get(13)?,
        end_time: r.get(14)?,
        max_size: r.get(15)?,
        max_num_score: r.get(16)?,
        join_required: r.get(17)?,
        size: r.get(18)?,
        size_expiry: r.get(19)?,
        last_end: r.get(20)?,
    })
}

fn get(c: &Connection, id: &str) -> ApiResult<Option<Tournament>> {
    let sql = format!("{SELECT} WHERE t.id = ?1");
    c.prepare_cached(&sql)
        .map_err(db_err)?
        .query_row([id], from_row)
        .optional()
        .map_err(db_err)
}

/// Counts one more player in the period expiring at `expiry` unless it
/// is full; the first count of a new period starts it at 1.
fn count_player(c: &Connection, id: &str, expiry: i64) -> ApiResult<bool> {
    exec(
        c,
        "UPDATE tournament
         SET size = CASE WHEN size_expiry = ?2 THEN size + 1 ELSE 1 END, size_expiry = ?2
         WHERE id = ?1 AND (size_expiry <> ?2 OR size < max_size)",
        params![id, expiry],
    )
    .map(|n| n > 0)
    .map_err(db_err)
}

impl TournamentStore for SqliteStore {
    fn tournament_create(
        &self,
        t: NewTournament,
        now: i64,
    ) -> BoxFuture<'_, ApiResult<(Tournament, bool)>> {
        Box::pin(self.blocking(move |db| {
            db.write(|c| {
                let tx = c
                    .transaction_with_behavior(TransactionBehavior::Immediate)
                    .map_err(db_err)?;
                if let Some(found) = get(&tx, &t.id)? {
                    return Ok((found, false));
                }
                let taken: Option<i64> = tx
                    .query_row("SELECT 1 FROM leaderboard WHERE id = ?1", [&t.id], |r| {
                        r.get(0)
                    })
                    .optional()
                    .map_err(db_err)?;
                if taken.is_some() {
                    return Err(ApiError::invalid(
                        "cannot create tournament as leaderboard is already in use",
                    ));
                }
                let start = if t.start_time == 0 { now } else { t.start_time };
                exec(
                    &tx,
                    "INSERT INTO leaderboard (id, authoritative, sort_order, operator,
                         reset_schedule, metadata, create_time, enable_ranks, last_reset)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, 0)",
                    params![
                        t.id,
                        t.authoritative,
                        t.sort_order.as_i32(),
                        t.operator.as_stored(),
                        t.reset_schedule,
                        t.metadata,
                        now,
                        t.enable_ranks
                    ],
                )
                .map_err(db_err)?;
                exec(
                    &tx,
                    "INSERT INTO tournament (id, title, description, category, duration,
                         start_time, end_time, max_size, max_num_score, join_required, size)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, 0)",
                    params![
                        t.id,
                        t.title,
                        t.description,
                        t.category,
                        t.duration,
                        start,
                        t.end_time,
                        t.max_size,
                        t.max_num_score,
                        t.join_required
                    ],
                )
                .map_err(db_err)?;
                let created =
                    get(&tx, &t.id)?.ok_or_else(|| internal("tournament create", "row gone"))?;
                tx.commit().map_err(db_err)?;
                Ok((created, true))
            })
        }))
    }

    fn tournaments_get(&self, ids: Vec<String>) -> BoxFuture<'_, ApiResult<Vec<Tournament>>> {
        Box::pin(self.blocking(move |db| {
            db.read(|c| {
                let mut out = Vec::with_capacity(ids.len());
                for id in ids {
                    if let Some(t) = get(c, &id)? {
                        out.push(t);
                    }
                }
                Ok(out)
            })
        }))
    }

    fn tournaments_all(&self) -> BoxFuture<'_, ApiResult<Vec<Tournament>>> {
        Box::pin(self.blocking(move |db| {
            db.read(|c| {
                let sql = format!("{SELECT} ORDER BY t.category, t.start_time, t.id");
                let mut stmt = c.prepare_cached(&sql).map_err(db_err)?;
                let rows = stmt.query_map([], from_row).map_err(db_err)?;
                rows.collect::<rusqlite::Result<Vec<_>>>().map_err(db_err)
            })
        }))
    }

    fn tournament_join(
        &self,
        id: String,
        owner: Uuid,
        username: Option<String>,
        now: i64,
    ) -> BoxFuture<'_, ApiResult<Result<bool, Refusal>>> {
        Box::pin(self.blocking(move |db| {
            db.write(|c| {
                let tx = c
                    .transaction_with_behavior(TransactionBehavior::Immediate)
                    .map_err(db_err)?;
                let Some(t) = get(&tx, &id)? else {
                    return Ok(Err(Refusal::NotFound));
                };
                let expiry = match tournament::join_expiry(&t, now) {
                    Ok(Some(expiry)) => expiry,
                    Ok(None) => return Ok(Ok(false)),
                    Err(refusal) => return Ok(Err(refusal)),
                };
                let inserted = exec(
                    &tx,
                    "INSERT INTO leaderboard_record (leaderboard_id, expiry_time, owner_id,
                         username, score, subscore, num_score, max_num_score, metadata,
                         create_time, update_time)
                     VALUES (?1, ?2, ?3, ?4, 0, 0, 0, ?5, '{}', ?6, ?6)
                     ON CONFLICT (leaderboard_id, expiry_time, owner_id) DO NOTHING",
                    params![
                        id,
                        expiry,
                        owner.to_string(),
                        username,
                        t.max_num_score,
                        now
                    ],
                )
                .map_err(db_err)?;
                if inserted == 0 {
                    return Ok(Ok(false));
                }
                if t.max_size != tournament::UNLIMITED_SIZE && !count_player(&tx, &id, expiry)? {
                    return Ok(Err(Refusal::MaxSizeReached));
                }
                tx.commit().map_err(db_err)?;
                Ok(Ok(true))
            })
        }))
    }

    fn tournament_add_attempt(
        &self,
        id: String,
        owner: Uuid,
        count: i64,
        now: i64,
    ) -> BoxFuture<'_, ApiResult<Result<(), Refusal>>> {
        Box::pin(self.blocking(move |db| {
            db.write(|c| {
                let tx = c
                    .transaction_with_behavior(TransactionBehavior::Immediate)
                    .map_err(db_err)?;
                let Some(t) = get(&tx, &id)? else {
                    return Ok(Err(Refusal::NotFound));
                };
                let expiry = match tournament::attempt_expiry(&t, now) {
                    Ok(expiry) => expiry,
                    Err(refusal) => return Ok(Err(refusal)),
                };
                exec(
                    &tx,
                    "UPDATE leaderboard_record
                     SET max_num_score = max(1, min(2147483647, max_num_score + ?4))
                     WHERE leaderboard_id = ?1 AND expiry_time = ?2 AND owner_id = ?3",
                    params![id, expiry, owner.to_string(), count],
                )
                .map_err(db_err)?;
                tx.commit().map_err(db_err)?;
                Ok(Ok(()))
            })
        }))
    }

    fn tournament_record_write(
        &self,
        w: TournamentWrite,
    ) -> BoxFuture<'_, ApiResult<Result<Record, Refusal>>> {
        Box::pin(self.blocking(move |db| {
            db.write(|c| {
                let tx = c
                    .transaction_with_behavior(TransactionBehavior::Immediate)
                    .map_err(db_err)?;
                let id = w.tournament_id.as_str();
                let Some(t) = get(&tx, id)? else {
                    return Ok(Err(Refusal::NotFound));
                };
                let expiry = match tournament::write_expiry(&t, &w) {
                    Ok(expiry) => expiry,
                    Err(refusal) => return Ok(Err(refusal)),
                };
                let old = record_get(&tx, id, expiry, w.owner_id)?;
                let plan = tournament::plan_write(
                    &t,
                    &w,
                    old.as_ref()
                        .map(|r| (r.score, r.subscore, r.num_score, r.max_num_score)),
                );
                match plan {
                    Err(Some(refusal)) => return Ok(Err(refusal)),
                    Err(None) => return Err(out_of_range()),
                    Ok(WritePlan::Insert {
                        score,
                        subscore,
                        count,
                    }) => {
                        if count && !count_player(&tx, id, expiry)? {
                            return Ok(Err(Refusal::MaxSizeReached));
                        }
                        exec(
                            &tx,
                            "INSERT INTO leaderboard_record (leaderboard_id, expiry_time,
                                 owner_id, username, score, subscore, num_score, max_num_score,
                                 metadata, create_time, update_time)
                             VALUES (?1, ?2, ?3, ?4, ?5, ?6, 1, ?7, COALESCE(?8, '{}'), ?9, ?9)",
                            params![
                                id,
                                expiry,
                                w.owner_id.to_string(),
                                w.username,
                                score,
                                subscore,
                                t.max_num_score,
                                w.metadata,
                                w.now
                            ],
                        )
                        .map_err(db_err)?;
                    }
                    Ok(WritePlan::Update { score, subscore }) => {
                        exec(
                            &tx,
                            "UPDATE leaderboard_record SET score = ?4, subscore = ?5,
                                 num_score = num_score + 1, username = COALESCE(?6, username),
                                 metadata = COALESCE(?7, metadata), update_time = ?8
                             WHERE leaderboard_id = ?1 AND expiry_time = ?2 AND owner_id = ?3",
                            params![
                                id,
                                expiry,
                                w.owner_id.to_string(),
                                score,
                                subscore,
                                w.username,
                                w.metadata,
                                w.now
                            ],
                        )
                        .map_err(db_err)?;
                    }
                }
                let record = record_get(&tx, id, expiry, w.owner_id)?
                    .ok_or_else(|| internal("tournament write", "record gone"))?;
                tx.commit().map_err(db_err)?;
                Ok(Ok(record))
            })
        }))
    }

    fn tournament_record_delete(
        &self,
        id: String,
        owner: Uuid,
        from_server: bool,
        now: i64,
    ) -> BoxFuture<'_, ApiResult<Result<i64, Refusal>>> {
        Box::pin(self.blocking(move |db| {
            db.write(|c| {
                let tx = c
                    .transaction_with_behavior(TransactionBehavior::Immediate)
                    .map_err(db_err)?;
                let Some(t) = get(&tx, &id)? else {
                    return Ok(Err(Refusal::NotFound));
                };
                let expiry = match tournament::delete_expiry(&t, from_server, now) {
                    Ok(expiry) => expiry,
                    Err(refusal) => return Ok(Err(refusal)),
                };
                let n = exec(
                    &tx,
                    "DELETE FROM leaderboard_record
                     WHERE leaderboard_id = ?1 AND expiry_time = ?2 AND owner_id = ?3",
                    params![id, expiry, owner.to_string()],
                )
                .map_err(db_err)?;
                if n > 0 && t.max_size != tournament::UNLIMITED_SIZE {
                    exec(
                        &tx,
                        "UPDATE tournament SET size = size - 1
                         WHERE id = ?1 AND size > 0 AND size_expiry = ?2",
                        params![id, expiry],
                    )
                    .map_err(db_err)?;
                }
                tx.commit().map_err(db_err)?;
                Ok(Ok(expiry))
            })
        }))
    }

    fn tournament_mark_end(&self, id: String, at: i64) -> BoxFuture<'_, ApiResult<bool>> {
        Box::pin(self.blocking(move |db| {
            db.write(|c| {
                exec(
                    c,
                    "UPDATE tournament SET last_end = ?2 WHERE id = ?1 AND last_end < ?2",
                    params![id, at],
                )
                .map(|n| n > 0)
                .map_err(db_err)
            })
        }))
    }
}
