//! The runtime seam: everything the shards need from an async runtime —
//! pinned executors, spawning, timers and TCP sockets — behind a handful of
//! functions. Only this module names glommio, so that it can be swapped for
//! another thread-per-core runtime (monoio, tokio current-thread) in one place.

mod executor;
mod notify;

pub use executor::{ShardThread, start_pinned};
pub use notify::{LocalEvent, LocalNotify, LocalQueue};

use std::future::Future;
use std::time::Duration;

/// A TCP listener owned by one shard (bound with SO_REUSEPORT).
pub type TcpListener = glommio::net::TcpListener;
/// A TCP connection owned by one shard.
pub type TcpStream = glommio::net::TcpStream;
/// A UDP socket owned by one shard (bound with SO_REUSEPORT).
pub type UdpSocket = glommio::net::UdpSocket;

/// Cores this process may run on: the default shard count.
pub fn available_cores() -> usize {
    std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
}

/// Runs a future on the current shard in the background.
pub fn spawn<F: Future<Output = ()> + 'static>(fut: F) {
    glommio::spawn_local(fut).detach();
}

/// A spawned task that can be awaited for its output.
pub type Task<T> = glommio::Task<T>;

/// Runs a future on the current shard and returns a handle to await it.
pub fn spawn_task<T: 'static, F: Future<Output = T> + 'static>(fut: F) -> Task<T> {
    glommio::spawn_local(fut)
}

/// Sleeps on the current shard's timer wheel.
pub async fn sleep(d: Duration) {
    glommio::timer::sleep(d).await;
}

/// Lets the shard's other tasks run before this one continues. A task that
/// produces work for others in a burst (a reader handling many frames, the
/// mesh task delivering a batch) calls it so that the writers it feeds get to
/// drain their queues in between.
pub async fn yield_now() {
    futures_lite::future::yield_now().await;
}

/// Binds a listener with SO_REUSEPORT so every shard can accept on the same
/// port and the kernel spreads connections among them.
pub fn bind_reuseport(addr: std::net::SocketAddr) -> std::io::Result<TcpListener> {
    TcpListener::bind(addr).map_err(std::io::Error::from)
}

/// Binds a UDP socket with SO_REUSEPORT, so every shard can receive on the
/// same port; the kernel keeps each client's 4-tuple on one shard.
pub fn bind_udp(addr: std::net::SocketAddr) -> std::io::Result<UdpSocket> {
    UdpSocket::bind(addr).map_err(std::io::Error::from)
}

/// Races a future against a deadline; `None` when the deadline came first.
pub async fn timeout<F: Future>(d: Duration, fut: F) -> Option<F::Output> {
    futures_lite::future::or(async { Some(fut.await) }, async {
        sleep(d).await;
        None
    })
    .await
}
