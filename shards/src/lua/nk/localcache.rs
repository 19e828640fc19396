//! `localcache_get`, `localcache_put`, `localcache_delete`,
//! `localcache_clear`: Nakama's local cache, one per node and shared by
//! every state ([`Node`](crate::lua::node::Node)). A value is kept
//! converted (Lua states cannot share values), so `localcache_get`
//! returns a copy of a table, not the table that was put.

use std::time::Duration;

use mlua::{Lua, Table, Value as LuaValue};

use super::Module;
use crate::lua::node::{Cached, TooLarge};

/// How deep a cached table may nest (a table holding itself is refused
/// here too).
const MAX_DEPTH: usize = 32;

pub fn add(m: &Module) -> mlua::Result<()> {
    m.sync("localcache_get", |lua, current, a| {
        let key = a.string(1)?;
        if key.is_empty() {
            return Err(a.error(1, "expects key string"));
        }
        match current.program.node.cache.get(&key) {
            Some(v) => to_lua(lua, &v),
            None => Ok(a.get(2)),
        }
    })?;
    m.sync("localcache_put", |_, current, a| {
        let key = a.string(1)?;
        if key.is_empty() {
            return Err(a.error(1, "expects key string"));
        }
        let ttl = a.opt_int(3, 0)?;
        if ttl < 0 {
            return Err(a.error(3, "ttl must be 0 or more"));
        }
        let node = &current.program.node;
        let max = node.config.kairos.runtime.lua_localcache_max_bytes;
        let mut budget = max;
        let value = from_lua(&a.get(2), 0, &mut budget).map_err(|why| a.error(2, why))?;
        let ttl = (ttl > 0).then(|| Duration::from_secs(ttl as u64));
        node.cache
            .put(&key, value, ttl)
            .map_err(|TooLarge| a.error(2, "value too large for the local cache"))
    })?;
    m.sync("localcache_delete", |_, current, a| {
        let key = a.string(1)?;
        if key.is_empty() {
            return Err(a.error(1, "expects key string"));
        }
        current.program.node.cache.delete(&key);
        Ok(())
    })?;
    m.sync("localcache_clear", |_, current, _| {
        current.program.node.cache.clear();
        Ok(())
    })?;
    Ok(())
}

/// A Lua value as the cache keeps it, its size counted against `budget`.
fn from_lua(v: &LuaValue, depth: usize, budget: &mut usize) -> Result<Cached, &'static str> {
    const TOO_LARGE: &str = "value too large for the local cache";
    let mut spend = |n: usize| -> Result<(), &'static str> {
        *budget = budget.checked_sub(n).ok_or(TOO_LARGE)?;
        Ok(())
    };
    spend(16)?;
    Ok(match v {
        LuaValue::Nil => Cached::Nil,
        LuaValue::Boolean(b) => Cached::Bool(*b),
        LuaValue::Integer(i) => Cached::Int(*i),
        LuaValue::Number(f) => Cached::Number(*f),
        LuaValue::String(s) => {
            let bytes = s.as_bytes().to_vec();
            spend(bytes.len())?;
            Cached::String(bytes)
        }
        LuaValue::Table(t) => {
            if depth >= MAX_DEPTH {
                return Err("table nested too deep for the local cache");
            }
            let mut pairs = Vec::new();
            for pair in t.pairs::<LuaValue, LuaValue>() {
                let (k, v) = pair.map_err(|_| "table cannot be read")?;
                let k = from_lua(&k, depth + 1, budget)?;
                let v = from_lua(&v, depth + 1, budget)?;
                pairs.push((k, v));
            }
            Cached::Table(pairs)
        }
        _ => return Err("expects a nil, boolean, number, string or table value"),
    })
}

/// A cached value as a fresh Lua value.
fn to_lua(lua: &Lua, v: &Cached) -> mlua::Result<LuaValue> {
    Ok(match v {
        Cached::Nil => LuaValue::Nil,
        Cached::Bool(b) => LuaValue::Boolean(*b),
        Cached::Int(i) => LuaValue::Integer(*i),
        Cached::Number(f) => LuaValue::Number(*f),
        Cached::String(s) => LuaValue::String(lua.create_string(s)?),
        Cached::Table(pairs) => {
            let t: Table = lua.create_table_with_capacity(0, pairs.len())?;
            for (k, v) in pairs {
                t.raw_set(to_lua(lua, k)?, to_lua(lua, v)?)?;
            }
            LuaValue::Table(t)
        }
    })
}
