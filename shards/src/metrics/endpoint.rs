//! The scrape endpoint: when `metrics.prometheus_port` is set, shard 0
//! listens on `socket.address:prometheus_port` and answers `GET /` and
//! `GET /metrics` with the exposition. It shares the HTTP connection driver
//! (hyper on the shard's stream, idle watchdog, graceful shutdown) with the
//! API, but none of its routes.

use std::net::SocketAddr;
use std::rc::Rc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::header::{self, HeaderValue};
use hyper::{Method, Request, Response, StatusCode};

use super::exposition::CONTENT_TYPE;
use crate::http::response::{self, HttpResponse};
use crate::rt::{self, TcpListener};
use crate::shard::Shard;

/// Accepts scrape connections until the shard begins to stop.
pub async fn serve(shard: Rc<Shard>, listener: TcpListener) {
    let accept_shard = shard.clone();
    let accepting = async move {
        loop {
            match listener.accept().await {
                Ok(stream) => rt::spawn(crate::http::serve_with(
                    accept_shard.clone(),
                    stream,
                    respond,
                )),
                Err(e) => {
                    tracing::warn!(error = %e, "metrics accept failed");
                    rt::sleep(Duration::from_millis(10)).await;
                }
            }
        }
    };
    futures_lite::future::or(accepting, shard.stopping.wait()).await;
}

async fn respond(
    shard: Rc<Shard>,
    req: Request<Incoming>,
    _peer: Option<SocketAddr>,
) -> HttpResponse {
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
