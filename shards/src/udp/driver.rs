//! The reliable-UDP driver of one shard: its SO_REUSEPORT UDP socket, the
//! sans-IO [`RudpServer`] and the sessions on its connections.
//!
//! Four kinds of task share the server (a `RefCell`, never borrowed across
//! an await):
//! * the receiver reads datagrams, feeds them to the server, turns its
//!   events into sessions and inbound messages, and sends what the server
//!   answered at once (handshake packets);
//! * the flusher runs whenever a session's writer queued messages: one
//!   `flush` covers every session that wrote since the last one, so
//!   messages to one client share datagrams;
//! * the ticker runs every `udp.tick_ms` for resends, acknowledgements,
//!   keepalives and timeouts;
//! * each session runs as `session::driven` describes: a reader over its
//!   inbox and a writer onto its connection (through [`UdpLink`]).
//!
//! The server is never flushed per inbound datagram beyond what the
//! application queued: renet would answer acknowledgements with
//! acknowledgements forever (see `kairos_net::rudp::RudpServer`).

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::rc::Rc;
use std::time::{Duration, Instant};

use kairos_core::grant::SessionGrant;
use kairos_core::time::now_secs;
use kairos_core::token::Claims;
use kairos_net::rudp::{
    Channel, MAX_DATAGRAM_BYTES, MAX_SEQUENCED_MESSAGE_BYTES, RudpServer, SendError, ServerConfig,
    ServerEvent, Transmits,
};
use kairos_net::ws::close;
use uuid::Uuid;

use super::grants::{PROTOCOL_ID, unix_now};
use crate::rt::{self, LocalNotify, UdpSocket};
use crate::session::driven::{self, Link, deliver_inbound};
use crate::session::{Frame, Inbox, Session, SessionParams, Transport, Wire};
use crate::shard::Shard;

/// Inbound bytes one session may have waiting before it counts as
/// flooding (renet's own client-to-server reliable buffer is as large).
const INBOX_BYTES: usize = 256 * 1024;
/// The tick while no client is connected.
const IDLE_TICK: Duration = Duration::from_millis(250);
/// How long an ending session waits for its last reliable messages to be
/// acknowledged before it disconnects anyway.
const CLOSE_DRAIN: Duration = Duration::from_secs(1);

struct Client {
    session: Rc<Session>,
    inbox: Rc<Inbox>,
}

/// One shard's reliable-UDP endpoint.
pub struct Driver {
    shard: Rc<Shard>,
    socket: UdpSocket,
    server: RefCell<RudpServer>,
    clients: RefCell<HashMap<u64, Client>>,
    /// Set by writers; wakes the flusher.
    flush: LocalNotify,
    /// Set when a client connects; wakes an idle ticker.
    first_client: LocalNotify,
    /// Transmit buffers, swapped with the server's (no copy).
    transmits: RefCell<Transmits>,
    sending: Cell<bool>,
}

impl Driver {
    /// The driver for `socket`, with tokens sealed by `key` naming
    /// `public`.
    pub fn new(
        shard: Rc<Shard>,
        socket: UdpSocket,
        public: SocketAddr,
    ) -> Result<Rc<Driver>, String> {
        let cfg = &shard.config().udp;
        let grants = shard
            .shared
            .udp
            .as_ref()
            .ok_or("reliable UDP is not configured")?;
        let mut config = ServerConfig::new(grants.key.clone(), PROTOCOL_ID, vec![public]);
        config.max_clients = cfg.max_clients;
        let server = RudpServer::new(unix_now(), config).map_err(|e| format!("udp: {e:?}"))?;
        Ok(Rc::new(Driver {
            shard: shard.clone(),
            socket,
            server: RefCell::new(server),
            clients: RefCell::new(HashMap::new()),
            flush: LocalNotify::default(),
            first_client: LocalNotify::default(),
            transmits: RefCell::new(Transmits::new()),
            sending: Cell::new(false),
        }))
    }

