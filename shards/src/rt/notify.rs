//! Single-threaded wake-up and queue primitives for tasks on one shard.
//! They are runtime-agnostic (plain wakers) and never cross threads.

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::future::{Future, poll_fn};
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};

/// Wakes one waiting task on this shard. A notification sent while nobody
/// waits is remembered, so none is lost.
///
/// It can also be redirected: while a hook is set, a notification calls
/// the hook instead of waking the task. That is how a shard serves many
/// idle writers from one task (the WebSocket flush list) rather than
/// waking each writer for each message.
///
/// Only the first notification since the pending one was last taken does
/// anything: until it is taken, a task woken or a hook called has it in
/// hand already, and one that waits later finds it pending. A relay puts
/// one frame per message on each recipient's queue, and a recipient whose
/// writer has not yet run since the last one costs one flag test.
#[derive(Default)]
pub struct LocalNotify {
    pending: Cell<bool>,
    waker: RefCell<Option<Waker>>,
    redirect: RefCell<Option<Rc<dyn Fn()>>>,
}

impl LocalNotify {
    pub fn notify(&self) {
        if self.pending.replace(true) {
            return;
        }
        // Cloned out, so that the hook may touch this notify again.
        let hook = self.redirect.borrow().clone();
        if let Some(hook) = hook {
            hook();
        } else if let Some(w) = self.waker.borrow_mut().take() {
            w.wake();
        }
    }

    /// Sends notifications to `hook` from now on (`None`: back to waking
    /// the waiting task). The pending flag is kept either way. A hook is set
    /// only while nothing is pending (its owner took the notification
    /// first), so that the next notification, the first since, calls it.
    pub fn redirect(&self, hook: Option<Rc<dyn Fn()>>) {
        debug_assert!(
            hook.is_none() || !self.pending.get(),
            "a hook set over a pending notification would never hear of it"
        );
        *self.redirect.borrow_mut() = hook;
    }

    /// Takes the pending notification, if any, without waiting: what a
    /// hook's owner calls once it has served it.
    pub fn take_pending(&self) -> bool {
        self.pending.replace(false)
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
///
/// Each pending [`EventWait`] holds one slot for its waker, updated in
/// place when it is polled again and freed when it is dropped, so the
/// wakers kept are never more than the waits pending, whatever the waker
/// identity (`Waker::will_wake`) a runtime gives its tasks.
#[derive(Default)]
pub struct LocalEvent {
    set: Cell<bool>,
    waiters: RefCell<Waiters>,
}

/// Waker slots of the pending waits; `free` lists the empty ones.
#[derive(Default)]
struct Waiters {
    slots: Vec<Option<Waker>>,
    free: Vec<usize>,
}

impl LocalEvent {
    pub fn set(&self) {
        self.set.set(true);
        let wakers: Vec<Waker> = self
            .waiters
            .borrow_mut()
            .slots
            .iter_mut()
            .filter_map(Option::take)
            .collect();
        for w in wakers {
            w.wake();
        }
    }

    pub fn is_set(&self) -> bool {
        self.set.get()
    }

    /// Completes once the event is set.
    pub fn wait(&self) -> EventWait<'_> {
        EventWait {
            event: self,
            slot: None,
        }
    }
}

/// A wait for a [`LocalEvent`]; dropping it gives its waker slot back.
pub struct EventWait<'a> {
    event: &'a LocalEvent,
    slot: Option<usize>,
}

impl Future for EventWait<'_> {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = self.get_mut();
        let event = this.event;
        if event.set.get() {
            return Poll::Ready(());
        }
        let mut waiters = event.waiters.borrow_mut();
        match this.slot {
            Some(i) => match &mut waiters.slots[i] {
                Some(w) if w.will_wake(cx.waker()) => {}
                slot => *slot = Some(cx.waker().clone()),
            },
            None => {
                let waker = Some(cx.waker().clone());
                let i = match waiters.free.pop() {
                    Some(i) => {
                        waiters.slots[i] = waker;
                        i
                    }
                    None => {
                        waiters.slots.push(waker);
                        waiters.slots.len() - 1
                    }
                };
                this.slot = Some(i);
            }
        }
        Poll::Pending
    }
}

