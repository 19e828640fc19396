//! The server end: one per shard, on the shard's SO_REUSEPORT UDP socket.

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::time::Duration;

use bytes::Bytes;
use renet::RenetServer;
use renetcode::{NetcodeServer, ServerAuthentication, ServerResult};

use super::bundle::{Bundler, unbundle};
use super::channel::{Channel, connection_config};
use super::clock::Clock;
use super::config::{ConfigError, RudpConfig, ServerConfig};
use super::event::{DisconnectReason, SendError, ServerEvent};
use super::filter::{Direction, check_datagram, is_connection_request, is_payload_packet};
use super::guard::Violation;
use super::lane::is_lane;
use super::peer::Peer;
use super::seal::{End, PayloadKeys, PayloadSeal};
use super::token::{USER_DATA_BYTES, split_sealed_user_data};
use super::transmit::{DISCONNECT_COPIES, Outbox};
use crate::datagram::{DatagramServer, Transmit};

/// Counters of a server's traffic.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ServerStats {
    /// Datagrams passed to `handle_datagram`.
    pub datagrams_received: u64,
    /// Of those, dropped before any decryption: by the header filter, or
    /// payload packets from an address with no connection.
    pub datagrams_filtered: u64,
    /// Datagrams queued for sending.
    pub datagrams_queued: u64,
    /// Sequenced messages dropped because a newer one was already delivered.
    pub stale_sequenced: u64,
    /// Unreliable messages dropped at a flush, past its byte budget
    /// ([`RudpConfig::bytes_per_flush`]).
    pub unreliable_over_budget: u64,
}

