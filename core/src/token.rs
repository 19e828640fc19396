//! Session and refresh tokens: HS256 JWTs with Nakama's claims
//! (`tid uid usn vrs exp iat`).
//!
//! Signing and verification are pure functions of the key, the claims and
//! the clock the caller passes in. Token ids are UUIDv7, so the id carries the
//! millisecond the session began; "log out everywhere" is a per-user cutoff
//! compared against it.

use std::collections::BTreeMap;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use uuid::Uuid;

type HmacSha256 = Hmac<Sha256>;

/// `{"alg":"HS256","typ":"JWT"}`, base64url-encoded.
const HEADER_B64: &str = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9";

/// The claims Nakama puts in session and refresh tokens.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    /// Token id, shared by a session token and its refresh token.
    pub tid: String,
    /// User id.
    pub uid: String,
    /// Username.
    pub usn: String,
    /// Session variables.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub vrs: BTreeMap<String, String>,
    /// Expiry, unix seconds.
    pub exp: i64,
    /// Issued at, unix seconds.
    #[serde(default)]
    pub iat: i64,
}

impl Claims {
    pub fn user_id(&self) -> Option<Uuid> {
        Uuid::parse_str(&self.uid).ok()
    }
    pub fn token_id(&self) -> Option<Uuid> {
        Uuid::parse_str(&self.tid).ok()
    }
    /// When the session began, in unix milliseconds, read from the UUIDv7
    /// token id; falls back to `iat` for ids of other versions.
    pub fn issued_millis(&self) -> i64 {
        self.token_id()
            .and_then(|t| t.get_timestamp())
            .map(|ts| {
                let (s, n) = ts.to_unix();
                s as i64 * 1000 + (n / 1_000_000) as i64
            })
            .unwrap_or(self.iat * 1000)
    }
}

/// Why a token was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TokenError {
    /// Not a well-formed HS256 JWT signed with this key.
    Invalid,
    /// Well-formed and signed, but past `exp`.
    Expired,
}

/// An HMAC key for signing tokens.
#[derive(Clone)]
pub struct TokenKey {
    mac: HmacSha256,
}

impl std::fmt::Debug for TokenKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TokenKey(..)")
    }
}

impl TokenKey {
    pub fn new(secret: &[u8]) -> Self {
        // HMAC accepts keys of any length.
        let mac = HmacSha256::new_from_slice(secret).expect("hmac accepts any key length");
        TokenKey { mac }
    }

    fn signature(&self, signing_input: &[u8]) -> [u8; 32] {
        let mut mac = self.mac.clone();
        mac.update(signing_input);
        mac.finalize().into_bytes().into()
    }

    /// Signs the claims into a compact JWT.
    pub fn sign(&self, claims: &Claims) -> String {
        self.sign_payload(claims)
    }

    /// Signs any claims (a matchmaker token's `{mid, exp}`) into a compact
    /// HS256 JWT.
    pub fn sign_payload(&self, claims: &impl serde::Serialize) -> String {
        let payload = serde_json::to_vec(claims).expect("claims serialize");
        let mut token = String::with_capacity(HEADER_B64.len() + payload.len() * 4 / 3 + 48);
        token.push_str(HEADER_B64);
        token.push('.');
        URL_SAFE_NO_PAD.encode_string(&payload, &mut token);
        let sig = self.signature(token.as_bytes());
        token.push('.');
        URL_SAFE_NO_PAD.encode_string(sig, &mut token);
        token
    }

    /// Checks the signature, the algorithm and the expiry against `now`
    /// (unix seconds) and returns the claims.
    pub fn verify(&self, token: &str, now: i64) -> Result<Claims, TokenError> {
        let claims = self.verify_signature(token)?;
        if claims.exp <= now {
            return Err(TokenError::Expired);
        }
        Ok(claims)
    }

    /// Checks the signature and the algorithm only.
    pub fn verify_signature(&self, token: &str) -> Result<Claims, TokenError> {
        let claims: Claims = self.verify_payload(token)?;
        // Only a token id that is a UUID can be revoked (logout keys its
        // revocation on it), so a token with any other id is refused even
        // when its signature holds.
        if claims.user_id().is_none() || claims.token_id().is_none() {
            return Err(TokenError::Invalid);
        }
        Ok(claims)
    }

