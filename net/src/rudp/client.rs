//! The client end, for the Rust client library and for tests.

use std::collections::VecDeque;
use std::fmt;
use std::net::SocketAddr;
use std::time::Duration;

use bytes::Bytes;
use renet::RenetClient;
use renetcode::{ClientAuthentication, NetcodeClient};

use super::bundle::{Bundler, unbundle};
use super::channel::{Channel, connection_config};
use super::clock::Clock;
use super::config::{ConfigError, RudpConfig};
use super::event::{ClientEvent, DisconnectReason, SendError};
use super::filter::{Direction, check_datagram, is_payload_packet};
use super::guard::Violation;
use super::lane::is_lane;
use super::peer::Peer;
use super::seal::{End, PayloadSeal};
use super::token::{TokenError, decode_connect_token};
use super::transmit::{DISCONNECT_COPIES, MAX_DATAGRAM_BYTES, Outbox, Transmits};

/// Where a client is in its life. It only moves forward:
/// `Connecting` → `Connected` → `Disconnected`, or `Connecting` →
/// `Disconnected`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientState {
    /// Sending the connection request, then the challenge response, every
    /// 250 ms until the server answers, the token's timeout passes, or the
    /// token expires. The addresses of the token are tried in turn.
    Connecting,
    /// The handshake is done; messages flow both ways.
    Connected,
    /// Finished. A new connection needs a new client (and usually a fresh
    /// token).
    Disconnected(DisconnectReason),
}

/// Counters of a client's traffic.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ClientStats {
    /// Datagrams passed to [`RudpClient::handle_datagram`].
    pub datagrams_received: u64,
    /// Of those, dropped before decryption: not from the server's address,
    /// or failing the header filter.
    pub datagrams_filtered: u64,
    /// Datagrams queued for sending.
    pub datagrams_queued: u64,
    /// Sequenced messages dropped because a newer one was already delivered.
    pub stale_sequenced: u64,
    /// Unreliable messages dropped at a flush, past its byte budget
    /// ([`RudpConfig::bytes_per_flush`]).
    pub unreliable_over_budget: u64,
}

/// Why a client could not be created.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientError {
    /// The token bytes are unusable.
    Token(TokenError),
    /// The transport configuration is unusable.
    Config(ConfigError),
}

impl fmt::Display for ClientError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Token(e) => e.fmt(f),
            Self::Config(e) => e.fmt(f),
        }
    }
}

impl std::error::Error for ClientError {}

/// The client end of Kairos' reliable UDP. Sans-IO, driven as
/// [`RudpServer`](super::RudpServer) is inside, with its two timers left
/// to the caller: feed datagrams with
/// [`handle_datagram`](Self::handle_datagram), [`flush`](Self::flush) after
/// each batch, [`update`](Self::update) on a tick, and send what
/// [`take_transmits`](Self::take_transmits) or
/// [`poll_transmit`](Self::poll_transmit) yields, all to the server
/// address. The same flushing rules apply (see the server's "Flushing").
///
/// `now` only needs to be monotonic here: the client measures the token's
/// lifetime from its creation time in the token.
///
/// Only datagrams whose source is the server's address are looked at; the
/// rest are dropped unread.
#[derive(Debug)]
pub struct RudpClient {
    netcode: NetcodeClient,
    renet: RenetClient,
    transport: RudpConfig,
    clock: Clock,
    state: ClientState,
    peer: Peer,
    events: VecDeque<ClientEvent>,
    outbox: Outbox,
    /// Packs each flush's renet packets into as few datagrams as fit.
    bundler: Bundler,
    stats: ClientStats,
}

impl RudpClient {
    /// A client at time `now` that will connect with the connect token
    /// `token` (the bytes [`mint_connect_token`](super::mint_connect_token)
    /// made). `transport` must equal the server's. Nothing is sent before the
    /// first [`flush`](Self::flush) or [`update`](Self::update).
    pub fn new(now: Duration, token: &[u8], transport: RudpConfig) -> Result<Self, ClientError> {
        transport.validate().map_err(ClientError::Config)?;
        let (connect_token, payload_keys) =
            decode_connect_token(token).map_err(ClientError::Token)?;
        let seal = PayloadSeal::new(&payload_keys, End::Client, connect_token.protocol_id);
        let netcode = NetcodeClient::new(now, ClientAuthentication::Secure { connect_token })
            .map_err(|_| ClientError::Token(TokenError::Malformed))?;
        // Each unreliable channel holds no more than one flush carries, so a
        // flush drops none of it unless other traffic shares the flush;
        // past that, `send` refuses and the application flushes first.
        let flush_bytes = usize::try_from(transport.bytes_per_flush).unwrap_or(usize::MAX);
        let peer = Peer::new(
            &transport,
            seal,
            transport.server_to_client.reliable_bytes,
            transport.client_to_server.unreliable_bytes.min(flush_bytes),
        );
        Ok(Self {
            netcode,
            renet: RenetClient::new(connection_config(&transport)),
            transport,
            clock: Clock::new(now),
            state: ClientState::Connecting,
            peer,
            events: VecDeque::new(),
            outbox: Outbox::default(),
            bundler: Bundler::default(),
            stats: ClientStats::default(),
        })
    }

