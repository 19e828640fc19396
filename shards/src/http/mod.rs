//! The HTTP driver: hyper's HTTP/1.1 server on a shard's TCP connections,
//! routing Nakama's REST API and the WebSocket upgrade.

pub mod accept;
pub mod auth;
pub(crate) mod game;
mod handlers;
pub(crate) use handlers::json;
pub mod io;
pub mod limits;
pub mod query;
pub mod response;
mod router;
pub(crate) mod routes;
pub mod watchdog;

pub(crate) use handlers::Route;

/// Nakama's method name of every REST route (what REST hooks name).
pub fn route_names() -> Vec<&'static str> {
    Route::ALL.iter().map(|r| r.name()).collect()
}

use std::future::Future;
use std::pin::{Pin, pin};
use std::rc::Rc;
use std::task::Poll;
use std::time::{Duration, Instant};

use hyper::Request;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;

use crate::rt::{self, TcpStream};
use crate::shard::Shard;
use limits::ConnSlot;
use response::HttpResponse;
use watchdog::{Action, ConnClock, Deadlines};

/// The watchdog's timer.
type Sleep = Pin<Box<dyn Future<Output = ()>>>;

/// Serves one accepted API connection until it closes, a deadline passes
/// (see [`watchdog`]), or the shard stops (then in-flight requests finish
/// and the connection closes gracefully).
pub async fn serve_connection(shard: Rc<Shard>, stream: TcpStream, slot: ConnSlot) {
    serve_with(shard, stream, slot, router::route).await
}

/// Serves one connection, answering each request with `handler`: the
/// connection driver shared by the API and the metrics endpoint. The
/// handler gets the connection's clock and calls
/// [`ConnClock::body_done`] once it has read the request's body: until
/// then the body's deadline runs.
pub async fn serve_with<H, Fut>(shard: Rc<Shard>, stream: TcpStream, slot: ConnSlot, handler: H)
where
    H: Fn(Rc<Shard>, Request<Incoming>, Rc<ConnClock>) -> Fut + 'static,
    Fut: Future<Output = HttpResponse> + 'static,
{
    let cfg = shard.config();
    let _ = stream.set_nodelay(true);
    let deadlines = Deadlines {
        idle: Duration::from_millis(cfg.socket.read_timeout_ms),
        header: Duration::from_millis(cfg.kairos.net.header_timeout_ms),
        body: Duration::from_millis(cfg.kairos.net.body_timeout_ms),
    };
    let peer = stream.peer_addr().ok();
    let clock = ConnClock::new(Instant::now());

    shard.http_conns.set(shard.http_conns.get() + 1);
    let svc_shard = shard.clone();
    let svc_clock = clock.clone();
    let service = service_fn(move |req| {
        // hyper calls the service once a request's head is parsed.
        svc_clock.head_done(Instant::now());
        let handling = handler(svc_shard.clone(), req, svc_clock.clone());
        let clock = svc_clock.clone();
        async move {
            let resp = handling.await;
            clock.request_done(Instant::now());
            Ok::<_, std::convert::Infallible>(resp)
        }
    });
    let conn = http1::Builder::new()
        .keep_alive(true)
        .max_buf_size(64 * 1024)
        .serve_connection(
            io::HyperIo {
                stream,
                clock: clock.clone(),
                slot,
            },
            service,
        )
        .with_upgrades();
    let mut conn = pin!(conn);
    let mut stopping = pin!(shard.stopping.wait());
    let mut draining = false;
    // The watchdog's one timer and the instant it fires; none while a
    // handler works (its end wakes this task through `conn`).
    let mut timer: Option<(Instant, Sleep)> = None;
    let result = std::future::poll_fn(|cx| {
        if !draining && stopping.as_mut().poll(cx).is_ready() {
            draining = true;
            conn.as_mut().graceful_shutdown();
        }
        if let Poll::Ready(r) = conn.as_mut().poll(cx) {
            return Poll::Ready(Some(r));
        }
        loop {
            let now = Instant::now();
            match watchdog::action(clock.deadline(&deadlines), timer.as_ref().map(|t| t.0), now) {
                Action::Close => return Poll::Ready(None),
                Action::Disarm => {
                    timer = None;
                    return Poll::Pending;
                }
                Action::Keep => {}
                Action::Arm(at) => timer = Some((at, Box::pin(rt::sleep(at - now)))),
            }
            let (_, sleep) = timer.as_mut().expect("armed");
            if sleep.as_mut().poll(cx).is_pending() {
                return Poll::Pending;
            }
            // Fired: the deadline may have moved; decide again.
            timer = None;
        }
    })
    .await;
    match result {
        Some(Err(e)) => {
            tracing::debug!(shard = shard.id, error = %e, "http connection ended with an error")
        }
        None => tracing::debug!(
            shard = shard.id,
            ?peer,
            phase = ?clock.phase(),
            "http connection past its deadline; closed"
        ),
        Some(Ok(())) => {}
    }
    shard.http_conns.set(shard.http_conns.get() - 1);
}