    /// Checks the signature and the algorithm of any HS256 JWT and reads
    /// its claims as `T`; the caller checks their meaning (expiry
    /// included).
    pub fn verify_payload<T: serde::de::DeserializeOwned>(
        &self,
        token: &str,
    ) -> Result<T, TokenError> {
        if token.len() > 8192 {
            return Err(TokenError::Invalid);
        }
        let (signing_input, sig_b64) = token.rsplit_once('.').ok_or(TokenError::Invalid)?;
        let (header_b64, payload_b64) = signing_input.split_once('.').ok_or(TokenError::Invalid)?;
        let sig = URL_SAFE_NO_PAD
            .decode(sig_b64)
            .map_err(|_| TokenError::Invalid)?;
        let mut mac = self.mac.clone();
        mac.update(signing_input.as_bytes());
        // Constant-time comparison.
        mac.verify_slice(&sig).map_err(|_| TokenError::Invalid)?;

        let header = URL_SAFE_NO_PAD
            .decode(header_b64)
            .map_err(|_| TokenError::Invalid)?;
        let header: Header = serde_json::from_slice(&header).map_err(|_| TokenError::Invalid)?;
        if header.alg != "HS256" {
            return Err(TokenError::Invalid);
        }
        let payload = URL_SAFE_NO_PAD
            .decode(payload_b64)
            .map_err(|_| TokenError::Invalid)?;
        serde_json::from_slice(&payload).map_err(|_| TokenError::Invalid)
    }
}

#[derive(Deserialize)]
struct Header {
    alg: String,
}

/// Creates a new token id: a UUIDv7, which records when it was made.
pub fn new_token_id() -> Uuid {
    Uuid::now_v7()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims(exp: i64) -> Claims {
        Claims {
            tid: new_token_id().to_string(),
            uid: Uuid::new_v4().to_string(),
            usn: "alice".into(),
            vrs: BTreeMap::from([("k".into(), "v".into())]),
            exp,
            iat: 100,
        }
    }

    #[test]
    fn round_trip() {
        let key = TokenKey::new(b"defaultencryptionkey");
        let c = claims(2000);
        let t = key.sign(&c);
        assert_eq!(t.split('.').count(), 3);
        assert_eq!(key.verify(&t, 1999).unwrap(), c);
    }

    #[test]
    fn header_is_hs256_jwt() {
        let h = URL_SAFE_NO_PAD.decode(HEADER_B64).unwrap();
        assert_eq!(h, br#"{"alg":"HS256","typ":"JWT"}"#);
    }

    #[test]
    fn expired_and_tampered_tokens_are_refused() {
        let key = TokenKey::new(b"k1");
        let t = key.sign(&claims(2000));
        assert_eq!(key.verify(&t, 2000), Err(TokenError::Expired));
        assert_eq!(TokenKey::new(b"k2").verify(&t, 0), Err(TokenError::Invalid));
        let mut bad = t.clone();
        bad.insert(40, 'A');
        assert_eq!(key.verify(&bad, 0), Err(TokenError::Invalid));
        assert_eq!(key.verify("not-a-jwt", 0), Err(TokenError::Invalid));
        assert_eq!(key.verify("a.b.c", 0), Err(TokenError::Invalid));
        assert_eq!(key.verify("", 0), Err(TokenError::Invalid));
    }

    #[test]
    fn token_ids_that_cannot_be_revoked_are_refused() {
        let key = TokenKey::new(b"defaultencryptionkey");
        for tid in ["", "not-a-uuid", "1234"] {
            let mut c = claims(5000);
            c.tid = tid.into();
            assert_eq!(
                key.verify(&key.sign(&c), 0),
                Err(TokenError::Invalid),
                "{tid:?}"
            );
        }
        let mut c = claims(5000);
        c.uid = "someone".into();
        assert_eq!(key.verify(&key.sign(&c), 0), Err(TokenError::Invalid));
    }

    #[test]
    fn other_algorithms_are_refused() {
        // A token whose header says "none", signed correctly over that header.
        let key = TokenKey::new(b"k");
        let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"none","typ":"JWT"}"#);
        let payload = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&claims(5000)).unwrap());
        let input = format!("{header}.{payload}");
        let sig = URL_SAFE_NO_PAD.encode(key.signature(input.as_bytes()));
        assert_eq!(
            key.verify(&format!("{input}.{sig}"), 0),
            Err(TokenError::Invalid)
        );
    }

    #[test]
    fn issued_millis_comes_from_the_v7_token_id() {
        let c = claims(10);
        let ms = c.issued_millis();
        let now = crate::time::now_millis();
        assert!((now - ms).abs() < 60_000, "{ms} vs {now}");
    }
}
