//! One Lua state: Lua 5.1's libraries as Nakama opens them, the modules
//! loaded through `require`, globals frozen once they ran, and the calls
//! into the functions they registered.
//!
//! Lua 5.1 cannot yield across a C function, so the `require` and
//! `pcall` of a state are Kairos's own async functions: a module that
//! awaits the server at load, or a `pcall` around an `nk` call, works as
//! it does in Nakama. `error({message, code})` raises an error with a
//! gRPC code, as in Nakama.

use std::cell::RefCell;
use std::rc::Rc;
use std::sync::Arc;

use kairos_core::error::{ApiError, Code};
use mlua::{ChunkMode, Function, Lua, LuaOptions, MultiValue, StdLib, Table, Value as LuaValue};

use super::Program;
use super::limits::{self, Budget};
use crate::modules::Nk;

/// The message of a write to a frozen table, as Nakama's words it.
pub const READ_ONLY: &str = "attempt to modify read only table";

/// Where a state keeps what its modules registered.
const CALLBACKS: &str = "kairos.callbacks";

/// An error raised with `error({message, code})`.
pub struct Custom {
    pub message: String,
    pub code: i32,
    pub value: LuaValue,
}

/// What the running call shares with the functions of `nk`.
pub struct Current {
    nk: RefCell<Option<Nk>>,
    custom: RefCell<Option<Custom>>,
    pub program: Arc<Program>,
    pub budget: Rc<Budget>,
    /// The storage indexes this state's modules registered, in order.
    pub storage_indexes: RefCell<Vec<crate::modules::StorageIndexDef>>,
}

impl Current {
    /// The server API of the running call; none while modules load at
    /// startup.
    pub fn nk(&self, function: &str) -> mlua::Result<Nk> {
        self.nk.borrow().clone().ok_or_else(|| {
            mlua::Error::RuntimeError(format!(
                "nk.{function} is not available here (modules loading at startup, or a match callback); use nk.run_once or an RPC"
            ))
        })
    }

    /// Whether the error that ended a call is one no `pcall` may catch:
    /// a limit.
    fn is_limit(&self, e: &mlua::Error) -> bool {
        self.budget.tripped() || matches!(root(e), mlua::Error::MemoryError(_))
    }
}

/// What the modules of a state registered, by kind.
#[derive(Clone, Debug, Default)]
pub struct Registrations {
    pub rpcs: Vec<String>,
    pub before_api: Vec<String>,
    pub after_api: Vec<String>,
    pub before_rt: Vec<String>,
    pub after_rt: Vec<String>,
    pub matchmaker_matched: bool,
    pub leaderboard_reset: bool,
    pub tournament_end: bool,
    pub tournament_reset: bool,
    pub shutdown: bool,
    pub storage_indexes: Vec<crate::modules::StorageIndexDef>,
    /// Names of the indexes given a filter.
    pub storage_index_filters: Vec<String>,
}

/// A Lua state with every module loaded.
pub struct Vm {
    pub lua: Lua,
    pub current: Rc<Current>,
}

impl Vm {
    /// Makes a state and runs every module in it, with `nk` as the server
    /// API (none at startup). The error names the module's file and line.
    pub async fn new(program: Arc<Program>, nk: Option<Nk>) -> Result<Vm, String> {
        let vm = Vm::open(program).map_err(|e| format!("Lua runtime: {e}"))?;
        vm.begin(nk);
        let result = vm.load_modules().await;
        vm.end();
        result?;
        vm.stand_in()
            .map_err(|e| format!("Lua runtime: stand-ins: {e}"))?;
        vm.freeze().map_err(|e| format!("Lua runtime: {e}"))?;
        Ok(vm)
    }

    fn open(program: Arc<Program>) -> mlua::Result<Vm> {
        let lua = Lua::new_with(
            StdLib::TABLE | StdLib::STRING | StdLib::MATH | StdLib::PACKAGE | StdLib::OS,
            LuaOptions::default(),
        )?;
        let budget = limits::install(&lua, program.limits)?;
        let current = Rc::new(Current {
            nk: RefCell::new(None),
            custom: RefCell::new(None),
            program,
            budget,
            storage_indexes: RefCell::new(Vec::new()),
        });
        let vm = Vm { lua, current };
        vm.trim_libraries()?;
        let callbacks = vm.lua.create_table()?;
        for kind in ["rpc", "before", "after", "storage_index_filter"] {
            callbacks.raw_set(kind, vm.lua.create_table()?)?;
        }
        vm.lua.set_named_registry_value(CALLBACKS, callbacks)?;
        vm.install_require()?;
        vm.install_pcall()?;
        vm.install_error()?;
        Ok(vm)
    }

