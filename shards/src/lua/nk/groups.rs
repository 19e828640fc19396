//! Groups: `group_create`, `group_update`, `group_delete`,
//! `groups_get_id`, `group_user_join`, `group_user_leave`,
//! `group_users_add`, `_kick`, `_ban`, `_promote`, `_demote`,
//! `group_users_list`, `user_groups_list`, `groups_list` and
//! `groups_get_random`, with the
//! arguments, defaults, words and tables of Nakama's Lua module, over
//! [`Nk`](crate::modules::Nk)'s group calls.

use mlua::{Lua, Table, Value as LuaValue};
use uuid::Uuid;

use super::leaderboards::metadata;
use super::users::user;
use super::{Args, Module, server_error};
use crate::lua::convert;
use crate::modules::{Group, GroupFilter, GroupUpdate, NewGroup};

/// A group as Nakama's Lua table.
pub(super) fn group_table(lua: &Lua, g: &Group) -> mlua::Result<Table> {
    let t = lua.create_table()?;
    t.raw_set("id", g.id.to_string())?;
    t.raw_set("creator_id", g.creator_id.to_string())?;
    t.raw_set("name", g.name.as_str())?;
    t.raw_set("description", g.description.as_str())?;
    t.raw_set("avatar_url", g.avatar_url.as_str())?;
    t.raw_set("lang_tag", g.lang_tag.as_str())?;
    t.raw_set("open", g.open)?;
    t.raw_set("edge_count", g.edge_count)?;
    t.raw_set("max_count", g.max_count)?;
    t.raw_set("create_time", g.create_time as f64)?;
    t.raw_set("update_time", g.update_time as f64)?;
    let meta: serde_json::Value =
        serde_json::from_str(&g.metadata).unwrap_or(serde_json::json!({}));
    t.raw_set("metadata", convert::to_lua(lua, &meta)?)?;
    Ok(t)
}

/// A list as Lua sees it: a sequence table.
fn sequence<T>(
    lua: &Lua,
    items: &[T],
    f: impl Fn(&T) -> mlua::Result<Table>,
) -> mlua::Result<Table> {
    let t = lua.create_table_with_capacity(items.len(), 0)?;
    for (i, item) in items.iter().enumerate() {
        t.raw_set(i + 1, f(item)?)?;
    }
    Ok(t)
}

/// A next-page cursor: `nil` at the end, as Nakama returns it.
pub(super) fn cursor_value(lua: &Lua, c: &str) -> mlua::Result<LuaValue> {
    if c.is_empty() {
        Ok(LuaValue::Nil)
    } else {
        Ok(LuaValue::String(lua.create_string(c)?))
    }
}

/// A group id argument.
fn group_id(a: &Args, n: usize) -> mlua::Result<Uuid> {
    let s = a.string(n)?;
    Uuid::parse_str(&s).map_err(|_| a.error(n, "expects group ID to be a valid identifier"))
}

/// A user id argument.
fn user_id(a: &Args, n: usize) -> mlua::Result<Uuid> {
    let s = a.string(n)?;
    Uuid::parse_str(&s).map_err(|_| a.error(n, "expects user ID to be a valid identifier"))
}

/// An optional string argument, `None` when absent or empty.
fn opt_text(a: &Args, n: usize) -> mlua::Result<Option<String>> {
    let s = a.opt_string(n, "")?;
    Ok((!s.is_empty()).then_some(s))
}

/// A metadata table argument as JSON text.
fn metadata_text(a: &Args, n: usize) -> mlua::Result<Option<String>> {
    Ok(metadata(a, n, a.opt_table(n)?)?.map(|v| v.to_string()))
}

/// The `(group id, user ids, caller)` of an add, kick, ban, promote or
/// demote, checked as Nakama checks them; `verb` words the refusal of the
/// nil id (`cannot add the root user`).
fn member_change(a: &Args, verb: &str) -> mlua::Result<(Uuid, Vec<Uuid>, Option<Uuid>)> {
    let group = group_id(a, 1)?;
    let list = a.table(2)?;
    let mut users = Vec::new();
    for pair in list.pairs::<LuaValue, LuaValue>() {
        let (_, v) = pair?;
        let LuaValue::String(s) = v else {
            return Err(a.error(2, "expects each user ID to be a string"));
        };
        let id = Uuid::parse_str(&s.to_string_lossy())
            .map_err(|_| a.error(2, "expects each user ID to be a valid identifier"))?;
        if id.is_nil() {
            return Err(a.error(2, &format!("cannot {verb} the root user")));
        }
        users.push(id);
    }
    let caller = match a.opt_string(3, "")?.as_str() {
        "" => None,
        c => Some(
            Uuid::parse_str(c)
                .map_err(|_| a.error(3, "expects caller ID to be empty or a valid identifier"))?,
        ),
    };
    Ok((group, users, caller))
}

/// A member listing's `state` argument: -1 (the default) is every state.
fn state_filter(a: &Args, n: usize) -> mlua::Result<Option<i32>> {
    match a.opt_int(n, -1)? {
        -1 => Ok(None),
        s if (0..=4).contains(&s) => Ok(Some(s as i32)),
        _ => Err(a.error(n, "expects state to be 0-4")),
    }
}

