//! The server end: one per shard, on the shard's SO_REUSEPORT UDP socket.

use std::collections::{BTreeSet, VecDeque};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use quinn_proto::{
    ConnectionHandle, DatagramEvent, Endpoint, EndpointConfig, Event, Incoming, StreamEvent,
    ValidationTokenConfig,
};

use super::cid::{ShardCidGenerator, shard_of_datagram};
use super::clock::InputClock;
use super::config::{ConfigError, QuicConfig, RetryPolicy, ServerConfig};
use super::event::{CloseReason, ConnId, SendError, ServerEvent, Violation, codes};
use super::finish::Finish;
use super::frame::ACCEPT_FRAME;
use super::peer::Peer;
use super::transmit::{MAX_UDP_PAYLOAD, Responses, Transmit};
use crate::datagram::DatagramServer;

/// Counters of a server's traffic.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ServerStats {
    /// Datagrams passed to [`QuicServer::handle_datagram`].
    pub datagrams_received: u64,
    /// Datagrams returned by [`QuicServer::poll_transmit`].
    pub datagrams_sent: u64,
    /// Of those, answers of the endpoint itself (version negotiation,
    /// stateless resets, retries, refusals).
    pub endpoint_responses: u64,
    /// Connection attempts taken on (handshake started).
    pub handshakes_started: u64,
    /// Connection attempts answered with a Retry packet.
    pub retries_sent: u64,
    /// Connection attempts refused: `max_connections` reached.
    pub refused: u64,
    /// Connections that ended before the application heard of them: failed
    /// or abandoned handshakes, no or bad token, auth timeout.
    pub ended_unannounced: u64,
    /// Datagrams received on connections not accepted yet, and dropped.
    pub early_datagrams_dropped: u64,
}

/// Where a connection is in its life. It only moves forward.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// The QUIC and TLS handshake.
    Handshaking,
    /// Reading the token frame.
    AwaitingToken,
    /// `Connected` reported; waiting for `accept` or `reject`.
    Pending,
    /// Messages flow.
    Accepted,
    /// `close_when_delivered` was called: sends are refused, the queued
    /// frames and then the FIN go out, and the connection closes once the
    /// client has acknowledged them, or at the deadline (see
    /// [`finish`](super::finish)). The client's messages are still read.
    Finishing,
    /// Closed or lost; kept until quinn-proto has drained it.
    Closing,
}

impl Phase {
    const fn authenticating(self) -> bool {
        matches!(
            self,
            Self::Handshaking | Self::AwaitingToken | Self::Pending
        )
    }
}

#[derive(Debug)]
struct Entry {
    id: ConnId,
    peer: Peer,
    phase: Phase,
    /// Whether `Connected` was reported (so `Closed` must be, once).
    announced: bool,
    auth_deadline: Instant,
    /// This entry's key in `QuicServer::timers`.
    timer: Option<Instant>,
    /// Whether the entry is in `QuicServer::dirty`.
    dirty: bool,
    /// `pause_reading` is in force: the stream is not read after the token,
    /// so quinn-proto grants the client no more credit.
    paused: bool,
    /// The pending close; `Some` exactly in `Phase::Finishing`.
    finish: Option<Finish>,
}

/// What connection handlers update besides their own entry.
#[derive(Debug, Default)]
struct Books {
    events: VecDeque<ServerEvent>,
    stats: ServerStats,
    /// Connections in `Phase::Handshaking`.
    handshaking: usize,
}

impl Books {
    /// Moves a connection to `Closing`, reporting `Closed` once if it was
    /// reported.
    fn end(&mut self, entry: &mut Entry, reason: CloseReason) {
        match entry.phase {
            Phase::Closing => return,
            Phase::Handshaking => self.handshaking -= 1,
            _ => {}
        }
        entry.phase = Phase::Closing;
        entry.finish = None;
        if entry.announced {
            self.events.push_back(ServerEvent::Closed {
                conn: entry.id,
                reason,
            });
        } else {
            self.stats.ended_unannounced += 1;
        }
    }

