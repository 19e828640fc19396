//! Before and after hooks: game code that runs around a REST call or a
//! realtime message, as Nakama's `register_req_before` / `_after` and
//! `register_rt_before` / `_after` do.
//!
//! * A **before** hook gets the request and returns it, possibly
//!   rewritten (`Ok(Some(..))`), disables it (`Ok(None)`, which is how
//!   Nakama's users disable an API: "Requested resource was not found.",
//!   on REST as NOT_FOUND; on a socket as UNRECOGNIZED_PAYLOAD, after
//!   which the session ends, as Nakama ends it), or rejects it with an
//!   error the client sees (REST: its code and message; realtime:
//!   RUNTIME_FUNCTION_EXCEPTION with its message; the session goes on).
//! * An **after** hook gets the request (and for REST the JSON response)
//!   once it has been served without an error; it cannot change what the
//!   client got, and its error is only logged.
//!
//! Realtime hooks get the typed message ([`Incoming`]). REST hooks get
//! [`ApiRequest`]: the route's Nakama method name, its query and its JSON
//! body, the same for every route. Hooks run guarded like RPCs (a panic
//! or an overrun fails the hook; a failed before hook rejects the call).

use std::future::Future;
use std::pin::Pin;

use kairos_core::error::ApiError;
use kairos_schema::rtapi::Incoming;
use serde_json::Value;

use super::Context;

/// What a before hook decides.
pub type Before<T> = Result<Option<T>, ApiError>;

/// A REST call as hooks see it.
#[derive(Clone, Debug, PartialEq)]
pub struct ApiRequest {
    /// Nakama's method name for the route (`AuthenticateDevice`,
    /// `GetAccount`, `RpcFunc`, ...), as the metrics name it.
    pub route: &'static str,
    /// The query parameters, in order.
    pub query: Vec<(String, String)>,
    /// The JSON body; `Null` when the call had none.
    pub body: Value,
}

type Boxed<T> = Pin<Box<dyn Future<Output = T>>>;

/// A before hook on a realtime message.
pub trait BeforeRt: Send + Sync + 'static {
    fn call(&self, ctx: Context, msg: Incoming) -> Boxed<Before<Incoming>>;

    /// The same, told the envelope's `cid` (Lua's hooks show it in the
    /// envelope table); by default the `cid` is not used.
    fn call_envelope(&self, ctx: Context, _cid: &str, msg: Incoming) -> Boxed<Before<Incoming>> {
        self.call(ctx, msg)
    }
}

impl<F, Fut> BeforeRt for F
where
    F: Fn(Context, Incoming) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Before<Incoming>> + 'static,
{
    fn call(&self, ctx: Context, msg: Incoming) -> Boxed<Before<Incoming>> {
        Box::pin(self(ctx, msg))
    }
}

/// An after hook on a realtime message.
pub trait AfterRt: Send + Sync + 'static {
    fn call(&self, ctx: Context, msg: Incoming) -> Boxed<Result<(), ApiError>>;

    /// Whether this hook is given the reply ([`AfterRt::call_envelope`]):
    /// the server then keeps it, waits for one an owner sends later, and
    /// runs no hook for a message answered with an error, as Nakama does.
    /// Off by default: nothing is kept for a hook that does not use it.
    fn wants_reply(&self) -> bool {
        false
    }

    /// The same, told the envelope's `cid` and the reply the client got
    /// (`None` when the message has none), in Nakama's JSON form:
    /// `{"cid": "1", "channel": {...}}`. Lua's hooks get both, as
    /// Nakama's do; by default they are not used.
    fn call_envelope(
        &self,
        ctx: Context,
        _cid: &str,
        msg: Incoming,
        _reply: Option<Value>,
    ) -> Boxed<Result<(), ApiError>> {
        self.call(ctx, msg)
    }
}

impl<F, Fut> AfterRt for F
where
    F: Fn(Context, Incoming) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<(), ApiError>> + 'static,
{
    fn call(&self, ctx: Context, msg: Incoming) -> Boxed<Result<(), ApiError>> {
        Box::pin(self(ctx, msg))
    }
}

/// A before hook on a REST call.
pub trait BeforeApi: Send + Sync + 'static {
    fn call(&self, ctx: Context, req: ApiRequest) -> Boxed<Before<ApiRequest>>;
}

impl<F, Fut> BeforeApi for F
where
    F: Fn(Context, ApiRequest) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Before<ApiRequest>> + 'static,
{
    fn call(&self, ctx: Context, req: ApiRequest) -> Boxed<Before<ApiRequest>> {
        Box::pin(self(ctx, req))
    }
}

/// An after hook on a REST call: the request as it was served, and the
/// JSON response the client got.
pub trait AfterApi: Send + Sync + 'static {
    fn call(&self, ctx: Context, req: ApiRequest, response: Value) -> Boxed<Result<(), ApiError>>;
}

impl<F, Fut> AfterApi for F
where
    F: Fn(Context, ApiRequest, Value) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<(), ApiError>> + 'static,
{
    fn call(&self, ctx: Context, req: ApiRequest, response: Value) -> Boxed<Result<(), ApiError>> {
        Box::pin(self(ctx, req, response))
    }
}

/// The shutdown hook: run once on a graceful stop with a grace period
/// (`shutdown_grace_sec` above 0), given the grace period in seconds, as
/// Nakama's `register_shutdown`. The stop waits for it at most that long.
pub trait ShutdownFn: Send + Sync + 'static {
    fn call(&self, ctx: Context, grace_seconds: u64) -> Boxed<()>;
}

impl<F, Fut> ShutdownFn for F
where
    F: Fn(Context, u64) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = ()> + 'static,
{
    fn call(&self, ctx: Context, grace_seconds: u64) -> Boxed<()> {
        Box::pin(self(ctx, grace_seconds))
    }
}
