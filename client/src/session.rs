//! A Nakama session: the tokens the server hands out and what they say.

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine;
use serde::Deserialize;

use crate::error::{Error, Result};

/// An authenticated session: the session token (a JWT) for every request
/// and realtime connection, and the refresh token for
/// [`Client::session_refresh`](crate::Client::session_refresh).
///
/// The fields are read from the token's payload without verifying its
/// signature: the server does that; the client only needs to know who it
/// is and when to refresh.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Session {
    /// The session token, sent as `Authorization: Bearer` and on realtime
    /// connections.
    pub token: String,
    /// The refresh token (may be empty when the server sent none).
    pub refresh_token: String,
    /// The user's id (the token's `uid`).
    pub user_id: String,
    /// The user's name (`usn`).
    pub username: String,
    /// When the session token expires, in seconds since the UNIX epoch
    /// (`exp`).
    pub expires_at: u64,
    /// When the refresh token expires, in seconds since the UNIX epoch
    /// (0 when there is no refresh token).
    pub refresh_expires_at: u64,
    /// The token id (`tid`), shared by the session and its refresh token.
    pub token_id: String,
    /// The session variables embedded in the token (`vrs`).
    pub vars: BTreeMap<String, String>,
    /// Whether authenticating created the account.
    pub created: bool,
}

/// The JWT claims Kairos (like Nakama) puts in its session tokens.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct Claims {
    uid: String,
    usn: String,
    exp: i64,
    tid: String,
    vrs: BTreeMap<String, String>,
}

impl Session {
    /// A session from the tokens of an authenticate or refresh answer.
    /// Fails when `token` is not a JWT with Kairos's claims.
    pub fn from_tokens(token: &str, refresh_token: &str, created: bool) -> Result<Session> {
        let claims: Claims = decode_claims(token)?;
        if claims.uid.is_empty() {
            return Err(Error::Decode("session token has no user id (uid)".into()));
        }
        let refresh_expires_at = if refresh_token.is_empty() {
            0
        } else {
            decode_claims::<Claims>(refresh_token)?.exp.max(0) as u64
        };
        Ok(Session {
            token: token.to_owned(),
            refresh_token: refresh_token.to_owned(),
            user_id: claims.uid,
            username: claims.usn,
            expires_at: claims.exp.max(0) as u64,
            refresh_expires_at,
            token_id: claims.tid,
            vars: claims.vrs,
            created,
        })
    }

    /// Whether the session token has expired at `at`.
    pub fn is_expired_at(&self, at: SystemTime) -> bool {
        unix_secs(at) >= self.expires_at
    }

    /// Whether the session token has expired now.
    pub fn is_expired(&self) -> bool {
        self.is_expired_at(SystemTime::now())
    }

    /// Whether the session token expires within `margin` from now: the
    /// moment to call [`Client::session_refresh`](crate::Client::session_refresh).
    pub fn expires_within(&self, margin: Duration) -> bool {
        self.is_expired_at(SystemTime::now() + margin)
    }

    /// Whether the refresh token has expired now (also true without one).
    pub fn is_refresh_expired(&self) -> bool {
        unix_secs(SystemTime::now()) >= self.refresh_expires_at
    }
}

fn unix_secs(at: SystemTime) -> u64 {
    at.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

/// Decodes the payload of a JWT (`header.payload.signature`) without
/// checking its signature.
pub(crate) fn decode_claims<T: for<'de> Deserialize<'de>>(jwt: &str) -> Result<T> {
    let mut parts = jwt.split('.');
    let (Some(_header), Some(payload), Some(_signature), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(Error::Decode("session token is not a JWT".into()));
    };
    let engine = base64::engine::GeneralPurpose::new(
        &base64::alphabet::URL_SAFE,
        base64::engine::GeneralPurposeConfig::new()
            .with_decode_padding_mode(base64::engine::DecodePaddingMode::Indifferent),
    );
    let json = engine
        .decode(payload)
        .map_err(|e| Error::Decode(format!("session token payload is not base64url: {e}")))?;
    serde_json::from_slice(&json)
        .map_err(|e| Error::Decode(format!("session token payload is not JSON claims: {e}")))
}
