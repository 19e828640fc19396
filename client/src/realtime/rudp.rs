//! The reliable-UDP link: [`RudpClient`] (renetcode + renet, sans-IO)
//! over a `std` UDP socket.
//!
//! Driving rules, from `kairos_net::rudp`'s "Flushing": `flush` once
//! after each batch of received datagrams and after queuing messages,
//! `update` on a fixed tick (never per datagram), and every datagram the
//! client queued goes out right after.

use std::net::SocketAddr;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use kairos_net::rudp::{
    Channel, ClientEvent, MAX_DATAGRAM_BYTES, MAX_SEQUENCED_MESSAGE_BYTES, RudpClient, RudpConfig,
    SendError, Transmits,
};

use super::datagram::DatagramLink;
use super::udp::Udp;
use super::ws::closed_again;
use crate::error::{Error, Result};

/// The tick: resends, acknowledgements, keepalives and timeouts.
const TICK: Duration = Duration::from_millis(10);

/// UNIX time that never goes backwards: the wall clock once, plus a
/// monotonic clock. Connect tokens carry absolute times, so the client's
/// `now` is UNIX time, as the server's.
#[derive(Debug, Clone, Copy)]
struct UnixClock {
    start: Instant,
    epoch: Duration,
}

impl UnixClock {
    fn new() -> Self {
        Self {
            start: Instant::now(),
            epoch: SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .unwrap_or_default(),
        }
    }

    fn at(&self, t: Instant) -> Duration {
        self.epoch + t.saturating_duration_since(self.start)
    }
}

#[derive(Debug)]
pub(crate) struct RudpLink {
    udp: Udp,
    client: RudpClient,
    clock: UnixClock,
    next_tick: Instant,
    transmits: Transmits,
    buf: Vec<u8>,
    connected: bool,
    closed: Option<Error>,
    /// Messages that arrived with the handshake's last packets.
    pending: Vec<Bytes>,
}

impl RudpLink {
    /// Connects with `token` (the bytes of a connect token), waiting for
    /// the handshake until `deadline`.
    pub(crate) fn connect(token: &[u8], deadline: Instant) -> Result<RudpLink> {
        let clock = UnixClock::new();
        let now = Instant::now();
        let client = RudpClient::new(clock.at(now), token, RudpConfig::default())
            .map_err(|e| Error::InvalidInput(format!("connect token: {e}")))?;
        let udp = Udp::bind_for(client.server_addr())?;
        let mut link = RudpLink {
            udp,
            client,
            clock,
            next_tick: now,
            transmits: Transmits::new(),
            buf: vec![0; MAX_DATAGRAM_BYTES.max(2048)],
            connected: false,
            closed: None,
            pending: Vec::new(),
        };
        link.handshake(deadline)?;
        Ok(link)
    }

    /// The server's address.
    pub(crate) fn server_addr(&self) -> SocketAddr {
        self.client.server_addr()
    }

    /// renet's round-trip time.
    pub(crate) fn rtt(&self) -> Option<Duration> {
        self.client.rtt()
    }

    /// Queues a message, and with `flush` sends it with whatever else is
    /// queued. Unreliable ones go sequenced (never an older update after a
    /// newer one), unless too large for one datagram: then reliably.
    pub(crate) fn send(&mut self, payload: Vec<u8>, reliable: bool, flush: bool) -> Result<()> {
        if let Some(e) = &self.closed {
            return Err(closed_again(e));
        }
        let channel = if reliable || payload.len() > MAX_SEQUENCED_MESSAGE_BYTES {
            Channel::ReliableOrdered
        } else {
            Channel::UnreliableSequenced
        };
        let payload = Bytes::from(payload);
        let mut result = self.client.send(channel, payload.clone());
        if channel == Channel::UnreliableSequenced && result == Err(SendError::ChannelFull) {
            // The unreliable lane's budget is per flush: a batch larger
            // than it leaves in several flushes instead of failing.
            self.flush()?;
            result = self.client.send(channel, payload);
        }
        match result {
            Ok(()) => {}
            Err(SendError::NotConnected) => {
                self.collect(&mut Vec::new());
                return Err(self.not_connected());
            }
            Err(e @ SendError::MessageTooLarge { .. }) => {
                return Err(Error::InvalidInput(e.to_string()));
            }
            Err(e @ SendError::ChannelFull) => {
                return Err(Error::Transport(format!(
                    "reliable UDP: {e} (the server does not acknowledge fast enough)"
                )));
            }
        }
        if flush { self.flush() } else { Ok(()) }
    }

    /// Sends what is queued, in as few datagrams as it fits (renet's
    /// packets and the unreliable lane's share them).
    pub(crate) fn flush(&mut self) -> Result<()> {
        if let Some(e) = &self.closed {
            return Err(closed_again(e));
        }
        self.client.flush(self.clock.at(Instant::now()));
        self.transmit()
    }

    /// Takes the client's events.
    fn collect(&mut self, out: &mut Vec<Bytes>) {
        while let Some(event) = self.client.poll_event() {
            match event {
                ClientEvent::Connected => self.connected = true,
                ClientEvent::Message { payload, .. } => out.push(payload),
                ClientEvent::Disconnected { reason } => {
                    self.closed.get_or_insert(Error::Closed {
                        code: None,
                        reason: reason.to_string(),
                    });
                }
            }
        }
    }

    /// Sends what the client queued.
    fn transmit(&mut self) -> Result<()> {
        self.client.take_transmits(&mut self.transmits);
        for (addr, bytes) in self.transmits.iter() {
            self.udp.send_to(bytes, addr)?;
        }
        self.transmits.clear();
        Ok(())
    }
}

impl DatagramLink for RudpLink {
    fn step(&mut self, deadline: Option<Instant>, out: &mut Vec<Bytes>) -> Result<()> {
        let now = Instant::now();
        if now >= self.next_tick {
            self.client.update(self.clock.at(now));
            self.next_tick = now + TICK;
            self.transmit()?;
            self.collect(out);
            if self.closed.is_some() {
                return Ok(());
            }
        }
        let wait = deadline.map(|d| d.min(self.next_tick));
        let mut received = 0;
        let mut until = wait;
        while let Some((n, from)) = self.udp.recv(&mut self.buf, until)? {
            let now = self.clock.at(Instant::now());
            self.client.handle_datagram(now, from, &mut self.buf[..n]);
            received += 1;
            // The rest of the batch: only what is ready.
            until = None;
        }
        if received > 0 {
            self.client.flush(self.clock.at(Instant::now()));
            self.transmit()?;
            self.collect(out);
        }
        Ok(())
    }

    fn connected(&self) -> bool {
        self.connected
    }

    fn closed(&self) -> Option<&Error> {
        self.closed.as_ref()
    }

    fn pending(&mut self) -> &mut Vec<Bytes> {
        &mut self.pending
    }

    /// Says goodbye (netcode's disconnect packet, sent several times).
    fn close(&mut self) {
        if self.closed.is_some() {
            return;
        }
        self.client.disconnect();
        let _ = self.transmit();
        self.collect(&mut Vec::new());
        self.closed = Some(Error::Closed {
            code: None,
            reason: "closed locally".into(),
        });
    }
}
