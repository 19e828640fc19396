//! Leaderboards and their records on SQLite. A write runs in one
//! IMMEDIATE transaction on the single writer: read the owner's record,
//! decide with `kairos_core::leaderboard::write::apply`, store.

use kairos_core::error::ApiResult;
use kairos_core::leaderboard::list::{Dir, Query};
use kairos_core::leaderboard::rank::RankRow;
use kairos_core::leaderboard::write::{self, Applied, RecordWrite, Written};
use kairos_core::leaderboard::{Leaderboard, Operator, Record, SortOrder};
use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};
use uuid::Uuid;

use super::SqliteStore;
use super::db::{Db, db_err, exec};
use super::rows::uuid_at;
use crate::common::{internal, leaderboard_out_of_range as out_of_range};
use crate::{BoxFuture, LeaderboardStore};

const LB_COLUMNS: &str = "id, authoritative, sort_order, operator, reset_schedule, metadata, \
    create_time, enable_ranks, last_reset";
const RECORD_COLUMNS: &str = "owner_id, username, score, subscore, num_score, max_num_score, \
    metadata, create_time, update_time, expiry_time";

pub(super) fn lb_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Leaderboard> {
    let bad = |i: usize| {
        rusqlite::Error::FromSqlConversionFailure(
            i,
            rusqlite::types::Type::Integer,
            "unknown leaderboard enum".into(),
        )
    };
    Ok(Leaderboard {
        id: r.get(0)?,
        authoritative: r.get(1)?,
        sort_order: SortOrder::from_i32(r.get(2)?).ok_or_else(|| bad(2))?,
        operator: Operator::from_stored(r.get(3)?).ok_or_else(|| bad(3))?,
        reset_schedule: r.get(4)?,
        metadata: r.get(5)?,
        create_time: r.get(6)?,
        enable_ranks: r.get(7)?,
        last_reset: r.get(8)?,
    })
}

fn record_from_row(id: &str, r: &rusqlite::Row<'_>) -> rusqlite::Result<Record> {
    Ok(Record {
        leaderboard_id: id.to_string(),
        owner_id: uuid_at(r, 0)?,
        username: r.get(1)?,
        score: r.get(2)?,
        subscore: r.get(3)?,
        num_score: r.get(4)?,
        max_num_score: r.get(5)?,
        metadata: r.get(6)?,
        create_time: r.get(7)?,
        update_time: r.get(8)?,
        expiry_time: r.get(9)?,
        rank: 0,
    })
}

/// Every record `owner` holds, of every board and period, by board and
/// period (an account export).
pub(super) fn records_of_owner(c: &Connection, owner: &str) -> ApiResult<Vec<Record>> {
    let sql = format!(
        "SELECT {RECORD_COLUMNS}, leaderboard_id FROM leaderboard_record
         WHERE owner_id = ?1 ORDER BY leaderboard_id, expiry_time"
    );
    let mut stmt = c.prepare_cached(&sql).map_err(db_err)?;
    let rows = stmt
        .query_map([owner], |r| {
            let id: String = r.get(10)?;
            record_from_row(&id, r)
        })
        .map_err(db_err)?;
    rows.collect::<rusqlite::Result<_>>().map_err(db_err)
}

