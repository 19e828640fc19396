//! The tokio implementation of the runtime seam, the default: a
//! current-thread runtime and a `LocalSet` per shard thread, pinned to its
//! core (cargo feature `rt-tokio`).

mod executor;
mod net;

pub use executor::{ShardThread, start_pinned};
pub use net::{TcpListener, TcpStream, UdpSocket};

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

pub const NAME: &str = "tokio";

/// Whether a connection can move from one shard to another: yes, by
/// deregistering it from one reactor and registering it with another.
pub const STREAMS_MOVE: bool = true;

/// Whether [`TcpStream::try_write`] writes without a task: yes, tokio's
/// sockets are non-blocking and readiness-tracked.
pub const DIRECT_WRITES: bool = true;

/// Runs a future on the current shard in the background.
pub fn spawn<F: Future<Output = ()> + 'static>(fut: F) {
    drop(tokio::task::spawn_local(fut));
}

/// A spawned task that can be awaited for its output. Dropping it cancels
/// the task, as glommio's does.
pub struct Task<T>(tokio::task::JoinHandle<T>);

impl<T> Future for Task<T> {
    type Output = T;
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<T> {
        match Pin::new(&mut self.0).poll(cx) {
            Poll::Ready(Ok(v)) => Poll::Ready(v),
            // A task is only cancelled by dropping its handle, so an error
            // here is the task's panic: pass it on.
            Poll::Ready(Err(e)) => std::panic::resume_unwind(e.into_panic()),
            Poll::Pending => Poll::Pending,
        }
    }
}

impl<T> Drop for Task<T> {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Runs a future on the current shard and returns a handle to await it.
pub fn spawn_task<T: 'static, F: Future<Output = T> + 'static>(fut: F) -> Task<T> {
    Task(tokio::task::spawn_local(fut))
}

/// Lets the shard's other ready tasks run before this one continues: a
/// task that wakes itself while it runs goes to the back of the queue.
pub async fn yield_now() {
    futures_lite::future::yield_now().await;
}

/// Sleeps on the current shard's timer wheel.
pub async fn sleep(d: Duration) {
    tokio::time::sleep(d).await;
}
