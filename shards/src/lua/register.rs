//! What a Lua function looks like to the registry: an RPC, a hook or the
//! matchmaker-matched hook whose call leases a state of the calling
//! shard's pool, runs the function there and maps its result.

use std::sync::Arc;

use kairos_core::error::{ApiError, Code};
use kairos_schema::rtapi::{Envelope, Incoming};
use mlua::{Function, Value as LuaValue};
use serde_json::Value;

use super::state::{Registrations, Vm};
use super::{ProgramCell, context, convert, pool};
use crate::modules::hooks::{ApiRequest, Before};
use crate::modules::{
    Context, LeaderboardInfo, MatchedResult, MatchmakerEntry, Modules, RpcFuture,
};
use kairos_core::tournament::Tournament;

/// Registers what the startup state found into `modules`.
pub fn install(
    program: &Arc<ProgramCell>,
    found: Registrations,
    modules: &mut Modules,
) -> Result<(), String> {
    for id in found.rpcs {
        modules.register_rpc(
            &id,
            Arc::new(LuaFn {
                program: program.clone(),
                key: id.clone(),
            }),
        );
    }
    let routes = crate::http::route_names();
    let route = |name: &str| -> Result<&'static str, String> {
        routes
            .iter()
            .find(|r| r.eq_ignore_ascii_case(name))
            .copied()
            .ok_or_else(|| {
                format!("Lua modules hook the REST method {name:?}, which does not exist")
            })
    };
    for name in found.before_api {
        let f = LuaFn {
            program: program.clone(),
            key: format!("api:{name}"),
        };
        modules.register_before_api(route(&name)?, Arc::new(f));
    }
    for name in found.after_api {
        let f = LuaFn {
            program: program.clone(),
            key: format!("api:{name}"),
        };
        modules.register_after_api(route(&name)?, Arc::new(f));
    }
    for name in found.before_rt {
        if let Some(message) = rt_message(&name)? {
            let f = LuaFn {
                program: program.clone(),
                key: format!("rt:{name}"),
            };
            modules.register_before_rt(message, Arc::new(f))?;
        }
    }
    for name in found.after_rt {
        if let Some(message) = rt_message(&name)? {
            let f = LuaFn {
                program: program.clone(),
                key: format!("rt:{name}"),
            };
            modules.register_after_rt(message, Arc::new(f))?;
        }
    }
    if found.matchmaker_matched {
        modules.register_matchmaker_matched(Arc::new(LuaFn {
            program: program.clone(),
            key: String::new(),
        }));
    }
    let top = |key: &str| LuaFn {
        program: program.clone(),
        key: key.to_string(),
    };
    if found.leaderboard_reset {
        modules.register_leaderboard_reset(Arc::new(top("leaderboard_reset")));
    }
    if found.tournament_end {
        modules.register_tournament_end(Arc::new(top("tournament_end")));
    }
    if found.tournament_reset {
        modules.register_tournament_reset(Arc::new(top("tournament_reset")));
    }
    if found.shutdown {
        modules.register_shutdown(Arc::new(top("shutdown")));
    }
    for def in found.storage_indexes {
        modules
            .register_storage_index(def)
            .map_err(|e| format!("Lua modules: failed to create storage index: {e}"))?;
    }
    for name in found.storage_index_filters {
        let f = LuaFn {
            program: program.clone(),
            key: name.clone(),
        };
        modules.register_storage_index_filter(&name, Arc::new(f));
    }
    Ok(())
}

/// The client message a realtime hook names, as Nakama matches it: the
/// envelope's message type in any case (`ChannelJoin`, `matchdatasend`),
/// here already lower-cased, is the envelope field without its
/// underscores (`channel_join`). `rpc` is a client message Nakama never
/// runs realtime hooks on, so such a hook is kept but never called
/// (`None`); a name that is no client message stops the start.
fn rt_message(name: &str) -> Result<Option<&'static str>, String> {
    let found = kairos_schema::rtapi::CLIENT_MESSAGES
        .iter()
        .find(|m| m.len() - m.matches('_').count() == name.len() && m.replace('_', "") == name)
        .copied();
    match found {
        Some("rpc") => {
            tracing::warn!("Lua realtime hook on Rpc ignored: Nakama runs none on RPCs");
            Ok(None)
        }
        Some(message) => Ok(Some(message)),
        None => Err(format!(
            "Lua modules hook the realtime message {name:?}, which is not one a client sends (Nakama's names: ChannelJoin, MatchDataSend, ...)"
        )),
    }
}

