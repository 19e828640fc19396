//! Leaderboards and their records on PostgreSQL / CockroachDB. A write
//! first tries to insert the owner's new record (`ON CONFLICT DO
//! NOTHING`, which waits for a concurrent insert of the same key); if the
//! record exists it is locked (`FOR UPDATE`), decided with
//! `kairos_core::leaderboard::write::apply`, and updated, all in one
//! transaction, so concurrent writes serialize on the row.

use kairos_core::error::ApiResult;
use kairos_core::leaderboard::list::{Dir, Query};
use kairos_core::leaderboard::rank::RankRow;
use kairos_core::leaderboard::write::{self, Applied, RecordWrite, Written};
use kairos_core::leaderboard::{Leaderboard, Operator, Record, SortOrder};
use tokio_postgres::Row;
use uuid::Uuid;

use super::rows::get;
use super::{PgStore, db_err};
use crate::common::leaderboard_out_of_range as out_of_range;
use crate::common::{internal, sql_limit};
use crate::{BoxFuture, LeaderboardStore};

macro_rules! lb_columns {
    () => {
        "id, authoritative, sort_order, operator, reset_schedule, metadata, create_time, \
         enable_ranks, last_reset"
    };
}
macro_rules! record_columns {
    () => {
        "owner_id, username, score, subscore, num_score, max_num_score, metadata, create_time, \
         update_time, expiry_time"
    };
}

const LB_GET: &str = concat!("SELECT ", lb_columns!(), " FROM leaderboard WHERE id = $1");
const LB_ALL: &str = concat!(
    "SELECT ",
    lb_columns!(),
    " FROM leaderboard ORDER BY create_time, id"
);
const LB_INSERT: &str = "INSERT INTO leaderboard (id, authoritative, sort_order, operator,
        reset_schedule, metadata, create_time, enable_ranks, last_reset)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT (id) DO NOTHING";
const LB_DELETE: &str = "DELETE FROM leaderboard WHERE id = $1";
const LB_MARK: &str = "UPDATE leaderboard SET last_reset = $2 WHERE id = $1 AND last_reset < $2";
const LB_RANKS_OFF: &str = "UPDATE leaderboard SET enable_ranks = FALSE WHERE id = $1";
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
const REC_DELETE: &str = "DELETE FROM leaderboard_record WHERE leaderboard_id = $1 AND expiry_time = $2 AND owner_id = $3";
const REC_OF: &str = concat!(
    "SELECT ",
    record_columns!(),
    " FROM leaderboard_record WHERE leaderboard_id = $1 AND expiry_time = $2 AND owner_id = ANY($3)"
);
const RANK_ROWS: &str = "SELECT owner_id, score, subscore, num_score FROM leaderboard_record
     WHERE leaderboard_id = $1 AND expiry_time = $2";
const RANGE_UP: &str = concat!(
    "SELECT ",
    record_columns!(),
    " FROM leaderboard_record WHERE leaderboard_id = $1 AND expiry_time = $2
     ORDER BY score ASC, subscore ASC, owner_id ASC LIMIT $3"
);
const RANGE_DOWN: &str = concat!(
    "SELECT ",
    record_columns!(),
    " FROM leaderboard_record WHERE leaderboard_id = $1 AND expiry_time = $2
     ORDER BY score DESC, subscore DESC, owner_id DESC LIMIT $3"
);
const RANGE_UP_AFTER: &str = concat!(
    "SELECT ",
    record_columns!(),
    " FROM leaderboard_record WHERE leaderboard_id = $1 AND expiry_time = $2
       AND (score, subscore, owner_id) > ($4, $5, $6)
     ORDER BY score ASC, subscore ASC, owner_id ASC LIMIT $3"
);
const RANGE_DOWN_BEFORE: &str = concat!(
    "SELECT ",
    record_columns!(),
    " FROM leaderboard_record WHERE leaderboard_id = $1 AND expiry_time = $2
       AND (score, subscore, owner_id) < ($4, $5, $6)
     ORDER BY score DESC, subscore DESC, owner_id DESC LIMIT $3"
);

const OF_OWNER: &str = concat!(
    "SELECT ",
    record_columns!(),
    ", leaderboard_id FROM leaderboard_record WHERE owner_id = $1
     ORDER BY leaderboard_id, expiry_time"
);

/// Every record `owner` holds, of every board and period, by board and
/// period (an account export).
pub(super) async fn records_of_owner(
    conn: &mut super::pool::PgConn,
    owner: Uuid,
) -> ApiResult<Vec<Record>> {
    let stmt = conn.prepare(OF_OWNER).await?;
    let rows = conn.client.query(&stmt, &[&owner]).await.map_err(db_err)?;
    rows.iter()
        .map(|r| {
            let id: String = get(r, 10)?;
            record_from_row(&id, r)
        })
        .collect()
}