/// The server end of Kairos' reliable UDP: renetcode (netcode.io: connect
/// tokens, handshake, keepalives, timeouts; payload packets are sealed by
/// Kairos, [`super::seal`]) under renet
/// (channels, acks, resends, fragmentation), plus the sequenced channel and
/// the input checks Kairos adds. Sans-IO: it never touches a socket or reads
/// a clock.
///
/// # Driving it
///
/// As every [`DatagramServer`] (the loop is in [`crate::datagram`]):
///
/// ```text
/// loop {
///     for each datagram (from, bytes) the socket has:   // a batch
///         server.handle_datagram(now, from, &mut bytes);
///     while let Some(event) = server.poll_event() { ... server.send(...) ... }
///     while let Some(t) = server.poll_transmit(now, &mut buf) {
///         socket.send_to(&buf[..t.size], t.destination)
///     }
///     sleep until a datagram arrives, the application sent, or
///         server.poll_timeout();
///     server.handle_timeout(now);
/// }
/// ```
///
/// `now` is the time since the UNIX epoch (connect tokens carry absolute
/// expiry times), passed to every call, never decreasing.
///
/// [`handle_timeout`](DatagramServer::handle_timeout) runs two timers:
///
/// * **the tick**, every [`ServerConfig::tick`] while a client is
///   connected and every [`ServerConfig::idle_tick`] while none is (then
///   only half-open handshakes need timing out; a connect brings the tick
///   forward to at once). It advances every timer, times out silent
///   clients, queues keepalives, and flushes every connection with work
///   for renet (queued messages, received messages to acknowledge,
///   reliable messages that may need resending). A tick of 10 to 50 ms
///   suits games; netcode's keepalive is 250 ms.
/// * **the flush**, due once [`send`](Self::send) queued a message, and no
///   sooner than [`ServerConfig::flush_spacing`] after the previous flush:
///   it sends only for the connections written to since (see "Flushing").
///
/// [`poll_timeout`](DatagramServer::poll_timeout) is the earlier of the
/// two, so a driver wakes the server after each `send` (or batch of them)
/// and runs `handle_timeout` when it is due.
///
/// # Flushing
///
/// The flush sends only for connections on which the application queued
/// messages; acknowledgements, resends and keepalives wait for the tick,
/// unless an application message carries them sooner. Do not flush renet
/// after every datagram, and do not make every datagram trigger a tick:
/// renet acknowledges every packet it receives, including packets that
/// only carry acknowledgements, and repeats an acknowledgement until the
/// packet carrying it is itself acknowledged. Flushing acknowledgements per
/// datagram therefore answers every ack-only packet with another one, and
/// two peers ping-pong them as fast as the link allows (in the library
/// probe this raised echo latency from 50 µs to 1.6 ms p50 and 301 ms
/// p99). For the same reason the tick skips connections whose only news is
/// acknowledgements: an idle connection costs netcode's keepalive alone, 4
/// datagrams a second each way. A spacing trades latency for fuller
/// datagrams under load: each flush carries everything written since the
/// last one.
///
/// A flush costs each connection as few datagrams as its bytes allow:
/// renet packs the reliable messages into packets, the lane packs the
/// unreliable ones after them so as to fill what room is left, and the
/// server packs those packets and the acknowledgement packet into netcode
/// payloads of at most [`MAX_BUNDLE_BYTES`](super::MAX_BUNDLE_BYTES)
/// ([`super::bundle`]). Unreliable messages need no acknowledgement.
/// So the more the application queued before `handle_timeout`, the more
/// messages share each datagram: a driver that calls it at the end of its
/// batch of work, rather than after each `send`, coalesces under load
/// without a spacing (the shards' driver does: `Driver::settle`).
///
/// # Hostile input
///
/// A datagram first passes a header filter (no state, no cryptography)
/// that drops what would crash or needlessly burden renetcode. renetcode
/// then creates state for an address only after it has decrypted a valid
/// connect token from it, and never answers with more bytes than it
/// received: a 1078-byte connection request gets a challenge of at most 333
/// bytes (or a 17 to 25-byte denial when full), a challenge response of at
/// least 325 bytes gets a keepalive of at most 33. Replays are dropped: a
/// token is bound to the first address that used it, every packet after
/// the handshake carries a sequence number under a 256-packet replay
/// window, and connection requests from connected addresses (which
/// renetcode would let reset the connection's timeout) are filtered out.
/// Decrypted renet packets from connected clients pass the payload guard
/// (see [`Violation`]); a client that breaks the protocol is disconnected.
#[derive(Debug)]
pub struct RudpServer {
    netcode: NetcodeServer,
    /// The tokens' protocol id, which payload packets authenticate too.
    protocol_id: u64,
    renet: RenetServer,
    transport: RudpConfig,
    /// renetcode's time, advanced by every call.
    netcode_clock: Clock,
    /// renet's time, advanced only by `tick`: advancing it walks every
    /// connection.
    renet_clock: Clock,
    /// The connected clients, by id.
    peers: HashMap<u64, Connected>,
    /// Their ids, by address.
    addrs: HashMap<SocketAddr, u64>,
    /// Connected clients with `Peer::dirty` set, each once.
    dirty: Vec<u64>,
    /// Reused list of client ids for `tick`.
    scratch: Vec<u64>,
    /// Tick intervals while clients are connected, and while none is.
    tick: Duration,
    idle_tick: Duration,
    /// When the next tick is due.
    next_tick: Duration,
    /// The least time between two flushes.
    flush_spacing: Duration,
    /// When the last flush ran; `None` before the first.
    last_flush: Option<Duration>,
    events: VecDeque<ServerEvent>,
    outbox: Outbox,
    /// Packs each flush's renet packets into as few datagrams as fit.
    bundler: Bundler,
    stats: ServerStats,
}

impl RudpServer {
    /// A server at time `now` (since the UNIX epoch). Draws netcode's
    /// challenge key from the operating system's random generator.
    pub fn new(now: Duration, config: ServerConfig) -> Result<Self, ConfigError> {
        config.validate()?;
        let netcode = NetcodeServer::new(renetcode::ServerConfig {
            current_time: now,
            max_clients: config.max_clients,
            protocol_id: config.protocol_id,
            public_addresses: config.public_addresses,
            authentication: ServerAuthentication::Secure {
                private_key: *config.private_key.as_bytes(),
            },
        });
        Ok(Self {
            netcode,
            protocol_id: config.protocol_id,
            renet: RenetServer::new(connection_config(&config.transport)),
            transport: config.transport,
            netcode_clock: Clock::new(now),
            renet_clock: Clock::new(now),
            peers: HashMap::new(),
            addrs: HashMap::new(),
            dirty: Vec::new(),
            scratch: Vec::new(),
            tick: config.tick,
            idle_tick: config.idle_tick,
            next_tick: now + config.idle_tick,
            flush_spacing: config.flush_spacing,
            last_flush: None,
            events: VecDeque::new(),
            outbox: Outbox::default(),
            bundler: Bundler::default(),
            stats: ServerStats::default(),
        })
    }