    /// Leaves what Nakama's Lua has: no file or process access.
    fn trim_libraries(&self) -> mlua::Result<()> {
        let g = self.lua.globals();
        for name in ["dofile", "loadfile", "load", "loadstring", "collectgarbage"] {
            g.raw_set(name, LuaValue::Nil)?;
        }
        let os: Table = g.get("os")?;
        let keep = self.lua.create_table()?;
        for name in ["time", "date", "clock", "difftime"] {
            keep.raw_set(name, os.get::<LuaValue>(name)?)?;
        }
        g.raw_set("os", keep)?;
        // `print` logs its line (the arguments' `tostring`, tab-separated)
        // at info: the C library's would write to a buffered stdout,
        // apart from the server's log.
        let tostring: Function = g.get("tostring")?;
        let print = self.lua.create_function(move |_, args: MultiValue| {
            let mut line = String::new();
            for (i, v) in args.into_iter().enumerate() {
                if i > 0 {
                    line.push('\t');
                }
                line.push_str(&tostring.call::<mlua::String>(v)?.to_string_lossy());
            }
            tracing::info!(target: "kairos::lua", "{line}");
            Ok(())
        })?;
        g.raw_set("print", print)?;
        let package: Table = g.get("package")?;
        // Modules come from package.preload only: no file is read by
        // `require` after startup, and no C module is loaded.
        let loaders: Table = package.get("loaders")?;
        let preload_loader: LuaValue = loaders.raw_get(1)?;
        let only = self.lua.create_table()?;
        only.raw_set(1, preload_loader)?;
        package.raw_set("loaders", only)?;
        package.raw_set("cpath", "")?;
        let preload: Table = package.get("preload")?;
        let nk = super::nk::module(&self.lua, &self.current)?;
        preload.raw_set(
            "nakama",
            self.lua
                .create_function(move |_, _: MultiValue| Ok(nk.clone()))?,
        )?;
        for m in &self.current.program.modules {
            let f = self
                .lua
                .load(&m.code[..])
                .set_name(format!("@{}", m.path))
                .set_mode(ChunkMode::Text)
                .into_function()?;
            preload.raw_set(m.name.as_str(), f)?;
        }
        Ok(())
    }

    /// `require(name)`: package.loaded, else package.preload's loader
    /// run as a coroutine-friendly call.
    fn install_require(&self) -> mlua::Result<()> {
        let require = self
            .lua
            .create_async_function(|lua, name: mlua::String| async move {
                require(&lua, &name.to_string_lossy()).await
            })?;
        self.lua.globals().raw_set("require", require)
    }

    /// A `pcall` that lets the called function wait on the server; a
    /// limit's error is not caught.
    fn install_pcall(&self) -> mlua::Result<()> {
        let current = self.current.clone();
        let pcall = self
            .lua
            .create_async_function(move |lua, mut args: MultiValue| {
                let current = current.clone();
                async move {
                    let f = args.pop_front().unwrap_or(LuaValue::Nil);
                    let LuaValue::Function(f) = f else {
                        let msg = format!("attempt to call a {} value", f.type_name());
                        return (false, msg).into_lua_multi_(&lua);
                    };
                    match f.call_async::<MultiValue>(args).await {
                        Ok(mut out) => {
                            out.push_front(LuaValue::Boolean(true));
                            Ok(out)
                        }
                        Err(e) if current.is_limit(&e) => Err(e),
                        Err(e) => {
                            let custom = current.custom.borrow_mut().take();
                            let value = match custom {
                                Some(c) => c.value,
                                None => LuaValue::String(lua.create_string(message(&e))?),
                            };
                            (false, value).into_lua_multi_(&lua)
                        }
                    }
                }
            })?;
        self.lua.globals().raw_set("pcall", pcall)
    }