/// A registered Lua function: which state table holds it and under what
/// key, in whichever program the node runs when it is called.
struct LuaFn {
    program: Arc<ProgramCell>,
    key: String,
}

/// The Lua RPC `id` (lower-cased): how an RPC a reload added is called.
pub fn rpc(program: &Arc<ProgramCell>, id: String) -> Arc<dyn crate::modules::RpcFn> {
    Arc::new(LuaFn {
        program: program.clone(),
        key: id,
    })
}

/// Runs `call` in a leased state of the program current now (the call
/// keeps it to its end, whatever reloads meanwhile) and gives the state
/// back unless the call hit a limit.
async fn run<T>(
    program: &Arc<ProgramCell>,
    ctx: &Context,
    call: impl AsyncFnOnce(&Vm) -> Result<T, mlua::Error>,
) -> Result<T, ApiError> {
    let program = program.current();
    let mut lease = pool::lease(&program, &ctx.nk).await?;
    let vm = lease.vm();
    vm.begin(Some(ctx.nk.clone()));
    let result = call(vm).await;
    vm.end();
    match result {
        Ok(v) => {
            lease.done(true);
            Ok(v)
        }
        Err(e) => {
            let limit = vm.limit_hit(&e);
            let err = vm.to_api_error(&e);
            if limit {
                tracing::warn!(error = %err.message, "Lua call stopped by a limit");
            }
            lease.done(!limit);
            Err(err)
        }
    }
}

fn lookup(vm: &Vm, kind: &str, key: &str) -> Result<Function, mlua::Error> {
    vm.callback(kind, key)?.ok_or_else(|| {
        mlua::Error::RuntimeError(format!("no Lua function registered for {kind} {key}"))
    })
}

impl crate::modules::RpcFn for LuaFn {
    fn call(&self, ctx: Context, payload: String) -> RpcFuture {
        let program = self.program.clone();
        let id = self.key.clone();
        Box::pin(async move {
            let cx = ctx.clone();
            let out = run(&program, &ctx, async move |vm: &Vm| {
                let f = lookup(vm, "rpc", &id)?;
                let c = context::table(&vm.lua, &cx, "rpc")?;
                f.call_async::<LuaValue>((c, payload)).await
            })
            .await?;
            match out {
                LuaValue::Nil => Ok(String::new()),
                LuaValue::String(s) => Ok(s.to_string_lossy()),
                _ => Err(ApiError::new(
                    Code::Internal,
                    "Runtime function returned invalid data - only allowed one return value of type String/Byte.",
                )),
            }
        })
    }
}

type Boxed<T> = std::pin::Pin<Box<dyn std::future::Future<Output = T>>>;

impl crate::modules::BeforeApi for LuaFn {
    fn call(&self, ctx: Context, req: ApiRequest) -> Boxed<Before<ApiRequest>> {
        let program = self.program.clone();
        let key = self.key.clone();
        Box::pin(async move {
            let body = req.body.clone();
            let out = run(&program, &ctx, async |vm: &Vm| {
                let f = lookup(vm, "before", &key)?;
                let c = context::table(&vm.lua, &ctx, "before")?;
                let input = convert::to_lua(&vm.lua, &body)?;
                let out = f.call_async::<LuaValue>((c, input)).await?;
                match out {
                    LuaValue::Nil => Ok(None),
                    v => convert::to_json(&v).map(Some),
                }
            })
            .await?;
            Ok(out.map(|body| ApiRequest {
                body: normalize(body),
                ..req
            }))
        })
    }
}