    /// Sends what the application queued since the last flush or tick, on
    /// those connections only (see "Flushing").
    fn flush(&mut self, now: Duration) {
        self.last_flush = Some(now);
        self.advance_netcode(now);
        let mut dirty = std::mem::take(&mut self.dirty);
        for &client_id in &dirty {
            self.flush_client(client_id);
        }
        dirty.clear();
        self.dirty = dirty;
    }

    /// The tick: advances every timer to `now`, times out silent clients
    /// (after the token's timeout), queues keepalives, and flushes every
    /// connection with work for renet: queued messages, received messages to
    /// acknowledge, reliable messages that may need resending. Then sets the
    /// next one.
    fn tick(&mut self, now: Duration) {
        self.advance_netcode(now);
        let delta = self.renet_clock.advance(now);
        self.renet.update(delta);

        // In id order, not hash order: the same inputs give the same
        // datagrams in the same order, run after run.
        let mut clients = std::mem::take(&mut self.scratch);
        clients.clear();
        clients.extend(self.peers.keys());
        clients.sort_unstable();
        for &client_id in &clients {
            match self.netcode.update_client(client_id) {
                ServerResult::PacketToSend { addr, payload } => {
                    self.outbox.push(addr, payload, 1);
                }
                ServerResult::ClientDisconnected { addr, payload, .. } => {
                    if let Some(payload) = payload {
                        self.outbox.push(addr, payload, DISCONNECT_COPIES);
                    }
                    self.forget(client_id, DisconnectReason::TimedOut);
                }
                _ => {}
            }
        }
        for &client_id in &clients {
            let in_flight = self.reliable_in_flight(client_id).is_some_and(|n| n > 0);
            if self
                .peers
                .get(&client_id)
                .is_some_and(|c| c.peer.wants_tick_flush(in_flight))
            {
                self.flush_client(client_id);
            }
        }
        self.scratch = clients;
        self.dirty.clear();
        let interval = if self.peers.is_empty() {
            self.idle_tick
        } else {
            self.tick
        };
        self.next_tick = now + interval;
    }

    /// When the flush is due, if anything was sent since the last one.
    fn flush_due(&self) -> Option<Duration> {
        if self.dirty.is_empty() {
            return None;
        }
        Some(
            self.last_flush
                .map_or(Duration::ZERO, |at| at + self.flush_spacing),
        )
    }

    /// Queues `message` for `client_id` on `channel`. It leaves with the next
    /// flush or tick: [`poll_timeout`](DatagramServer::poll_timeout) says
    /// when, and [`handle_timeout`](DatagramServer::handle_timeout) sends it.
    pub fn send(
        &mut self,
        client_id: u64,
        channel: Channel,
        message: Bytes,
    ) -> Result<(), SendError> {
        let Some(peer) = self.peers.get_mut(&client_id).map(|c| &mut c.peer) else {
            return Err(SendError::NotConnected);
        };
        let was_dirty = peer.dirty;
        let renet = &self.renet;
        let reliable = peer.prepare_send(&self.transport, channel, message, |len| {
            renet.can_send_message(client_id, channel.renet_id(), len)
        })?;
        if let Some(wire) = reliable {
            self.renet.send_message(client_id, channel.renet_id(), wire);
        }
        if !was_dirty {
            self.dirty.push(client_id);
        }
        Ok(())
    }

    /// Closes `client_id`'s connection: queues netcode's disconnect packet and
    /// a [`ServerEvent::Disconnected`] with [`DisconnectReason::Local`].
    /// Messages not yet flushed are dropped, and lost ones are never resent:
    /// to close without losing reliable messages, wait for
    /// [`reliable_in_flight`](Self::reliable_in_flight) to reach `Some(0)`
    /// first. Returns whether the client was connected.
    pub fn disconnect(&mut self, client_id: u64) -> bool {
        let connected = self.peers.contains_key(&client_id);
        if connected {
            self.kick(client_id, DisconnectReason::Local);
        }
        connected
    }

