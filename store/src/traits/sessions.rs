//! Session revocations: logouts, stored so that they survive restarts.

use kairos_core::error::ApiResult;
use uuid::Uuid;

use super::BoxFuture;

/// Revocations loaded at start so that logouts survive restarts.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Revocations {
    /// `(token_id, user_id, expires_at_unix_secs)` of single revoked sessions.
    pub tokens: Vec<(Uuid, Uuid, i64)>,
    /// `(user_id, cutoff_unix_millis)`: every session of the user issued
    /// before the cutoff is revoked.
    pub cutoffs: Vec<(Uuid, i64)>,
}

/// Revoked sessions.
pub trait SessionStore: Send + Sync + 'static {
    fn revoke_token(
        &self,
        user_id: Uuid,
        token_id: Uuid,
        expires_at: i64,
    ) -> BoxFuture<'_, ApiResult<()>>;
    fn revoke_all(&self, user_id: Uuid, cutoff_millis: i64) -> BoxFuture<'_, ApiResult<()>>;
    /// Every revocation that still matters at `now` (unix seconds); expired
    /// single-token revocations are pruned.
    fn load_revocations(&self, now: i64) -> BoxFuture<'_, ApiResult<Revocations>>;
}
