//! The runtime seam: everything the shards need from an async runtime —
//! pinned executors, spawning, timers, TCP and UDP sockets — as a handful
//! of newtypes and functions with only the methods Kairos uses.
//!
//! Three implementations sit behind it, chosen at build time:
//! * tokio's current-thread runtime with a `LocalSet`, one per shard
//!   thread, pinned with `sched_setaffinity` (the default, cargo feature
//!   `rt-tokio`): in the A/Bs of BENCHMARKS.md it spent 1.4–2.4× less CPU
//!   per message than glommio on every workload, about as much as monoio
//!   on the relay and device auth and less on UDP (monoio won the
//!   closed-loop ping);
//! * [`glommio`](https://docs.rs/glommio): one io_uring executor per core,
//!   pinned, polling before it parks (cargo feature `rt-glommio`);
//! * [`monoio`](https://docs.rs/monoio): one runtime per core, pinned, on
//!   io_uring with an epoll fallback (cargo feature `rt-monoio`); as cheap
//!   as tokio on the relay, dearer on UDP.
//!
//! When several features are enabled the first of glommio, monoio, tokio
//! wins, so that `--features kairos-shards/rt-glommio` (or `rt-monoio`)
//! suffices beside the default `rt-tokio`. The knobs of
//! `kairos.reactor.*` reach the executors as a [`Tuning`]; each backend
//! reads those it has.
//!
//! Architecture invariant: only this module names the runtime. No runtime
//! type, error or I/O trait, and no raw file descriptor, escapes it: the
//! sockets here speak `std::io::Error`, take owned buffers for datagrams
//! (a [`DatagramBatch`] for `sendmmsg`: `UdpSocket::send_batch`, see
//! `batch.rs`; a [`ReceivedBatch`] for `recvmmsg`: `UdpSocket::recv_batch`,
//! see `recv_batch.rs`), poll-style reads and writes for streams (what hyper
//! needs) and a non-blocking `TcpStream::try_write` where the runtime
//! allows one ([`DIRECT_WRITES`]; the WebSocket flush list writes with
//! it), and `tests/tests/tidy.rs` checks that no other module names glommio, tokio's
//! runtime or futures-lite 1. Swapping the runtime is a change to this
//! module alone.

#[cfg(feature = "rt-glommio")]
#[path = "glommio/mod.rs"]
mod imp;
#[cfg(all(feature = "rt-monoio", not(feature = "rt-glommio")))]
#[path = "monoio/mod.rs"]
mod imp;
#[cfg(all(
    feature = "rt-tokio",
    not(any(feature = "rt-glommio", feature = "rt-monoio"))
))]
#[path = "tokio/mod.rs"]
mod imp;
#[cfg(not(any(feature = "rt-tokio", feature = "rt-glommio", feature = "rt-monoio")))]
compile_error!(
    "kairos-shards needs a runtime: enable the feature rt-tokio, rt-glommio or rt-monoio"
);

mod affinity;
mod batch;
mod notify;
mod recv_batch;
mod shutdown;
mod sockaddr;
mod tuning;

pub use batch::{DatagramBatch, MAX_BATCH};
pub use imp::{
    DIRECT_WRITES, STREAMS_MOVE, ShardThread, Task, TcpListener, TcpStream, UdpSocket, sleep,
    spawn, spawn_task, start_pinned,
};
pub use notify::{LocalEvent, LocalNotify, LocalQueue};
pub use recv_batch::{MAX_RECV_BATCH, ReceivedBatch};
pub use shutdown::ShutdownHandle;
pub use tuning::Tuning;

use std::future::Future;
use std::time::Duration;

/// Which runtime this build runs on, for logs and benchmarks.
pub const NAME: &str = imp::NAME;

/// Cores this process may run on: the default shard count.
pub fn available_cores() -> usize {
    std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
}

/// Lets the shard's other ready tasks run before this one continues. A
/// task that produces work for others in a burst (a reader handling many
/// frames, the mesh task delivering a batch) calls it so that the writers
/// it feeds get to drain their queues in between.
pub async fn yield_now() {
    imp::yield_now().await;
}

/// Races a future against a deadline; `None` when the deadline came first.
pub async fn timeout<F: Future>(d: Duration, fut: F) -> Option<F::Output> {
    futures_lite::future::or(async { Some(fut.await) }, async {
        sleep(d).await;
        None
    })
    .await
}

/// A TCP connection detached from one shard's reactor, on its way to
/// another shard, which attaches it to its own ([`TcpStream::detach`],
/// [`TcpStream::attach`]). It can cross threads; nothing can read or
/// write it until it is attached. Only runtimes whose [`STREAMS_MOVE`] is
/// true make them.
pub struct DetachedStream(
    // Only the runtimes that move streams make one and read it.
    #[cfg_attr(any(feature = "rt-glommio", feature = "rt-monoio"), allow(dead_code))]
    std::net::TcpStream,
);

impl std::fmt::Debug for DetachedStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("DetachedStream").finish()
    }
}

/// Binds a listener with SO_REUSEPORT so every shard can accept on the same
/// port and the kernel spreads connections among them.
pub fn bind_reuseport(addr: std::net::SocketAddr) -> std::io::Result<TcpListener> {
    TcpListener::bind_reuseport(addr)
}

/// Binds a listener without SO_REUSEPORT, for a port one listener owns
/// alone (the metrics endpoint): a port already taken, by this process or
/// another, is an error instead of a silent share in which the kernel
/// spreads connections between two servers.
pub fn bind_exclusive(addr: std::net::SocketAddr) -> std::io::Result<TcpListener> {
    // std sets SO_REUSEADDR (a restart can rebind through TIME_WAIT) and
    // never SO_REUSEPORT.
    TcpListener::from_exclusive(std::net::TcpListener::bind(addr)?)
}

/// Binds a UDP socket with SO_REUSEPORT, so every shard can receive on the
/// same port; the kernel keeps each client's 4-tuple on one shard.
pub fn bind_udp(addr: std::net::SocketAddr) -> std::io::Result<UdpSocket> {
    UdpSocket::bind_reuseport(addr)
}

#[cfg(test)]
mod tests;