    /// Bytes of reliable-ordered messages queued for `client_id` that the
    /// client has not acknowledged yet: unsent ones included, acknowledged
    /// ones never. `None` if the client is not connected.
    ///
    /// renet keeps a reliable message, and counts it against the channel's
    /// memory ([`ChannelMemory::reliable_bytes`](super::ChannelMemory) of
    /// `server_to_client`), from `send` until the packet carrying it (every
    /// slice of it, for a fragmented one) is acknowledged; this is that
    /// count. So `Some(0)` means every reliable message sent so far has
    /// reached the client, and none is still buffered here.
    ///
    /// A graceful close waits for it: stop sending, keep driving the server
    /// (`handle_timeout`, which resends what was lost) until this is
    /// `Some(0)` or a deadline passes, then [`disconnect`](Self::disconnect),
    /// which would otherwise drop whatever is unacknowledged. `None` ends
    /// the wait too: the client is gone.
    pub fn reliable_in_flight(&self, client_id: u64) -> Option<usize> {
        if !self.peers.contains_key(&client_id) {
            return None;
        }
        let available = self
            .renet
            .channel_available_memory(client_id, Channel::ReliableOrdered.renet_id());
        Some(
            self.transport
                .server_to_client
                .reliable_bytes
                .saturating_sub(available),
        )
    }

    /// Disconnects every client (shutdown), in client-id order.
    pub fn disconnect_all(&mut self) {
        let mut clients: Vec<u64> = self.peers.keys().copied().collect();
        clients.sort_unstable();
        for client_id in clients {
            self.kick(client_id, DisconnectReason::Local);
        }
    }

    /// Whether `client_id` is connected.
    pub fn is_connected(&self, client_id: u64) -> bool {
        self.peers.contains_key(&client_id)
    }

    /// The number of connected clients.
    pub fn connected_clients(&self) -> usize {
        self.peers.len()
    }

