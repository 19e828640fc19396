//! The monoio implementation of the runtime seam (cargo feature
//! `rt-monoio`): one monoio runtime per shard thread, pinned, on io_uring
//! where the kernel allows it and on epoll otherwise (or always, with
//! `kairos.reactor.monoio_driver = legacy`).
//!
//! TCP streams use monoio's poll-style interface (`poll-io`): hyper and
//! the WebSocket code read into and write from borrowed buffers, which a
//! completion-based read cannot take without a copy through a buffer of
//! its own. On io_uring that interface waits for readiness through the
//! ring and then reads and writes with plain syscalls; accepts, UDP
//! datagrams and timers go through the ring as completions.

mod executor;
mod net;
mod task;
mod yield_now;

pub use executor::{ShardThread, start_pinned};
pub use net::{TcpListener, TcpStream, UdpSocket};
pub use task::{Task, spawn_task};
pub use yield_now::yield_now;

use std::future::Future;
use std::time::Duration;

pub const NAME: &str = "monoio";

/// Whether a connection can move from one shard to another: not on monoio.
pub const STREAMS_MOVE: bool = false;

/// Whether [`TcpStream::try_write`] writes without a task: not on monoio,
/// whose writes are io_uring operations a task owns.
pub const DIRECT_WRITES: bool = false;

/// Runs a future on the current shard in the background.
pub fn spawn<F: Future<Output = ()> + 'static>(fut: F) {
    drop(monoio::spawn(fut));
}

/// Sleeps on the current shard's timer wheel.
pub async fn sleep(d: Duration) {
    monoio::time::sleep(d).await;
}
