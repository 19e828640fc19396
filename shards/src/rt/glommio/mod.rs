//! The glommio implementation of the runtime seam: one io_uring executor
//! per shard thread (cargo feature `rt-glommio`).

mod executor;
mod net;

pub use executor::{ShardThread, start_pinned};
pub use net::{TcpListener, TcpStream, UdpSocket};

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

pub const NAME: &str = "glommio";

/// Whether a connection can move from one shard to another: not on glommio.
pub const STREAMS_MOVE: bool = false;

/// Whether [`TcpStream::try_write`] writes without a task: not on glommio,
/// whose writes are io_uring operations a task owns.
pub const DIRECT_WRITES: bool = false;

/// Runs a future on the current shard in the background.
pub fn spawn<F: Future<Output = ()> + 'static>(fut: F) {
    glommio::spawn_local(fut).detach();
}

/// A spawned task that can be awaited for its output. Dropping it cancels
/// the task.
pub struct Task<T>(glommio::Task<T>);

impl<T> Future for Task<T> {
    type Output = T;
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<T> {
        Pin::new(&mut self.0).poll(cx)
    }
}

/// Runs a future on the current shard and returns a handle to await it.
pub fn spawn_task<T: 'static, F: Future<Output = T> + 'static>(fut: F) -> Task<T> {
    Task(glommio::spawn_local(fut))
}

/// Lets the shard's other ready tasks run before this one continues: a
/// task that wakes itself while it runs goes to the back of the queue.
pub async fn yield_now() {
    futures_lite::future::yield_now().await;
}

/// Sleeps on the current shard's timer wheel.
pub async fn sleep(d: Duration) {
    glommio::timer::sleep(d).await;
}
