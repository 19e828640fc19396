//! The HTTP/1.1 opening handshake (RFC 6455 §4).
//!
//! HTTP parsing itself belongs to the driver; these helpers take the
//! relevant header values as strings and produce or check the
//! WebSocket-specific parts.

use std::fmt;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use sha1::{Digest, Sha1};

/// The GUID appended to `Sec-WebSocket-Key` before hashing (RFC 6455 §1.3).
pub const WS_GUID: &str = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

/// The only protocol version supported (`Sec-WebSocket-Version`).
pub const WS_VERSION: &str = "13";

/// Computes `Sec-WebSocket-Accept` for a `Sec-WebSocket-Key`:
/// base64(SHA-1(key ‖ GUID)).
pub fn accept_key(sec_websocket_key: &str) -> String {
    let mut sha = Sha1::new();
    sha.update(sec_websocket_key.as_bytes());
    sha.update(WS_GUID.as_bytes());
    STANDARD.encode(sha.finalize())
}

/// Which part of an upgrade request is wrong.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HandshakeError {
    /// The method is not `GET`.
    Method,
    /// `Upgrade` is missing or does not list `websocket`.
    Upgrade,
    /// `Connection` is missing or does not list `upgrade`.
    Connection,
    /// `Sec-WebSocket-Version` is missing or not `13`.
    Version,
    /// `Sec-WebSocket-Key` is missing or is not base64 of 16 bytes.
    Key,
}

impl HandshakeError {
    /// The HTTP status to answer with: 405 for a wrong method, 426 for a
    /// missing upgrade or an unsupported version, 400 otherwise.
    pub const fn status(self) -> u16 {
        match self {
            Self::Method => 405,
            Self::Upgrade | Self::Version => 426,
            Self::Connection | Self::Key => 400,
        }
    }

    /// A complete HTTP/1.1 rejection response (status line, headers, empty
    /// body, `Connection: close`). Includes `Sec-WebSocket-Version: 13` as
    /// RFC 6455 §4.4 requires for version mismatches.
    pub fn rejection_response(self) -> String {
        let (status, text) = match self.status() {
            405 => (405, "Method Not Allowed"),
            426 => (426, "Upgrade Required"),
            _ => (400, "Bad Request"),
        };
        let mut extra = String::new();
        if self == Self::Method {
            extra.push_str("Allow: GET\r\n");
        }
        if matches!(self, Self::Version | Self::Upgrade) {
            extra.push_str("Upgrade: websocket\r\nSec-WebSocket-Version: 13\r\n");
        }
        format!("HTTP/1.1 {status} {text}\r\n{extra}Connection: close\r\nContent-Length: 0\r\n\r\n")
    }
}

impl fmt::Display for HandshakeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Method => "websocket upgrade requires GET",
            Self::Upgrade => "missing or invalid Upgrade header (expected websocket)",
            Self::Connection => "missing or invalid Connection header (expected upgrade)",
            Self::Version => "unsupported Sec-WebSocket-Version (expected 13)",
            Self::Key => "missing or invalid Sec-WebSocket-Key",
        })
    }
}

impl std::error::Error for HandshakeError {}

/// The header values of an upgrade request relevant to the handshake, as
/// extracted by the driver's HTTP parser (`None` when a header is absent).
#[derive(Debug, Clone, Copy, Default)]
pub struct UpgradeHeaders<'a> {
    /// Request method (must be exactly `GET`).
    pub method: &'a str,
    /// `Upgrade` header value.
    pub upgrade: Option<&'a str>,
    /// `Connection` header value (a comma-separated token list).
    pub connection: Option<&'a str>,
    /// `Sec-WebSocket-Version` header value.
    pub version: Option<&'a str>,
    /// `Sec-WebSocket-Key` header value.
    pub key: Option<&'a str>,
}

fn has_token(list: Option<&str>, token: &str) -> bool {
    list.is_some_and(|l| l.split(',').any(|t| t.trim().eq_ignore_ascii_case(token)))
}

/// Validates an upgrade request and returns the `Sec-WebSocket-Accept` value
/// to answer with, or which part is wrong. Checks, in order: method `GET`;
/// `Upgrade` lists `websocket`; `Connection` lists `upgrade` (token list,
/// case-insensitive, e.g. `keep-alive, Upgrade`); version `13`; key is base64
/// of exactly 16 bytes.
pub fn validate_upgrade(h: &UpgradeHeaders<'_>) -> Result<String, HandshakeError> {
    if h.method != "GET" {
        return Err(HandshakeError::Method);
    }
    if !has_token(h.upgrade, "websocket") {
        return Err(HandshakeError::Upgrade);
    }
    if !has_token(h.connection, "upgrade") {
        return Err(HandshakeError::Connection);
    }
    if h.version.map(str::trim) != Some(WS_VERSION) {
        return Err(HandshakeError::Version);
    }
    let key = h.key.map(str::trim).ok_or(HandshakeError::Key)?;
    // 16 bytes encode to exactly 24 base64 characters; checking the length
    // first also bounds the work done on hostile input.
    if key.len() != 24 {
        return Err(HandshakeError::Key);
    }
    match STANDARD.decode(key) {
        Ok(raw) if raw.len() == 16 => Ok(accept_key(key)),
        _ => Err(HandshakeError::Key),
    }
}

