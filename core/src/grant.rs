//! What a reliable-UDP connect token says about the session that bought
//! it: the token's 192 bytes of application data (netcode's 256 bytes of
//! user data, less the payload keys that share them), sealed by netcode so
//! only the server reads them. A client with a valid session JWT asks for a connect
//! token over HTTP; the UDP session it opens is then as authenticated as a
//! WebSocket with that JWT (and is refused if the JWT is revoked by then).

use uuid::Uuid;

/// Size of a connect token's application data (`kairos_net::rudp::USER_DATA_BYTES`;
/// the longest grant, with a 128-byte username, takes 171).
pub const GRANT_BYTES: usize = 192;
/// Layout version, the first byte.
const VERSION: u8 = 1;
/// Longest username that fits (Nakama allows 128 bytes).
pub const MAX_USERNAME: usize = 128;

/// The session a connect token was minted for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SessionGrant {
    pub user_id: Uuid,
    /// The JWT's token id, for revocation checks at connect time.
    pub token_id: Uuid,
    pub username: String,
    /// The JWT's expiry (unix seconds).
    pub expiry: i64,
    /// Show the user online (`status=true` on a WebSocket).
    pub status: bool,
}

impl SessionGrant {
    /// `[version][user id][token id][expiry i64 LE][status][name len][name]`,
    /// zero-padded. `None` when the username does not fit.
    pub fn encode(&self) -> Option<[u8; GRANT_BYTES]> {
        let name = self.username.as_bytes();
        if name.len() > MAX_USERNAME {
            return None;
        }
        let mut out = [0u8; GRANT_BYTES];
        out[0] = VERSION;
        out[1..17].copy_from_slice(self.user_id.as_bytes());
        out[17..33].copy_from_slice(self.token_id.as_bytes());
        out[33..41].copy_from_slice(&self.expiry.to_le_bytes());
        out[41] = self.status as u8;
        out[42] = name.len() as u8;
        out[43..43 + name.len()].copy_from_slice(name);
        Some(out)
    }

    /// Reads a grant back; `None` for anything this server did not write.
    pub fn decode(bytes: &[u8; GRANT_BYTES]) -> Option<SessionGrant> {
        if bytes[0] != VERSION || bytes[41] > 1 {
            return None;
        }
        let len = bytes[42] as usize;
        if len > MAX_USERNAME {
            return None;
        }
        let username = std::str::from_utf8(&bytes[43..43 + len]).ok()?.to_string();
        Some(SessionGrant {
            user_id: Uuid::from_slice(&bytes[1..17]).ok()?,
            token_id: Uuid::from_slice(&bytes[17..33]).ok()?,
            expiry: i64::from_le_bytes(bytes[33..41].try_into().ok()?),
            status: bytes[41] == 1,
            username,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_refuses_foreign_bytes() {
        let g = SessionGrant {
            user_id: Uuid::new_v4(),
            token_id: Uuid::now_v7(),
            username: "ünïcode player".into(),
            expiry: 1_900_000_000,
            status: true,
        };
        let bytes = g.encode().unwrap();
        assert_eq!(SessionGrant::decode(&bytes), Some(g.clone()));
        let mut bad = bytes;
        bad[0] = 9;
        assert_eq!(SessionGrant::decode(&bad), None);
        let mut bad = bytes;
        bad[42] = 200;
        assert_eq!(SessionGrant::decode(&bad), None);
        assert_eq!(SessionGrant::decode(&[0u8; GRANT_BYTES]), None);
        let long = SessionGrant {
            username: "x".repeat(129),
            ..g
        };
        assert!(long.encode().is_none());
    }
}
