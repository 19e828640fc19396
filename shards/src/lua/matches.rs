//! Authoritative matches written in Lua: a module whose table has
//! Nakama's `match_init`, `match_join_attempt`, `match_join`,
//! `match_leave`, `match_loop`, `match_terminate` and `match_signal`
//! registers as a match handler under its module name, so
//! `nk.match_create("match", params)` (from Lua or Rust) creates one.
//!
//! Each match gets a Lua state of its own, as in Nakama, made on the
//! match's owner shard when the match is created, from the program
//! current then, and dropped when it ends (a reload does not change a
//! running match's code); its callbacks run on that shard's tick clock
//! through [`MatchHandler::step`], with the server as `nk`: a callback
//! that calls an `nk` function which waits on the server (storage,
//! wallets, leaderboards...) is a coroutine the match resumes when the
//! answer comes, and the match runs no other callback meanwhile (later
//! ones, a tick included, wait their turn; further ticks are skipped).
//! One that does not wait finishes within the call, as a plain function.
//! `match_init` runs inside `match_create`, which answers once it has run,
//! so it has the whole `nk` too. The dispatcher's `broadcast_message`,
//! `broadcast_message_deferred`, `match_kick` and `match_label_update`
//! become the [`Dispatcher`]'s actions. An error in a callback is logged;
//! in `match_loop` it ends the match, in `match_join_attempt` it refuses
//! the join.

use std::cell::RefCell;
use std::rc::Rc;
use std::sync::Arc;

use bytes::Bytes;
use kairos_core::error::ApiError;
use mlua::{Function, Lua, MultiValue, Table, Value as LuaValue};
use uuid::Uuid;

use super::state::{Vm, message};
use super::{Program, ProgramCell};
use crate::modules::matches::WaitingFactory;
use crate::modules::{
    Answer, Call, Dispatcher, MatchContext, MatchHandler, MatchInit, MatchMessage, MatchPresence,
    Modules, Nk, Step,
};

/// The callbacks a match module must have.
const CALLBACKS: [&str; 7] = [
    "match_init",
    "match_join_attempt",
    "match_join",
    "match_leave",
    "match_loop",
    "match_terminate",
    "match_signal",
];

/// The modules of `vm` (a state of `program`) that are match modules.
pub fn names(program: &Program, vm: &Vm) -> mlua::Result<Vec<String>> {
    let package: Table = vm.lua.globals().get("package")?;
    let loaded: Table = package.get("loaded")?;
    let mut out = Vec::new();
    for m in &program.modules {
        if let LuaValue::Table(t) = loaded.get::<LuaValue>(m.name.as_str())?
            && is_match(&t)
        {
            out.push(m.name.clone());
        }
    }
    Ok(out)
}

fn is_match(t: &Table) -> bool {
    CALLBACKS
        .iter()
        .all(|c| matches!(t.get::<LuaValue>(*c), Ok(LuaValue::Function(_))))
}

/// Registers every loaded module that is a match module (and is not
/// already a Rust handler's name); returns the match modules' names,
/// registered or not. A match is made
/// of the program current when it is created, and keeps it to its end.
pub fn install(
    cell: &Arc<ProgramCell>,
    vm: &Vm,
    modules: &mut Modules,
) -> mlua::Result<Vec<String>> {
    let all = names(&cell.current(), vm)?;
    for name in &all {
        if modules.match_handler(name).is_some() {
            continue;
        }
        let cell = cell.clone();
        let module = name.clone();
        let factory: WaitingFactory = Arc::new(move |nk, ctx, params| {
            let program = cell.current();
            let module = module.clone();
            Box::pin(async move {
                let (handler, init) =
                    LuaMatch::create(&program, &module, &ctx, &params, nk).await?;
                Ok((Box::new(handler) as Box<dyn MatchHandler>, init))
            })
        });
        modules.register_waiting_match_handler(name, factory);
    }
    Ok(all)
}

/// One running Lua match: its own state, its module table and its
/// game state. The parts a waiting callback's future needs are shared
/// with it.
struct LuaMatch {
    shared: Rc<Shared>,
}

struct Shared {
    vm: Vm,
    module: Table,
    state: RefCell<LuaValue>,
    ctx: Table,
    dispatcher: Table,
    actions: Rc<RefCell<Dispatcher>>,
    match_id: String,
}

fn block<T>(f: impl std::future::Future<Output = T>) -> T {
    // Only the plain callbacks (which the match never calls) run this
    // way, without the server: every `nk` call that would wait fails at
    // once, so the future is ready at once.
    futures_lite::future::block_on(f)
}

/// Which callback a call is, for reading its results.
#[derive(Clone, Copy)]
enum Kind {
    JoinAttempt,
    Join,
    Leave,
    Tick,
    Terminate,
    Signal,
}