    /// Closes a connection whose peer broke the framing.
    fn violation(&mut self, entry: &mut Entry, now: Instant, violation: Violation) {
        if entry.phase != Phase::Closing {
            entry.peer.close_for(now, violation);
            self.end(entry, CloseReason::Protocol(violation));
        }
    }
}

#[derive(Debug, Default)]
struct Slot {
    generation: u32,
    entry: Option<Box<Entry>>,
}

/// The server end of Kairos' QUIC protocol: a quinn-proto `Endpoint` and its
/// connections, the session-token handshake on top, and reliable and
/// unreliable messages. Sans-IO: it never touches a socket or reads a clock.
///
/// # Driving it
///
/// As every [`DatagramServer`] (see [`crate::datagram`]), plus routing:
///
/// ```text
/// loop {
///     for each datagram (from, bytes) the socket has:   // a batch
///         match server.route(&bytes) {
///             Some(shard) => forward (from, bytes) to that shard,
///             None => server.handle_datagram(now, from, &mut bytes),
///         }
///     for each datagram forwarded here by another shard:
///         server.handle_datagram(now, from, &mut bytes);
///     if server.poll_timeout() <= now { server.handle_timeout(now) }
///     while let Some(event) = server.poll_event() { ... accept / send / close ... }
///     while let Some(t) = server.poll_transmit(now, &mut buf) {
///         socket.send_to(&buf[..t.size], t.destination)
///     }
///     sleep until a datagram arrives or server.poll_timeout()
/// }
/// ```
///
/// `now` is any monotonic [`Instant`], never decreasing between calls.
/// Drain `poll_transmit` to `None` before asking `poll_timeout`: sending
/// arms quinn-proto's loss-detection timers. Events queue up without bound;
/// drain them after each batch.
///
/// Outgoing datagrams are written straight into the caller's buffer by
/// quinn-proto: no allocation per datagram once the buffer has grown. One
/// datagram per call: no GSO batches, and no ECN (quinn-proto gets `None`
/// for both ECN and the local address; congestion control then relies on
/// loss alone).
///
/// # Connections
///
/// A client completes the QUIC handshake, opens one bidirectional stream and
/// sends its session token as the first frame (see [`frame`](super::frame)).
/// The server reports [`ServerEvent::Connected`] and reads nothing more from
/// the connection until the application calls [`accept`](Self::accept), which
/// sends the accept frame and starts delivering messages, or
/// [`reject`](Self::reject). Either must happen within
/// [`QuicConfig::auth_timeout`] of the first packet, or the connection is
/// closed with [`codes::AUTH_TIMEOUT`].
///
/// [`close`](Self::close) ends a connection at once, dropping what is not
/// delivered yet; [`close_when_delivered`](Self::close_when_delivered)
/// first delivers every reliable message queued, within a deadline.
/// [`pause_reading`](Self::pause_reading) and
/// [`resume_reading`](Self::resume_reading) hold the client's reliable
/// messages back on the client, by QUIC flow control, while the
/// application catches up.
///
/// # Hostile input
///
/// quinn-proto parses every datagram defensively and drops what it cannot
/// decrypt or decode; the server adds no parsing of its own before it. A
/// new connection is created only for an Initial packet of at least 1200
/// bytes; until the client's address is validated quinn-proto sends at most
/// three times the bytes it received (anti-amplification, RFC 9000 section
/// 8). Past [`RetryPolicy::WhenHandshakesExceed`] concurrent handshakes, the
/// server sends Retry packets and keeps no state for unvalidated addresses.
/// Stateless resets are rate-limited (one per 20 ms) and never larger than
/// the packet that caused them, and packets for another shard's connection
/// ids are dropped, never reset. On the stream, a frame header above the
/// limit closes the connection before any of the frame is buffered; the
/// token frame has its own, smaller limit; streams beyond the one are
/// refused by QUIC stream limits.
#[derive(Debug)]
pub struct QuicServer {
    endpoint: Endpoint,
    config: ServerConfig,
    clock: InputClock,
    slots: Vec<Slot>,
    /// Deadline and slot of every connection with a timer.
    timers: BTreeSet<(Instant, usize)>,
    /// Connections that may have datagrams to send, each once.
    dirty: VecDeque<usize>,
    books: Books,
    responses: Responses,
    /// quinn-proto writes endpoint responses here.
    scratch: Vec<u8>,
    /// Reused list of due slots for `handle_timeout`.
    due: Vec<usize>,
}

