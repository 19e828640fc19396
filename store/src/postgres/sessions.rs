//! Session revocations on PostgreSQL: single revoked tokens (pruned once
//! expired) and per-user cutoffs (which only move forward).

use kairos_core::error::ApiResult;
use uuid::Uuid;

use super::rows::get;
use super::{PgStore, db_err};
use crate::{BoxFuture, Revocations, SessionStore};

impl SessionStore for PgStore {
    fn revoke_token(
        &self,
        user: Uuid,
        token: Uuid,
        expires_at: i64,
    ) -> BoxFuture<'_, ApiResult<()>> {
        Box::pin(async move {
            let mut conn = self.pool.get().await?;
            let stmt = conn
                .prepare(
                    "INSERT INTO session_revocation (token_id, user_id, expires_at) VALUES ($1, $2, $3)
                 ON CONFLICT (token_id) DO UPDATE SET expires_at = GREATEST(session_revocation.expires_at, excluded.expires_at)",
                )
                .await?;
            conn.client
                .execute(&stmt, &[&token, &user, &expires_at])
                .await
                .map(|_| ())
                .map_err(db_err)
        })
    }

    fn revoke_all(&self, user: Uuid, cutoff_millis: i64) -> BoxFuture<'_, ApiResult<()>> {
        Box::pin(async move {
            let mut conn = self.pool.get().await?;
            let stmt = conn
                .prepare(
                    "INSERT INTO session_cutoff (user_id, cutoff_ms) VALUES ($1, $2)
                 ON CONFLICT (user_id) DO UPDATE SET cutoff_ms = GREATEST(session_cutoff.cutoff_ms, excluded.cutoff_ms)",
                )
                .await?;
            conn.client
                .execute(&stmt, &[&user, &cutoff_millis])
                .await
                .map(|_| ())
                .map_err(db_err)
        })
    }

    fn load_revocations(&self, now: i64) -> BoxFuture<'_, ApiResult<Revocations>> {
        // Prunes revocations expired at `now` (unix seconds) and returns the rest.
        Box::pin(async move {
            let conn = self.pool.get().await?;
            let c = &conn.client;
            c.execute(
                "DELETE FROM session_revocation WHERE expires_at <= $1",
                &[&now],
            )
            .await
            .map_err(db_err)?;
            let tokens = c
                .query(
                    "SELECT token_id, user_id, expires_at FROM session_revocation",
                    &[],
                )
                .await
                .map_err(db_err)?
                .iter()
                .map(|r| Ok((get(r, 0)?, get(r, 1)?, get(r, 2)?)))
                .collect::<ApiResult<_>>()?;
            let cutoffs = c
                .query("SELECT user_id, cutoff_ms FROM session_cutoff", &[])
                .await
                .map_err(db_err)?
                .iter()
                .map(|r| Ok((get(r, 0)?, get(r, 1)?)))
                .collect::<ApiResult<_>>()?;
            Ok(Revocations { tokens, cutoffs })
        })
    }
}
