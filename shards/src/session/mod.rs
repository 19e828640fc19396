//! A realtime session, whatever carries it.
//!
//! A [`Session`] is one authenticated client connection on the shard that
//! accepted it: its identity, the [`Wire`] it speaks, its bounded outgoing
//! queue, and what it joined. Transports drive it:
//! * the WebSocket driver (`crate::ws`) reads frames and writes the queue to
//!   its socket;
//! * the reliable-UDP and QUIC drivers feed it messages from their
//!   connections and move its queue onto them.
//!
//! Every transport hands inbound envelopes to [`dispatch::handle`] in
//! order, from one task per session, so a session's requests are served in
//! the order it sent them. Everything a session is sent goes through its
//! queue: a client too slow to keep it under `socket.outgoing_queue_size`
//! is closed and costs the shard nothing more.

pub(crate) mod dispatch;
pub(crate) mod driven;
pub(crate) mod forward;
mod hooks;
mod inbox;
pub(crate) mod lifecycle;
pub(crate) mod moving;
pub(crate) mod rate;
pub mod wire;

pub(crate) use inbox::Inbox;
pub use wire::{Frame, Frames, Wire, WireSet};

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use kairos_core::token::Claims;
use kairos_core::uuid_text::uuid_text;
use kairos_schema::rtapi::{Outgoing, UserPresence};
use uuid::Uuid;

use crate::fanout::{Presence, StreamId};
use crate::metrics::ShardCells;
use crate::rt::{LocalEvent, LocalNotify, LocalQueue};

/// Close code and reason Nakama uses when the server ends a session.
pub(crate) const SERVER_CLOSE: (u16, &str) = (
    kairos_net::ws::close::NORMAL,
    "server-side session disconnect",
);

/// How a session joined a stream.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct JoinFlags {
    /// Its chat messages are kept in the channel's history.
    pub persistence: bool,
    /// It is left out of presence lists and events.
    pub hidden: bool,
}

/// What carries a session.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Transport {
    WebSocket,
    ReliableUdp,
    Quic,
}

/// What authentication learned about a session.
pub(crate) struct SessionParams {
    pub id: Uuid,
    pub user_id: Uuid,
    pub username: String,
    /// The session token's claims (token id, expiry, vars), checked again
    /// against revocations once the session is registered.
    pub claims: Claims,
    pub wire: Wire,
    pub transport: Transport,
    pub status: bool,
}

pub(crate) struct Session {
    pub id: Uuid,
    pub user_id: Uuid,
    pub username: String,
    /// The session token's id and issue time, for revocation checks.
    pub token_id: Option<Uuid>,
    pub issued_ms: i64,
    /// The token's expiry (Unix seconds) and `vrs` variables, which game
    /// code sees in its context.
    pub expiry: i64,
    pub vars: std::collections::BTreeMap<String, String>,
    pub wire: Wire,
    pub transport: Transport,
    /// Connected with `status=true`.
    pub status: bool,
    out: LocalQueue<Frame>,
    /// Set once closing starts; the driver then sends what is queued and
    /// ends the connection with this code and reason.
    close: RefCell<Option<(u16, String)>>,
    closing: Cell<bool>,
    /// Streams this session joined (their owners hold the membership).
    streams: RefCell<Vec<Joined>>,
    /// Join requests made so far, to number them.
    joins: Cell<u64>,
    /// Whether this session shows its user online (status presence).
    pub status_tracked: Cell<bool>,
    /// Users whose status this session follows.
    pub follows: RefCell<Vec<Uuid>>,
    /// Set once one of its presences was queued in the matchmaker (its
    /// own ticket, or its party's): its end then tells the matchmaker,
    /// which other sessions' ends need not.
    pub matchmaking: Cell<bool>,
    /// Its own matchmaker tickets still queued or being matched: added,
    /// and neither removed nor told of their match yet.
    pub tickets: RefCell<Vec<String>>,
    /// Set once the session asked for something that records it on its
    /// shard other than through its streams (a party): it never moves to
    /// another shard ([`moving`]).
    pinned: Cell<bool>,
    /// The shards it moved away from, which forward what is still sent
    /// to it there until it ends ([`moving`]).
    origins: RefCell<Vec<usize>>,
    /// When it last moved, if it did: it moves again no sooner than
    /// [`moving::MOVE_INTERVAL`] after.
    moved_at: Cell<Option<std::time::Instant>>,
    /// Set when the session is over and cleaned up.
    pub finished: LocalEvent,
    /// The owning shard's metric cells.
    pub metrics: ShardCells,
    /// Its message rate (`kairos.session.max_messages_per_sec`).
    pub rate: rate::RateLimit,
    /// Set only while a message with a realtime after hook is served:
    /// the first envelope then sent with its `cid` is kept for the hook
    /// (`reply`). Without after hooks this stays false and sending costs
    /// one flag test.
    capturing: Cell<bool>,
    reply: RefCell<Option<Box<ReplyCapture>>>,
    /// Its presence as relayed match data names the sender, and that
    /// presence's JSON, built on its first message and lent to each one
    /// after ([`Session::lend_sender`]).
    sender: Cell<Option<(UserPresence, Vec<u8>)>>,
}