impl Kind {
    fn of(call: &Call<'_>) -> Kind {
        match call {
            Call::JoinAttempt { .. } => Kind::JoinAttempt,
            Call::Join(_) => Kind::Join,
            Call::Leave(_) => Kind::Leave,
            Call::Tick(_) => Kind::Tick,
            Call::Terminate(_) => Kind::Terminate,
            Call::Signal(_) => Kind::Signal,
        }
    }

    fn callback(self) -> &'static str {
        match self {
            Kind::JoinAttempt => "match_join_attempt",
            Kind::Join => "match_join",
            Kind::Leave => "match_leave",
            Kind::Tick => "match_loop",
            Kind::Terminate => "match_terminate",
            Kind::Signal => "match_signal",
        }
    }

    /// The answer of a callback that failed before it could run.
    fn failed(self, why: String) -> Answer {
        match self {
            Kind::JoinAttempt => Answer::JoinAttempt(Err(why)),
            Kind::Tick => Answer::Tick(false),
            Kind::Signal => Answer::Signal(Err(why)),
            Kind::Join | Kind::Leave | Kind::Terminate => Answer::Done,
        }
    }
}

impl LuaMatch {
    async fn create(
        program: &Arc<Program>,
        name: &str,
        mctx: &MatchContext,
        params: &serde_json::Value,
        nk: Nk,
    ) -> Result<(LuaMatch, MatchInit), ApiError> {
        // The modules' top-level code runs as at startup, without the
        // server; `match_init` runs with it.
        let vm = Vm::new(program.clone(), None)
            .await
            .map_err(ApiError::internal)?;
        let err = |e: mlua::Error| ApiError::internal(format!("match_init: {}", message(&e)));
        let package: Table = vm.lua.globals().get("package").map_err(err)?;
        let module = match package.get::<Table>("loaded").map_err(err)?.get(name) {
            Ok(LuaValue::Table(t)) if is_match(&t) => t,
            // A reload took the match module away: as if it had never
            // been registered.
            _ => {
                return Err(ApiError::not_found(format!(
                    "Match handler {name:?} not found"
                )));
            }
        };
        let ctx = vm.lua.create_table().map_err(err)?;
        ctx.raw_set(
            "env",
            super::nk::env_table(&vm.lua, &program.node.config).map_err(err)?,
        )
        .map_err(err)?;
        ctx.raw_set("execution_mode", "match").map_err(err)?;
        ctx.raw_set("node", mctx.node.as_str()).map_err(err)?;
        ctx.raw_set("match_id", mctx.match_id.as_str())
            .map_err(err)?;
        ctx.raw_set("match_node", mctx.node.as_str()).map_err(err)?;
        let actions = Rc::new(RefCell::new(Dispatcher::default()));
        let dispatcher = dispatcher_table(&vm.lua, &actions).map_err(err)?;
        let lua_params = super::convert::to_lua(&vm.lua, params).map_err(err)?;
        let init: Function = module.get("match_init").map_err(err)?;
        vm.begin(Some(nk));
        let out = init
            .call_async::<MultiValue>((ctx.clone(), lua_params))
            .await;
        vm.end();
        let out = out.map_err(|e| vm.to_api_error(&e))?;
        let mut out = out.into_iter();
        let state = out.next().unwrap_or(LuaValue::Nil);
        if state.is_nil() {
            return Err(ApiError::internal("Match initial state must not be nil"));
        }
        let tick_rate = match out.next() {
            Some(LuaValue::Integer(i)) => i as f64,
            Some(LuaValue::Number(f)) => f,
            _ => return Err(ApiError::internal("Match tick rate must be a number")),
        };
        if !(1.0..=60.0).contains(&tick_rate) {
            return Err(ApiError::internal(
                "Match tick rate must be between 1 and 60",
            ));
        }
        let label = match out.next() {
            Some(LuaValue::String(s)) => s.to_string_lossy(),
            Some(LuaValue::Nil) | None => String::new(),
            _ => return Err(ApiError::internal("Match label must be a string")),
        };
        ctx.raw_set("match_label", label.as_str()).map_err(err)?;
        ctx.raw_set("match_tick_rate", tick_rate).map_err(err)?;
        let m = LuaMatch {
            shared: Rc::new(Shared {
                vm,
                module,
                state: RefCell::new(state),
                ctx,
                dispatcher,
                actions,
                match_id: mctx.match_id.clone(),
            }),
        };
        Ok((
            m,
            MatchInit {
                tick_rate: tick_rate as u32,
                label,
            },
        ))
    }