impl QuicServer {
    /// A server at time `now`.
    pub fn new(now: Instant, config: ServerConfig) -> Result<Self, ConfigError> {
        config.validate()?;
        let shard = config.shard;
        let generator = ShardCidGenerator::new(shard).ok_or(ConfigError::Random)?;
        let mut endpoint_config = EndpointConfig::default();
        endpoint_config.cid_generator(move || Box::new(generator.clone()));
        let clock = InputClock::new(now);
        let mut server_config = quinn_proto::ServerConfig::with_crypto(config.tls.crypto.clone());
        let mut tokens = ValidationTokenConfig::default();
        tokens.sent(0);
        server_config
            .transport_config(Arc::new(config.transport.transport(true)))
            .validation_token_config(tokens)
            .time_source(clock.time_source())
            .migration(true)
            .max_incoming(config.max_connections)
            .incoming_buffer_size(64 * 1024)
            .incoming_buffer_size_total(1024 * 1024);
        let endpoint = Endpoint::new(
            Arc::new(endpoint_config),
            Some(Arc::new(server_config)),
            config.transport.mtu_discovery,
            None,
        );
        Ok(Self {
            endpoint,
            config,
            clock,
            slots: Vec::new(),
            timers: BTreeSet::new(),
            dirty: VecDeque::new(),
            books: Books::default(),
            responses: Responses::default(),
            scratch: Vec::new(),
            due: Vec::new(),
        })
    }

    /// This server's shard index.
    pub const fn shard(&self) -> u16 {
        self.config.shard
    }

    /// The shard a received datagram must be forwarded to, or `None` if this
    /// server handles it (see [`shard_of_datagram`]).
    pub fn route(&self, datagram: &[u8]) -> Option<u16> {
        shard_of_datagram(datagram, self.config.shard_count).filter(|&s| s != self.config.shard)
    }

    /// Accepts a connection reported as [`ServerEvent::Connected`]: sends the
    /// accept frame and starts delivering its messages, including any the
    /// client sent ahead. Returns whether the connection was waiting for a
    /// decision.
    pub fn accept(&mut self, now: Instant, conn: ConnId) -> bool {
        self.clock.advance(now);
        let Some(entry) = self.entry(conn) else {
            return false;
        };
        if entry.phase != Phase::Pending {
            return false;
        }
        entry.phase = Phase::Accepted;
        entry.peer.raise_frame_limit();
        // The queue is empty and bounded above the largest frame: cannot fail.
        let _ = entry
            .peer
            .send_frame(Bytes::from_static(ACCEPT_FRAME), false);
        self.service(conn.slot(), now);
        true
    }

    /// Refuses a connection reported as [`ServerEvent::Connected`]: closes
    /// it with `code` and `reason` (for example [`codes::UNAUTHORIZED`]),
    /// which the client reports as [`CloseReason::Peer`]. Reports
    /// [`ServerEvent::Closed`] with [`CloseReason::Local`]. Returns whether
    /// the connection was waiting for a decision.
    pub fn reject(&mut self, now: Instant, conn: ConnId, code: u32, reason: &str) -> bool {
        if self.entry(conn).is_none_or(|e| e.phase != Phase::Pending) {
            return false;
        }
        self.close(now, conn, code, reason)
    }

    /// Queues a message for an accepted connection: on the stream
    /// (`reliable`), or as a QUIC datagram. It leaves with the next
    /// [`poll_transmit`](Self::poll_transmit) calls.
    ///
    /// Never blocks. A reliable message that quinn-proto cannot take yet
    /// (flow control, congestion, the send window) waits in a per-connection
    /// queue bounded by [`QuicConfig::max_queued_reliable_bytes`]; past it,
    /// the send fails with [`SendError::Backpressure`] and the caller
    /// should close the client. Unreliable messages above the peer's current
    /// maximum datagram size fail with [`SendError::TooLarge`]; when the
    /// datagram buffer is full, the oldest queued datagrams are dropped.
    pub fn send(&mut self, conn: ConnId, reliable: bool, payload: Bytes) -> Result<(), SendError> {
        let Some(entry) = self.entry(conn) else {
            return Err(SendError::NotConnected);
        };
        if entry.phase != Phase::Accepted {
            return Err(SendError::NotConnected);
        }
        if reliable {
            entry.peer.send_frame(payload, true)?;
        } else {
            entry.peer.send_datagram(payload)?;
        }
        self.mark_dirty(conn.slot());
        Ok(())
    }

