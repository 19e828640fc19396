//! RPCs: functions game code registers under an id, which clients call
//! over HTTP (`/v2/rpc/{id}`) or on their socket (the `rpc` message).
//! Both paths call [`invoke`], which finds the function, runs it guarded
//! and maps what it returns to Nakama's codes.

use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::sync::Arc;
use std::time::Duration;

use kairos_core::error::{ApiError, Code};

use super::{Context, guard};
use crate::shard::Shard;

/// What an RPC returns: its payload (any string, JSON by convention), or
/// an error whose code the caller sees (over HTTP as the status gRPC's
/// gateway maps it to, on a socket as RUNTIME_FUNCTION_EXCEPTION with its
/// message, as in Nakama).
pub type RpcResult = Result<String, ApiError>;

/// The future an RPC returns. It runs on the calling shard, so it need
/// not be `Send`.
pub type RpcFuture = Pin<Box<dyn Future<Output = RpcResult>>>;

/// A registered RPC. Implemented for every
/// `Fn(Context, String) -> impl Future<Output = RpcResult>`, so an async
/// closure or function registers as it is.
pub trait RpcFn: Send + Sync + 'static {
    fn call(&self, ctx: Context, payload: String) -> RpcFuture;
}

impl<F, Fut> RpcFn for F
where
    F: Fn(Context, String) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = RpcResult> + 'static,
{
    fn call(&self, ctx: Context, payload: String) -> RpcFuture {
        Box::pin(self(ctx, payload))
    }
}

/// Finds RPCs the registry did not have when the server started: the Lua
/// runtime's, whose reloaded modules may register new ids. Asked only
/// for ids the registry has no function for.
pub(crate) type RpcFallback = Arc<dyn Fn(&str) -> Option<Arc<dyn RpcFn>> + Send + Sync>;

/// Why a call did not produce a payload.
#[derive(Debug)]
pub enum Refused {
    /// No id was given.
    NoId,
    /// No RPC has this id.
    NotFound,
    /// The function returned an error, panicked or ran out of time.
    Failed(ApiError),
}

impl Refused {
    /// The error a REST caller gets, as Nakama's `RpcFuncHttp` words it.
    pub fn to_http(&self) -> ApiError {
        match self {
            Refused::NoId => ApiError::new(Code::InvalidArgument, "RPC ID must be set"),
            Refused::NotFound => ApiError::new(Code::NotFound, "RPC function not found"),
            Refused::Failed(e) => e.clone(),
        }
    }
}

/// Finds RPC `id` (case-insensitive) and runs it with `ctx` and
/// `payload`, guarded: a panic becomes INTERNAL, and a call past
/// `kairos.runtime.rpc_timeout_ms` is dropped with DEADLINE_EXCEEDED.
pub async fn invoke(
    shard: &Rc<Shard>,
    id: &str,
    ctx: Context,
    payload: String,
) -> Result<String, Refused> {
    if id.is_empty() {
        return Err(Refused::NoId);
    }
    let Some(f) = shard.shared.modules.rpc_or_fallback(id) else {
        return Err(Refused::NotFound);
    };
    let deadline = Duration::from_millis(shard.config().kairos.runtime.rpc_timeout_ms);
    match guard::run(f.call(ctx, payload), deadline).await {
        Ok(Ok(result)) => Ok(result),
        Ok(Err(e)) => Err(Refused::Failed(e)),
        Err(failure) => {
            if let guard::Failure::Panicked(message) = &failure {
                tracing::error!(rpc = id, panic = %message, "RPC function panicked");
            } else {
                tracing::warn!(rpc = id, "RPC function timed out");
            }
            Err(Refused::Failed(failure.to_error()))
        }
    }
}
