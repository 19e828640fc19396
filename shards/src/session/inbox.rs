//! The inbound queue of one datagram-transport session: the driver pushes
//! the messages its connection delivers, the session's task handles them
//! in order.
//!
//! It is bounded in bytes, not messages: a client may send a burst of
//! many small requests (it is served in order, as a WebSocket's would be),
//! but what it can make the server hold is capped. Each message weighs its
//! length and the room its entry takes ([`ENTRY_BYTES`]), so even empty
//! messages (a datagram may carry hundreds) fill it.

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;

use bytes::Bytes;

use crate::rt::LocalNotify;

/// What each message weighs beyond its length: its entry in the queue.
pub const ENTRY_BYTES: usize = std::mem::size_of::<Bytes>();

/// A byte-bounded FIFO of inbound messages that can be closed.
pub struct Inbox {
    items: RefCell<VecDeque<Bytes>>,
    bytes: Cell<usize>,
    max_bytes: usize,
    closed: Cell<bool>,
    pub notify: LocalNotify,
}

impl Inbox {
    pub fn new(max_bytes: usize) -> Inbox {
        Inbox {
            items: RefCell::new(VecDeque::new()),
            bytes: Cell::new(0),
            max_bytes,
            closed: Cell::new(false),
            notify: LocalNotify::default(),
        }
    }

    /// Queues a message; false when it would take the inbox past its
    /// bound (the caller decides: drop it, or close the session).
    pub fn push(&self, msg: Bytes) -> bool {
        let held = self.bytes.get() + msg.len() + ENTRY_BYTES;
        if held > self.max_bytes {
            return false;
        }
        self.bytes.set(held);
        self.items.borrow_mut().push_back(msg);
        self.notify.notify();
        true
    }

    /// Bytes waiting, entries included.
    pub fn bytes(&self) -> usize {
        self.bytes.get()
    }

    /// The bound, in bytes.
    pub fn max_bytes(&self) -> usize {
        self.max_bytes
    }

    #[cfg(test)]
    pub fn is_empty(&self) -> bool {
        self.items.borrow().is_empty()
    }

    pub fn pop(&self) -> Option<Bytes> {
        let msg = self.items.borrow_mut().pop_front()?;
        self.bytes.set(self.bytes.get() - msg.len() - ENTRY_BYTES);
        Some(msg)
    }

    /// No more messages will come; wakes the reader.
    pub fn close(&self) {
        self.closed.set(true);
        self.notify.notify();
    }

    pub fn is_closed(&self) -> bool {
        self.closed.get()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounded_in_bytes_and_closable() {
        const E: usize = ENTRY_BYTES;
        let i = Inbox::new(2 * E + 3);
        assert!(i.push(Bytes::from_static(b"ab")));
        assert!(!i.push(Bytes::from_static(b"cd")), "past the bound");
        assert!(i.push(Bytes::from_static(b"c")));
        assert_eq!(i.bytes(), 2 * E + 3);
        assert_eq!(i.pop().as_deref(), Some(&b"ab"[..]));
        assert_eq!(i.bytes(), E + 1);
        assert_eq!(i.pop().as_deref(), Some(&b"c"[..]));
        assert_eq!(i.bytes(), 0);
        // Empty messages weigh their entries: the bound holds them too.
        let empty = Inbox::new(2 * E);
        assert!(empty.push(Bytes::new()) && empty.push(Bytes::new()));
        assert!(!empty.push(Bytes::new()), "past the bound");
        assert!(i.pop().is_none() && i.is_empty());
        i.close();
        assert!(i.is_closed());
        futures_lite::future::block_on(i.notify.wait());
    }
}
