//! Game code around REST calls: the context an HTTP call gives game code,
//! and the before and after hooks of `modules::hooks` run around a route.

use bytes::Bytes;
use hyper::HeaderMap;
use kairos_core::error::{ApiError, Code};
use serde_json::Value;

use super::auth::Caller;
use super::router::Call;
use crate::modules::guard;
use crate::modules::{ApiRequest, CallMode, Context, Nk};
use crate::shard::Shard;

/// The context of an HTTP call by `caller` (none with the HTTP key or the
/// server key).
pub fn context(
    shard: &Shard,
    caller: Option<&Caller>,
    query: &[(String, String)],
    headers: &HeaderMap,
) -> Context {
    let (user_id, username, vars, expiry) = match caller {
        Some(c) => (
            Some(c.user_id),
            c.username.clone(),
            c.claims.vrs.clone(),
            c.claims.exp,
        ),
        None => (None, String::new(), Default::default(), 0),
    };
    Context {
        mode: CallMode::Http,
        user_id,
        username,
        vars,
        expiry,
        session_id: None,
        headers: headers
            .iter()
            .filter_map(|(k, v)| Some((k.as_str().to_string(), v.to_str().ok()?.to_string())))
            .collect(),
        query: query
            .iter()
            .filter(|(k, _)| k != "http_key")
            .cloned()
            .collect(),
        client_ip: None,
        lang: String::new(),
        nk: Nk::new(shard.rc()),
    }
}

fn deadline(shard: &Shard) -> std::time::Duration {
    std::time::Duration::from_millis(shard.config().kairos.runtime.rpc_timeout_ms)
}

/// Runs the route's before hook, if it has one, on `call`: rewrites its
/// query and body, or answers the error the client gets instead.
pub async fn before(
    shard: &Shard,
    route: &'static str,
    caller: Option<&Caller>,
    call: &mut Call,
) -> Result<(), ApiError> {
    let Some(hook) = shard.shared.modules.before_api(route).cloned() else {
        return Ok(());
    };
    let body = if call.body.iter().all(|b| b.is_ascii_whitespace()) {
        Value::Null
    } else {
        serde_json::from_slice(&call.body)
            .map_err(|e| ApiError::invalid(format!("Unable to decode request body: {e}")))?
    };
    let req = ApiRequest {
        route,
        query: call.query.clone(),
        body,
    };
    let ctx = context(shard, caller, &call.query, &call.headers);
    match guard::run(hook.call(ctx, req), deadline(shard)).await {
        Ok(Ok(Some(req))) => {
            call.query = req.query;
            call.body = if req.body.is_null() {
                Bytes::new()
            } else {
                Bytes::from(req.body.to_string())
            };
            Ok(())
        }
        Ok(Ok(None)) => Err(ApiError::new(
            Code::NotFound,
            "Requested resource was not found.",
        )),
        Ok(Err(e)) => Err(e),
        Err(failure) => {
            tracing::error!(route, ?failure, "before hook failed");
            Err(failure.to_error())
        }
    }
}

/// What an after hook needs of the call, kept before the handler takes
/// the call.
pub struct AfterCall {
    req: ApiRequest,
    ctx: Context,
}

/// The request as the route's after hook will see it, if it has one.
pub fn prepare_after(
    shard: &Shard,
    route: &'static str,
    caller: Option<&Caller>,
    call: &Call,
) -> Option<AfterCall> {
    shard.shared.modules.after_api(route)?;
    let body = serde_json::from_slice(&call.body).unwrap_or(Value::Null);
    Some(AfterCall {
        req: ApiRequest {
            route,
            query: call.query.clone(),
            body,
        },
        ctx: context(shard, caller, &call.query, &call.headers),
    })
}

/// Runs the route's after hook with the response the client gets; its
/// failure is logged only.
pub async fn after(shard: &Shard, after: AfterCall, response: &[u8]) {
    let Some(hook) = shard.shared.modules.after_api(after.req.route).cloned() else {
        return;
    };
    let route = after.req.route;
    let response = serde_json::from_slice(response).unwrap_or(Value::Null);
    match guard::run(hook.call(after.ctx, after.req, response), deadline(shard)).await {
        Ok(Ok(())) => {}
        Ok(Err(e)) => tracing::warn!(route, error = %e.message, "after hook failed"),
        Err(failure) => tracing::error!(route, ?failure, "after hook failed"),
    }
}
