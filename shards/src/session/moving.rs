//! A session moving to another shard: when it may, and what it takes
//! along.
//!
//! A WebSocket session that asks to join a match another shard owns moves
//! to that shard before the join is served (the socket's side of the move
//! is `crate::ws::handoff`), so that a match's members share one shard and
//! its data never crosses the mesh. Only a session that nothing records on
//! its shard may move ([`Session::may_move`]): it is in no stream and has
//! no join on its way, shows no status and follows no one, and has never
//! queued a matchmaker ticket nor asked anything of a party. What others
//! still send to it on its old shard by its id (a notification found
//! through the registry a moment before, a kick, game code's stream and
//! status calls) that shard forwards ([`super::forward`]) until the
//! session ends.
//!
//! A session moves at most once per [`MOVE_INTERVAL`]: a client that
//! joins match after match on other shards (or asks for matches that do
//! not exist) makes its shards detach and attach its socket at most that
//! often, and is served where it is in between.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use uuid::Uuid;

use super::rate::RateLimit;
use super::{Frame, Session, Transport, Wire};
use crate::metrics::ShardCells;
use crate::rt::{LocalEvent, LocalQueue};
use std::cell::{Cell, RefCell};

/// The least time between two moves of one session.
pub const MOVE_INTERVAL: Duration = Duration::from_secs(1);

/// A session on its way to another shard: everything but its socket. It
/// crosses threads, so it holds no shard-local handle.
#[derive(Debug)]
pub(crate) struct Packed {
    pub id: Uuid,
    pub user_id: Uuid,
    username: String,
    token_id: Option<Uuid>,
    issued_ms: i64,
    expiry: i64,
    vars: BTreeMap<String, String>,
    wire: Wire,
    joins: u64,
    /// It queued matchmaker tickets once: its end tells the matchmaker.
    matchmaking: bool,
    rate: RateLimit,
    /// The shards that forward to it, the one it leaves included.
    pub origins: Vec<usize>,
    /// When it left.
    moved_at: Instant,
    /// What was queued for it and not yet written, in order.
    queued: Vec<Frame>,
}

impl Session {
    /// Whether nothing records this session on its shard but the shard's
    /// own table and the registry, so that it may move to another.
    pub fn may_move(&self) -> bool {
        // Asked of every envelope a session reads: the test that fails
        // for a session in a match comes first.
        self.streams.borrow().is_empty()
            && self.transport == Transport::WebSocket
            && !self.status
            && !self.status_tracked.get()
            && self.tickets.borrow().is_empty()
            && !self.pinned.get()
            && !self.capturing.get()
            && self.follows.borrow().is_empty()
            && self
                .moved_at
                .get()
                .is_none_or(|at| at.elapsed() >= MOVE_INTERVAL)
    }

    /// Keeps this session on its shard for good: it asked for something
    /// that records it there (a party).
    pub fn pin(&self) {
        self.pinned.set(true);
    }

    /// The shards it moved away from.
    pub fn origins(&self) -> Vec<usize> {
        self.origins.borrow().clone()
    }

    /// Packs this session for shard `to`, leaving shard `here`: its
    /// identity, its rate, and the frames queued for it (taken from its
    /// queue).
    pub fn pack(&self, here: usize) -> Packed {
        let mut queued = Vec::new();
        self.drain_outgoing(&mut queued, usize::MAX);
        let mut origins = self.origins();
        if !origins.contains(&here) {
            origins.push(here);
        }
        Packed {
            id: self.id,
            user_id: self.user_id,
            username: self.username.clone(),
            token_id: self.token_id,
            issued_ms: self.issued_ms,
            expiry: self.expiry,
            vars: self.vars.clone(),
            wire: self.wire,
            joins: self.joins.get(),
            matchmaking: self.matchmaking.get(),
            rate: self.rate.copy(),
            origins,
            moved_at: Instant::now(),
            queued,
        }
    }