impl Drop for EventWait<'_> {
    fn drop(&mut self) {
        if let Some(i) = self.slot {
            let mut waiters = self.event.waiters.borrow_mut();
            waiters.slots[i] = None;
            waiters.free.push(i);
        }
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

    /// Takes the oldest queued item.
    pub fn pop(&self) -> Option<T> {
        self.items.borrow_mut().pop_front()
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

    /// A waker whose identity differs on every call, as a runtime may
    /// hand out (no `will_wake` match between two polls).
    fn fresh_waker() -> Waker {
        struct Noop;
        impl std::task::Wake for Noop {
            fn wake(self: std::sync::Arc<Self>) {}
        }
        Waker::from(std::sync::Arc::new(Noop))
    }

    #[test]
    fn event_waits_keep_one_waker_each_and_give_it_back() {
        let event = LocalEvent::default();
        let mut kept = Box::pin(event.wait());
        for _ in 0..1000 {
            // A task polled again with a new waker, and a task that races
            // the event against something else and drops its wait.
            let waker = fresh_waker();
            let mut cx = Context::from_waker(&waker);
            assert!(kept.as_mut().poll(&mut cx).is_pending());
            let mut passing = Box::pin(event.wait());
            assert!(passing.as_mut().poll(&mut cx).is_pending());
        }
        assert_eq!(event.waiters.borrow().slots.len(), 2);
        event.set();
        let waker = fresh_waker();
        assert!(
            kept.as_mut()
                .poll(&mut Context::from_waker(&waker))
                .is_ready()
        );
        assert!(event.waiters.borrow().slots.iter().all(Option::is_none));
    }

    #[test]
    fn a_redirected_notify_calls_its_hook_and_not_the_task() {
        let n = Rc::new(LocalNotify::default());
        let calls = Rc::new(Cell::new(0));
        let mut wait = Box::pin(n.wait());
        let waker = fresh_waker();
        let mut cx = Context::from_waker(&waker);
        assert!(wait.as_mut().poll(&mut cx).is_pending());
        let c = calls.clone();
        n.redirect(Some(Rc::new(move || c.set(c.get() + 1))));
        n.notify();
        n.notify();
        // The second found the first pending: the hook has it in hand.
        assert_eq!(calls.get(), 1);
        // The waiting task was not woken: its waker is still held.
        assert!(n.waker.borrow().is_some());
        assert!(n.take_pending());
        assert!(!n.take_pending());
        // Taken, so the next one calls the hook again.
        n.notify();
        assert_eq!(calls.get(), 2);
        assert!(n.take_pending());
        n.redirect(None);
        n.notify();
        assert_eq!(calls.get(), 2);
        assert!(n.waker.borrow().is_none(), "woken");
        assert!(wait.as_mut().poll(&mut cx).is_ready());
    }

    /// A task woken by the first of several notifications, before it has
    /// run, and a task that was not waiting yet, each find one pending
    /// when they wait; a task that took it waits for the next.
    #[test]
    fn notifications_before_the_task_runs_fold_into_one() {
        let n = LocalNotify::default();
        let waker = fresh_waker();
        let mut cx = Context::from_waker(&waker);
        let mut wait = Box::pin(n.wait());
        assert!(wait.as_mut().poll(&mut cx).is_pending());
        n.notify();
        assert!(n.waker.borrow().is_none(), "woken by the first");
        n.notify();
        n.notify();
        assert!(wait.as_mut().poll(&mut cx).is_ready());
        let mut again = Box::pin(n.wait());
        assert!(
            again.as_mut().poll(&mut cx).is_pending(),
            "all three were one"
        );
        n.notify();
        assert!(again.as_mut().poll(&mut cx).is_ready());
    }

    #[test]
    #[should_panic(expected = "never hear of it")]
    #[cfg(debug_assertions)]
    fn a_hook_is_not_set_over_a_pending_notification() {
        let n = LocalNotify::default();
        n.notify();
        n.redirect(Some(Rc::new(|| {})));
    }

    #[test]
    fn notify_before_wait_is_not_lost() {
        let n = LocalNotify::default();
        n.notify();
        futures_lite::future::block_on(n.wait());
    }
}
