//! The client end, for the Rust client library and for tests.

use std::collections::VecDeque;
use std::fmt;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use bytes::{Bytes, BytesMut};
use quinn_proto::{ConnectionHandle, DatagramEvent, Endpoint, EndpointConfig, Event, StreamEvent};

use super::config::{ConfigError, QuicConfig};
use super::event::{ClientEvent, CloseReason, SendError, Violation, codes};
use super::frame::ACCEPT_FRAME;
use super::peer::Peer;
use super::tls::ClientTls;
use super::transmit::{Responses, Transmit};

/// Where a client is in its life. It only moves forward:
/// `Connecting` → `Connected` → `Closed`, or `Connecting` → `Closed`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClientState {
    /// The QUIC handshake, then the token frame and the server's answer.
    Connecting,
    /// The server accepted the token; messages flow both ways.
    Connected,
    /// Finished. A new connection needs a new client.
    Closed(CloseReason),
}

/// Why a client could not be created.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClientError {
    /// The transport configuration is unusable.
    Config(ConfigError),
    /// The token is empty or longer than `max_token_bytes`.
    Token,
    /// quinn-proto refused to start (an invalid server name or address).
    Connect(String),
}

impl fmt::Display for ClientError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Config(e) => e.fmt(f),
            Self::Token => f.write_str("session token empty or too long"),
            Self::Connect(e) => write!(f, "cannot connect: {e}"),
        }
    }
}

impl std::error::Error for ClientError {}

/// The client end of Kairos' QUIC protocol. Sans-IO, driven like
/// [`QuicServer`](super::QuicServer): feed datagrams from the server with
/// [`handle_datagram`](Self::handle_datagram), run
/// [`handle_timeout`](Self::handle_timeout) when
/// [`poll_timeout`](Self::poll_timeout) says, drain
/// [`poll_event`](Self::poll_event) and
/// [`poll_transmit`](Self::poll_transmit) (to `None`, before asking for the
/// timeout again) after each.
///
/// Once the QUIC handshake is done, the client opens the stream and sends
/// its token; [`ClientEvent::Connected`] comes when the server's accept
/// frame arrives. A rejection arrives as [`ClientEvent::Closed`] with
/// [`CloseReason::Peer`] and the server's code.
#[derive(Debug)]
pub struct QuicClient {
    endpoint: Endpoint,
    handle: ConnectionHandle,
    /// `None` once quinn-proto has drained the connection.
    peer: Option<Peer>,
    state: ClientState,
    /// The token frame, until the stream is open.
    token: Option<Bytes>,
    auth_deadline: Instant,
    events: VecDeque<ClientEvent>,
    responses: Responses,
    scratch: Vec<u8>,
    /// Tests only: the protocol on the stream is left to the test.
    raw: bool,
}

impl QuicClient {
    /// Starts connecting to `server` at time `now`, presenting
    /// `server_name` for certificate verification (a DNS name or an IP
    /// address, as in the certificate) and `token` (the Nakama session
    /// token) once connected. The first datagram is ready in
    /// [`poll_transmit`](Self::poll_transmit) at once.
    pub fn connect(
        now: Instant,
        server: SocketAddr,
        server_name: &str,
        token: &str,
        tls: &ClientTls,
        config: QuicConfig,
    ) -> Result<Self, ClientError> {
        config.validate().map_err(ClientError::Config)?;
        if token.is_empty() || token.len() > config.max_token_bytes {
            return Err(ClientError::Token);
        }
        let mut endpoint = Endpoint::new(
            Arc::new(EndpointConfig::default()),
            None,
            config.mtu_discovery,
            None,
        );
        let mut client_config = quinn_proto::ClientConfig::new(tls.crypto.clone());
        client_config.transport_config(Arc::new(config.transport(false)));
        let (handle, conn) = endpoint
            .connect(now, client_config, server, server_name)
            .map_err(|e| ClientError::Connect(e.to_string()))?;
        let mut client = Self {
            endpoint,
            handle,
            peer: Some(Peer::new(conn, &config, ACCEPT_FRAME.len())),
            state: ClientState::Connecting,
            token: Some(Bytes::copy_from_slice(token.as_bytes())),
            auth_deadline: now + config.auth_timeout,
            events: VecDeque::new(),
            responses: Responses::default(),
            scratch: Vec::new(),
            raw: false,
        };
        client.service(now);
        Ok(client)
    }

    /// Feeds one datagram received from `from`. Datagrams not from the
    /// server's current address are dropped by quinn-proto. Never panics,
    /// whatever the bytes.
    pub fn handle_datagram(&mut self, now: Instant, from: SocketAddr, datagram: BytesMut) {
        self.scratch.clear();
        match self
            .endpoint
            .handle(now, from, None, None, datagram, &mut self.scratch)
        {
            Some(DatagramEvent::ConnectionEvent(handle, event)) if handle == self.handle => {
                if let Some(peer) = &mut self.peer {
                    peer.conn.handle_event(event);
                    self.service(now);
                }
            }
            Some(DatagramEvent::Response(t)) => {
                self.responses.push(t.destination, &self.scratch[..t.size]);
            }
            // A client endpoint has no server configuration, so quinn-proto
            // offers no incoming connections; refuse one all the same.
            Some(DatagramEvent::NewConnection(incoming)) => self.endpoint.ignore(incoming),
            _ => {}
        }
    }

