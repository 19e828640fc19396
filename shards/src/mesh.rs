//! The mesh: bounded lock-free queues between every ordered pair of shards.
//!
//! Invariants:
//! * Queue `(from, to)` has exactly one producer (shard `from`) and one
//!   consumer (shard `to`); nothing on the message path takes a lock.
//! * A busy shard drains all its inbound queues in batches on every pass of
//!   its mesh task and is never woken by the kernel: a producer only wakes a
//!   consumer that has announced it is about to park.
//! * An idle consumer parks and is
//!   woken through its waker; the runtime turns a wake from a foreign thread into
//!   an eventfd write only when the target executor sleeps.
//! * A full queue never blocks: the producer keeps the overflow locally, in
//!   order, and retries. The overflow is bounded by its sources: sessions'
//!   readers pause while the mesh's total overflow is above
//!   `kairos.session.mesh_overflow_pause` ([`Mesh::total_overflowed`]),
//!   so what remains is what was in flight. Past a hard bound
//!   ([`MeshPort::with_overflow_max`]) the messages a sender marks as
//!   sheddable ([`MeshPort::send_sheddable`]: relayed data) are dropped
//!   and counted; every other message is always kept.

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::future::poll_fn;
use std::rc::Rc;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::task::Poll;
use std::time::{Duration, Instant};

use atomic_waker::AtomicWaker;
use crossbeam_queue::ArrayQueue;

use crate::rt::LocalNotify;
use crate::spin::SpinPolicy;

/// The shared part of the mesh, created once and handed to every shard.
pub struct Mesh<M> {
    shards: usize,
    /// `queues[from * shards + to]`; the diagonal is unused.
    queues: Vec<ArrayQueue<M>>,
    inboxes: Vec<Inbox>,
    /// Per producer shard: messages waiting in its overflow, mirrored from
    /// its port for metrics and for sessions' readers to pause on. Written
    /// only while a shard has overflow, so reading them costs a shared
    /// cache line.
    overflowed: Vec<AtomicUsize>,
    /// Per producer shard: the most it ever held in overflow.
    overflow_peak: Vec<AtomicUsize>,
    /// Per producer shard: sheddable messages dropped at the hard bound.
    shed: Vec<AtomicU64>,
}

struct Inbox {
    waker: AtomicWaker,
    /// Set by the consumer just before it parks; cleared by whoever wakes it.
    parked: AtomicBool,
    /// Messages received, for metrics.
    received: AtomicU64,
    /// Times this shard parked on an empty inbox, for metrics.
    parks: AtomicU64,
    /// Times a sender found this shard parked and woke it: each is a
    /// cross-core wake-up (a futex or eventfd write and, on a VM, an IPI to
    /// a halted vCPU), the dearest step of a cross-shard hop.
    wakeups: AtomicU64,
}

impl<M: Send> Mesh<M> {
    pub fn new(shards: usize, queue_size: usize) -> Arc<Mesh<M>> {
        let queues = (0..shards * shards)
            .map(|_| ArrayQueue::new(queue_size.max(1)))
            .collect();
        let inboxes = (0..shards)
            .map(|_| Inbox {
                waker: AtomicWaker::new(),
                parked: AtomicBool::new(false),
                received: AtomicU64::new(0),
                parks: AtomicU64::new(0),
                wakeups: AtomicU64::new(0),
            })
            .collect();
        Arc::new(Mesh {
            shards,
            queues,
            inboxes,
            overflowed: (0..shards).map(|_| AtomicUsize::new(0)).collect(),
            overflow_peak: (0..shards).map(|_| AtomicUsize::new(0)).collect(),
            shed: (0..shards).map(|_| AtomicU64::new(0)).collect(),
        })
    }

    pub fn shards(&self) -> usize {
        self.shards
    }

    /// The endpoint shard `me` uses. Call once per shard, on that shard.
    pub fn port(self: &Arc<Self>, me: usize) -> MeshPort<M> {
        assert!(me < self.shards, "shard index out of range");
        MeshPort {
            mesh: self.clone(),
            me,
            overflow: RefCell::new((0..self.shards).map(|_| VecDeque::new()).collect()),
            overflowed: Cell::new(0),
            overflow_started: LocalNotify::default(),
            spin: SpinPolicy::new(Duration::ZERO),
            overflow_max: usize::MAX,
        }
    }