    /// Feeds one received datagram. `datagram` is decrypted in place.
    /// Never panics, whatever the bytes.
    pub fn handle_datagram(&mut self, now: Duration, from: SocketAddr, datagram: &mut [u8]) {
        self.stats.datagrams_received += 1;
        if matches!(self.state, ClientState::Disconnected(_)) {
            return;
        }
        if from != self.netcode.server_addr()
            || check_datagram(datagram, Direction::ToClient).is_err()
        {
            self.stats.datagrams_filtered += 1;
            return;
        }
        self.advance(now);
        if is_payload_packet(datagram) {
            // Payload packets are Kairos's to open (`super::seal`), and
            // only count once renetcode has seen the server's keepalive.
            self.sync_state();
            if self.state == ClientState::Connected
                && let Some(payload) = self.peer.seal.open(datagram)
            {
                self.on_payload(payload);
            }
            return;
        }
        let payload = self.netcode.process_packet(datagram);
        self.sync_state();
        if let Some(payload) = payload
            && self.state == ClientState::Connected
        {
            self.on_payload(payload);
        }
    }

    /// Sends what the application queued since the last flush or tick, and
    /// any handshake packet that is due. Call once after each batch of
    /// [`handle_datagram`](Self::handle_datagram) calls.
    pub fn flush(&mut self, now: Duration) {
        self.advance(now);
        self.sync_state();
        if self.peer.dirty && self.state == ClientState::Connected {
            self.flush_renet();
        }
    }

    /// The tick: advances every timer to `now` (handshake retries,
    /// keepalives, timeouts, resends) and flushes renet if it has work:
    /// queued messages, received messages to acknowledge, reliable messages
    /// that may need resending.
    pub fn update(&mut self, now: Duration) {
        self.advance(now);
        self.sync_state();
        let reliable = Channel::ReliableOrdered.renet_id();
        let in_flight = self.renet.channel_available_memory(reliable)
            < self.transport.client_to_server.reliable_bytes;
        if self.state == ClientState::Connected && self.peer.wants_tick_flush(in_flight) {
            self.flush_renet();
        }
    }

    /// Queues `message` on `channel`. It leaves with the next
    /// [`flush`](Self::flush) or [`update`](Self::update). Only possible
    /// once [`ClientEvent::Connected`] has been reported.
    ///
    /// An unreliable channel holds at most what one flush carries (its
    /// [`ChannelMemory::unreliable_bytes`](super::ChannelMemory), capped
    /// by [`RudpConfig::bytes_per_flush`]); past it, `send` refuses with
    /// [`SendError::ChannelFull`] until the next flush, so a burst larger
    /// than one flush is sent in several instead of dropped.
    pub fn send(&mut self, channel: Channel, message: Bytes) -> Result<(), SendError> {
        if self.state != ClientState::Connected {
            return Err(SendError::NotConnected);
        }
        let renet = &self.renet;
        let reliable = self
            .peer
            .prepare_send(&self.transport, channel, message, |len| {
                renet.can_send_message(channel.renet_id(), len)
            })?;
        if let Some(wire) = reliable {
            self.renet.send_message(channel.renet_id(), wire);
        }
        Ok(())
    }

    /// Closes the connection: queues netcode's disconnect packet (if
    /// connected) and a [`ClientEvent::Disconnected`] with
    /// [`DisconnectReason::Local`]. Messages not yet flushed are dropped.
    pub fn disconnect(&mut self) {
        self.close(DisconnectReason::Local);
    }

    /// The next event, oldest first.
    pub fn poll_event(&mut self) -> Option<ClientEvent> {
        self.events.pop_front()
    }

    /// Copies the next datagram to send into `buf` and returns its
    /// destination and length.
    pub fn poll_transmit(
        &mut self,
        buf: &mut [u8; MAX_DATAGRAM_BYTES],
    ) -> Option<(SocketAddr, usize)> {
        self.outbox.transmits.pop_into(buf)
    }

    /// Moves every datagram to send into `out` (cleared first) by swapping
    /// buffers.
    pub fn take_transmits(&mut self, out: &mut Transmits) {
        self.outbox.transmits.take_into(out);
    }

    /// Where the client is in its life.
    pub const fn state(&self) -> ClientState {
        self.state
    }

    /// Whether messages can be sent.
    pub fn is_connected(&self) -> bool {
        self.state == ClientState::Connected
    }

    /// The client id of the token.
    pub fn client_id(&self) -> u64 {
        self.netcode.client_id()
    }

    /// The server address currently in use (the token's addresses are tried
    /// in order).
    pub fn server_addr(&self) -> SocketAddr {
        self.netcode.server_addr()
    }

