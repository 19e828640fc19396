//! Tournaments on PostgreSQL / CockroachDB. A join inserts the owner's
//! empty record (`ON CONFLICT DO NOTHING`: a second join is a no-op) and
//! counts the player with a conditional update of the tournament row
//! (`size < max_size`), which concurrent joins serialize on, so the count
//! never passes the cap. A write locks the owner's record (`FOR UPDATE`),
//! decides with `kairos_core::tournament::plan_write` and stores; a first
//! record is inserted `ON CONFLICT DO NOTHING`, and if a concurrent write
//! inserted it first the whole transaction is tried again.

use kairos_core::error::{ApiError, ApiResult};
use kairos_core::leaderboard::Record;
use kairos_core::tournament::{
    self, NewTournament, Refusal, Tournament, TournamentWrite, WritePlan,
};
use tokio_postgres::Row;
use uuid::Uuid;

use super::leaderboards::{lb_from_row, record_from_row};
use super::rows::get;
use super::{PgStore, db_err};
use crate::common::{internal, leaderboard_out_of_range as out_of_range};
use crate::{BoxFuture, TournamentStore};

macro_rules! select {
    () => {
        "SELECT l.id, l.authoritative, l.sort_order, l.operator, l.reset_schedule,
            l.metadata, l.create_time, l.enable_ranks, l.last_reset,
            t.title, t.description, t.category, t.duration, t.start_time, t.end_time, t.max_size,
            t.max_num_score, t.join_required, t.size, t.size_expiry, t.last_end
         FROM tournament t JOIN leaderboard l ON l.id = t.id"
    };
}
macro_rules! record_columns {
    () => {
        "owner_id, username, score, subscore, num_score, max_num_score, metadata, create_time, \
         update_time, expiry_time"
    };
}

/// Adds attempts to the owner's record of a period, kept in 1 to
/// i32::MAX (0 would be no cap).
const ADD_ATTEMPT: &str = "UPDATE leaderboard_record
     SET max_num_score = LEAST(GREATEST(max_num_score::BIGINT + $4::BIGINT, 1), 2147483647)::INTEGER
     WHERE leaderboard_id = $1 AND expiry_time = $2 AND owner_id = $3";

const GET: &str = concat!(select!(), " WHERE t.id = $1");
const GET_MANY: &str = concat!(select!(), " WHERE t.id = ANY($1)");
const ALL: &str = concat!(select!(), " ORDER BY t.category, t.start_time, t.id");
const LB_INSERT: &str = "INSERT INTO leaderboard (id, authoritative, sort_order, operator,
        reset_schedule, metadata, create_time, enable_ranks, last_reset)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 0) ON CONFLICT (id) DO NOTHING";
const T_INSERT: &str = "INSERT INTO tournament (id, title, description, category, duration,
        start_time, end_time, max_size, max_num_score, join_required, size)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 0)";
const UNCOUNT: &str =
    "UPDATE tournament SET size = size - 1 WHERE id = $1 AND size > 0 AND size_expiry = $2";
const REC_DELETE: &str = "DELETE FROM leaderboard_record
     WHERE leaderboard_id = $1 AND expiry_time = $2 AND owner_id = $3";
/// Counts one more player in the period expiring at `$2` unless it is
/// full; the first count of a new period starts it at 1.
const COUNT: &str = "UPDATE tournament
     SET size = CASE WHEN size_expiry = $2 THEN size + 1 ELSE 1 END, size_expiry = $2
     WHERE id = $1 AND (size_expiry <> $2 OR size < max_size)";
const MARK_END: &str = "UPDATE tournament SET last_end = $2 WHERE id = $1 AND last_end < $2";
const JOIN: &str = "INSERT INTO leaderboard_record (leaderboard_id, expiry_time, owner_id,
        username, score, subscore, num_score, max_num_score, metadata, create_time, update_time)
     VALUES ($1, $2, $3, $4, 0, 0, 0, $5, '{}', $6, $6)
     ON CONFLICT (leaderboard_id, expiry_time, owner_id) DO NOTHING";
