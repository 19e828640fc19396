//! Friend edges on PostgreSQL / CockroachDB (see `kairos_core::friend` for
//! the rules). Each change runs in one transaction that first locks the
//! `users` rows of everyone involved, in id order: concurrent changes to the
//! same users then take turns, so the edges each one reads are current and
//! the `edge_count`s it recounts at the end are exact.

use std::collections::{HashMap, HashSet};
use std::sync::LazyLock;

use kairos_core::error::ApiResult;
use kairos_core::friend::{
    FofCursor, Friend, FriendAdded, FriendCursor, FriendOfFriend, FriendState,
};
use kairos_core::time::now_secs;
use tokio_postgres::types::ToSql;
use tokio_postgres::{Row, Statement, Transaction};
use uuid::Uuid;

use super::rows::{USER_COLUMNS, get, user_from_row};
use super::{PgStore, db_err};
use crate::common::{self, internal, qualified};
use crate::{BoxFuture, FriendStore};

/// Locks the existing users among `$1`, in id order, and returns them.
/// `NO KEY UPDATE` leaves foreign key checks (which take `KEY SHARE`)
/// unblocked; CockroachDB treats it as `FOR UPDATE`.
pub(super) const LOCK_USERS: &str =
    "SELECT id FROM users WHERE id = ANY($1) ORDER BY id FOR NO KEY UPDATE";

/// Sets each of `$1`'s `edge_count` to the number of edges leaving them.
pub(super) const RECOUNT: &str = "UPDATE users SET edge_count = (SELECT count(*) FROM user_edge WHERE source_id = users.id) WHERE id = ANY($1)";

const EDGES: &str = "SELECT source_id, destination_id, state FROM user_edge
     WHERE (source_id = $1 AND destination_id = ANY($2)) OR (destination_id = $1 AND source_id = ANY($2))";

const ACCEPT: &str = "UPDATE user_edge SET state = 0, update_time = $3,
       metadata = CASE WHEN source_id = $1 AND $4::TEXT <> '' THEN $4::TEXT ELSE metadata END
     WHERE (source_id = $1 AND destination_id = $2) OR (source_id = $2 AND destination_id = $1)";

const INVITE: &str =
    "INSERT INTO user_edge (source_id, destination_id, state, position, update_time, metadata)
     VALUES ($1, $2, 1, $3, $4, $5), ($2, $1, 2, $3, $4, '{}')";

const DELETE_OUTGOING: &str = "DELETE FROM user_edge WHERE source_id = $1 AND destination_id = ANY($2) RETURNING destination_id";

const DELETE_INCOMING: &str = "DELETE FROM user_edge WHERE destination_id = $1 AND source_id = ANY($2) AND state <> 3 RETURNING source_id";

const BLOCK: &str = "INSERT INTO user_edge (source_id, destination_id, state, position, update_time)
     VALUES ($1, $2, 3, $3, $4)
     ON CONFLICT (source_id, destination_id) DO UPDATE SET state = 3, update_time = excluded.update_time";

const CAN_MESSAGE: &str = "SELECT EXISTS (SELECT 1 FROM users WHERE id = $2)
       AND NOT EXISTS (SELECT 1 FROM user_edge WHERE state = 3
         AND ((source_id = $1 AND destination_id = $2) OR (source_id = $2 AND destination_id = $1)))";

/// Friend listings: `[no filter, state, cursor, state and cursor]`.
static LIST: LazyLock<[String; 4]> = LazyLock::new(|| {
    let select = format!(
        "SELECT {}, e.state, e.position, e.update_time, e.metadata
         FROM user_edge e JOIN users u ON u.id = e.destination_id
         WHERE e.source_id = $1",
        qualified(USER_COLUMNS, "u")
    );
    let order = "ORDER BY e.state, e.position, e.destination_id";
    let after = |n: usize| {
        format!(
            "AND (e.state, e.position, e.destination_id) > (${n}::SMALLINT, ${}::BIGINT, ${}::UUID)",
            n + 1,
            n + 2
        )
    };
    [
        format!("{select} {order} LIMIT $2"),
        format!("{select} AND e.state = $2 {order} LIMIT $3"),
        format!("{select} {} {order} LIMIT $5", after(2)),
        format!("{select} AND e.state = $2 {} {order} LIMIT $6", after(3)),
    ]
});