/// A Lua table that came back empty is `{}`; JSON bodies are objects.
fn normalize(v: Value) -> Value {
    match v {
        Value::Array(a) if a.is_empty() => Value::Object(Default::default()),
        v => v,
    }
}

impl crate::modules::AfterApi for LuaFn {
    fn call(&self, ctx: Context, req: ApiRequest, response: Value) -> Boxed<Result<(), ApiError>> {
        let program = self.program.clone();
        let key = self.key.clone();
        Box::pin(async move {
            run(&program, &ctx, async |vm: &Vm| {
                let f = lookup(vm, "after", &key)?;
                let c = context::table(&vm.lua, &ctx, "after")?;
                let out = convert::to_lua(&vm.lua, &response)?;
                let input = convert::to_lua(&vm.lua, &req.body)?;
                f.call_async::<()>((c, out, input)).await
            })
            .await
        })
    }
}

/// A realtime hook's before function sees the envelope as Nakama's Lua
/// does (`{channel_message_send = {channel_id = ..., content = ...}}`, the
/// protojson form) and returns it, possibly changed, or `nil`.
impl crate::modules::BeforeRt for LuaFn {
    fn call(&self, ctx: Context, msg: Incoming) -> Boxed<Before<Incoming>> {
        self.call_envelope(ctx, "", msg)
    }

    fn call_envelope(&self, ctx: Context, cid: &str, msg: Incoming) -> Boxed<Before<Incoming>> {
        let program = self.program.clone();
        let key = self.key.clone();
        let envelope = msg.to_json_envelope(cid);
        Box::pin(async move {
            let name = msg.name();
            let out = run(&program, &ctx, async |vm: &Vm| {
                let f = lookup(vm, "before", &key)?;
                let c = context::table(&vm.lua, &ctx, "before")?;
                let input = convert::to_lua(&vm.lua, &envelope)?;
                match f.call_async::<LuaValue>((c, input)).await? {
                    LuaValue::Nil => Ok(None),
                    v => convert::to_json(&v).map(Some),
                }
            })
            .await?;
            out.map(|v| envelope_message(name, &v)).transpose()
        })
    }
}

/// The message a before hook returned, which must be the one it got
/// (possibly changed) and decode as a client's would. Otherwise the
/// message is refused with Nakama's text for a result it cannot read.
fn envelope_message(name: &str, v: &Value) -> Result<Incoming, ApiError> {
    let refused = |why: String| {
        tracing::error!(message = name, error = %why, "Lua before hook returned an invalid envelope");
        ApiError::new(
            Code::Internal,
            "Could not complete runtime Before function.",
        )
    };
    let bytes = serde_json::to_vec(v).map_err(|e| refused(e.to_string()))?;
    let envelope = Envelope::from_json(&bytes).map_err(|e| refused(e.message))?;
    if envelope.message.name() != name {
        return Err(refused(format!(
            "the hook returned {} instead",
            envelope.message.name()
        )));
    }
    Ok(envelope.message)
}

/// A realtime hook's after function gets `(context, out, in)` as in
/// Nakama: `out` is the reply the client got (`nil` when the message has
/// none), `in` the envelope served, both with the request's `cid`.
impl crate::modules::AfterRt for LuaFn {
    fn call(&self, ctx: Context, msg: Incoming) -> Boxed<Result<(), ApiError>> {
        self.call_envelope(ctx, "", msg, None)
    }

    fn wants_reply(&self) -> bool {
        true
    }

    fn call_envelope(
        &self,
        ctx: Context,
        cid: &str,
        msg: Incoming,
        reply: Option<Value>,
    ) -> Boxed<Result<(), ApiError>> {
        let program = self.program.clone();
        let key = self.key.clone();
        let envelope = msg.to_json_envelope(cid);
        Box::pin(async move {
            run(&program, &ctx, async |vm: &Vm| {
                let f = lookup(vm, "after", &key)?;
                let c = context::table(&vm.lua, &ctx, "after")?;
                let out = match &reply {
                    Some(r) => convert::to_lua(&vm.lua, r)?,
                    None => LuaValue::Nil,
                };
                let input = convert::to_lua(&vm.lua, &envelope)?;
                f.call_async::<()>((c, out, input)).await
            })
            .await
        })
    }
}