/// The reply an after hook waits for: the request's `cid`, what answered
/// it, and the wake-up of a wait for a reply from another shard.
struct ReplyCapture {
    cid: String,
    reply: Reply,
    sent: Rc<LocalNotify>,
}

/// What answered a request, as an after hook sees it.
#[derive(Debug, PartialEq)]
pub(crate) enum Reply {
    /// Nothing yet (or nothing at all: the message has no reply).
    Pending,
    /// The envelope, as Nakama's JSON.
    Sent(serde_json::Value),
    /// An error: the message failed, and runs no after hook.
    Failed,
}

impl Session {
    pub fn new(p: SessionParams, queue_size: usize, metrics: ShardCells) -> Session {
        Session {
            id: p.id,
            user_id: p.user_id,
            username: p.username,
            token_id: p.claims.token_id(),
            issued_ms: p.claims.issued_millis(),
            expiry: p.claims.exp,
            vars: p.claims.vrs,
            wire: p.wire,
            transport: p.transport,
            status: p.status,
            out: LocalQueue::new(queue_size),
            close: RefCell::new(None),
            closing: Cell::new(false),
            streams: RefCell::new(Vec::new()),
            joins: Cell::new(0),
            status_tracked: Cell::new(false),
            follows: RefCell::new(Vec::new()),
            matchmaking: Cell::new(false),
            tickets: RefCell::new(Vec::new()),
            pinned: Cell::new(false),
            origins: RefCell::new(Vec::new()),
            moved_at: Cell::new(None),
            finished: LocalEvent::default(),
            metrics,
            rate: rate::RateLimit::default(),
            capturing: Cell::new(false),
            reply: RefCell::new(None),
            sender: Cell::new(None),
        }
    }

    /// Starts keeping the reply to request `cid` for an after hook.
    pub(crate) fn capture_reply(&self, cid: &str) {
        *self.reply.borrow_mut() = Some(Box::new(ReplyCapture {
            cid: cid.to_owned(),
            reply: Reply::Pending,
            sent: Rc::default(),
        }));
        self.capturing.set(true);
    }

    /// While the captured request has no reply yet: what is notified
    /// when one comes.
    pub(crate) fn reply_pending(&self) -> Option<Rc<LocalNotify>> {
        let slot = self.reply.borrow();
        let c = slot.as_ref()?;
        (c.reply == Reply::Pending).then(|| c.sent.clone())
    }

    /// Stops keeping replies; what answered the request.
    pub(crate) fn take_reply(&self) -> Reply {
        self.capturing.set(false);
        self.reply
            .borrow_mut()
            .take()
            .map_or(Reply::Pending, |c| c.reply)
    }

    /// Keeps `reply` (made only now) if it is the first sent with the
    /// captured request's `cid`.
    #[cold]
    fn keep_reply(&self, cid: &str, reply: impl FnOnce() -> Reply) {
        let mut slot = self.reply.borrow_mut();
        if let Some(c) = slot.as_mut()
            && c.cid == cid
        {
            c.reply = reply();
            self.capturing.set(false);
            c.sent.notify();
        }
    }

    /// Keeps a reply that came encoded (from another shard) for a request
    /// with a `cid` (without one, a reply is not told from a push).
    #[cold]
    fn keep_frame(&self, bytes: &[u8]) {
        let cid = match self.reply.borrow().as_ref() {
            Some(c) if !c.cid.is_empty() => c.cid.clone(),
            _ => return,
        };
        let Some(v) = self.wire.reply_json(bytes) else {
            return;
        };
        if v.get("cid").and_then(|c| c.as_str()) == Some(cid.as_str()) {
            self.keep_reply(&cid, || {
                if v.get("error").is_some() {
                    Reply::Failed
                } else {
                    Reply::Sent(v)
                }
            });
        }
    }

