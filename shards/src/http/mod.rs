//! The HTTP driver: hyper's HTTP/1.1 server on a shard's TCP connections,
//! routing Nakama's REST API and the WebSocket upgrade.

pub mod auth;
mod handlers;
pub mod io;
pub mod query;
pub mod response;
mod router;

pub use handlers::Route;

use std::future::Future;
use std::net::SocketAddr;
use std::pin::pin;
use std::rc::Rc;
use std::task::Poll;
use std::time::Duration;

use hyper::Request;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;

use crate::rt::{self, TcpStream};
use crate::shard::Shard;
use response::HttpResponse;

/// Serves one accepted API connection until it closes, the client idles
/// out, or the shard stops (then in-flight requests finish and the
/// connection closes gracefully).
pub async fn serve_connection(shard: Rc<Shard>, stream: TcpStream) {
    serve_with(shard, stream, router::route).await
}

/// Serves one connection, answering each request with `handler`: the
/// connection driver shared by the API and the metrics endpoint.
pub async fn serve_with<H, Fut>(shard: Rc<Shard>, stream: TcpStream, handler: H)
where
    H: Fn(Rc<Shard>, Request<Incoming>, Option<SocketAddr>) -> Fut + 'static,
    Fut: Future<Output = HttpResponse> + 'static,
{
    let cfg = &shard.config().socket;
    let _ = stream.set_nodelay(true);
    // A connection on which no byte moves for `read_timeout_ms` while no
    // request is being handled is dropped: this bounds slow-loris headers,
    // peers that stop reading our responses, and idle keep-alive
    // connections alike.
    let idle_limit = Duration::from_millis(cfg.read_timeout_ms);
    let peer = stream.peer_addr().ok();
    let activity = io::Activity::new();
    let busy = Rc::new(std::cell::Cell::new(0usize));

    shard.http_conns.set(shard.http_conns.get() + 1);
    let svc_shard = shard.clone();
    let svc_busy = busy.clone();
    let service = service_fn(move |req| {
        let busy = svc_busy.clone();
        let handling = handler(svc_shard.clone(), req, peer);
        async move {
            // A request being handled (e.g. waiting for the database) is
            // not idleness.
            busy.set(busy.get() + 1);
            let resp = handling.await;
            busy.set(busy.get() - 1);
            Ok::<_, std::convert::Infallible>(resp)
        }
    });
    let conn = http1::Builder::new()
        .keep_alive(true)
        .max_buf_size(64 * 1024)
        .serve_connection(
            io::HyperIo {
                stream,
                activity: activity.clone(),
            },
            service,
        )
        .with_upgrades();
    let mut conn = pin!(conn);
    let mut stopping = pin!(shard.stopping.wait());
    let mut draining = false;
    let mut watchdog = Box::pin(rt::sleep(idle_limit));
    let result = std::future::poll_fn(|cx| {
        if !draining && stopping.as_mut().poll(cx).is_ready() {
            draining = true;
            conn.as_mut().graceful_shutdown();
        }
        if let Poll::Ready(r) = conn.as_mut().poll(cx) {
            return Poll::Ready(Some(r));
        }
        while watchdog.as_mut().poll(cx).is_ready() {
            let idle = activity.idle_for();
            if idle >= idle_limit && busy.get() == 0 {
                return Poll::Ready(None);
            }
            watchdog = Box::pin(rt::sleep(
                idle_limit
                    .saturating_sub(idle)
                    .max(Duration::from_millis(10)),
            ));
        }
        Poll::Pending
    })
    .await;
    match result {
        Some(Err(e)) => {
            tracing::debug!(shard = shard.id, error = %e, "http connection ended with an error")
        }
        None => tracing::debug!(
            shard = shard.id,
            ?peer,
            "http connection idle or stalled; closed"
        ),
        Some(Ok(())) => {}
    }
    shard.http_conns.set(shard.http_conns.get() - 1);
}