const REC_LOCK: &str = concat!(
    "SELECT ",
    record_columns!(),
    " FROM leaderboard_record WHERE leaderboard_id = $1 AND expiry_time = $2 AND owner_id = $3 \
     FOR UPDATE"
);
const REC_INSERT: &str = concat!(
    "INSERT INTO leaderboard_record (leaderboard_id, expiry_time, owner_id, username, score,
        subscore, num_score, max_num_score, metadata, create_time, update_time)
     VALUES ($1, $2, $3, $4, $5, $6, 1, $7, COALESCE($8, '{}'), $9, $9)
     ON CONFLICT (leaderboard_id, expiry_time, owner_id) DO NOTHING RETURNING ",
    record_columns!()
);
const REC_UPDATE: &str = concat!(
    "UPDATE leaderboard_record SET score = $4, subscore = $5, num_score = num_score + 1,
        username = COALESCE($6, username), metadata = COALESCE($7, metadata), update_time = $8
     WHERE leaderboard_id = $1 AND expiry_time = $2 AND owner_id = $3 RETURNING ",
    record_columns!()
);

/// How many times a write retries after losing the race to insert the
/// owner's first record.
const WRITE_TRIES: usize = 3;

fn from_row(r: &Row) -> ApiResult<Tournament> {
    Ok(Tournament {
        leaderboard: lb_from_row(r)?,
        title: get(r, 9)?,
        description: get(r, 10)?,
        category: get(r, 11)?,
        duration: get(r, 12)?,
        start_time: get(r, 13)?,
        end_time: get(r, 14)?,
        max_size: get(r, 15)?,
        max_num_score: get(r, 16)?,
        join_required: get(r, 17)?,
        size: get(r, 18)?,
        size_expiry: get(r, 19)?,
        last_end: get(r, 20)?,
    })
}