    /// The arguments after (ctx, dispatcher, tick, state) for `call`.
    fn arguments(&self, call: Call<'_>) -> mlua::Result<Vec<LuaValue>> {
        let lua = &self.shared.vm.lua;
        Ok(match call {
            Call::JoinAttempt { presence, metadata } => {
                let meta = super::convert::string_map(
                    lua,
                    metadata.iter().map(|(k, v)| (k.as_str(), v.as_str())),
                )?;
                vec![
                    LuaValue::Table(presence_table(lua, presence)?),
                    LuaValue::Table(meta),
                ]
            }
            Call::Join(list) | Call::Leave(list) => {
                vec![LuaValue::Table(presences_table(lua, list)?)]
            }
            Call::Tick(messages) => vec![LuaValue::Table(messages_table(lua, &messages)?)],
            Call::Terminate(grace) => vec![LuaValue::Number(f64::from(grace))],
            Call::Signal(data) => vec![LuaValue::String(lua.create_string(data)?)],
        })
    }
}

impl Shared {
    /// Reads a callback's results: the new state (nil keeps the old one,
    /// except that `match_loop` returning nil ends the match, as in
    /// Nakama) and the callback's answer.
    fn conclude(&self, kind: Kind, out: mlua::Result<MultiValue>) -> Answer {
        let out = match out {
            Ok(out) => out,
            Err(e) => {
                let msg = message(&e);
                tracing::warn!(match_id = %self.match_id, callback = kind.callback(), error = %msg, "Lua match callback failed");
                return kind.failed(msg);
            }
        };
        let mut out = out.into_iter();
        let state = out.next().filter(|s| !s.is_nil());
        let went_on = state.is_some();
        if let Some(state) = state {
            *self.state.borrow_mut() = state;
        }
        match kind {
            Kind::Tick => Answer::Tick(went_on),
            Kind::JoinAttempt => Answer::JoinAttempt(match out.next() {
                Some(LuaValue::Boolean(true)) => Ok(()),
                _ => Err(match out.next() {
                    Some(LuaValue::String(s)) => s.to_string_lossy(),
                    _ => String::new(),
                }),
            }),
            Kind::Signal => Answer::Signal(Ok(match out.next() {
                Some(LuaValue::String(s)) => s.to_string_lossy(),
                _ => String::new(),
            })),
            Kind::Join | Kind::Leave | Kind::Terminate => Answer::Done,
        }
    }

    /// What the callback dispatched, taken.
    fn dispatched(&self) -> Vec<crate::modules::matches::Action> {
        std::mem::take(&mut self.actions.borrow_mut().actions)
    }
}

impl MatchHandler for LuaMatch {
    // The plain callbacks are never called: the match runs every callback
    // through `step`. They are here for the trait, and run without the
    // server.
    fn tick(&mut self, d: &mut Dispatcher, tick: u64, messages: Vec<MatchMessage>) -> bool {
        matches!(
            self.plain(d, tick, Call::Tick(messages)),
            Answer::Tick(true)
        )
    }

    /// Calls the callback with (ctx, dispatcher, tick, state, ...) and
    /// `nk` as the server. It runs until it finishes or first waits on
    /// the server; in the second case the rest is a [`Step::Wait`] that
    /// the match drives.
    fn step(&mut self, nk: &Nk, d: &mut Dispatcher, tick: u64, call: Call<'_>) -> Step<Answer> {
        self.start(Some(nk), d, tick, call)
    }
}

impl LuaMatch {
    fn plain(&mut self, d: &mut Dispatcher, tick: u64, call: Call<'_>) -> Answer {
        match self.start(None, d, tick, call) {
            Step::Ready(answer) => answer,
            Step::Wait(f) => {
                let (answer, mut later) = block(f);
                d.actions.append(&mut later.actions);
                answer
            }
        }
    }

    fn start(
        &mut self,
        nk: Option<&Nk>,
        d: &mut Dispatcher,
        tick: u64,
        call: Call<'_>,
    ) -> Step<Answer> {
        let shared = &self.shared;
        let kind = Kind::of(&call);
        let rest = match self.arguments(call) {
            Ok(rest) => rest,
            Err(e) => return Step::Ready(kind.failed(message(&e))),
        };
        let f: Function = match shared.module.get(kind.callback()) {
            Ok(f) => f,
            Err(e) => return Step::Ready(kind.failed(message(&e))),
        };
        let mut args = vec![
            LuaValue::Table(shared.ctx.clone()),
            LuaValue::Table(shared.dispatcher.clone()),
            LuaValue::Number(tick as f64),
            shared.state.borrow().clone(),
        ];
        args.extend(rest);
        shared.vm.begin(nk.cloned());
        let mut call = Box::pin(f.call_async::<MultiValue>(MultiValue::from_iter(args)));
        // One poll: a callback that does not wait on the server finishes
        // here, with no task and no allocation beyond the call's.
        let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
        match call.as_mut().poll(&mut cx) {
            std::task::Poll::Ready(out) => {
                shared.vm.end();
                d.actions.append(&mut shared.dispatched());
                Step::Ready(shared.conclude(kind, out))
            }
            std::task::Poll::Pending => {
                let shared = shared.clone();
                Step::Wait(Box::pin(async move {
                    let out = call.await;
                    shared.vm.end();
                    let d = Dispatcher {
                        actions: shared.dispatched(),
                    };
                    (shared.conclude(kind, out), d)
                }))
            }
        }
    }
}