    /// The ids of the connected clients, in no particular order.
    pub fn client_ids(&self) -> impl Iterator<Item = u64> + '_ {
        self.peers.keys().copied()
    }

    /// The address `client_id` sends from, if connected.
    pub fn client_addr(&self, client_id: u64) -> Option<SocketAddr> {
        self.peers.get(&client_id).map(|c| c.addr)
    }

    /// renet's smoothed round-trip time to `client_id`, if connected and
    /// measured: renet measures it on the packets it gets acknowledged,
    /// which carry reliable messages (unreliable ones travel on the lane,
    /// unacknowledged).
    pub fn rtt(&self, client_id: u64) -> Option<Duration> {
        if !self.peers.contains_key(&client_id) {
            return None;
        }
        Duration::try_from_secs_f64(self.renet.rtt(client_id))
            .ok()
            .filter(|rtt| !rtt.is_zero())
    }

    /// Traffic counters.
    pub const fn stats(&self) -> ServerStats {
        ServerStats {
            datagrams_queued: self.outbox.queued,
            ..self.stats
        }
    }

    fn advance_netcode(&mut self, now: Duration) {
        let delta = self.netcode_clock.advance(now);
        self.netcode.update(delta);
    }

    /// A payload packet: opened with the connection's payload key if its
    /// address has one, dropped otherwise (as renetcode would), and
    /// dropped as well if it fails authentication or replays.
    fn on_payload_packet(&mut self, from: SocketAddr, datagram: &mut [u8]) {
        let Some(&client_id) = self.addrs.get(&from) else {
            self.stats.datagrams_filtered += 1;
            return;
        };
        let Some(peer) = self.peers.get_mut(&client_id).map(|c| &mut c.peer) else {
            return;
        };
        if let Some(payload) = peer.seal.open(datagram) {
            self.on_payload(client_id, payload);
        }
    }

    /// A decrypted payload from a connected client: one renet or lane
    /// packet, or a bundle of them ([`super::bundle`]). A lane packet's
    /// messages are delivered as it is read ([`super::lane`]); each renet
    /// packet is checked by the guard before renet sees it, and the
    /// messages they complete are delivered once, after the last.
    fn on_payload(&mut self, client_id: u64, payload: &[u8]) {
        let Some(peer) = self.peers.get_mut(&client_id).map(|c| &mut c.peer) else {
            return;
        };
        let packets = match unbundle(payload) {
            Ok(packets) => packets,
            Err(violation) => return self.kick(client_id, DisconnectReason::Protocol(violation)),
        };
        for packet in packets {
            if is_lane(packet) {
                let events = &mut self.events;
                match peer.receive_lane(packet, |channel, payload| {
                    events.push_back(ServerEvent::Message {
                        client_id,
                        channel,
                        payload,
                    });
                }) {
                    Ok(stale) => self.stats.stale_sequenced += stale,
                    Err(violation) => {
                        return self.kick(client_id, DisconnectReason::Protocol(violation));
                    }
                }
                continue;
            }
            if let Err(violation) = peer.guard.check(packet) {
                return self.kick(client_id, DisconnectReason::Protocol(violation));
            }
            peer.received(packet);
            if self.renet.process_packet_from(packet, client_id).is_err() {
                return;
            }
        }
        let renet = &mut self.renet;
        let events = &mut self.events;
        let drained = peer.drain(
            |channel_id| renet.receive_message(client_id, channel_id),
            |channel, payload| {
                events.push_back(ServerEvent::Message {
                    client_id,
                    channel,
                    payload,
                });
            },
        );
        match drained {
            Ok(stale) => self.stats.stale_sequenced += stale,
            Err(violation) => return self.kick(client_id, DisconnectReason::Protocol(violation)),
        }
        self.kick_if_renet_failed(client_id);
    }

    /// A client finished the handshake. The first client ends the idle
    /// tick: the next tick comes at once.
    fn on_connected(
        &mut self,
        now: Duration,
        client_id: u64,
        addr: SocketAddr,
        user_data: Box<[u8; USER_DATA_BYTES]>,
        keys: &PayloadKeys,
    ) {
        if self.peers.is_empty() {
            self.next_tick = self.next_tick.min(now);
        }
        self.renet.add_connection(client_id);
        while self.renet.get_event().is_some() {}
        let peer = Peer::new(
            &self.transport,
            PayloadSeal::new(keys, End::Server, self.protocol_id),
            self.transport.client_to_server.reliable_bytes,
            self.transport.server_to_client.unreliable_bytes,
        );
        self.peers.insert(client_id, Connected { addr, peer });
        self.addrs.insert(addr, client_id);
        self.events.push_back(ServerEvent::Connected {
            client_id,
            addr,
            user_data,
        });
    }

    /// Emits renet's packets and the lane's for `client_id` as netcode
    /// payload packets, sealed in place in the outbox.
    fn flush_client(&mut self, client_id: u64) {
        let Some(Connected { addr, peer }) = self.peers.get_mut(&client_id) else {
            return;
        };
        let addr = *addr;
        peer.flushed();
        let Ok(mut packets) = self.renet.get_packets_to_send(client_id) else {
            return;
        };
        self.stats.unreliable_over_budget += peer
            .lane
            .pack_into(&mut packets, self.transport.bytes_per_flush);
        let seal = &mut peer.seal;
        let outbox = &mut self.outbox;
        // The bundler's payloads are at most 1,300 bytes (renet's packets
        // stop at 1,200 payload bytes, the lane's at 1,300), so a sealed
        // one stays within `MAX_DATAGRAM_BYTES`.
        self.bundler.pack(&packets, |payload| {
            outbox.push_with(addr, |out| seal.seal(payload, out));
        });
        self.kick_if_renet_failed(client_id);
    }

    fn kick_if_renet_failed(&mut self, client_id: u64) {
        if let Some(reason) = self.renet.disconnect_reason(client_id) {
            self.kick(
                client_id,
                DisconnectReason::Protocol(Violation::from_renet(reason)),
            );
        }
    }

    /// Ends a connection from this side: netcode's disconnect packet, then
    /// [`forget`](Self::forget).
    fn kick(&mut self, client_id: u64, reason: DisconnectReason) {
        if let ServerResult::ClientDisconnected {
            addr,
            payload: Some(payload),
            ..
        } = self.netcode.disconnect(client_id)
        {
            self.outbox.push(addr, payload, DISCONNECT_COPIES);
        }
        self.forget(client_id, reason);
    }

    /// Drops every trace of a connection netcode has already ended.
    fn forget(&mut self, client_id: u64, reason: DisconnectReason) {
        self.renet.remove_connection(client_id);
        while self.renet.get_event().is_some() {}
        if let Some(gone) = self.peers.remove(&client_id) {
            self.addrs.remove(&gone.addr);
            self.dirty.retain(|&id| id != client_id);
            self.events
                .push_back(ServerEvent::Disconnected { client_id, reason });
        }
    }
}