pub fn add(m: &Module) -> mlua::Result<()> {
    m.async_fn("group_create", |lua, current, a| async move {
        let owner = user_id(&a, 1)?;
        let name = a.string(2)?;
        if name.is_empty() {
            return Err(a.error(2, "expects group name not be empty"));
        }
        let creator = match a.get(3) {
            LuaValue::Nil => Uuid::nil(),
            _ => Uuid::parse_str(&a.string(3)?)
                .map_err(|_| a.error(3, "expects owner ID to be a valid identifier"))?,
        };
        let lang_tag = a.opt_string(4, "")?;
        let description = a.opt_string(5, "")?;
        let avatar_url = a.opt_string(6, "")?;
        let open = a.opt_bool(7, false)?;
        let meta = metadata_text(&a, 8)?.unwrap_or_default();
        let max_count = a.opt_int(9, 100)?;
        if max_count < 1 {
            return Err(a.error(9, "expects max_count to be >= 1"));
        }
        let nk = current.nk("group_create")?;
        let group = nk
            .group_create(NewGroup {
                owner,
                creator_id: creator,
                name,
                description,
                avatar_url,
                lang_tag,
                metadata: meta,
                open,
                max_count: max_count.min(i32::MAX as i64) as i32,
            })
            .await
            .map_err(|e| server_error("error while trying to create group", e))?;
        group_table(&lua, &group)
    })?;
    m.async_fn("group_update", |_lua, current, a| async move {
        let group = group_id(&a, 1)?;
        let caller = match a.get(2) {
            LuaValue::Nil => None,
            // Nakama names the first argument here; its nil id is game
            // code.
            _ => Some(
                Uuid::parse_str(&a.string(2)?)
                    .map_err(|_| a.error(1, "expects user ID to be a valid identifier"))?,
            )
            .filter(|u| !u.is_nil()),
        };
        let name = opt_text(&a, 3)?;
        let creator_id = match opt_text(&a, 4)? {
            None => None,
            // Nakama names the third argument here.
            Some(c) => Some(
                Uuid::parse_str(&c)
                    .map_err(|_| a.error(3, "expects creator ID to be a valid identifier"))?,
            ),
        };
        let lang_tag = opt_text(&a, 5)?;
        let description = opt_text(&a, 6)?;
        let avatar_url = opt_text(&a, 7)?;
        let open = match a.get(8) {
            LuaValue::Nil => None,
            _ => Some(a.opt_bool(8, false)?),
        };
        let meta = metadata_text(&a, 9)?;
        let max_count = match a.opt_int(10, 0)? {
            0 => None,
            n => Some(n.clamp(i32::MIN as i64, i32::MAX as i64) as i32),
        };
        let update = GroupUpdate {
            name,
            description,
            avatar_url,
            lang_tag,
            metadata: meta,
            open,
            max_count,
            creator_id,
        };
        let nk = current.nk("group_update")?;
        nk.group_update_as(caller, group, update)
            .await
            .map_err(|e| server_error("error while trying to update group", e))
    })?;
    m.async_fn("group_delete", |_lua, current, a| async move {
        let group = group_id(&a, 1)?;
        let nk = current.nk("group_delete")?;
        nk.group_delete(group)
            .await
            .map_err(|e| server_error("error while trying to delete group", e))
    })?;
    m.async_fn("groups_get_id", |lua, current, a| async move {
        let Some(list) = a.opt_table(1)? else {
            return Err(a.error(1, "invalid group id list"));
        };
        let mut ids = Vec::new();
        for v in a.array(1, &list, "invalid group id data")? {
            let s = match v {
                LuaValue::String(s) if !s.as_bytes().is_empty() => s.to_string_lossy(),
                _ => return Err(a.error(1, "each group id must be a string")),
            };
            let id = Uuid::parse_str(&s)
                .map_err(|_| a.error(1, "each group id must be a valid id string"))?;
            ids.push(id);
        }
        let nk = current.nk("groups_get_id")?;
        let groups = nk
            .groups_get_id(ids)
            .await
            .map_err(|e| server_error("failed to get groups", e))?;
        sequence(&lua, &groups, |g| group_table(&lua, g))
    })?;
    for (name, joining) in [("group_user_join", true), ("group_user_leave", false)] {
        m.async_fn(name, move |_lua, current, a| async move {
            let group = group_id(&a, 1)?;
            let user = user_id(&a, 2)?;
            let username = a.string(3)?;
            if username.is_empty() {
                return Err(a.error(3, "expects username string"));
            }
            let nk = current.nk(name)?;
            if joining {
                nk.group_user_join(group, user, &username)
                    .await
                    .map_err(|e| server_error("error while trying to join a group", e))
            } else {
                nk.group_user_leave(group, user, &username)
                    .await
                    .map_err(|e| server_error("error while trying to leave a group", e))
            }
        })?;
    }
    // The membership changes: the same arguments, each its own call and
    // failure message (Nakama words a ban's failure as an add's).
    for (name, verb, failure) in [
        (
            "group_users_add",
            "add",
            "error while trying to add users into a group",
        ),
        (
            "group_users_kick",
            "kick",
            "error while trying to kick users from a group",
        ),
        (
            "group_users_ban",
            "ban",
            "error while trying to add users into a group",
        ),
        (
            "group_users_promote",
            "promote",
            "error while trying to promote users in a group",
        ),
        (
            "group_users_demote",
            "demote",
            "error while trying to demote users in a group",
        ),
    ] {
        m.async_fn(name, move |_lua, current, a| async move {
            let (group, users, caller) = member_change(&a, verb)?;
            if users.is_empty() {
                return Ok(());
            }
            let nk = current.nk(name)?;
            let done = match verb {
                "add" => nk.group_users_add(caller, group, users).await,
                "kick" => nk.group_users_kick(caller, group, users).await,
                "ban" => nk.group_users_ban(caller, group, users).await,
                "promote" => nk.group_users_promote(caller, group, users).await,
                _ => nk.group_users_demote(caller, group, users).await,
            };
            done.map_err(|e| server_error(failure, e))
        })?;
    }
    m.async_fn("group_users_list", |lua, current, a| async move {
        let group = group_id(&a, 1)?;
        let limit = a.opt_int(2, 100)?;
        if !(1..=10_000).contains(&limit) {
            return Err(a.error(2, "expects limit to be 1-10000"));
        }
        let state = state_filter(&a, 3)?;
        let cursor = a.opt_string(4, "")?;
        let nk = current.nk("group_users_list")?;
        let (members, next) = nk
            // Kairos's pages hold at most 100 members; the cursor goes on.
            .group_users_list(group, limit.min(100) as usize, state, &cursor)
            .await
            .map_err(|e| server_error("error while trying to list users in a group", e))?;
        let list = sequence(&lua, &members, |m| {
            let u = user(&lua, &m.user)?;
            u.raw_set("online", nk.user_online(m.user.id))?;
            let t = lua.create_table()?;
            t.raw_set("user", u)?;
            t.raw_set("state", m.state)?;
            Ok(t)
        })?;
        Ok((list, cursor_value(&lua, &next)?))
    })?;
    m.async_fn("user_groups_list", |lua, current, a| async move {
        let user = user_id(&a, 1)?;
        let limit = a.opt_int(2, 100)?;
        if !(1..=100).contains(&limit) {
            return Err(a.error(2, "expects limit to be 1-100"));
        }
        let state = state_filter(&a, 3)?;
        let cursor = a.opt_string(4, "")?;
        let nk = current.nk("user_groups_list")?;
        let (groups, next) = nk
            .user_groups_list(user, limit as usize, state, &cursor)
            .await
            .map_err(|e| server_error("error while trying to list groups for a user", e))?;
        let list = sequence(&lua, &groups, |ug| {
            let t = lua.create_table()?;
            t.raw_set("group", group_table(&lua, &ug.group)?)?;
            t.raw_set("state", ug.state)?;
            Ok(t)
        })?;
        Ok((list, cursor_value(&lua, &next)?))
    })?;
    m.async_fn("groups_list", |lua, current, a| async move {
        let name = a.opt_string(1, "")?;
        let lang_tag = a.opt_string(2, "")?;
        // Nakama requires the third argument (nil allowed) and names the
        // second when it is not a boolean.
        if a.count() < 3 {
            return Err(a.error(3, "value expected"));
        }
        let open = match a.get(3) {
            LuaValue::Nil => None,
            LuaValue::Boolean(b) => Some(b),
            _ => return Err(a.error(2, "expects open true/false or nil")),
        };
        let edge_count = a.opt_int(4, -1)?;
        let limit = a.opt_int(5, 100)?;
        let cursor = a.opt_string(6, "")?;
        let filter = GroupFilter {
            name: (!name.is_empty()).then_some(name),
            lang_tag: (!lang_tag.is_empty()).then_some(lang_tag),
            members: (edge_count > -1).then(|| edge_count.min(i32::MAX as i64) as i32),
            open,
        };
        let nk = current.nk("groups_list")?;
        let (groups, next) = nk
            .groups_list(filter, limit.max(0) as usize, &cursor)
            .await
            .map_err(|e| server_error("error listing groups", e))?;
        let list = sequence(&lua, &groups, |g| group_table(&lua, g))?;
        Ok((list, cursor_value(&lua, &next)?))
    })?;
    m.async_fn("groups_get_random", |lua, current, a| async move {
        let count = a.opt_int(1, 0)?;
        if !(0..=1000).contains(&count) {
            return Err(a.error(1, "count must be 0-1000"));
        }
        let nk = current.nk("groups_get_random")?;
        let groups = nk
            .groups_get_random(count as usize)
            .await
            .map_err(|e| server_error("failed to get groups", e))?;
        sequence(&lua, &groups, |g| group_table(&lua, g))
    })?;
    Ok(())
}
