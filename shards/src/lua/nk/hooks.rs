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
use crate::modules::StorageIndexDef;
use crate::modules::storage_index::MAX_FIELDS;

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
    m.sync("register_storage_index", |_, current, a| {
        let name = a.string(1)?;
        let collection = a.string(2)?;
        let key = a.string(3)?;
        let fields = strings(&a, 4)?;
        let sortable_fields = strings(&a, 5)?;
        let max_entries = a.int(6)?;
        let index_only = a.opt_bool(7, false)?;
        let fail =
            |e: String| mlua::Error::RuntimeError(format!("failed to create storage index: {e}"));
        let max_entries =
            StorageIndexDef::check(&name, &collection, max_entries, &fields, &sortable_fields)
                .map_err(fail)?;
        let mut defs = current.storage_indexes.borrow_mut();
        if defs.iter().any(|d| d.name == name) {
            return Err(fail(format!(
                "cannot create index: index with name {name:?} already exists"
            )));
        }
        defs.push(StorageIndexDef {
            name,
            collection,
            key,
            fields,
            sortable_fields,
            max_entries,
            index_only,
        });
        Ok(())
    })?;
    m.sync("register_storage_index_filter", |lua, _, a| {
        let name = a.string(1)?;
        let f = a.function(2)?;
        store(lua, "storage_index_filter", &name, f)
    })?;
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

/// A table of strings (argument `n`), as Nakama's `ForEach` reads it:
/// every value must be a string. At most [`MAX_FIELDS`] + 1 are kept, so
/// the index's own bound reports a longer list.
pub(super) fn strings(a: &super::Args, n: usize) -> mlua::Result<Vec<String>> {
    let t = a.table(n)?;
    let mut out = Vec::new();
    for pair in t.pairs::<mlua::Value, mlua::Value>() {
        let (_, v) = pair?;
        match v {
            mlua::Value::String(s) => {
                if out.len() <= MAX_FIELDS {
                    out.push(s.to_string_lossy());
                }
            }
            _ => return Err(a.error(n, "expects each field to be string")),
        }
    }
    Ok(out)
}