/// A connected client: the address netcode bound it to, and what Kairos
/// keeps for its connection.
#[derive(Debug)]
struct Connected {
    addr: SocketAddr,
    peer: Peer,
}

/// The datagram-server vocabulary ([`crate::datagram`]); see "Driving it"
/// on [`RudpServer`].
impl DatagramServer for RudpServer {
    type Time = Duration;
    type Event = ServerEvent;

    /// Feeds one received datagram. `datagram` is decrypted in place.
    ///
    /// May queue replies (handshake packets) and events; never panics,
    /// whatever the bytes.
    fn handle_datagram(&mut self, now: Duration, from: SocketAddr, datagram: &mut [u8]) {
        self.stats.datagrams_received += 1;
        let spoofed_request = is_connection_request(datagram) && self.addrs.contains_key(&from);
        if spoofed_request || check_datagram(datagram, Direction::ToServer).is_err() {
            self.stats.datagrams_filtered += 1;
            return;
        }
        if is_payload_packet(datagram) {
            return self.on_payload_packet(from, datagram);
        }
        self.advance_netcode(now);
        match self.netcode.process_packet(from, datagram) {
            ServerResult::None => {}
            ServerResult::PacketToSend { addr, payload } => {
                self.outbox.push(addr, payload, 1);
            }
            ServerResult::Payload { client_id, payload } => self.on_payload(client_id, payload),
            ServerResult::ClientConnected {
                client_id,
                addr,
                user_data,
                payload,
            } => {
                self.outbox.push(addr, payload, 1);
                let (user_data, keys) = split_sealed_user_data(&user_data);
                self.on_connected(now, client_id, addr, user_data, &keys);
            }
            ServerResult::ClientDisconnected { client_id, .. } => {
                self.forget(client_id, DisconnectReason::Peer);
            }
        }
    }

    /// The next event, oldest first. Drain after every call that feeds the
    /// server: the queue is unbounded.
    fn poll_event(&mut self) -> Option<ServerEvent> {
        self.events.pop_front()
    }

    /// Copies the next queued datagram into `buf` (cleared first). Every
    /// datagram is at most
    /// [`MAX_DATAGRAM_BYTES`](super::MAX_DATAGRAM_BYTES) long.
    fn poll_transmit(&mut self, _now: Duration, buf: &mut Vec<u8>) -> Option<Transmit> {
        self.outbox.transmits.pop_transmit(buf)
    }

    /// The earlier of the next tick and, once the application sent, the
    /// next flush. Always `Some`: the tick never stops.
    fn poll_timeout(&self) -> Option<Duration> {
        Some(match self.flush_due() {
            Some(flush) => flush.min(self.next_tick),
            None => self.next_tick,
        })
    }

    /// Runs the tick if it is due, then the flush if it is due and the
    /// tick left anything to flush. A deadline further ahead than its
    /// interval can be means the wall clock was set back: it is due now,
    /// so that a clock step never stalls the connections.
    fn handle_timeout(&mut self, now: Duration) {
        if reached(now, self.next_tick, self.tick.max(self.idle_tick)) {
            self.tick(now);
        }
        if self
            .flush_due()
            .is_some_and(|due| reached(now, due, self.flush_spacing))
        {
            self.flush(now);
        }
    }
}

/// Whether a deadline at most `interval` after the time it was set is due
/// at `now`: reached, or out of reach because `now` went back.
fn reached(now: Duration, deadline: Duration, interval: Duration) -> bool {
    now >= deadline || deadline > now + interval
}

#[cfg(test)]
impl RudpServer {
    /// Whether renetcode holds no half-open handshake. renetcode keeps that
    /// map private; its `Debug` output is the only window onto it.
    pub(crate) fn no_pending_handshakes(&self) -> bool {
        format!("{:?}", self.netcode).contains("pending_clients: {}")
    }
}
