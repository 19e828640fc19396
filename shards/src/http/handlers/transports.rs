//! Kairos's own routes for its datagram transports:
//! * `GET /v2/kairos/transports`: where reliable UDP and QUIC listen (and
//!   the QUIC certificate, for clients that pin it);
//! * `POST /v2/kairos/udp/token?status=`: a reliable-UDP connect token for
//!   the caller's session.

use base64::Engine;
use kairos_core::error::{ApiError, ApiResult};
use kairos_core::grant::SessionGrant;
use serde::Serialize;

use super::params;
use crate::http::auth::Caller;
use crate::http::response::{self, HttpResponse};
use crate::http::router::Call;
use crate::shard::Shard;

#[derive(Serialize)]
struct UdpToken {
    /// The netcode connect token, in standard base64.
    connect_token: String,
    /// Where to use it.
    addresses: Vec<String>,
    /// Seconds the token stays usable for connecting.
    expires_in_sec: u64,
}

#[derive(Serialize, Default)]
struct Transports {
    #[serde(skip_serializing_if = "Option::is_none")]
    udp: Option<Endpoint>,
    #[serde(skip_serializing_if = "Option::is_none")]
    quic: Option<Endpoint>,
}

#[derive(Serialize)]
struct Endpoint {
    address: String,
    /// The server's certificate (PEM), for QUIC.
    #[serde(skip_serializing_if = "String::is_empty")]
    certificate: String,
}

/// `POST /v2/kairos/udp/token`: the token is bound to this session (its
/// user, token id and expiry), so a revoked or expired session cannot use
/// it.
pub(super) async fn udp_token(
    shard: &Shard,
    caller: Caller,
    call: Call,
) -> ApiResult<HttpResponse> {
    let grants = shard
        .shared
        .udp
        .as_ref()
        .ok_or_else(|| ApiError::not_found("Reliable UDP is not enabled."))?;
    let grant = SessionGrant {
        user_id: caller.user_id,
        token_id: caller
            .claims
            .token_id()
            .ok_or_else(|| ApiError::unauthenticated("Auth token invalid"))?,
        username: caller.username,
        expiry: caller.claims.exp,
        status: params::boolean(&call, "status")?.unwrap_or(false),
    };
    let (token, addr) = grants.mint(&grant)?;
    Ok(response::json(&UdpToken {
        connect_token: base64::engine::general_purpose::STANDARD.encode(token),
        addresses: vec![addr.to_string()],
        expires_in_sec: grants.expire_seconds(),
    }))
}

/// `GET /v2/kairos/transports`.
pub(super) async fn transports(
    shard: &Shard,
    _caller: Caller,
    _call: Call,
) -> ApiResult<HttpResponse> {
    let mut out = Transports::default();
    if let Some(addr) = shard.shared.udp.as_ref().and_then(|g| g.public_address()) {
        out.udp = Some(Endpoint {
            address: addr.to_string(),
            certificate: String::new(),
        });
    }
    if let Some(q) = &shard.shared.quic
        && let Some(addr) = q.public_address()
    {
        out.quic = Some(Endpoint {
            address: addr.to_string(),
            certificate: q.certificate_pem.clone(),
        });
    }
    Ok(response::json(&out))
}