    /// Runs the receiver, flusher and ticker until the shard ends.
    pub fn start(self: &Rc<Self>) {
        let tick = Duration::from_millis(self.shard.config().udp.tick_ms);
        let d = self.clone();
        rt::spawn(async move { d.receive_loop().await });
        let spacing = Duration::from_micros(self.shard.config().udp.flush_spacing_us);
        let d = self.clone();
        rt::spawn(async move {
            let mut last = Instant::now() - spacing;
            loop {
                d.flush.wait().await;
                // With a spacing, flush at most that often: under load,
                // each flush then carries everything written since the
                // last one (more messages per datagram), at the cost of up
                // to `spacing` of latency. Idle, a flush goes at once.
                let since = last.elapsed();
                if since < spacing {
                    rt::sleep(spacing - since).await;
                }
                d.server.borrow_mut().flush(unix_now());
                last = Instant::now();
                d.transmit().await;
            }
        });
        let d = self.clone();
        rt::spawn(async move {
            loop {
                // Without connections there are only handshakes to time
                // out, which need no haste: an idle shard stays asleep.
                if d.server.borrow().connected_clients() == 0 {
                    rt::timeout(IDLE_TICK, d.first_client.wait()).await;
                } else {
                    rt::sleep(tick).await;
                }
                d.server.borrow_mut().update(unix_now());
                d.handle_events();
                d.transmit().await;
            }
        });
    }

    async fn receive_loop(self: Rc<Self>) {
        let mut buf = vec![0u8; 2048];
        loop {
            let (r, back) = self.socket.recv_from(buf).await;
            buf = back;
            let (n, from) = match r {
                Ok(r) => r,
                Err(e) => {
                    tracing::debug!(error = %e, "udp receive failed");
                    rt::sleep(Duration::from_millis(1)).await;
                    continue;
                }
            };
            self.shard.metrics.udp_rx_packets.inc();
            self.shard.metrics.udp_rx_bytes.add(n as u64);
            self.server
                .borrow_mut()
                .handle_datagram(unix_now(), from, &mut buf[..n]);
            self.handle_events();
            self.transmit().await;
        }
    }

    /// Sends whatever the server has queued. One sender at a time, so
    /// datagrams leave in the order the server produced them. The batch
    /// buffer is kept between calls, so sending allocates nothing.
    async fn transmit(&self) {
        if self.sending.replace(true) {
            return;
        }
        let mut batch = std::mem::replace(&mut *self.transmits.borrow_mut(), Transmits::new());
        loop {
            batch.clear();
            self.server.borrow_mut().take_transmits(&mut batch);
            if batch.is_empty() {
                break;
            }
            for (addr, bytes) in batch.iter() {
                debug_assert!(bytes.len() <= MAX_DATAGRAM_BYTES);
                match self.socket.send_to(bytes, addr).await.0 {
                    Ok(n) => {
                        self.shard.metrics.udp_tx_packets.inc();
                        self.shard.metrics.udp_tx_bytes.add(n as u64);
                    }
                    Err(e) => tracing::debug!(error = %e, %addr, "udp send failed"),
                }
            }
        }
        *self.transmits.borrow_mut() = batch;
        self.sending.set(false);
    }

    fn handle_events(self: &Rc<Self>) {
        loop {
            let event = self.server.borrow_mut().poll_event();
            let Some(event) = event else { return };
            match event {
                ServerEvent::Connected {
                    client_id,
                    addr,
                    user_data,
                } => self.connected(client_id, addr, &user_data),
                ServerEvent::Message {
                    client_id,
                    channel,
                    payload,
                } => {
                    let clients = self.clients.borrow();
                    if let Some(c) = clients.get(&client_id) {
                        let reliable = channel == Channel::ReliableOrdered;
                        deliver_inbound(&self.shard, &c.session, &c.inbox, payload, reliable);
                    }
                }
                ServerEvent::Disconnected { client_id, reason } => {
                    if let Some(c) = self.clients.borrow_mut().remove(&client_id) {
                        tracing::debug!(session = %c.session.id, %reason, "udp connection ended");
                        c.inbox.close();
                        c.session.close(close::NORMAL, "");
                    }
                }
            }
        }
    }