    /// When [`handle_timeout`](Self::handle_timeout) is next due.
    pub fn poll_timeout(&mut self) -> Option<Instant> {
        let peer = self.peer.as_mut()?;
        let next = peer.conn.poll_timeout();
        if self.state == ClientState::Connecting {
            return Some(next.map_or(self.auth_deadline, |t| t.min(self.auth_deadline)));
        }
        next
    }

    /// Runs the timers due by `now`.
    pub fn handle_timeout(&mut self, now: Instant) {
        let Some(peer) = &mut self.peer else {
            return;
        };
        if self.state == ClientState::Connecting && self.auth_deadline <= now {
            peer.close(now, codes::AUTH_TIMEOUT, "not authenticated in time");
            self.end(CloseReason::AuthTimeout);
        }
        if let Some(peer) = &mut self.peer {
            peer.conn.handle_timeout(now);
        }
        self.service(now);
    }

    /// Writes the next datagram to send into `buf` (cleared first) and says
    /// where it goes.
    pub fn poll_transmit(&mut self, now: Instant, buf: &mut Vec<u8>) -> Option<Transmit> {
        if let Some(t) = self.responses.pop_into(buf) {
            return Some(t);
        }
        buf.clear();
        let t = self.peer.as_mut()?.conn.poll_transmit(now, 1, buf)?;
        Some(Transmit {
            destination: t.destination,
            size: t.size,
        })
    }

    /// The next event, oldest first.
    pub fn poll_event(&mut self) -> Option<ClientEvent> {
        self.events.pop_front()
    }

    /// Queues a message, on the stream (`reliable`) or as a QUIC datagram,
    /// with the server's rules (see [`QuicServer::send`](super::QuicServer::send)).
    pub fn send(&mut self, reliable: bool, payload: Bytes) -> Result<(), SendError> {
        if self.state != ClientState::Connected {
            return Err(SendError::NotConnected);
        }
        let peer = self.peer.as_mut().ok_or(SendError::NotConnected)?;
        if reliable {
            peer.send_frame(payload, true)
        } else {
            peer.send_datagram(payload)
        }
    }

    /// Closes the connection with an application `code` and `reason`.
    /// Reports [`ClientEvent::Closed`] with [`CloseReason::Local`]. Keep
    /// driving the client until [`is_drained`](Self::is_drained) so that the
    /// close reaches the server.
    pub fn close(&mut self, now: Instant, code: u32, reason: &str) {
        if matches!(self.state, ClientState::Closed(_)) {
            return;
        }
        if let Some(peer) = &mut self.peer {
            peer.close(now, code, reason);
        }
        self.end(CloseReason::Local);
        self.service(now);
    }

    /// Tells the connection that the client's local address changed (a new
    /// socket or network): it moves to a fresh connection id issued by the
    /// server and probes the new path.
    pub fn local_address_changed(&mut self, now: Instant) {
        if let Some(peer) = &mut self.peer {
            peer.conn.local_address_changed();
            self.service(now);
        }
    }

    /// Where the client is in its life.
    pub const fn state(&self) -> &ClientState {
        &self.state
    }

    /// Whether the server accepted the token and the connection is open.
    pub fn is_connected(&self) -> bool {
        self.state == ClientState::Connected
    }

    /// Whether quinn-proto is done with the connection: nothing more will
    /// be sent or received.
    pub const fn is_drained(&self) -> bool {
        self.peer.is_none()
    }

    /// Reliable bytes queued (frame headers included) that quinn-proto has
    /// not taken yet: what waits for the server's flow-control credit, the
    /// congestion window or the send window. `send` fails with
    /// [`SendError::Backpressure`] once this would pass
    /// [`QuicConfig::max_queued_reliable_bytes`].
    pub fn queued_bytes(&self) -> usize {
        self.peer.as_ref().map_or(0, Peer::queued_bytes)
    }

    /// The largest unreliable message the server accepts now.
    pub fn max_datagram_size(&mut self) -> Option<usize> {
        self.peer.as_mut()?.max_datagram_size()
    }

    /// quinn-proto's statistics of the connection (round-trip time, packet
    /// and frame counts), until it is drained.
    pub fn stats(&self) -> Option<quinn_proto::ConnectionStats> {
        self.peer.as_ref().map(|p| p.conn.stats())
    }