    /// Queues a frame encoded for this session's wire. Returns false (and
    /// closes the session) when the client is too slow to keep its queue
    /// under the limit.
    pub fn send(&self, frame: Frame) -> bool {
        if self.closing.get() {
            return false;
        }
        if self.out.push(frame).is_err() {
            tracing::info!(session = %self.id, user = %self.user_id, "outgoing queue full; closing session");
            self.close(
                kairos_net::ws::close::POLICY_VIOLATION,
                "session outgoing queue full",
            );
            return false;
        }
        true
    }

    /// Queues this session's encoding of a shared message.
    pub fn send_frames(&self, frames: &Frames) -> bool {
        match frames.frame(self.wire) {
            Some(f) => {
                if self.capturing.get() {
                    self.keep_frame(&f.bytes);
                }
                self.send(f)
            }
            None => {
                // Owners encode for every wire their members use, so this
                // would be a bug; dropping one message beats a panic.
                tracing::error!(session = %self.id, wire = ?self.wire, "message not encoded for this session's wire");
                false
            }
        }
    }

    /// Encodes and queues an envelope.
    pub fn send_envelope(&self, cid: &str, msg: &Outgoing) -> bool {
        if self.capturing.get() {
            self.keep_reply(cid, || match msg {
                Outgoing::Error(_) => Reply::Failed,
                m => serde_json::from_slice(&m.to_json(cid)).map_or(Reply::Pending, Reply::Sent),
            });
        }
        self.send(Frame::reliable(self.wire.encode(cid, msg)))
    }

    /// Queues the empty reply to request `cid`.
    pub fn send_empty_reply(&self, cid: &str) -> bool {
        if self.capturing.get() {
            self.keep_reply(cid, || {
                let mut envelope = serde_json::Map::new();
                if !cid.is_empty() {
                    envelope.insert("cid".into(), cid.into());
                }
                Reply::Sent(serde_json::Value::Object(envelope))
            });
        }
        self.send(Frame::reliable(self.wire.empty_reply(cid)))
    }

    /// Starts closing: nothing more is queued, and the driver ends the
    /// connection with `code` and `reason` once the queue is out.
    /// Idempotent.
    pub fn close(&self, code: u16, reason: &str) {
        if self.closing.replace(true) {
            return;
        }
        *self.close.borrow_mut() = Some((code, reason.to_string()));
        self.out.notify.notify();
    }

    pub fn is_closing(&self) -> bool {
        self.closing.get()
    }

    /// The code and reason to close with, once closing.
    pub fn close_reason(&self) -> Option<(u16, String)> {
        self.close.borrow().clone()
    }

    /// Closes the session on the server's initiative, first telling the
    /// client why with `notice`, if any, past the queue limit (not when it
    /// is already closing).
    pub fn kick(&self, notice: Option<&Outgoing>) {
        if let Some(msg) = notice
            && !self.closing.get()
        {
            self.out
                .push_urgent(Frame::reliable(self.wire.encode("", msg)));
        }
        self.close(SERVER_CLOSE.0, SERVER_CLOSE.1);
    }

    /// Moves up to `max` queued frames into `out`, for the driver.
    pub fn drain_outgoing(&self, out: &mut Vec<Frame>, max: usize) {
        self.out.drain_into(out, max);
    }

    /// This session as the sender of relayed match data, as Nakama's
    /// pipeline names it (user id, session id and username; no status,
    /// persistence false), lent to `f` to encode with, with its JSON
    /// ([`kairos_schema::rtapi::presence_json`]), and then kept: a session
    /// relays many messages, and its ids need not be formatted, nor its
    /// strings copied or scanned for escapes, for each.
    pub fn lend_sender<R>(&self, f: impl FnOnce(UserPresence, &[u8]) -> (R, UserPresence)) -> R {
        let (presence, json) = self.sender.take().unwrap_or_else(|| {
            let presence = UserPresence {
                user_id: uuid_text(self.user_id),
                session_id: uuid_text(self.id),
                username: self.username.clone(),
                persistence: false,
                status: None,
            };
            let json = kairos_schema::rtapi::presence_json(&presence);
            (presence, json)
        });
        let (result, presence) = f(presence, &json);
        self.sender.set(Some((presence, json)));
        result
    }

    /// Takes the oldest queued frame, for the driver.
    pub fn pop_outgoing(&self) -> Option<Frame> {
        self.out.pop()
    }

