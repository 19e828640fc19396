//! Friend edges on SQLite (see `kairos_core::friend` for the rules). Each
//! change runs in one immediate transaction and recounts the `edge_count`
//! of every user whose outgoing edges it may have changed.

use std::sync::LazyLock;

use kairos_core::error::ApiResult;
use kairos_core::friend::{
    FofCursor, Friend, FriendAdded, FriendCursor, FriendOfFriend, FriendState,
};
use kairos_core::time::now_secs;
use rusqlite::types::{Type, Value};
use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params, params_from_iter};
use uuid::Uuid;

use super::SqliteStore;
use super::db::{Db, db_err, exec};
use super::rows::{USER_COLUMNS, user_from_row, uuid_at};
use crate::common::{self, qualified};
use crate::{BoxFuture, FriendStore};

const FRIEND: i32 = FriendState::Friend as i32;
const INVITE_SENT: i32 = FriendState::InviteSent as i32;
const INVITE_RECEIVED: i32 = FriendState::InviteReceived as i32;
const BLOCKED: i32 = FriendState::Blocked as i32;

/// The user columns of `u`, first, then the edge's.
static LIST_SELECT: LazyLock<String> = LazyLock::new(|| {
    format!(
        "SELECT {}, e.state, e.position, e.update_time, e.metadata
         FROM user_edge e JOIN users u ON u.id = e.destination_id
         WHERE e.source_id = ?1",
        qualified(USER_COLUMNS, "u")
    )
});

static FOF_SELECT: LazyLock<String> = LazyLock::new(|| {
    format!(
        "SELECT {}, f.source_id
         FROM user_edge mine
         JOIN user_edge f ON f.source_id = mine.destination_id AND f.state = {FRIEND}
         JOIN users u ON u.id = f.destination_id
         WHERE mine.source_id = ?1 AND mine.state = {FRIEND} AND f.destination_id <> ?1
           AND NOT EXISTS (SELECT 1 FROM user_edge d
                           WHERE d.source_id = ?1 AND d.destination_id = f.destination_id AND d.state = {FRIEND})",
        qualified(USER_COLUMNS, "u")
    )
});

/// Whether a user exists.
fn user_exists(c: &Connection, id: &str) -> ApiResult<bool> {
    c.prepare_cached("SELECT EXISTS (SELECT 1 FROM users WHERE id = ?1)")
        .map_err(db_err)?
        .query_row([id], |r| r.get(0))
        .map_err(db_err)
}

/// The state of the edge `source` → `destination`, if there is one.
fn edge_state(c: &Connection, source: &str, destination: &str) -> ApiResult<Option<i32>> {
    c.prepare_cached("SELECT state FROM user_edge WHERE source_id = ?1 AND destination_id = ?2")
        .map_err(db_err)?
        .query_row([source, destination], |r| r.get(0))
        .optional()
        .map_err(db_err)
}

/// Sets each user's `edge_count` to the number of edges leaving them.
pub(super) fn recount<'a>(
    c: &Connection,
    users: impl IntoIterator<Item = &'a str>,
) -> ApiResult<()> {
    for user in users {
        exec(
            c,
            "UPDATE users SET edge_count = (SELECT count(*) FROM user_edge WHERE source_id = ?1) WHERE id = ?1",
            [user],
        )
        .map_err(db_err)?;
    }
    Ok(())
}

fn state_at(r: &rusqlite::Row<'_>, i: usize) -> rusqlite::Result<FriendState> {
    let v: i32 = r.get(i)?;
    FriendState::from_i32(v).ok_or_else(|| {
        rusqlite::Error::FromSqlConversionFailure(i, Type::Integer, "unknown friend state".into())
    })
}

/// A row of [`LIST_SELECT`].
fn friend_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Friend> {
    Ok(Friend {
        user: user_from_row(r)?,
        state: state_at(r, 17)?,
        position: r.get(18)?,
        update_time: r.get(19)?,
        metadata: r.get(20)?,
    })
}