/// The `101 Switching Protocols` response for an accepted upgrade.
pub fn server_response(accept: &str) -> String {
    format!(
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: {accept}\r\n\r\n"
    )
}

/// Encodes 16 caller-supplied random bytes as a `Sec-WebSocket-Key`.
/// (This crate has no randomness source; the caller provides the nonce.)
pub fn key_from_nonce(nonce: [u8; 16]) -> String {
    STANDARD.encode(nonce)
}

/// A client upgrade request for `path_and_query` (e.g. `/ws?token=…`) on
/// `host`, using `key` (see [`key_from_nonce`]).
pub fn client_request(host: &str, path_and_query: &str, key: &str) -> String {
    format!(
        "GET {path_and_query} HTTP/1.1\r\nHost: {host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
    )
}

/// Client side: checks the server's `Sec-WebSocket-Accept` against the key
/// that was sent.
pub fn verify_accept(key: &str, accept: &str) -> bool {
    accept.trim() == accept_key(key)
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "dGhlIHNhbXBsZSBub25jZQ==";

    fn good() -> UpgradeHeaders<'static> {
        UpgradeHeaders {
            method: "GET",
            upgrade: Some("websocket"),
            connection: Some("Upgrade"),
            version: Some("13"),
            key: Some(KEY),
        }
    }

    #[test]
    fn rfc_example_accept_key() {
        assert_eq!(accept_key(KEY), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
    }

    #[test]
    fn validate_accepts_good_request() {
        assert_eq!(
            validate_upgrade(&good()).as_deref(),
            Ok("s3pPLMBiTxaQ9kYGzzhZRbK+xOo=")
        );
    }

    #[test]
    fn validate_token_lists_case_insensitive() {
        let h = UpgradeHeaders {
            upgrade: Some("WebSocket"),
            connection: Some("keep-alive, Upgrade"),
            ..good()
        };
        assert!(validate_upgrade(&h).is_ok());
        let h = UpgradeHeaders {
            connection: Some("keep-alive,upgrade "),
            ..good()
        };
        assert!(validate_upgrade(&h).is_ok());
    }

    #[test]
    fn validate_reports_each_error() {
        let cases: [(UpgradeHeaders<'static>, HandshakeError); 10] = [
            (
                UpgradeHeaders {
                    method: "POST",
                    ..good()
                },
                HandshakeError::Method,
            ),
            (
                UpgradeHeaders {
                    upgrade: None,
                    ..good()
                },
                HandshakeError::Upgrade,
            ),
            (
                UpgradeHeaders {
                    upgrade: Some("h2c"),
                    ..good()
                },
                HandshakeError::Upgrade,
            ),
            (
                UpgradeHeaders {
                    connection: None,
                    ..good()
                },
                HandshakeError::Connection,
            ),
            (
                UpgradeHeaders {
                    connection: Some("keep-alive, upgrades"),
                    ..good()
                },
                HandshakeError::Connection,
            ),
            (
                UpgradeHeaders {
                    version: Some("8"),
                    ..good()
                },
                HandshakeError::Version,
            ),
            (
                UpgradeHeaders {
                    version: None,
                    ..good()
                },
                HandshakeError::Version,
            ),
            (
                UpgradeHeaders {
                    key: None,
                    ..good()
                },
                HandshakeError::Key,
            ),
            (
                // 15 bytes.
                UpgradeHeaders {
                    key: Some("dGhlIHNhbXBsZSBub25j"),
                    ..good()
                },
                HandshakeError::Key,
            ),
            (
                UpgradeHeaders {
                    key: Some("!!!!!!!!!!!!!!!!!!!!!!=="),
                    ..good()
                },
                HandshakeError::Key,
            ),
        ];
        for (h, want) in cases {
            assert_eq!(validate_upgrade(&h), Err(want), "{h:?}");
        }
    }

    #[test]
    fn rejection_responses() {
        let r = HandshakeError::Version.rejection_response();
        assert!(r.starts_with("HTTP/1.1 426 "));
        assert!(r.contains("Sec-WebSocket-Version: 13\r\n"));
        assert!(r.ends_with("\r\n\r\n"));
        assert!(
            HandshakeError::Key
                .rejection_response()
                .starts_with("HTTP/1.1 400 ")
        );
        assert!(
            HandshakeError::Method
                .rejection_response()
                .starts_with("HTTP/1.1 405 ")
        );
    }

    #[test]
    fn client_request_and_verify() {
        let key = key_from_nonce(*b"the sample nonce");
        assert_eq!(key, KEY);
        let req = client_request("example.com:7350", "/ws?token=abc", &key);
        assert!(req.starts_with("GET /ws?token=abc HTTP/1.1\r\n"));
        assert!(req.contains("\r\nHost: example.com:7350\r\n"));
        assert!(req.contains("\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"));
        assert!(req.contains("\r\nSec-WebSocket-Version: 13\r\n"));
        assert!(req.ends_with("\r\n\r\n"));
        assert!(verify_accept(&key, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="));
        assert!(verify_accept(&key, " s3pPLMBiTxaQ9kYGzzhZRbK+xOo= "));
        assert!(!verify_accept(&key, "s3pPLMBiTxaQ9kYGzzhZRbK+xOp="));
        let resp = server_response(&accept_key(&key));
        assert!(resp.starts_with("HTTP/1.1 101 Switching Protocols\r\n"));
        assert!(resp.contains("Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"));
    }
}
