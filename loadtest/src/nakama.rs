//! Nakama's public client protocol, as much of it as the scenarios use:
//! device authentication over HTTP and JSON realtime envelopes. Nothing here
//! is Kairos-specific, so every scenario also runs against Nakama itself.

use std::time::Instant;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::Value;

use crate::http::HttpClient;
use crate::report::{OpId, Outcome};
use crate::runner::Run;

/// `POST` path of device authentication.
pub const AUTH_DEVICE_PATH: &str = "/v2/account/authenticate/device";

/// The `Authorization` header value for server-key calls: Basic auth with
/// the server key as user name and an empty password.
pub fn basic_auth(server_key: &str) -> String {
    format!("Basic {}", STANDARD.encode(format!("{server_key}:")))
}

/// The JSON body of a device authentication request.
pub fn device_auth_body(device_id: &str) -> String {
    serde_json::json!({ "id": device_id }).to_string()
}

/// The session token of a successful authentication response body.
pub fn session_token(body: &[u8]) -> Option<String> {
    let v: Value = serde_json::from_slice(body).ok()?;
    v.get("token")?.as_str().map(str::to_string)
}

/// The realtime socket path for `token` with the JSON wire format.
pub fn realtime_path(token: &str) -> String {
    let mut encoded = String::with_capacity(token.len());
    for b in token.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            encoded.push(b as char);
        } else {
            encoded.push_str(&format!("%{b:02X}"));
        }
    }
    format!("/ws?token={encoded}&format=json")
}

/// A realtime ping envelope with correlation id `cid`.
pub fn ping_envelope(cid: u64) -> String {
    format!(r#"{{"cid":"{cid}","ping":{{}}}}"#)
}

/// The pong envelope a server answers [`ping_envelope`] with, byte for byte
/// as Nakama encodes it (checked first to avoid a JSON parse per reply).
pub fn pong_envelope(cid: u64) -> String {
    format!(r#"{{"cid":"{cid}","pong":{{}}}}"#)
}

/// What a received envelope is, relative to an awaited `cid`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reply {
    /// The awaited answer, of the expected kind.
    Done,
    /// The awaited `cid`, but an `error` envelope (label with its code) or
    /// an unexpected kind.
    Failed(String),
    /// Another message (different or no `cid`, e.g. a notification or a
    /// late answer to an abandoned request).
    Other,
}

/// Classifies `text` as the reply to request `cid` whose answer carries the
/// field `expect` (e.g. `pong`).
pub fn classify(text: &[u8], cid: &str, expect: &str) -> Reply {
    let Ok(v) = serde_json::from_slice::<Value>(text) else {
        return Reply::Other;
    };
    if v.get("cid").and_then(Value::as_str) != Some(cid) {
        return Reply::Other;
    }
    if v.get(expect).is_some() {
        return Reply::Done;
    }
    match v.get("error") {
        Some(e) => Reply::Failed(format!(
            "rt-error:{}",
            e.get("code")
                .map_or_else(|| "?".to_string(), Value::to_string)
        )),
        None => Reply::Failed("rt-unexpected".to_string()),
    }
}

/// Authenticates device `device_id` (creating the account when `create`),
/// recording the attempt under `op`, and returns the session token. Bounded
/// by `--timeout`; `None` on failure or when the run stops.
pub async fn authenticate_device(
    run: &Run,
    client: &mut HttpClient,
    op: OpId,
    device_id: &str,
    create: bool,
) -> Option<String> {
    let auth = basic_auth(&run.opts.server_key);
    let body = device_auth_body(device_id);
    let path = if create {
        AUTH_DEVICE_PATH.to_string()
    } else {
        format!("{AUTH_DEVICE_PATH}?create=false")
    };
    let headers = [
        ("Authorization", auth.as_str()),
        ("Content-Type", "application/json"),
        ("Accept", "application/json"),
    ];
    let start = Instant::now();
    let request = tokio::time::timeout(
        run.opts.timeout,
        client.request("POST", &path, &headers, body.as_bytes()),
    );
    match run.until_stopped(request).await? {
        Err(_) => {
            client.disconnect();
            run.record(op, start, None, Outcome::Timeout);
            None
        }
        Ok(Err(e)) => {
            run.record(op, start, None, Outcome::Error(e.kind()));
            None
        }
        Ok(Ok(resp)) if resp.status == 200 => match session_token(&resp.body) {
            Some(token) => {
                run.record(op, start, Some(200), Outcome::Ok);
                Some(token)
            }
            None => {
                run.record(op, start, Some(200), Outcome::Error("no-token".into()));
                None
            }
        },
        Ok(Ok(resp)) => {
            let label = format!("http:{}", resp.status);
            run.record(op, start, Some(resp.status), Outcome::Error(label));
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodings() {
        assert_eq!(basic_auth("defaultkey"), "Basic ZGVmYXVsdGtleTo=");
        assert_eq!(device_auth_body("a\"b"), r#"{"id":"a\"b"}"#);
        assert_eq!(
            session_token(br#"{"created":true,"token":"t.k.n","refresh_token":"r"}"#).as_deref(),
            Some("t.k.n")
        );
        assert_eq!(session_token(b"{}"), None);
        assert_eq!(realtime_path("ab.c_d-e"), "/ws?token=ab.c_d-e&format=json");
        assert_eq!(realtime_path("a+b/="), "/ws?token=a%2Bb%2F%3D&format=json");
        assert_eq!(ping_envelope(7), r#"{"cid":"7","ping":{}}"#);
        assert_eq!(pong_envelope(7), r#"{"cid":"7","pong":{}}"#);
    }

    #[test]
    fn classifies_replies() {
        assert_eq!(
            classify(br#"{"cid":"3","pong":{}}"#, "3", "pong"),
            Reply::Done
        );
        assert_eq!(
            classify(br#"{"pong":{},"cid":"3"}"#, "3", "pong"),
            Reply::Done
        );
        assert_eq!(
            classify(br#"{"cid":"2","pong":{}}"#, "3", "pong"),
            Reply::Other
        );
        assert_eq!(
            classify(br#"{"notifications":{}}"#, "3", "pong"),
            Reply::Other
        );
        assert_eq!(classify(b"not json", "3", "pong"), Reply::Other);
        assert_eq!(
            classify(
                br#"{"cid":"3","error":{"code":3,"message":"x"}}"#,
                "3",
                "pong"
            ),
            Reply::Failed("rt-error:3".into())
        );
        assert_eq!(
            classify(br#"{"cid":"3","status":{}}"#, "3", "pong"),
            Reply::Failed("rt-unexpected".into())
        );
    }
}
