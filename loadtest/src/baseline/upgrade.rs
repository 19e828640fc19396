//! The server side of a WebSocket upgrade request, shared by the baseline
//! servers: finds the request head in the received bytes, reads its request
//! target and the headers RFC 6455 needs, and validates them with
//! `kairos-net`'s handshake rules.

use kairos_net::ws::{self, UpgradeHeaders};

/// Largest upgrade request head accepted (request line and headers).
pub const MAX_REQUEST: usize = 16 * 1024;

/// A valid upgrade request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Upgrade<'a> {
    /// The request target (path and query), as sent.
    pub target: &'a str,
    /// The `Sec-WebSocket-Accept` value to answer with.
    pub accept: String,
}

/// The length of the request head at the start of `buf`, final CRLFCRLF
/// included; `None` while it is incomplete.
pub fn head_len(buf: &[u8]) -> Option<usize> {
    buf.windows(4).position(|w| w == b"\r\n\r\n").map(|p| p + 4)
}

/// Parses a request head (with or without its final CRLFCRLF); the
/// accepted upgrade, or the complete rejection response to send.
pub fn parse(head: &str) -> Result<Upgrade<'_>, String> {
    let mut lines = head.split("\r\n");
    let mut request_line = lines.next().unwrap_or("").split(' ');
    let method = request_line.next().unwrap_or("");
    let target = request_line.next().unwrap_or("");
    let mut h = UpgradeHeaders {
        method,
        ..UpgradeHeaders::default()
    };
    for line in lines {
        let Some((name, value)) = line.split_once(':') else {
            continue;
        };
        let value = value.trim();
        match name.trim().to_ascii_lowercase().as_str() {
            "upgrade" => h.upgrade = Some(value),
            "connection" => h.connection = Some(value),
            "sec-websocket-version" => h.version = Some(value),
            "sec-websocket-key" => h.key = Some(value),
            _ => {}
        }
    }
    let accept = ws::validate_upgrade(&h).map_err(|e| e.rejection_response())?;
    Ok(Upgrade { target, accept })
}

/// A complete rejection response with `status` and `reason`, no body.
pub fn rejection(status: u16, reason: &str) -> String {
    format!("HTTP/1.1 {status} {reason}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = "GET /relay?group=3 HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n";

    #[test]
    fn accepts_a_valid_upgrade() {
        let n = head_len(GOOD.as_bytes()).unwrap();
        assert_eq!(n, GOOD.len());
        assert_eq!(head_len(&GOOD.as_bytes()[..n - 1]), None);
        let u = parse(&GOOD[..n]).unwrap();
        assert_eq!(u.target, "/relay?group=3");
        assert_eq!(u.accept, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
    }

    #[test]
    fn rejects_a_bad_upgrade() {
        assert!(
            parse("GET / HTTP/1.1\r\nHost: x")
                .unwrap_err()
                .starts_with("HTTP/1.1 426")
        );
        assert!(
            parse(&GOOD.replace("GET", "POST"))
                .unwrap_err()
                .starts_with("HTTP/1.1 405")
        );
        assert!(rejection(400, "Bad Request").starts_with("HTTP/1.1 400 Bad Request\r\n"));
    }
}