    /// Closes a connection with an application `code` and `reason`; queued
    /// messages are dropped. Reports [`ServerEvent::Closed`] with
    /// [`CloseReason::Local`] if the connection was reported. Returns
    /// whether it was open.
    pub fn close(&mut self, now: Instant, conn: ConnId, code: u32, reason: &str) -> bool {
        self.clock.advance(now);
        let Some(entry) = lookup(&mut self.slots, conn) else {
            return false;
        };
        if entry.phase == Phase::Closing {
            return false;
        }
        entry.peer.close(now, code, reason);
        self.books.end(entry, CloseReason::Local);
        self.service(conn.slot(), now);
        true
    }

    /// Closes a connection once everything queued for it is delivered: the
    /// graceful [`close`](Self::close), for kicks and shutdown.
    ///
    /// From the call on, [`send`](Self::send) refuses the connection
    /// ([`SendError::NotConnected`], reliable and unreliable alike) and
    /// [`is_accepted`](Self::is_accepted) is false. The reliable messages
    /// already queued still go out, then the server finishes its side of the
    /// stream; once the client has acknowledged all of it (quinn-proto's
    /// `StreamEvent::Finished`), the connection is closed with `code` and
    /// `reason`, which the client reports as [`CloseReason::Peer`] after
    /// every message. If that takes longer than `within`, the connection is
    /// closed at that deadline all the same, and what was not delivered is
    /// lost. Either way [`ServerEvent::Closed`] with [`CloseReason::Local`]
    /// comes at the close, not at the call; the deadline is one of the
    /// server's timers ([`poll_timeout`](Self::poll_timeout)). Datagrams are
    /// not waited for. See [`finish`](super::finish) for the sequence.
    ///
    /// Until the close, the client's messages are still delivered, and
    /// [`pause_reading`](Self::pause_reading) still holds them back; the
    /// close waits for none of them. A [`close`](Self::close) meanwhile
    /// closes at once. If the connection ends otherwise first (the client
    /// closes, times out or breaks the protocol), `Closed` gives that
    /// reason instead.
    ///
    /// A connection not accepted yet has nothing of the server's to
    /// deliver: it is closed at once, as by `close`. Returns whether the
    /// connection was open and not closing already; a second call returns
    /// false and keeps the first one's code, reason and deadline.
    pub fn close_when_delivered(
        &mut self,
        now: Instant,
        conn: ConnId,
        code: u32,
        reason: &str,
        within: Duration,
    ) -> bool {
        self.clock.advance(now);
        let Some(entry) = lookup(&mut self.slots, conn) else {
            return false;
        };
        match entry.phase {
            Phase::Finishing | Phase::Closing => false,
            Phase::Handshaking | Phase::AwaitingToken | Phase::Pending => {
                self.close(now, conn, code, reason)
            }
            Phase::Accepted => {
                entry.phase = Phase::Finishing;
                entry.finish = Some(Finish::new(now, code, reason, within));
                self.service(conn.slot(), now);
                true
            }
        }
    }

