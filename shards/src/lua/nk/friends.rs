//! Friends: `friends_list`, `friends_add`, `friends_delete`,
//! `friends_block`, `friends_of_friends_list`, `friend_metadata_update`
//! and `users_get_friend_status`, with the arguments, words and tables of Nakama's Lua
//! module, over [`Nk`](crate::modules::Nk)'s friend calls.

use kairos_core::friend::Friend;
use mlua::{Lua, Table, Value as LuaValue};
use uuid::Uuid;

use super::groups::cursor_value;
use super::leaderboards::metadata;
use super::users::user;
use super::{Args, Module, server_error};
use crate::lua::convert;
use crate::modules::Nk;

/// The acting user, its username, and the users named by id (argument 3)
/// and by username (argument 4), checked as Nakama checks them;
/// `self_msg` refuses naming oneself.
fn named(a: &Args, self_msg: &str) -> mlua::Result<(Uuid, String, Vec<Uuid>, Vec<String>)> {
    let me = Uuid::parse_str(&a.string(1)?)
        .map_err(|_| a.error(1, "expects user ID to be a valid identifier"))?;
    let username = a.string(2)?;
    if username.is_empty() {
        return Err(a.error(2, "expects username string"));
    }
    let mut ids = Vec::new();
    if let Some(t) = a.opt_table(3)? {
        for v in a.array(3, &t, "invalid user ids list")? {
            let s = match v {
                LuaValue::String(s) if !s.as_bytes().is_empty() => s.to_string_lossy(),
                _ => return Err(a.error(3, "each user id must be a string")),
            };
            let id = Uuid::parse_str(&s)
                .ok()
                .filter(|u| !u.is_nil())
                .ok_or_else(|| a.error(3, &format!("invalid user ID {s}")))?;
            if id == me {
                return Err(a.error(3, self_msg));
            }
            ids.push(id);
        }
    }
    let mut names = Vec::new();
    if let Some(t) = a.opt_table(4)? {
        for v in a.array(4, &t, "invalid username list")? {
            let s = match v {
                LuaValue::String(s) if !s.as_bytes().is_empty() => s.to_string_lossy(),
                _ => return Err(a.error(4, "each username must be a non-empty string")),
            };
            if s == username {
                return Err(a.error(4, self_msg));
            }
            names.push(s);
        }
    }
    Ok((me, username, ids, names))
}

/// A friend change's failure: Nakama raises "no valid ID or username was
/// provided" bare, the rest after `prefix`.
fn change_error(prefix: &str, e: kairos_core::error::ApiError) -> mlua::Error {
    if e.message == "no valid ID or username was provided" {
        mlua::Error::RuntimeError(e.message.into_owned())
    } else {
        server_error(prefix, e)
    }
}

/// A friend as Nakama's Lua lists one: `{user (with online), state,
/// update_time, metadata}`.
fn friend_table(lua: &Lua, nk: &Nk, f: &Friend) -> mlua::Result<Table> {
    let u = user(lua, &f.user)?;
    u.raw_set("online", nk.user_online(f.user.id))?;
    let t = lua.create_table()?;
    t.raw_set("state", f.state.as_i32())?;
    t.raw_set("update_time", f.update_time as f64)?;
    t.raw_set("user", u)?;
    let meta: serde_json::Value =
        serde_json::from_str(&f.metadata).unwrap_or(serde_json::json!({}));
    t.raw_set("metadata", convert::to_lua(lua, &meta)?)?;
    Ok(t)
}

