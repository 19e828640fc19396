//! A shard: one pinned executor and everything it owns — its listener, its
//! connections and sessions, its end of the mesh.
//!
//! [`Shared`] is the read-mostly state every shard sees (configuration,
//! persistence pool, token issuer, global indexes). [`Shard`] is the
//! shard-local state; it is `!Send` and only its own executor touches it.

use std::cell::{Cell, RefCell};
use std::rc::{Rc, Weak};
use std::sync::Arc;

use kairos_core::config::Config;
use kairos_core::session::SessionIssuer;
use kairos_store::Persist;
use uuid::Uuid;

use bytes::Bytes;
use futures_channel::oneshot;

use crate::fanout::{StreamTable, deliver, membership};
use crate::http::limits::ConnLimits;
use crate::mesh::{Mesh, MeshPort};
use crate::metrics::{Registry, ShardCells};
use crate::realtime::{
    self, Features, chat, matches, matchmaker, notifications, parties, status, streams,
};
use crate::registry::SessionRegistry;
use crate::revocation::RevocationCache;
use crate::rt::LocalEvent;
use crate::session::Frames;
use crate::session::Session;
use crate::session::forward::Forwards;
use crate::stop::StopSignal;

/// How long account deletion waits for a shard to confirm it closed the
/// user's sessions (only a shard that is stopping would take long).
const KICK_CONFIRM_WAIT: std::time::Duration = std::time::Duration::from_secs(5);

/// Messages shards send each other through the mesh: an envelope with one
/// variant per realtime feature, carrying that feature's own message, and
/// the few the shard itself handles (delivery, kicks, probes, the QUIC
/// forward).
#[derive(Debug)]
pub enum ShardMsg {
    /// Relayed matches.
    Matches(matches::Msg),
    /// Chat channels.
    Chat(chat::Msg),
    /// Parties.
    Parties(parties::Msg),
    /// Status and follows.
    Status(status::Msg),
    /// Stream membership, whatever the stream's feature.
    Streams(membership::Msg),
    /// Game code's own streams (`Nk::stream_*`).
    GameStreams(streams::Msg),
    /// The matchmaker's matched groups.
    Matchmaker(matchmaker::Msg),
    /// To a member's shard: queue this message for these local sessions.
    /// One message per destination shard, one encoding per wire shared by
    /// all recipients.
    Deliver {
        sessions: Arc<[Uuid]>,
        except: Option<Uuid>,
        frames: Frames,
    },
    /// Close a session that lives on the receiving shard.
    Kick {
        session_id: Uuid,
        reason: KickReason,
        /// Told once the session is closing (or gone), if anyone waits.
        done: Option<oneshot::Sender<()>>,
    },
    /// Close every session of `user` on the receiving shard, then say so
    /// through `done`.
    KickUser {
        user: Uuid,
        reason: KickReason,
        done: oneshot::Sender<()>,
    },
    /// A latency probe: the receiver records how long it travelled.
    Probe { sent: std::time::Instant },
    /// To the shard owning a QUIC connection (by its connection id): a
    /// datagram another shard received for it.
    QuicDatagram {
        from: std::net::SocketAddr,
        data: Bytes,
    },
    /// To the shard that owns a match: a WebSocket session, with its
    /// socket, moving here to join it (`crate::ws::handoff`).
    Adopt(Box<crate::ws::handoff::Arrival>),
    /// To a shard a session moved away from: it ended, so stop
    /// forwarding to it ([`crate::session::forward`]).
    ForwardEnd { session_id: Uuid },
}

/// Why a session is closed from the server side.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KickReason {
    /// `session.single_socket`: a newer socket of the same user connected.
    SingleSocket,
    /// The account was deleted.
    AccountDeleted,
    /// The user was banned.
    Banned,
    /// Game code disconnected the session.
    Disconnect,
}

/// Closes a session on the server's initiative. A single-socket kick
/// first tells the client why (notification -7), and so does a ban
/// (notification -8, `banned`), as Nakama does.
fn kick_session(session: &Session, reason: KickReason) {
    let notice = match reason {
        KickReason::SingleSocket => Some(notifications::single_socket(session.user_id)),
        KickReason::Banned => Some(notifications::banned(session.user_id)),
        KickReason::AccountDeleted | KickReason::Disconnect => None,
    };
    session.kick(notice.as_ref());
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
    /// Game code: RPCs (and, as they land, hooks and match handlers).
    pub modules: Arc<crate::modules::Modules>,
    /// Match listing: every live match, searchable by label.
    pub listing: crate::listing::Listing,
    /// Storage indexes: every index of the node, on its own thread.
    pub storage_index: crate::storage_index::StorageIndexes,
    /// The matchmaker: every shard's tickets.
    pub matchmaker: crate::matchmaker::Matchmaker,
    /// Each shard's busyness, and where new unnamed matches go.
    pub placement: crate::placement::Placement,
    /// Each shard's inbox of matched groups, taken by the shard at start.
    pub matchmaker_inboxes: std::sync::Mutex<Vec<Option<crate::matchmaker::Inbox>>>,
    /// Leaderboards: definitions, rank indexes, the deadlines.
    pub leaderboards: crate::leaderboards::Leaderboards,
    /// The deadlines shard 0 announces, taken by it at start.
    pub leaderboard_deadlines: std::sync::Mutex<Option<crate::leaderboards::DeadlineInbox>>,
}

