//! `GET /ws?token=&format=&status=&lang=`: checks the request before
//! switching protocols, then hands the raw TCP stream to a session.

use std::rc::Rc;

use bytes::BytesMut;
use hyper::body::Incoming;
use hyper::header::{self, HeaderValue};
use hyper::{Request, StatusCode};
use kairos_net::ws::handshake;
use uuid::Uuid;

use super::session;
use crate::http::auth;
use crate::http::io::HyperIo;
use crate::http::query;
use crate::http::response::{self, HttpResponse};
use crate::rt;
use crate::session::{SessionParams, Transport, Wire};
use crate::shard::Shard;

pub fn handle(shard: Rc<Shard>, mut req: Request<Incoming>) -> HttpResponse {
    let params = query::parse(req.uri().query().unwrap_or(""));
    let param = |k: &str| {
        params
            .iter()
            .find(|(key, _)| key == k)
            .map(|(_, v)| v.as_str())
    };

    let wire = match param("format").unwrap_or("") {
        "" | "json" => Wire::Json,
        "protobuf" => Wire::Protobuf,
        "flatbuffers" => Wire::Flat,
        _ => return response::text(StatusCode::BAD_REQUEST, "Invalid format parameter"),
    };

    // A header, when present, wins over the query parameter.
    let token = match req.headers().get(header::AUTHORIZATION) {
        Some(v) => match v.to_str().ok().and_then(|v| v.strip_prefix("Bearer ")) {
            Some(t) => t.to_string(),
            None => return response::text(StatusCode::UNAUTHORIZED, "Missing or invalid token"),
        },
        None => param("token").unwrap_or("").to_string(),
    };
    let Some(caller) = auth::session_token(&shard.shared, &token) else {
        return response::text(StatusCode::UNAUTHORIZED, "Missing or invalid token");
    };

    let h = req.headers();
    let get = |name: header::HeaderName| h.get(name).and_then(|v| v.to_str().ok());
    let upgrade = handshake::UpgradeHeaders {
        method: req.method().as_str(),
        upgrade: get(header::UPGRADE),
        connection: get(header::CONNECTION),
        version: get(header::SEC_WEBSOCKET_VERSION),
        key: get(header::SEC_WEBSOCKET_KEY),
    };
    let accept = match handshake::validate_upgrade(&upgrade) {
        Ok(accept) => accept,
        Err(e) => {
            let mut resp = response::text(StatusCode::BAD_REQUEST, &format!("Bad Request: {e}"));
            resp.headers_mut().insert(
                header::SEC_WEBSOCKET_VERSION,
                HeaderValue::from_static("13"),
            );
            return resp;
        }
    };

    let status = param("status").and_then(query::parse_bool).unwrap_or(false);
    let params = SessionParams {
        // UUIDv7: ordered by start time, which single-socket enforcement relies on.
        id: Uuid::now_v7(),
        user_id: caller.user_id,
        username: caller.username,
        claims: caller.claims,
        wire,
        transport: Transport::WebSocket,
        status,
    };

    let shard_id = shard.id;
    let on_upgrade = hyper::upgrade::on(&mut req);
    rt::spawn(async move {
        let upgraded = match on_upgrade.await {
            Ok(u) => u,
            Err(e) => {
                tracing::debug!(error = %e, "websocket upgrade failed");
                return;
            }
        };
        match upgraded.downcast::<HyperIo>() {
            Ok(parts) => {
                // Copy out what hyper read past the request, then let its
                // buffer go: `read_buf` is a view into hyper's whole read
                // buffer, which would otherwise live as long as the session.
                let hyper::upgrade::Parts { io, read_buf, .. } = parts;
                let pre_read = BytesMut::from(&read_buf[..]);
                drop(read_buf);
                session::run(shard, io.stream, io.slot, pre_read, params).await;
            }
            Err(_) => tracing::error!("upgraded connection is not a shard TCP stream"),
        }
    });

    let mut resp = hyper::Response::new(http_body_util::Full::new(bytes::Bytes::new()));
    *resp.status_mut() = StatusCode::SWITCHING_PROTOCOLS;
    let h = resp.headers_mut();
    h.insert(header::UPGRADE, HeaderValue::from_static("websocket"));
    h.insert(header::CONNECTION, HeaderValue::from_static("Upgrade"));
    if let Ok(v) = HeaderValue::from_str(&accept) {
        h.insert(header::SEC_WEBSOCKET_ACCEPT, v);
    }
    // Which shard serves this socket: for operators and tests.
    h.insert("kairos-shard", HeaderValue::from(shard_id));
    resp
}