    /// `error(value [, level])`: a string gets its position, as Lua's
    /// does; a table `{message, code}` keeps its code for the caller.
    fn install_error(&self) -> mlua::Result<()> {
        let current = self.current.clone();
        let error =
            self.lua
                .create_function(move |lua, (value, level): (LuaValue, Option<i64>)| {
                    let text = match &value {
                        LuaValue::Table(t) => {
                            let message = t
                                .raw_get::<Option<String>>(1)
                                .ok()
                                .flatten()
                                .unwrap_or_default();
                            let code = t.raw_get::<Option<f64>>(2).ok().flatten().unwrap_or(13.0);
                            *current.custom.borrow_mut() = Some(Custom {
                                message: message.clone(),
                                code: code as i32,
                                value: value.clone(),
                            });
                            message
                        }
                        LuaValue::String(s) => {
                            let s = s.to_string_lossy();
                            if level == Some(0) {
                                s
                            } else {
                                format!("{}{s}", position(lua))
                            }
                        }
                        LuaValue::Nil => "nil".to_string(),
                        other => other.to_string().unwrap_or_default(),
                    };
                    Err::<(), _>(mlua::Error::RuntimeError(text))
                })?;
        self.lua.globals().raw_set("error", error)
    }

    async fn load_modules(&self) -> Result<(), String> {
        for m in &self.current.program.modules {
            if let Err(e) = require(&self.lua, &m.name).await {
                return Err(format!(
                    "Lua module {} failed to load: {}",
                    m.path,
                    message(&e)
                ));
            }
        }
        Ok(())
    }

