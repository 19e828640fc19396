//! Game code's own streams: what `Nk::stream_*` does (Nakama's
//! `StreamUserJoin`, `StreamUserUpdate`, `StreamUserLeave`,
//! `StreamUserKick`, `StreamUserGet`, `StreamUserList`, `StreamCount`,
//! `StreamClose`, `StreamSend`), and the `stream_presence_event` and
//! `stream_data` messages members receive.
//!
//! A stream is owned, as every stream, by the shard its id hashes to
//! (its membership is in that shard's stream table); its members' sessions
//! live on any shard. A join or update is asked of the session's shard
//! (found in the registry), which checks the session and its
//! `kairos.session.max_streams`, records the stream in the session's list
//! (invariant 9) and forwards the presence to the owner; a leave goes the
//! same way, so the session's list stays in step with the owner. Reads,
//! closes and sends go straight to the owner. Every call but `stream_send`
//! waits for the owner's answer, so a later call by the same game code
//! sees its effect.
//!
//! Presence events follow Nakama's tracker: a join is announced to every
//! member, the joiner included; a leave (asked, or the session closing) to
//! the members that remain; an update as a leave of the old presence and a
//! join of the new one, in one event; a hidden presence is never
//! announced; closing a stream removes everyone silently.
//!
//! * [`caller`]: the calls game code makes, on the calling shard.
//! * [`session`]: the session's shard, for joins, updates and leaves.
//! * [`owner`]: the owner's side.

mod caller;
mod owner;
mod session;

pub use caller::{Member, close, count, get, join, leave, list, send, send_raw, update};

use futures_channel::oneshot;
use kairos_core::error::ApiResult;
use kairos_schema::rtapi::{self, Outgoing, StreamPresenceEvent, UserPresence};
use uuid::Uuid;

use crate::fanout::{Presence, StreamId};
use crate::shard::{Shard, ShardMsg};

/// What game code's stream calls ask of other shards.
#[derive(Debug)]
pub enum Msg {
    /// To a session's shard: join (or update) this session's presence.
    Track(Track),
    /// To a session's shard: the session leaves `stream`.
    Untrack {
        stream: StreamId,
        session_id: Uuid,
        reply: oneshot::Sender<()>,
    },
    /// To the owner: add `presence` (or replace it, for an update) and
    /// answer whether it is new.
    Join {
        stream: StreamId,
        presence: Presence,
        update: bool,
        reply: oneshot::Sender<ApiResult<bool>>,
    },
    /// To the owner: remove a session's presence, then answer.
    Leave {
        stream: StreamId,
        session_id: Uuid,
        reply: oneshot::Sender<()>,
    },
    /// To the owner: the members, in join order.
    List {
        stream: StreamId,
        reply: oneshot::Sender<Vec<Presence>>,
    },
    /// To the owner: how many members.
    Count {
        stream: StreamId,
        reply: oneshot::Sender<usize>,
    },
    /// To the owner: remove every member, then answer.
    Close {
        stream: StreamId,
        reply: oneshot::Sender<()>,
    },
    /// To the owner: send `stream_data` (or game code's envelope) to every
    /// member, or to the members among `sessions`.
    Send(SendData),
}

/// Joining (or updating) a session's presence, on the session's shard.
#[derive(Debug)]
pub struct Track {
    pub stream: StreamId,
    pub user_id: Uuid,
    pub session_id: Uuid,
    pub hidden: bool,
    pub persistence: bool,
    pub status: String,
    /// An update: replace the presence (adding it if absent).
    pub update: bool,
    pub reply: oneshot::Sender<ApiResult<bool>>,
}

/// What game code sends a stream's members.
#[derive(Debug)]
pub enum Payload {
    /// `stream_data` with this data (`stream_send`).
    Data(String),
    /// This envelope, with its `cid` (`stream_send_raw`).
    Raw { cid: String, message: Box<Outgoing> },
}

/// A send to a stream's members.
#[derive(Debug)]
pub struct SendData {
    pub stream: StreamId,
    pub payload: Payload,
    /// Only these sessions (those of them that are members); all members
    /// when `None`.
    pub sessions: Option<Vec<Uuid>>,
    pub reliable: bool,
}

impl From<Msg> for ShardMsg {
    fn from(msg: Msg) -> ShardMsg {
        ShardMsg::GameStreams(msg)
    }
}

impl Msg {
    /// The session this message is for, when it goes to a session's
    /// shard (which forwards it if the session moved away).
    pub fn session(&self) -> Option<Uuid> {
        match self {
            Msg::Track(t) => Some(t.session_id),
            Msg::Untrack { session_id, .. } => Some(*session_id),
            _ => None,
        }
    }
}

/// Handles a message on the shard it was sent to.
pub fn on_msg(shard: &Shard, msg: Msg) {
    match msg {
        Msg::Track(t) => session::on_track(shard, t),
        Msg::Untrack {
            stream,
            session_id,
            reply,
        } => session::on_untrack(shard, stream, session_id, reply),
        Msg::Join {
            stream,
            presence,
            update,
            reply,
        } => {
            let _ = reply.send(Ok(owner::on_join(shard, stream, presence, update)));
        }
        Msg::Leave {
            stream,
            session_id,
            reply,
        } => {
            crate::fanout::membership::on_leave(shard, stream, session_id);
            let _ = reply.send(());
        }
        Msg::List { stream, reply } => {
            let _ = reply.send(owner::members(shard, &stream));
        }
        Msg::Count { stream, reply } => {
            let _ = reply.send(owner::count(shard, &stream));
        }
        Msg::Close { stream, reply } => {
            crate::fanout::membership::on_close(shard, stream);
            let _ = reply.send(());
        }
        Msg::Send(s) => owner::on_send(shard, s),
    }
}

/// Whether `stream` is game code's (a mode Kairos's features don't use).
pub fn is_game_stream(stream: &StreamId) -> bool {
    stream.mode >= crate::modules::streams::FIRST_GAME_MODE
}

/// The stream as clients see it.
fn wire_stream(stream: &StreamId) -> rtapi::Stream {
    rtapi::Stream {
        mode: i32::from(stream.mode),
        subject: stream.subject.clone(),
        subcontext: stream.subcontext.clone(),
        label: stream.label.clone(),
    }
}

/// A presence in an event: as Nakama's tracker, no status outside the
/// status streams.
fn wire_presence(p: &Presence) -> UserPresence {
    UserPresence {
        status: None,
        ..p.to_wire()
    }
}

/// `stream_presence_event` with these joins and leaves.
fn presence_event(stream: &StreamId, joins: &[&Presence], leaves: &[&Presence]) -> Outgoing {
    Outgoing::StreamPresenceEvent(StreamPresenceEvent {
        stream: wire_stream(stream),
        joins: joins.iter().map(|p| wire_presence(p)).collect(),
        leaves: leaves.iter().map(|p| wire_presence(p)).collect(),
    })
}

/// What a game stream's remaining members hear when `gone` leaves it
/// (none for a hidden presence).
pub fn leave_event(stream: &StreamId, gone: &Presence) -> Option<Outgoing> {
    (!gone.hidden).then(|| presence_event(stream, &[], &[gone]))
}
