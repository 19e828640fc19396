//! The realtime `rpc` message: calling game code on the session's socket,
//! on every transport. As in Nakama's pipeline, an empty id is BAD_INPUT,
//! an unknown one RUNTIME_FUNCTION_NOT_FOUND, and a function's error (or
//! panic, or timeout) RUNTIME_FUNCTION_EXCEPTION with its message;
//! success answers `rpc` with the id as the client sent it and the
//! result. The session's reader awaits the call, so a session's messages
//! stay in order, as Nakama serves them.

use std::rc::Rc;

use kairos_schema::rtapi::{ErrorCode, Outgoing, Rpc, RpcOut};

use crate::modules::Context;
use crate::modules::rpc::{Refused, invoke};
use crate::session::Session;
use crate::shard::Shard;

/// Serves one `rpc` message; returns whether it succeeded.
pub async fn call(shard: &Rc<Shard>, session: &Rc<Session>, cid: &str, rpc: Rpc) -> bool {
    let ctx = Context::for_session(shard.clone(), session);
    let (code, message) = match invoke(shard, &rpc.id, ctx, rpc.payload).await {
        Ok(payload) => {
            session.send_envelope(
                cid,
                &Outgoing::Rpc(RpcOut {
                    id: rpc.id,
                    payload,
                }),
            );
            return true;
        }
        Err(Refused::NoId) => (ErrorCode::BadInput, "RPC ID must be set".to_string()),
        Err(Refused::NotFound) => (
            ErrorCode::RuntimeFunctionNotFound,
            "RPC function not found".to_string(),
        ),
        Err(Refused::Failed(e)) => (ErrorCode::RuntimeFunctionException, e.message.into_owned()),
    };
    session.send_envelope(cid, &Outgoing::error(code, message));
    false
}
