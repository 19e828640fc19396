//! Serving one inbound envelope: decode it from the session's wire, hand
//! it to the feature it names, record it in the metrics. Transports call
//! [`handle`] for each envelope, in order, from one task per session.
//!
//! Before it serves an envelope, [`handle`] makes the session's reader
//! wait, whatever the transport, while
//! * the session is over its message rate (`kairos.session.max_messages_per_sec`,
//!   [`super::rate`]), or
//! * the mesh holds more than `kairos.session.mesh_overflow_pause`
//!   messages in overflow, until it falls to half: floods are slowed at
//!   their sources, by TCP or inbox backpressure, and the mesh's overflow
//!   stays bounded by what is in flight.
//!
//! A session that is closing (kicked, too slow, its account deleted)
//! serves nothing more: its envelopes are read and dropped. Handlers that
//! await (the store, another shard) look again once they resume, before
//! they store or relay anything.

use std::rc::Rc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use kairos_net::ws::close::NORMAL;
use kairos_schema::rtapi::{ErrorCode, Incoming, Outgoing};

use super::{Session, hooks};
use crate::realtime::{chat, matches, matchmaker, parties, rpc, status};
use crate::rt;
use crate::shard::Shard;

/// How often a reader paused by a congested mesh looks again.
const MESH_PAUSE_POLL: Duration = Duration::from_millis(1);

/// Handles one envelope and records it; false ends the session.
pub async fn handle(shard: &Rc<Shard>, session: &Rc<Session>, bytes: &Bytes) -> bool {
    if session.is_closing() {
        return true;
    }
    let mut started = Instant::now();
    let limits = &shard.config().kairos.session;
    if let Some(over) =
        session
            .rate
            .take(started, limits.max_messages_per_sec, limits.message_burst)
    {
        shard.metrics.throttled(over.first);
        rt::sleep(over.wait).await;
        started = Instant::now();
    }
    if shard.shared.mesh.total_overflowed() > limits.mesh_overflow_pause {
        shard.metrics.mesh_paused.inc();
        while shard.shared.mesh.total_overflowed() > limits.mesh_overflow_pause / 2
            && !session.is_closing()
        {
            rt::sleep(MESH_PAUSE_POLL).await;
        }
        started = Instant::now();
    }
    if session.is_closing() {
        return true;
    }
    let (keep, ok) = dispatch(shard, session, bytes).await;
    shard
        .metrics
        .message(bytes.len() as u64, started.elapsed(), !ok);
    keep
}

/// Decodes and answers one envelope. Returns whether the session goes on,
/// and whether the message was served without an error.
///
/// Handlers that wait for the database are boxed: every session's reader
/// task holds this future's state while idle, so it must stay as small as
/// the handlers on the hot path (ping, match data), not as large as the
/// largest one. Those handlers do I/O anyway; one allocation is noise there.
async fn dispatch(shard: &Rc<Shard>, session: &Rc<Session>, bytes: &Bytes) -> (bool, bool) {
    let envelope = match session.wire.decode(bytes) {
        Ok(e) => e,
        Err(e) if e.code == ErrorCode::MissingPayload => {
            session.send_envelope("", &Outgoing::error(e.code, e.message));
            session.close(NORMAL, "error processing message");
            return (false, false);
        }
        Err(e) => {
            tracing::debug!(session = %session.id, error = %e.message, "malformed realtime payload");
            session.send_envelope("", &Outgoing::error(e.code, e.message));
            session.close(NORMAL, "received malformed payload");
            return (false, false);
        }
    };
    let cid = envelope.cid;
    let message = envelope.message;
    if !shard.shared.modules.has_rt_hooks() {
        return serve(shard, session, &cid, message).await;
    }
    Box::pin(hooks::serve_hooked(shard, session, &cid, message)).await
}

