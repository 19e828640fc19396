//! `match_create`, `match_get`, `match_list` and `match_signal`.

use mlua::{Lua, Table, Value as LuaValue};

use super::{Module, server_error};
use crate::lua::convert;
use crate::modules::MatchInfo;

pub fn add(m: &Module) -> mlua::Result<()> {
    m.async_fn("match_create", |_, current, a| async move {
        let module = a.string(1)?;
        if module.is_empty() {
            return Err(a.error(1, "expects module name"));
        }
        let params = match a.get(2) {
            LuaValue::Nil => serde_json::json!({}),
            LuaValue::Table(t) => match convert::to_json(&LuaValue::Table(t))? {
                serde_json::Value::Array(x) if x.is_empty() => serde_json::json!({}),
                j @ serde_json::Value::Object(_) => j,
                _ => return Err(a.error(2, "expects params to be nil or a table of key-value pairs")),
            },
            _ => return Err(a.error(2, "expects params to be nil or a table of key-value pairs")),
        };
        let nk = current.nk("match_create")?;
        nk.match_create(&module, &params)
            .await
            .map_err(|e| server_error("error creating match", e))
    })?;
    m.async_fn("match_get", |lua, current, a| async move {
        let id = a.string(1)?;
        let nk = current.nk("match_get")?;
        match nk
            .match_get(&id)
            .await
            .map_err(|e| server_error("failed to get match", e))?
        {
            Some(info) => Ok(LuaValue::Table(info_table(&lua, &info)?)),
            None => Ok(LuaValue::Nil),
        }
    })?;
    m.async_fn("match_list", |lua, current, a| async move {
        let limit = match a.get(1) {
            LuaValue::Nil => 1,
            _ => a.int(1)?,
        };
        let authoritative = match a.get(2) {
            LuaValue::Nil => false,
            LuaValue::Boolean(b) => b,
            _ => return Err(a.error(2, "expects authoritative true/false or nil")),
        };
        let label = a.opt_string(3, "")?;
        let min = match a.get(4) {
            LuaValue::Nil => None,
            _ => Some(a.int(4)?.max(0) as usize),
        };
        let max = match a.get(5) {
            LuaValue::Nil => None,
            _ => Some(a.int(5)?.max(0) as usize),
        };
        let query = a.opt_string(6, "")?;
        let nk = current.nk("match_list")?;
        let list = nk
            .match_list(
                limit.max(0) as usize,
                authoritative,
                (!label.is_empty()).then_some(label.as_str()),
                min,
                max,
                (!query.is_empty()).then_some(query.as_str()),
            )
            .await
            .map_err(|e| server_error("failed to list matches", e))?;
        let out = lua.create_table()?;
        for (i, m) in list.iter().enumerate() {
            out.raw_set(i + 1, info_table(&lua, m)?)?;
        }
        Ok(out)
    })?;
    m.async_fn("match_signal", |_, current, a| async move {
        let id = a.string(1)?;
        if id.is_empty() {
            return Err(a.error(1, "expects match id"));
        }
        let data = a.opt_string(2, "")?;
        let nk = current.nk("match_signal")?;
        nk.match_signal(&id, &data)
            .await
            .map_err(|e| server_error("failed to signal match", e))
    })?;
    Ok(())
}

fn info_table(lua: &Lua, m: &MatchInfo) -> mlua::Result<Table> {
    let t = lua.create_table()?;
    t.raw_set("match_id", m.match_id.as_str())?;
    t.raw_set("authoritative", m.authoritative)?;
    t.raw_set("label", m.label.as_str())?;
    t.raw_set("size", m.size as f64)?;
    t.raw_set("tick_rate", m.tick_rate)?;
    t.raw_set("handler_name", m.handler_name.as_str())?;
    Ok(t)
}
