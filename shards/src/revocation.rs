//! Which sessions have been logged out. Persisted by the store (so a restart
//! forgets nothing) and mirrored here for the per-request check.
//!
//! This is a rare global lookup (once per authenticated HTTP request or
//! socket connect, never per realtime message), so a concurrent map shared by
//! all shards is the right tool.

use dashmap::DashMap;
use kairos_core::token::Claims;
use kairos_store::Revocations as Stored;
use uuid::Uuid;

#[derive(Default)]
pub struct RevocationCache {
    /// Revoked token ids, with the unix second after which the entry can go.
    tokens: DashMap<Uuid, i64>,
    /// Per user: sessions begun before this unix millisecond are revoked.
    cutoffs: DashMap<Uuid, i64>,
}

impl RevocationCache {
    pub fn from_stored(stored: Stored) -> Self {
        let cache = RevocationCache::default();
        for (tid, _user, exp) in stored.tokens {
            cache.tokens.insert(tid, exp);
        }
        for (user, cutoff) in stored.cutoffs {
            cache.cutoffs.insert(user, cutoff);
        }
        cache
    }

    pub fn is_revoked(&self, claims: &Claims) -> bool {
        self.is_revoked_token(claims.token_id(), claims.user_id(), claims.issued_millis())
    }

    /// The same check from a token's parts: its id, its user, and when it
    /// was issued (unix milliseconds).
    pub fn is_revoked_token(&self, tid: Option<Uuid>, user: Option<Uuid>, issued_ms: i64) -> bool {
        if let Some(tid) = tid
            && self.tokens.contains_key(&tid)
        {
            return true;
        }
        match user.and_then(|u| self.cutoffs.get(&u).map(|c| *c)) {
            // Inclusive: a session begun in the very millisecond of the logout is
            // revoked too (one issued a millisecond later is not).
            Some(cutoff) => issued_ms <= cutoff,
            None => false,
        }
    }

    pub fn revoke_token(&self, tid: Uuid, until: i64) {
        self.tokens.insert(tid, until);
    }

    pub fn revoke_all(&self, user: Uuid, cutoff_millis: i64) {
        self.cutoffs
            .entry(user)
            .and_modify(|c| *c = (*c).max(cutoff_millis))
            .or_insert(cutoff_millis);
    }

    /// Forgets token revocations that have outlived every token they named.
    pub fn prune(&self, now: i64) {
        self.tokens.retain(|_, until| *until > now);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kairos_core::token::new_token_id;

    fn claims(user: Uuid) -> Claims {
        Claims {
            tid: new_token_id().to_string(),
            uid: user.to_string(),
            usn: "u".into(),
            vrs: Default::default(),
            exp: i64::MAX,
            iat: 0,
        }
    }

    #[test]
    fn single_and_all() {
        let cache = RevocationCache::default();
        let user = Uuid::new_v4();
        let a = claims(user);
        assert!(!cache.is_revoked(&a));
        cache.revoke_token(a.token_id().unwrap(), 100);
        assert!(cache.is_revoked(&a));
        cache.prune(100);
        assert!(!cache.is_revoked(&a));

        let b = claims(user);
        std::thread::sleep(std::time::Duration::from_millis(2));
        cache.revoke_all(user, kairos_core::time::now_millis());
        assert!(cache.is_revoked(&b));
        std::thread::sleep(std::time::Duration::from_millis(2));
        let c = claims(user);
        assert!(
            !cache.is_revoked(&c),
            "sessions begun after the cutoff stay valid"
        );
        assert!(!cache.is_revoked(&claims(Uuid::new_v4())));
    }
}
