//! Reliable UDP's adapter of the shard's datagram driver
//! (`datagram::driver`), around the sans-IO [`RudpServer`].
//!
//! * A connection's credentials are its connect token's user data: a
//!   session grant, checked for expiry and revocation before the session
//!   opens.
//! * Unreliable match data travels on the unreliable-sequenced channel, so
//!   a client never sees an older update after a newer one; everything
//!   else, and what is too big for one datagram, on the reliable-ordered
//!   one.
//! * renet's flow control paces the client: nothing is paused.
//! * An ending session waits (ticking) until its reliable messages are
//!   acknowledged, at most [`CLOSE_DRAIN`], then disconnects.
//!
//! The server's two timers (its tick, `udp.tick_ms`, and the flush of what
//! sessions wrote, at most every `udp.flush_spacing_us`) are
//! `RudpServer`'s own: the driver's timer runs them at `poll_timeout`, and
//! a session's send wakes it; it flushes at the end of the shard's batch
//! of work (`Driver::settle`), so that one flush packs each client's
//! messages into as few datagrams as fit. The server is never flushed per inbound
//! datagram beyond what the application queued: renet would answer
//! acknowledgements with acknowledgements forever (see
//! `kairos_net::rudp::RudpServer`).

use std::net::SocketAddr;
use std::rc::Rc;
use std::time::{Duration, Instant};

use kairos_core::grant::SessionGrant;
use kairos_core::time::now_secs;
use kairos_core::token::Claims;
use kairos_net::rudp::{
    Channel, MAX_SEQUENCED_MESSAGE_BYTES, RudpServer, SendError, ServerConfig, ServerEvent,
    USER_DATA_BYTES,
};
use kairos_net::ws::close;
use uuid::Uuid;

use super::grants::{PROTOCOL_ID, unix_now};
use crate::datagram::driver::Driver;
use crate::datagram::protocol::{Counters, Happening, Protocol};
use crate::metrics::cells::ShardMetrics;
use crate::rt::{self, UdpSocket};
use crate::session::{Frame, Session, SessionParams, Transport, Wire};
use crate::shard::Shard;

/// The tick while no client is connected.
const IDLE_TICK: Duration = Duration::from_millis(250);
/// How long an ending session waits for its last reliable messages to be
/// acknowledged before it disconnects anyway.
const CLOSE_DRAIN: Duration = Duration::from_secs(1);

/// Reliable UDP, as the datagram driver sees it.
pub struct Rudp {
    /// `udp.tick_ms`.
    tick: Duration,
}

/// One shard's reliable-UDP endpoint.
pub type UdpDriver = Driver<Rudp>;

/// The driver for `socket`, with tokens sealed by the node's key naming
/// `public`.
pub fn driver(
    shard: Rc<Shard>,
    socket: UdpSocket,
    public: SocketAddr,
) -> Result<Rc<UdpDriver>, String> {
    let cfg = &shard.config().udp;
    let grants = shard
        .shared
        .udp
        .as_ref()
        .ok_or("reliable UDP is not configured")?;
    let tick = Duration::from_millis(cfg.tick_ms);
    let mut config = ServerConfig::new(grants.key.clone(), PROTOCOL_ID, vec![public]);
    config.max_clients = cfg.max_clients;
    config.tick = tick;
    config.idle_tick = IDLE_TICK;
    config.flush_spacing = Duration::from_micros(cfg.flush_spacing_us);
    let server = RudpServer::new(unix_now(), config).map_err(|e| format!("udp: {e:?}"))?;
    Ok(Driver::new(shard.clone(), socket, server, Rudp { tick }))
}

impl Protocol for Rudp {
    type Server = RudpServer;
    type Conn = u64;
    type Hello = Box<[u8; USER_DATA_BYTES]>;

    const NAME: &'static str = "udp";
    const RECV_BUFFER: usize = 2048;

    /// netcode's clock: connect tokens carry UNIX times.
    fn now() -> Duration {
        unix_now()
    }

    /// Never longer than the idle tick: the deadline is on the wall clock,
    /// and the server treats one out of reach (the clock was set back) as
    /// due, so the timer must come back to it.
    fn wait(&self, deadline: Duration) -> Duration {
        deadline
            .saturating_sub(unix_now())
            .min(IDLE_TICK.max(self.tick))
    }

    fn counters(metrics: &ShardMetrics) -> Counters<'_> {
        Counters {
            rx_packets: &metrics.udp_rx_packets,
            rx_bytes: &metrics.udp_rx_bytes,
            tx_packets: &metrics.udp_tx_packets,
            tx_bytes: &metrics.udp_tx_bytes,
        }
    }

    fn classify(event: ServerEvent) -> Happening<u64, Self::Hello> {
        match event {
            ServerEvent::Connected {
                client_id,
                addr,
                user_data,
            } => Happening::Hello {
                conn: client_id,
                addr,
                hello: user_data,
            },
            ServerEvent::Message {
                client_id,
                channel,
                payload,
            } => Happening::Message {
                conn: client_id,
                payload,
                reliable: channel == Channel::ReliableOrdered,
            },
            ServerEvent::Disconnected { client_id, reason } => Happening::Ended {
                conn: client_id,
                reason: reason.to_string(),
            },
        }
    }

    /// A client finished the handshake: check what its token says.
    fn open(
        driver: &Driver<Self>,
        client_id: u64,
        addr: SocketAddr,
        user_data: Self::Hello,
    ) -> Option<SessionParams> {
        let shared = &driver.shard().shared;
        let grant = SessionGrant::decode(&user_data);
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
            driver.server().disconnect(client_id);
            return None;
        };
        Some(SessionParams {
            id: Uuid::now_v7(),
            user_id: grant.user_id,
            username: grant.username,
            claims,
            wire: Wire::Flat,
            transport: Transport::ReliableUdp,
            status: grant.status,
        })
    }

    fn send(
        server: &mut RudpServer,
        client_id: u64,
        session: &Session,
        frames: &mut Vec<Frame>,
    ) -> bool {
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
        true
    }

    /// Waits (ticking) until every reliable message sent is acknowledged,
    /// at most [`CLOSE_DRAIN`], then says goodbye: a kick's notification or
    /// a last error reaches the client before the disconnect.
    async fn end(driver: &Rc<Driver<Self>>, client_id: u64, _session: &Session) {
        let deadline = Instant::now() + CLOSE_DRAIN;
        let tick = driver.protocol().tick;
        while driver
            .server()
            .reliable_in_flight(client_id)
            .is_some_and(|n| n > 0)
            && Instant::now() < deadline
        {
            rt::sleep(tick).await;
        }
        driver.server().disconnect(client_id);
    }
}
