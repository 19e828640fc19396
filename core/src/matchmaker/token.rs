//! The matchmaker token: what `matchmaker_matched` hands players when no
//! hook chose a match, and `match_join {token}` redeems. As in Nakama, an
//! HS256 JWT signed with the session key, with claims `mid` (the relayed
//! match's id, `"<uuid>."`) and `exp` (Unix seconds).

use serde::{Deserialize, Serialize};

use crate::token::{TokenError, TokenKey};

/// How long a token may be redeemed, in seconds (Nakama's 30).
pub const TOKEN_TTL_SEC: i64 = 30;

#[derive(Debug, Serialize, Deserialize, PartialEq, Eq)]
struct MatchClaims {
    mid: String,
    exp: i64,
}

/// A token for match `match_id`, valid until `now_sec + TOKEN_TTL_SEC`.
pub fn sign_token(key: &TokenKey, match_id: &str, now_sec: i64) -> String {
    key.sign_payload(&MatchClaims {
        mid: match_id.to_string(),
        exp: now_sec + TOKEN_TTL_SEC,
    })
}

/// The match id of a token signed with `key` and not expired at `now_sec`.
pub fn verify_token(key: &TokenKey, token: &str, now_sec: i64) -> Result<String, TokenError> {
    let claims: MatchClaims = key.verify_payload(token)?;
    if claims.exp <= now_sec {
        return Err(TokenError::Expired);
    }
    if claims.mid.is_empty() {
        return Err(TokenError::Invalid);
    }
    Ok(claims.mid)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_names_its_match_until_it_expires() {
        let key = TokenKey::new(b"k");
        let t = sign_token(&key, "abc.", 100);
        assert_eq!(verify_token(&key, &t, 100).unwrap(), "abc.");
        assert_eq!(verify_token(&key, &t, 130), Err(TokenError::Expired));
        assert_eq!(
            verify_token(&TokenKey::new(b"other"), &t, 100),
            Err(TokenError::Invalid)
        );
        assert_eq!(verify_token(&key, "a.b.c", 100), Err(TokenError::Invalid));
    }
}