/// The shutdown hook gets its context (mode `shutdown`) as Nakama's Lua
/// does, and the grace period in seconds after it. Its error is logged.
impl crate::modules::ShutdownFn for LuaFn {
    fn call(&self, ctx: Context, grace_seconds: u64) -> Boxed<()> {
        let program = self.program.clone();
        let key = self.key.clone();
        Box::pin(async move {
            let done = run(&program, &ctx, async |vm: &Vm| {
                let f = top_level(vm, &key)?;
                let c = context::table(&vm.lua, &ctx, "shutdown")?;
                f.call_async::<()>((c, grace_seconds as f64)).await
            })
            .await;
            if let Err(e) = done {
                tracing::error!(error = %e.message, "Error running runtime Shutdown hook");
            }
        })
    }
}

impl crate::modules::MatchmakerMatchedFn for LuaFn {
    fn call(&self, ctx: Context, entries: Vec<MatchmakerEntry>) -> Boxed<MatchedResult> {
        let program = self.program.clone();
        Box::pin(async move {
            run(&program, &ctx, async |vm: &Vm| {
                let f: Function = vm
                    .callbacks()?
                    .raw_get::<Option<Function>>("matchmaker")?
                    .ok_or_else(|| mlua::Error::RuntimeError("no matchmaker hook".into()))?;
                let c = context::table(&vm.lua, &ctx, "matchmaker")?;
                let list = vm.lua.create_table()?;
                for (i, e) in entries.iter().enumerate() {
                    list.raw_set(i + 1, entry(&vm.lua, e)?)?;
                }
                match f.call_async::<LuaValue>((c, list)).await? {
                    LuaValue::String(s) if !s.as_bytes().is_empty() => {
                        Ok(Some(s.to_string_lossy()))
                    }
                    _ => Ok(None),
                }
            })
            .await
        })
    }
}

/// The function registered at the callbacks table's top level as `key`.
fn top_level(vm: &Vm, key: &str) -> Result<Function, mlua::Error> {
    vm.callbacks()?
        .raw_get::<Option<Function>>(key)?
        .ok_or_else(|| mlua::Error::RuntimeError(format!("no Lua function registered for {key}")))
}

impl crate::modules::LeaderboardResetFn for LuaFn {
    fn call(
        &self,
        ctx: Context,
        board: LeaderboardInfo,
        reset: i64,
    ) -> Boxed<Result<(), ApiError>> {
        let program = self.program.clone();
        let key = self.key.clone();
        Box::pin(async move {
            run(&program, &ctx, async |vm: &Vm| {
                let f = top_level(vm, &key)?;
                let c = context::table(&vm.lua, &ctx, "leaderboard_reset")?;
                let t = leaderboard_table(&vm.lua, &board)?;
                f.call_async::<()>((c, t, reset)).await
            })
            .await
        })
    }
}

impl crate::modules::TournamentHookFn for LuaFn {
    fn call(
        &self,
        ctx: Context,
        tournament: Tournament,
        end: i64,
        reset: i64,
    ) -> Boxed<Result<(), ApiError>> {
        let program = self.program.clone();
        let key = self.key.clone();
        Box::pin(async move {
            run(&program, &ctx, async |vm: &Vm| {
                let f = top_level(vm, &key)?;
                let c = context::table(&vm.lua, &ctx, &key)?;
                // The tournament as it was the second before the deadline.
                let t = super::nk::tournament_table_at(&vm.lua, &tournament, end.max(1) - 1)?;
                f.call_async::<()>((c, t, end, reset)).await
            })
            .await
        })
    }
}