    /// Registers a stand-in for each function the registry sends to Lua
    /// ([`Program::routed`]) that this program's modules no longer
    /// register (a reload dropped it): an RPC answers NOT_FOUND "RPC
    /// function not found", a before hook passes its input through, an
    /// after hook and the other hooks do nothing — as if it had never
    /// been registered, until a restart removes it from the registry.
    fn stand_in(&self) -> mlua::Result<()> {
        let routed = self.current.program.routed.clone();
        let cb = self.callbacks()?;
        let chunk = |code: &str| -> mlua::Result<Function> {
            self.lua
                .load(code)
                .set_name("=kairos")
                .set_mode(ChunkMode::Text)
                .eval()
        };
        let missing = |t: &Table, key: &str| -> mlua::Result<bool> {
            Ok(t.raw_get::<Option<Function>>(key)?.is_none())
        };
        let rpcs: Table = cb.raw_get("rpc")?;
        for id in &routed.rpcs {
            if missing(&rpcs, id)? {
                let f = chunk(r#"return function() error({"RPC function not found", 5}) end"#)?;
                rpcs.raw_set(id.as_str(), f)?;
            }
        }
        let before: Table = cb.raw_get("before")?;
        let after: Table = cb.raw_get("after")?;
        let keyed = |prefix: &str, names: &[String]| -> Vec<String> {
            names.iter().map(|n| format!("{prefix}{n}")).collect()
        };
        let befores = keyed("api:", &routed.before_api)
            .into_iter()
            .chain(keyed("rt:", &routed.before_rt));
        for key in befores {
            if missing(&before, &key)? {
                // A call without a body (nil) goes on with an empty one:
                // nil would drop it.
                let f = chunk(
                    "return function(_, input) if input == nil then return {} end return input end",
                )?;
                before.raw_set(key, f)?;
            }
        }
        let afters = keyed("api:", &routed.after_api)
            .into_iter()
            .chain(keyed("rt:", &routed.after_rt));
        for key in afters {
            if missing(&after, &key)? {
                after.raw_set(key, chunk("return function() end")?)?;
            }
        }
        for (key, had) in [
            ("matchmaker", routed.matchmaker_matched),
            ("leaderboard_reset", routed.leaderboard_reset),
            ("tournament_end", routed.tournament_end),
            ("tournament_reset", routed.tournament_reset),
            ("shutdown", routed.shutdown),
        ] {
            if had && missing(&cb, key)? {
                cb.raw_set(key, chunk("return function() end")?)?;
            }
        }
        Ok(())
    }

    /// Makes the globals read-only: `_G` becomes an empty table whose
    /// reads go to the real one and whose writes raise an error, and so
    /// does every table in it but `package` (which `require` writes).
    fn freeze(&self) -> mlua::Result<()> {
        let lua = &self.lua;
        let g = lua.globals();
        let deny = lua.create_function(|_, _: MultiValue| {
            Err::<(), _>(mlua::Error::RuntimeError(READ_ONLY.into()))
        })?;
        let proxy = |real: Table| -> mlua::Result<Table> {
            let p = lua.create_table()?;
            let mt = lua.create_table()?;
            mt.raw_set("__index", real)?;
            mt.raw_set("__newindex", deny.clone())?;
            mt.raw_set("__metatable", false)?;
            p.set_metatable(Some(mt))?;
            Ok(p)
        };
        let real = lua.create_table()?;
        let mut keys = Vec::new();
        for pair in g.clone().pairs::<LuaValue, LuaValue>() {
            let (k, v) = pair?;
            let frozen = match (&k, v) {
                (LuaValue::String(s), v) if s.as_bytes().as_ref() == b"package" => v,
                (_, LuaValue::Table(t)) if t != g => LuaValue::Table(proxy(t)?),
                (_, v) => v,
            };
            real.raw_set(k.clone(), frozen)?;
            keys.push(k);
        }
        for k in keys {
            g.raw_set(k, LuaValue::Nil)?;
        }
        real.raw_set("_G", g.clone())?;
        let mt = lua.create_table()?;
        mt.raw_set("__index", real)?;
        mt.raw_set("__newindex", deny)?;
        mt.raw_set("__metatable", false)?;
        g.set_metatable(Some(mt))?;
        Ok(())
    }

    /// Starts a call with `nk` as its server API.
    pub fn begin(&self, nk: Option<Nk>) {
        *self.current.nk.borrow_mut() = nk;
        self.current.custom.borrow_mut().take();
        self.current
            .budget
            .start(self.current.program.limits.instructions);
    }

    /// Ends a call.
    pub fn end(&self) {
        self.current.nk.borrow_mut().take();
    }

    /// Whether the last call hit a limit (the state is then not reused).
    pub fn limit_hit(&self, e: &mlua::Error) -> bool {
        self.current.is_limit(e)
    }

    /// The callbacks table.
    pub fn callbacks(&self) -> mlua::Result<Table> {
        self.lua.named_registry_value(CALLBACKS)
    }

    /// A registered function: `kind` is `rpc`, `before` or `after`.
    pub fn callback(&self, kind: &str, key: &str) -> mlua::Result<Option<Function>> {
        let t: Table = self.callbacks()?.raw_get(kind)?;
        t.raw_get(key)
    }

    /// What the modules registered.
    pub fn registrations(&self) -> mlua::Result<Registrations> {
        let cb = self.callbacks()?;
        let keys = |kind: &str| -> mlua::Result<Vec<String>> {
            let t: Table = cb.raw_get(kind)?;
            let mut out = Vec::new();
            for pair in t.pairs::<String, LuaValue>() {
                out.push(pair?.0);
            }
            out.sort();
            Ok(out)
        };
        let split = |all: Vec<String>, prefix: &str| -> Vec<String> {
            all.iter()
                .filter_map(|k| k.strip_prefix(prefix).map(str::to_string))
                .collect()
        };
        let before = keys("before")?;
        let after = keys("after")?;
        Ok(Registrations {
            rpcs: keys("rpc")?,
            before_api: split(before.clone(), "api:"),
            before_rt: split(before, "rt:"),
            after_api: split(after.clone(), "api:"),
            after_rt: split(after, "rt:"),
            matchmaker_matched: cb.raw_get::<Option<Function>>("matchmaker")?.is_some(),
            leaderboard_reset: cb
                .raw_get::<Option<Function>>("leaderboard_reset")?
                .is_some(),
            tournament_end: cb.raw_get::<Option<Function>>("tournament_end")?.is_some(),
            tournament_reset: cb
                .raw_get::<Option<Function>>("tournament_reset")?
                .is_some(),
            shutdown: cb.raw_get::<Option<Function>>("shutdown")?.is_some(),
            storage_indexes: self.current.storage_indexes.borrow().clone(),
            storage_index_filters: keys("storage_index_filter")?,
        })
    }

    /// The error a failed call reports: `error({message, code})`'s code,
    /// else INTERNAL, with the message stripped of its position as Nakama
    /// strips it.
    pub fn to_api_error(&self, e: &mlua::Error) -> ApiError {
        let text = message(e);
        let custom = self.current.custom.borrow_mut().take();
        if let Some(c) = custom.filter(|c| c.message == text) {
            let code = Code::from_i32(c.code)
                .filter(|c| !matches!(c, Code::Ok))
                .unwrap_or(Code::Internal);
            return ApiError::new(code, c.message);
        }
        ApiError::new(Code::Internal, self.strip_position(&text))
    }

    /// `path/to/module.lua:12: message` is `message`.
    fn strip_position(&self, text: &str) -> String {
        for m in &self.current.program.modules {
            if let Some((_, msg)) = text
                .strip_prefix(m.path.as_str())
                .and_then(|rest| rest.split_once(": "))
            {
                return msg.to_string();
            }
        }
        text.to_string()
    }
}

/// `"file.lua:12: "` of the Lua function that called the running one.
fn position(lua: &Lua) -> String {
    lua.inspect_stack(1, |d| {
        let src = d.source().short_src.map(|s| s.into_owned());
        match (src, d.current_line()) {
            (Some(s), Some(line)) => format!("{s}:{line}: "),
            _ => String::new(),
        }
    })
    .unwrap_or_default()
}

/// `require`: a module runs once per state.
async fn require(lua: &Lua, name: &str) -> mlua::Result<LuaValue> {
    let package: Table = lua.globals().get("package")?;
    let loaded: Table = package.get("loaded")?;
    let marker = "kairos.loading";
    match loaded.raw_get::<LuaValue>(name)? {
        LuaValue::Nil => {}
        LuaValue::String(s) if s.as_bytes().as_ref() == marker.as_bytes() => {
            return Err(mlua::Error::RuntimeError(format!(
                "loop or previous error loading module '{name}'"
            )));
        }
        v => return Ok(v),
    }
    let preload: Table = package.get("preload")?;
    let Some(loader) = preload.raw_get::<Option<Function>>(name)? else {
        return Err(mlua::Error::RuntimeError(format!(
            "module '{name}' not found:\n\tno field package.preload['{name}']"
        )));
    };
    loaded.raw_set(name, marker)?;
    let result = loader.call_async::<LuaValue>(name).await;
    let value = match result {
        Ok(LuaValue::Nil) => LuaValue::Boolean(true),
        Ok(v) => v,
        Err(e) => {
            loaded.raw_set(name, LuaValue::Nil)?;
            return Err(e);
        }
    };
    // A module that set package.loaded[name] itself keeps its value.
    if let LuaValue::String(s) = loaded.raw_get::<LuaValue>(name)?
        && s.as_bytes().as_ref() == marker.as_bytes()
    {
        loaded.raw_set(name, value.clone())?;
        return Ok(value);
    }
    loaded.raw_get(name)
}

/// The innermost error of a chain.
pub fn root(e: &mlua::Error) -> &mlua::Error {
    match e {
        mlua::Error::CallbackError { cause, .. } => root(cause),
        mlua::Error::WithContext { cause, .. } => root(cause),
        other => other,
    }
}

/// An error's message without mlua's decoration.
pub fn message(e: &mlua::Error) -> String {
    match root(e) {
        mlua::Error::RuntimeError(m) | mlua::Error::MemoryError(m) => m.clone(),
        mlua::Error::SyntaxError { message, .. } => message.clone(),
        mlua::Error::BadArgument { cause, .. } => message(cause),
        other => other.to_string(),
    }
}

/// `(a, b).into_lua_multi(lua)` as a result.
trait IntoMulti {
    fn into_lua_multi_(self, lua: &Lua) -> mlua::Result<MultiValue>;
}

impl<T: mlua::IntoLuaMulti> IntoMulti for T {
    fn into_lua_multi_(self, lua: &Lua) -> mlua::Result<MultiValue> {
        self.into_lua_multi(lua)
    }
}