    /// Messages shard `shard` has taken from its inbound queues.
    pub fn received(&self, shard: usize) -> u64 {
        self.inboxes[shard].received.load(Ordering::Relaxed)
    }

    /// Times shard `shard` parked on an empty inbox.
    pub fn parks(&self, shard: usize) -> u64 {
        self.inboxes[shard].parks.load(Ordering::Relaxed)
    }

    /// Times another shard woke shard `shard` from a park.
    pub fn wakeups(&self, shard: usize) -> u64 {
        self.inboxes[shard].wakeups.load(Ordering::Relaxed)
    }

    /// Messages waiting in shard `shard`'s inbound queues now.
    pub fn inbound_depth(&self, shard: usize) -> usize {
        (0..self.shards)
            .filter(|&from| from != shard)
            .map(|from| self.queue(from, shard).len())
            .sum()
    }

    /// Messages shard `shard` holds in its overflow, waiting for room.
    pub fn overflowed(&self, shard: usize) -> usize {
        self.overflowed[shard].load(Ordering::Relaxed)
    }

    /// Messages all shards hold in overflow now: what sessions' readers
    /// pause on. One relaxed load per shard.
    #[inline]
    pub fn total_overflowed(&self) -> usize {
        self.overflowed
            .iter()
            .map(|n| n.load(Ordering::Relaxed))
            .sum()
    }

    /// The most shard `shard` has held in overflow.
    pub fn overflow_peak(&self, shard: usize) -> usize {
        self.overflow_peak[shard].load(Ordering::Relaxed)
    }

    /// Sheddable messages shard `shard` dropped at its overflow's bound.
    pub fn shed(&self, shard: usize) -> u64 {
        self.shed[shard].load(Ordering::Relaxed)
    }

    fn queue(&self, from: usize, to: usize) -> &ArrayQueue<M> {
        &self.queues[from * self.shards + to]
    }
}

/// One shard's end of the mesh. Not `Send`: it lives on its shard.
pub struct MeshPort<M> {
    mesh: Arc<Mesh<M>>,
    me: usize,
    overflow: RefCell<Vec<VecDeque<M>>>,
    /// Messages currently held in `overflow`.
    overflowed: Cell<usize>,
    /// Signalled when the overflow stops being empty, so the retry task
    /// only runs while there is something to retry.
    pub overflow_started: LocalNotify,
    /// How long an empty inbox is polled before parking.
    spin: SpinPolicy,
    /// Past this many messages in overflow, sheddable ones are dropped.
    overflow_max: usize,
}