impl FriendStore for SqliteStore {
    fn add_friends(
        &self,
        user: Uuid,
        ids: Vec<Uuid>,
        metadata: String,
    ) -> BoxFuture<'_, ApiResult<Vec<FriendAdded>>> {
        let ids = common::distinct_others(user, ids);
        if ids.is_empty() {
            return Box::pin(async { Ok(Vec::new()) });
        }
        Box::pin(self.blocking(move |db| db.add_friends(user, &ids, &metadata)))
    }

    fn delete_friends(&self, user: Uuid, ids: Vec<Uuid>) -> BoxFuture<'_, ApiResult<Vec<Uuid>>> {
        let ids = common::distinct_others(user, ids);
        if ids.is_empty() {
            return Box::pin(async { Ok(Vec::new()) });
        }
        Box::pin(self.blocking(move |db| db.delete_friends(user, &ids)))
    }

    fn block_friends(&self, user: Uuid, ids: Vec<Uuid>) -> BoxFuture<'_, ApiResult<Vec<Uuid>>> {
        let ids = common::distinct_others(user, ids);
        if ids.is_empty() {
            return Box::pin(async { Ok(Vec::new()) });
        }
        Box::pin(self.blocking(move |db| db.block_friends(user, &ids)))
    }

    fn list_friends(
        &self,
        user: Uuid,
        state: Option<FriendState>,
        after: Option<FriendCursor>,
        limit: usize,
    ) -> BoxFuture<'_, ApiResult<Vec<Friend>>> {
        Box::pin(self.blocking(move |db| db.list_friends(user, state, after, limit)))
    }

    fn list_friends_of_friends(
        &self,
        user: Uuid,
        after: Option<FofCursor>,
        limit: usize,
    ) -> BoxFuture<'_, ApiResult<Vec<FriendOfFriend>>> {
        Box::pin(self.blocking(move |db| db.list_friends_of_friends(user, after, limit)))
    }

    fn get_friends(&self, user: Uuid, ids: Vec<Uuid>) -> BoxFuture<'_, ApiResult<Vec<Friend>>> {
        if ids.is_empty() {
            return Box::pin(async { Ok(Vec::new()) });
        }
        Box::pin(self.blocking(move |db| db.get_friends(user, &ids)))
    }

    fn update_friend_metadata(
        &self,
        user: Uuid,
        friend: Uuid,
        metadata: String,
    ) -> BoxFuture<'_, ApiResult<()>> {
        Box::pin(self.blocking(move |db| {
            db.write(|c| {
                exec(
                    c,
                    "UPDATE user_edge SET metadata = ?3 WHERE source_id = ?1 AND destination_id = ?2",
                    params![user.to_string(), friend.to_string(), metadata],
                )
                .map(drop)
                .map_err(db_err)
            })
        }))
    }

    fn can_message(&self, from: Uuid, to: Uuid) -> BoxFuture<'_, ApiResult<bool>> {
        Box::pin(self.blocking(move |db| db.can_message(from, to)))
    }
}