    /// Whether no frame is queued.
    pub fn outgoing_is_empty(&self) -> bool {
        self.out.is_empty()
    }

    /// Signalled whenever a frame is queued or closing starts.
    pub fn outgoing_notify(&self) -> &LocalNotify {
        &self.out.notify
    }

    /// This session's presence in a stream, as the owner records it.
    pub fn presence(&self, shard: usize, status: Option<String>) -> Presence {
        self.presence_with(shard, status, JoinFlags::default())
    }

    /// The same, joined with `flags`.
    pub fn presence_with(
        &self,
        shard: usize,
        status: Option<String>,
        flags: JoinFlags,
    ) -> Presence {
        Presence {
            session_id: self.id,
            user_id: self.user_id,
            username: self.username.clone(),
            shard,
            wire: self.wire,
            persistence: flags.persistence,
            hidden: flags.hidden,
            status,
        }
    }

    /// Remembers a stream joined, so that closing leaves it. Joining again
    /// keeps the first flags, as the owner keeps the first presence.
    /// Returns the join request's number, for [`Session::join_refused`].
    pub fn track_stream(&self, stream: StreamId, flags: JoinFlags) -> u64 {
        let n = self.joins.get() + 1;
        self.joins.set(n);
        let mut streams = self.streams.borrow_mut();
        match streams.iter_mut().find(|j| j.stream == stream) {
            Some(entry) => entry.join = n,
            None => streams.push(Joined::new(stream, flags, n)),
        }
        n
    }

    /// Remembers a stream joined with `flags`, replacing the flags of an
    /// earlier join of it (game code's `stream_user_update`).
    pub fn retrack_stream(&self, stream: StreamId, flags: JoinFlags) {
        let n = self.joins.get() + 1;
        self.joins.set(n);
        let mut streams = self.streams.borrow_mut();
        match streams.iter_mut().find(|j| j.stream == stream) {
            Some(entry) => *entry = Joined::new(stream, flags, n),
            None => streams.push(Joined::new(stream, flags, n)),
        }
    }

    pub fn untrack_stream(&self, stream: &StreamId) {
        self.streams.borrow_mut().retain(|j| j.stream != *stream);
    }

    /// The owner refused join request `join` (no such match): forget the
    /// stream, unless a later request to join it is on its way.
    pub fn join_refused(&self, stream: &StreamId, join: u64) {
        self.streams
            .borrow_mut()
            .retain(|j| !(j.stream == *stream && j.join == join));
    }

    /// How this session joined `stream`, if it did.
    pub fn joined(&self, stream: &StreamId) -> Option<JoinFlags> {
        self.streams
            .borrow()
            .iter()
            .find(|j| j.stream == *stream)
            .map(|j| j.flags)
    }

    /// Whether this session counts the relayed match `id` among its
    /// streams: `joined(&StreamId::relayed_match(id)).is_some()`, without
    /// building the stream's id or following its strings. The relay asks
    /// it of each recipient on a shard whose list of members may be older
    /// than the owner's.
    pub fn in_relayed_match(&self, id: Uuid) -> bool {
        self.streams.borrow().iter().any(|j| j.relayed == Some(id))
    }

    /// Whether joining `stream` would take this session past its limits
    /// (`kairos.session.max_matches`, `max_streams`, which status follows
    /// count against too): the limit's key and
    /// value, or `None` when the join may go on (a stream already joined
    /// is no new one).
    pub fn over_stream_limit(
        &self,
        stream: &StreamId,
        limits: &kairos_core::config::SessionLimits,
    ) -> Option<(&'static str, usize)> {
        let streams = self.streams.borrow();
        if streams.iter().any(|j| j.stream == *stream) {
            return None;
        }
        let is_match = |s: &StreamId| {
            s.mode == crate::fanout::mode::MATCH_RELAYED
                || s.mode == crate::fanout::mode::MATCH_AUTHORITATIVE
        };
        if is_match(stream) {
            let matches = streams.iter().filter(|j| is_match(&j.stream)).count();
            if matches >= limits.max_matches {
                return Some(("kairos.session.max_matches", limits.max_matches));
            }
        }
        if streams.len() + self.follows.borrow().len() >= limits.max_streams {
            return Some(("kairos.session.max_streams", limits.max_streams));
        }
        None
    }

    /// Streams of this mode joined.
    pub fn streams_of_mode(&self, mode: u8) -> usize {
        self.streams
            .borrow()
            .iter()
            .filter(|j| j.stream.mode == mode)
            .count()
    }