impl<M: Send + 'static> MeshPort<M> {
    pub fn me(&self) -> usize {
        self.me
    }

    pub fn shards(&self) -> usize {
        self.mesh.shards
    }

    /// Sends `msg` to shard `to` (which must not be this shard). Never
    /// blocks; if the queue is full the message waits in a local overflow
    /// that [`MeshPort::flush`] retries.
    pub fn send(&self, to: usize, msg: M) {
        debug_assert_ne!(
            to, self.me,
            "a shard does not message itself through the mesh"
        );
        let mut overflow = self.overflow.borrow_mut();
        let pending = &mut overflow[to];
        if pending.is_empty() {
            match self.mesh.queue(self.me, to).push(msg) {
                Ok(()) => {
                    drop(overflow);
                    self.wake(to);
                    return;
                }
                Err(msg) => pending.push_back(msg),
            }
        } else {
            pending.push_back(msg);
        }
        self.set_overflowed(self.overflowed.get() + 1);
        drop(overflow);
        self.flush();
    }

    /// Sends `msg` as [`MeshPort::send`] does, unless this shard's overflow
    /// is at its hard bound: then the message is dropped (and counted).
    /// For relayed data only, whose loss under overload is the policy;
    /// returns whether it was sent.
    pub fn send_sheddable(&self, to: usize, msg: M) -> bool {
        if self.overflowed.get() >= self.overflow_max {
            self.mesh.shed[self.me].fetch_add(1, Ordering::Relaxed);
            return false;
        }
        self.send(to, msg);
        true
    }

    /// Sets the overflow's hard bound for [`MeshPort::send_sheddable`].
    pub fn with_overflow_max(mut self, max: usize) -> Self {
        self.overflow_max = max;
        self
    }

    /// Retries overflowed messages; returns how many are still waiting.
    pub fn flush(&self) -> usize {
        if self.overflowed.get() == 0 {
            return 0;
        }
        let mut overflow = self.overflow.borrow_mut();
        let mut left = 0;
        for (to, pending) in overflow.iter_mut().enumerate() {
            let mut moved = false;
            while let Some(msg) = pending.pop_front() {
                match self.mesh.queue(self.me, to).push(msg) {
                    Ok(()) => moved = true,
                    Err(msg) => {
                        pending.push_front(msg);
                        break;
                    }
                }
            }
            left += pending.len();
            if moved {
                self.wake(to);
            }
        }
        self.set_overflowed(left);
        left
    }

    fn set_overflowed(&self, n: usize) {
        if self.overflowed.get() == 0 && n > 0 {
            self.overflow_started.notify();
        }
        self.overflowed.set(n);
        self.mesh.overflowed[self.me].store(n, Ordering::Relaxed);
        self.mesh.overflow_peak[self.me].fetch_max(n, Ordering::Relaxed);
    }

    fn wake(&self, to: usize) {
        let inbox = &self.mesh.inboxes[to];
        // Pairs with the SeqCst store + re-check in `recv_batch`: either the
        // consumer sees our message, or we see its parked flag.
        if inbox.parked.load(Ordering::SeqCst) && inbox.parked.swap(false, Ordering::SeqCst) {
            inbox.wakeups.fetch_add(1, Ordering::Relaxed);
            inbox.waker.wake();
        }
    }

    /// Moves everything queued for this shard into `out` (with the sender's
    /// index), up to `max` messages. Returns how many were taken.
    pub fn try_recv_batch(&self, out: &mut Vec<(usize, M)>, max: usize) -> usize {
        let n = self.mesh.shards;
        let mut taken = 0;
        'outer: for from in (0..n).filter(|&f| f != self.me) {
            let q = self.mesh.queue(from, self.me);
            while taken < max {
                match q.pop() {
                    Some(m) => {
                        out.push((from, m));
                        taken += 1;
                    }
                    None => continue 'outer,
                }
            }
            break;
        }
        if taken > 0 {
            self.mesh.inboxes[self.me]
                .received
                .fetch_add(taken as u64, Ordering::Relaxed);
        }
        taken
    }

    /// Sets how long [`MeshPort::recv_batch`] keeps polling before it parks.
    /// (at most `spin`, and only while messages have been arriving closer
    /// together than that: [`SpinPolicy`]).
    pub fn with_spin(mut self, spin: Duration) -> Self {
        self.spin = SpinPolicy::new(spin);
        self
    }

    /// Waits until at least one message is queued for this shard, then
    /// drains up to `max` into `out`.
    ///
    /// While messages have been arriving closer together than the port's
    /// spin budget, an empty inbox is polled again for up to that budget,
    /// yielding to the shard's other tasks between polls, before the shard
    /// parks: a steady flow of messages is then picked up with no cross-core
    /// wake-up at all, which on a VM costs tens of microseconds. Sparse
    /// traffic parks at once ([`SpinPolicy`]).
    pub async fn recv_batch(&self, out: &mut Vec<(usize, M)>, max: usize) -> usize {
        let got = self.recv_batch_inner(out, max).await;
        self.spin.arrived(Instant::now());
        got
    }

    async fn recv_batch_inner(&self, out: &mut Vec<(usize, M)>, max: usize) -> usize {
        let got = self.try_recv_batch(out, max);
        if got > 0 {
            return got;
        }
        let spin = self.spin.spin();
        if !spin.is_zero() {
            let deadline = Instant::now() + spin;
            loop {
                crate::rt::yield_now().await;
                let got = self.try_recv_batch(out, max);
                if got > 0 {
                    return got;
                }
                if Instant::now() >= deadline {
                    break;
                }
            }
        }
        poll_fn(|cx| {
            let got = self.try_recv_batch(out, max);
            if got > 0 {
                return Poll::Ready(got);
            }
            let inbox = &self.mesh.inboxes[self.me];
            inbox.waker.register(cx.waker());
            inbox.parked.store(true, Ordering::SeqCst);
            let got = self.try_recv_batch(out, max);
            if got > 0 {
                inbox.parked.store(false, Ordering::SeqCst);
                return Poll::Ready(got);
            }
            inbox.parks.fetch_add(1, Ordering::Relaxed);
            Poll::Pending
        })
        .await
    }
}