    /// Stops reading `conn`'s stream: no reliable [`ServerEvent::Message`]
    /// comes from it until [`resume_reading`](Self::resume_reading). What
    /// the client sends meanwhile stays in quinn-proto, which grants the
    /// client no further flow-control credit, so at most
    /// [`QuicConfig::receive_window`] bytes of it are held here; the rest
    /// waits on the client, whose `send` fails with
    /// [`SendError::Backpressure`] once its own queue is full. Meant for a
    /// driver whose per-session inbox passes a high-water mark.
    ///
    /// Datagrams are still delivered: they are unreliable, never held
    /// beyond quinn-proto's datagram buffer, and a driver with a full inbox
    /// may drop them. Sending is unaffected.
    ///
    /// Any open connection may be paused: before `accept` (messages the
    /// client pipelined behind its token then wait for the resume; the
    /// token itself is read regardless), and during
    /// [`close_when_delivered`](Self::close_when_delivered), which closes
    /// without reading further; unread messages are dropped at the close.
    /// Returns whether the connection was open and reading: false if it is
    /// unknown, closing or already paused.
    pub fn pause_reading(&mut self, conn: ConnId) -> bool {
        match self.entry(conn) {
            Some(entry) if entry.phase != Phase::Closing && !entry.paused => {
                entry.paused = true;
                true
            }
            _ => false,
        }
    }

    /// Undoes [`pause_reading`](Self::pause_reading). Reads at once what
    /// accumulated, so its reliable messages are waiting in
    /// [`poll_event`](Self::poll_event), in order, when this returns, and
    /// grants the client credit again (sent by the next
    /// [`poll_transmit`](Self::poll_transmit) calls). Takes no `now`: it
    /// uses the latest time the server was given. Returns whether the
    /// connection was open and paused.
    pub fn resume_reading(&mut self, conn: ConnId) -> bool {
        match self.entry(conn) {
            Some(entry) if entry.phase != Phase::Closing && entry.paused => {
                entry.paused = false;
            }
            _ => return false,
        }
        let now = self.clock.latest();
        self.service(conn.slot(), now);
        true
    }

    /// Closes every connection (shutdown), in slot order.
    pub fn close_all(&mut self, now: Instant, code: u32, reason: &str) {
        for slot in 0..self.slots.len() {
            if let Some(id) = self.slots[slot].entry.as_ref().map(|e| e.id) {
                self.close(now, id, code, reason);
            }
        }
    }

    /// Whether `conn` is accepted and open, and [`send`](Self::send) takes
    /// messages for it: false once it is closing, gracefully or not.
    pub fn is_accepted(&self, conn: ConnId) -> bool {
        self.entry_ref(conn)
            .is_some_and(|e| e.phase == Phase::Accepted)
    }

    /// The current address of `conn`'s client (it changes when the client
    /// migrates).
    pub fn remote_address(&self, conn: ConnId) -> Option<SocketAddr> {
        self.entry_ref(conn).map(|e| e.peer.conn.remote_address())
    }

    /// The largest unreliable message `conn` accepts now.
    pub fn max_datagram_size(&mut self, conn: ConnId) -> Option<usize> {
        self.entry(conn)?.peer.max_datagram_size()
    }

    /// Reliable bytes queued for `conn` that quinn-proto has not taken yet.
    pub fn queued_bytes(&self, conn: ConnId) -> Option<usize> {
        self.entry_ref(conn).map(|e| e.peer.queued_bytes())
    }

    /// Connections held, in any phase (handshaking, open or closing).
    pub fn connections(&self) -> usize {
        self.endpoint.open_connections()
    }

    /// The server's counters.
    pub const fn stats(&self) -> ServerStats {
        self.books.stats
    }

    fn slot_entry(&mut self, slot: usize) -> Option<&mut Entry> {
        self.slots.get_mut(slot)?.entry.as_deref_mut()
    }

    fn entry(&mut self, conn: ConnId) -> Option<&mut Entry> {
        lookup(&mut self.slots, conn)
    }

    fn entry_ref(&self, conn: ConnId) -> Option<&Entry> {
        let slot = self.slots.get(conn.slot())?;
        if slot.generation != conn.generation() {
            return None;
        }
        slot.entry.as_deref()
    }

    fn respond(&mut self, t: quinn_proto::Transmit) {
        self.books.stats.endpoint_responses += 1;
        self.responses.push(t.destination, &self.scratch[..t.size]);
    }

    fn wants_retry(&self) -> bool {
        match self.config.retry {
            RetryPolicy::Never => false,
            RetryPolicy::Always => true,
            RetryPolicy::WhenHandshakesExceed(n) => self.books.handshaking >= n,
        }
    }

