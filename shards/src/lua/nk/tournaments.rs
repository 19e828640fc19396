//! `tournament_create`, `tournament_delete`, `tournament_join` and
//! `tournament_record_write`, with the arguments, defaults and words of
//! Nakama's Lua module.

use mlua::Value as LuaValue;

use super::leaderboards::{metadata, operator, override_number, record_table, sort_order};
use super::{Args, Module, server_error};

/// An optional integer argument.
fn opt_int(a: &Args, n: usize, default: i64) -> mlua::Result<i64> {
    match a.get(n) {
        LuaValue::Nil => Ok(default),
        _ => a.int(n),
    }
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
        let duration = opt_int(&a, 5, 0)?;
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
        let category = opt_int(&a, 10, 0)?;
        if !(0..128).contains(&category) {
            return Err(a.error(10, "category must be 0-127"));
        }
        let start_time = opt_int(&a, 11, 0)?;
        if start_time < 0 {
            return Err(a.error(11, "startTime must be >= 0."));
        }
        let end_time = opt_int(&a, 12, 0)?;
        if end_time != 0 && end_time <= start_time {
            return Err(a.error(
                12,
                "endTime must be > startTime. Use 0 to indicate a tournament that never ends.",
            ));
        }
        let max_size = opt_int(&a, 13, 0)?;
        if max_size < 0 {
            return Err(a.error(13, "maxSize must be >= 0"));
        }
        let max_num_score = opt_int(&a, 14, 0)?;
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
    m.async_fn("tournament_record_write", |lua, current, a| async move {
        let id = tournament_id(&a)?;
        let owner = a.uuid(
            2,
            "expects owner ID to be a valid identifier",
            "expects owner ID to be a valid identifier",
        )?;
        let username = a.opt_string(3, "")?;
        let score = opt_int(&a, 4, 0)?;
        let subscore = opt_int(&a, 5, 0)?;
        let meta = metadata(&a, 6, a.opt_table(6)?)?;
        let over = a.opt_string(7, "")?;
        let override_operator = if over.is_empty() {
            None
        } else {
            Some(override_number(&over).ok_or_else(|| a.error(7, "invalid operator"))?)
        };
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
    Ok(())
}
