//! The HTTP driver: hyper's HTTP/1.1 server on a shard's TCP connections,
//! routing Nakama's REST API and the WebSocket upgrade.

pub mod auth;
mod handlers;
pub mod io;
pub mod query;
pub mod response;
mod router;

use std::future::Future;
use std::pin::pin;
use std::rc::Rc;
use std::task::Poll;
use std::time::Duration;

use hyper::server::conn::http1;
use hyper::service::service_fn;

use crate::rt::TcpStream;
use crate::shard::Shard;

/// Serves one accepted TCP connection until it closes, the client idles
/// out, or the shard stops (then in-flight requests finish and the
/// connection closes gracefully).
pub async fn serve_connection(shard: Rc<Shard>, stream: TcpStream) {
    let cfg = &shard.config().socket;
    let _ = stream.set_nodelay(true);
    // A peer that sends nothing for this long is dropped: this bounds
    // slow-loris headers and idle keep-alive connections alike.
    let _ = stream.set_read_timeout(Some(Duration::from_millis(
        cfg.read_timeout_ms.min(cfg.idle_timeout_ms),
    )));
    let _ = stream.set_write_timeout(Some(Duration::from_millis(cfg.write_timeout_ms)));
    let peer = stream.peer_addr().ok();

    shard.http_conns.set(shard.http_conns.get() + 1);
    let svc_shard = shard.clone();
    let service = service_fn(move |req| {
        let shard = svc_shard.clone();
        async move { Ok::<_, std::convert::Infallible>(router::route(shard, req, peer).await) }
    });
    let conn = http1::Builder::new()
        .keep_alive(true)
        .max_buf_size(64 * 1024)
        .serve_connection(io::HyperIo(stream), service)
        .with_upgrades();
    let mut conn = pin!(conn);
    let mut stopping = pin!(shard.stopping.wait());
    let mut draining = false;
    let result = std::future::poll_fn(|cx| {
        if !draining && stopping.as_mut().poll(cx).is_ready() {
            draining = true;
            conn.as_mut().graceful_shutdown();
        }
        match conn.as_mut().poll(cx) {
            Poll::Ready(r) => Poll::Ready(r),
            Poll::Pending => Poll::Pending,
        }
    })
    .await;
    if let Err(e) = result {
        tracing::debug!(shard = shard.id, error = %e, "http connection ended with an error");
    }
    shard.http_conns.set(shard.http_conns.get() - 1);
}
