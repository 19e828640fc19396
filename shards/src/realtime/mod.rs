//! Realtime features, one module each. A feature has a session side (runs
//! on the shard of the session that asked: validates, persists when
//! needed, forwards) and an owner side (runs on the shard that owns the
//! stream or the user: keeps the state, answers, relays), joined by the
//! feature's own message enum (`Msg`), which the shard's envelope
//! (`ShardMsg`) carries in one variant per feature. Features build on the
//! fan-out ([`crate::fanout`]: streams, membership, delivery), not on each
//! other; notifications are the one service others call.
//!
//! * [`matches`]: relayed matches.
//! * [`parties`]: parties (their own state beyond the party stream).
//! * [`matchmaker`]: tickets in, matched groups delivered.
//! * [`chat`]: rooms, direct conversations and group channels.
//! * [`status`]: online status and follows.
//! * [`friends`]: what a friend change leaves to do (notifications, ended
//!   direct chats), for REST and game code.
//! * [`notifications`]: the server-side notification API and live delivery.
//! * [`streams`]: game code's own streams (`Nk::stream_*`).
//!
//! A new feature is a new module here with its `Msg` and `on_msg`, one
//! variant in `ShardMsg` and its line in `Shard::handle_msg`, and a field
//! in [`Features`] if it keeps state on the shard.

pub mod chat;
pub mod friends;
pub mod matches;
pub mod matchmaker;
pub mod notifications;
pub mod parties;
pub mod rpc;
pub mod status;
pub mod streams;

use kairos_core::channel;
use kairos_schema::rtapi::Outgoing;

use crate::fanout::{Presence, StreamId, mode};
use crate::session::Session;
use crate::shard::Shard;

/// Every feature's state on one shard, one field per feature that keeps
/// any (a feature whose state is its streams' memberships keeps none: the
/// shard's stream table holds those). Only the shard's own executor
/// touches it.
#[derive(Default)]
pub struct Features {
    pub status: status::State,
    /// The authoritative matches this shard runs.
    pub matches: matches::authoritative::State,
    /// The parties this shard owns, and its sessions' pending requests.
    pub parties: parties::State,
    /// The relayed matches with members on this shard: their targets, as
    /// their owners last sent them.
    pub relay: matches::replica::Replicas,
}

/// What a stream's remaining members hear when `gone` leaves it, by the
/// feature the stream serves ([`crate::fanout::LeaveEvent`]).
pub fn leave_event(stream: &StreamId, gone: &Presence) -> Option<Outgoing> {
    match stream.mode {
        mode::MATCH_RELAYED | mode::MATCH_AUTHORITATIVE => Some(matches::leave_event(stream, gone)),
        mode::PARTY => Some(parties::leave_event(stream, gone)),
        _ if channel::is_channel(stream) && !gone.hidden => Some(chat::leave_event(stream, gone)),
        _ if streams::is_game_stream(stream) => streams::leave_event(stream, gone),
        _ => None,
    }
}

/// What the owner of `stream` does after `gone` left it and the others
/// heard ([`crate::fanout::LeftHook`]): an authoritative match's handler
/// hears it; a party gets a new leader, or ends.
pub fn on_left(shard: &Shard, stream: &StreamId, gone: &Presence) {
    match stream.mode {
        mode::MATCH_AUTHORITATIVE => matches::authoritative::on_left(shard, stream, gone),
        mode::PARTY => parties::on_left(shard, stream, gone),
        _ => {}
    }
}

/// What the features do when a session opens (after it is registered):
/// with `status=true`, it shows its user online.
pub fn session_opened(shard: &Shard, session: &Session) {
    if session.status {
        status::track(shard, session, None);
    }
}

/// What the features do when a session's client will send nothing more
/// (after it left its streams): it goes offline and stops following, and
/// withdraws its requests to join parties, and its matchmaker tickets go.
pub fn session_ended(shard: &Shard, session: &Session) {
    status::on_close(shard, session);
    parties::session_ended(shard, session);
    if session.matchmaking.get() {
        shard
            .shared
            .matchmaker
            .session_closed(session.id.to_string());
    }
}