    fn on_incoming(&mut self, now: Instant, incoming: Incoming) {
        self.scratch.clear();
        if self.endpoint.open_connections() >= self.config.max_connections {
            self.books.stats.refused += 1;
            let t = self.endpoint.refuse(incoming, &mut self.scratch);
            return self.respond(t);
        }
        let incoming = if !incoming.remote_address_validated() && self.wants_retry() {
            match self.endpoint.retry(incoming, &mut self.scratch) {
                Ok(t) => {
                    self.books.stats.retries_sent += 1;
                    return self.respond(t);
                }
                Err(e) => e.into_incoming(),
            }
        } else {
            incoming
        };
        self.scratch.clear();
        match self.endpoint.accept(incoming, now, &mut self.scratch, None) {
            Ok((ch, conn)) => {
                self.books.stats.handshakes_started += 1;
                self.books.handshaking += 1;
                let slot = ch.0;
                if self.slots.len() <= slot {
                    self.slots.resize_with(slot + 1, Slot::default);
                }
                let generation = self.slots[slot].generation;
                let transport: &QuicConfig = &self.config.transport;
                self.slots[slot].entry = Some(Box::new(Entry {
                    id: ConnId::new(slot, generation),
                    peer: Peer::new(conn, transport, transport.max_token_bytes),
                    phase: Phase::Handshaking,
                    announced: false,
                    auth_deadline: now + transport.auth_timeout,
                    timer: None,
                    dirty: false,
                    paused: false,
                    finish: None,
                }));
                self.service(slot, now);
            }
            Err(e) => {
                self.books.stats.ended_unannounced += 1;
                if let Some(t) = e.response {
                    self.respond(t);
                }
            }
        }
    }

    /// Processes everything quinn-proto has for one connection after it was
    /// fed: endpoint events, application events, stream reads and writes.
    /// Then queues it for transmission and resets its timer.
    fn service(&mut self, slot: usize, now: Instant) {
        let Some(mut entry) = self.slots.get_mut(slot).and_then(|s| s.entry.take()) else {
            return;
        };
        let ch = ConnectionHandle(slot);
        let mut drained = false;
        loop {
            let mut progressed = false;
            while let Some(event) = entry.peer.conn.poll_endpoint_events() {
                progressed = true;
                drained |= event.is_drained();
                if let Some(event) = self.endpoint.handle_event(ch, event) {
                    entry.peer.conn.handle_event(event);
                }
            }
            while let Some(event) = entry.peer.conn.poll() {
                progressed = true;
                self.on_event(&mut entry, now, event);
            }
            if !progressed {
                break;
            }
        }
        self.pump(&mut entry, now);
        if drained {
            if entry.phase != Phase::Closing {
                // quinn-proto reports the loss before draining; this is a
                // fallback that keeps `Closed` exactly once.
                self.books.end(&mut entry, CloseReason::Local);
            }
            if let Some(at) = entry.timer {
                self.timers.remove(&(at, slot));
            }
            let s = &mut self.slots[slot];
            s.generation = s.generation.wrapping_add(1);
            return;
        }
        self.slots[slot].entry = Some(entry);
        self.mark_dirty(slot);
        self.update_timer(slot);
    }

    fn on_event(&mut self, entry: &mut Entry, now: Instant, event: Event) {
        match event {
            Event::Connected if entry.phase == Phase::Handshaking => {
                self.books.handshaking -= 1;
                entry.phase = Phase::AwaitingToken;
            }
            Event::ConnectionLost { reason } => {
                self.books.end(entry, CloseReason::from_quinn(reason));
            }
            Event::Stream(StreamEvent::Stopped { .. }) => {
                self.books.violation(entry, now, Violation::StreamStopped);
            }
            // The client has acknowledged our whole side of the stream,
            // FIN included: only ever after `close_when_delivered`.
            Event::Stream(StreamEvent::Finished { .. }) => {
                if let Some(finish) = &mut entry.finish {
                    finish.delivered();
                }
            }
            Event::DatagramReceived => {
                let accepted = entry.phase == Phase::Accepted;
                let id = entry.id;
                let events = &mut self.books.events;
                let mut dropped = 0;
                entry.peer.recv_datagrams(&mut |payload| {
                    if accepted {
                        events.push_back(ServerEvent::Message {
                            conn: id,
                            reliable: false,
                            payload,
                        });
                    } else {
                        dropped += 1;
                    }
                });
                self.books.stats.early_datagrams_dropped += dropped;
            }
            // Opened, Readable and Writable are handled by `pump`; the rest
            // needs nothing.
            _ => {}
        }
    }

