//! What every stream shares, whatever feature it serves: reaching its
//! owner, leaving it (on request, on close, or when the owner closes the
//! stream), telling the remaining members, and keeping each session's list
//! of its streams in step with their owners (invariant 9).

use kairos_schema::rtapi::{ErrorCode, Outgoing};
use uuid::Uuid;

use super::{StreamId, deliver, group};
use crate::session::{Frames, Session};
use crate::shard::{Shard, ShardMsg};

/// Messages about stream membership, whatever the stream's feature.
#[derive(Debug)]
pub enum Msg {
    /// To a stream's owner: this session left (or closed).
    Leave { stream: StreamId, session_id: Uuid },
    /// To a stream's owner: remove every member (a block ends a direct
    /// conversation).
    Close { stream: StreamId },
    /// To a member's shard: these sessions were removed from `stream` by
    /// its owner, and must forget they joined it.
    Dropped {
        stream: StreamId,
        sessions: Vec<Uuid>,
    },
    /// To a joiner's shard: the owner refused its join request `join` of
    /// `stream` (no such match).
    JoinRefused {
        stream: StreamId,
        session_id: Uuid,
        join: u64,
    },
}

impl From<Msg> for ShardMsg {
    fn from(msg: Msg) -> ShardMsg {
        ShardMsg::Streams(msg)
    }
}

/// Handles a membership message on the shard it was sent to.
pub fn on_msg(shard: &Shard, msg: Msg) {
    match msg {
        Msg::Leave { stream, session_id } => on_leave(shard, stream, session_id),
        Msg::Close { stream } => on_close(shard, stream),
        Msg::Dropped { stream, sessions } => on_dropped(shard, &stream, &sessions),
        Msg::JoinRefused {
            stream,
            session_id,
            join,
        } => {
            let session = shard.sessions.borrow().get(&session_id).cloned();
            if let Some(s) = session {
                s.join_refused(&stream, join);
            }
        }
    }
}

/// Sends a message to a stream's owner (handled here if this shard owns it).
pub fn to_owner(shard: &Shard, stream: &StreamId, msg: impl Into<ShardMsg>) {
    shard.send_to(stream.owner(shard.port.shards()), msg.into());
}

// ---- session side ----------------------------------------------------------

/// Refuses a join that would take `session` past
/// `kairos.session.max_matches` or `max_streams`, with `code`; returns
/// whether it refused (nothing is joined then).
pub fn refuse_over_limit(
    shard: &Shard,
    session: &Session,
    cid: &str,
    stream: &StreamId,
    code: ErrorCode,
) -> bool {
    let Some((key, limit)) = session.over_stream_limit(stream, &shard.config().kairos.session)
    else {
        return false;
    };
    let what = if key.ends_with("max_matches") {
        "matches"
    } else {
        "streams"
    };
    session.send_envelope(
        cid,
        &Outgoing::error(
            code,
            format!("This session is already in {limit} {what}, the most it may join ({key})."),
        ),
    );
    true
}

/// The session leaves `stream`: it forgets it at once and asks the owner to
/// remove its presence.
pub fn leave(shard: &Shard, session: &Session, stream: StreamId) {
    session.untrack_stream(&stream);
    let msg = Msg::Leave {
        stream: stream.clone(),
        session_id: session.id,
    };
    to_owner(shard, &stream, msg);
}

/// A closing session leaves every stream it was in.
pub fn leave_all(shard: &Shard, session: &Session) {
    for stream in session.take_streams() {
        let msg = Msg::Leave {
            stream: stream.clone(),
            session_id: session.id,
        };
        to_owner(shard, &stream, msg);
    }
}

/// Asks `stream`'s owner to remove every member.
pub fn close(shard: &Shard, stream: StreamId) {
    to_owner(shard, &stream.clone(), Msg::Close { stream });
}

/// The owner removed these sessions of this shard from `stream`.
fn on_dropped(shard: &Shard, stream: &StreamId, sessions: &[Uuid]) {
    let table = shard.sessions.borrow();
    for id in sessions {
        if let Some(s) = table.get(id) {
            s.untrack_stream(stream);
        }
    }
}

// ---- owner side ------------------------------------------------------------

/// Removes a presence and tells the remaining members, if the stream's
/// kind announces leaves ([`super::LeaveEvent`]).
pub(crate) fn on_leave(shard: &Shard, stream: StreamId, session_id: Uuid) {
    let mut table = shard.streams.borrow_mut();
    let Some(gone) = table.leave(&stream, session_id) else {
        return;
    };
    let left = table.left_hook();
    if let (Some(event), Some(m)) = (table.leave_event(&stream, &gone), table.get(&stream)) {
        deliver::broadcast(
            shard,
            m.targets(),
            None,
            &Frames::encode("", &event, m.wires()),
        );
    }
    drop(table);
    if let Some(left) = left {
        left(shard, &stream, &gone);
    }
}

/// Removes every member of `stream` and tells their shards, so that their
/// sessions no longer count themselves in. No events: nobody is left to
/// hear them.
pub(crate) fn on_close(shard: &Shard, stream: StreamId) {
    let Some(members) = shard.streams.borrow_mut().close(&stream) else {
        return;
    };
    for (dest, sessions) in group::by_shard(members.iter().map(|p| (p.shard, p.session_id))) {
        shard.send_to(
            dest,
            Msg::Dropped {
                stream: stream.clone(),
                sessions,
            },
        );
    }
}
