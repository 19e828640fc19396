//! Nakama's `nk` module for Lua, by area. Each function checks its
//! arguments as Nakama's does and raises a Lua error with Nakama's words
//! (`bad argument #1 to json_decode (expects JSON string)`); what reaches
//! the server is awaited on the call's [`Nk`](crate::modules::Nk).

mod auth;
mod channels;
mod codec;
mod crypto;
mod friends;
mod groups;
mod hooks;
mod http;
mod leaderboards;
mod localcache;
mod logger;
mod matches;
mod metrics;
mod multi;
mod notifications;
mod parties;
mod runtime;
pub use runtime::env_table;
mod signing;
mod storage;
mod streams;
mod tournaments;
mod users;
mod wallet;

pub(super) use leaderboards::metadata_value;
pub(super) use tournaments::tournament_table_at;

use std::future::Future;
use std::rc::Rc;

use mlua::{FromLuaMulti, IntoLuaMulti, Lua, MultiValue, Table, Value as LuaValue};
use uuid::Uuid;

use super::state::Current;

/// The `nk` table of a state.
pub fn module(lua: &Lua, current: &Rc<Current>) -> mlua::Result<Table> {
    let nk = lua.create_table()?;
    let m = Module {
        lua,
        table: &nk,
        current,
    };
    hooks::add(&m)?;
    logger::add(&m)?;
    codec::add(&m)?;
    crypto::add(&m)?;
    http::add(&m)?;
    users::add(&m)?;
    auth::add(&m)?;
    notifications::add(&m)?;
    storage::add(&m)?;
    wallet::add(&m)?;
    multi::add(&m)?;
    friends::add(&m)?;
    groups::add(&m)?;
    streams::add(&m)?;
    matches::add(&m)?;
    parties::add(&m)?;
    leaderboards::add(&m)?;
    tournaments::add(&m)?;
    localcache::add(&m)?;
    metrics::add(&m)?;
    runtime::add(&m)?;
    signing::add(&m)?;
    channels::add(&m)?;
    Ok(nk)
}

/// What the areas add their functions with.
pub struct Module<'a> {
    pub lua: &'a Lua,
    pub table: &'a Table,
    pub current: &'a Rc<Current>,
}

impl Module<'_> {
    /// A plain function.
    pub fn sync<R: IntoLuaMulti>(
        &self,
        name: &'static str,
        f: impl Fn(&Lua, &Rc<Current>, Args) -> mlua::Result<R> + 'static,
    ) -> mlua::Result<()> {
        let current = self.current.clone();
        let func = self
            .lua
            .create_function(move |lua, args: MultiValue| f(lua, &current, Args { name, args }))?;
        self.table.raw_set(name, func)
    }

    /// A function that waits on the server.
    pub fn async_fn<R, Fut>(
        &self,
        name: &'static str,
        f: impl Fn(Lua, Rc<Current>, Args) -> Fut + 'static,
    ) -> mlua::Result<()>
    where
        R: IntoLuaMulti,
        Fut: Future<Output = mlua::Result<R>> + 'static,
    {
        let current = self.current.clone();
        let func = self
            .lua
            .create_async_function(move |lua, args: MultiValue| {
                f(lua, current.clone(), Args { name, args })
            })?;
        self.table.raw_set(name, func)
    }
}

/// A function's arguments, checked as gopher-lua's `Check*` check them.
pub struct Args {
    pub name: &'static str,
    pub args: MultiValue,
}

impl Args {
    pub fn get(&self, n: usize) -> LuaValue {
        self.args.get(n - 1).cloned().unwrap_or(LuaValue::Nil)
    }

    /// `bad argument #n to name (msg)`.
    pub fn error(&self, n: usize, msg: &str) -> mlua::Error {
        mlua::Error::RuntimeError(format!("bad argument #{n} to {} ({msg})", self.name))
    }

    fn expected(&self, n: usize, what: &str) -> mlua::Error {
        let got = self.get(n);
        self.error(n, &format!("{what} expected, got {}", type_name(&got)))
    }

    /// A string (a number is its text), as `CheckString`.
    pub fn string(&self, n: usize) -> mlua::Result<String> {
        match self.get(n) {
            LuaValue::String(s) => Ok(s.to_string_lossy()),
            LuaValue::Integer(i) => Ok(i.to_string()),
            LuaValue::Number(f) => Ok(number_text(f)),
            _ => Err(self.expected(n, "string")),
        }
    }

    /// Raw bytes of a string argument.
    pub fn bytes(&self, n: usize) -> mlua::Result<Vec<u8>> {
        match self.get(n) {
            LuaValue::String(s) => Ok(s.as_bytes().to_vec()),
            LuaValue::Integer(_) | LuaValue::Number(_) => Ok(self.string(n)?.into_bytes()),
            _ => Err(self.expected(n, "string")),
        }
    }

    pub fn opt_string(&self, n: usize, default: &str) -> mlua::Result<String> {
        match self.get(n) {
            LuaValue::Nil => Ok(default.to_string()),
            _ => self.string(n),
        }
    }

