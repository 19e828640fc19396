//! Session tokens: reading the JWT payload without verifying it, and the
//! error type's helpers.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine;
use kairos_client::{Error, Session, grpc};

fn jwt(payload: &serde_json::Value) -> String {
    let b64 = |v: &[u8]| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v);
    format!(
        "{}.{}.{}",
        b64(br#"{"alg":"HS256","typ":"JWT"}"#),
        b64(payload.to_string().as_bytes()),
        b64(b"not checked")
    )
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

#[test]
fn decodes_kairos_claims() {
    let exp = now() + 3600;
    let token = jwt(&serde_json::json!({
        "tid": "0195f0d2-0000-7000-8000-000000000001",
        "uid": "0195f0d2-0000-7000-8000-0000000000aa",
        "usn": "héloïse",
        "vrs": {"platform": "linux"},
        "exp": exp,
        "iat": exp - 3600,
    }));
    let refresh = jwt(&serde_json::json!({
        "tid": "0195f0d2-0000-7000-8000-000000000001",
        "uid": "0195f0d2-0000-7000-8000-0000000000aa",
        "usn": "héloïse",
        "exp": exp + 86_400,
    }));
    let s = Session::from_tokens(&token, &refresh, true).unwrap();
    assert_eq!(s.user_id, "0195f0d2-0000-7000-8000-0000000000aa");
    assert_eq!(s.username, "héloïse");
    assert_eq!(s.token_id, "0195f0d2-0000-7000-8000-000000000001");
    assert_eq!(s.expires_at, exp);
    assert_eq!(s.refresh_expires_at, exp + 86_400);
    assert_eq!(s.vars.get("platform").map(String::as_str), Some("linux"));
    assert!(s.created);
    assert_eq!(s.token, token);
    assert!(!s.is_expired());
    assert!(!s.is_refresh_expired());
    assert!(!s.expires_within(Duration::from_secs(60)));
    assert!(s.expires_within(Duration::from_secs(7200)));
    assert!(s.is_expired_at(UNIX_EPOCH + Duration::from_secs(exp)));
}

#[test]
fn padded_payloads_and_missing_refresh_tokens() {
    let payload = serde_json::json!({"uid": "u", "usn": "n", "exp": 1});
    let b64 = |v: &[u8]| base64::engine::general_purpose::URL_SAFE.encode(v);
    let token = format!("{}.{}.sig", b64(b"{}"), b64(payload.to_string().as_bytes()));
    let s = Session::from_tokens(&token, "", false).unwrap();
    assert_eq!((s.user_id.as_str(), s.expires_at), ("u", 1));
    assert!(s.is_expired());
    assert!(s.is_refresh_expired());
    assert!(s.refresh_token.is_empty());
}

#[test]
fn refuses_what_is_not_a_session_token() {
    for bad in [
        "",
        "abc",
        "a.b",
        "a.b.c.d",
        "e30.!!!.sig",
        // `[]`: not an object of claims.
        "e30.W10.sig",
        // `{}`: no user id.
        "e30.e30.sig",
    ] {
        assert!(
            matches!(Session::from_tokens(bad, "", false), Err(Error::Decode(_))),
            "{bad:?}"
        );
    }
    let token = jwt(&serde_json::json!({"uid": "u", "exp": 5}));
    assert!(Session::from_tokens(&token, "garbage", false).is_err());
}

#[test]
fn errors_say_what_refused_the_credentials() {
    let api = Error::Api {
        status: 401,
        code: grpc::UNAUTHENTICATED,
        message: "Auth token invalid".into(),
    };
    assert!(api.is_unauthenticated());
    assert_eq!(api.code(), Some(16));
    let quic = Error::Closed {
        code: Some(3),
        reason: "Missing or invalid token".into(),
    };
    assert!(quic.is_unauthenticated());
    let rt = Error::Realtime {
        code: 4,
        message: "Match not found".into(),
    };
    assert!(!rt.is_unauthenticated());
    assert_eq!(rt.code(), Some(4));
    assert_eq!(rt.to_string(), "realtime error (code 4): Match not found");
    assert_eq!(grpc::from_http_status(404), grpc::NOT_FOUND);
    assert_eq!(grpc::from_http_status(418), grpc::INTERNAL);
    assert!(!Error::Timeout.is_unauthenticated());
}