/// A handle shared by the tasks of one shard.
pub type SharedPort<M> = Rc<MeshPort<M>>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delivers_in_order_per_pair_and_keeps_overflow() {
        let mesh: Arc<Mesh<u32>> = Mesh::new(3, 2);
        let p0 = mesh.port(0);
        let p1 = mesh.port(1);
        let p2 = mesh.port(2);
        for i in 0..5 {
            p0.send(1, i);
        }
        p2.send(1, 100);
        assert_eq!(mesh.inbound_depth(1), 3);
        let mut out = Vec::new();
        p1.try_recv_batch(&mut out, 64);
        assert_eq!(mesh.inbound_depth(1), 0, "drained");
        assert_eq!(out, vec![(0, 0), (0, 1), (2, 100)]);
        out.clear();
        assert_eq!(mesh.overflowed(0), 3, "5 sent, 2 fit");
        assert_eq!(p0.flush(), 1);
        assert_eq!(mesh.overflowed(0), 1);
        p1.try_recv_batch(&mut out, 64);
        assert_eq!(p0.flush(), 0);
        p1.try_recv_batch(&mut out, 64);
        assert_eq!(out, vec![(0, 2), (0, 3), (0, 4)]);
        assert_eq!(mesh.overflowed(0), 0);
        assert_eq!(mesh.received(1), 6);
    }

    #[test]
    fn sheddable_messages_are_dropped_at_the_bound_and_others_kept() {
        let mesh: Arc<Mesh<u32>> = Mesh::new(2, 2);
        let p0 = mesh.port(0).with_overflow_max(3);
        for i in 0..5 {
            assert!(p0.send_sheddable(1, i));
        }
        assert_eq!(mesh.overflowed(0), 3);
        assert!(!p0.send_sheddable(1, 5), "at the bound");
        assert_eq!(mesh.shed(0), 1);
        p0.send(1, 6);
        assert_eq!(mesh.overflowed(0), 4, "control messages are kept");
        assert_eq!(mesh.total_overflowed(), 4);
        assert_eq!(mesh.overflow_peak(0), 4);
        let p1 = mesh.port(1);
        let mut out = Vec::new();
        while out.len() < 6 {
            p1.try_recv_batch(&mut out, 64);
            p0.flush();
        }
        let got: Vec<u32> = out.iter().map(|(_, m)| *m).collect();
        assert_eq!(got, vec![0, 1, 2, 3, 4, 6]);
        assert_eq!(mesh.total_overflowed(), 0);
        assert_eq!(mesh.overflow_peak(0), 4, "the peak stays");
    }

    #[test]
    fn parked_consumer_is_woken_across_threads() {
        let mesh: Arc<Mesh<u64>> = Mesh::new(2, 16);
        let m2 = mesh.clone();
        let consumer = std::thread::spawn(move || {
            let port = m2.port(1);
            let mut out = Vec::new();
            let mut sum = 0;
            while sum < 1000 * 1001 / 2 {
                out.clear();
                futures_lite::future::block_on(port.recv_batch(&mut out, 64));
                sum += out.iter().map(|(_, v)| v).sum::<u64>();
            }
            sum
        });
        let port = mesh.port(0);
        for i in 1..=1000u64 {
            port.send(1, i);
            while port.flush() > 0 {
                std::thread::yield_now();
            }
        }
        assert_eq!(consumer.join().unwrap(), 1000 * 1001 / 2);
    }

    #[test]
    fn wakeups_are_counted_once_per_park_not_per_message() {
        use std::task::{Context, Waker};
        let mesh: Arc<Mesh<u64>> = Mesh::new(2, 16);
        let (sender, receiver) = (mesh.port(0), mesh.port(1));
        let mut out = Vec::new();
        let mut cx = Context::from_waker(Waker::noop());
        // Nothing queued: the receiver parks.
        let mut fut = std::pin::pin!(receiver.recv_batch(&mut out, 64));
        assert!(fut.as_mut().poll(&mut cx).is_pending());
        assert_eq!((mesh.parks(1), mesh.wakeups(1)), (1, 0));
        // The first message wakes it; the next ones find it awake.
        for i in 0..3 {
            sender.send(1, i);
        }
        assert_eq!(mesh.wakeups(1), 1);
        assert_eq!(fut.as_mut().poll(&mut cx), std::task::Poll::Ready(3));
        assert_eq!((mesh.parks(1), mesh.wakeups(1)), (1, 1));
    }
}
