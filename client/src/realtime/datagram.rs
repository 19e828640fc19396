//! What the two datagram links (reliable UDP and QUIC) share: each turns
//! timers and received datagrams into messages one `step` at a time, and
//! the handshake and the receive loop are built on that step alone.

use std::time::Instant;

use bytes::Bytes;

use super::ws::closed_again;
use crate::error::{Error, Result};

/// A connection driven by hand over a UDP socket.
pub(crate) trait DatagramLink {
    /// One turn: the timers that are due, then the datagrams that arrive
    /// before the next timer or `deadline` (none waited for without one).
    /// Messages go to `out`.
    fn step(&mut self, deadline: Option<Instant>, out: &mut Vec<Bytes>) -> Result<()>;

    /// Whether the server has accepted the connection.
    fn connected(&self) -> bool;

    /// Why the connection ended, once it has.
    fn closed(&self) -> Option<&Error>;

    /// Messages received before the caller asked for them (those that came
    /// with the handshake's last packets).
    fn pending(&mut self) -> &mut Vec<Bytes>;

    /// Ends the connection from this side and tells the server.
    fn close(&mut self);

    /// Steps until the server accepts, the connection ends, or `deadline`
    /// passes (then the server is told). Messages right behind the accept
    /// are kept for the first [`drive`](Self::drive).
    fn handshake(&mut self, deadline: Instant) -> Result<()> {
        let mut early = Vec::new();
        while !self.connected() {
            if let Some(e) = self.closed() {
                return Err(closed_again(e));
            }
            if Instant::now() >= deadline {
                self.close();
                return Err(Error::Timeout);
            }
            self.step(Some(deadline), &mut early)?;
        }
        *self.pending() = early;
        Ok(())
    }

    /// Drives the connection until at least one message arrived or
    /// `deadline` passed (`None`: only what is ready now). Messages that
    /// came before the end are delivered before the end is reported.
    fn drive(&mut self, deadline: Option<Instant>, out: &mut Vec<Bytes>) -> Result<()> {
        let start = out.len();
        out.append(self.pending());
        loop {
            if self.closed().is_none() {
                self.step(deadline, out)?;
            }
            if out.len() > start {
                return Ok(());
            }
            if let Some(e) = self.closed() {
                return Err(closed_again(e));
            }
            if deadline.is_none_or(|d| Instant::now() >= d) {
                return Ok(());
            }
        }
    }

    /// The error for a send the link refused as not connected.
    fn not_connected(&self) -> Error {
        self.closed().map_or_else(
            || Error::Closed {
                code: None,
                reason: "not connected".into(),
            },
            closed_again,
        )
    }
}
