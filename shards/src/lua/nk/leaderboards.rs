//! `leaderboard_create`, `leaderboard_delete`, `leaderboard_list`,
//! `leaderboards_get_id`, `leaderboard_record_write`,
//! `leaderboard_record_delete`, `leaderboard_records_list` and
//! `leaderboard_records_haystack`, with the arguments, words and tables
//! of Nakama's Lua module.

use mlua::{Lua, MultiValue, Table, Value as LuaValue};
use uuid::Uuid;

use super::groups::cursor_value;
use super::{Args, Module, server_error};
use crate::lua::convert;
use crate::modules::{LeaderboardInfo, LeaderboardRecord, LeaderboardRecordList};

/// Most ids one `leaderboards_get_id` or `tournaments_get_id` names
/// (Kairos's bound; Nakama has none).
pub(super) const MAX_GET_IDS: usize = 1000;

/// A board as Nakama's Lua listing returns it: `sort_order` as a string
/// (`"0"` ascending, `"1"` descending), the operator's lower-case name,
/// the resets as numbers when set.
fn leaderboard_table(lua: &Lua, b: &LeaderboardInfo) -> mlua::Result<Table> {
    let t = lua.create_table()?;
    t.raw_set("id", b.id.as_str())?;
    t.raw_set("authoritative", b.authoritative)?;
    t.raw_set("operator", b.operator.as_api_name())?;
    t.raw_set("sort_order", b.sort_order.as_i32().to_string())?;
    t.raw_set("metadata", metadata_value(lua, &b.metadata)?)?;
    t.raw_set("create_time", b.create_time as f64)?;
    if b.next_reset != 0 {
        t.raw_set("next_reset", b.next_reset as f64)?;
    }
    if b.prev_reset != 0 {
        t.raw_set("prev_reset", b.prev_reset as f64)?;
    }
    Ok(t)
}

/// Stored JSON-object metadata as a Lua table (`{}` when blank).
pub(crate) fn metadata_value(lua: &Lua, metadata: &str) -> mlua::Result<LuaValue> {
    let v: serde_json::Value = serde_json::from_str(metadata).unwrap_or(serde_json::json!({}));
    convert::to_lua(lua, &v)
}

/// The id list of a `*_get_id` call (Nakama's words name tournaments for
/// both kinds).
pub(super) fn id_list(a: &Args) -> mlua::Result<Vec<String>> {
    let Some(t) = a.opt_table(1)? else {
        return Err(a.error(1, "invalid tournament id list"));
    };
    let mut ids = Vec::new();
    for v in a.array(1, &t, "invalid tournament id data")? {
        match v {
            LuaValue::String(s) if !s.as_bytes().is_empty() => ids.push(s.to_string_lossy()),
            _ => return Err(a.error(1, "each tournament id must be a string")),
        }
    }
    if ids.len() > MAX_GET_IDS {
        return Err(a.error(1, &format!("expects at most {MAX_GET_IDS} IDs")));
    }
    Ok(ids)
}

/// The owner ids of a records listing (argument 2): `None` when absent,
/// `Some(empty)` when the table is empty (Nakama then returns an empty
/// table alone).
pub(super) fn owner_list(a: &Args) -> mlua::Result<Option<Vec<Uuid>>> {
    let Some(t) = a.opt_table(2)? else {
        return Ok(None);
    };
    let mut owners = Vec::new();
    for pair in t.pairs::<LuaValue, LuaValue>() {
        let (_, v) = pair?;
        let LuaValue::String(s) = v else {
            return Err(a.error(2, "expects each owner ID to be string"));
        };
        let id = Uuid::parse_str(&s.to_string_lossy())
            .map_err(|_| a.error(2, "expects each owner ID to be a valid identifier"))?;
        owners.push(id);
    }
    Ok(Some(owners))
}

/// A page of records as Nakama's Lua returns it: the records, the owner
/// records (unless `haystack`), the next and previous cursors (`nil` when
/// none) and the rank count.
pub(super) fn records_result(
    lua: &Lua,
    list: &LeaderboardRecordList,
    haystack: bool,
) -> mlua::Result<MultiValue> {
    let records = |rs: &[LeaderboardRecord]| -> mlua::Result<Table> {
        let t = lua.create_table_with_capacity(rs.len(), 0)?;
        for (i, r) in rs.iter().enumerate() {
            t.raw_set(i + 1, record_table(lua, r)?)?;
        }
        Ok(t)
    };
    let mut out = vec![LuaValue::Table(records(&list.records)?)];
    if !haystack {
        out.push(LuaValue::Table(records(&list.owner_records)?));
    }
    out.push(cursor_value(lua, &list.next_cursor)?);
    out.push(cursor_value(lua, &list.prev_cursor)?);
    out.push(LuaValue::Number(list.rank_count as f64));
    Ok(MultiValue::from_vec(out))
}

/// The arguments of a haystack call after the id: the owner (2), the
/// limit (3, default 10, 1 to 100), the cursor (4) and the expiry (5).
pub(super) fn haystack_args(a: &Args) -> mlua::Result<(Uuid, usize, String, i64)> {
    let owner = Uuid::parse_str(&a.string(2)?)
        .map_err(|_| a.error(2, "expects user ID to be a valid identifier"))?;
    let limit = a.opt_int(3, 10)?;
    if !(1..=100).contains(&limit) {
        return Err(a.error(3, "limit must be 1-100"));
    }
    let cursor = a.opt_string(4, "")?;
    let expiry = a.opt_int(5, 0)?;
    if expiry < 0 {
        return Err(a.error(
            5,
            "expiry should be time since epoch in seconds and has to be a positive integer",
        ));
    }
    Ok((owner, limit as usize, cursor, expiry))
}

