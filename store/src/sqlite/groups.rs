//! Groups on SQLite (see `kairos_core::group` for the rules; not to be
//! confused with `group.rs`, the group commit of account creations).
//! Every change runs in one immediate transaction: SQLite's single writer
//! makes concurrent changes to a group take turns, so the states a change
//! reads are current and `edge_count` stays exact and within `max_count`.

use kairos_core::channel::{ChannelMessage, code as message_code};
use kairos_core::error::ApiResult;
use kairos_core::group::{
    self, Changes, EdgeCursor, EdgeWrite, Group, GroupCursor, GroupError, GroupFilter, GroupMember,
    GroupResult, GroupUpdate, Joined, LeavePlan, Left, MemberOp, NewGroup, Target, UserGroup,
    state,
};
use kairos_core::time::now_secs;
use rusqlite::types::Value;
use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params, params_from_iter};
use uuid::Uuid;

use super::SqliteStore;
use super::db::{Db, db_err, exec, violation};
use super::rows::{USER_COLUMNS, user_from_row, uuid_at};
use crate::common::{self, qualified};
use crate::group_sql::{self, Dialect, GROUP_COLUMNS, Param};
use crate::{BoxFuture, GroupStore};

const DIALECT: Dialect = Dialect {
    placeholder: |n, _| format!("?{n}"),
    like: "LIKE",
};

/// Reads a [`Group`] from a row selected with [`GROUP_COLUMNS`] from `at`.
fn group_from_row(r: &rusqlite::Row<'_>, at: usize) -> rusqlite::Result<Group> {
    Ok(Group {
        id: uuid_at(r, at)?,
        creator_id: uuid_at(r, at + 1)?,
        name: r.get(at + 2)?,
        description: r.get(at + 3)?,
        avatar_url: r.get(at + 4)?,
        lang_tag: r.get(at + 5)?,
        metadata: r.get(at + 6)?,
        open: r.get(at + 7)?,
        edge_count: r.get(at + 8)?,
        max_count: r.get(at + 9)?,
        create_time: r.get(at + 10)?,
        update_time: r.get(at + 11)?,
    })
}

fn to_values(params: Vec<Param>) -> Vec<Value> {
    params
        .into_iter()
        .map(|p| match p {
            Param::Text(s) => Value::Text(s),
            Param::Int(n) => Value::Integer(n),
            Param::Bool(b) => Value::Integer(b.into()),
            Param::Id(id) => Value::Text(id.to_string()),
        })
        .collect()
}

fn load_group(c: &Connection, id: &str) -> ApiResult<Option<Group>> {
    c.prepare_cached(&format!("SELECT {GROUP_COLUMNS} FROM groups WHERE id = ?1"))
        .map_err(db_err)?
        .query_row([id], |r| group_from_row(r, 0))
        .optional()
        .map_err(db_err)
}

fn edge_state(c: &Connection, group: &str, user: &str) -> ApiResult<Option<i32>> {
    c.prepare_cached("SELECT state FROM group_edge WHERE group_id = ?1 AND user_id = ?2")
        .map_err(db_err)?
        .query_row([group, user], |r| r.get(0))
        .optional()
        .map_err(db_err)
}

/// The group's edges of `state` other than `user`'s.
fn count_state(c: &Connection, group: &str, state: i32, except: &str) -> ApiResult<i64> {
    c.prepare_cached(
        "SELECT count(*) FROM group_edge WHERE group_id = ?1 AND state = ?2 AND user_id <> ?3",
    )
    .map_err(db_err)?
    .query_row(params![group, state, except], |r| r.get(0))
    .map_err(db_err)
}

fn insert_message(c: &Connection, m: &ChannelMessage) -> ApiResult<()> {
    exec(
        c,
        "INSERT INTO message (id, code, sender_id, username, stream_mode, stream_subject, stream_subcontext,
           stream_label, content, create_time, update_time)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
        params![
            m.id.to_string(),
            m.code,
            m.sender_id.to_string(),
            m.username,
            m.stream.mode,
            m.stream.subject,
            m.stream.subcontext,
            m.stream.label,
            m.content,
            m.create_time,
            m.update_time
        ],
    )
    .map_err(db_err)?;
    Ok(())
}

fn insert_edge(
    c: &Connection,
    group: &str,
    user: &str,
    state: i32,
    position: i64,
) -> ApiResult<()> {
    exec(
        c,
        "INSERT INTO group_edge (group_id, user_id, state, position, update_time) VALUES (?1, ?2, ?3, ?4, ?5)",
        params![group, user, state, position, now_secs()],
    )
    .map_err(db_err)?;
    Ok(())
}

