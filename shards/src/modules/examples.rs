//! The stock binary's example game code, registered with
//! `--kairos.runtime.examples true` (or [`ServerBuilder::with_examples`](super::ServerBuilder::with_examples)).
//! Each shows one part of the API and is what the tests and the nakama-js
//! scripts call.
//!
//! * `example.echo`: answers with its payload.
//! * `example.whoami`: answers `{"user_id","username","vars","mode",
//!   "node","query"}` from its context (an empty user id for a call made
//!   with the HTTP key; `query` lists an HTTP call's query parameters).
//! * `example.notify_me`: sends the caller a live, non-persistent
//!   notification (code 101) whose content is the payload, a JSON object.
//! * `example.fail`: returns the error its payload names,
//!   `{"code": 3, "message": "..."}`, as typed game code would.

use kairos_core::error::{ApiError, Code};
use serde_json::{Value, json};

use super::{CallMode, Context, Modules, RpcResult};

/// Registers every example into `modules`.
pub fn register(modules: &mut Modules) {
    modules.register_rpc("example.echo", std::sync::Arc::new(echo));
    modules.register_rpc("example.whoami", std::sync::Arc::new(whoami));
    modules.register_rpc("example.notify_me", std::sync::Arc::new(notify_me));
    modules.register_rpc("example.fail", std::sync::Arc::new(fail));
}

async fn echo(_ctx: Context, payload: String) -> RpcResult {
    Ok(payload)
}

async fn whoami(ctx: Context, _payload: String) -> RpcResult {
    Ok(json!({
        "user_id": ctx.user_id.map(|u| u.to_string()).unwrap_or_default(),
        "username": ctx.username,
        "vars": ctx.vars,
        "mode": match ctx.mode { CallMode::Http => "http", CallMode::Socket => "socket" },
        "node": ctx.nk.node(),
        "query": ctx.query.iter().map(|(k, v)| json!([k, v])).collect::<Vec<_>>(),
    })
    .to_string())
}

async fn notify_me(ctx: Context, payload: String) -> RpcResult {
    let Some(user) = ctx.user_id else {
        return Err(ApiError::new(
            Code::FailedPrecondition,
            "a session is required",
        ));
    };
    let content: Value = serde_json::from_str(&payload)
        .map_err(|_| ApiError::invalid("the payload must be a JSON object"))?;
    ctx.nk
        .notification_send(user, "example", content, 101, false)
        .await?;
    Ok(String::new())
}

async fn fail(_ctx: Context, payload: String) -> RpcResult {
    let v: Value = serde_json::from_str(&payload).unwrap_or(Value::Null);
    let code = v.get("code").and_then(Value::as_i64).unwrap_or(13);
    let message = v
        .get("message")
        .and_then(Value::as_str)
        .unwrap_or("example failure")
        .to_string();
    let code = Code::from_i32(code as i32).unwrap_or(Code::Unknown);
    Err(ApiError::new(code, message))
}