    /// Tests only: a client that completes the QUIC handshake and then
    /// leaves the stream to the test (through [`raw`](Self::raw)): it sends
    /// no token and reads nothing. `Connected` means the QUIC handshake.
    #[cfg(test)]
    pub(crate) fn connect_raw(
        now: Instant,
        server: SocketAddr,
        tls: &ClientTls,
        config: QuicConfig,
    ) -> Self {
        let mut client = Self::connect(now, server, "localhost", "-", tls, config).unwrap();
        client.raw = true;
        client.token = None;
        client
    }

    /// Tests only: the quinn-proto connection.
    #[cfg(test)]
    pub(crate) fn raw(&mut self) -> Option<&mut quinn_proto::Connection> {
        self.peer.as_mut().map(|p| &mut p.conn)
    }

    fn end(&mut self, reason: CloseReason) {
        if matches!(self.state, ClientState::Closed(_)) {
            return;
        }
        self.state = ClientState::Closed(reason.clone());
        self.token = None;
        self.events.push_back(ClientEvent::Closed { reason });
    }

    fn violation(&mut self, now: Instant, violation: Violation) {
        if let Some(peer) = &mut self.peer {
            peer.close_for(now, violation);
        }
        self.end(CloseReason::Protocol(violation));
    }

    /// Processes everything quinn-proto has after the connection was fed.
    fn service(&mut self, now: Instant) {
        let mut drained = false;
        loop {
            let Some(peer) = &mut self.peer else {
                return;
            };
            let mut progressed = false;
            while let Some(event) = peer.conn.poll_endpoint_events() {
                progressed = true;
                drained |= event.is_drained();
                if let Some(event) = self.endpoint.handle_event(self.handle, event) {
                    peer.conn.handle_event(event);
                }
            }
            while let Some(event) = self.peer.as_mut().and_then(|p| p.conn.poll()) {
                progressed = true;
                self.on_event(now, event);
            }
            if !progressed {
                break;
            }
        }
        self.pump(now);
        if drained {
            self.end(CloseReason::Local);
            self.peer = None;
        }
    }

    fn on_event(&mut self, now: Instant, event: Event) {
        match event {
            Event::Connected if self.raw => {
                self.state = ClientState::Connected;
                self.events.push_back(ClientEvent::Connected);
            }
            Event::Connected | Event::Stream(StreamEvent::Available { .. }) => self.send_token(),
            Event::ConnectionLost { reason } => self.end(CloseReason::from_quinn(reason)),
            Event::Stream(StreamEvent::Stopped { .. })
                if !matches!(self.state, ClientState::Closed(_)) =>
            {
                self.violation(now, Violation::StreamStopped);
            }
            Event::DatagramReceived => {
                let connected = self.state == ClientState::Connected;
                let events = &mut self.events;
                if let Some(peer) = &mut self.peer {
                    peer.recv_datagrams(&mut |payload| {
                        if connected {
                            events.push_back(ClientEvent::Message {
                                reliable: false,
                                payload,
                            });
                        }
                    });
                }
            }
            _ => {}
        }
    }

    /// Opens the stream and sends the token frame, once the server grants
    /// the stream (at the end of the handshake).
    fn send_token(&mut self) {
        if let (Some(peer), Some(token)) = (&mut self.peer, self.token.take()) {
            if peer.open_stream() {
                // Checked against `max_token_bytes` in `connect`; the empty
                // queue is bounded above it.
                let _ = peer.send_frame(token, false);
            } else {
                self.token = Some(token);
            }
        }
    }

    /// Reads the stream as far as the state allows, and writes queued frames.
    fn pump(&mut self, now: Instant) {
        let Some(peer) = &mut self.peer else {
            return;
        };
        if self.raw {
            return;
        }
        if self.state == ClientState::Connecting && self.token.is_none() {
            let mut first = None;
            match peer.read(true, &mut |frame| first = Some(frame)) {
                Err(violation) => return self.violation(now, violation),
                Ok(_) => match first {
                    Some(frame) if frame == ACCEPT_FRAME => {
                        peer.raise_frame_limit();
                        self.state = ClientState::Connected;
                        self.events.push_back(ClientEvent::Connected);
                    }
                    Some(_) => return self.violation(now, Violation::BadAccept),
                    None if peer.recv_finished() => {
                        return self.violation(now, Violation::StreamFinished);
                    }
                    None => {}
                },
            }
        }
        if self.state == ClientState::Connected {
            let Some(peer) = &mut self.peer else {
                return;
            };
            let events = &mut self.events;
            // A server closing gracefully finishes its side after its last
            // frame; its `CONNECTION_CLOSE` follows once we acknowledge, so
            // there is nothing to do on the FIN but stop reading.
            let read = peer.read(false, &mut |payload| {
                events.push_back(ClientEvent::Message {
                    reliable: true,
                    payload,
                });
            });
            match read {
                Err(violation) => self.violation(now, violation),
                Ok(_) => peer.flush(),
            }
        }
    }
}