impl LeaderboardStore for SqliteStore {
    fn leaderboard_create(&self, lb: Leaderboard) -> BoxFuture<'_, ApiResult<(Leaderboard, bool)>> {
        Box::pin(self.blocking(move |db| db.leaderboard_create(lb)))
    }

    fn leaderboard_delete(&self, id: String) -> BoxFuture<'_, ApiResult<bool>> {
        Box::pin(self.blocking(move |db| {
            db.write(|c| {
                exec(c, "DELETE FROM leaderboard WHERE id = ?1", [&id])
                    .map(|n| n > 0)
                    .map_err(db_err)
            })
        }))
    }

    fn leaderboards_all(&self) -> BoxFuture<'_, ApiResult<Vec<Leaderboard>>> {
        Box::pin(self.blocking(move |db| {
            db.read(|c| {
                let sql = format!("SELECT {LB_COLUMNS} FROM leaderboard ORDER BY create_time, id");
                let mut stmt = c.prepare_cached(&sql).map_err(db_err)?;
                let rows = stmt.query_map([], lb_from_row).map_err(db_err)?;
                rows.collect::<rusqlite::Result<Vec<_>>>().map_err(db_err)
            })
        }))
    }

    fn leaderboard_ranks_disable(&self, id: String) -> BoxFuture<'_, ApiResult<bool>> {
        Box::pin(self.blocking(move |db| {
            db.write(|c| {
                exec(
                    c,
                    "UPDATE leaderboard SET enable_ranks = 0 WHERE id = ?1",
                    params![id],
                )
                .map(|n| n > 0)
                .map_err(db_err)
            })
        }))
    }

    fn leaderboard_mark_reset(&self, id: String, at: i64) -> BoxFuture<'_, ApiResult<bool>> {
        Box::pin(self.blocking(move |db| {
            db.write(|c| {
                exec(
                    c,
                    "UPDATE leaderboard SET last_reset = ?2 WHERE id = ?1 AND last_reset < ?2",
                    params![id, at],
                )
                .map(|n| n > 0)
                .map_err(db_err)
            })
        }))
    }

    fn leaderboard_record_write(&self, w: RecordWrite) -> BoxFuture<'_, ApiResult<Written>> {
        Box::pin(self.blocking(move |db| db.leaderboard_record_write(&w)))
    }

    fn leaderboard_record_delete(
        &self,
        id: String,
        expiry: i64,
        owner: Uuid,
    ) -> BoxFuture<'_, ApiResult<bool>> {
        Box::pin(self.blocking(move |db| {
            db.write(|c| {
                exec(
                    c,
                    "DELETE FROM leaderboard_record
                     WHERE leaderboard_id = ?1 AND expiry_time = ?2 AND owner_id = ?3",
                    params![id, expiry, owner.to_string()],
                )
                .map(|n| n > 0)
                .map_err(db_err)
            })
        }))
    }

    fn leaderboard_records_range(
        &self,
        id: String,
        expiry: i64,
        q: Query,
    ) -> BoxFuture<'_, ApiResult<Vec<Record>>> {
        Box::pin(self.blocking(move |db| db.read(|c| records_range(c, &id, expiry, q))))
    }

    fn leaderboard_records_of(
        &self,
        id: String,
        expiry: i64,
        owners: Vec<Uuid>,
    ) -> BoxFuture<'_, ApiResult<Vec<Record>>> {
        Box::pin(self.blocking(move |db| {
            db.read(|c| {
                let mut out = Vec::with_capacity(owners.len());
                for owner in owners {
                    if let Some(r) = record_get(c, &id, expiry, owner)? {
                        out.push(r);
                    }
                }
                Ok(out)
            })
        }))
    }

    fn leaderboard_rank_rows(
        &self,
        id: String,
        expiry: i64,
    ) -> BoxFuture<'_, ApiResult<Vec<RankRow>>> {
        Box::pin(self.blocking(move |db| {
            db.read(|c| {
                let mut stmt = c
                    .prepare_cached(
                        "SELECT owner_id, score, subscore, num_score FROM leaderboard_record
                         WHERE leaderboard_id = ?1 AND expiry_time = ?2",
                    )
                    .map_err(db_err)?;
                let rows = stmt
                    .query_map(params![id, expiry], |r| {
                        Ok((uuid_at(r, 0)?, r.get(1)?, r.get(2)?, r.get(3)?))
                    })
                    .map_err(db_err)?;
                rows.collect::<rusqlite::Result<Vec<_>>>().map_err(db_err)
            })
        }))
    }
}

pub(super) fn record_get(
    c: &Connection,
    id: &str,
    expiry: i64,
    owner: Uuid,
) -> ApiResult<Option<Record>> {
    let sql = format!(
        "SELECT {RECORD_COLUMNS} FROM leaderboard_record
         WHERE leaderboard_id = ?1 AND expiry_time = ?2 AND owner_id = ?3"
    );
    c.prepare_cached(&sql)
        .map_err(db_err)?
        .query_row(params![id, expiry, owner.to_string()], |r| {
            record_from_row(id, r)
        })
        .optional()
        .map_err(db_err)
}