/// A board as Nakama's Lua reset hook gets it: `sort_order` and the
/// resets as strings, the metadata as a table.
fn leaderboard_table(lua: &mlua::Lua, b: &LeaderboardInfo) -> mlua::Result<mlua::Table> {
    let t = lua.create_table()?;
    t.raw_set("id", b.id.as_str())?;
    t.raw_set("authoritative", b.authoritative)?;
    t.raw_set("sort_order", b.sort_order.as_i32().to_string())?;
    t.raw_set("operator", b.operator.as_api_name())?;
    if b.prev_reset != 0 {
        t.raw_set("prev_reset", b.prev_reset.to_string())?;
    }
    if b.next_reset != 0 {
        t.raw_set("next_reset", b.next_reset.to_string())?;
    }
    t.raw_set("metadata", super::nk::metadata_value(lua, &b.metadata)?)?;
    t.raw_set("create_time", b.create_time as f64)?;
    Ok(t)
}

/// A matched player as Nakama's Lua sees it: `{presence = {...},
/// properties = {...}}`.
fn entry(lua: &mlua::Lua, e: &MatchmakerEntry) -> mlua::Result<mlua::Table> {
    let presence = lua.create_table()?;
    presence.raw_set("user_id", e.user_id.as_str())?;
    presence.raw_set("session_id", e.session_id.as_str())?;
    presence.raw_set("username", e.username.as_str())?;
    presence.raw_set("node", e.node.as_str())?;
    let props = lua.create_table()?;
    for (k, v) in &e.string_properties {
        props.raw_set(k.as_str(), v.as_str())?;
    }
    for (k, v) in &e.numeric_properties {
        props.raw_set(k.as_str(), *v)?;
    }
    let t = lua.create_table()?;
    t.raw_set("presence", presence)?;
    t.raw_set("properties", props)?;
    if !e.party_id.is_empty() {
        t.raw_set("party_id", e.party_id.as_str())?;
    }
    Ok(t)
}

impl crate::modules::StorageIndexFilterFn for LuaFn {
    fn call(
        &self,
        ctx: Context,
        write: kairos_core::storage::StorageObject,
    ) -> Boxed<Result<bool, ApiError>> {
        let program = self.program.clone();
        let name = self.key.clone();
        Box::pin(async move {
            let out = run(&program, &ctx, async |vm: &Vm| {
                let f = lookup(vm, "storage_index_filter", &name)?;
                let c = context::table(&vm.lua, &ctx, "storage_index_filter")?;
                let t = storage_write_table(&vm.lua, &write)?;
                f.call_async::<LuaValue>((c, t)).await
            })
            .await
            .map_err(|e| {
                ApiError::new(
                    Code::Internal,
                    format!(
                        "Error running runtime Storage Index Filter hook for {name:?} index: {}",
                        e.message
                    ),
                )
            })?;
            match out {
                LuaValue::Boolean(keep) => Ok(keep),
                LuaValue::Nil => Err(ApiError::new(
                    Code::Internal,
                    "Invalid return type for Storage Index Filter function: bool expected",
                )),
                _ => Err(ApiError::new(
                    Code::Internal,
                    format!(
                        "Error running runtime Storage Index Filter hook for {name:?} index: failed to assert lua fn expected return type"
                    ),
                )),
            }
        })
    }
}

/// A write as Nakama's Lua storage index filter gets it: `key`,
/// `collection`, `user_id` (`nil` for the system owner), `version`,
/// `permission_read`, `permission_write` and `value` as a table.
fn storage_write_table(
    lua: &mlua::Lua,
    o: &kairos_core::storage::StorageObject,
) -> mlua::Result<mlua::Table> {
    let t = lua.create_table()?;
    t.raw_set("key", o.key.as_str())?;
    t.raw_set("collection", o.collection.as_str())?;
    if !o.user_id.is_nil() {
        t.raw_set("user_id", o.user_id.to_string())?;
    }
    t.raw_set("version", o.version.as_str())?;
    t.raw_set("permission_read", o.permission_read)?;
    t.raw_set("permission_write", o.permission_write)?;
    let value: Value = serde_json::from_str(&o.value)
        .map_err(|e| mlua::Error::RuntimeError(format!("failed to convert value to json: {e}")))?;
    t.raw_set("value", convert::to_lua(lua, &value)?)?;
    Ok(t)
}