    /// renet's smoothed round-trip time, once measured (on reliable
    /// traffic: see [`RudpServer::rtt`](super::RudpServer::rtt)).
    pub fn rtt(&self) -> Option<Duration> {
        Duration::try_from_secs_f64(self.renet.rtt())
            .ok()
            .filter(|rtt| !rtt.is_zero())
    }

    /// Traffic counters.
    pub const fn stats(&self) -> ClientStats {
        ClientStats {
            datagrams_queued: self.outbox.queued,
            ..self.stats
        }
    }

    /// Advances both layers to `now`. renetcode's client emits its
    /// handshake and keepalive packets from here, at most every 250 ms.
    fn advance(&mut self, now: Duration) {
        let delta = self.clock.advance(now);
        if let Some((datagram, addr)) = self.netcode.update(delta) {
            self.outbox.push(addr, datagram, 1);
        }
        self.renet.update(delta);
    }

    /// Follows renetcode's and renet's state into ours, reporting changes.
    fn sync_state(&mut self) {
        match self.state {
            ClientState::Disconnected(_) => {}
            ClientState::Connecting => {
                if self.netcode.is_connected() {
                    self.renet.set_connected();
                    self.state = ClientState::Connected;
                    self.events.push_back(ClientEvent::Connected);
                } else if let Some(reason) = self.netcode.disconnect_reason() {
                    self.finish(DisconnectReason::from_netcode(reason));
                }
            }
            ClientState::Connected => {
                if let Some(reason) = self.netcode.disconnect_reason() {
                    self.finish(DisconnectReason::from_netcode(reason));
                } else if let Some(reason) = self.renet.disconnect_reason() {
                    self.close(DisconnectReason::Protocol(Violation::from_renet(reason)));
                }
            }
        }
    }

    /// A decrypted payload from the server: one renet or lane packet, or a
    /// bundle of them ([`super::bundle`], [`super::lane`]).
    fn on_payload(&mut self, payload: &[u8]) {
        let packets = match unbundle(payload) {
            Ok(packets) => packets,
            Err(violation) => return self.close(DisconnectReason::Protocol(violation)),
        };
        for packet in packets {
            if is_lane(packet) {
                let events = &mut self.events;
                match self.peer.receive_lane(packet, |channel, payload| {
                    events.push_back(ClientEvent::Message { channel, payload });
                }) {
                    Ok(stale) => self.stats.stale_sequenced += stale,
                    Err(violation) => return self.close(DisconnectReason::Protocol(violation)),
                }
                continue;
            }
            if let Err(violation) = self.peer.guard.check(packet) {
                return self.close(DisconnectReason::Protocol(violation));
            }
            self.peer.received(packet);
            self.renet.process_packet(packet);
        }
        let renet = &mut self.renet;
        let events = &mut self.events;
        let drained = self.peer.drain(
            |channel_id| renet.receive_message(channel_id),
            |channel, payload| events.push_back(ClientEvent::Message { channel, payload }),
        );
        match drained {
            Ok(stale) => self.stats.stale_sequenced += stale,
            Err(violation) => return self.close(DisconnectReason::Protocol(violation)),
        }
        self.sync_state();
    }

    /// Emits renet's packets and the lane's as netcode payload packets,
    /// sealed in place in the outbox.
    fn flush_renet(&mut self) {
        self.peer.flushed();
        let mut packets = self.renet.get_packets_to_send();
        self.stats.unreliable_over_budget += self
            .peer
            .lane
            .pack_into(&mut packets, self.transport.bytes_per_flush);
        let addr = self.netcode.server_addr();
        let seal = &mut self.peer.seal;
        let outbox = &mut self.outbox;
        // The bundler's payloads are at most 1,300 bytes: sealed, they stay
        // within `MAX_DATAGRAM_BYTES`.
        self.bundler.pack(&packets, |payload| {
            outbox.push_with(addr, |out| seal.seal(payload, out));
        });
        self.sync_state();
    }

    /// Ends the connection from this side.
    fn close(&mut self, reason: DisconnectReason) {
        if matches!(self.state, ClientState::Disconnected(_)) {
            return;
        }
        let connected = self.state == ClientState::Connected;
        if let Ok((addr, datagram)) = self.netcode.disconnect()
            && connected
        {
            self.outbox.push(addr, datagram, DISCONNECT_COPIES);
        }
        self.finish(reason);
    }

    /// Records the end of the connection.
    fn finish(&mut self, reason: DisconnectReason) {
        self.renet.disconnect();
        self.state = ClientState::Disconnected(reason);
        self.events.push_back(ClientEvent::Disconnected { reason });
    }
}

#[cfg(test)]
impl RudpClient {
    /// Seals `packet` as a netcode payload packet, bypassing renet: lets
    /// tests play a modified client that sends renet whatever it likes.
    pub(crate) fn seal_raw_payload(&mut self, packet: &[u8]) -> Option<Vec<u8>> {
        if !self.netcode.is_connected() {
            return None;
        }
        let mut datagram = Vec::new();
        self.peer.seal.seal(packet, &mut datagram);
        Some(datagram)
    }
}