    /// The session `p` on shard `here`, its queued frames queued again.
    pub fn unpack(p: Packed, here: usize, queue_size: usize, metrics: ShardCells) -> Session {
        let out = LocalQueue::new(queue_size);
        for frame in p.queued {
            // At most what its old queue held, which had the same bound.
            let _ = out.push(frame);
        }
        Session {
            id: p.id,
            user_id: p.user_id,
            username: p.username,
            token_id: p.token_id,
            issued_ms: p.issued_ms,
            expiry: p.expiry,
            vars: p.vars,
            wire: p.wire,
            transport: Transport::WebSocket,
            status: false,
            out,
            close: RefCell::new(None),
            closing: Cell::new(false),
            streams: RefCell::new(Vec::new()),
            joins: Cell::new(p.joins),
            status_tracked: Cell::new(false),
            follows: RefCell::new(Vec::new()),
            matchmaking: Cell::new(p.matchmaking),
            tickets: RefCell::new(Vec::new()),
            pinned: Cell::new(false),
            origins: RefCell::new(p.origins.into_iter().filter(|&o| o != here).collect()),
            moved_at: Cell::new(Some(p.moved_at)),
            finished: LocalEvent::default(),
            metrics,
            rate: p.rate,
            capturing: Cell::new(false),
            reply: RefCell::new(None),
            sender: Cell::new(None),
        }
    }
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use crate::session::SessionParams;
    use bytes::Bytes;

    fn cells() -> ShardCells {
        crate::metrics::Registry::new(2).handle(0)
    }

    pub(in crate::session) fn session(transport: Transport, status: bool) -> Session {
        let claims = kairos_core::token::Claims {
            tid: Uuid::new_v4().to_string(),
            uid: Uuid::new_v4().to_string(),
            usn: "mover".into(),
            vrs: [("k".to_string(), "v".to_string())].into(),
            exp: 4_000_000_000,
            iat: 1_700_000_000,
        };
        Session::new(
            SessionParams {
                id: Uuid::now_v7(),
                user_id: Uuid::new_v4(),
                username: "mover".into(),
                claims,
                wire: Wire::Json,
                transport,
                status,
            },
            4,
            cells(),
        )
    }

    #[test]
    fn only_a_session_nothing_records_may_move() {
        let s = session(Transport::WebSocket, false);
        assert!(s.may_move());
        assert!(
            !session(Transport::WebSocket, true).may_move(),
            "status=true"
        );
        assert!(!session(Transport::ReliableUdp, false).may_move());
        let stream = crate::fanout::StreamId::relayed_match(Uuid::new_v4());
        s.track_stream(stream.clone(), Default::default());
        assert!(!s.may_move(), "in a stream, or joining one");
        s.untrack_stream(&stream);
        assert!(s.may_move(), "left it");
        s.follows.borrow_mut().push(Uuid::new_v4());
        assert!(!s.may_move(), "follows someone");
        s.follows.borrow_mut().clear();
        s.matchmaking.set(true);
        s.tickets.borrow_mut().push("t".into());
        assert!(!s.may_move(), "a ticket queued");
        s.tickets.borrow_mut().clear();
        assert!(s.may_move(), "its tickets matched or removed");
        s.pin();
        assert!(!s.may_move(), "asked a party");
    }

    #[test]
    fn packing_keeps_identity_queue_and_origins() {
        let s = session(Transport::WebSocket, false);
        s.track_stream(
            crate::fanout::StreamId::relayed_match(Uuid::new_v4()),
            Default::default(),
        );
        s.take_streams();
        for b in [&b"one"[..], b"two"] {
            assert!(s.send(Frame::reliable(Bytes::copy_from_slice(b))));
        }
        let packed = s.pack(0);
        assert_eq!(packed.origins, vec![0]);
        let mut left = Vec::new();
        s.drain_outgoing(&mut left, 10);
        assert!(left.is_empty(), "the queue went with it");

        let moved = Session::unpack(packed, 1, 4, cells());
        assert!(!moved.may_move(), "not again so soon");
        moved.moved_at.set(Some(
            Instant::now() - MOVE_INTERVAL - Duration::from_millis(1),
        ));
        assert!(moved.may_move(), "once the interval is over");
        assert_eq!((moved.id, moved.user_id), (s.id, s.user_id));
        assert_eq!(moved.username, "mover");
        assert_eq!(moved.vars, s.vars);
        assert_eq!((moved.token_id, moved.expiry), (s.token_id, s.expiry));
        assert_eq!(moved.joins.get(), 1, "join numbers go on");
        assert_eq!(moved.origins(), vec![0]);
        let mut queued = Vec::new();
        moved.drain_outgoing(&mut queued, 10);
        let bytes: Vec<_> = queued.iter().map(|f| f.bytes.clone()).collect();
        assert_eq!(bytes, [&b"one"[..], b"two"]);

        // Moving back to shard 0: shard 0 forwards to it no more, shard 1
        // now does.
        let back = Session::unpack(moved.pack(1), 0, 4, cells());
        assert_eq!(back.origins(), vec![1]);
    }
}
