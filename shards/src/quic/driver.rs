//! The QUIC driver of one shard: its SO_REUSEPORT UDP socket, the sans-IO
//! [`QuicServer`] and the sessions on its connections.
//!
//! Tasks share the server (a `RefCell`, never borrowed across an await):
//! * the receiver reads datagrams. One that belongs to another shard's
//!   connection (its connection id says which, `QuicServer::route`) is
//!   forwarded there through the mesh; the rest feed this server;
//! * the timer task sleeps until the server's next deadline, or until
//!   someone queued output, then handles timeouts and sends;
//! * each session runs as `session::driven` describes, through
//!   [`QuicLink`]. Reliable frames travel on the connection's stream,
//!   unreliable match data as QUIC datagrams.
//!
//! A connection becomes a session only after the client sent a valid,
//! unrevoked session token on its stream (the same check as `/ws`).

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::rc::Rc;
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use kairos_net::quic::{
    ConnId, MAX_UDP_PAYLOAD, QuicServer, SendError, ServerConfig, ServerEvent, codes,
};
use kairos_net::ws::close;
use uuid::Uuid;

use crate::http::auth;
use crate::rt::{self, LocalNotify, UdpSocket};
use crate::session::driven::{self, Link, deliver_inbound};
use crate::session::{Frame, Inbox, Session, SessionParams, Transport, Wire};
use crate::shard::{Shard, ShardMsg};

/// Inbound bytes one session may have waiting. Past half of it the driver
/// stops reading the connection's stream, so QUIC's flow control holds
/// the client back; the session's reader resumes it once it has handled
/// the backlog.
const INBOX_BYTES: usize = 256 * 1024;
/// How long an ending session waits for the client to acknowledge what it
/// was sent before the connection closes anyway.
const CLOSE_DRAIN: Duration = Duration::from_secs(2);

struct Client {
    session: Rc<Session>,
    inbox: Rc<Inbox>,
    paused: Cell<bool>,
}

/// One shard's QUIC endpoint.
pub struct Driver {
    shard: Rc<Shard>,
    socket: UdpSocket,
    server: RefCell<QuicServer>,
    clients: RefCell<HashMap<ConnId, Client>>,
    /// Wakes the timer task: output was queued.
    wake: LocalNotify,
    sending: Cell<bool>,
}

impl Driver {
    pub fn new(shard: Rc<Shard>, socket: UdpSocket) -> Result<Rc<Driver>, String> {
        let shared = shard.shared.quic.as_ref().ok_or("QUIC is not configured")?;
        let mut config =
            ServerConfig::new(shared.tls.clone(), shard.id as u16, shard.port.shards());
        config.transport.idle_timeout = Duration::from_millis(shard.config().quic.idle_timeout_ms);
        config.transport.keep_alive_interval = Some(config.transport.idle_timeout / 3);
        let server = QuicServer::new(Instant::now(), config).map_err(|e| format!("quic: {e:?}"))?;
        Ok(Rc::new(Driver {
            shard: shard.clone(),
            socket,
            server: RefCell::new(server),
            clients: RefCell::new(HashMap::new()),
            wake: LocalNotify::default(),
            sending: Cell::new(false),
        }))
    }

    /// Runs the receiver and the timer until the shard ends.
    pub fn start(self: &Rc<Self>) {
        let d = self.clone();
        rt::spawn(async move { d.receive_loop().await });
        let d = self.clone();
        rt::spawn(async move { d.timer_loop().await });
    }

    async fn receive_loop(self: Rc<Self>) {
        let mut buf = vec![0u8; MAX_UDP_PAYLOAD + 64];
        loop {
            let (r, back) = self.socket.recv_from(buf).await;
            buf = back;
            let (n, from) = match r {
                Ok(r) => r,
                Err(e) => {
                    tracing::debug!(error = %e, "quic receive failed");
                    rt::sleep(Duration::from_millis(1)).await;
                    continue;
                }
            };
            self.shard.metrics.quic_rx_packets.inc();
            self.shard.metrics.quic_rx_bytes.add(n as u64);
            let owner = self.server.borrow().route(&buf[..n]);
            match owner {
                Some(owner) => {
                    // A migrated connection of another shard. Datagrams
                    // may be lost anyway: past the mesh's hard bound they
                    // are (sheddable), so a datagram flood cannot grow it.
                    self.shard.port.send_sheddable(
                        owner as usize,
                        ShardMsg::QuicDatagram {
                            from,
                            data: Bytes::copy_from_slice(&buf[..n]),
                        },
                    );
                }
                None => self.feed(from, BytesMut::from(&buf[..n])),
            }
            self.transmit().await;
        }
    }

    /// A datagram for this shard's endpoint (received, or forwarded by
    /// another shard).
    pub fn feed(self: &Rc<Self>, from: SocketAddr, data: BytesMut) {
        self.server
            .borrow_mut()
            .handle_datagram(Instant::now(), from, data);
        self.handle_events();
        self.wake.notify();
    }

    async fn timer_loop(self: Rc<Self>) {
        loop {
            let deadline = self.server.borrow().poll_timeout();
            let wait = deadline
                .map(|d| d.saturating_duration_since(Instant::now()))
                .unwrap_or(Duration::from_secs(1));
            rt::timeout(wait, self.wake.wait()).await;
            self.server.borrow_mut().handle_timeout(Instant::now());
            self.handle_events();
            self.transmit().await;
        }
    }

