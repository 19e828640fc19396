//! `POST` and `GET /v2/rpc/{id}`: calling game code over HTTP, with
//! Nakama's conventions (its `RpcFuncHttp`):
//!
//! * A session or the runtime HTTP key authenticates the call (the
//!   router checks it before the body is read). With the key there is no
//!   user.
//! * `POST`: the body is a JSON string, whose value is the payload; an
//!   empty body is the empty payload. With `?unwrap` the body is the
//!   payload as it is.
//! * `GET`: the payload is empty; the query parameters reach the function
//!   in its context, as they do in Nakama.
//! * The answer is `{"payload": "..."}`, or with `?unwrap` the result as
//!   it is, under the request's Content-Type (else `text/plain`).
//! * A function's error keeps its code: the status is the gateway's
//!   mapping of it (`InvalidArgument` is 400), the message is the
//!   function's.

use hyper::header::{self, HeaderValue};
use kairos_core::error::{ApiError, ApiResult};
use serde::Serialize;

use crate::http::auth::Caller;
use crate::http::game;
use crate::http::response::{self, HttpResponse};
use crate::http::router::Call;
use crate::modules::rpc::invoke;
use crate::shard::Shard;

#[derive(Serialize)]
struct Wrapped<'a> {
    payload: &'a str,
}

pub(super) async fn call(
    shard: &Shard,
    caller: Option<Caller>,
    call: Call,
) -> ApiResult<HttpResponse> {
    let unwrap = call.query.iter().any(|(k, _)| k == "unwrap");
    let payload = if call.body.is_empty() {
        String::new()
    } else if unwrap {
        String::from_utf8(call.body.to_vec())
            .map_err(|_| ApiError::invalid("The request body is not valid UTF-8."))?
    } else {
        serde_json::from_slice::<String>(&call.body).map_err(|_| {
            ApiError::invalid("The request body must be a JSON string (or call with ?unwrap).")
        })?
    };
    let id = call.path("id").to_string();
    let content_type = call.headers.get(header::CONTENT_TYPE).cloned();
    let ctx = game::context(shard, caller.as_ref(), &call.query, &call.headers);
    let result = invoke(&shard.rc(), &id, ctx, payload)
        .await
        .map_err(|refused| refused.to_http())?;
    if unwrap {
        let content_type = content_type.unwrap_or_else(|| HeaderValue::from_static("text/plain"));
        Ok(response::raw(content_type, result.into()))
    } else {
        Ok(response::json(&Wrapped { payload: &result }))
    }
}