impl Db {
    /// `user` accepts invites from, or invites, each of `ids` (distinct,
    /// without `user`).
    pub fn add_friends(
        &self,
        user: Uuid,
        ids: &[Uuid],
        metadata: &str,
    ) -> ApiResult<Vec<FriendAdded>> {
        let me = user.to_string();
        let now = now_secs();
        let base = common::now_nanos();
        self.write(|c| {
            let tx = c
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(db_err)?;
            let mut added = Vec::new();
            if !user_exists(&tx, &me)? {
                return Ok(added);
            }
            for (i, id) in ids.iter().enumerate() {
                let other = id.to_string();
                let out = edge_state(&tx, &me, &other)?;
                let inc = edge_state(&tx, &other, &me)?;
                match (out, inc) {
                    (Some(INVITE_RECEIVED), Some(INVITE_SENT)) => {
                        exec(
                            &tx,
                            "UPDATE user_edge SET state = ?3, update_time = ?4,
                               metadata = CASE WHEN source_id = ?1 AND ?5 <> '' THEN ?5 ELSE metadata END
                             WHERE (source_id = ?1 AND destination_id = ?2) OR (source_id = ?2 AND destination_id = ?1)",
                            params![me, other, FRIEND, now, metadata],
                        )
                        .map_err(db_err)?;
                        added.push(FriendAdded {
                            user_id: *id,
                            accepted: true,
                        });
                    }
                    (None, None) if user_exists(&tx, &other)? => {
                        exec(
                            &tx,
                            "INSERT INTO user_edge (source_id, destination_id, state, position, update_time, metadata)
                             VALUES (?1, ?2, ?3, ?5, ?6, ?7), (?2, ?1, ?4, ?5, ?6, '{}')",
                            params![
                                me,
                                other,
                                INVITE_SENT,
                                INVITE_RECEIVED,
                                base.saturating_add(i as i64),
                                now,
                                common::json_or_empty(metadata.to_string())
                            ],
                        )
                        .map_err(db_err)?;
                        added.push(FriendAdded {
                            user_id: *id,
                            accepted: false,
                        });
                    }
                    // Blocked either way, already invited or friends, or
                    // unknown.
                    _ => {}
                }
            }
            let touched: Vec<String> = added.iter().map(|a| a.user_id.to_string()).collect();
            if !touched.is_empty() {
                recount(&tx, std::iter::once(me.as_str()).chain(touched.iter().map(String::as_str)))?;
            }
            tx.commit().map_err(db_err)?;
            Ok(added)
        })
    }

    /// `user` removes its edges to each of `ids`, and theirs back unless
    /// they are blocks. Returns the ids that lost their edge to `user` too.
    pub fn delete_friends(&self, user: Uuid, ids: &[Uuid]) -> ApiResult<Vec<Uuid>> {
        let me = user.to_string();
        self.write(|c| {
            let tx = c
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(db_err)?;
            let mut removed = Vec::new();
            let mut touched = Vec::new();
            for id in ids {
                let other = id.to_string();
                let outgoing = exec(
                    &tx,
                    "DELETE FROM user_edge WHERE source_id = ?1 AND destination_id = ?2",
                    [&me, &other],
                )
                .map_err(db_err)?;
                let incoming = exec(
                    &tx,
                    "DELETE FROM user_edge WHERE source_id = ?1 AND destination_id = ?2 AND state <> ?3",
                    params![other, me, BLOCKED],
                )
                .map_err(db_err)?;
                if outgoing > 0 && incoming > 0 {
                    removed.push(*id);
                }
                if outgoing > 0 || incoming > 0 {
                    touched.push(other);
                }
            }
            if !touched.is_empty() {
                recount(&tx, std::iter::once(me.as_str()).chain(touched.iter().map(String::as_str)))?;
            }
            tx.commit().map_err(db_err)?;
            Ok(removed)
        })
    }

    /// `user` blocks each of `ids` that exists. Returns those.
    pub fn block_friends(&self, user: Uuid, ids: &[Uuid]) -> ApiResult<Vec<Uuid>> {
        let me = user.to_string();
        let now = now_secs();
        let base = common::now_nanos();
        self.write(|c| {
            let tx = c
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(db_err)?;
            let mut blocked = Vec::new();
            if !user_exists(&tx, &me)? {
                return Ok(blocked);
            }
            let mut touched = Vec::new();
            for (i, id) in ids.iter().enumerate() {
                let other = id.to_string();
                if !user_exists(&tx, &other)? {
                    continue;
                }
                exec(
                    &tx,
                    "INSERT INTO user_edge (source_id, destination_id, state, position, update_time)
                     VALUES (?1, ?2, ?3, ?4, ?5)
                     ON CONFLICT (source_id, destination_id) DO UPDATE SET state = excluded.state, update_time = excluded.update_time",
                    params![me, other, BLOCKED, base.saturating_add(i as i64), now],
                )
                .map_err(db_err)?;
                exec(
                    &tx,
                    "DELETE FROM user_edge WHERE source_id = ?1 AND destination_id = ?2 AND state <> ?3",
                    params![other, me, BLOCKED],
                )
                .map_err(db_err)?;
                blocked.push(*id);
                touched.push(other);
            }
            if !touched.is_empty() {
                recount(&tx, std::iter::once(me.as_str()).chain(touched.iter().map(String::as_str)))?;
            }
            tx.commit().map_err(db_err)?;
            Ok(blocked)
        })
    }

