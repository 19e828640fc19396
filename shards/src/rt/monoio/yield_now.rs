//! A yield that lets the shard's other ready tasks run first.
//!
//! monoio puts a task that wakes itself while it runs back at the *front*
//! of the run queue, so the usual yield (wake, then `Pending`) yields to
//! nobody: a reader in a burst would starve the writers it feeds, and the
//! mesh's spin would starve the shard. Here the yielding task hands its
//! waker to the thread's pump task instead; the pump, queued at the back,
//! wakes the yielded tasks, which then also go to the back.

use std::cell::RefCell;
use std::future::poll_fn;
use std::task::{Poll, Waker};

/// Where the thread's pump is.
#[derive(Default)]
enum Pump {
    /// Not spawned yet: the first yield spawns it.
    #[default]
    Absent,
    /// Queued to run; it will take the wakers when it does.
    Queued,
    /// Waiting to be woken by the next yield.
    Parked(Waker),
}

/// The wakers of the tasks that yielded since the pump last ran.
#[derive(Default)]
struct Yielded {
    wakers: Vec<Waker>,
    pump: Pump,
}

thread_local! {
    static YIELDED: RefCell<Yielded> = RefCell::default();
}

/// Lets the shard's other ready tasks run before this one continues.
pub async fn yield_now() {
    let mut yielded = false;
    poll_fn(|cx| {
        if yielded {
            return Poll::Ready(());
        }
        yielded = true;
        let to_wake = YIELDED.with(|y| {
            let mut y = y.borrow_mut();
            y.wakers.push(cx.waker().clone());
            match std::mem::replace(&mut y.pump, Pump::Queued) {
                Pump::Absent => {
                    drop(y);
                    monoio::spawn(pump());
                    None
                }
                Pump::Queued => None,
                Pump::Parked(pump) => Some(pump),
            }
        });
        if let Some(pump) = to_wake {
            pump.wake();
        }
        Poll::Pending
    })
    .await
}

/// The thread's pump: wakes the tasks that yielded, from outside them, so
/// that monoio queues them at the back. Runs as long as the runtime.
async fn pump() {
    let mut batch: Vec<Waker> = Vec::new();
    poll_fn(|cx| {
        YIELDED.with(|y| {
            let mut y = y.borrow_mut();
            std::mem::swap(&mut y.wakers, &mut batch);
            y.pump = Pump::Parked(cx.waker().clone());
        });
        for w in batch.drain(..) {
            w.wake();
        }
        Poll::<()>::Pending
    })
    .await
}
