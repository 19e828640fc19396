//! Tasks that are cancelled when their handle is dropped. monoio's
//! `JoinHandle` only detaches on drop, so the spawned future races a
//! cancellation flag that the handle raises when it goes.

use std::cell::{Cell, RefCell};
use std::future::{Future, poll_fn};
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};

/// The flag a [`Task`] raises when dropped, and the waker of the task it
/// cancels, so that the task runs once more and ends.
#[derive(Default)]
struct Cancel {
    raised: Cell<bool>,
    waker: RefCell<Option<Waker>>,
}

impl Cancel {
    /// Ready once the flag is raised; else remembers the task's waker.
    fn poll_raised(&self, cx: &mut Context<'_>) -> Poll<()> {
        if self.raised.get() {
            return Poll::Ready(());
        }
        let mut waker = self.waker.borrow_mut();
        if !waker.as_ref().is_some_and(|w| w.will_wake(cx.waker())) {
            *waker = Some(cx.waker().clone());
        }
        Poll::Pending
    }

    fn raise(&self) {
        self.raised.set(true);
        if let Some(w) = self.waker.borrow_mut().take() {
            w.wake();
        }
    }
}

/// A spawned task that can be awaited for its output. Dropping it cancels
/// the task: its future is dropped the next time the shard runs it.
pub struct Task<T> {
    join: monoio::task::JoinHandle<Option<T>>,
    cancel: Rc<Cancel>,
}

impl<T> Future for Task<T> {
    type Output = T;
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<T> {
        match Pin::new(&mut self.join).poll(cx) {
            Poll::Ready(Some(v)) => Poll::Ready(v),
            // Only this handle's drop raises the flag, so a live handle
            // never sees a cancelled task.
            Poll::Ready(None) => unreachable!("a live task handle's task was cancelled"),
            Poll::Pending => Poll::Pending,
        }
    }
}

impl<T> Drop for Task<T> {
    fn drop(&mut self) {
        self.cancel.raise();
    }
}

/// Runs a future on the current shard and returns a handle to await it.
pub fn spawn_task<T: 'static, F: Future<Output = T> + 'static>(fut: F) -> Task<T> {
    let cancel = Rc::new(Cancel::default());
    let flag = cancel.clone();
    let join = monoio::spawn(async move {
        futures_lite::future::or(async { Some(fut.await) }, async {
            poll_fn(|cx| flag.poll_raised(cx)).await;
            None
        })
        .await
    });
    Task { join, cancel }
}