    /// Reads the stream as far as the phase allows, and writes queued frames.
    fn pump(&mut self, entry: &mut Entry, now: Instant) {
        match entry.phase {
            Phase::AwaitingToken => {
                entry.peer.accept_stream();
                let mut token = None;
                match entry.peer.read(true, &mut |frame| token = Some(frame)) {
                    Err(violation) => self.books.violation(entry, now, violation),
                    Ok(_) => {
                        if let Some(frame) = token {
                            self.on_token(entry, now, frame);
                        } else if entry.peer.recv_finished() {
                            self.books.violation(entry, now, Violation::StreamFinished);
                        }
                    }
                }
            }
            Phase::Accepted | Phase::Finishing => {
                if !entry.paused {
                    let id = entry.id;
                    let events = &mut self.books.events;
                    let read = entry.peer.read(false, &mut |payload| {
                        events.push_back(ServerEvent::Message {
                            conn: id,
                            reliable: true,
                            payload,
                        });
                    });
                    // A client never finishes its side of the stream.
                    let read = read.and_then(|_| {
                        if entry.peer.recv_finished() {
                            Err(Violation::StreamFinished)
                        } else {
                            Ok(())
                        }
                    });
                    if let Err(violation) = read {
                        return self.books.violation(entry, now, violation);
                    }
                }
                entry.peer.flush();
                if entry.phase == Phase::Finishing {
                    self.advance_finish(entry, now);
                }
            }
            Phase::Handshaking | Phase::Pending | Phase::Closing => {}
        }
    }

    /// Moves a graceful close along: the FIN once every queued frame is
    /// taken, then the close once the client has acknowledged it all or
    /// the deadline has come.
    fn advance_finish(&mut self, entry: &mut Entry, now: Instant) {
        entry.peer.finish_when_flushed();
        let Some(finish) = entry.finish.as_ref().filter(|f| f.is_due(now)) else {
            return;
        };
        let (code, reason) = finish.close_frame();
        entry.peer.close(now, code, reason);
        self.books.end(entry, CloseReason::Local);
    }

    fn on_token(&mut self, entry: &mut Entry, now: Instant, frame: Bytes) {
        let token = match String::from_utf8(frame.to_vec()) {
            Ok(token) if !token.is_empty() => token,
            _ => return self.books.violation(entry, now, Violation::BadToken),
        };
        entry.phase = Phase::Pending;
        entry.announced = true;
        self.books.events.push_back(ServerEvent::Connected {
            conn: entry.id,
            addr: entry.peer.conn.remote_address(),
            token,
        });
    }

    fn mark_dirty(&mut self, slot: usize) {
        if let Some(entry) = self.slots[slot].entry.as_mut()
            && !entry.dirty
        {
            entry.dirty = true;
            self.dirty.push_back(slot);
        }
    }

    /// Sets the connection's timer to the earliest of quinn-proto's next
    /// timeout, its auth deadline and its graceful-close deadline.
    fn update_timer(&mut self, slot: usize) {
        let Some(entry) = self.slots[slot].entry.as_mut() else {
            return;
        };
        let mut next = entry.peer.conn.poll_timeout();
        if entry.phase.authenticating() {
            next = Some(next.map_or(entry.auth_deadline, |t| t.min(entry.auth_deadline)));
        }
        if let Some(deadline) = entry.finish.as_ref().and_then(Finish::deadline) {
            next = Some(next.map_or(deadline, |t| t.min(deadline)));
        }
        if next == entry.timer {
            return;
        }
        if let Some(old) = entry.timer {
            self.timers.remove(&(old, slot));
        }
        if let Some(at) = next {
            self.timers.insert((at, slot));
        }
        entry.timer = next;
    }
}

