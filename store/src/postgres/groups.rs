//! Groups on PostgreSQL / CockroachDB (see `kairos_core::group` for the
//! rules). Every change runs in one transaction that first locks the
//! group's row (`FOR UPDATE`): concurrent changes to one group take turns,
//! so the states a change reads are current and `edge_count` stays exact
//! and within `max_count`.

use kairos_core::channel::{ChannelMessage, code as message_code};
use kairos_core::error::ApiResult;
use kairos_core::group::{
    self, Changes, EdgeCursor, EdgeWrite, Group, GroupCursor, GroupError, GroupFilter, GroupMember,
    GroupResult, GroupUpdate, Joined, LeavePlan, Left, MemberOp, NewGroup, Target, UserGroup,
    state,
};
use kairos_core::time::{now_micros, now_secs};
use tokio_postgres::types::ToSql;
use tokio_postgres::{Row, Transaction};
use uuid::Uuid;

use super::rows::{USER_COLUMNS, get, user_from_row};
use super::{PgStore, db_err, violation};
use crate::common::{self, qualified};
use crate::group_sql::{self, Dialect, GROUP_COLUMNS, Param};
use crate::{BoxFuture, GroupStore};

const DIALECT: Dialect = Dialect {
    placeholder: |n, p| {
        let ty = match p {
            Param::Text(_) => "TEXT",
            Param::Int(_) => "BIGINT",
            Param::Bool(_) => "BOOLEAN",
            Param::Id(_) => "UUID",
        };
        format!("${n}::{ty}")
    },
    like: "ILIKE",
};

const LOCK_GROUP: &str = "SELECT id, creator_id, name, description, avatar_url, lang_tag, metadata, open, edge_count, max_count, create_time, update_time FROM groups WHERE id = $1 FOR UPDATE";
const EDGE_STATE: &str = "SELECT state FROM group_edge WHERE group_id = $1 AND user_id = $2";
const COUNT_STATE: &str =
    "SELECT count(*) FROM group_edge WHERE group_id = $1 AND state = $2 AND user_id <> $3";
const INSERT_EDGE: &str = "INSERT INTO group_edge (group_id, user_id, state, position, update_time) VALUES ($1, $2, $3, $4, $5)";
const SET_STATE: &str =
    "UPDATE group_edge SET state = $3, update_time = $4 WHERE group_id = $1 AND user_id = $2";
const REPLACE_EDGE: &str = "UPDATE group_edge SET state = $3, position = $4, update_time = $5 WHERE group_id = $1 AND user_id = $2";
const DELETE_EDGE: &str = "DELETE FROM group_edge WHERE group_id = $1 AND user_id = $2";
const DELETE_GROUP: &str = "DELETE FROM groups WHERE id = $1";
const BUMP: &str = "UPDATE groups SET edge_count = edge_count + $2, update_time = $3 WHERE id = $1";
const TARGET: &str = "SELECT u.username, e.state FROM users u
     LEFT JOIN group_edge e ON e.user_id = u.id AND e.group_id = $1
     WHERE u.id = $2";
const ADMINS: &str =
    "SELECT user_id FROM group_edge WHERE group_id = $1 AND state <= 1 ORDER BY state, position";
const INSERT_MESSAGE: &str =
    "INSERT INTO message (id, code, sender_id, username, stream_mode, stream_subject,
       stream_subcontext, stream_label, content, create_time, update_time)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)";
const CREATE: &str =
    "INSERT INTO groups (id, creator_id, name, description, avatar_url, lang_tag, metadata, open,
       edge_count, max_count, create_time, update_time)
     SELECT $1, $2, $3, $4, $5, $6, $7, $8, 1, $9, $10, $10 FROM users WHERE id = $11 FOR SHARE";

/// Reads a [`Group`] from a row selected with [`GROUP_COLUMNS`] from `at`.
fn group_from_row(r: &Row, at: usize) -> ApiResult<Group> {
    Ok(Group {
        id: get(r, at)?,
        creator_id: get(r, at + 1)?,
        name: get(r, at + 2)?,
        description: get(r, at + 3)?,
        avatar_url: get(r, at + 4)?,
        lang_tag: get(r, at + 5)?,
        metadata: get(r, at + 6)?,
        open: get(r, at + 7)?,
        edge_count: get(r, at + 8)?,
        max_count: get(r, at + 9)?,
        create_time: get(r, at + 10)?,
        update_time: get(r, at + 11)?,
    })
}