/// The limit (3, default 0: no page, up to 10,000), cursor (4) and
/// expiry (5) of a records listing.
pub(super) fn list_args(a: &Args) -> mlua::Result<(usize, String, i64)> {
    let limit = a.opt_int(3, 0)?;
    if !(0..=10_000).contains(&limit) {
        return Err(a.error(3, "expects limit to be 0-10000"));
    }
    let cursor = a.opt_string(4, "")?;
    let expiry = a.opt_int(5, 0)?;
    Ok((limit as usize, cursor, expiry))
}

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

/// An optional operator override argument (`best`, `set`, `incr`, ...)
/// as `api.Operator`'s number; `None` when absent or empty.
pub(super) fn override_arg(a: &Args, n: usize) -> mlua::Result<Option<i32>> {
    let over = a.opt_string(n, "")?;
    if over.is_empty() {
        return Ok(None);
    }
    override_number(&over)
        .map(Some)
        .ok_or_else(|| a.error(n, "invalid operator"))
}

/// `api.Operator`'s number of an override.
fn override_number(s: &str) -> Option<i32> {
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
    m.async_fn("leaderboard_list", |lua, current, a| async move {
        let limit = a.opt_int(1, 10)?;
        if !(1..=100).contains(&limit) {
            return Err(a.error(1, "limit must be 1-100"));
        }
        let cursor = a.opt_string(2, "")?;
        let nk = current.nk("leaderboard_list")?;
        let (boards, next) = nk
            .leaderboard_list(limit as usize, &cursor)
            .await
            .map_err(|e| {
                if e.message == "expects cursor to be valid when provided" {
                    a.error(2, &e.message)
                } else {
                    server_error("error listing leaderboards", e)
                }
            })?;
        let t = lua.create_table_with_capacity(boards.len(), 0)?;
        for (i, b) in boards.iter().enumerate() {
            t.raw_set(i + 1, leaderboard_table(&lua, b)?)?;
        }
        Ok((t, cursor_value(&lua, &next)?))
    })?;
    m.async_fn("leaderboards_get_id", |lua, current, a| async move {
        let ids = id_list(&a)?;
        let t = lua.create_table()?;
        if ids.is_empty() {
            return Ok(t);
        }
        let nk = current.nk("leaderboards_get_id")?;
        for (i, b) in nk.leaderboards_get_id(&ids).await.iter().enumerate() {
            t.raw_set(i + 1, leaderboard_table(&lua, b)?)?;
        }
        Ok(t)
    })?;
    m.async_fn("leaderboard_records_list", |lua, current, a| async move {
        let id = a.string(1)?;
        if id.is_empty() {
            return Err(a.error(1, "expects a leaderboard ID string"));
        }
        let owners = owner_list(&a)?;
        if owners.as_ref().is_some_and(Vec::is_empty) {
            return Ok(MultiValue::from_vec(vec![LuaValue::Table(
                lua.create_table()?,
            )]));
        }
        let (limit, cursor, expiry) = list_args(&a)?;
        let nk = current.nk("leaderboard_records_list")?;
        let list = nk
            .leaderboard_records_list(&id, owners.unwrap_or_default(), limit, &cursor, expiry)
            .await
            .map_err(|e| server_error("error listing leaderboard records", e))?;
        records_result(&lua, &list, false)
    })?;
    m.async_fn(
        "leaderboard_records_haystack",
        |lua, current, a| async move {
            let id = a.string(1)?;
            if id.is_empty() {
                return Err(a.error(1, "expects a leaderboard ID string"));
            }
            let (owner, limit, cursor, expiry) = haystack_args(&a)?;
            let nk = current.nk("leaderboard_records_haystack")?;
            let list = nk
                .leaderboard_records_haystack(&id, owner, limit, &cursor, expiry)
                .await
                .map_err(|e| server_error("error listing leaderboard records haystack", e))?;
            records_result(&lua, &list, true)
        },
    )?;
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
        let score = a.opt_int(4, 0)?;
        if score < 0 {
            return Err(a.error(4, "expects score to be >= 0"));
        }
        let subscore = a.opt_int(5, 0)?;
        if subscore < 0 {
            // Nakama names the fourth argument here too.
            return Err(a.error(4, "expects subscore to be >= 0"));
        }
        let meta = metadata(&a, 6, a.opt_table(6)?)?;
        let override_operator = override_arg(&a, 7)?;
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
    m.async_fn(
        "leaderboard_records_list_cursor_from_rank",
        |_lua, current, a| async move {
            let id = a.string(1)?;
            if id.is_empty() {
                return Err(a.error(1, "expects a leaderboard ID string"));
            }
            let rank = a.int(2)?;
            if rank < 1 {
                return Err(a.error(2, "invalid rank - must be > 1"));
            }
            let expiry = a.opt_int(3, 0)?;
            let nk = current.nk("leaderboard_records_list_cursor_from_rank")?;
            nk.leaderboard_records_list_cursor_from_rank(&id, rank, expiry)
                .await
                .map_err(|e| mlua::Error::RuntimeError(e.message.to_string()))
        },
    )?;
    m.async_fn("leaderboard_ranks_disable", |_lua, current, a| async move {
        let id = a.string(1)?;
        if id.is_empty() {
            return Err(a.error(1, "expects a leaderboard ID string"));
        }
        let nk = current.nk("leaderboard_ranks_disable")?;
        nk.leaderboard_ranks_disable(&id)
            .await
            .map_err(|e| server_error("error disabling leaderboard ranks", e))
    })?;
    Ok(())
}
