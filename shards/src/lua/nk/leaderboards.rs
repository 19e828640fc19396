//! `leaderboard_create`, `leaderboard_delete`, `leaderboard_record_write`
//! and `leaderboard_record_delete`, with the arguments and words of
//! Nakama's Lua module.

use mlua::{Table, Value as LuaValue};

use super::{Args, Module, server_error};
use crate::lua::convert;
use crate::modules::LeaderboardRecord;

/// Nakama's Lua names of a sort order, as Kairos's server API spells them.
pub(super) fn sort_order(s: &str) -> Option<&'static str> {
    match s {
        "asc" | "ascending" => Some("asc"),
        "desc" | "descending" => Some("desc"),
        _ => None,
    }
}

/// Nakama's Lua names of an operator, as Kairos's server API spells them.
pub(super) fn operator(s: &str) -> Option<&'static str> {
    match s {
        "best" => Some("best"),
        "set" => Some("set"),
        "incr" | "increment" => Some("incr"),
        "decr" | "decrement" => Some("decr"),
        _ => None,
    }
}

/// `api.Operator`'s number of an override.
pub(super) fn override_number(s: &str) -> Option<i32> {
    Some(match operator(s)? {
        "best" => 1,
        "set" => 2,
        "incr" => 3,
        _ => 4,
    })
}

/// A metadata table as JSON (an empty table is `{}`).
pub(super) fn metadata(
    a: &Args,
    n: usize,
    t: Option<Table>,
) -> mlua::Result<Option<serde_json::Value>> {
    let Some(t) = t else { return Ok(None) };
    match convert::to_json(&LuaValue::Table(t)) {
        Ok(serde_json::Value::Array(x)) if x.is_empty() => Ok(Some(serde_json::json!({}))),
        Ok(v) => Ok(Some(v)),
        Err(e) => Err(a.error(
            n,
            &format!(
                "failed to convert metadata: {}",
                crate::lua::state::message(&e)
            ),
        )),
    }
}

pub(super) fn record_table(lua: &mlua::Lua, r: &LeaderboardRecord) -> mlua::Result<Table> {
    let t = lua.create_table()?;
    t.raw_set("leaderboard_id", r.leaderboard_id.as_str())?;
    t.raw_set("owner_id", r.owner_id.to_string())?;
    if let Some(u) = &r.username {
        t.raw_set("username", u.as_str())?;
    }
    t.raw_set("score", r.score)?;
    t.raw_set("subscore", r.subscore)?;
    t.raw_set("num_score", r.num_score)?;
    t.raw_set("max_num_score", r.max_num_score)?;
    let meta: serde_json::Value =
        serde_json::from_str(&r.metadata).unwrap_or(serde_json::Value::Null);
    t.raw_set("metadata", convert::to_lua(lua, &meta)?)?;
    t.raw_set("create_time", r.create_time)?;
    t.raw_set("update_time", r.update_time)?;
    if r.expiry_time != 0 {
        t.raw_set("expiry_time", r.expiry_time)?;
    }
    if r.rank != 0 {
        t.raw_set("rank", r.rank)?;
    }
    Ok(t)
}

pub fn add(m: &Module) -> mlua::Result<()> {
    m.async_fn("leaderboard_create", |_lua, current, a| async move {
        let id = a.string(1)?;
        if id.is_empty() {
            return Err(a.error(1, "expects a leaderboard ID string"));
        }
        let authoritative = a.opt_bool(2, false)?;
        let sort = sort_order(&a.opt_string(3, "desc")?)
            .ok_or_else(|| a.error(3, "expects sort order to be 'asc' or 'desc'"))?;
        let op = operator(&a.opt_string(4, "best")?)
            .ok_or_else(|| a.error(4, "expects operator to be 'best', 'set', 'decr' or 'incr'"))?;
        let reset = a.opt_string(5, "")?;
        let meta = metadata(&a, 6, a.opt_table(6)?)?.unwrap_or(serde_json::Value::Null);
        let enable_ranks = a.opt_bool(7, false)?;
        let nk = current.nk("leaderboard_create")?;
        nk.leaderboard_create(&id, authoritative, sort, op, &reset, meta, enable_ranks)
            .await
            .map_err(|e| server_error("error creating leaderboard", e))?;
        Ok(())
    })?;
    m.async_fn("leaderboard_delete", |_lua, current, a| async move {
        let id = a.string(1)?;
        if id.is_empty() {
            return Err(a.error(1, "expects a leaderboard ID string"));
        }
        let nk = current.nk("leaderboard_delete")?;
        nk.leaderboard_delete(&id)
            .await
            .map_err(|e| server_error("error deleting leaderboard", e))?;
        Ok(())
    })?;
    m.async_fn("leaderboard_record_write", |lua, current, a| async move {
        let id = a.string(1)?;
        if id.is_empty() {
            return Err(a.error(1, "expects a leaderboard ID string"));
        }
        let owner = a.uuid(
            2,
            "expects owner ID to be a valid identifier",
            "expects owner ID to be a valid identifier",
        )?;
        let username = a.opt_string(3, "")?;
        let score = match a.get(4) {
            LuaValue::Nil => 0,
            _ => a.int(4)?,
        };
        if score < 0 {
            return Err(a.error(4, "expects score to be >= 0"));
        }
        let subscore = match a.get(5) {
            LuaValue::Nil => 0,
            _ => a.int(5)?,
        };
        if subscore < 0 {
            // Nakama names the fourth argument here too.
            return Err(a.error(4, "expects subscore to be >= 0"));
        }
        let meta = metadata(&a, 6, a.opt_table(6)?)?;
        let over = a.opt_string(7, "")?;
        let override_operator = if over.is_empty() {
            None
        } else {
            Some(override_number(&over).ok_or_else(|| a.error(7, "invalid operator"))?)
        };
        let nk = current.nk("leaderboard_record_write")?;
        let record = nk
            .leaderboard_record_write(
                &id,
                owner,
                &username,
                score,
                subscore,
                meta,
                override_operator,
            )
            .await
            .map_err(|e| server_error("error writing leaderboard record", e))?;
        record_table(&lua, &record)
    })?;
    m.async_fn("leaderboard_record_delete", |_lua, current, a| async move {
        let id = a.string(1)?;
        if id.is_empty() {
            return Err(a.error(1, "expects a leaderboard ID string"));
        }
        let owner = a.uuid(
            2,
            "expects owner ID to be a valid identifier",
            "expects owner ID to be a valid identifier",
        )?;
        let nk = current.nk("leaderboard_record_delete")?;
        nk.leaderboard_record_delete(&id, owner)
            .await
            .map_err(|e| server_error("error deleting leaderboard record", e))?;
        Ok(())
    })?;
    Ok(())
}
