//! A shard: one pinned executor and everything it owns — its listener, its
//! connections and sessions, its end of the mesh.
//!
//! [`Shared`] is the read-mostly state every shard sees (configuration,
//! persistence pool, token issuer, global indexes). [`Shard`] is the
//! shard-local state; it is `!Send` and only its own executor touches it.

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::rc::{Rc, Weak};
use std::sync::Arc;

use kairos_core::config::Config;
use kairos_core::session::SessionIssuer;
use kairos_store::Persist;
use uuid::Uuid;

use bytes::Bytes;

use crate::mesh::{Mesh, MeshPort};
use crate::metrics::{Registry, ShardCells};
use crate::realtime::matches::{self, JoinKind};
use crate::realtime::{chat, deliver, membership, status};
use crate::registry::SessionRegistry;
use crate::revocation::RevocationCache;
use crate::rt::LocalEvent;
use crate::session::Frames;
use crate::session::Session;
use crate::stop::StopSignal;
use crate::streams::{Presence, StreamId, StreamTable};

/// How long account deletion waits for a shard to confirm it closed the
/// user's sessions (only a shard that is stopping would take long).
const KICK_CONFIRM_WAIT: std::time::Duration = std::time::Duration::from_secs(5);

/// Messages shards send each other through the mesh.
#[derive(Debug)]
pub enum ShardMsg {
    /// Close a session that lives on the receiving shard.
    Kick {
        session_id: Uuid,
        reason: KickReason,
    },
    /// Close every session of `user` on the receiving shard, then say so
    /// through `done`.
    KickUser {
        user: Uuid,
        reason: KickReason,
        done: futures_channel::oneshot::Sender<()>,
    },
    /// To a relayed match's owner: add this presence and answer the joiner.
    MatchJoin {
        stream: StreamId,
        presence: Presence,
        cid: String,
        kind: JoinKind,
        /// The joiner's number for this request.
        join: u64,
    },
    /// To a joiner's shard: the owner refused its join request `join` of
    /// `stream` (no such match).
    JoinRefused {
        stream: StreamId,
        session_id: Uuid,
        join: u64,
    },
    /// To a stream's owner: this session left (or closed).
    StreamLeave { stream: StreamId, session_id: Uuid },
    /// To a stream's owner: remove every member (a block ends a direct
    /// conversation).
    StreamClose { stream: StreamId },
    /// To a member's shard: these sessions were removed from `stream` by
    /// its owner, and must forget they joined it.
    StreamDropped {
        stream: StreamId,
        sessions: Vec<Uuid>,
    },
    /// To a channel's owner: add this presence and answer the joiner.
    ChannelJoin {
        stream: StreamId,
        presence: Presence,
        cid: String,
    },
    /// To a channel's owner: deliver this message to every member, if
    /// `sender` still is one.
    ChannelSend {
        stream: StreamId,
        sender: Uuid,
        message: Box<kairos_schema::api::ChannelMessage>,
    },
    /// To a relayed match's owner: relay this data from `sender`.
    MatchData {
        stream: StreamId,
        sender: Uuid,
        sender_shard: usize,
        sender_wire: crate::session::Wire,
        op_code: i64,
        data: Bytes,
        reliable: bool,
        /// Only these sessions, when not empty.
        only: Vec<Uuid>,
    },
    /// To a user's status owner: show (or replace) this status presence.
    StatusTrack { presence: Presence },
    /// To a user's status owner: this session no longer shows the user online.
    StatusUntrack { user: Uuid, session_id: Uuid },
    /// To the status owner of `users`: add a follower and send back their
    /// presences as part `request` of the answer.
    StatusFollow {
        users: Vec<Uuid>,
        follower: Uuid,
        follower_shard: usize,
        follower_wire: crate::session::Wire,
        request: u64,
    },
    /// To a follower's shard: one owner's part of a follow answer.
    StatusPart {
        request: u64,
        presences: Vec<kairos_schema::rtapi::UserPresence>,
    },
    /// To the status owner of `users`: stop sending `follower` their events.
    StatusUnfollow { users: Vec<Uuid>, follower: Uuid },
    /// A latency probe: the receiver records how long it travelled.
    Probe { sent: std::time::Instant },
    /// To the shard owning a QUIC connection (by its connection id): a
    /// datagram another shard received for it.
    QuicDatagram {
        from: std::net::SocketAddr,
        data: Bytes,
    },
    /// To a member's shard: queue this message for these local sessions.
    /// One message per destination shard, one encoding per wire shared by
    /// all recipients.
    Deliver {
        sessions: Arc<[Uuid]>,
        except: Option<Uuid>,
        frames: Frames,
    },
}

