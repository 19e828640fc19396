//! Serving a realtime message with the game's before and after hooks on
//! its name (`modules::hooks`). Only reached when some realtime hook is
//! registered; otherwise [`super::dispatch`] serves the message directly.

use std::rc::Rc;
use std::sync::Arc;
use std::time::Duration;

use kairos_net::ws::close::NORMAL;
use kairos_schema::rtapi::{ErrorCode, Incoming, Outgoing};

use super::dispatch::serve;
use super::{Reply, Session};
use crate::modules::{AfterRt, Context, guard};
use crate::rt;
use crate::shard::Shard;

/// How often a wait for a reply looks whether the session closed.
const CLOSING_POLL: Duration = Duration::from_millis(100);

/// Runs the before hook (which may rewrite, disable or reject the
/// message), serves what it let through, then, if that succeeded, runs the
/// after hook with it and the reply the client got (kept only when an
/// after hook is registered for the message; a reply from a match's,
/// channel's, party's or status's owner is waited for).
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
    if !hook.wants_reply() {
        let result = serve(shard, session, cid, message).await;
        // As in Nakama, a message that failed runs no after hook.
        if !result.1 {
            return result;
        }
        let ctx = Context::for_session(shard.clone(), session);
        run_after(&hook, ctx, cid, served, None, deadline, name).await;
        return result;
    }
    // The hook gets the reply the client got, as Nakama's: kept as it is
    // sent, only here.
    session.capture_reply(cid);
    let result = serve(shard, session, cid, message).await;
    // The owner of a match, channel, party or followed user's status,
    // maybe on another shard, answers these once served: as Nakama's
    // pipeline does, wait for its answer (the session's next messages
    // wait too), no longer than a hook may run.
    if result.1
        && !cid.is_empty()
        && answered_by_owner(&served)
        && let Some(sent) = session.reply_pending()
    {
        let waited = rt::timeout(deadline, async {
            while session.reply_pending().is_some() && !session.is_closing() {
                // Woken by the reply; looked at again now and then in case
                // the session closes first.
                rt::timeout(CLOSING_POLL, sent.wait()).await;
            }
        })
        .await;
        if waited.is_none() {
            tracing::warn!(message = name, "no reply in time for the after hook");
        }
    }
    let reply = match session.take_reply() {
        Reply::Sent(_) if answers_nil(&served) => None,
        Reply::Sent(v) => Some(v),
        Reply::Pending => None,
        // Answered with an error: the message failed.
        Reply::Failed => return result,
    };
    // As in Nakama, a message that failed runs no after hook.
    if !result.1 {
        return result;
    }
    let ctx = Context::for_session(shard.clone(), session);
    run_after(&hook, ctx, cid, served, reply, deadline, name).await;
    result
}

/// Runs an after hook, guarded; its failure is only logged.
async fn run_after(
    hook: &Arc<dyn AfterRt>,
    ctx: Context,
    cid: &str,
    served: Incoming,
    reply: Option<serde_json::Value>,
    deadline: Duration,
    name: &str,
) {
    match guard::run(hook.call_envelope(ctx, cid, served, reply), deadline).await {
        Ok(Ok(())) => {}
        Ok(Err(e)) => tracing::warn!(message = name, error = %e.message, "after hook failed"),
        Err(failure) => tracing::error!(message = name, ?failure, "after hook failed"),
    }
}

/// Messages Nakama answers but whose pipeline gives its after hooks no
/// reply (`out` is nil): `party_leave`, and `status_follow` naming no one.
fn answers_nil(message: &Incoming) -> bool {
    match message {
        Incoming::PartyLeave(_) => true,
        Incoming::StatusFollow(m) => m.user_ids.is_empty() && m.usernames.is_empty(),
        _ => false,
    }
}

/// Messages a stream's owner answers after they are served (the session
/// side only forwards them): each gets exactly one reply with its `cid`,
/// the answer or an error.
fn answered_by_owner(message: &Incoming) -> bool {
    matches!(
        message,
        Incoming::MatchCreate(_)
            | Incoming::MatchJoin(_)
            | Incoming::ChannelJoin(_)
            | Incoming::StatusFollow(_)
            | Incoming::PartyCreate(_)
            | Incoming::PartyJoin(_)
            | Incoming::PartyPromote(_)
            | Incoming::PartyAccept(_)
            | Incoming::PartyRemove(_)
            | Incoming::PartyClose(_)
            | Incoming::PartyJoinRequestList(_)
            | Incoming::PartyDataSend(_)
            | Incoming::PartyUpdate(_)
            | Incoming::PartyMatchmakerAdd(_)
            | Incoming::PartyMatchmakerRemove(_)
    )
}