fn bump(c: &Connection, group: &str, delta: i32) -> ApiResult<()> {
    if delta != 0 {
        exec(
            c,
            "UPDATE groups SET edge_count = edge_count + ?2, update_time = ?3 WHERE id = ?1",
            params![group, delta, now_secs()],
        )
        .map_err(db_err)?;
    }
    Ok(())
}

/// The acting state of `caller` in `group` (game code: superadmin).
fn acting(c: &Connection, group: &str, caller: Option<Uuid>) -> ApiResult<GroupResult<i32>> {
    let own = match caller {
        Some(u) => edge_state(c, group, &u.to_string())?,
        None => None,
    };
    Ok(group::acting_state(own, caller.is_none()))
}

/// A deleted account leaves its groups, inside the deletion's
/// transaction: a group whose only superadmin it was is deleted (as
/// Nakama's `GroupDeleteAll` does); elsewhere its edge goes and
/// `edge_count` drops if it was a member.
pub(super) fn remove_user(c: &Connection, user: &str) -> ApiResult<()> {
    let edges: Vec<(String, i32)> = c
        .prepare_cached("SELECT group_id, state FROM group_edge WHERE user_id = ?1")
        .map_err(db_err)?
        .query_map([user], |r| Ok((r.get(0)?, r.get(1)?)))
        .map_err(db_err)?
        .collect::<rusqlite::Result<_>>()
        .map_err(db_err)?;
    for (gid, s) in edges {
        if s == state::SUPERADMIN && count_state(c, &gid, state::SUPERADMIN, user)? == 0 {
            exec(c, "DELETE FROM groups WHERE id = ?1", [&gid]).map_err(db_err)?;
            continue;
        }
        exec(
            c,
            "DELETE FROM group_edge WHERE group_id = ?1 AND user_id = ?2",
            [&gid, user],
        )
        .map_err(db_err)?;
        if group::is_member(s) {
            bump(c, &gid, -1)?;
        }
    }
    Ok(())
}