/// Why a session is closed from the server side.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KickReason {
    /// `session.single_socket`: a newer socket of the same user connected.
    SingleSocket,
    /// The account was deleted.
    AccountDeleted,
}

/// State shared by all shards.
pub struct Shared {
    pub config: Config,
    pub persist: Persist,
    pub issuer: SessionIssuer,
    pub revocations: RevocationCache,
    pub registry: SessionRegistry,
    pub mesh: Arc<Mesh<ShardMsg>>,
    pub stop: StopSignal,
    /// Every shard's metric cells.
    pub metrics: Registry,
    /// Reliable-UDP connect tokens, when `udp.enabled`.
    pub udp: Option<crate::udp::grants::UdpGrants>,
    /// QUIC certificate and address, when `quic.enabled`.
    pub quic: Option<crate::quic::QuicShared>,
}

/// One shard's own state.
pub struct Shard {
    pub id: usize,
    /// This shard itself, for spawning tasks that outlive a borrow of it.
    me: Weak<Shard>,
    pub shared: Arc<Shared>,
    pub port: MeshPort<ShardMsg>,
    /// This shard's metric cells; only this shard writes them.
    pub metrics: ShardCells,
    pub sessions: RefCell<HashMap<Uuid, Rc<Session>>>,
    /// The streams this shard owns.
    pub streams: RefCell<StreamTable>,
    /// The users whose status this shard owns.
    pub status: RefCell<status::StatusTable>,
    /// Follow answers being gathered for this shard's sessions.
    pub pending_follows: RefCell<HashMap<u64, status::PendingFollow>>,
    next_request: Cell<u64>,
    /// Open HTTP connections (including ones upgrading to WebSocket).
    pub http_conns: Cell<usize>,
    /// Set when the shard begins its graceful shutdown.
    pub stopping: LocalEvent,
    /// This shard's QUIC endpoint, for datagrams other shards forward.
    pub quic: RefCell<Option<Rc<crate::quic::adapter::QuicDriver>>>,
    /// The WebSocket sessions the keepalive sweep watches.
    pub ws_keepalive: crate::ws::keepalive::Keepalive,
}

impl Shard {
    pub fn new(id: usize, shared: Arc<Shared>) -> Rc<Shard> {
        let spin = std::time::Duration::from_micros(shared.config.mesh.spin_before_park_us);
        let port = shared
            .mesh
            .port(id)
            .with_spin(spin)
            .with_overflow_max(shared.config.kairos.session.mesh_overflow_max);
        let metrics = shared.metrics.handle(id);
        Rc::new_cyclic(|me| Shard {
            id,
            me: me.clone(),
            shared,
            port,
            streams: RefCell::new(StreamTable::new(metrics.clone())),
            metrics,
            sessions: RefCell::new(HashMap::new()),
            status: RefCell::new(status::StatusTable::default()),
            pending_follows: RefCell::new(HashMap::new()),
            next_request: Cell::new(0),
            http_conns: Cell::new(0),
            stopping: LocalEvent::default(),
            quic: RefCell::new(None),
            ws_keepalive: Default::default(),
        })
    }

    /// An owning handle to this shard.
    pub fn rc(&self) -> Rc<Shard> {
        // A shard is only reachable through its `Rc`, so this upgrade
        // cannot fail while `&self` is alive.
        self.me.upgrade().expect("a shard outlives its borrows")
    }

    /// A new id for a request this shard awaits answers to.
    pub fn next_request(&self) -> u64 {
        let n = self.next_request.get() + 1;
        self.next_request.set(n);
        n
    }

    pub fn config(&self) -> &Config {
        &self.shared.config
    }

    /// Closes a session wherever it lives.
    pub fn kick(&self, shard: usize, session_id: Uuid, reason: KickReason) {
        if shard == self.id {
            self.kick_local(session_id, reason);
        } else {
            self.port.send(shard, ShardMsg::Kick { session_id, reason });
        }
    }

    /// Closes a session on this shard.
    pub fn kick_local(&self, session_id: Uuid, reason: KickReason) {
        let session = self.sessions.borrow().get(&session_id).cloned();
        if let Some(s) = session {
            s.kick(reason);
        }
    }

