//! What every stream shares, whatever feature it serves: reaching its
//! owner, leaving it (on request, on close, or when the owner closes the
//! stream), and telling the remaining members.

use std::sync::Arc;

use kairos_core::channel;
use kairos_schema::rtapi::Outgoing;
use uuid::Uuid;

use super::{chat, deliver, matches};
use crate::session::Frames;
use crate::session::Session;
use crate::shard::{Shard, ShardMsg};
use crate::streams::{Presence, StreamId, mode};

/// Sends a message to a stream's owner (handled here if this shard owns it).
pub fn to_owner(shard: &Shard, stream: &StreamId, msg: ShardMsg) {
    shard.send_to(stream.owner(shard.port.shards()), msg);
}

/// Hands `frames` to every target shard, one message per shard.
pub fn broadcast(
    shard: &Shard,
    targets: &[(usize, Arc<[Uuid]>)],
    except: Option<Uuid>,
    frames: &Frames,
) {
    for (dest, sessions) in targets {
        deliver::to_shard(shard, *dest, sessions.clone(), except, frames.clone());
    }
}

/// Hands relayed data to every target shard, one message per shard;
/// sheddable past the mesh's hard bound ([`deliver::data_to_shard`]).
pub fn broadcast_data(
    shard: &Shard,
    targets: &[(usize, Arc<[Uuid]>)],
    except: Option<Uuid>,
    frames: &Frames,
) {
    for (dest, sessions) in targets {
        deliver::data_to_shard(shard, *dest, sessions.clone(), except, frames.clone());
    }
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
    code: kairos_schema::rtapi::ErrorCode,
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
    let msg = ShardMsg::StreamLeave {
        stream: stream.clone(),
        session_id: session.id,
    };
    to_owner(shard, &stream, msg);
}

/// A closing session leaves every stream it was in.
pub fn leave_all(shard: &Shard, session: &Session) {
    for stream in session.take_streams() {
        let msg = ShardMsg::StreamLeave {
            stream: stream.clone(),
            session_id: session.id,
        };
        to_owner(shard, &stream, msg);
    }
}

/// The owner removed these sessions of this shard from `stream`.
pub fn on_dropped(shard: &Shard, stream: &StreamId, sessions: &[Uuid]) {
    let table = shard.sessions.borrow();
    for id in sessions {
        if let Some(s) = table.get(id) {
            s.untrack_stream(stream);
        }
    }
}

// ---- owner side ------------------------------------------------------------

/// The message that tells a stream's members that `gone` left, if its kind
/// of stream announces leaves.
fn leave_event(stream: &StreamId, gone: &Presence) -> Option<Outgoing> {
    match stream.mode {
        mode::MATCH_RELAYED => Some(matches::leave_event(stream, gone)),
        _ if channel::is_channel(stream) && !gone.hidden => Some(chat::leave_event(stream, gone)),
        _ => None,
    }
}

/// Removes a presence and tells the remaining members.
pub fn on_leave(shard: &Shard, stream: StreamId, session_id: Uuid) {
    let mut table = shard.streams.borrow_mut();
    let Some(gone) = table.leave(&stream, session_id) else {
        return;
    };
    let (Some(m), Some(event)) = (table.get(&stream), leave_event(&stream, &gone)) else {
        return;
    };
    broadcast(
        shard,
        m.targets(),
        None,
        &Frames::encode("", &event, m.wires()),
    );
}

/// Removes every member of `stream` and tells their shards, so that their
/// sessions no longer count themselves in. No events: nobody is left to
/// hear them.
pub fn on_close(shard: &Shard, stream: StreamId) {
    let Some(members) = shard.streams.borrow_mut().close(&stream) else {
        return;
    };
    let mut by_shard: Vec<(usize, Vec<Uuid>)> = Vec::new();
    for p in members {
        match by_shard.iter_mut().find(|(s, _)| *s == p.shard) {
            Some((_, v)) => v.push(p.session_id),
            None => by_shard.push((p.shard, vec![p.session_id])),
        }
    }
    for (dest, sessions) in by_shard {
        shard.send_to(
            dest,
            ShardMsg::StreamDropped {
                stream: stream.clone(),
                sessions,
            },
        );
    }
}
