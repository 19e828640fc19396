//! The graceful close of a server connection
//! ([`QuicServer::close_when_delivered`](super::QuicServer::close_when_delivered)):
//! what the server keeps between the call and the close.
//!
//! # Sequence
//!
//! 1. The call: sends on the connection are refused from now on (reliable
//!    and unreliable alike); the frames already queued stay queued.
//! 2. The queued frames go to quinn-proto as flow control and congestion
//!    allow. Once it has taken the last one, the server finishes its side
//!    of the stream: a FIN right after the last frame.
//! 3. quinn-proto reports `StreamEvent::Finished` once the client has
//!    acknowledged every byte of the server's side and the FIN, and so has
//!    every reliable message. The server then closes the connection with
//!    the application's code and reason, exactly as `close` would.
//! 4. If the deadline passes first, the server closes all the same, and
//!    what was not delivered is lost, as with `close`.
//!
//! Datagrams are not waited for. The client's messages keep being read
//! and delivered until the close (unless reading is paused); the close
//! does not wait for them.
//!
//! The client takes a FIN at a frame boundary as the announcement of that
//! close: it reports nothing and keeps its connection open for the
//! server's `CONNECTION_CLOSE`. (A FIN mid-frame is a truncated frame, and
//! a violation.) Like any close, `CONNECTION_CLOSE` is sent once, then
//! again only in answer to packets from the client during the closing
//! period (RFC 9000, section 10.2.1). If it is lost and the client stays
//! silent, the client learns of the end from its idle timeout or a
//! stateless reset instead; it has every reliable message all the same.

use std::time::{Duration, Instant};

/// A close waiting for the client to acknowledge the server's stream.
///
/// Invariant: held only by a connection in the finishing phase; dropped
/// when the connection closes, whatever closes it.
#[derive(Debug)]
pub(crate) struct Finish {
    code: u32,
    reason: String,
    /// `None`: the deadline lies beyond what an `Instant` can hold.
    deadline: Option<Instant>,
    /// The client acknowledged everything on the stream, FIN included.
    delivered: bool,
}

impl Finish {
    /// A close with `code` and `reason`, at the latest `within` after
    /// `now`.
    pub(crate) fn new(now: Instant, code: u32, reason: &str, within: Duration) -> Self {
        Self {
            code,
            reason: reason.to_owned(),
            deadline: now.checked_add(within),
            delivered: false,
        }
    }

    /// When the server closes even if the client has not acknowledged;
    /// `None` if that is too far away to be represented (never, in effect).
    pub(crate) const fn deadline(&self) -> Option<Instant> {
        self.deadline
    }

    /// Notes quinn-proto's `StreamEvent::Finished` for the server's side.
    pub(crate) fn delivered(&mut self) {
        self.delivered = true;
    }

    /// Whether the connection should close now: everything was delivered,
    /// or the deadline has come.
    pub(crate) fn is_due(&self, now: Instant) -> bool {
        self.delivered || self.deadline.is_some_and(|deadline| now >= deadline)
    }

    /// The application's code and reason for the close.
    pub(crate) fn close_frame(&self) -> (u32, &str) {
        (self.code, &self.reason)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn due_on_delivery_or_at_the_deadline() {
        let t0 = Instant::now();
        let mut finish = Finish::new(t0, 7, "bye", Duration::from_secs(1));
        assert_eq!(finish.close_frame(), (7, "bye"));
        assert_eq!(finish.deadline(), Some(t0 + Duration::from_secs(1)));
        assert!(!finish.is_due(t0));
        assert!(!finish.is_due(t0 + Duration::from_millis(999)));
        assert!(finish.is_due(t0 + Duration::from_secs(1)));
        finish.delivered();
        assert!(finish.is_due(t0));

        let endless = Finish::new(t0, 0, "", Duration::MAX);
        assert_eq!(endless.deadline(), None);
        assert!(!endless.is_due(t0 + Duration::from_secs(1_000_000)));
    }
}