impl TournamentStore for PgStore {
    fn tournament_create(
        &self,
        t: NewTournament,
        now: i64,
    ) -> BoxFuture<'_, ApiResult<(Tournament, bool)>> {
        Box::pin(async move {
            let mut conn = self.pool.get().await?;
            let read = conn.prepare(GET).await?;
            let lb_insert = conn.prepare(LB_INSERT).await?;
            let t_insert = conn.prepare(T_INSERT).await?;
            let tx = conn.client.transaction().await.map_err(db_err)?;
            let start = if t.start_time == 0 { now } else { t.start_time };
            let n = tx
                .execute(
                    &lb_insert,
                    &[
                        &t.id,
                        &t.authoritative,
                        &t.sort_order.as_i32(),
                        &t.operator.as_stored(),
                        &t.reset_schedule,
                        &t.metadata,
                        &now,
                        &t.enable_ranks,
                    ],
                )
                .await
                .map_err(db_err)?;
            if n == 0 {
                // The id exists (maybe created concurrently): a tournament
                // is returned as it is, a plain leaderboard refuses.
                drop(tx);
                if let Some(row) = conn
                    .client
                    .query_opt(&read, &[&t.id])
                    .await
                    .map_err(db_err)?
                {
                    return Ok((from_row(&row)?, false));
                }
                return Err(ApiError::invalid(
                    "cannot create tournament as leaderboard is already in use",
                ));
            }
            tx.execute(
                &t_insert,
                &[
                    &t.id,
                    &t.title,
                    &t.description,
                    &t.category,
                    &t.duration,
                    &start,
                    &t.end_time,
                    &t.max_size,
                    &t.max_num_score,
                    &t.join_required,
                ],
            )
            .await
            .map_err(db_err)?;
            let row = tx.query_one(&read, &[&t.id]).await.map_err(db_err)?;
            let created = from_row(&row)?;
            tx.commit().await.map_err(db_err)?;
            Ok((created, true))
        })
    }

    fn tournaments_get(&self, ids: Vec<String>) -> BoxFuture<'_, ApiResult<Vec<Tournament>>> {
        Box::pin(async move {
            let mut conn = self.pool.get().await?;
            let stmt = conn.prepare(GET_MANY).await?;
            let rows = conn.client.query(&stmt, &[&ids]).await.map_err(db_err)?;
            let mut found: Vec<Tournament> = rows.iter().map(from_row).collect::<ApiResult<_>>()?;
            // In the order asked.
            found.sort_by_key(|t| ids.iter().position(|i| *i == t.leaderboard.id));
            Ok(found)
        })
    }

    fn tournaments_all(&self) -> BoxFuture<'_, ApiResult<Vec<Tournament>>> {
        Box::pin(async move {
            let mut conn = self.pool.get().await?;
            let stmt = conn.prepare(ALL).await?;
            let rows = conn.client.query(&stmt, &[]).await.map_err(db_err)?;
            rows.iter().map(from_row).collect()
        })
    }

    fn tournament_join(
        &self,
        id: String,
        owner: Uuid,
        username: Option<String>,
        now: i64,
    ) -> BoxFuture<'_, ApiResult<Result<bool, Refusal>>> {
        Box::pin(async move {
            let mut conn = self.pool.get().await?;
            let read = conn.prepare(GET).await?;
            let join = conn.prepare(JOIN).await?;
            let count = conn.prepare(COUNT).await?;
            let tx = conn.client.transaction().await.map_err(db_err)?;
            let Some(row) = tx.query_opt(&read, &[&id]).await.map_err(db_err)? else {
                return Ok(Err(Refusal::NotFound));
            };
            let t = from_row(&row)?;
            let expiry = match tournament::join_expiry(&t, now) {
                Ok(Some(expiry)) => expiry,
                Ok(None) => return Ok(Ok(false)),
                Err(refusal) => return Ok(Err(refusal)),
            };
            let inserted = tx
                .execute(
                    &join,
                    &[&id, &expiry, &owner, &username, &t.max_num_score, &now],
                )
                .await
                .map_err(db_err)?;
            if inserted == 0 {
                return Ok(Ok(false));
            }
            if t.max_size != tournament::UNLIMITED_SIZE
                && tx.execute(&count, &[&id, &expiry]).await.map_err(db_err)? == 0
            {
                return Ok(Err(Refusal::MaxSizeReached));
            }
            tx.commit().await.map_err(db_err)?;
            Ok(Ok(true))
        })
    }

    fn tournament_add_attempt(
        &self,
        id: String,
        owner: Uuid,
        count: i64,
        now: i64,
    ) -> BoxFuture<'_, ApiResult<Result<(), Refusal>>> {
        Box::pin(async move {
            let mut conn = self.pool.get().await?;
            let read = conn.prepare(GET).await?;
            let add = conn.prepare(ADD_ATTEMPT).await?;
            let tx = conn.client.transaction().await.map_err(db_err)?;
            let Some(row) = tx.query_opt(&read, &[&id]).await.map_err(db_err)? else {
                return Ok(Err(Refusal::NotFound));
            };
            let t = from_row(&row)?;
            let expiry = match tournament::attempt_expiry(&t, now) {
                Ok(expiry) => expiry,
                Err(refusal) => return Ok(Err(refusal)),
            };
            tx.execute(&add, &[&id, &expiry, &owner, &count])
                .await
                .map_err(db_err)?;
            tx.commit().await.map_err(db_err)?;
            Ok(Ok(()))
        })
    }

    fn tournament_record_write(
        &self,
        w: TournamentWrite,
    ) -> BoxFuture<'_, ApiResult<Result<Record, Refusal>>> {
        Box::pin(async move {
            let mut conn = self.pool.get().await?;
            let read = conn.prepare(GET).await?;
            let lock = conn.prepare(REC_LOCK).await?;
            let insert = conn.prepare(REC_INSERT).await?;
            let update = conn.prepare(REC_UPDATE).await?;
            let count = conn.prepare(COUNT).await?;
            let id = w.tournament_id.as_str();
            for _ in 0..WRITE_TRIES {
                let tx = conn.client.transaction().await.map_err(db_err)?;
                let Some(row) = tx.query_opt(&read, &[&id]).await.map_err(db_err)? else {
                    return Ok(Err(Refusal::NotFound));
                };
                let t = from_row(&row)?;
                let expiry = match tournament::write_expiry(&t, &w) {
                    Ok(expiry) => expiry,
                    Err(refusal) => return Ok(Err(refusal)),
                };
                let old = match tx
                    .query_opt(&lock, &[&id, &expiry, &w.owner_id])
                    .await
                    .map_err(db_err)?
                {
                    Some(row) => Some(record_from_row(id, &row)?),
                    None => None,
                };
                let plan = tournament::plan_write(
                    &t,
                    &w,
                    old.as_ref()
                        .map(|r| (r.score, r.subscore, r.num_score, r.max_num_score)),
                );
                let row = match plan {
                    Err(Some(refusal)) => return Ok(Err(refusal)),
                    Err(None) => return Err(out_of_range()),
                    Ok(WritePlan::Insert {
                        score,
                        subscore,
                        count: counted,
                    }) => {
                        if counted
                            && tx.execute(&count, &[&id, &expiry]).await.map_err(db_err)? == 0
                        {
                            return Ok(Err(Refusal::MaxSizeReached));
                        }
                        let inserted = tx
                            .query_opt(
                                &insert,
                                &[
                                    &id,
                                    &expiry,
                                    &w.owner_id,
                                    &w.username,
                                    &score,
                                    &subscore,
                                    &t.max_num_score,
                                    &w.metadata,
                                    &w.now,
                                ],
                            )
                            .await
                            .map_err(db_err)?;
                        match inserted {
                            Some(row) => row,
                            // A concurrent first write won: try again.
                            None => continue,
                        }
                    }
                    Ok(WritePlan::Update { score, subscore }) => tx
                        .query_one(
                            &update,
                            &[
                                &id,
                                &expiry,
                                &w.owner_id,
                                &score,
                                &subscore,
                                &w.username,
                                &w.metadata,
                                &w.now,
                            ],
                        )
                        .await
                        .map_err(db_err)?,
                };
                let record = record_from_row(id, &row)?;
                tx.commit().await.map_err(db_err)?;
                return Ok(Ok(record));
            }
            Err(internal(
                "tournament write",
                "lost the insert race repeatedly",
            ))
        })
    }

    fn tournament_record_delete(
        &self,
        id: String,
        owner: Uuid,
        from_server: bool,
        now: i64,
    ) -> BoxFuture<'_, ApiResult<Result<i64, Refusal>>> {
        Box::pin(async move {
            let mut conn = self.pool.get().await?;
            let read = conn.prepare(GET).await?;
            let delete = conn.prepare(REC_DELETE).await?;
            let uncount = conn.prepare(UNCOUNT).await?;
            let tx = conn.client.transaction().await.map_err(db_err)?;
            let Some(row) = tx.query_opt(&read, &[&id]).await.map_err(db_err)? else {
                return Ok(Err(Refusal::NotFound));
            };
            let t = from_row(&row)?;
            let expiry = match tournament::delete_expiry(&t, from_server, now) {
                Ok(expiry) => expiry,
                Err(refusal) => return Ok(Err(refusal)),
            };
            let n = tx
                .execute(&delete, &[&id, &expiry, &owner])
                .await
                .map_err(db_err)?;
            if n > 0 && t.max_size != tournament::UNLIMITED_SIZE {
                tx.execute(&uncount, &[&id, &expiry])
                    .await
                    .map_err(db_err)?;
            }
            tx.commit().await.map_err(db_err)?;
            Ok(Ok(expiry))
        })
    }

    fn tournament_mark_end(&self, id: String, at: i64) -> BoxFuture<'_, ApiResult<bool>> {
        Box::pin(async move {
            let mut conn = self.pool.get().await?;
            let mark = conn.prepare(MARK_END).await?;
            let n = conn
                .client
                .execute(&mark, &[&id, &at])
                .await
                .map_err(db_err)?;
            Ok(n > 0)
        })
    }
}