pub(super) fn lb_from_row(r: &Row) -> ApiResult<Leaderboard> {
    Ok(Leaderboard {
        id: get(r, 0)?,
        authoritative: get(r, 1)?,
        sort_order: SortOrder::from_i32(get(r, 2)?)
            .ok_or_else(|| internal("reading a leaderboard", "sort order"))?,
        operator: Operator::from_stored(get(r, 3)?)
            .ok_or_else(|| internal("reading a leaderboard", "operator"))?,
        reset_schedule: get(r, 4)?,
        metadata: get(r, 5)?,
        create_time: get(r, 6)?,
        enable_ranks: get(r, 7)?,
        last_reset: get(r, 8)?,
    })
}

pub(super) fn record_from_row(id: &str, r: &Row) -> ApiResult<Record> {
    Ok(Record {
        leaderboard_id: id.to_string(),
        owner_id: get(r, 0)?,
        username: get(r, 1)?,
        score: get(r, 2)?,
        subscore: get(r, 3)?,
        num_score: get(r, 4)?,
        max_num_score: get(r, 5)?,
        metadata: get(r, 6)?,
        create_time: get(r, 7)?,
        update_time: get(r, 8)?,
        expiry_time: get(r, 9)?,
        rank: 0,
    })
}

impl LeaderboardStore for PgStore {
    fn leaderboard_create(&self, lb: Leaderboard) -> BoxFuture<'_, ApiResult<(Leaderboard, bool)>> {
        Box::pin(async move {
            let mut conn = self.pool.get().await?;
            let insert = conn.prepare(LB_INSERT).await?;
            let read = conn.prepare(LB_GET).await?;
            let n = conn
                .client
                .execute(
                    &insert,
                    &[
                        &lb.id,
                        &lb.authoritative,
                        &lb.sort_order.as_i32(),
                        &lb.operator.as_stored(),
                        &lb.reset_schedule,
                        &lb.metadata,
                        &lb.create_time,
                        &lb.enable_ranks,
                        &lb.last_reset,
                    ],
                )
                .await
                .map_err(db_err)?;
            if n > 0 {
                return Ok((lb, true));
            }
            // Created before (or concurrently): the stored one wins.
            let row = conn
                .client
                .query_one(&read, &[&lb.id])
                .await
                .map_err(db_err)?;
            Ok((lb_from_row(&row)?, false))
        })
    }

    fn leaderboard_delete(&self, id: String) -> BoxFuture<'_, ApiResult<bool>> {
        Box::pin(async move {
            let mut conn = self.pool.get().await?;
            let stmt = conn.prepare(LB_DELETE).await?;
            let n = conn.client.execute(&stmt, &[&id]).await.map_err(db_err)?;
            Ok(n > 0)
        })
    }

    fn leaderboards_all(&self) -> BoxFuture<'_, ApiResult<Vec<Leaderboard>>> {
        Box::pin(async move {
            let mut conn = self.pool.get().await?;
            let stmt = conn.prepare(LB_ALL).await?;
            let rows = conn.client.query(&stmt, &[]).await.map_err(db_err)?;
            rows.iter().map(lb_from_row).collect()
        })
    }

    fn leaderboard_ranks_disable(&self, id: String) -> BoxFuture<'_, ApiResult<bool>> {
        Box::pin(async move {
            let mut conn = self.pool.get().await?;
            let stmt = conn.prepare(LB_RANKS_OFF).await?;
            let n = conn.client.execute(&stmt, &[&id]).await.map_err(db_err)?;
            Ok(n > 0)
        })
    }

    fn leaderboard_mark_reset(&self, id: String, at: i64) -> BoxFuture<'_, ApiResult<bool>> {
        Box::pin(async move {
            let mut conn = self.pool.get().await?;
            let stmt = conn.prepare(LB_MARK).await?;
            let n = conn
                .client
                .execute(&stmt, &[&id, &at])
                .await
                .map_err(db_err)?;
            Ok(n > 0)
        })
    }

    fn leaderboard_record_write(&self, w: RecordWrite) -> BoxFuture<'_, ApiResult<Written>> {
        Box::pin(async move {
            let mut conn = self.pool.get().await?;
            let insert = conn.prepare(REC_INSERT).await?;
            let lock = conn.prepare(REC_LOCK).await?;
            let update = conn.prepare(REC_UPDATE).await?;
            let id = w.leaderboard_id.as_str();
            let tx = conn.client.transaction().await.map_err(db_err)?;
            // A first write, if the owner has no record yet.
            if let Ok(Applied::Store { score, subscore }) =
                write::apply(w.operator, w.sort, None, w.score, w.subscore)
            {
                let inserted = tx
                    .query_opt(
                        &insert,
                        &[
                            &id,
                            &w.expiry,
                            &w.owner_id,
                            &w.username,
                            &score,
                            &subscore,
                            &w.max_num_score,
                            &w.metadata,
                            &w.now,
                        ],
                    )
                    .await
                    .map_err(db_err)?;
                if let Some(row) = inserted {
                    let record = record_from_row(id, &row)?;
                    tx.commit().await.map_err(db_err)?;
                    return Ok(Written {
                        record,
                        changed: true,
                    });
                }
            }
            let Some(row) = tx
                .query_opt(&lock, &[&id, &w.expiry, &w.owner_id])
                .await
                .map_err(db_err)?
            else {
                // No record, and the first write's values are out of range.
                return Err(out_of_range());
            };
            let old = record_from_row(id, &row)?;
            let applied = write::apply(
                w.operator,
                w.sort,
                Some((old.score, old.subscore)),
                w.score,
                w.subscore,
            )
            .map_err(|_| out_of_range())?;
            let Applied::Store { score, subscore } = applied else {
                tx.commit().await.map_err(db_err)?;
                return Ok(Written {
                    record: old,
                    changed: false,
                });
            };
            let row = tx
                .query_one(
                    &update,
                    &[
                        &id,
                        &w.expiry,
                        &w.owner_id,
                        &score,
                        &subscore,
                        &w.username,
                        &w.metadata,
                        &w.now,
                    ],
                )
                .await
                .map_err(db_err)?;
            let record = record_from_row(id, &row)?;
            tx.commit().await.map_err(db_err)?;
            Ok(Written {
                record,
                changed: true,
            })
        })
    }

    fn leaderboard_record_delete(
        &self,
        id: String,
        expiry: i64,
        owner: Uuid,
    ) -> BoxFuture<'_, ApiResult<bool>> {
        Box::pin(async move {
            let mut conn = self.pool.get().await?;
            let stmt = conn.prepare(REC_DELETE).await?;
            let n = conn
                .client
                .execute(&stmt, &[&id, &expiry, &owner])
                .await
                .map_err(db_err)?;
            Ok(n > 0)
        })
    }

    fn leaderboard_records_range(
        &self,
        id: String,
        expiry: i64,
        q: Query,
    ) -> BoxFuture<'_, ApiResult<Vec<Record>>> {
        Box::pin(async move {
            let mut conn = self.pool.get().await?;
            let limit = sql_limit(q.limit);
            let rows = match q.bound {
                None => {
                    let sql = if q.dir == Dir::Up {
                        RANGE_UP
                    } else {
                        RANGE_DOWN
                    };
                    let stmt = conn.prepare(sql).await?;
                    conn.client.query(&stmt, &[&id, &expiry, &limit]).await
                }
                Some((s, ss, o)) => {
                    let sql = if q.dir == Dir::Up {
                        RANGE_UP_AFTER
                    } else {
                        RANGE_DOWN_BEFORE
                    };
                    let stmt = conn.prepare(sql).await?;
                    conn.client
                        .query(&stmt, &[&id, &expiry, &limit, &s, &ss, &o])
                        .await
                }
            }
            .map_err(db_err)?;
            rows.iter().map(|r| record_from_row(&id, r)).collect()
        })
    }

    fn leaderboard_records_of(
        &self,
        id: String,
        expiry: i64,
        owners: Vec<Uuid>,
    ) -> BoxFuture<'_, ApiResult<Vec<Record>>> {
        Box::pin(async move {
            let mut conn = self.pool.get().await?;
            let stmt = conn.prepare(REC_OF).await?;
            let rows = conn
                .client
                .query(&stmt, &[&id, &expiry, &owners])
                .await
                .map_err(db_err)?;
            rows.iter().map(|r| record_from_row(&id, r)).collect()
        })
    }

    fn leaderboard_rank_rows(
        &self,
        id: String,
        expiry: i64,
    ) -> BoxFuture<'_, ApiResult<Vec<RankRow>>> {
        Box::pin(async move {
            let mut conn = self.pool.get().await?;
            let stmt = conn.prepare(RANK_ROWS).await?;
            let rows = conn
                .client
                .query(&stmt, &[&id, &expiry])
                .await
                .map_err(db_err)?;
            rows.iter()
                .map(|r| Ok((get(r, 0)?, get(r, 1)?, get(r, 2)?, get(r, 3)?)))
                .collect()
        })
    }
}