impl GroupStore for SqliteStore {
    fn create_group(&self, g: NewGroup) -> BoxFuture<'_, ApiResult<GroupResult<Group>>> {
        Box::pin(self.blocking(move |db| db.create_group(g)))
    }

    fn update_group(
        &self,
        id: Uuid,
        caller: Option<Uuid>,
        update: GroupUpdate,
    ) -> BoxFuture<'_, ApiResult<GroupResult<()>>> {
        Box::pin(self.blocking(move |db| db.update_group(id, caller, update)))
    }

    fn delete_group(
        &self,
        id: Uuid,
        caller: Option<Uuid>,
    ) -> BoxFuture<'_, ApiResult<GroupResult<()>>> {
        Box::pin(self.blocking(move |db| db.delete_group(id, caller)))
    }

    fn join_group(
        &self,
        id: Uuid,
        user: Uuid,
        username: String,
    ) -> BoxFuture<'_, ApiResult<GroupResult<Joined>>> {
        Box::pin(self.blocking(move |db| db.join_group(id, user, &username)))
    }

    fn leave_group(
        &self,
        id: Uuid,
        user: Uuid,
        username: String,
    ) -> BoxFuture<'_, ApiResult<GroupResult<Left>>> {
        Box::pin(self.blocking(move |db| db.leave_group(id, user, &username)))
    }

    fn change_members(
        &self,
        id: Uuid,
        caller: Option<Uuid>,
        op: MemberOp,
        users: Vec<Uuid>,
    ) -> BoxFuture<'_, ApiResult<GroupResult<Changes>>> {
        Box::pin(self.blocking(move |db| db.change_members(id, caller, op, &users)))
    }

    fn get_groups(&self, ids: Vec<Uuid>) -> BoxFuture<'_, ApiResult<Vec<Group>>> {
        Box::pin(self.blocking(move |db| {
            db.read(|c| {
                let mut out = Vec::new();
                for id in ids {
                    if let Some(g) = load_group(c, &id.to_string())? {
                        out.push(g);
                    }
                }
                Ok(out)
            })
        }))
    }

    fn group_ids_after(&self, after: Uuid, limit: usize) -> BoxFuture<'_, ApiResult<Vec<Uuid>>> {
        Box::pin(self.blocking(move |db| {
            db.read(|c| {
                // Ids are lower-case hyphenated text, which sorts as the ids do.
                let mut stmt = c
                    .prepare_cached("SELECT id FROM groups WHERE id > ?1 ORDER BY id LIMIT ?2")
                    .map_err(db_err)?;
                let rows = stmt
                    .query_map(params![after.to_string(), common::sql_limit(limit)], |r| {
                        uuid_at(r, 0)
                    })
                    .map_err(db_err)?;
                rows.collect::<rusqlite::Result<_>>().map_err(db_err)
            })
        }))
    }

    fn list_groups(
        &self,
        filter: GroupFilter,
        after: Option<GroupCursor>,
        limit: usize,
    ) -> BoxFuture<'_, ApiResult<Vec<Group>>> {
        Box::pin(self.blocking(move |db| {
            let (sql, params) =
                group_sql::list_groups(&DIALECT, &filter, after.as_ref(), common::sql_limit(limit));
            db.read(|c| {
                let mut stmt = c.prepare_cached(&sql).map_err(db_err)?;
                let rows = stmt
                    .query_map(params_from_iter(to_values(params)), |r| {
                        group_from_row(r, 0)
                    })
                    .map_err(db_err)?;
                rows.collect::<rusqlite::Result<_>>().map_err(db_err)
            })
        }))
    }

    fn list_group_users(
        &self,
        id: Uuid,
        state: Option<i32>,
        after: Option<EdgeCursor>,
        limit: usize,
    ) -> BoxFuture<'_, ApiResult<Vec<GroupMember>>> {
        Box::pin(self.blocking(move |db| {
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
            db.read(|c| {
                let mut stmt = c.prepare_cached(&sql).map_err(db_err)?;
                let rows = stmt
                    .query_map(params_from_iter(to_values(params)), |r| {
                        Ok(GroupMember {
                            user: user_from_row(r)?,
                            state: r.get(17)?,
                            position: r.get(18)?,
                        })
                    })
                    .map_err(db_err)?;
                rows.collect::<rusqlite::Result<_>>().map_err(db_err)
            })
        }))
    }

    fn list_user_groups(
        &self,
        user: Uuid,
        state: Option<i32>,
        after: Option<EdgeCursor>,
        limit: usize,
    ) -> BoxFuture<'_, ApiResult<Vec<UserGroup>>> {
        Box::pin(self.blocking(move |db| {
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
            db.read(|c| {
                let mut stmt = c.prepare_cached(&sql).map_err(db_err)?;
                let rows = stmt
                    .query_map(params_from_iter(to_values(params)), |r| {
                        Ok(UserGroup {
                            group: group_from_row(r, 0)?,
                            state: r.get(12)?,
                            position: r.get(13)?,
                        })
                    })
                    .map_err(db_err)?;
                rows.collect::<rusqlite::Result<_>>().map_err(db_err)
            })
        }))
    }

    fn group_user_state(&self, id: Uuid, user: Uuid) -> BoxFuture<'_, ApiResult<Option<i32>>> {
        Box::pin(
            self.blocking(move |db| db.read(|c| edge_state(c, &id.to_string(), &user.to_string()))),
        )
    }
}

