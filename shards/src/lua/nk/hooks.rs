//! `register_rpc`, `register_req_before/after`, `register_rt_before/after`,
//! `register_matchmaker_matched`, `register_leaderboard_reset`,
//! `register_tournament_end`, `register_tournament_reset`, `register_shutdown`
//! and `run_once`. A registration stores the
//! function in its state's callbacks table; the startup state's table is
//! what the registry learns, and each pool state finds its own copy there
//! at call time.

use std::sync::atomic::Ordering;

use mlua::{Function, Table};

use super::Module;

pub fn add(m: &Module) -> mlua::Result<()> {
    m.sync("register_rpc", |lua, _, a| {
        let f = a.function(1)?;
        let id = a.string(2)?;
        if id.is_empty() {
            return Err(a.error(2, "expects rpc id"));
        }
        store(lua, "rpc", &id.to_lowercase(), f)
    })?;
    for (name, kind, prefix, empty) in [
        (
            "register_req_before",
            "before",
            "api:",
            "expects method name",
        ),
        ("register_req_after", "after", "api:", "expects method name"),
        (
            "register_rt_before",
            "before",
            "rt:",
            "expects message name",
        ),
        ("register_rt_after", "after", "rt:", "expects message name"),
    ] {
        m.sync(name, move |lua, _, a| {
            let f = a.function(1)?;
            let id = a.string(2)?;
            if id.is_empty() {
                return Err(a.error(2, empty));
            }
            store(lua, kind, &format!("{prefix}{}", id.to_lowercase()), f)
        })?;
    }
    // One function each, kept at the callbacks table's top level; a
    // second registration replaces the first, as in Nakama.
    for (name, key) in [
        ("register_matchmaker_matched", "matchmaker"),
        ("register_leaderboard_reset", "leaderboard_reset"),
        ("register_tournament_end", "tournament_end"),
        ("register_tournament_reset", "tournament_reset"),
        ("register_shutdown", "shutdown"),
    ] {
        m.sync(name, move |lua, _, a| {
            let f = a.function(1)?;
            let cb: Table = lua.named_registry_value("kairos.callbacks")?;
            cb.raw_set(key, f)
        })?;
    }
    m.async_fn("run_once", |lua, current, a| async move {
        let f = a.function(1)?;
        // Runs in the first state a shard makes, once per node; the
        // startup state has no server to give it.
        let Ok(nk) = current.nk("run_once") else {
            return Ok(());
        };
        if current.program.once.swap(true, Ordering::SeqCst) {
            return Ok(());
        }
        let ctx = super::super::context::server(nk);
        let t = super::super::context::table(&lua, &ctx, "run_once")?;
        f.call_async::<()>(t).await.map_err(|e| {
            mlua::Error::RuntimeError(format!(
                "error in run_once function: {}",
                super::super::state::message(&e)
            ))
        })
    })?;
    Ok(())
}

fn store(lua: &mlua::Lua, kind: &str, key: &str, f: Function) -> mlua::Result<()> {
    let cb: Table = lua.named_registry_value("kairos.callbacks")?;
    let t: Table = cb.raw_get(kind)?;
    t.raw_set(key, f)
}