/// Serves one decoded message. Returns as [`dispatch`] does.
pub(super) async fn serve(
    shard: &Rc<Shard>,
    session: &Rc<Session>,
    cid: &str,
    message: Incoming,
) -> (bool, bool) {
    if pins(&message) {
        session.pin();
    }
    match message {
        Incoming::Ping => {
            session.send_envelope(cid, &Outgoing::Pong {});
        }
        Incoming::Pong => {}
        Incoming::MatchCreate(m) => matches::create(shard, session, cid, &m.name),
        Incoming::MatchJoin(m) => {
            matches::join(shard, session, cid, &m.match_id, &m.token, m.metadata)
        }
        Incoming::MatchLeave(m) => matches::leave(shard, session, cid, &m.match_id),
        Incoming::ChannelJoin(m) => {
            return (true, Box::pin(chat::join(shard, session, cid, m)).await);
        }
        Incoming::ChannelLeave(m) => {
            return (true, chat::leave(shard, session, cid, &m.channel_id));
        }
        Incoming::ChannelMessageSend(m) => {
            return (true, Box::pin(chat::send(shard, session, cid, m)).await);
        }
        Incoming::ChannelMessageUpdate(m) => {
            return (true, Box::pin(chat::update(shard, session, cid, m)).await);
        }
        Incoming::ChannelMessageRemove(m) => {
            return (true, Box::pin(chat::remove(shard, session, cid, m)).await);
        }
        Incoming::MatchDataSend(m) => matches::send_data(shard, session, m),
        Incoming::StatusUpdate(m) => status::update(shard, session, cid, m.status),
        Incoming::StatusUnfollow(m) => {
            return (true, status::unfollow(shard, session, cid, m));
        }
        Incoming::StatusFollow(m) => {
            return (true, Box::pin(status::follow(shard, session, cid, m)).await);
        }
        Incoming::Rpc(m) => {
            return (true, Box::pin(rpc::call(shard, session, cid, m)).await);
        }
        Incoming::PartyCreate(m) => parties::create(shard, session, cid, m),
        Incoming::PartyJoin(m) => parties::join(shard, session, cid, &m.party_id),
        Incoming::PartyLeave(m) => parties::leave(shard, session, cid, &m.party_id),
        Incoming::PartyPromote(m) => parties::promote(shard, session, cid, m),
        Incoming::PartyAccept(m) => parties::accept(shard, session, cid, m),
        Incoming::PartyRemove(m) => parties::remove(shard, session, cid, m),
        Incoming::PartyClose(m) => parties::close(shard, session, cid, &m.party_id),
        Incoming::PartyJoinRequestList(m) => {
            parties::join_request_list(shard, session, cid, &m.party_id)
        }
        Incoming::PartyDataSend(m) => parties::send_data(shard, session, cid, m),
        Incoming::PartyUpdate(m) => parties::update(shard, session, cid, m),
        Incoming::PartyMatchmakerAdd(m) => parties::matchmaker_add(shard, session, cid, m),
        Incoming::PartyMatchmakerRemove(m) => parties::matchmaker_remove(shard, session, cid, m),
        Incoming::MatchmakerAdd(m) => {
            return (
                true,
                Box::pin(matchmaker::session::add(shard, session, cid, m)).await,
            );
        }
        Incoming::MatchmakerRemove(m) => {
            return (
                true,
                Box::pin(matchmaker::session::remove(shard, session, cid, m.ticket)).await,
            );
        }
        Incoming::Unhandled(name) => {
            session.send_envelope(
                cid,
                &Outgoing::error(
                    ErrorCode::UnrecognizedPayload,
                    format!("Unrecognized message: {name} is not supported by this server yet."),
                ),
            );
            return (true, false);
        }
    }
    (true, true)
}

/// Whether a message may record its session on its shard other than
/// through its streams, which keeps the session there for good
/// ([`super::moving`]): a party's owner keeps its join requests by
/// shard. Every party message does.
fn pins(message: &Incoming) -> bool {
    message.name().starts_with("party_")
}