/// One shard's own state: what every feature shares, and each feature's
/// own state in [`Features`].
pub struct Shard {
    pub id: usize,
    /// This shard itself, for spawning tasks that outlive a borrow of it.
    me: Weak<Shard>,
    pub shared: Arc<Shared>,
    pub port: MeshPort<ShardMsg>,
    /// This shard's metric cells; only this shard writes them.
    pub metrics: ShardCells,
    /// The sessions connected to this shard, by id. Looked up for every
    /// recipient of every message, so hashed with foldhash rather than
    /// std's SipHash: the keys are ids the server drew at random, which no
    /// client chooses, and foldhash is seeded at random per map all the
    /// same.
    pub sessions: RefCell<foldhash::HashMap<Uuid, Rc<Session>>>,
    /// The sessions that moved away to another shard, whose messages this
    /// shard forwards there.
    pub forwards: Forwards,
    /// This shard's connection caps.
    pub conn_limits: Rc<ConnLimits>,
    /// The streams this shard owns (the fan-out's membership table).
    pub streams: RefCell<StreamTable>,
    /// Each realtime feature's state on this shard.
    pub features: Features,
    /// Open HTTP connections (including ones upgrading to WebSocket).
    pub http_conns: Cell<usize>,
    /// Set when the shard begins its graceful shutdown.
    pub stopping: LocalEvent,
    /// This shard's QUIC endpoint, for datagrams other shards forward.
    pub quic: RefCell<Option<Rc<crate::quic::adapter::QuicDriver>>>,
    /// The WebSocket sessions the keepalive sweep watches.
    pub ws_keepalive: crate::ws::keepalive::Keepalive,
    /// Writes idle WebSocket sessions' sockets once per turn.
    pub ws_flush: crate::ws::flush::FlushList,
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
        let sizes = realtime::matches::sizes(shared.listing.clone());
        let net = &shared.config.kairos.net;
        let conn_limits =
            ConnLimits::new(net.max_connections_per_shard, net.max_connections_per_ip);
        Rc::new_cyclic(|me| Shard {
            id,
            me: me.clone(),
            shared,
            port,
            streams: RefCell::new(StreamTable::new(
                metrics.clone(),
                realtime::leave_event,
                realtime::on_left,
                sizes,
                realtime::matches::replica::hook(me.clone()),
            )),
            forwards: Forwards::new(metrics.clone()),
            conn_limits,
            metrics,
            sessions: RefCell::new(foldhash::HashMap::default()),
            features: Features::default(),
            http_conns: Cell::new(0),
            stopping: LocalEvent::default(),
            quic: RefCell::new(None),
            ws_keepalive: Default::default(),
            ws_flush: Default::default(),
        })
    }

    /// An owning handle to this shard.
    pub fn rc(&self) -> Rc<Shard> {
        // A shard is only reachable through its `Rc`, so this upgrade
        // cannot fail while `&self` is alive.
        self.me.upgrade().expect("a shard outlives its borrows")
    }

    pub fn config(&self) -> &Config {
        &self.shared.config
    }

    /// Closes a session wherever it lives.
    pub fn kick(&self, shard: usize, session_id: Uuid, reason: KickReason) {
        if shard == self.id {
            self.kick_local(session_id, reason);
        } else {
            self.port.send(
                shard,
                ShardMsg::Kick {
                    session_id,
                    reason,
                    done: None,
                },
            );
        }
    }

    /// Closes a session on whichever shard holds it (an unknown one is
    /// no error): the kick goes to every shard.
    pub fn kick_anywhere(&self, session_id: Uuid, reason: KickReason) {
        for to in 0..self.port.shards() {
            self.kick(to, session_id, reason);
        }
    }

    /// Closes a session on this shard (or on the one it moved to).
    pub fn kick_local(&self, session_id: Uuid, reason: KickReason) {
        self.kick_here(session_id, reason, None);
    }

    /// Closes a session on this shard, or forwards the kick to the shard
    /// it moved to; says so through `done` once it is closing (or gone).
    fn kick_here(&self, session_id: Uuid, reason: KickReason, done: Option<oneshot::Sender<()>>) {
        let session = self.sessions.borrow().get(&session_id).cloned();
        match (session, self.forwards.target(&session_id)) {
            (Some(s), _) => kick_session(&s, reason),
            (None, Some(to)) => {
                // Along the session's own moves, which never lead back to
                // a shard that still forwards it: no circles.
                let msg = ShardMsg::Kick {
                    session_id,
                    reason,
                    done,
                };
                self.port.send(to, msg);
                return;
            }
            (None, None) => {}
        }
        if let Some(done) = done {
            let _ = done.send(());
        }
    }

    /// Whether WebSocket sessions move to their match's shard here: the
    /// configuration asks it, the runtime can move a socket, and there is
    /// another shard.
    pub fn moves_sessions(&self) -> bool {
        crate::rt::STREAMS_MOVE
            && self.shared.config.kairos.session.move_to_match
            && self.port.shards() > 1
    }

    /// The shard a session moved to from here, when it is not here (a
    /// message for it goes there).
    #[inline]
    pub fn moved_to(&self, session_id: &Uuid) -> Option<usize> {
        let to = self.forwards.target(session_id)?;
        (!self.sessions.borrow().contains_key(session_id)).then_some(to)
    }

    /// Closes every session of `user` on every shard, and returns once
    /// each shard has marked them closing: from then on none of them
    /// serves another message (a handler still awaiting the store looks
    /// again before it relays).
    pub async fn kick_user_everywhere(&self, user: Uuid, reason: KickReason) {
        let mut replies = Vec::new();
        for to in (0..self.port.shards()).filter(|&to| to != self.id) {
            let (done, reply) = oneshot::channel();
            self.port
                .send(to, ShardMsg::KickUser { user, reason, done });
            replies.push(reply);
        }
        let (done, reply) = oneshot::channel();
        self.kick_user_here(user, reason, done);
        replies.push(reply);
        for reply in replies {
            // A shard that stops first may never answer: its sessions stop
            // with it, so waiting is bounded.
            let _ = crate::rt::timeout(KICK_CONFIRM_WAIT, reply).await;
        }
    }

    /// Closes every session of `user` on this shard and those that moved
    /// away from it (a kick follows each along its moves), then says so
    /// through `done`.
    fn kick_user_here(&self, user: Uuid, reason: KickReason, done: oneshot::Sender<()>) {
        self.kick_user_local(user, reason);
        let moved = self.forwards.sessions_of(user);
        if moved.is_empty() {
            let _ = done.send(());
            return;
        }
        let replies: Vec<_> = moved
            .into_iter()
            .map(|session_id| {
                let (done, reply) = oneshot::channel();
                self.kick_here(session_id, reason, Some(done));
                reply
            })
            .collect();
        crate::rt::spawn(async move {
            for reply in replies {
                let _ = reply.await;
            }
            let _ = done.send(());
        });
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
            kick_session(&s, reason);
        }
    }

    /// Hands a message to shard `to`: handled in place when that is this
    /// shard, else sent through the mesh.
    pub fn send_to(&self, to: usize, msg: impl Into<ShardMsg>) {
        let msg = msg.into();
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

    /// Handles one message, from the mesh or from this shard itself: each
    /// feature's to that feature, the rest here.
    pub fn handle_msg(&self, msg: ShardMsg) {
        match msg {
            ShardMsg::Matches(m) => matches::on_msg(self, m),
            ShardMsg::Chat(m) => chat::on_msg(self, m),
            ShardMsg::Parties(m) => parties::on_msg(self, m),
            ShardMsg::Status(m) => match m.session().and_then(|s| self.moved_to(&s)) {
                Some(to) => self.port.send(to, ShardMsg::Status(m)),
                None => status::on_msg(self, m),
            },
            ShardMsg::Streams(m) => membership::on_msg(self, m),
            ShardMsg::GameStreams(m) => match m.session().and_then(|s| self.moved_to(&s)) {
                Some(to) => self.port.send(to, ShardMsg::GameStreams(m)),
                None => streams::on_msg(self, m),
            },
            ShardMsg::Matchmaker(m) => matchmaker::on_msg(self, m),
            ShardMsg::Deliver {
                sessions,
                except,
                frames,
            } => deliver::to_local(self, &sessions, except, &frames),
            ShardMsg::Kick {
                session_id,
                reason,
                done,
            } => self.kick_here(session_id, reason, done),
            ShardMsg::KickUser { user, reason, done } => self.kick_user_here(user, reason, done),
            ShardMsg::Probe { sent } => self.metrics.mesh_hop.record(sent.elapsed()),
            ShardMsg::QuicDatagram { from, data } => {
                let driver = self.quic.borrow().clone();
                if let Some(d) = driver {
                    d.feed(from, bytes::BytesMut::from(&data[..]));
                }
            }
            ShardMsg::Adopt(arrival) => crate::ws::handoff::arrive(self, *arrival),
            ShardMsg::ForwardEnd { session_id } => self.forwards.remove(session_id),
        }
    }
}
