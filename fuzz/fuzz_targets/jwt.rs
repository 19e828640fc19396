//! Session and refresh JWTs: `kairos_core::token::TokenKey::verify` with a
//! fixed key and clock, through `SessionIssuer` as the HTTP and `/ws`
//! authentication call it.
//!
//! Random bytes rarely carry a valid HMAC, so half the inputs are signed
//! here with the server's key first: the header and the claims (arbitrary
//! bytes) are base64url-encoded and signed as HS256, which lets the fuzzer
//! reach the header and claims decoding behind the signature check.
//!
//! Input: byte 0 picks the mode (bit 0: signed here; bit 1: refresh key).
//! Raw mode: the rest is the token. Signed mode: `header \n claims`.

#![no_main]

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use kairos_core::config::SessionConfig;
use kairos_core::session::SessionIssuer;
use libfuzzer_sys::fuzz_target;
use sha2::Sha256;

/// A fixed clock, unix seconds.
const NOW: i64 = 1_760_000_000;

/// A compact JWS of `header` and `claims`, signed with `secret`.
fn sign(secret: &[u8], header: &[u8], claims: &[u8]) -> String {
    let mut token = URL_SAFE_NO_PAD.encode(header);
    token.push('.');
    URL_SAFE_NO_PAD.encode_string(claims, &mut token);
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).expect("any key length");
    mac.update(token.as_bytes());
    token.push('.');
    URL_SAFE_NO_PAD.encode_string(mac.finalize().into_bytes(), &mut token);
    token
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let config = SessionConfig::default();
    let issuer = SessionIssuer::new(&config);
    let refresh = mode & 2 != 0;
    let secret = if refresh {
        config.refresh_encryption_key.as_bytes()
    } else {
        config.encryption_key.as_bytes()
    };
    let token = if mode & 1 == 0 {
        match std::str::from_utf8(rest) {
            Ok(t) => t.to_string(),
            Err(_) => return,
        }
    } else {
        let split = rest.iter().position(|&b| b == b'\n').unwrap_or(rest.len());
        let (header, claims) = rest.split_at(split);
        sign(secret, header, claims.get(1..).unwrap_or_default())
    };
    let verified = if refresh {
        issuer.verify_refresh(&token, NOW)
    } else {
        issuer.verify_session(&token, NOW)
    };
    if let Ok(claims) = verified {
        assert!(claims.exp > NOW);
        assert!(claims.user_id().is_some());
        let _ = claims.token_id();
        let _ = claims.issued_millis();
        let _ = issuer.revocation_horizon(NOW);
    }
});