    /// Closes every session of `user` on every shard, and returns once
    /// each shard has marked them closing: from then on none of them
    /// serves another message (a handler still awaiting the store looks
    /// again before it relays).
    pub async fn kick_user_everywhere(&self, user: Uuid, reason: KickReason) {
        let mut replies = Vec::new();
        for to in (0..self.port.shards()).filter(|&to| to != self.id) {
            let (done, reply) = futures_channel::oneshot::channel();
            self.port
                .send(to, ShardMsg::KickUser { user, reason, done });
            replies.push(reply);
        }
        self.kick_user_local(user, reason);
        for reply in replies {
            // A shard that stops first may never answer: its sessions stop
            // with it, so waiting is bounded.
            let _ = crate::rt::timeout(KICK_CONFIRM_WAIT, reply).await;
        }
    }

    /// Closes every session of `user` on this shard.
    pub fn kick_user_local(&self, user: Uuid, reason: KickReason) {
        let sessions: Vec<Rc<Session>> = self
            .sessions
            .borrow()
            .values()
            .filter(|s| s.user_id == user)
            .cloned()
            .collect();
        for s in sessions {
            s.kick(reason);
        }
    }

    /// Hands a message to shard `to`: handled in place when that is this
    /// shard, else sent through the mesh.
    pub fn send_to(&self, to: usize, msg: ShardMsg) {
        if to == self.id {
            self.handle_msg(msg);
        } else {
            self.port.send(to, msg);
        }
    }

    /// Handles a batch of messages from other shards.
    pub fn handle_mesh(&self, batch: &mut Vec<(usize, ShardMsg)>) {
        for (_from, msg) in batch.drain(..) {
            self.handle_msg(msg);
        }
    }

    /// Handles one message, from the mesh or from this shard itself.
    pub fn handle_msg(&self, msg: ShardMsg) {
        match msg {
            ShardMsg::Kick { session_id, reason } => self.kick_local(session_id, reason),
            ShardMsg::KickUser { user, reason, done } => {
                self.kick_user_local(user, reason);
                let _ = done.send(());
            }
            ShardMsg::MatchJoin {
                stream,
                presence,
                cid,
                kind,
                join,
            } => matches::on_join(self, stream, presence, cid, kind, join),
            ShardMsg::JoinRefused {
                stream,
                session_id,
                join,
            } => {
                let session = self.sessions.borrow().get(&session_id).cloned();
                if let Some(s) = session {
                    s.join_refused(&stream, join);
                }
            }
            ShardMsg::StreamLeave { stream, session_id } => {
                membership::on_leave(self, stream, session_id)
            }
            ShardMsg::StreamClose { stream } => membership::on_close(self, stream),
            ShardMsg::StreamDropped { stream, sessions } => {
                membership::on_dropped(self, &stream, &sessions)
            }
            ShardMsg::ChannelJoin {
                stream,
                presence,
                cid,
            } => chat::on_join(self, stream, presence, cid),
            ShardMsg::ChannelSend {
                stream,
                sender,
                message,
            } => chat::on_send(self, stream, sender, *message),
            ShardMsg::MatchData {
                stream,
                sender,
                sender_shard,
                sender_wire,
                op_code,
                data,
                reliable,
                only,
            } => matches::on_data(
                self,
                stream,
                sender,
                sender_shard,
                sender_wire,
                op_code,
                data,
                reliable,
                only,
            ),
            ShardMsg::StatusTrack { presence } => status::on_track(self, presence),
            ShardMsg::StatusUntrack { user, session_id } => {
                status::on_untrack(self, user, session_id)
            }
            ShardMsg::StatusFollow {
                users,
                follower,
                follower_shard,
                follower_wire,
                request,
            } => status::on_follow(
                self,
                users,
                follower,
                follower_shard,
                follower_wire,
                request,
            ),
            ShardMsg::StatusPart { request, presences } => {
                status::on_part(self, request, presences)
            }
            ShardMsg::StatusUnfollow { users, follower } => {
                status::on_unfollow(self, users, follower)
            }
            ShardMsg::Deliver {
                sessions,
                except,
                frames,
            } => deliver::to_local(self, &sessions, except, &frames),
            ShardMsg::Probe { sent } => self.metrics.mesh_hop.record(sent.elapsed()),
            ShardMsg::QuicDatagram { from, data } => {
                let driver = self.quic.borrow().clone();
                if let Some(d) = driver {
                    d.feed(from, bytes::BytesMut::from(&data[..]));
                }
            }
        }
    }
}