    /// A client finished the handshake: check what its token says, then
    /// open its session.
    fn connected(self: &Rc<Self>, client_id: u64, addr: SocketAddr, user_data: &[u8; 256]) {
        let shared = &self.shard.shared;
        let grant = SessionGrant::decode(user_data);
        let claims = grant.as_ref().map(|g| Claims {
            tid: g.token_id.to_string(),
            uid: g.user_id.to_string(),
            usn: g.username.clone(),
            vrs: Default::default(),
            exp: g.expiry,
            iat: 0,
        });
        let valid = claims
            .as_ref()
            .is_some_and(|c| c.exp > now_secs() && !shared.revocations.is_revoked(c));
        let (Some(grant), Some(claims), true) = (grant, claims, valid) else {
            tracing::info!(%addr, "udp connection with an expired or revoked session; refused");
            self.server.borrow_mut().disconnect(client_id);
            return;
        };
        let session = Rc::new(Session::new(
            SessionParams {
                id: Uuid::now_v7(),
                user_id: grant.user_id,
                username: grant.username,
                claims,
                wire: Wire::Flat,
                transport: Transport::ReliableUdp,
                status: grant.status,
            },
            self.shard.config().socket.outgoing_queue_size,
            self.shard.metrics.clone(),
        ));
        let inbox = Rc::new(Inbox::new(INBOX_BYTES));
        self.first_client.notify();
        self.clients.borrow_mut().insert(
            client_id,
            Client {
                session: session.clone(),
                inbox: inbox.clone(),
            },
        );
        let link = UdpLink {
            driver: self.clone(),
            client_id,
        };
        rt::spawn(driven::run(self.shard.clone(), session, inbox, link));
    }

    /// Moves a session's queued frames onto its connection. Returns false
    /// when the connection can take no more (the session is then closed).
    fn send(&self, client_id: u64, session: &Session, frames: &mut Vec<Frame>) -> bool {
        let mut server = self.server.borrow_mut();
        for f in frames.drain(..) {
            // Unreliable match data travels sequenced: a client never sees
            // an older update after a newer one. Too big for one datagram,
            // it goes reliably instead.
            let channel = if f.reliable || f.bytes.len() > MAX_SEQUENCED_MESSAGE_BYTES {
                Channel::ReliableOrdered
            } else {
                Channel::UnreliableSequenced
            };
            match server.send(client_id, channel, f.bytes) {
                Ok(()) => {}
                Err(SendError::NotConnected) => return false,
                Err(SendError::ChannelFull) => {
                    tracing::info!(session = %session.id, "udp channel full; closing session");
                    session.close(close::POLICY_VIOLATION, "session outgoing queue full");
                    return false;
                }
                Err(SendError::MessageTooLarge { len, max }) => {
                    tracing::warn!(session = %session.id, len, max, "message too large for reliable UDP; dropped");
                }
            }
        }
        drop(server);
        self.flush.notify();
        true
    }

    fn disconnect(&self, client_id: u64) {
        self.server.borrow_mut().disconnect(client_id);
        if let Some(c) = self.clients.borrow_mut().remove(&client_id) {
            c.inbox.close();
        }
        self.flush.notify();
    }
}

/// A session's reliable-UDP connection.
struct UdpLink {
    driver: Rc<Driver>,
    client_id: u64,
}

impl Link for UdpLink {
    fn send(&self, session: &Session, frames: &mut Vec<Frame>) -> bool {
        self.driver.send(self.client_id, session, frames)
    }

    /// renet's flow control paces the client; nothing to resume.
    fn drained(&self) {}

    /// Waits (ticking) until every reliable message sent is acknowledged,
    /// at most [`CLOSE_DRAIN`], then says goodbye: a kick's notification or
    /// a last error reaches the client before the disconnect.
    async fn end(&self, _session: &Session) {
        let d = &self.driver;
        d.flush.notify();
        let deadline = Instant::now() + CLOSE_DRAIN;
        let tick = Duration::from_millis(d.shard.config().udp.tick_ms);
        while d
            .server
            .borrow()
            .reliable_in_flight(self.client_id)
            .is_some_and(|n| n > 0)
            && Instant::now() < deadline
        {
            rt::sleep(tick).await;
        }
        d.disconnect(self.client_id);
    }
}
