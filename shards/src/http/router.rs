//! Maps requests to handlers, after the checks every route shares: CORS
//! preflight, authentication (from the headers, before any byte of the
//! body is read), and the body size cap.

use std::rc::Rc;
use std::time::Instant;

use bytes::Bytes;
use http_body_util::{BodyExt, Limited};
use hyper::body::{Body as _, Incoming};
use hyper::{Method, Request, StatusCode};
use kairos_core::error::{ApiError, Code};

use super::auth::{self, Caller};
use super::game;
use super::handlers::{self, Route};
use super::query;
use super::response::{self, HttpResponse};
use super::routes::{Access, Found, PathParams};
use super::watchdog::ConnClock;
use crate::shard::Shard;

/// What a handler gets: the parsed query, the whole body, and the
/// percent-decoded `{parameters}` of its route's path.
pub struct Call {
    pub query: Vec<(String, String)>,
    pub headers: hyper::HeaderMap,
    pub body: Bytes,
    pub path: PathParams,
}

impl Call {
    /// A path parameter of the route (`channel_id` in
    /// `/v2/channel/{channel_id}`); empty if the route has none of that
    /// name.
    pub fn path(&self, name: &str) -> &str {
        self.path
            .iter()
            .find(|(n, _)| *n == name)
            .map_or("", |(_, v)| v.as_str())
    }

    /// The first value of a query parameter.
    pub fn param(&self, key: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// Every value of a repeated query parameter.
    pub fn params(&self, key: &str) -> Vec<String> {
        self.query
            .iter()
            .filter(|(k, _)| k == key)
            .map(|(_, v)| v.clone())
            .collect()
    }

    /// Decodes the JSON body; an empty body is the empty message.
    pub fn json<T: serde::de::DeserializeOwned + Default>(&self) -> Result<T, ApiError> {
        if self.body.iter().all(|b| b.is_ascii_whitespace()) {
            return Ok(T::default());
        }
        serde_json::from_slice(&self.body)
            .map_err(|e| ApiError::invalid(format!("Unable to decode request body: {e}")))
    }
}

pub async fn route(shard: Rc<Shard>, req: Request<Incoming>, clock: Rc<ConnClock>) -> HttpResponse {
    let method = req.method().clone();
    let path = req.uri().path().to_string();

    if method == Method::OPTIONS {
        return response::preflight();
    }
    if path == "/" && (method == Method::GET || method == Method::HEAD) {
        return response::ok_empty();
    }
    if path == "/ws" && method == Method::GET {
        return crate::ws::upgrade::handle(shard, req);
    }

    let (route, path_params) = match Route::find(&method, &path) {
        Found::Route(route, params) => (route, params),
        Found::WrongMethod => {
            return response::error(&ApiError::new(Code::Unimplemented, "Method Not Allowed"));
        }
        Found::Nothing => return response::error(&ApiError::not_found("Not Found")),
    };

    let started = Instant::now();
    let (resp, received) = call(&shard, route, path_params, req, &clock).await;
    let sent = resp.body().size_hint().exact().unwrap_or(0);
    shard.metrics.api(
        route,
        started.elapsed(),
        received,
        sent,
        !resp.status().is_success(),
    );
    resp
}

/// Serves a request for a known route. Also returns the body bytes read.
///
/// The caller is authenticated from the headers before the body is read:
/// a client without the server key or a session cannot make the server
/// wait for a body (it gets 401 and the connection closes unread). The
/// body then has `kairos.net.body_timeout_ms` to arrive (the connection's
/// watchdog); only once it is read does the handler's work begin.
async fn call(
    shard: &Rc<Shard>,
    route: Route,
    path: PathParams,
    req: Request<Incoming>,
    clock: &ConnClock,
) -> (HttpResponse, u64) {
    let (parts, body) = req.into_parts();
    let params = query::parse(parts.uri.query().unwrap_or(""));
    let caller: Option<Caller> = match route.access() {
        Access::Public => None,
        Access::ServerKey => match auth::server_key(&shard.shared, &parts.headers) {
            Ok(()) => None,
            Err(e) => return (response::error(&e), 0),
        },
        Access::Session => match auth::bearer(&shard.shared, &parts.headers) {
            Ok(c) => Some(c),
            Err(e) => return (response::error(&e), 0),
        },
        Access::HttpKeyOrSession => {
            let key = params
                .iter()
                .find(|(k, _)| k == "http_key")
                .map(|(_, v)| v.as_str());
            match auth::http_key_or_bearer(&shard.shared, &parts.headers, key) {
                Ok(c) => c,
                Err(e) => return (response::error(&e), 0),
            }
        }
    };

    let limit = shard.config().socket.max_request_size_bytes;
    let too_large = || response::error(&ApiError::invalid("Request body too large."));
    if let Some(len) = parts.headers.get(hyper::header::CONTENT_LENGTH) {
        match len.to_str().ok().and_then(|v| v.parse::<u64>().ok()) {
            Some(n) if n > limit as u64 => return (too_large(), 0),
            Some(_) => {}
            None => {
                return (
                    response::error(&ApiError::invalid("Invalid Content-Length.")),
                    0,
                );
            }
        }
    }
    let body = match Limited::new(body, limit).collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(e) => {
            if e.downcast_ref::<http_body_util::LengthLimitError>()
                .is_some()
            {
                return (too_large(), 0);
            }
            tracing::debug!(error = %e, "request body read failed");
            let mut resp = response::error(&ApiError::invalid("Unable to read request body."));
            *resp.status_mut() = StatusCode::BAD_REQUEST;
            return (resp, 0);
        }
    };
    clock.body_done();
    let received = body.len() as u64;
    let mut call = Call {
        query: params,
        headers: parts.headers,
        body,
        path,
    };
    if let Err(e) = game::before(shard, route.name(), caller.as_ref(), &mut call).await {
        return (response::error(&e), received);
    }
    let after = game::prepare_after(shard, route.name(), caller.as_ref(), &call);

    let resp = match handlers::dispatch(route, shard, caller, call).await {
        Ok(resp) => resp,
        Err(e) => {
            if e.code == Code::Internal && route.access() != Access::HttpKeyOrSession {
                let path = parts.uri.path();
                tracing::error!(path, error = %e.message, "request failed");
                response::error(&ApiError::internal("Internal server error."))
            } else {
                response::error(&e)
            }
        }
    };
    if let Some(after) = after
        && resp.status().is_success()
    {
        // Full<Bytes> clones its Bytes: no copy of the body.
        let Ok(body) = resp.body().clone().collect().await;
        game::after(shard, after, &body.to_bytes()).await;
    }
    (resp, received)
}