    pub fn number(&self, n: usize) -> mlua::Result<f64> {
        match self.get(n) {
            LuaValue::Integer(i) => Ok(i as f64),
            LuaValue::Number(f) => Ok(f),
            LuaValue::String(s) => s
                .to_string_lossy()
                .trim()
                .parse()
                .map_err(|_| self.expected(n, "number")),
            _ => Err(self.expected(n, "number")),
        }
    }

    pub fn int(&self, n: usize) -> mlua::Result<i64> {
        Ok(self.number(n)? as i64)
    }

    /// An integer, `default` when absent, as `OptInt`.
    pub fn opt_int(&self, n: usize, default: i64) -> mlua::Result<i64> {
        match self.get(n) {
            LuaValue::Nil => Ok(default),
            _ => self.int(n),
        }
    }

    /// The values of an array table argument, in order; `not_array` when
    /// it has other keys (Nakama's conversion then yields a map, not a
    /// list).
    pub fn array(&self, n: usize, t: &Table, not_array: &str) -> mlua::Result<Vec<LuaValue>> {
        let values: Vec<LuaValue> = t
            .sequence_values::<LuaValue>()
            .collect::<mlua::Result<_>>()?;
        let mut count = 0usize;
        for pair in t.pairs::<LuaValue, LuaValue>() {
            pair?;
            count += 1;
            if count > values.len() {
                return Err(self.error(n, not_array));
            }
        }
        Ok(values)
    }

    /// The number of arguments given (trailing nils included).
    pub fn count(&self) -> usize {
        self.args.len()
    }

    /// A boolean, as `CheckBool`.
    pub fn bool(&self, n: usize) -> mlua::Result<bool> {
        match self.get(n) {
            LuaValue::Boolean(b) => Ok(b),
            _ => Err(self.expected(n, "boolean")),
        }
    }

    pub fn opt_bool(&self, n: usize, default: bool) -> mlua::Result<bool> {
        match self.get(n) {
            LuaValue::Nil => Ok(default),
            LuaValue::Boolean(b) => Ok(b),
            _ => Err(self.expected(n, "boolean")),
        }
    }

    pub fn table(&self, n: usize) -> mlua::Result<Table> {
        match self.get(n) {
            LuaValue::Table(t) => Ok(t),
            _ => Err(self.expected(n, "table")),
        }
    }

    pub fn opt_table(&self, n: usize) -> mlua::Result<Option<Table>> {
        match self.get(n) {
            LuaValue::Nil => Ok(None),
            _ => self.table(n).map(Some),
        }
    }

    pub fn function(&self, n: usize) -> mlua::Result<mlua::Function> {
        match self.get(n) {
            LuaValue::Function(f) => Ok(f),
            _ => Err(self.expected(n, "function")),
        }
    }

    /// A user id argument: `empty` if it is empty, `invalid` if it does
    /// not parse.
    pub fn uuid(&self, n: usize, empty: &str, invalid: &str) -> mlua::Result<Uuid> {
        let s = self.string(n)?;
        if s.is_empty() {
            return Err(self.error(n, empty));
        }
        Uuid::parse_str(&s).map_err(|_| self.error(n, invalid))
    }

    #[allow(dead_code)]
    pub fn all<T: FromLuaMulti>(&self, lua: &Lua) -> mlua::Result<T> {
        T::from_lua_multi(self.args.clone(), lua)
    }
}

fn type_name(v: &LuaValue) -> &'static str {
    match v {
        LuaValue::Nil => "nil",
        LuaValue::Boolean(_) => "boolean",
        LuaValue::Integer(_) | LuaValue::Number(_) => "number",
        LuaValue::String(_) => "string",
        LuaValue::Table(_) => "table",
        LuaValue::Function(_) => "function",
        other => other.type_name(),
    }
}

/// A number as Lua 5.1 prints it (whole numbers without a fraction).
pub fn number_text(f: f64) -> String {
    if f.fract() == 0.0 && f.abs() < 1e15 {
        format!("{}", f as i64)
    } else {
        format!("{f}")
    }
}

/// A server error as a Lua error, prefixed as Nakama prefixes it.
pub fn server_error(prefix: &str, e: kairos_core::error::ApiError) -> mlua::Error {
    mlua::Error::RuntimeError(format!("{prefix}: {}", e.message))
}

/// A field of a table as a string, if set.
pub fn field_string(t: &Table, key: &str) -> mlua::Result<Option<String>> {
    match t.raw_get::<LuaValue>(key)? {
        LuaValue::Nil => Ok(None),
        LuaValue::String(s) => Ok(Some(s.to_string_lossy())),
        LuaValue::Integer(i) => Ok(Some(i.to_string())),
        LuaValue::Number(f) => Ok(Some(number_text(f))),
        _ => Err(mlua::Error::RuntimeError(format!("{key} must be a string"))),
    }
}
