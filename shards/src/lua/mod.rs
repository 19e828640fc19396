//! The Lua runtime: Nakama's Lua modules, run by Kairos.
//!
//! Every `*.lua` file of `runtime.path` (default `<data_dir>/modules`) is a
//! module named after its file (`clientrpc.lua` is `clientrpc`), as in
//! Nakama; `require` finds the others by name, and `require("nakama")` is
//! the `nk` module. At startup the modules run once in a state of their own
//! ([`install`]) to learn what they register (`nk.register_rpc` and the
//! hooks); each registration becomes an entry of the same [`Modules`]
//! registry the Rust runtime fills, so the rest of the server does not
//! know which language a function is in. A module that fails stops the
//! server's start, with its file and line.
//!
//! Calls run in a state of the calling shard's own pool ([`pool`]): each
//! state has run every module, states are made on a shard when it first
//! needs them, and a state never leaves the shard that made it (mlua
//! without its `send` feature: a `Lua` is not `Send`). After a state's
//! modules have run its globals are read-only ([`state`]), as Nakama's
//! `runtime.lua_read_only_globals` makes them. Each call is held to an
//! instruction budget and each state to a memory cap ([`limits`]).
//!
//! The registry's Lua functions hold the node's [`ProgramCell`], not a
//! program: with `kairos.runtime.lua_reload` on, [`reload`] swaps in a
//! new [`Program`] when the files change and the new modules load. A
//! call runs on the program current when it starts, to its end; a match
//! keeps the program it was created with until it ends; a reload that
//! fails changes nothing.
//!
//! Files, one concept each: [`loader`] reads the modules, [`cell`] holds
//! the current program and [`reload`] replaces it, [`state`] makes
//! and runs a state (libraries, `require`, frozen globals, calls),
//! [`pool`] holds a shard's states, [`context`] builds the `ctx` table a
//! function gets, [`convert`] maps Lua values to JSON and back,
//! [`register`] is what a Lua function looks like to the registry,
//! [`matches`] runs authoritative matches written in Lua, [`node`] holds
//! what every state of the node shares (the local cache, custom metrics),
//! and [`nk`] is the `nk` module by area.

mod cell;
mod context;
pub(crate) mod convert;
pub(crate) mod limits;
mod loader;
mod matches;
mod nk;
pub(crate) mod node;
mod pool;
mod register;
mod reload;
mod state;

use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use kairos_core::config::Config;

use crate::modules::Modules;

pub(crate) use cell::ProgramCell;
pub(crate) use loader::Source;

/// The modules of a node and how their states run: read at startup (and
/// again at each reload, as a new program), shared (read-only) by every
/// shard's pool.
pub(crate) struct Program {
    /// 1 for the startup program, one more for each reload: a pool drops
    /// its states of older programs.
    pub generation: u64,
    /// The modules, sorted by name: the order they run in.
    pub modules: Vec<Source>,
    pub limits: limits::Limits,
    /// States a shard makes when it first runs Lua code.
    pub min_states: usize,
    /// Most states a shard holds.
    pub max_states: usize,
    /// Whether `nk.run_once`'s function has run on this node: shared by
    /// every program of the node, so a reload does not run it again.
    pub once: Arc<AtomicBool>,
    /// What the registry sends to Lua (the startup program's
    /// registrations). A reloaded program that no longer registers one of
    /// them answers it with a stand-in ([`state`]); empty at startup.
    pub routed: Arc<state::Registrations>,
    /// The RPC ids (lower-cased, sorted) this program registers that the
    /// registry does not have: a reload's new RPCs, which the registry's
    /// fallback serves.
    pub added_rpcs: Vec<String>,
    /// What every state of the node shares (the local cache, custom
    /// metrics, the configuration), kept across reloads.
    pub node: Arc<node::Node>,
}

impl Program {
    /// The next program of a node: `sources` run with this one's limits,
    /// answering for `routed` and serving `added_rpcs`.
    fn next(
        &self,
        sources: Vec<Source>,
        routed: Arc<state::Registrations>,
        added_rpcs: Vec<String>,
    ) -> Program {
        Program {
            generation: self.generation + 1,
            modules: sources,
            limits: self.limits,
            min_states: self.min_states,
            max_states: self.max_states,
            once: self.once.clone(),
            routed,
            added_rpcs,
            node: self.node.clone(),
        }
    }
}

/// Loads the Lua modules of `config`'s `runtime.path` (none when the
/// directory does not exist) and registers their functions in `modules`.
/// The error names the module's file and line. With
/// `kairos.runtime.lua_reload` on, starts the thread that reloads them
/// when their files change ([`reload`]).
pub(crate) fn install(config: &Config, modules: &mut Modules) -> Result<usize, String> {
    let dir = std::path::PathBuf::from(config.runtime.modules_dir(&config.data_dir));
    let reloading = config.kairos.runtime.lua_reload;
    let seen = reload::Snapshot::take(&dir);
    let sources = loader::read_dir(&dir)?;
    // Without modules nothing is registered, unless reloads may bring
    // some (their RPCs then need a restart, as reload.rs says).
    if sources.is_empty() && !reloading {
        return Ok(0);
    }
    let program = Arc::new(Program {
        generation: 1,
        modules: sources,
        limits: limits::Limits {
            instructions: config.kairos.runtime.lua_instruction_limit,
            memory: config.kairos.runtime.lua_memory_limit_bytes,
        },
        min_states: config.runtime.lua_min_count.max(1),
        max_states: config.runtime.lua_max_count.max(1),
        once: Arc::new(AtomicBool::new(false)),
        routed: Arc::new(state::Registrations::default()),
        added_rpcs: Vec::new(),
        node: Arc::new(node::Node::new(config)),
    });
    modules.set_lua_node(program.node.clone());
    let count = program.modules.len();
    // The startup state: no shard runs yet, so calls into the server fail
    // while it loads (as `nk.run_once` is the place for them).
    let vm = futures_lite::future::block_on(state::Vm::new(program.clone(), None))?;
    let found = vm
        .registrations()
        .map_err(|e| format!("Lua modules: {e}"))?;
    let cell = Arc::new(ProgramCell::new(program));
    let routed = found.clone();
    register::install(&cell, found, modules)?;
    let handlers =
        matches::install(&cell, &vm, modules).map_err(|e| format!("Lua modules: {e}"))?;
    drop(vm);
    if reloading {
        modules.set_lua_program(cell.clone());
        // RPC ids a reload adds are served through the registry's
        // fallback; the rest of what it adds waits for a restart.
        let find = cell.clone();
        modules.set_rpc_fallback(Arc::new(move |id: &str| {
            let id = id.to_lowercase();
            find.current().added_rpcs.binary_search(&id).ok()?;
            Some(register::rpc(&find, id))
        }));
        reload::watch(reload::Watch {
            cell,
            dir,
            seen,
            every: std::time::Duration::from_millis(config.kairos.runtime.lua_reload_interval_ms),
            routed: Arc::new(routed),
            handlers,
        });
    }
    Ok(count)
}
