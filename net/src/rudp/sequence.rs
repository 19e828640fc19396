//! The sequenced channel: a wrapping sequence number in front of each
//! unreliable message, so the receiver can drop anything older than what it
//! already delivered.
//!
//! renet 2 has no sequenced channel, so Kairos builds one on an unreliable
//! renet channel. The sender stamps each message with a 32-bit big-endian
//! sequence number that starts at 0 and wraps. The receiver keeps the newest
//! number it delivered and drops every message that is not newer.
//!
//! "Newer" is decided modulo 2^32, as in netcode and ENet: `a` is newer than
//! `b` when `a - b`, wrapping, lies in `1..2^31`. This is correct across the
//! wrap as long as a message is never overtaken by 2^31 or more later ones.
//! 32 bits, not 16, because the layers below bound reordering only in
//! packets: netcode's replay window admits a packet up to 256 packets late,
//! and one 1200-byte renet packet can carry about 400 tiny messages, so some
//! 10^5 messages may overtake one another. That would fool a 16-bit
//! comparison (half range 32,768), but is far from 2^31.

use bytes::Bytes;
#[cfg(test)]
use bytes::{BufMut, BytesMut};

use super::guard::Violation;

/// Bytes of the sequence prefix.
pub const SEQUENCE_PREFIX_BYTES: usize = 4;

/// Whether sequence number `a` is newer than `b`, modulo 2^32.
///
/// Invariants: never true for `a == b`; for `a != b`, exactly one of
/// `is_newer(a, b)` and `is_newer(b, a)` holds, except when they are exactly
/// 2^31 apart, where neither does.
pub const fn is_newer(a: u32, b: u32) -> bool {
    let distance = a.wrapping_sub(b);
    distance != 0 && distance < 1 << 31
}

/// The sending half: numbers outgoing messages.
#[derive(Debug, Clone, Default)]
pub(crate) struct SequencedSender {
    next: u32,
}

impl SequencedSender {
    /// A sender whose first number is `first` (tests start near the wrap).
    #[cfg(test)]
    pub(crate) const fn starting_at(first: u32) -> Self {
        Self { next: first }
    }

    /// The next sequence number, taken.
    pub(crate) fn take(&mut self) -> u32 {
        let next = self.next;
        self.next = self.next.wrapping_add(1);
        next
    }

    /// `message` with the next sequence number in front.
    #[cfg(test)]
    pub(crate) fn stamp(&mut self, message: &[u8]) -> Bytes {
        let mut out = BytesMut::with_capacity(SEQUENCE_PREFIX_BYTES + message.len());
        out.put_u32(self.take());
        out.put_slice(message);
        out.freeze()
    }
}

/// The receiving half: remembers the newest number delivered.
#[derive(Debug, Clone, Default)]
pub(crate) struct SequencedReceiver {
    newest: Option<u32>,
}

impl SequencedReceiver {
    /// Strips the prefix of a received message. `Ok(Some(payload))` if it is
    /// newer than everything delivered so far (it becomes the newest),
    /// `Ok(None)` if it is stale or a repeat, `Err` if it has no prefix.
    pub(crate) fn open(&mut self, message: Bytes) -> Result<Option<Bytes>, Violation> {
        Ok(self
            .open_slice(&message)?
            .map(|_| message.slice(SEQUENCE_PREFIX_BYTES..)))
    }

    /// [`open`](Self::open) on borrowed bytes: the payload, if newer.
    pub(crate) fn open_slice<'a>(
        &mut self,
        message: &'a [u8],
    ) -> Result<Option<&'a [u8]>, Violation> {
        let Some((prefix, payload)) = message.split_first_chunk::<SEQUENCE_PREFIX_BYTES>() else {
            return Err(Violation::MissingSequence);
        };
        let sequence = u32::from_be_bytes(*prefix);
        match self.newest {
            Some(newest) if !is_newer(sequence, newest) => Ok(None),
            _ => {
                self.newest = Some(sequence);
                Ok(Some(payload))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn newer_wraps_around() {
        assert!(is_newer(1, 0));
        assert!(!is_newer(0, 1));
        assert!(!is_newer(5, 5));
        assert!(is_newer(0, u32::MAX));
        assert!(is_newer(10, u32::MAX - 10));
        assert!(!is_newer(u32::MAX - 10, 10));
        assert!(is_newer((1 << 31) - 1, 0));
        assert!(!is_newer(1 << 31, 0) && !is_newer(0, 1 << 31));
    }

    #[test]
    fn receiver_only_moves_forward_across_the_wrap() {
        let mut tx = SequencedSender::starting_at(u32::MAX - 2);
        let stamped: Vec<Bytes> = (0..6u8).map(|i| tx.stamp(&[i])).collect();
        let mut rx = SequencedReceiver::default();
        let mut open = |i: usize| rx.open(stamped[i].clone()).unwrap().map(|b| b[0]);
        assert_eq!(open(1), Some(1));
        assert_eq!(open(0), None, "older");
        assert_eq!(open(1), None, "repeat");
        assert_eq!(open(3), Some(3), "crosses u32::MAX -> 0");
        assert_eq!(open(2), None);
        assert_eq!(open(5), Some(5));
        assert_eq!(open(4), None);
    }

    #[test]
    fn empty_payloads_are_fine_but_missing_prefix_is_not() {
        let mut tx = SequencedSender::default();
        let mut rx = SequencedReceiver::default();
        assert_eq!(rx.open(tx.stamp(&[])), Ok(Some(Bytes::new())));
        assert_eq!(
            rx.open(Bytes::from_static(&[0, 0, 1])),
            Err(Violation::MissingSequence)
        );
    }
}
