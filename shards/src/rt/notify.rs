//! Single-threaded wake-up and queue primitives for tasks on one shard.
//! They are runtime-agnostic (plain wakers) and never cross threads.

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::future::poll_fn;
use std::task::{Poll, Waker};

/// Wakes one waiting task on this shard. A notification sent while nobody
/// waits is remembered, so none is lost.
#[derive(Default)]
pub struct LocalNotify {
    pending: Cell<bool>,
    waker: RefCell<Option<Waker>>,
}

impl LocalNotify {
    pub fn notify(&self) {
        self.pending.set(true);
        if let Some(w) = self.waker.borrow_mut().take() {
            w.wake();
        }
    }

    /// Waits for the next notification (or returns at once if one is pending).
    pub async fn wait(&self) {
        poll_fn(|cx| {
            if self.pending.replace(false) {
                Poll::Ready(())
            } else {
                *self.waker.borrow_mut() = Some(cx.waker().clone());
                Poll::Pending
            }
        })
        .await
    }
}

/// A one-shot event many tasks on this shard can wait for (shutdown).
#[derive(Default)]
pub struct LocalEvent {
    set: Cell<bool>,
    wakers: RefCell<Vec<Waker>>,
}

impl LocalEvent {
    pub fn set(&self) {
        self.set.set(true);
        for w in self.wakers.borrow_mut().drain(..) {
            w.wake();
        }
    }

    pub fn is_set(&self) -> bool {
        self.set.get()
    }

    pub async fn wait(&self) {
        poll_fn(|cx| {
            if self.set.get() {
                Poll::Ready(())
            } else {
                let mut wakers = self.wakers.borrow_mut();
                if !wakers.iter().any(|w| w.will_wake(cx.waker())) {
                    wakers.push(cx.waker().clone());
                }
                Poll::Pending
            }
        })
        .await
    }
}

/// A bounded FIFO with a notifier: the outgoing queue of one connection.
pub struct LocalQueue<T> {
    items: RefCell<VecDeque<T>>,
    capacity: usize,
    pub notify: LocalNotify,
}

impl<T> LocalQueue<T> {
    pub fn new(capacity: usize) -> Self {
        LocalQueue {
            items: RefCell::new(VecDeque::new()),
            capacity,
            notify: LocalNotify::default(),
        }
    }

    /// Appends an item; gives it back when the queue is full.
    pub fn push(&self, item: T) -> Result<(), T> {
        let mut items = self.items.borrow_mut();
        if items.len() >= self.capacity {
            return Err(item);
        }
        items.push_back(item);
        drop(items);
        self.notify.notify();
        Ok(())
    }

    /// Appends an item even past capacity (control messages such as a close
    /// frame must always get through).
    pub fn push_urgent(&self, item: T) {
        self.items.borrow_mut().push_back(item);
        self.notify.notify();
    }

    /// Moves up to `max` queued items into `out`.
    pub fn drain_into(&self, out: &mut Vec<T>, max: usize) {
        let mut items = self.items.borrow_mut();
        let n = items.len().min(max);
        out.extend(items.drain(..n));
    }

    pub fn len(&self) -> usize {
        self.items.borrow().len()
    }

    pub fn is_empty(&self) -> bool {
        self.items.borrow().is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queue_is_bounded_but_urgent_items_pass() {
        let q = LocalQueue::new(2);
        assert!(q.push(1).is_ok());
        assert!(q.push(2).is_ok());
        assert_eq!(q.push(3), Err(3));
        q.push_urgent(4);
        let mut out = Vec::new();
        q.drain_into(&mut out, 10);
        assert_eq!(out, vec![1, 2, 4]);
        assert!(q.is_empty());
    }

    #[test]
    fn notify_before_wait_is_not_lost() {
        let n = LocalNotify::default();
        n.notify();
        futures_lite::future::block_on(n.wait());
    }
}
