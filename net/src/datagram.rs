//! The one vocabulary of Kairos' datagram servers, quinn-proto's: both
//! [`RudpServer`](crate::rudp::RudpServer) and
//! [`QuicServer`](crate::quic::QuicServer) are driven the same way, so one
//! driver (the shards' `datagram` module) runs either on a UDP socket.
//!
//! # Driving a server
//!
//! ```text
//! loop {
//!     for each datagram (from, bytes) the socket has:   // a batch
//!         server.handle_datagram(now, from, &mut bytes);
//!     while let Some(event) = server.poll_event() { ... accept / send / close ... }
//!     while let Some(t) = server.poll_transmit(now, &mut buf) {
//!         socket.send_to(&buf[..t.size], t.destination)
//!     }
//!     sleep until a datagram arrives, the application queued output, or
//!         server.poll_timeout();
//!     if server.poll_timeout() <= now { server.handle_timeout(now) }
//! }
//! ```
//!
//! Invariants every implementation keeps:
//!
//! * Sans-IO: no socket, no clock, no task. Time comes in as `now`, a
//!   value of the server's own [`Time`](DatagramServer::Time) that never
//!   decreases between calls (an earlier one counts as no time passing).
//! * No input panics: `handle_datagram` takes any bytes from any address.
//! * Output waits for the driver: events queue until
//!   [`poll_event`](DatagramServer::poll_event), datagrams until
//!   [`poll_transmit`](DatagramServer::poll_transmit). Both queues are
//!   unbounded, so a driver drains them after every call that feeds the
//!   server.
//! * [`poll_timeout`](DatagramServer::poll_timeout) may move earlier after
//!   any call that changes the server, `poll_transmit` included (sending
//!   arms QUIC's loss-detection timers): a driver asks it again after each
//!   such call, not only after `handle_timeout`. `handle_timeout` before
//!   the deadline does nothing harmful, so waking early is safe.

use std::net::SocketAddr;

/// One datagram to send: the first `size` bytes of the buffer the caller
/// passed to [`DatagramServer::poll_transmit`], to `destination`. Always a
/// single datagram (no GSO segments), sent without ECN marking and from the
/// socket's default source address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Transmit {
    /// Where to send it.
    pub destination: SocketAddr,
    /// Its length.
    pub size: usize,
}

/// A sans-IO datagram server: bytes and time in, events and datagrams out.
/// See the [module documentation](self) for the loop that drives one and
/// the invariants it keeps.
pub trait DatagramServer {
    /// The server's clock: a monotonic [`Instant`](std::time::Instant)
    /// (QUIC), or the time since the UNIX epoch as a
    /// [`Duration`](std::time::Duration) (reliable UDP, whose connect
    /// tokens carry absolute expiry times).
    type Time: Copy + Ord;

    /// What the server reports to the application: connections that
    /// authenticated, their messages, their ends.
    type Event;

    /// Feeds one received datagram from `from`. It may be decrypted in
    /// place. Never panics, whatever the bytes.
    fn handle_datagram(&mut self, now: Self::Time, from: SocketAddr, datagram: &mut [u8]);

    /// The next event, oldest first.
    fn poll_event(&mut self) -> Option<Self::Event>;

    /// Writes the next datagram to send into `buf` (cleared first) and says
    /// where it goes. Call until `None` after every batch of input.
    fn poll_transmit(&mut self, now: Self::Time, buf: &mut Vec<u8>) -> Option<Transmit>;

    /// When [`handle_timeout`](Self::handle_timeout) is next due, if ever.
    fn poll_timeout(&self) -> Option<Self::Time>;

    /// Runs whatever is due by `now`: retransmissions, acknowledgements,
    /// keepalives, timeouts, deferred sends.
    fn handle_timeout(&mut self, now: Self::Time);
}
