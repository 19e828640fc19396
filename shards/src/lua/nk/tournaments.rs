//! `tournament_create`, `tournament_delete`, `tournament_join`,
//! `tournaments_get_id`, `tournament_list`, `tournament_record_write`,
//! `tournament_record_delete`, `tournament_records_list`,
//! `tournament_records_haystack` and `tournament_add_attempt`, with the arguments, defaults, words and
//! tables of Nakama's Lua module.

use kairos_core::tournament::Tournament;
use mlua::{Lua, MultiValue, Table, Value as LuaValue};

use super::groups::cursor_value;
use super::leaderboards::{
    haystack_args, id_list, list_args, metadata, metadata_value, operator, override_arg,
    owner_list, record_table, records_result, sort_order,
};
use super::{Args, Module, server_error};

/// A tournament as Nakama's Lua returns it, seen now.
fn tournament_table(lua: &Lua, tn: &Tournament) -> mlua::Result<Table> {
    tournament_table_at(lua, tn, kairos_core::time::now_secs())
}

/// A tournament as Nakama's Lua gives it (calls and the end and reset
/// hooks), seen at `now`: `sort_order` as a string, the window and
/// `can_enter` of the period current then, the resets and end time `nil`
/// when unset.
pub(crate) fn tournament_table_at(lua: &Lua, tn: &Tournament, now: i64) -> mlua::Result<Table> {
    let w = tn.window(now);
    let lb = &tn.leaderboard;
    let t = lua.create_table()?;
    t.raw_set("id", lb.id.as_str())?;
    t.raw_set("title", tn.title.as_str())?;
    t.raw_set("description", tn.description.as_str())?;
    t.raw_set("category", tn.category)?;
    t.raw_set("sort_order", lb.sort_order.as_i32().to_string())?;
    t.raw_set("size", tn.size_at(now))?;
    t.raw_set("max_size", tn.max_size)?;
    t.raw_set("max_num_score", tn.max_num_score)?;
    t.raw_set("duration", tn.duration as f64)?;
    t.raw_set("start_active", w.start_active as f64)?;
    t.raw_set("end_active", w.end_active as f64)?;
    t.raw_set("can_enter", tn.can_enter(now))?;
    if w.expiry != 0 {
        t.raw_set("next_reset", w.expiry as f64)?;
    }
    let prev = tn.prev_reset(now);
    if prev != 0 {
        t.raw_set("prev_reset", prev as f64)?;
    }
    t.raw_set("metadata", metadata_value(lua, &lb.metadata)?)?;
    t.raw_set("create_time", lb.create_time as f64)?;
    t.raw_set("start_time", tn.start_time as f64)?;
    if tn.end_time != 0 {
        t.raw_set("end_time", tn.end_time as f64)?;
    }
    t.raw_set("operator", lb.operator.as_api_name())?;
    t.raw_set("join_required", tn.join_required)?;
    Ok(t)
}

fn tournaments_table(lua: &Lua, list: &[Tournament]) -> mlua::Result<Table> {
    let t = lua.create_table_with_capacity(list.len(), 0)?;
    for (i, tn) in list.iter().enumerate() {
        t.raw_set(i + 1, tournament_table(lua, tn)?)?;
    }
    Ok(t)
}

fn tournament_id(a: &Args) -> mlua::Result<String> {
    let id = a.string(1)?;
    if id.is_empty() {
        return Err(a.error(1, "expects a tournament ID string"));
    }
    Ok(id)
}