/// The edges from `$1` to the users among `$2`.
static GET_FRIENDS: LazyLock<String> = LazyLock::new(|| {
    format!(
        "SELECT {}, e.state, e.position, e.update_time, e.metadata
         FROM user_edge e JOIN users u ON u.id = e.destination_id
         WHERE e.source_id = $1 AND e.destination_id = ANY($2)",
        qualified(USER_COLUMNS, "u")
    )
});

const UPDATE_METADATA: &str =
    "UPDATE user_edge SET metadata = $3 WHERE source_id = $1 AND destination_id = $2";

/// Friends-of-friends listings: `[from the start, after a cursor]`.
static FOF: LazyLock<[String; 2]> = LazyLock::new(|| {
    let select = format!(
        "SELECT {}, f.source_id
         FROM user_edge mine
         JOIN user_edge f ON f.source_id = mine.destination_id AND f.state = 0
         JOIN users u ON u.id = f.destination_id
         WHERE mine.source_id = $1 AND mine.state = 0 AND f.destination_id <> $1
           AND NOT EXISTS (SELECT 1 FROM user_edge d
                           WHERE d.source_id = $1 AND d.destination_id = f.destination_id AND d.state = 0)",
        qualified(USER_COLUMNS, "u")
    );
    let order = "ORDER BY f.source_id, f.destination_id";
    [
        format!("{select} {order} LIMIT $2"),
        format!(
            "{select} AND (f.source_id, f.destination_id) > ($2::UUID, $3::UUID) {order} LIMIT $4"
        ),
    ]
});

/// Locks the users among `ids` that exist (see [`LOCK_USERS`]) and
/// returns them.
pub(super) async fn lock_users(
    tx: &Transaction<'_>,
    lock: &Statement,
    ids: &[Uuid],
) -> ApiResult<HashSet<Uuid>> {
    tx.query(lock, &[&ids])
        .await
        .map_err(db_err)?
        .iter()
        .map(|r| get(r, 0))
        .collect()
}

/// Recounts the `edge_count` of `ids` (see [`RECOUNT`]); they must be locked.
pub(super) async fn recount(
    tx: &Transaction<'_>,
    recount: &Statement,
    ids: &[Uuid],
) -> ApiResult<()> {
    if !ids.is_empty() {
        tx.execute(recount, &[&ids]).await.map_err(db_err)?;
    }
    Ok(())
}

fn state(v: i16) -> ApiResult<FriendState> {
    FriendState::from_i32(v.into())
        .ok_or_else(|| internal("reading a friend edge", format!("unknown state {v}")))
}

fn friend_from_row(r: &Row) -> ApiResult<Friend> {
    Ok(Friend {
        user: user_from_row(r)?,
        state: state(get(r, 17)?)?,
        position: get(r, 18)?,
        update_time: get(r, 19)?,
        metadata: get(r, 20)?,
    })
}