pub fn add(m: &Module) -> mlua::Result<()> {
    m.async_fn("friends_list", |lua, current, a| async move {
        let me = Uuid::parse_str(&a.string(1)?)
            .map_err(|_| a.error(1, "expects user ID to be a valid identifier"))?;
        let limit = a.opt_int(2, 100)?;
        if !(1..=1000).contains(&limit) {
            return Err(a.error(2, "expects limit to be 1-1000"));
        }
        let state = match a.opt_int(3, -1)? {
            -1 => None,
            s if (0..=3).contains(&s) => Some(s as i32),
            _ => return Err(a.error(3, "expects state to be 0-3")),
        };
        let cursor = a.opt_string(4, "")?;
        let nk = current.nk("friends_list")?;
        let (friends, next) = nk
            .friends_list(me, limit as usize, state, &cursor)
            .await
            .map_err(|e| server_error("error while trying to list friends for a user", e))?;
        let list = lua.create_table_with_capacity(friends.len(), 0)?;
        for (i, f) in friends.iter().enumerate() {
            list.raw_set(i + 1, friend_table(&lua, &nk, f)?)?;
        }
        Ok((list, cursor_value(&lua, &next)?))
    })?;
    m.async_fn("friends_add", |_lua, current, a| async move {
        let (me, username, ids, names) = named(&a, "cannot add self as friend")?;
        if ids.is_empty() && names.is_empty() {
            return Ok(());
        }
        let meta = metadata(&a, 5, a.opt_table(5)?)?
            .map(|v| v.to_string())
            .unwrap_or_default();
        let nk = current.nk("friends_add")?;
        nk.friends_add(me, &username, ids, names, &meta)
            .await
            .map_err(|e| change_error("error adding friends", e))
    })?;
    m.async_fn("friends_delete", |_lua, current, a| async move {
        let (me, username, ids, names) = named(&a, "cannot delete self")?;
        if ids.is_empty() && names.is_empty() {
            return Ok(());
        }
        let nk = current.nk("friends_delete")?;
        nk.friends_delete(me, &username, ids, names)
            .await
            .map_err(|e| change_error("error deleting friends", e))
    })?;
    m.async_fn("friends_block", |_lua, current, a| async move {
        let (me, username, ids, names) = named(&a, "cannot block self")?;
        if ids.is_empty() && names.is_empty() {
            return Ok(());
        }
        let nk = current.nk("friends_block")?;
        nk.friends_block(me, &username, ids, names)
            .await
            .map_err(|e| change_error("error blocking friends", e))
    })?;
    m.async_fn("friends_of_friends_list", |lua, current, a| async move {
        let me = Uuid::parse_str(&a.string(1)?)
            .map_err(|_| a.error(1, "expects user ID to be a valid identifier"))?;
        let limit = a.opt_int(2, 100)?;
        if !(1..=1000).contains(&limit) {
            return Err(a.error(2, "expects limit to be 1-1000"));
        }
        let cursor = a.opt_string(3, "")?;
        let nk = current.nk("friends_of_friends_list")?;
        let (found, next) = nk
            .friends_of_friends_list(me, limit as usize, &cursor)
            .await
            .map_err(|e| {
                server_error(
                    "error while trying to list friends of friends for a user",
                    e,
                )
            })?;
        let list = lua.create_table_with_capacity(found.len(), 0)?;
        for (i, f) in found.iter().enumerate() {
            let u = user(&lua, &f.user)?;
            u.raw_set("online", nk.user_online(f.user.id))?;
            let t = lua.create_table()?;
            t.raw_set("referrer", f.referrer.to_string())?;
            t.raw_set("user", u)?;
            list.raw_set(i + 1, t)?;
        }
        Ok((list, cursor_value(&lua, &next)?))
    })?;
    m.async_fn("friend_metadata_update", |_lua, current, a| async move {
        let me = Uuid::parse_str(&a.string(1)?)
            .map_err(|_| a.error(1, "expects user ID to be a valid identifier"))?;
        let friend = Uuid::parse_str(&a.string(2)?)
            .map_err(|_| a.error(2, "expects user ID to be a valid identifier"))?;
        let meta = metadata(&a, 3, Some(a.table(3)?))?.unwrap_or_else(|| serde_json::json!({}));
        if !meta.is_object() {
            return Err(a.error(
                3,
                "failed to convert metadata: expects a table of key-value pairs",
            ));
        }
        let nk = current.nk("friend_metadata_update")?;
        nk.friend_metadata_update(me, friend, &meta.to_string())
            .await
            .map_err(|e| server_error("error updating friends metadata", e))
    })?;
    m.async_fn("users_get_friend_status", |lua, current, a| async move {
        let me = Uuid::parse_str(&a.string(1)?).map_err(|_| a.error(1, "invalid user id"))?;
        let list = a.table(2)?;
        let mut ids = Vec::new();
        for v in a.array(2, &list, "invalid user ids list")? {
            let s = match v {
                LuaValue::String(s) if !s.as_bytes().is_empty() => s.to_string_lossy(),
                _ => return Err(a.error(2, "each user id must be a string")),
            };
            ids.push(Uuid::parse_str(&s).map_err(|_| a.error(2, "invalid user id"))?);
        }
        let nk = current.nk("users_get_friend_status")?;
        let friends = nk
            .users_get_friend_status(me, ids)
            .await
            .map_err(|e| server_error("failed to get users friend status", e))?;
        let out = lua.create_table_with_capacity(friends.len(), 0)?;
        for (i, f) in friends.iter().enumerate() {
            out.raw_set(i + 1, friend_table(&lua, &nk, f)?)?;
        }
        Ok(out)
    })?;
    Ok(())
}