    /// Sends everything the server has queued. One sender at a time; a
    /// sender that sent anything wakes the timer task, since sending arms
    /// retransmission timers it must see.
    async fn transmit(&self) {
        if self.sending.replace(true) {
            return;
        }
        let mut buf = Vec::with_capacity(MAX_UDP_PAYLOAD);
        let mut sent = false;
        loop {
            buf.clear();
            let t = self
                .server
                .borrow_mut()
                .poll_transmit(Instant::now(), &mut buf);
            let Some(t) = t else { break };
            sent = true;
            match self.socket.send_to(&buf[..t.size], t.destination).await.0 {
                Ok(n) => {
                    self.shard.metrics.quic_tx_packets.inc();
                    self.shard.metrics.quic_tx_bytes.add(n as u64);
                }
                Err(e) => tracing::debug!(error = %e, dest = %t.destination, "quic send failed"),
            }
        }
        self.sending.set(false);
        if sent {
            self.wake.notify();
        }
    }

    fn handle_events(self: &Rc<Self>) {
        loop {
            let event = self.server.borrow_mut().poll_event();
            let Some(event) = event else { return };
            match event {
                ServerEvent::Connected { conn, token, .. } => self.connected(conn, &token),
                ServerEvent::Message {
                    conn,
                    reliable,
                    payload,
                } => {
                    let clients = self.clients.borrow();
                    if let Some(c) = clients.get(&conn) {
                        deliver_inbound(&self.shard, &c.session, &c.inbox, payload, reliable);
                        if c.inbox.bytes() >= c.inbox.max_bytes() / 2 && !c.paused.replace(true) {
                            self.server.borrow_mut().pause_reading(conn);
                        }
                    }
                }
                ServerEvent::Closed { conn, reason } => {
                    if let Some(c) = self.clients.borrow_mut().remove(&conn) {
                        tracing::debug!(session = %c.session.id, ?reason, "quic connection ended");
                        c.inbox.close();
                        c.session.close(close::NORMAL, "");
                    }
                }
            }
        }
    }

    /// A client sent its session token: check it as `/ws` does, then
    /// accept the connection and open its session, or refuse it.
    fn connected(self: &Rc<Self>, conn: ConnId, token: &str) {
        let now = Instant::now();
        let Some(caller) = auth::session_token(&self.shard.shared, token) else {
            self.server.borrow_mut().reject(
                now,
                conn,
                codes::UNAUTHORIZED,
                "Missing or invalid token",
            );
            return;
        };
        if !self.server.borrow_mut().accept(now, conn) {
            return;
        }
        let session = Rc::new(Session::new(
            SessionParams {
                id: Uuid::now_v7(),
                user_id: caller.user_id,
                username: caller.username,
                claims: caller.claims,
                wire: Wire::Flat,
                transport: Transport::Quic,
                status: false,
            },
            self.shard.config().socket.outgoing_queue_size,
            self.shard.metrics.clone(),
        ));
        let inbox = Rc::new(Inbox::new(INBOX_BYTES));
        self.clients.borrow_mut().insert(
            conn,
            Client {
                session: session.clone(),
                inbox: inbox.clone(),
                paused: Cell::new(false),
            },
        );
        let link = QuicLink {
            driver: self.clone(),
            conn,
        };
        rt::spawn(driven::run(self.shard.clone(), session, inbox, link));
    }

    fn send(&self, conn: ConnId, session: &Session, frames: &mut Vec<Frame>) -> bool {
        let mut server = self.server.borrow_mut();
        for f in frames.drain(..) {
            let mut result = server.send(conn, f.reliable, f.bytes.clone());
            if !f.reliable
                && matches!(
                    result,
                    Err(SendError::TooLarge { .. } | SendError::DatagramsUnsupported)
                )
            {
                // Too big for a datagram (or the peer takes none): reliably.
                result = server.send(conn, true, f.bytes);
            }
            match result {
                Ok(()) => {}
                Err(SendError::NotConnected) => return false,
                Err(SendError::Backpressure { .. }) => {
                    tracing::info!(session = %session.id, "quic send queue full; closing session");
                    session.close(close::POLICY_VIOLATION, "session outgoing queue full");
                    return false;
                }
                Err(e) => {
                    tracing::warn!(session = %session.id, error = ?e, "message not sent on quic; dropped");
                }
            }
        }
        drop(server);
        self.wake.notify();
        true
    }

    /// The session's reader caught up: read the stream again if it was
    /// paused, and hand over what accumulated meanwhile.
    fn resume(self: &Rc<Self>, conn: ConnId) {
        let was_paused = self
            .clients
            .borrow()
            .get(&conn)
            .is_some_and(|c| c.paused.replace(false));
        if was_paused {
            self.server.borrow_mut().resume_reading(conn);
            self.handle_events();
            self.wake.notify();
        }
    }

    /// Closes once the client has everything it was sent (a kick's
    /// notification, a last error), or after [`CLOSE_DRAIN`].
    fn end(&self, conn: ConnId, session: &Session) {
        let (code, reason) = match session.close_reason() {
            Some((c, r)) if c == close::POLICY_VIOLATION => (codes::SLOW_CONSUMER, r),
            Some((_, r)) => (codes::NORMAL, r),
            None => (codes::NORMAL, String::new()),
        };
        self.server.borrow_mut().close_when_delivered(
            Instant::now(),
            conn,
            code,
            &reason,
            CLOSE_DRAIN,
        );
        if let Some(c) = self.clients.borrow_mut().remove(&conn) {
            c.inbox.close();
        }
        self.wake.notify();
    }
}

/// A session's QUIC connection.
struct QuicLink {
    driver: Rc<Driver>,
    conn: ConnId,
}

impl Link for QuicLink {
    fn send(&self, session: &Session, frames: &mut Vec<Frame>) -> bool {
        self.driver.send(self.conn, session, frames)
    }

    fn drained(&self) {
        self.driver.resume(self.conn);
    }

    async fn end(&self, session: &Session) {
        self.driver.end(self.conn, session);
    }
}
