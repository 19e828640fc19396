//! The queue of datagrams an endpoint wants sent.

use std::net::SocketAddr;

use crate::datagram::Transmit;

/// The largest datagram either endpoint ever emits (renetcode's
/// `NETCODE_MAX_PACKET_BYTES`). Payload packets are smaller still: renetcode
/// refuses renet packets above 1,300 bytes, so with its 9-byte header and
/// 16-byte tag a datagram is at most 1,325 bytes (1,373 on the wire over
/// IPv6), inside a 1,500-byte Ethernet MTU. renet's packets stay well below
/// that limit, and lane packets reach it: a datagram of 1,325 bytes.
pub const MAX_DATAGRAM_BYTES: usize = renetcode::NETCODE_MAX_PACKET_BYTES;

/// Outgoing datagrams, oldest first, stored back to back in one buffer.
///
/// Pushing copies the datagram into the buffer, which only allocates while
/// the buffer is still growing; once drained, the buffer is reused. Move a
/// whole batch out with `take_transmits` on the client (a swap, no copy), or
/// pop datagrams one by one with [`pop_into`](Self::pop_into) (the client's
/// `poll_transmit`) or the server's `poll_transmit`.
///
/// Invariant: every datagram is at most [`MAX_DATAGRAM_BYTES`] long.
#[derive(Debug, Default, Clone)]
pub struct Transmits {
    bytes: Vec<u8>,
    /// Destination and end offset in `bytes` of each datagram.
    datagrams: Vec<(SocketAddr, usize)>,
    /// Datagrams before this index were popped already.
    head: usize,
}

impl Transmits {
    /// An empty queue.
    pub const fn new() -> Self {
        Self {
            bytes: Vec::new(),
            datagrams: Vec::new(),
            head: 0,
        }
    }

    /// Datagrams still queued.
    pub fn len(&self) -> usize {
        self.datagrams.len() - self.head
    }

    /// Whether nothing is queued.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The queued datagrams, oldest first, as `(destination, bytes)`.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = (SocketAddr, &[u8])> + '_ {
        let start = |i: usize| if i == 0 { 0 } else { self.datagrams[i - 1].1 };
        (self.head..self.datagrams.len()).map(move |i| {
            let (addr, end) = self.datagrams[i];
            (addr, &self.bytes[start(i)..end])
        })
    }

    /// Copies the oldest datagram into `buf` and removes it. Returns its
    /// destination and length.
    pub fn pop_into(&mut self, buf: &mut [u8; MAX_DATAGRAM_BYTES]) -> Option<(SocketAddr, usize)> {
        let (addr, bytes) = self.iter().next()?;
        let len = bytes.len();
        buf[..len].copy_from_slice(bytes);
        self.head += 1;
        if self.head == self.datagrams.len() {
            self.clear();
        }
        Some((addr, len))
    }

    /// Copies the oldest datagram into `buf` (cleared first) and removes it:
    /// the [`DatagramServer::poll_transmit`](crate::datagram::DatagramServer::poll_transmit)
    /// of the server.
    pub(crate) fn pop_transmit(&mut self, buf: &mut Vec<u8>) -> Option<Transmit> {
        let (destination, bytes) = self.iter().next()?;
        buf.clear();
        buf.extend_from_slice(bytes);
        self.head += 1;
        if self.head == self.datagrams.len() {
            self.clear();
        }
        Some(Transmit {
            destination,
            size: buf.len(),
        })
    }

    /// Drops every queued datagram, keeping the buffers for reuse.
    pub fn clear(&mut self) {
        self.bytes.clear();
        self.datagrams.clear();
        self.head = 0;
    }

    /// Queues `copies` identical copies of `datagram` for `addr`.
    pub(crate) fn push(&mut self, addr: SocketAddr, datagram: &[u8], copies: usize) {
        debug_assert!(datagram.len() <= MAX_DATAGRAM_BYTES);
        for _ in 0..copies {
            self.bytes.extend_from_slice(datagram);
            self.datagrams.push((addr, self.bytes.len()));
        }
    }

    /// Queues the datagram `write` appends to the buffer it is given, for
    /// `addr`: built in place, with no copy. `write` must append at most
    /// [`MAX_DATAGRAM_BYTES`].
    pub(crate) fn push_with(&mut self, addr: SocketAddr, write: impl FnOnce(&mut Vec<u8>)) {
        let start = self.bytes.len();
        write(&mut self.bytes);
        debug_assert!(self.bytes.len() - start <= MAX_DATAGRAM_BYTES);
        self.datagrams.push((addr, self.bytes.len()));
    }

    /// Clears `out`, then swaps the queue into it.
    pub(crate) fn take_into(&mut self, out: &mut Self) {
        out.clear();
        std::mem::swap(self, out);
    }
}

/// netcode sends its disconnect packet once; Kairos queues it this many
/// times, so that it survives some loss. Repeats are harmless: the
/// receiver's replay protection drops all but the first.
pub(crate) const DISCONNECT_COPIES: usize = 3;

/// An endpoint's outgoing queue and the count of everything ever queued.
#[derive(Debug, Default)]
pub(crate) struct Outbox {
    pub(crate) transmits: Transmits,
    pub(crate) queued: u64,
}

impl Outbox {
    /// Queues `copies` copies of `datagram` for `addr`.
    pub(crate) fn push(&mut self, addr: SocketAddr, datagram: &[u8], copies: usize) {
        self.transmits.push(addr, datagram, copies);
        self.queued += copies as u64;
    }

    /// Queues the datagram `write` appends, for `addr`
    /// ([`Transmits::push_with`]).
    pub(crate) fn push_with(&mut self, addr: SocketAddr, write: impl FnOnce(&mut Vec<u8>)) {
        self.transmits.push_with(addr, write);
        self.queued += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queue_pops_in_order_and_reuses_its_buffer() {
        let a = SocketAddr::from(([127, 0, 0, 1], 1));
        let b = SocketAddr::from(([127, 0, 0, 1], 2));
        let mut q = Transmits::new();
        q.push(a, b"one", 1);
        q.push(b, b"two!", 2);
        assert_eq!(q.len(), 3);
        let all: Vec<_> = q.iter().collect();
        assert_eq!(all, [(a, &b"one"[..]), (b, b"two!"), (b, b"two!")]);

        let mut buf = [0u8; MAX_DATAGRAM_BYTES];
        assert_eq!(q.pop_into(&mut buf), Some((a, 3)));
        assert_eq!(&buf[..3], b"one");
        assert_eq!(q.iter().next(), Some((b, &b"two!"[..])));
        assert_eq!(q.pop_into(&mut buf), Some((b, 4)));
        let mut vec = Vec::new();
        assert_eq!(
            q.pop_transmit(&mut vec),
            Some(Transmit {
                destination: b,
                size: 4
            })
        );
        assert_eq!(vec, b"two!");
        assert_eq!(q.pop_into(&mut buf), None);
        assert_eq!(q.pop_transmit(&mut vec), None);
        assert!(q.is_empty());
        assert!(q.bytes.capacity() >= 11, "buffer kept");

        let mut out = Transmits::new();
        out.push(a, b"stale", 1);
        q.push(a, b"fresh", 1);
        q.take_into(&mut out);
        assert!(q.is_empty());
        assert_eq!(out.iter().collect::<Vec<_>>(), [(a, &b"fresh"[..])]);
    }
}