pub fn add(m: &Module) -> mlua::Result<()> {
    m.async_fn("tournament_create", |_lua, current, a| async move {
        let id = tournament_id(&a)?;
        // Nakama's Lua defaults: authoritative, ranks off.
        let authoritative = a.opt_bool(2, true)?;
        let sort = sort_order(&a.opt_string(3, "desc")?)
            .ok_or_else(|| a.error(3, "expects sort order to be 'asc' or 'desc'"))?;
        let op = operator(&a.opt_string(4, "best")?)
            .ok_or_else(|| a.error(4, "expects operator to be 'best', 'set', 'decr' or 'incr'"))?;
        let duration = a.opt_int(5, 0)?;
        if duration <= 0 {
            return Err(a.error(5, "duration must be > 0"));
        }
        let reset = a.opt_string(6, "")?;
        if !reset.is_empty() && kairos_core::leaderboard::Schedule::parse(&reset).is_err() {
            return Err(a.error(6, "expects reset schedule to be a valid CRON expression"));
        }
        let meta = match metadata(&a, 7, a.opt_table(7)?)? {
            Some(v) => v.to_string(),
            None => String::new(),
        };
        let title = a.opt_string(8, "")?;
        let description = a.opt_string(9, "")?;
        let category = a.opt_int(10, 0)?;
        if !(0..128).contains(&category) {
            return Err(a.error(10, "category must be 0-127"));
        }
        let start_time = a.opt_int(11, 0)?;
        if start_time < 0 {
            return Err(a.error(11, "startTime must be >= 0."));
        }
        let end_time = a.opt_int(12, 0)?;
        if end_time != 0 && end_time <= start_time {
            return Err(a.error(
                12,
                "endTime must be > startTime. Use 0 to indicate a tournament that never ends.",
            ));
        }
        let max_size = a.opt_int(13, 0)?;
        if max_size < 0 {
            return Err(a.error(13, "maxSize must be >= 0"));
        }
        let max_num_score = a.opt_int(14, 0)?;
        if max_num_score < 0 {
            return Err(a.error(14, "maxNumScore must be >= 0"));
        }
        let join_required = a.opt_bool(15, false)?;
        let enable_ranks = a.opt_bool(16, false)?;
        let nk = current.nk("tournament_create")?;
        nk.tournament_create(kairos_core::tournament::CreateArgs {
            id: &id,
            authoritative,
            sort_order: sort,
            operator: op,
            reset_schedule: &reset,
            metadata: &meta,
            title: &title,
            description: &description,
            category,
            start_time,
            end_time,
            duration,
            max_size,
            max_num_score,
            join_required,
            enable_ranks,
        })
        .await
        .map_err(|e| server_error("error creating tournament", e))
    })?;
    m.async_fn("tournament_delete", |_lua, current, a| async move {
        let id = tournament_id(&a)?;
        let nk = current.nk("tournament_delete")?;
        nk.tournament_delete(&id)
            .await
            .map_err(|e| server_error("error deleting tournament", e))
    })?;
    m.async_fn("tournament_join", |_lua, current, a| async move {
        let id = tournament_id(&a)?;
        let owner = a.uuid(
            2,
            "expects a owner ID string",
            "expects owner ID to be a valid identifier",
        )?;
        let username = a.string(3)?;
        if username.is_empty() {
            return Err(a.error(3, "expects a username string"));
        }
        let nk = current.nk("tournament_join")?;
        nk.tournament_join(&id, owner, &username)
            .await
            .map_err(|e| server_error("error joining tournament", e))
    })?;
    m.async_fn("tournaments_get_id", |lua, current, a| async move {
        let ids = id_list(&a)?;
        if ids.is_empty() {
            return lua.create_table();
        }
        let nk = current.nk("tournaments_get_id")?;
        let list = nk
            .tournaments_get_id(&ids)
            .await
            .map_err(|e| server_error("failed to get tournaments", e))?;
        tournaments_table(&lua, &list)
    })?;
    m.async_fn("tournament_list", |lua, current, a| async move {
        let category_start = a.opt_int(1, 0)?;
        if !(0..128).contains(&category_start) {
            return Err(a.error(1, "categoryStart must be 0-127"));
        }
        let category_end = a.opt_int(2, 0)?;
        if !(0..128).contains(&category_end) {
            return Err(a.error(2, "categoryEnd must be 0-127"));
        }
        if category_start > category_end {
            return Err(a.error(2, "categoryEnd must be >= categoryStart"));
        }
        // Nakama's defaults of -1 fail its own checks: both times are
        // needed.
        let start_time = a.opt_int(3, -1)?;
        if start_time < 0 {
            return Err(a.error(3, "startTime must be >= -1"));
        }
        let end_time = a.opt_int(4, -1)?;
        if end_time < 0 {
            return Err(a.error(4, "endTime must be >= -1"));
        }
        if start_time > end_time {
            return Err(a.error(4, "endTime must be >= startTime"));
        }
        let limit = a.opt_int(5, 10)?;
        if !(1..=100).contains(&limit) {
            return Err(a.error(5, "limit must be 1-100"));
        }
        let cursor = a.opt_string(6, "")?;
        let nk = current.nk("tournament_list")?;
        let (list, next) = nk
            .tournament_list(
                (category_start, category_end),
                (start_time, end_time),
                limit as usize,
                &cursor,
            )
            .await
            .map_err(|e| {
                if e.message == "expects cursor to be valid when provided" {
                    a.error(6, &e.message)
                } else {
                    server_error("error listing tournaments", e)
                }
            })?;
        Ok((tournaments_table(&lua, &list)?, cursor_value(&lua, &next)?))
    })?;
    m.async_fn("tournament_records_list", |lua, current, a| async move {
        let id = tournament_id(&a)?;
        let owners = owner_list(&a)?;
        if owners.as_ref().is_some_and(Vec::is_empty) {
            return Ok(MultiValue::from_vec(vec![LuaValue::Table(
                lua.create_table()?,
            )]));
        }
        let (limit, cursor, expiry) = list_args(&a)?;
        let nk = current.nk("tournament_records_list")?;
        let list = nk
            .tournament_records_list(&id, owners.unwrap_or_default(), limit, &cursor, expiry)
            .await
            .map_err(|e| server_error("error listing tournament records", e))?;
        records_result(&lua, &list, false)
    })?;
    m.async_fn(
        "tournament_records_haystack",
        |lua, current, a| async move {
            let id = tournament_id(&a)?;
            let (owner, limit, cursor, expiry) = haystack_args(&a)?;
            let nk = current.nk("tournament_records_haystack")?;
            let list = nk
                .tournament_records_haystack(&id, owner, limit, &cursor, expiry)
                .await
                .map_err(|e| server_error("error listing tournament records haystack", e))?;
            records_result(&lua, &list, true)
        },
    )?;
    m.async_fn("tournament_record_delete", |_lua, current, a| async move {
        let id = tournament_id(&a)?;
        let owner = a.uuid(
            2,
            "expects owner ID to be a valid identifier",
            "expects owner ID to be a valid identifier",
        )?;
        let nk = current.nk("tournament_record_delete")?;
        nk.tournament_record_delete(&id, owner)
            .await
            .map_err(|e| server_error("error deleting tournament record", e))
    })?;
    m.async_fn("tournament_record_write", |lua, current, a| async move {
        let id = tournament_id(&a)?;
        let owner = a.uuid(
            2,
            "expects owner ID to be a valid identifier",
            "expects owner ID to be a valid identifier",
        )?;
        let username = a.opt_string(3, "")?;
        let score = a.opt_int(4, 0)?;
        let subscore = a.opt_int(5, 0)?;
        let meta = metadata(&a, 6, a.opt_table(6)?)?;
        let override_operator = override_arg(&a, 7)?;
        let nk = current.nk("tournament_record_write")?;
        let record = nk
            .tournament_record_write(
                &id,
                owner,
                &username,
                score,
                subscore,
                meta,
                override_operator,
            )
            .await
            .map_err(|e| server_error("error writing tournament record", e))?;
        record_table(&lua, &record)
    })?;
    m.async_fn("tournament_ranks_disable", |_lua, current, a| async move {
        let id = a.string(1)?;
        if id.is_empty() {
            return Err(a.error(1, "expects a tournament ID string"));
        }
        let nk = current.nk("tournament_ranks_disable")?;
        nk.tournament_ranks_disable(&id)
            .await
            .map_err(|e| server_error("error disabling tournament ranks", e))
    })?;
    m.async_fn("tournament_add_attempt", |_lua, current, a| async move {
        let id = tournament_id(&a)?;
        let owner = a.uuid(
            2,
            "expects an owner ID string",
            "expects owner ID to be a valid identifier",
        )?;
        let count = a.int(3)?;
        if count == 0 {
            return Err(a.error(3, "expects an attempt count number != 0"));
        }
        let nk = current.nk("tournament_add_attempt")?;
        nk.tournament_add_attempt(&id, owner, count)
            .await
            .map_err(|e| server_error("error adding tournament attempts", e))
    })?;
    Ok(())
}
