//! `party_list(limit, open, show_hidden, query, cursor)`: Nakama's Lua
//! party listing, with its table (the party id under `match_id`, the size
//! under `maxSize`, as Nakama's Lua names them) and a cursor, `nil` at the
//! end.

use mlua::Value as LuaValue;

use super::{Module, server_error};

pub fn add(m: &Module) -> mlua::Result<()> {
    m.async_fn("party_list", |lua, current, a| async move {
        let limit = a.opt_int(1, 10)?;
        if !(1..=100).contains(&limit) {
            return Err(a.error(1, "expects limit to be 1-100"));
        }
        let open = match a.get(2) {
            LuaValue::Nil => None,
            LuaValue::Boolean(b) => Some(b),
            _ => return Err(a.error(2, "expects open true/false or nil")),
        };
        let show_hidden = a.bool(3)?;
        let query = a.opt_string(4, "")?;
        let cursor = a.opt_string(5, "")?;
        let nk = current.nk("party_list")?;
        let (parties, cursor) = nk
            .party_list(limit as usize, open, show_hidden, &query, &cursor)
            .await
            .map_err(|e| server_error("failed to list parties", e))?;
        let out = lua.create_table()?;
        for (i, p) in parties.iter().enumerate() {
            let t = lua.create_table()?;
            t.raw_set("match_id", p.party_id.as_str())?;
            t.raw_set("open", p.open)?;
            t.raw_set("maxSize", f64::from(p.max_size))?;
            t.raw_set("label", p.label.as_str())?;
            out.raw_set(i + 1, t)?;
        }
        let cursor = if cursor.is_empty() {
            LuaValue::Nil
        } else {
            LuaValue::String(lua.create_string(&cursor)?)
        };
        Ok((out, cursor))
    })
}
