//! Issuing session and refresh tokens (Nakama's session model).

use std::collections::BTreeMap;

use uuid::Uuid;

use crate::config::SessionConfig;
use crate::token::{Claims, TokenError, TokenKey, new_token_id};

/// A freshly issued pair.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IssuedSession {
    pub token: String,
    pub refresh_token: String,
    pub claims: Claims,
}

/// Signs and checks session and refresh tokens with their separate keys.
#[derive(Clone, Debug)]
pub struct SessionIssuer {
    session_key: TokenKey,
    refresh_key: TokenKey,
    expiry_sec: i64,
    refresh_expiry_sec: i64,
}

impl SessionIssuer {
    pub fn new(cfg: &SessionConfig) -> Self {
        SessionIssuer {
            session_key: TokenKey::new(cfg.encryption_key.as_bytes()),
            refresh_key: TokenKey::new(cfg.refresh_encryption_key.as_bytes()),
            expiry_sec: cfg.token_expiry_sec,
            refresh_expiry_sec: cfg.refresh_token_expiry_sec,
        }
    }

    /// A new session for a user who just authenticated.
    pub fn issue(
        &self,
        user_id: Uuid,
        username: &str,
        vars: BTreeMap<String, String>,
        now: i64,
    ) -> IssuedSession {
        self.sign(
            new_token_id().to_string(),
            user_id.to_string(),
            username.to_string(),
            vars,
            now,
            now,
        )
    }

    /// Re-issues a session from a valid refresh token: same token id and
    /// `iat`, fresh expiries, the current username and possibly new vars.
    pub fn refresh(
        &self,
        old: &Claims,
        username: &str,
        vars: Option<BTreeMap<String, String>>,
        now: i64,
    ) -> IssuedSession {
        let vars = vars.unwrap_or_else(|| old.vrs.clone());
        self.sign(
            old.tid.clone(),
            old.uid.clone(),
            username.to_string(),
            vars,
            old.iat,
            now,
        )
    }

    fn sign(
        &self,
        tid: String,
        uid: String,
        usn: String,
        vrs: BTreeMap<String, String>,
        iat: i64,
        now: i64,
    ) -> IssuedSession {
        let mut claims = Claims {
            tid,
            uid,
            usn,
            vrs,
            exp: now + self.refresh_expiry_sec,
            iat,
        };
        let refresh_token = self.refresh_key.sign(&claims);
        claims.exp = now + self.expiry_sec;
        let token = self.session_key.sign(&claims);
        IssuedSession {
            token,
            refresh_token,
            claims,
        }
    }

    /// The session key, which also signs matchmaker tokens (as in Nakama).
    pub fn session_key(&self) -> &TokenKey {
        &self.session_key
    }

    pub fn verify_session(&self, token: &str, now: i64) -> Result<Claims, TokenError> {
        self.session_key.verify(token, now)
    }

    pub fn verify_refresh(&self, token: &str, now: i64) -> Result<Claims, TokenError> {
        self.refresh_key.verify(token, now)
    }

    /// How long a revocation must be remembered to outlive every token of
    /// the session it names.
    pub fn revocation_horizon(&self, now: i64) -> i64 {
        now + self.refresh_expiry_sec.max(self.expiry_sec)
    }

    pub fn expiry_sec(&self) -> i64 {
        self.expiry_sec
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn issue_and_refresh_keep_the_token_id() {
        let cfg = SessionConfig::default();
        let issuer = SessionIssuer::new(&cfg);
        let uid = Uuid::new_v4();
        let s = issuer.issue(
            uid,
            "alice",
            BTreeMap::from([("a".into(), "1".into())]),
            1000,
        );
        let c = issuer.verify_session(&s.token, 1000).unwrap();
        assert_eq!(c.exp, 1060);
        assert_eq!(c.usn, "alice");
        let r = issuer.verify_refresh(&s.refresh_token, 1000).unwrap();
        assert_eq!(r.exp, 4600);
        assert!(
            issuer.verify_session(&s.refresh_token, 1000).is_err(),
            "keys differ"
        );

        let s2 = issuer.refresh(&r, "alice2", None, 2000);
        let c2 = issuer.verify_session(&s2.token, 2000).unwrap();
        assert_eq!(c2.tid, c.tid);
        assert_eq!(c2.iat, 1000);
        assert_eq!(c2.exp, 2060);
        assert_eq!(c2.usn, "alice2");
        assert_eq!(c2.vrs.get("a").map(String::as_str), Some("1"));
        let s3 = issuer.refresh(&r, "alice2", Some(BTreeMap::new()), 2000);
        assert!(
            issuer
                .verify_session(&s3.token, 2000)
                .unwrap()
                .vrs
                .is_empty()
        );
    }
}
