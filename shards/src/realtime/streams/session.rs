//! The session's shard: joins, updates and leaves of game streams are
//! recorded in the session's own stream list before its owner hears of
//! them (invariant 9), under the session's `kairos.session.max_streams`.

use futures_channel::oneshot;
use kairos_core::error::{ApiError, Code};
use uuid::Uuid;

use super::{Msg, Track};
use crate::fanout::StreamId;
use crate::fanout::membership::to_owner;
use crate::session::JoinFlags;
use crate::shard::Shard;

/// Checks the session, records the stream in its list and hands its
/// presence to the stream's owner, which answers the caller.
pub(super) fn on_track(shard: &Shard, t: Track) {
    let session = shard.sessions.borrow().get(&t.session_id).cloned();
    let Some(session) = session.filter(|s| s.user_id == t.user_id) else {
        let _ = t.reply.send(Err(super::caller::no_session()));
        return;
    };
    if session.is_closing() {
        let verb = if t.update { "updated" } else { "new" };
        let _ = t.reply.send(Err(ApiError::new(
            Code::FailedPrecondition,
            format!("tracker rejected {verb} presence, session is closing"),
        )));
        return;
    }
    let limits = &shard.config().kairos.session;
    if let Some((key, limit)) = session.over_stream_limit(&t.stream, limits) {
        let _ = t.reply.send(Err(ApiError::new(
            Code::ResourceExhausted,
            format!("This session is already in {limit} streams, the most it may join ({key})."),
        )));
        return;
    }
    let flags = JoinFlags {
        persistence: t.persistence,
        hidden: t.hidden,
    };
    if t.update {
        session.retrack_stream(t.stream.clone(), flags);
    } else {
        session.track_stream(t.stream.clone(), flags);
    }
    let status = (!t.status.is_empty()).then_some(t.status);
    let presence = session.presence_with(shard.id, status, flags);
    let msg = Msg::Join {
        stream: t.stream.clone(),
        presence,
        update: t.update,
        reply: t.reply,
    };
    to_owner(shard, &t.stream, msg);
}

/// The session forgets the stream, then its owner removes the presence
/// and answers the caller (also when the session is gone: it left every
/// stream as it closed).
pub(super) fn on_untrack(
    shard: &Shard,
    stream: StreamId,
    session_id: Uuid,
    reply: oneshot::Sender<()>,
) {
    let session = shard.sessions.borrow().get(&session_id).cloned();
    if let Some(s) = session {
        s.untrack_stream(&stream);
    }
    let msg = Msg::Leave {
        stream: stream.clone(),
        session_id,
        reply,
    };
    to_owner(shard, &stream, msg);
}