fn to_sql(params: &[Param]) -> Vec<Box<dyn ToSql + Sync + Send>> {
    params
        .iter()
        .map(|p| -> Box<dyn ToSql + Sync + Send> {
            match p {
                Param::Text(s) => Box::new(s.clone()),
                Param::Int(n) => Box::new(*n),
                Param::Bool(b) => Box::new(*b),
                Param::Id(id) => Box::new(*id),
            }
        })
        .collect()
}

async fn edge_state(tx: &Transaction<'_>, group: Uuid, user: Uuid) -> ApiResult<Option<i32>> {
    let row = tx
        .query_opt(EDGE_STATE, &[&group, &user])
        .await
        .map_err(db_err)?;
    row.map(|r| get(&r, 0)).transpose()
}

async fn count_state(tx: &Transaction<'_>, group: Uuid, s: i32, except: Uuid) -> ApiResult<i64> {
    let row = tx
        .query_one(COUNT_STATE, &[&group, &s, &except])
        .await
        .map_err(db_err)?;
    get(&row, 0)
}

async fn insert_message(tx: &Transaction<'_>, m: &ChannelMessage) -> ApiResult<()> {
    let mode = i16::from(m.stream.mode);
    tx.execute(
        INSERT_MESSAGE,
        &[
            &m.id,
            &m.code,
            &m.sender_id,
            &m.username,
            &mode,
            &m.stream.subject,
            &m.stream.subcontext,
            &m.stream.label,
            &m.content,
            &m.create_time,
            &m.update_time,
        ],
    )
    .await
    .map_err(db_err)?;
    Ok(())
}

async fn bump(tx: &Transaction<'_>, group: Uuid, delta: i32) -> ApiResult<()> {
    if delta != 0 {
        tx.execute(BUMP, &[&group, &delta, &now_secs()])
            .await
            .map_err(db_err)?;
    }
    Ok(())
}

async fn lock_group(tx: &Transaction<'_>, id: Uuid) -> ApiResult<Option<Group>> {
    let row = tx.query_opt(LOCK_GROUP, &[&id]).await.map_err(db_err)?;
    row.map(|r| group_from_row(&r, 0)).transpose()
}

/// A deleted account leaves its groups, inside the deletion's
/// transaction (the groups' rows locked in id order): a group whose only
/// superadmin it was is deleted (as Nakama's `GroupDeleteAll` does);
/// elsewhere its edge goes and `edge_count` drops if it was a member.
pub(super) async fn remove_user(tx: &Transaction<'_>, user: Uuid) -> ApiResult<()> {
    let rows = tx
        .query(
            "SELECT g.id, e.state FROM group_edge e JOIN groups g ON g.id = e.group_id
             WHERE e.user_id = $1 ORDER BY g.id FOR UPDATE OF g",
            &[&user],
        )
        .await
        .map_err(db_err)?;
    for r in rows {
        let (gid, s): (Uuid, i32) = (get(&r, 0)?, get(&r, 1)?);
        if s == state::SUPERADMIN && count_state(tx, gid, state::SUPERADMIN, user).await? == 0 {
            tx.execute(DELETE_GROUP, &[&gid]).await.map_err(db_err)?;
            continue;
        }
        tx.execute(DELETE_EDGE, &[&gid, &user])
            .await
            .map_err(db_err)?;
        if group::is_member(s) {
            bump(tx, gid, -1).await?;
        }
    }
    Ok(())
}

impl PgStore {
    async fn list<T>(
        &self,
        sql: String,
        params: Vec<Param>,
        read: impl Fn(&Row) -> ApiResult<T>,
    ) -> ApiResult<Vec<T>> {
        let conn = self.pool.get().await?;
        let values = to_sql(&params);
        let refs: Vec<&(dyn ToSql + Sync)> = values
            .iter()
            .map(|v| v.as_ref() as &(dyn ToSql + Sync))
            .collect();
        let rows = conn
            .client
            .query(sql.as_str(), &refs)
            .await
            .map_err(db_err)?;
        rows.iter().map(read).collect()
    }
}