    pub fn list_friends(
        &self,
        user: Uuid,
        state: Option<FriendState>,
        after: Option<FriendCursor>,
        limit: usize,
    ) -> ApiResult<Vec<Friend>> {
        let mut sql = LIST_SELECT.clone();
        let mut args: Vec<Value> = vec![Value::Text(user.to_string())];
        if let Some(s) = state {
            args.push(Value::Integer(s.as_i32().into()));
            sql.push_str(&format!(" AND e.state = ?{}", args.len()));
        }
        if let Some(c) = after {
            args.push(Value::Integer(c.state.into()));
            args.push(Value::Integer(c.position));
            args.push(Value::Text(c.user.to_string()));
            let n = args.len();
            sql.push_str(&format!(
                " AND (e.state, e.position, e.destination_id) > (?{}, ?{}, ?{n})",
                n - 2,
                n - 1
            ));
        }
        args.push(Value::Integer(common::sql_limit(limit)));
        sql.push_str(&format!(
            " ORDER BY e.state, e.position, e.destination_id LIMIT ?{}",
            args.len()
        ));
        self.read(|c| {
            let mut stmt = c.prepare_cached(&sql).map_err(db_err)?;
            let rows = stmt
                .query_map(params_from_iter(args.iter()), friend_from_row)
                .map_err(db_err)?;
            rows.collect::<Result<_, _>>().map_err(db_err)
        })
    }

    /// The edges from `user` to each of `ids` that has one.
    pub fn get_friends(&self, user: Uuid, ids: &[Uuid]) -> ApiResult<Vec<Friend>> {
        let sql = format!("{} AND e.destination_id = ?2", *LIST_SELECT);
        self.read(|c| {
            let mut stmt = c.prepare_cached(&sql).map_err(db_err)?;
            let mut out = Vec::new();
            for id in ids {
                let found = stmt
                    .query_row(params![user.to_string(), id.to_string()], friend_from_row)
                    .optional()
                    .map_err(db_err)?;
                out.extend(found);
            }
            Ok(out)
        })
    }

    pub fn list_friends_of_friends(
        &self,
        user: Uuid,
        after: Option<FofCursor>,
        limit: usize,
    ) -> ApiResult<Vec<FriendOfFriend>> {
        let mut sql = FOF_SELECT.clone();
        let mut args: Vec<Value> = vec![Value::Text(user.to_string())];
        if let Some(c) = after {
            args.push(Value::Text(c.referrer.to_string()));
            args.push(Value::Text(c.user.to_string()));
            sql.push_str(" AND (f.source_id, f.destination_id) > (?2, ?3)");
        }
        args.push(Value::Integer(common::sql_limit(limit)));
        sql.push_str(&format!(
            " ORDER BY f.source_id, f.destination_id LIMIT ?{}",
            args.len()
        ));
        self.read(|c| {
            let mut stmt = c.prepare_cached(&sql).map_err(db_err)?;
            let rows = stmt
                .query_map(params_from_iter(args.iter()), |r| {
                    Ok(FriendOfFriend {
                        user: user_from_row(r)?,
                        referrer: uuid_at(r, 17)?,
                    })
                })
                .map_err(db_err)?;
            rows.collect::<Result<_, _>>().map_err(db_err)
        })
    }

    /// `to` exists and neither user blocked the other.
    pub fn can_message(&self, from: Uuid, to: Uuid) -> ApiResult<bool> {
        self.read(|c| {
            c.prepare_cached(
                "SELECT EXISTS (SELECT 1 FROM users WHERE id = ?2)
                   AND NOT EXISTS (SELECT 1 FROM user_edge WHERE state = ?3
                     AND ((source_id = ?1 AND destination_id = ?2) OR (source_id = ?2 AND destination_id = ?1)))",
            )
            .map_err(db_err)?
            .query_row(params![from.to_string(), to.to_string(), BLOCKED], |r| {
                r.get(0)
            })
            .map_err(db_err)
        })
    }
}
