//! The process-wide stop signal, raised by SIGINT/SIGTERM and seen by every
//! shard.

use std::future::poll_fn;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::Poll;

use atomic_waker::AtomicWaker;

pub struct StopSignal {
    stopped: AtomicBool,
    wakers: Vec<AtomicWaker>,
}

impl StopSignal {
    pub fn new(shards: usize) -> Self {
        StopSignal {
            stopped: AtomicBool::new(false),
            wakers: (0..shards).map(|_| AtomicWaker::new()).collect(),
        }
    }

    /// Raises the signal; safe from any thread.
    pub fn stop(&self) {
        self.stopped.store(true, Ordering::SeqCst);
        for w in &self.wakers {
            w.wake();
        }
    }

    pub fn is_stopped(&self) -> bool {
        self.stopped.load(Ordering::SeqCst)
    }

    /// Waits, on shard `shard`, until the signal is raised.
    pub async fn wait(&self, shard: usize) {
        poll_fn(|cx| {
            if self.is_stopped() {
                return Poll::Ready(());
            }
            self.wakers[shard].register(cx.waker());
            if self.is_stopped() {
                Poll::Ready(())
            } else {
                Poll::Pending
            }
        })
        .await
    }
}
