//! Building HTTP responses the way Nakama's gateway writes them.

use bytes::Bytes;
use http_body_util::Full;
use hyper::header::{self, HeaderValue};
use hyper::{Response, StatusCode};
use kairos_core::error::ApiError;
use serde::Serialize;

pub type Body = Full<Bytes>;
pub type HttpResponse = Response<Body>;

const NO_STORE: HeaderValue = HeaderValue::from_static("no-store, no-cache, must-revalidate");
const JSON: HeaderValue = HeaderValue::from_static("application/json");

/// Headers every API response carries: CORS for browser clients, no caching.
fn decorate(resp: &mut HttpResponse) {
    let h = resp.headers_mut();
    h.insert(
        header::ACCESS_CONTROL_ALLOW_ORIGIN,
        HeaderValue::from_static("*"),
    );
    h.insert(header::CACHE_CONTROL, NO_STORE);
}

/// 200 with a JSON body.
pub fn json<T: Serialize>(value: &T) -> HttpResponse {
    match serde_json::to_vec(value) {
        Ok(body) => json_bytes(StatusCode::OK, body.into()),
        Err(e) => error(&ApiError::internal(format!(
            "response encoding failed: {e}"
        ))),
    }
}

/// 200 with `body` as it is, under `content_type` (an unwrapped RPC's
/// result).
pub fn raw(content_type: HeaderValue, body: Bytes) -> HttpResponse {
    let mut resp = Response::new(Full::new(body));
    resp.headers_mut()
        .insert(header::CONTENT_TYPE, content_type);
    decorate(&mut resp);
    resp
}

/// `{}` with 200, Nakama's empty reply.
pub fn empty() -> HttpResponse {
    json_bytes(StatusCode::OK, Bytes::from_static(b"{}"))
}

fn json_bytes(status: StatusCode, body: Bytes) -> HttpResponse {
    let mut resp = Response::new(Full::new(body));
    *resp.status_mut() = status;
    resp.headers_mut().insert(header::CONTENT_TYPE, JSON);
    decorate(&mut resp);
    resp
}

/// `{"code": <grpc code>, "message": "..."}` with the mapped HTTP status.
pub fn error(err: &ApiError) -> HttpResponse {
    let body = serde_json::to_vec(&kairos_schema::api::Status {
        code: err.code.as_i32(),
        message: err.message.to_string(),
    })
    .unwrap_or_else(|_| b"{\"code\":13,\"message\":\"Internal error\"}".to_vec());
    let status =
        StatusCode::from_u16(err.code.http_status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut resp = json_bytes(status, body.into());
    if status == StatusCode::UNAUTHORIZED
        && let Ok(v) = HeaderValue::from_str(&err.message)
    {
        resp.headers_mut().insert(header::WWW_AUTHENTICATE, v);
    }
    resp
}

/// A plain-text response (used before a WebSocket upgrade, as Go's `http.Error`).
pub fn text(status: StatusCode, msg: &str) -> HttpResponse {
    let mut resp = Response::new(Full::new(Bytes::from(format!("{msg}\n"))));
    *resp.status_mut() = status;
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    h.insert(
        "x-content-type-options",
        HeaderValue::from_static("nosniff"),
    );
    decorate(&mut resp);
    resp
}

/// The answer to a CORS preflight.
pub fn preflight() -> HttpResponse {
    let mut resp = Response::new(Full::new(Bytes::new()));
    *resp.status_mut() = StatusCode::OK;
    let h = resp.headers_mut();
    h.insert(
        header::ACCESS_CONTROL_ALLOW_METHODS,
        HeaderValue::from_static("GET, HEAD, POST, PUT, DELETE"),
    );
    h.insert(
        header::ACCESS_CONTROL_ALLOW_HEADERS,
        HeaderValue::from_static("Authorization, Content-Type, User-Agent, X-Requested-With"),
    );
    h.insert(
        header::ACCESS_CONTROL_MAX_AGE,
        HeaderValue::from_static("86400"),
    );
    decorate(&mut resp);
    resp
}

/// An empty 200 (`GET /`).
pub fn ok_empty() -> HttpResponse {
    let mut resp = Response::new(Full::new(Bytes::new()));
    decorate(&mut resp);
    resp
}
