//! Serving a realtime message with the game's before and after hooks on
//! its name (`modules::hooks`). Only reached when some realtime hook is
//! registered; otherwise [`super::dispatch`] serves the message directly.

use std::rc::Rc;
use std::time::Duration;

use kairos_net::ws::close::NORMAL;
use kairos_schema::rtapi::{ErrorCode, Incoming, Outgoing};

use super::Session;
use super::dispatch::serve;
use crate::modules::{Context, guard};
use crate::shard::Shard;

/// Runs the before hook (which may rewrite, disable or reject the
/// message), serves what it let through, then, if that succeeded, runs the
/// after hook with it and the reply the client got (kept only when an
/// after hook is registered for the message; a reply that comes later,
/// from a match's or a party's owner, is not seen).
pub async fn serve_hooked(
    shard: &Rc<Shard>,
    session: &Rc<Session>,
    cid: &str,
    message: Incoming,
) -> (bool, bool) {
    let modules = &shard.shared.modules;
    let name = message.name();
    let deadline = Duration::from_millis(shard.config().kairos.runtime.rpc_timeout_ms);
    let message = match modules.before_rt(name).cloned() {
        None => message,
        Some(hook) => {
            let ctx = Context::for_session(shard.clone(), session);
            let why = match guard::run(hook.call_envelope(ctx, cid, message), deadline).await {
                Ok(Ok(Some(rewritten))) => Ok(rewritten),
                // Disabled, as Nakama answers a before hook's nil: an
                // error, and the session ends.
                Ok(Ok(None)) => {
                    tracing::warn!(message = name, "before hook disabled the message");
                    session.send_envelope(
                        cid,
                        &Outgoing::error(
                            ErrorCode::UnrecognizedPayload,
                            "Requested resource was not found.",
                        ),
                    );
                    session.close(NORMAL, "error processing message");
                    return (false, false);
                }
                Ok(Err(e)) => Err(e.message.into_owned()),
                Err(failure) => {
                    tracing::error!(message = name, ?failure, "before hook failed");
                    Err(failure.to_error().message.into_owned())
                }
            };
            match why {
                Ok(rewritten) => rewritten,
                Err(why) => {
                    session.send_envelope(
                        cid,
                        &Outgoing::error(ErrorCode::RuntimeFunctionException, why),
                    );
                    return (true, false);
                }
            }
        }
    };
    let Some(hook) = modules.after_rt(message.name()).cloned() else {
        return serve(shard, session, cid, message).await;
    };
    let served = message.clone();
    // The hook gets the reply the client got, as Nakama's: kept as it is
    // sent, only here.
    session.capture_reply(cid);
    let result = serve(shard, session, cid, message).await;
    let reply = session.take_reply();
    // As in Nakama, a message that failed runs no after hook.
    if !result.1 {
        return result;
    }
    let ctx = Context::for_session(shard.clone(), session);
    match guard::run(hook.call_envelope(ctx, cid, served, reply), deadline).await {
        Ok(Ok(())) => {}
        Ok(Err(e)) => tracing::warn!(message = name, error = %e.message, "after hook failed"),
        Err(failure) => tracing::error!(message = name, ?failure, "after hook failed"),
    }
    result
}