impl Db {
    fn create_group(&self, g: NewGroup) -> ApiResult<GroupResult<Group>> {
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
        self.write(|c| {
            let tx = c
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(db_err)?;
            let id = group.id.to_string();
            let owner = g.owner.to_string();
            let exists: bool = tx
                .prepare_cached("SELECT EXISTS (SELECT 1 FROM users WHERE id = ?1)")
                .map_err(db_err)?
                .query_row([&owner], |r| r.get(0))
                .map_err(db_err)?;
            if !exists {
                return Ok(Err(GroupError::UserNotFound));
            }
            let inserted = exec(
                &tx,
                "INSERT INTO groups (id, creator_id, name, description, avatar_url, lang_tag, metadata, open,
                   edge_count, max_count, create_time, update_time)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, 1, ?9, ?10, ?10)",
                params![
                    id,
                    group.creator_id.to_string(),
                    group.name,
                    group.description,
                    group.avatar_url,
                    group.lang_tag,
                    group.metadata,
                    group.open,
                    group.max_count,
                    now
                ],
            );
            match inserted {
                Ok(_) => {}
                Err(e) if violation(&e).is_some() => return Ok(Err(GroupError::NameInUse)),
                Err(e) => return Err(db_err(e)),
            }
            insert_edge(&tx, &id, &owner, state::SUPERADMIN, common::now_nanos())?;
            tx.commit().map_err(db_err)?;
            Ok(Ok(group.clone()))
        })
    }

    fn update_group(
        &self,
        id: Uuid,
        caller: Option<Uuid>,
        u: GroupUpdate,
    ) -> ApiResult<GroupResult<()>> {
        let gid = id.to_string();
        self.write(|c| {
            let tx = c
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(db_err)?;
            if caller.is_some()
                && let Err(e) = acting(&tx, &gid, caller)?
            {
                return Ok(Err(e));
            }
            if u.is_empty() {
                return Ok(Err(GroupError::NoUpdateOps));
            }
            let mut sets = vec!["update_time = ?2".to_string()];
            let mut values: Vec<Value> = vec![Value::Text(gid.clone()), Value::Integer(now_secs())];
            let mut set = |column: &str, v: Value| {
                values.push(v);
                sets.push(format!("{column} = ?{}", values.len()));
            };
            if let Some(v) = &u.name {
                set("name", Value::Text(v.clone()));
            }
            if let Some(v) = &u.description {
                set("description", Value::Text(v.clone()));
            }
            if let Some(v) = &u.avatar_url {
                set("avatar_url", Value::Text(v.clone()));
            }
            if let Some(v) = &u.lang_tag {
                set("lang_tag", Value::Text(v.clone()));
            }
            if let Some(v) = &u.metadata {
                set("metadata", Value::Text(common::json_or_empty(v.clone())));
            }
            if let Some(v) = u.open {
                set("open", Value::Integer(v.into()));
            }
            if let Some(v) = u.max_count {
                set("max_count", Value::Integer(v.into()));
            }
            if let Some(v) = u.creator_id {
                set("creator_id", Value::Text(v.to_string()));
            }
            let sql = format!("UPDATE groups SET {} WHERE id = ?1", sets.join(", "));
            let changed = match tx.execute(&sql, params_from_iter(values)) {
                Ok(n) => n,
                Err(e) if violation(&e).is_some() => return Ok(Err(GroupError::NameInUse)),
                Err(e) => return Err(db_err(e)),
            };
            if changed == 0 {
                return Ok(Err(GroupError::NotUpdated));
            }
            tx.commit().map_err(db_err)?;
            Ok(Ok(()))
        })
    }

    fn delete_group(&self, id: Uuid, caller: Option<Uuid>) -> ApiResult<GroupResult<()>> {
        let gid = id.to_string();
        self.write(|c| {
            let tx = c
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(db_err)?;
            if let Some(u) = caller
                && edge_state(&tx, &gid, &u.to_string())? != Some(state::SUPERADMIN)
            {
                return Ok(Err(GroupError::PermissionDenied));
            }
            exec(&tx, "DELETE FROM groups WHERE id = ?1", [&gid]).map_err(db_err)?;
            tx.commit().map_err(db_err)?;
            Ok(Ok(()))
        })
    }

    fn join_group(&self, id: Uuid, user: Uuid, username: &str) -> ApiResult<GroupResult<Joined>> {
        let (gid, uid) = (id.to_string(), user.to_string());
        self.write(|c| {
            let tx = c
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(db_err)?;
            let Some(g) = load_group(&tx, &gid)? else {
                return Ok(Err(GroupError::NotFound));
            };
            let next = match group::plan_join(&g, edge_state(&tx, &gid, &uid)?) {
                Ok(Some(s)) => s,
                Ok(None) => return Ok(Ok(Joined::Unchanged)),
                Err(e) => return Ok(Err(e)),
            };
            insert_edge(&tx, &gid, &uid, next, common::now_nanos())?;
            let joined = if next == state::MEMBER {
                bump(&tx, &gid, 1)?;
                let m = group::membership_message(
                    id,
                    message_code::GROUP_JOIN,
                    user,
                    username,
                    kairos_core::time::now_micros(),
                );
                insert_message(&tx, &m)?;
                Joined::Member(m)
            } else {
                let mut stmt = tx
                    .prepare_cached(
                        "SELECT user_id FROM group_edge WHERE group_id = ?1 AND state <= ?2 ORDER BY state, position",
                    )
                    .map_err(db_err)?;
                let admins = stmt
                    .query_map(params![gid, state::ADMIN], |r| uuid_at(r, 0))
                    .map_err(db_err)?
                    .collect::<rusqlite::Result<Vec<Uuid>>>()
                    .map_err(db_err)?;
                drop(stmt);
                Joined::Requested { admins }
            };
            tx.commit().map_err(db_err)?;
            Ok(Ok(joined))
        })
    }

    fn leave_group(&self, id: Uuid, user: Uuid, username: &str) -> ApiResult<GroupResult<Left>> {
        let (gid, uid) = (id.to_string(), user.to_string());
        self.write(|c| {
            let tx = c
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(db_err)?;
            let current = edge_state(&tx, &gid, &uid)?;
            let other_superadmins = count_state(&tx, &gid, state::SUPERADMIN, &uid)?;
            let other_members = other_superadmins
                + count_state(&tx, &gid, state::ADMIN, &uid)?
                + count_state(&tx, &gid, state::MEMBER, &uid)?;
            let left = match group::plan_leave(current, other_superadmins, other_members) {
                Err(e) => return Ok(Err(e)),
                Ok(LeavePlan::Nothing) => Left::Unchanged,
                Ok(LeavePlan::DeleteGroup) => {
                    exec(&tx, "DELETE FROM groups WHERE id = ?1", [&gid]).map_err(db_err)?;
                    Left::Deleted
                }
                Ok(LeavePlan::Leave { was_member }) => {
                    exec(
                        &tx,
                        "DELETE FROM group_edge WHERE group_id = ?1 AND user_id = ?2",
                        [&gid, &uid],
                    )
                    .map_err(db_err)?;
                    if was_member {
                        bump(&tx, &gid, -1)?;
                    }
                    let m = group::membership_message(
                        id,
                        message_code::GROUP_LEAVE,
                        user,
                        username,
                        kairos_core::time::now_micros(),
                    );
                    insert_message(&tx, &m)?;
                    Left::Member(m)
                }
            };
            tx.commit().map_err(db_err)?;
            Ok(Ok(left))
        })
    }

    fn change_members(
        &self,
        id: Uuid,
        caller: Option<Uuid>,
        op: MemberOp,
        users: &[Uuid],
    ) -> ApiResult<GroupResult<Changes>> {
        let gid = id.to_string();
        self.write(|c| {
            let tx = c
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(db_err)?;
            let acting_state = match acting(&tx, &gid, caller)? {
                Ok(s) => s,
                Err(e) => return Ok(Err(e)),
            };
            let Some(g) = load_group(&tx, &gid)? else {
                return Ok(Err(GroupError::NotFound));
            };
            let mut targets = Vec::with_capacity(users.len());
            {
                let mut stmt = tx
                    .prepare_cached(
                        "SELECT u.username, e.state FROM users u
                         LEFT JOIN group_edge e ON e.user_id = u.id AND e.group_id = ?1
                         WHERE u.id = ?2",
                    )
                    .map_err(db_err)?;
                for u in users {
                    let found: Option<(String, Option<i32>)> = stmt
                        .query_row([&gid, &u.to_string()], |r| Ok((r.get(0)?, r.get(1)?)))
                        .optional()
                        .map_err(db_err)?;
                    targets.push(Target {
                        id: *u,
                        state: found.as_ref().and_then(|f| f.1),
                        username: found.map(|f| f.0),
                    });
                }
            }
            let superadmins = count_state(&tx, &gid, state::SUPERADMIN, "")?;
            let plan = match group::plan_members(
                op,
                acting_state,
                caller,
                &g,
                superadmins,
                &targets,
                kairos_core::time::now_micros(),
            ) {
                Ok(p) => p,
                Err(e) => return Ok(Err(e)),
            };
            let base = common::now_nanos();
            for (i, w) in plan.writes.iter().enumerate() {
                let position = base.saturating_add(i as i64);
                match w {
                    EdgeWrite::Insert { user, state } => {
                        insert_edge(&tx, &gid, &user.to_string(), *state, position)?;
                    }
                    EdgeWrite::SetState { user, state } => {
                        exec(
                            &tx,
                            "UPDATE group_edge SET state = ?3, update_time = ?4 WHERE group_id = ?1 AND user_id = ?2",
                            params![gid, user.to_string(), state, now_secs()],
                        )
                        .map_err(db_err)?;
                    }
                    EdgeWrite::Replace { user, state } => {
                        exec(
                            &tx,
                            "UPDATE group_edge SET state = ?3, position = ?4, update_time = ?5 WHERE group_id = ?1 AND user_id = ?2",
                            params![gid, user.to_string(), state, position, now_secs()],
                        )
                        .map_err(db_err)?;
                    }
                    EdgeWrite::Delete { user } => {
                        exec(
                            &tx,
                            "DELETE FROM group_edge WHERE group_id = ?1 AND user_id = ?2",
                            [&gid, &user.to_string()],
                        )
                        .map_err(db_err)?;
                    }
                }
            }
            bump(&tx, &gid, plan.edge_delta)?;
            for m in &plan.changes.messages {
                insert_message(&tx, m)?;
            }
            tx.commit().map_err(db_err)?;
            Ok(Ok(plan.changes))
        })
    }
}