impl GroupStore for PgStore {
    fn create_group(&self, g: NewGroup) -> BoxFuture<'_, ApiResult<GroupResult<Group>>> {
        Box::pin(async move {
            let now = now_secs();
            let group = Group {
                id: Uuid::new_v4(),
                creator_id: g.creator_id,
                name: g.name,
                description: g.description,
                avatar_url: g.avatar_url,
                lang_tag: g.lang_tag,
                metadata: common::json_or_empty(g.metadata),
                open: g.open,
                edge_count: 1,
                max_count: g.max_count,
                create_time: now,
                update_time: now,
            };
            let mut conn = self.pool.get().await?;
            let tx = conn.client.transaction().await.map_err(db_err)?;
            let inserted = tx
                .execute(
                    CREATE,
                    &[
                        &group.id,
                        &group.creator_id,
                        &group.name,
                        &group.description,
                        &group.avatar_url,
                        &group.lang_tag,
                        &group.metadata,
                        &group.open,
                        &group.max_count,
                        &now,
                        &g.owner,
                    ],
                )
                .await;
            match inserted {
                Ok(0) => return Ok(Err(GroupError::UserNotFound)),
                Ok(_) => {}
                Err(e) if violation(&e).is_some() => return Ok(Err(GroupError::NameInUse)),
                Err(e) => return Err(db_err(e)),
            }
            let position = common::now_nanos();
            tx.execute(
                INSERT_EDGE,
                &[&group.id, &g.owner, &state::SUPERADMIN, &position, &now],
            )
            .await
            .map_err(db_err)?;
            tx.commit().await.map_err(db_err)?;
            Ok(Ok(group))
        })
    }

    fn update_group(
        &self,
        id: Uuid,
        caller: Option<Uuid>,
        u: GroupUpdate,
    ) -> BoxFuture<'_, ApiResult<GroupResult<()>>> {
        Box::pin(async move {
            let mut conn = self.pool.get().await?;
            let tx = conn.client.transaction().await.map_err(db_err)?;
            if let Some(c) = caller {
                let own = edge_state(&tx, id, c).await?;
                if let Err(e) = group::acting_state(own, false) {
                    return Ok(Err(e));
                }
            }
            if u.is_empty() {
                return Ok(Err(GroupError::NoUpdateOps));
            }
            let mut sets = vec!["update_time = $2".to_string()];
            let mut values: Vec<Box<dyn ToSql + Sync + Send>> =
                vec![Box::new(id), Box::new(now_secs())];
            let mut set = |column: &str, v: Box<dyn ToSql + Sync + Send>| {
                values.push(v);
                sets.push(format!("{column} = ${}", values.len()));
            };
            if let Some(v) = &u.name {
                set("name", Box::new(v.clone()));
            }
            if let Some(v) = &u.description {
                set("description", Box::new(v.clone()));
            }
            if let Some(v) = &u.avatar_url {
                set("avatar_url", Box::new(v.clone()));
            }
            if let Some(v) = &u.lang_tag {
                set("lang_tag", Box::new(v.clone()));
            }
            if let Some(v) = &u.metadata {
                set("metadata", Box::new(common::json_or_empty(v.clone())));
            }
            if let Some(v) = u.open {
                set("open", Box::new(v));
            }
            if let Some(v) = u.max_count {
                set("max_count", Box::new(v));
            }
            if let Some(v) = u.creator_id {
                set("creator_id", Box::new(v));
            }
            let sql = format!("UPDATE groups SET {} WHERE id = $1", sets.join(", "));
            let refs: Vec<&(dyn ToSql + Sync)> = values
                .iter()
                .map(|v| v.as_ref() as &(dyn ToSql + Sync))
                .collect();
            let changed = match tx.execute(sql.as_str(), &refs).await {
                Ok(n) => n,
                Err(e) if violation(&e).is_some() => return Ok(Err(GroupError::NameInUse)),
                Err(e) => return Err(db_err(e)),
            };
            if changed == 0 {
                return Ok(Err(GroupError::NotUpdated));
            }
            tx.commit().await.map_err(db_err)?;
            Ok(Ok(()))
        })
    }

    fn delete_group(
        &self,
        id: Uuid,
        caller: Option<Uuid>,
    ) -> BoxFuture<'_, ApiResult<GroupResult<()>>> {
        Box::pin(async move {
            let mut conn = self.pool.get().await?;
            let tx = conn.client.transaction().await.map_err(db_err)?;
            lock_group(&tx, id).await?;
            if let Some(c) = caller
                && edge_state(&tx, id, c).await? != Some(state::SUPERADMIN)
            {
                return Ok(Err(GroupError::PermissionDenied));
            }
            tx.execute(DELETE_GROUP, &[&id]).await.map_err(db_err)?;
            tx.commit().await.map_err(db_err)?;
            Ok(Ok(()))
        })
    }

    fn join_group(
        &self,
        id: Uuid,
        user: Uuid,
        username: String,
    ) -> BoxFuture<'_, ApiResult<GroupResult<Joined>>> {
        Box::pin(async move {
            let mut conn = self.pool.get().await?;
            let tx = conn.client.transaction().await.map_err(db_err)?;
            let Some(g) = lock_group(&tx, id).await? else {
                return Ok(Err(GroupError::NotFound));
            };
            let next = match group::plan_join(&g, edge_state(&tx, id, user).await?) {
                Ok(Some(s)) => s,
                Ok(None) => return Ok(Ok(Joined::Unchanged)),
                Err(e) => return Ok(Err(e)),
            };
            let position = common::now_nanos();
            tx.execute(INSERT_EDGE, &[&id, &user, &next, &position, &now_secs()])
                .await
                .map_err(db_err)?;
            let joined = if next == state::MEMBER {
                bump(&tx, id, 1).await?;
                let m = group::membership_message(
                    id,
                    message_code::GROUP_JOIN,
                    user,
                    &username,
                    now_micros(),
                );
                insert_message(&tx, &m).await?;
                Joined::Member(m)
            } else {
                let admins = tx
                    .query(ADMINS, &[&id])
                    .await
                    .map_err(db_err)?
                    .iter()
                    .map(|r| get(r, 0))
                    .collect::<ApiResult<Vec<Uuid>>>()?;
                Joined::Requested { admins }
            };
            tx.commit().await.map_err(db_err)?;
            Ok(Ok(joined))
        })
    }

    fn leave_group(
        &self,
        id: Uuid,
        user: Uuid,
        username: String,
    ) -> BoxFuture<'_, ApiResult<GroupResult<Left>>> {
        Box::pin(async move {
            let mut conn = self.pool.get().await?;
            let tx = conn.client.transaction().await.map_err(db_err)?;
            if lock_group(&tx, id).await?.is_none() {
                return Ok(Ok(Left::Unchanged));
            }
            let current = edge_state(&tx, id, user).await?;
            let other_superadmins = count_state(&tx, id, state::SUPERADMIN, user).await?;
            let other_members = other_superadmins
                + count_state(&tx, id, state::ADMIN, user).await?
                + count_state(&tx, id, state::MEMBER, user).await?;
            let left = match group::plan_leave(current, other_superadmins, other_members) {
                Err(e) => return Ok(Err(e)),
                Ok(LeavePlan::Nothing) => Left::Unchanged,
                Ok(LeavePlan::DeleteGroup) => {
                    tx.execute(DELETE_GROUP, &[&id]).await.map_err(db_err)?;
                    Left::Deleted
                }
                Ok(LeavePlan::Leave { was_member }) => {
                    tx.execute(DELETE_EDGE, &[&id, &user])
                        .await
                        .map_err(db_err)?;
                    if was_member {
                        bump(&tx, id, -1).await?;
                    }
                    let m = group::membership_message(
                        id,
                        message_code::GROUP_LEAVE,
                        user,
                        &username,
                        now_micros(),
                    );
                    insert_message(&tx, &m).await?;
                    Left::Member(m)
                }
            };
            tx.commit().await.map_err(db_err)?;
            Ok(Ok(left))
        })
    }

    fn change_members(
        &self,
        id: Uuid,
        caller: Option<Uuid>,
        op: MemberOp,
        users: Vec<Uuid>,
    ) -> BoxFuture<'_, ApiResult<GroupResult<Changes>>> {
        Box::pin(async move {
            let mut conn = self.pool.get().await?;
            let tx = conn.client.transaction().await.map_err(db_err)?;
            let g = lock_group(&tx, id).await?;
            let own = match caller {
                Some(c) => edge_state(&tx, id, c).await?,
                None => None,
            };
            let acting = match group::acting_state(own, caller.is_none()) {
                Ok(s) => s,
                Err(e) => return Ok(Err(e)),
            };
            let Some(g) = g else {
                return Ok(Err(GroupError::NotFound));
            };
            let mut targets = Vec::with_capacity(users.len());
            for u in &users {
                let row = tx.query_opt(TARGET, &[&id, u]).await.map_err(db_err)?;
                let (username, s) = match row {
                    Some(r) => (Some(get::<String>(&r, 0)?), get::<Option<i32>>(&r, 1)?),
                    None => (None, None),
                };
                targets.push(Target {
                    id: *u,
                    state: s,
                    username,
                });
            }
            let superadmins = count_state(&tx, id, state::SUPERADMIN, Uuid::nil()).await?;
            let plan = match group::plan_members(
                op,
                acting,
                caller,
                &g,
                superadmins,
                &targets,
                now_micros(),
            ) {
                Ok(p) => p,
                Err(e) => return Ok(Err(e)),
            };
            let base = common::now_nanos();
            let now = now_secs();
            for (i, w) in plan.writes.iter().enumerate() {
                let position = base.saturating_add(i as i64);
                match w {
                    EdgeWrite::Insert { user, state } => {
                        tx.execute(INSERT_EDGE, &[&id, user, state, &position, &now])
                            .await
                    }
                    EdgeWrite::SetState { user, state } => {
                        tx.execute(SET_STATE, &[&id, user, state, &now]).await
                    }
                    EdgeWrite::Replace { user, state } => {
                        tx.execute(REPLACE_EDGE, &[&id, user, state, &position, &now])
                            .await
                    }
                    EdgeWrite::Delete { user } => tx.execute(DELETE_EDGE, &[&id, user]).await,
                }
                .map_err(db_err)?;
            }
            bump(&tx, id, plan.edge_delta).await?;
            for m in &plan.changes.messages {
                insert_message(&tx, m).await?;
            }
            tx.commit().await.map_err(db_err)?;
            Ok(Ok(plan.changes))
        })
    }

    fn get_groups(&self, ids: Vec<Uuid>) -> BoxFuture<'_, ApiResult<Vec<Group>>> {
        Box::pin(async move {
            if ids.is_empty() {
                return Ok(Vec::new());
            }
            let conn = self.pool.get().await?;
            let sql = format!("SELECT {GROUP_COLUMNS} FROM groups WHERE id = ANY($1)");
            let rows = conn
                .client
                .query(sql.as_str(), &[&ids])
                .await
                .map_err(db_err)?;
            rows.iter().map(|r| group_from_row(r, 0)).collect()
        })
    }

    fn group_ids_after(&self, after: Uuid, limit: usize) -> BoxFuture<'_, ApiResult<Vec<Uuid>>> {
        Box::pin(async move {
            let limit = common::sql_limit(limit);
            let mut conn = self.pool.get().await?;
            let stmt = conn
                .prepare("SELECT id FROM groups WHERE id > $1 ORDER BY id LIMIT $2")
                .await?;
            let rows = conn
                .client
                .query(&stmt, &[&after, &limit])
                .await
                .map_err(db_err)?;
            rows.iter().map(|r| get(r, 0)).collect()
        })
    }

    fn list_groups(
        &self,
        filter: GroupFilter,
        after: Option<GroupCursor>,
        limit: usize,
    ) -> BoxFuture<'_, ApiResult<Vec<Group>>> {
        Box::pin(async move {
            let (sql, params) =
                group_sql::list_groups(&DIALECT, &filter, after.as_ref(), common::sql_limit(limit));
            self.list(sql, params, |r| group_from_row(r, 0)).await
        })
    }

    fn list_group_users(
        &self,
        id: Uuid,
        state: Option<i32>,
        after: Option<EdgeCursor>,
        limit: usize,
    ) -> BoxFuture<'_, ApiResult<Vec<GroupMember>>> {
        Box::pin(async move {
            let select = format!(
                "SELECT {}, e.state, e.position FROM group_edge e JOIN users u ON u.id = e.user_id",
                qualified(USER_COLUMNS, "u")
            );
            let (sql, params) = group_sql::list_edges(
                &DIALECT,
                &select,
                true,
                id,
                state,
                after.as_ref(),
                common::sql_limit(limit),
            );
            self.list(sql, params, |r| {
                Ok(GroupMember {
                    user: user_from_row(r)?,
                    state: get(r, 17)?,
                    position: get(r, 18)?,
                })
            })
            .await
        })
    }

    fn list_user_groups(
        &self,
        user: Uuid,
        state: Option<i32>,
        after: Option<EdgeCursor>,
        limit: usize,
    ) -> BoxFuture<'_, ApiResult<Vec<UserGroup>>> {
        Box::pin(async move {
            let select = format!(
                "SELECT {}, e.state, e.position FROM group_edge e JOIN groups g ON g.id = e.group_id",
                qualified(GROUP_COLUMNS, "g")
            );
            let (sql, params) = group_sql::list_edges(
                &DIALECT,
                &select,
                false,
                user,
                state,
                after.as_ref(),
                common::sql_limit(limit),
            );
            self.list(sql, params, |r| {
                Ok(UserGroup {
                    group: group_from_row(r, 0)?,
                    state: get(r, 12)?,
                    position: get(r, 13)?,
                })
            })
            .await
        })
    }

    fn group_user_state(&self, id: Uuid, user: Uuid) -> BoxFuture<'_, ApiResult<Option<i32>>> {
        Box::pin(async move {
            let conn = self.pool.get().await?;
            let row = conn
                .client
                .query_opt(EDGE_STATE, &[&id, &user])
                .await
                .map_err(db_err)?;
            row.map(|r| get(&r, 0)).transpose()
        })
    }
}