/// The datagram-server vocabulary ([`crate::datagram`]); see "Driving it"
/// on [`QuicServer`].
impl DatagramServer for QuicServer {
    type Time = Instant;
    type Event = ServerEvent;

    /// Feeds one received datagram. Never panics, whatever the bytes.
    ///
    /// A datagram longer than [`MAX_UDP_PAYLOAD`] is dropped unread: no
    /// peer sends one (it is the largest payload quinn-proto advertises),
    /// and quinn-proto would answer one of unknown short header with a
    /// stateless reset one byte shorter, past that limit.
    fn handle_datagram(&mut self, now: Instant, from: SocketAddr, datagram: &mut [u8]) {
        self.books.stats.datagrams_received += 1;
        if datagram.len() > MAX_UDP_PAYLOAD {
            return;
        }
        self.clock.advance(now);
        self.scratch.clear();
        match self.endpoint.handle(
            now,
            from,
            None,
            None,
            BytesMut::from(&*datagram),
            &mut self.scratch,
        ) {
            None => {}
            Some(DatagramEvent::Response(t)) => self.respond(t),
            Some(DatagramEvent::NewConnection(incoming)) => self.on_incoming(now, incoming),
            Some(DatagramEvent::ConnectionEvent(ch, event)) => {
                if let Some(entry) = self.slot_entry(ch.0) {
                    entry.peer.conn.handle_event(event);
                    self.service(ch.0, now);
                }
            }
        }
    }

    /// When [`handle_timeout`](Self::handle_timeout) is next due, if any
    /// connection has a timer.
    fn poll_timeout(&self) -> Option<Instant> {
        self.timers.first().map(|&(at, _)| at)
    }

    /// Runs every timer due by `now`: retransmissions, acknowledgements,
    /// idle and auth timeouts, the end of closing connections.
    fn handle_timeout(&mut self, now: Instant) {
        self.clock.advance(now);
        let mut due = std::mem::take(&mut self.due);
        due.clear();
        while let Some(&(at, slot)) = self.timers.first() {
            if at > now {
                break;
            }
            self.timers.pop_first();
            if let Some(entry) = self.slot_entry(slot) {
                entry.timer = None;
                due.push(slot);
            }
        }
        for &slot in &due {
            let Some(entry) = self.slots[slot].entry.as_deref_mut() else {
                continue;
            };
            if entry.phase.authenticating() && entry.auth_deadline <= now {
                entry
                    .peer
                    .close(now, codes::AUTH_TIMEOUT, "not authenticated in time");
                self.books.end(entry, CloseReason::AuthTimeout);
            }
            entry.peer.conn.handle_timeout(now);
            self.service(slot, now);
        }
        self.due = due;
    }

    /// Writes the next datagram to send into `buf` (cleared first) and says
    /// where it goes. Call until `None` after every batch of input.
    fn poll_transmit(&mut self, now: Instant, buf: &mut Vec<u8>) -> Option<Transmit> {
        self.clock.advance(now);
        if let Some(t) = self.responses.pop_into(buf) {
            self.books.stats.datagrams_sent += 1;
            return Some(t);
        }
        while let Some(&slot) = self.dirty.front() {
            let Some(entry) = self.slots[slot].entry.as_mut() else {
                self.dirty.pop_front();
                continue;
            };
            buf.clear();
            if let Some(t) = entry.peer.conn.poll_transmit(now, 1, buf) {
                self.books.stats.datagrams_sent += 1;
                return Some(Transmit {
                    destination: t.destination,
                    size: t.size,
                });
            }
            entry.dirty = false;
            self.dirty.pop_front();
            self.update_timer(slot);
        }
        None
    }

    /// The next event, oldest first.
    fn poll_event(&mut self) -> Option<ServerEvent> {
        self.books.events.pop_front()
    }
}

/// The entry of `conn`, if it is still the connection in its slot.
fn lookup(slots: &mut [Slot], conn: ConnId) -> Option<&mut Entry> {
    let slot = slots.get_mut(conn.slot())?;
    if slot.generation != conn.generation() {
        return None;
    }
    slot.entry.as_deref_mut()
}