fn presence_table(lua: &Lua, p: &MatchPresence) -> mlua::Result<Table> {
    let t = lua.create_table()?;
    t.raw_set("user_id", p.user_id.to_string())?;
    t.raw_set("session_id", p.session_id.to_string())?;
    t.raw_set("username", p.username.as_str())?;
    t.raw_set("node", p.node.as_str())?;
    Ok(t)
}

fn presences_table(lua: &Lua, list: &[MatchPresence]) -> mlua::Result<Table> {
    let t = lua.create_table()?;
    for (i, p) in list.iter().enumerate() {
        t.raw_set(i + 1, presence_table(lua, p)?)?;
    }
    Ok(t)
}

fn messages_table(lua: &Lua, list: &[MatchMessage]) -> mlua::Result<Table> {
    let t = lua.create_table()?;
    for (i, m) in list.iter().enumerate() {
        let mt = lua.create_table()?;
        mt.raw_set("sender", presence_table(lua, &m.sender)?)?;
        mt.raw_set("op_code", m.op_code as f64)?;
        mt.raw_set("data", lua.create_string(&m.data[..])?)?;
        mt.raw_set("reliable", m.reliable)?;
        mt.raw_set("receive_time_ms", m.receive_time_ms as f64)?;
        t.raw_set(i + 1, mt)?;
    }
    Ok(t)
}

/// A presence table back to a presence (its session id is what matters).
fn presence_of(t: &Table) -> mlua::Result<MatchPresence> {
    let text = |k: &str| -> mlua::Result<String> {
        Ok(t.raw_get::<Option<String>>(k)?.unwrap_or_default())
    };
    let id = |k: &str| -> mlua::Result<Uuid> {
        Uuid::parse_str(&text(k)?).map_err(|_| {
            mlua::Error::RuntimeError(format!("presence {k} must be a valid identifier"))
        })
    };
    Ok(MatchPresence {
        user_id: id("user_id")?,
        session_id: id("session_id")?,
        username: text("username")?,
        node: text("node")?,
    })
}

fn presence_list(v: LuaValue) -> mlua::Result<Option<Vec<MatchPresence>>> {
    match v {
        LuaValue::Nil => Ok(None),
        LuaValue::Table(t) => {
            let mut out = Vec::new();
            for p in t.sequence_values::<Table>() {
                out.push(presence_of(&p?)?);
            }
            Ok(Some(out))
        }
        _ => Err(mlua::Error::RuntimeError(
            "expects presences to be a table of presences".into(),
        )),
    }
}

/// The `dispatcher` table of a match.
fn dispatcher_table(lua: &Lua, actions: &Rc<RefCell<Dispatcher>>) -> mlua::Result<Table> {
    let t = lua.create_table()?;
    for (name, deferred) in [
        ("broadcast_message", false),
        ("broadcast_message_deferred", true),
    ] {
        let actions = actions.clone();
        let f = lua.create_function(
            move |_,
                  (op, data, to, sender, reliable): (
                f64,
                Option<mlua::String>,
                LuaValue,
                LuaValue,
                Option<bool>,
            )| {
                let data = data
                    .map(|d| Bytes::copy_from_slice(&d.as_bytes()))
                    .unwrap_or_default();
                let to = presence_list(to)?;
                let sender = match sender {
                    LuaValue::Table(s) => Some(presence_of(&s)?),
                    _ => None,
                };
                let reliable = reliable.unwrap_or(true);
                let mut d = actions.borrow_mut();
                if deferred {
                    d.broadcast_deferred(op as i64, data, to.as_deref(), sender.as_ref(), reliable);
                } else {
                    d.broadcast(op as i64, data, to.as_deref(), sender.as_ref(), reliable);
                }
                Ok(())
            },
        )?;
        t.raw_set(name, f)?;
    }
    let a = actions.clone();
    t.raw_set(
        "match_kick",
        lua.create_function(move |_, list: LuaValue| {
            if let Some(list) = presence_list(list)? {
                a.borrow_mut().kick(&list);
            }
            Ok(())
        })?,
    )?;
    let a = actions.clone();
    t.raw_set(
        "match_label_update",
        lua.create_function(move |_, label: String| {
            a.borrow_mut().label_update(label);
            Ok(())
        })?,
    )?;
    Ok(t)
}