impl FriendStore for PgStore {
    /// `user` accepts invites from, or invites, each of `ids` (distinct,
    /// without `user`).
    fn add_friends(
        &self,
        user: Uuid,
        ids: Vec<Uuid>,
        metadata: String,
    ) -> BoxFuture<'_, ApiResult<Vec<FriendAdded>>> {
        Box::pin(async move {
            let ids = common::distinct_others(user, ids);
            if ids.is_empty() {
                return Ok(Vec::new());
            }
            let ids = &ids[..];
            let metadata = metadata.as_str();
            let now = now_secs();
            let base = common::now_nanos();
            let everyone: Vec<Uuid> = std::iter::once(user).chain(ids.iter().copied()).collect();
            let mut conn = self.pool.get().await?;
            let lock = conn.prepare(LOCK_USERS).await?;
            let edges = conn.prepare(EDGES).await?;
            let accept = conn.prepare(ACCEPT).await?;
            let invite = conn.prepare(INVITE).await?;
            let recount_stmt = conn.prepare(RECOUNT).await?;
            let tx = conn.client.transaction().await.map_err(db_err)?;
            let existing = lock_users(&tx, &lock, &everyone).await?;
            let mut added = Vec::new();
            if !existing.contains(&user) {
                return Ok(added);
            }
            let mut states = HashMap::new();
            for r in tx.query(&edges, &[&user, &ids]).await.map_err(db_err)? {
                let (source, destination): (Uuid, Uuid) = (get(&r, 0)?, get(&r, 1)?);
                states.insert((source, destination), get::<i16>(&r, 2)?);
            }
            let stored_metadata = common::json_or_empty(metadata.to_string());
            for (i, id) in ids.iter().enumerate() {
                let out = states.get(&(user, *id)).copied().map(i32::from);
                let inc = states.get(&(*id, user)).copied().map(i32::from);
                match (out, inc) {
                    (Some(2), Some(1)) => {
                        tx.execute(&accept, &[&user, id, &now, &metadata])
                            .await
                            .map_err(db_err)?;
                        added.push(FriendAdded {
                            user_id: *id,
                            accepted: true,
                        });
                    }
                    (None, None) if existing.contains(id) => {
                        let position = base.saturating_add(i as i64);
                        tx.execute(&invite, &[&user, id, &position, &now, &stored_metadata])
                            .await
                            .map_err(db_err)?;
                        added.push(FriendAdded {
                            user_id: *id,
                            accepted: false,
                        });
                    }
                    // Blocked either way, already invited or friends, or unknown.
                    _ => {}
                }
            }
            if !added.is_empty() {
                let touched: Vec<Uuid> = std::iter::once(user)
                    .chain(added.iter().map(|a| a.user_id))
                    .collect();
                recount(&tx, &recount_stmt, &touched).await?;
            }
            tx.commit().await.map_err(db_err)?;
            Ok(added)
        })
    }

    /// `user` removes its edges to each of `ids`, and theirs back unless
    /// they are blocks. Returns the ids that lost their edge to `user` too.
    fn delete_friends(&self, user: Uuid, ids: Vec<Uuid>) -> BoxFuture<'_, ApiResult<Vec<Uuid>>> {
        Box::pin(async move {
            let ids = common::distinct_others(user, ids);
            if ids.is_empty() {
                return Ok(Vec::new());
            }
            let ids = &ids[..];
            let everyone: Vec<Uuid> = std::iter::once(user).chain(ids.iter().copied()).collect();
            let mut conn = self.pool.get().await?;
            let lock = conn.prepare(LOCK_USERS).await?;
            let outgoing = conn.prepare(DELETE_OUTGOING).await?;
            let incoming = conn.prepare(DELETE_INCOMING).await?;
            let recount_stmt = conn.prepare(RECOUNT).await?;
            let tx = conn.client.transaction().await.map_err(db_err)?;
            lock_users(&tx, &lock, &everyone).await?;
            let ids_of = |rows: Vec<Row>| -> ApiResult<HashSet<Uuid>> {
                rows.iter().map(|r| get(r, 0)).collect()
            };
            let lost = ids_of(tx.query(&outgoing, &[&user, &ids]).await.map_err(db_err)?)?;
            let lost_back = ids_of(tx.query(&incoming, &[&user, &ids]).await.map_err(db_err)?)?;
            if !lost.is_empty() || !lost_back.is_empty() {
                let touched: Vec<Uuid> = std::iter::once(user)
                    .chain(lost.union(&lost_back).copied())
                    .collect();
                recount(&tx, &recount_stmt, &touched).await?;
            }
            tx.commit().await.map_err(db_err)?;
            Ok(ids
                .iter()
                .filter(|id| lost.contains(id) && lost_back.contains(id))
                .copied()
                .collect())
        })
    }

    /// `user` blocks each of `ids` that exists. Returns those.
    fn block_friends(&self, user: Uuid, ids: Vec<Uuid>) -> BoxFuture<'_, ApiResult<Vec<Uuid>>> {
        Box::pin(async move {
            let ids = common::distinct_others(user, ids);
            if ids.is_empty() {
                return Ok(Vec::new());
            }
            let ids = &ids[..];
            let now = now_secs();
            let base = common::now_nanos();
            let everyone: Vec<Uuid> = std::iter::once(user).chain(ids.iter().copied()).collect();
            let mut conn = self.pool.get().await?;
            let lock = conn.prepare(LOCK_USERS).await?;
            let block = conn.prepare(BLOCK).await?;
            let incoming = conn.prepare(DELETE_INCOMING).await?;
            let recount_stmt = conn.prepare(RECOUNT).await?;
            let tx = conn.client.transaction().await.map_err(db_err)?;
            let existing = lock_users(&tx, &lock, &everyone).await?;
            if !existing.contains(&user) {
                return Ok(Vec::new());
            }
            let blocked: Vec<Uuid> = ids
                .iter()
                .filter(|id| existing.contains(id))
                .copied()
                .collect();
            if blocked.is_empty() {
                return Ok(blocked);
            }
            for (i, id) in blocked.iter().enumerate() {
                let position = base.saturating_add(i as i64);
                tx.execute(&block, &[&user, id, &position, &now])
                    .await
                    .map_err(db_err)?;
            }
            tx.query(&incoming, &[&user, &blocked])
                .await
                .map_err(db_err)?;
            let touched: Vec<Uuid> = std::iter::once(user)
                .chain(blocked.iter().copied())
                .collect();
            recount(&tx, &recount_stmt, &touched).await?;
            tx.commit().await.map_err(db_err)?;
            Ok(blocked)
        })
    }

    fn list_friends(
        &self,
        user: Uuid,
        state: Option<FriendState>,
        after: Option<FriendCursor>,
        limit: usize,
    ) -> BoxFuture<'_, ApiResult<Vec<Friend>>> {
        Box::pin(async move {
            let limit = common::sql_limit(limit);
            let filter = state.map(|s| s.as_i32() as i16);
            let cursor = after.map(|c| (c.state as i16, c.position, c.user));
            let mut params: Vec<&(dyn ToSql + Sync)> = vec![&user];
            if let Some(s) = &filter {
                params.push(s);
            }
            if let Some((s, p, u)) = &cursor {
                params.extend([s as &(dyn ToSql + Sync), p, u]);
            }
            params.push(&limit);
            let sql = &LIST[usize::from(filter.is_some()) | usize::from(cursor.is_some()) << 1];
            let mut conn = self.pool.get().await?;
            let stmt = conn.prepare(sql.as_str()).await?;
            conn.client
                .query(&stmt, &params)
                .await
                .map_err(db_err)?
                .iter()
                .map(friend_from_row)
                .collect()
        })
    }

    fn list_friends_of_friends(
        &self,
        user: Uuid,
        after: Option<FofCursor>,
        limit: usize,
    ) -> BoxFuture<'_, ApiResult<Vec<FriendOfFriend>>> {
        Box::pin(async move {
            let limit = common::sql_limit(limit);
            let mut conn = self.pool.get().await?;
            let rows = match after {
                None => {
                    let stmt = conn.prepare(FOF[0].as_str()).await?;
                    conn.client.query(&stmt, &[&user, &limit]).await
                }
                Some(c) => {
                    let stmt = conn.prepare(FOF[1].as_str()).await?;
                    conn.client
                        .query(&stmt, &[&user, &c.referrer, &c.user, &limit])
                        .await
                }
            }
            .map_err(db_err)?;
            rows.iter()
                .map(|r| {
                    Ok(FriendOfFriend {
                        user: user_from_row(r)?,
                        referrer: get(r, 17)?,
                    })
                })
                .collect()
        })
    }

    /// `to` exists and neither user blocked the other.
    fn get_friends(&self, user: Uuid, ids: Vec<Uuid>) -> BoxFuture<'_, ApiResult<Vec<Friend>>> {
        Box::pin(async move {
            if ids.is_empty() {
                return Ok(Vec::new());
            }
            let mut conn = self.pool.get().await?;
            let stmt = conn.prepare(GET_FRIENDS.as_str()).await?;
            conn.client
                .query(&stmt, &[&user, &ids])
                .await
                .map_err(db_err)?
                .iter()
                .map(friend_from_row)
                .collect()
        })
    }

    fn update_friend_metadata(
        &self,
        user: Uuid,
        friend: Uuid,
        metadata: String,
    ) -> BoxFuture<'_, ApiResult<()>> {
        Box::pin(async move {
            let mut conn = self.pool.get().await?;
            let stmt = conn.prepare(UPDATE_METADATA).await?;
            conn.client
                .execute(&stmt, &[&user, &friend, &metadata])
                .await
                .map(drop)
                .map_err(db_err)
        })
    }

    fn can_message(&self, from: Uuid, to: Uuid) -> BoxFuture<'_, ApiResult<bool>> {
        Box::pin(async move {
            let mut conn = self.pool.get().await?;
            let stmt = conn.prepare(CAN_MESSAGE).await?;
            let row = conn
                .client
                .query_one(&stmt, &[&from, &to])
                .await
                .map_err(db_err)?;
            get(&row, 0)
        })
    }
}