    /// Streams joined and users followed: what `kairos.session.max_streams`
    /// bounds.
    pub fn stream_count(&self) -> usize {
        self.streams.borrow().len() + self.follows.borrow().len()
    }

    pub fn take_streams(&self) -> Vec<StreamId> {
        std::mem::take(&mut *self.streams.borrow_mut())
            .into_iter()
            .map(|j| j.stream)
            .collect()
    }
}

/// A stream a session joined: how, and the number of its latest join
/// request; for a relayed match also the match's id, which
/// [`Session::in_relayed_match`] compares in place.
struct Joined {
    stream: StreamId,
    flags: JoinFlags,
    join: u64,
    /// `Some(id)` exactly when `stream` is `StreamId::relayed_match(id)`.
    relayed: Option<Uuid>,
}

impl Joined {
    fn new(stream: StreamId, flags: JoinFlags, join: u64) -> Joined {
        Joined {
            relayed: relayed_match_of(&stream),
            stream,
            flags,
            join,
        }
    }
}

/// The `id` of which `stream` is `StreamId::relayed_match(id)`, if any
/// (asked once per join, not per message).
fn relayed_match_of(stream: &StreamId) -> Option<Uuid> {
    Uuid::try_parse(&stream.subject)
        .ok()
        .filter(|&id| StreamId::relayed_match(id) == *stream)
}

#[cfg(test)]
mod tests {
    use super::moving::tests::session;
    use super::*;

    /// A relayed match is found by its id exactly when `joined` finds its
    /// stream: not after leaving it, not for another mode, another id or
    /// the same id spelled otherwise.
    #[test]
    fn relayed_matches_are_found_by_id_as_joined_finds_them() {
        let s = session(Transport::WebSocket, false);
        let id = Uuid::new_v4();
        let other = Uuid::new_v4();
        assert!(!s.in_relayed_match(id));
        let stream = StreamId::relayed_match(id);
        s.track_stream(stream.clone(), JoinFlags::default());
        assert!(s.in_relayed_match(id) && s.joined(&stream).is_some());
        assert!(!s.in_relayed_match(other));
        let near = [
            StreamId {
                mode: crate::fanout::mode::MATCH_AUTHORITATIVE,
                ..StreamId::relayed_match(other)
            },
            StreamId {
                subject: other.to_string().to_uppercase(),
                ..StreamId::relayed_match(other)
            },
            StreamId {
                subject: other.simple().to_string(),
                ..StreamId::relayed_match(other)
            },
            StreamId {
                label: "x".into(),
                ..StreamId::relayed_match(other)
            },
            StreamId {
                subcontext: "x".into(),
                ..StreamId::relayed_match(other)
            },
        ];
        for n in &near {
            s.track_stream(n.clone(), JoinFlags::default());
            assert!(s.joined(n).is_some());
            assert!(!s.in_relayed_match(other), "{n:?}");
        }
        s.retrack_stream(stream.clone(), JoinFlags::default());
        assert!(s.in_relayed_match(id));
        s.untrack_stream(&stream);
        assert!(!s.in_relayed_match(id) && s.joined(&stream).is_none());
        let join = s.track_stream(stream.clone(), JoinFlags::default());
        assert!(s.in_relayed_match(id));
        s.join_refused(&stream, join);
        assert!(!s.in_relayed_match(id));
    }

    /// The sender's presence is Nakama's pipeline's (ids as text, the
    /// username, no status, persistence false), built once with its JSON:
    /// the next message borrows the same strings and bytes.
    #[test]
    fn the_sender_is_named_once_and_lent_to_each_message() {
        let s = session(Transport::WebSocket, false);
        let (first, json, at) = s.lend_sender(|p, json| {
            (
                (
                    p.clone(),
                    json.to_vec(),
                    (p.user_id.as_ptr(), json.as_ptr()),
                ),
                p,
            )
        });
        assert_eq!(
            first,
            UserPresence {
                user_id: s.user_id.to_string(),
                session_id: s.id.to_string(),
                username: s.username.clone(),
                persistence: false,
                status: None,
            }
        );
        assert_eq!(
            serde_json::from_slice::<serde_json::Value>(&json).unwrap(),
            serde_json::to_value(&first).unwrap(),
            "the JSON is this presence's"
        );
        let again = s.lend_sender(|p, json| ((p.user_id.as_ptr(), json.as_ptr()), p));
        assert_eq!(again, at, "built again");
    }
}
