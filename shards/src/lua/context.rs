//! The `ctx` table a Lua function gets first, with Nakama's keys
//! (`user_id`, `username`, `vars`, `session_id`, `execution_mode`, ...).

use mlua::{Lua, Table};

use super::convert;
use crate::modules::Context;

/// `ctx` for a call of `mode` (`"rpc"`, `"before"`, `"after"`,
/// `"matchmaker"`, `"run_once"`).
pub fn table(lua: &Lua, ctx: &Context, mode: &str) -> mlua::Result<Table> {
    let t = lua.create_table()?;
    t.raw_set("env", super::nk::env_table(lua, ctx.nk.config())?)?;
    t.raw_set("execution_mode", mode)?;
    t.raw_set("node", ctx.nk.node())?;
    t.raw_set("version", env!("CARGO_PKG_VERSION"))?;
    let headers = lua.create_table()?;
    for (k, v) in &ctx.headers {
        let list: Table = match headers.raw_get::<Option<Table>>(k.as_str())? {
            Some(l) => l,
            None => {
                let l = lua.create_table()?;
                headers.raw_set(k.as_str(), l.clone())?;
                l
            }
        };
        list.raw_set(list.raw_len() + 1, v.as_str())?;
    }
    t.raw_set("headers", headers)?;
    let query = lua.create_table()?;
    for (k, v) in &ctx.query {
        let list: Table = match query.raw_get::<Option<Table>>(k.as_str())? {
            Some(l) => l,
            None => {
                let l = lua.create_table()?;
                query.raw_set(k.as_str(), l.clone())?;
                l
            }
        };
        list.raw_set(list.raw_len() + 1, v.as_str())?;
    }
    t.raw_set("query_params", query)?;
    if let Some(user) = ctx.user_id {
        t.raw_set("user_id", user.to_string())?;
        t.raw_set("username", ctx.username.as_str())?;
        t.raw_set(
            "vars",
            convert::string_map(lua, ctx.vars.iter().map(|(k, v)| (k.as_str(), v.as_str())))?,
        )?;
        t.raw_set("user_session_exp", ctx.expiry as f64)?;
        if let Some(session) = ctx.session_id {
            t.raw_set("session_id", session.to_string())?;
        }
        if !ctx.lang.is_empty() {
            t.raw_set("lang", ctx.lang.as_str())?;
        }
    }
    if let Some(ip) = ctx.client_ip {
        t.raw_set("client_ip", ip.to_string())?;
    }
    Ok(t)
}

/// The context of a call the server makes with no caller (`run_once`).
pub fn server(nk: crate::modules::Nk) -> Context {
    Context {
        // No caller: the mode Rust code sees for the server's own calls.
        mode: crate::modules::CallMode::Matchmaker,
        user_id: None,
        username: String::new(),
        vars: Default::default(),
        expiry: 0,
        session_id: None,
        headers: Vec::new(),
        query: Vec::new(),
        client_ip: None,
        lang: String::new(),
        nk,
    }
}