fn records_range(c: &Connection, id: &str, expiry: i64, q: Query) -> ApiResult<Vec<Record>> {
    let (cmp, order) = match q.dir {
        Dir::Up => (">", "ASC"),
        Dir::Down => ("<", "DESC"),
    };
    let (bound, limit_param) = if q.bound.is_some() {
        (
            format!(" AND (score, subscore, owner_id) {cmp} (?3, ?4, ?5)"),
            "?6",
        )
    } else {
        (String::new(), "?3")
    };
    let sql = format!(
        "SELECT {RECORD_COLUMNS} FROM leaderboard_record
         WHERE leaderboard_id = ?1 AND expiry_time = ?2{bound}
         ORDER BY score {order}, subscore {order}, owner_id {order} LIMIT {limit_param}"
    );
    let limit = i64::try_from(q.limit).unwrap_or(i64::MAX);
    let mut stmt = c.prepare_cached(&sql).map_err(db_err)?;
    let read = |r: &rusqlite::Row<'_>| record_from_row(id, r);
    let rows = match q.bound {
        Some((s, ss, o)) => stmt.query_map(params![id, expiry, s, ss, o.to_string(), limit], read),
        None => stmt.query_map(params![id, expiry, limit], read),
    }
    .map_err(db_err)?;
    rows.collect::<rusqlite::Result<Vec<_>>>().map_err(db_err)
}

impl Db {
    fn leaderboard_create(&self, lb: Leaderboard) -> ApiResult<(Leaderboard, bool)> {
        self.write(|c| {
            let tx = c
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(db_err)?;
            let sql = format!("SELECT {LB_COLUMNS} FROM leaderboard WHERE id = ?1");
            let existing = tx
                .prepare_cached(&sql)
                .map_err(db_err)?
                .query_row([&lb.id], lb_from_row)
                .optional()
                .map_err(db_err)?;
            if let Some(found) = existing {
                return Ok((found, false));
            }
            exec(
                &tx,
                "INSERT INTO leaderboard (id, authoritative, sort_order, operator, reset_schedule,
                     metadata, create_time, enable_ranks, last_reset)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
                params![
                    lb.id,
                    lb.authoritative,
                    lb.sort_order.as_i32(),
                    lb.operator.as_stored(),
                    lb.reset_schedule,
                    lb.metadata,
                    lb.create_time,
                    lb.enable_ranks,
                    lb.last_reset
                ],
            )
            .map_err(db_err)?;
            tx.commit().map_err(db_err)?;
            Ok((lb, true))
        })
    }

    fn leaderboard_record_write(&self, w: &RecordWrite) -> ApiResult<Written> {
        self.write(|c| {
            let tx = c
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(db_err)?;
            let old = record_get(&tx, &w.leaderboard_id, w.expiry, w.owner_id)?;
            let applied = write::apply(
                w.operator,
                w.sort,
                old.as_ref().map(|r| (r.score, r.subscore)),
                w.score,
                w.subscore,
            )
            .map_err(|_| out_of_range())?;
            let (score, subscore) = match (applied, old) {
                (Applied::Unchanged, Some(old)) => {
                    return Ok(Written {
                        record: old,
                        changed: false,
                    });
                }
                (Applied::Store { score, subscore }, _) => (score, subscore),
                (Applied::Unchanged, None) => {
                    return Err(internal("leaderboard write", "no record"));
                }
            };
            exec(
                &tx,
                "INSERT INTO leaderboard_record (leaderboard_id, expiry_time, owner_id, username,
                     score, subscore, num_score, max_num_score, metadata, create_time, update_time)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, 1, ?7, COALESCE(?8, '{}'), ?9, ?9)
                 ON CONFLICT (leaderboard_id, expiry_time, owner_id) DO UPDATE SET
                     score = excluded.score, subscore = excluded.subscore,
                     num_score = leaderboard_record.num_score + 1,
                     username = COALESCE(?4, leaderboard_record.username),
                     metadata = COALESCE(?8, leaderboard_record.metadata),
                     update_time = excluded.update_time",
                params![
                    w.leaderboard_id,
                    w.expiry,
                    w.owner_id.to_string(),
                    w.username,
                    score,
                    subscore,
                    w.max_num_score,
                    w.metadata,
                    w.now
                ],
            )
            .map_err(db_err)?;
            let record = record_get(&tx, &w.leaderboard_id, w.expiry, w.owner_id)?
                .ok_or_else(|| internal("leaderboard write", "record gone"))?;
            tx.commit().map_err(db_err)?;
            Ok(Written {
                record,
                changed: true,
            })
        })
    }
}
