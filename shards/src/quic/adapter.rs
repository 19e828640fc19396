//! QUIC's adapter of the shard's datagram driver (`datagram::driver`),
//! around the sans-IO [`QuicServer`].
//!
//! * **Routing.** A received datagram whose connection id names another
//!   shard (a migrated connection, `QuicServer::route`) is forwarded to
//!   that shard through the mesh (`ShardMsg::QuicDatagram`), which feeds
//!   it to its own server ([`QuicDriver::feed`]).
//! * A connection's credentials are the session token the client sends
//!   first on its stream, checked as `/ws` checks it (including
//!   revocation) before the connection is accepted.
//! * Reliable frames travel on the connection's stream, unreliable match
//!   data as QUIC datagrams (reliably when too big for one, or when the
//!   client takes none).
//! * Back-pressure: a connection whose session's inbox is half full is no
//!   longer read, so QUIC's flow control holds the client back until the
//!   session's reader has caught up.
//! * An ending session's connection closes once the client has
//!   acknowledged everything (`close_when_delivered`), at most
//!   [`CLOSE_DRAIN`] later.

use std::net::SocketAddr;
use std::rc::Rc;
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use kairos_net::quic::{
    ConnId, MAX_UDP_PAYLOAD, QuicServer, SendError, ServerConfig, ServerEvent, codes,
};
use kairos_net::ws::close;
use uuid::Uuid;

use crate::datagram::driver::Driver;
use crate::datagram::protocol::{Counters, Happening, Protocol};
use crate::http::auth;
use crate::metrics::cells::ShardMetrics;
use crate::rt::UdpSocket;
use crate::session::{Frame, Session, SessionParams, Transport, Wire};
use crate::shard::{Shard, ShardMsg};

/// How long an ending session waits for the client to acknowledge what it
/// was sent before the connection closes anyway.
const CLOSE_DRAIN: Duration = Duration::from_secs(2);

/// QUIC, as the datagram driver sees it.
pub struct Quic;

/// One shard's QUIC endpoint.
pub type QuicDriver = Driver<Quic>;

/// The driver for `socket`.
pub fn driver(shard: Rc<Shard>, socket: UdpSocket) -> Result<Rc<QuicDriver>, String> {
    let shared = shard.shared.quic.as_ref().ok_or("QUIC is not configured")?;
    let mut config = ServerConfig::new(shared.tls.clone(), shard.id as u16, shard.port.shards());
    config.transport.idle_timeout = Duration::from_millis(shard.config().quic.idle_timeout_ms);
    config.transport.keep_alive_interval = Some(config.transport.idle_timeout / 3);
    let server = QuicServer::new(Instant::now(), config).map_err(|e| format!("quic: {e:?}"))?;
    Ok(Driver::new(shard.clone(), socket, server, Quic))
}

impl QuicDriver {
    /// A datagram another shard received for a connection of this one.
    pub fn feed(self: &Rc<Self>, from: SocketAddr, mut data: BytesMut) {
        self.handle(from, &mut data);
        self.wake();
    }
}

impl Protocol for Quic {
    type Server = QuicServer;
    type Conn = ConnId;
    type Hello = String;

    const NAME: &'static str = "quic";
    const RECV_BUFFER: usize = MAX_UDP_PAYLOAD + 64;

    fn now() -> Instant {
        Instant::now()
    }

    fn wait(&self, deadline: Instant) -> Duration {
        deadline.saturating_duration_since(Instant::now())
    }

    fn counters(metrics: &ShardMetrics) -> Counters<'_> {
        Counters {
            rx_packets: &metrics.quic_rx_packets,
            rx_bytes: &metrics.quic_rx_bytes,
            tx_packets: &metrics.quic_tx_packets,
            tx_bytes: &metrics.quic_tx_bytes,
        }
    }

    fn classify(event: ServerEvent) -> Happening<ConnId, String> {
        match event {
            ServerEvent::Connected { conn, addr, token } => Happening::Hello {
                conn,
                addr,
                hello: token,
            },
            ServerEvent::Message {
                conn,
                reliable,
                payload,
            } => Happening::Message {
                conn,
                payload,
                reliable,
            },
            ServerEvent::Closed { conn, reason } => Happening::Ended {
                conn,
                reason: format!("{reason:?}"),
            },
        }
    }

    /// A migrated connection of another shard. Datagrams may be lost
    /// anyway: past the mesh's hard bound they are (sheddable), so a
    /// datagram flood cannot grow it.
    fn forward(driver: &Driver<Self>, from: SocketAddr, datagram: &[u8]) -> bool {
        let owner = driver.server().route(datagram);
        let Some(owner) = owner else {
            return false;
        };
        driver.shard().port.send_sheddable(
            owner as usize,
            ShardMsg::QuicDatagram {
                from,
                data: Bytes::copy_from_slice(datagram),
            },
        );
        true
    }

    /// A client sent its session token: check it as `/ws` does, then
    /// accept the connection, or refuse it.
    fn open(
        driver: &Driver<Self>,
        conn: ConnId,
        _addr: SocketAddr,
        token: String,
    ) -> Option<SessionParams> {
        let now = Instant::now();
        let Some(caller) = auth::session_token(&driver.shard().shared, &token) else {
            driver
                .server()
                .reject(now, conn, codes::UNAUTHORIZED, "Missing or invalid token");
            return None;
        };
        if !driver.server().accept(now, conn) {
            return None;
        }
        Some(SessionParams {
            id: Uuid::now_v7(),
            user_id: caller.user_id,
            username: caller.username,
            claims: caller.claims,
            wire: Wire::Flat,
            transport: Transport::Quic,
            status: false,
        })
    }

    fn send(
        server: &mut QuicServer,
        conn: ConnId,
        session: &Session,
        frames: &mut Vec<Frame>,
    ) -> bool {
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
        true
    }

    fn pause_reading(server: &mut QuicServer, conn: ConnId) -> bool {
        server.pause_reading(conn)
    }

    fn resume_reading(server: &mut QuicServer, conn: ConnId) {
        server.resume_reading(conn);
    }

    /// Closes once the client has everything it was sent (a kick's
    /// notification, a last error), or after [`CLOSE_DRAIN`].
    async fn end(driver: &Rc<Driver<Self>>, conn: ConnId, session: &Session) {
        let (code, reason) = match session.close_reason() {
            Some((c, r)) if c == close::POLICY_VIOLATION => (codes::SLOW_CONSUMER, r),
            Some((_, r)) => (codes::NORMAL, r),
            None => (codes::NORMAL, String::new()),
        };
        driver
            .server()
            .close_when_delivered(Instant::now(), conn, code, &reason, CLOSE_DRAIN);
    }
}
