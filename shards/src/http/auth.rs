//! The two ways a REST call proves who it is: HTTP Basic with the server key
//! (authentication and session refresh), or a Bearer session token.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hyper::HeaderMap;
use hyper::header::AUTHORIZATION;
use kairos_core::error::{ApiError, ApiResult};
use kairos_core::time::now_secs;
use kairos_core::token::Claims;
use uuid::Uuid;

use crate::shard::Shared;

/// The caller of a Bearer-authenticated request.
#[derive(Clone, Debug)]
pub struct Caller {
    pub user_id: Uuid,
    pub username: String,
    pub claims: Claims,
}

fn single_authorization(headers: &HeaderMap) -> Result<Option<&str>, ()> {
    let mut values = headers.get_all(AUTHORIZATION).iter();
    let Some(first) = values.next() else {
        return Ok(None);
    };
    if values.next().is_some() {
        return Err(());
    }
    first.to_str().map(Some).map_err(|_| ())
}

/// Checks `Authorization: Basic base64(server_key:)`.
pub fn server_key(shared: &Shared, headers: &HeaderMap) -> ApiResult<()> {
    let value = match single_authorization(headers) {
        Ok(Some(v)) => v,
        Ok(None) | Err(()) => return Err(ApiError::unauthenticated("Server key required")),
    };
    let invalid = || ApiError::unauthenticated("Server key invalid");
    let encoded = value.strip_prefix("Basic ").ok_or_else(invalid)?;
    let decoded = STANDARD.decode(encoded.trim()).map_err(|_| invalid())?;
    let decoded = std::str::from_utf8(&decoded).map_err(|_| invalid())?;
    let (user, _password) = decoded.split_once(':').ok_or_else(invalid)?;
    if !constant_time_eq(user.as_bytes(), shared.config.socket.server_key.as_bytes()) {
        return Err(invalid());
    }
    Ok(())
}

/// Checks `Authorization: Bearer <session token>`: signature, expiry, and
/// that the session was not logged out.
pub fn bearer(shared: &Shared, headers: &HeaderMap) -> ApiResult<Caller> {
    let value = match single_authorization(headers) {
        Ok(Some(v)) => v,
        Ok(None) => return Err(ApiError::unauthenticated("Auth token required")),
        Err(()) => return Err(ApiError::unauthenticated("Auth token invalid")),
    };
    let token = value
        .strip_prefix("Bearer ")
        .ok_or_else(|| ApiError::unauthenticated("Auth token invalid"))?;
    session_token(shared, token).ok_or_else(|| ApiError::unauthenticated("Auth token invalid"))
}

/// Verifies a session token from any source (header or `?token=`).
pub fn session_token(shared: &Shared, token: &str) -> Option<Caller> {
    let claims = shared
        .issuer
        .verify_session(token.trim(), now_secs())
        .ok()?;
    if shared.revocations.is_revoked(&claims) {
        return None;
    }
    Some(Caller {
        user_id: claims.user_id()?,
        username: claims.usn.clone(),
        claims,
    })
}

/// How an RPC call over HTTP proves itself, as Nakama's `RpcFuncHttp`
/// checks it, in this order: `?http_key=` (the runtime HTTP key);
/// else `Authorization: Basic` whose user part is the HTTP key; else
/// `Authorization: Bearer` with a session. A call with the key has no
/// caller (`None`); keys are compared in constant time.
pub fn http_key_or_bearer(
    shared: &Shared,
    headers: &HeaderMap,
    http_key: Option<&str>,
) -> ApiResult<Option<Caller>> {
    let key_invalid = || ApiError::unauthenticated("HTTP key invalid");
    let expected = shared.config.runtime.http_key.as_bytes();
    if let Some(key) = http_key.filter(|k| !k.is_empty()) {
        return if constant_time_eq(key.as_bytes(), expected) {
            Ok(None)
        } else {
            Err(key_invalid())
        };
    }
    let value = match single_authorization(headers) {
        Ok(Some(v)) => v,
        Ok(None) => {
            return Err(ApiError::unauthenticated("Auth token or HTTP key required"));
        }
        Err(()) => return Err(ApiError::unauthenticated("Auth token invalid")),
    };
    if let Some(encoded) = value.strip_prefix("Basic ") {
        let decoded = STANDARD.decode(encoded.trim()).map_err(|_| key_invalid())?;
        let decoded = std::str::from_utf8(&decoded).map_err(|_| key_invalid())?;
        let (user, _password) = decoded.split_once(':').ok_or_else(key_invalid)?;
        return if constant_time_eq(user.as_bytes(), expected) {
            Ok(None)
        } else {
            Err(key_invalid())
        };
    }
    let token = value
        .strip_prefix("Bearer ")
        .ok_or_else(|| ApiError::unauthenticated("Auth token invalid"))?;
    session_token(shared, token)
        .map(Some)
        .ok_or_else(|| ApiError::unauthenticated("Auth token invalid"))
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}
