//! The scrape endpoint: when `metrics.prometheus_port` is set, shard 0
//! listens on `socket.address:prometheus_port` and answers `GET /` and
//! `GET /metrics` with the exposition. It shares the HTTP connection driver
//! (hyper on the shard's stream, idle watchdog, graceful shutdown) with the
//! API, but none of its routes.

use std::rc::Rc;

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::header::{self, HeaderValue};
use hyper::{Method, Request, Response, StatusCode};

use super::exposition::CONTENT_TYPE;
use crate::http::accept;
use crate::http::limits::ConnLimits;
use crate::http::response::{self, HttpResponse};
use crate::http::watchdog::ConnClock;
use crate::rt::{self, TcpListener};
use crate::shard::Shard;

/// Scrapers connected at once at most: Prometheus needs one or two.
const MAX_SCRAPE_CONNECTIONS: usize = 64;

/// Accepts scrape connections until the shard begins to stop.
pub async fn serve(shard: Rc<Shard>, listener: TcpListener) {
    let limits = ConnLimits::new(MAX_SCRAPE_CONNECTIONS, 0);
    let accepting = accept::run(shard.clone(), listener, limits, |shard, stream, slot| {
        rt::spawn(crate::http::serve_with(shard, stream, slot, respond))
    });
    futures_lite::future::or(accepting, shard.stopping.wait()).await;
}

async fn respond(shard: Rc<Shard>, req: Request<Incoming>, clock: Rc<ConnClock>) -> HttpResponse {
    // A scrape has no body to wait for.
    clock.body_done();
    let path = req.uri().path();
    if path != "/" && path != "/metrics" {
        return response::text(StatusCode::NOT_FOUND, "404 page not found");
    }
    if req.method() != Method::GET && req.method() != Method::HEAD {
        return response::text(StatusCode::METHOD_NOT_ALLOWED, "Method Not Allowed");
    }
    let body = super::scrape::render(&shard.shared);
    let mut resp = Response::new(Full::new(Bytes::from(body)));
    resp.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(CONTENT_TYPE));
    resp
}
