//! Session revocations on SQLite: single revoked tokens (pruned once
//! expired) and per-user cutoffs (which only move forward).

use kairos_core::error::ApiResult;
use rusqlite::params;
use uuid::Uuid;

use super::SqliteStore;
use super::db::{Db, db_err, exec, uuid};
use crate::{BoxFuture, Revocations, SessionStore};

impl SessionStore for SqliteStore {
    fn revoke_token(
        &self,
        user_id: Uuid,
        token_id: Uuid,
        expires_at: i64,
    ) -> BoxFuture<'_, ApiResult<()>> {
        Box::pin(self.blocking(move |db| db.revoke_token(user_id, token_id, expires_at)))
    }

    fn revoke_all(&self, user_id: Uuid, cutoff_millis: i64) -> BoxFuture<'_, ApiResult<()>> {
        Box::pin(self.blocking(move |db| db.revoke_all(user_id, cutoff_millis)))
    }

    fn load_revocations(&self, now: i64) -> BoxFuture<'_, ApiResult<Revocations>> {
        Box::pin(self.blocking(move |db| db.load_revocations(now)))
    }
}

impl Db {
    pub fn revoke_token(&self, user: Uuid, token: Uuid, expires_at: i64) -> ApiResult<()> {
        self.write(|c| {
            exec(
                c,
                "INSERT INTO session_revocation (token_id, user_id, expires_at) VALUES (?1, ?2, ?3)
                 ON CONFLICT (token_id) DO UPDATE SET expires_at = max(expires_at, excluded.expires_at)",
                params![token.to_string(), user.to_string(), expires_at],
            )
            .map(|_| ())
            .map_err(db_err)
        })
    }

    pub fn revoke_all(&self, user: Uuid, cutoff_millis: i64) -> ApiResult<()> {
        self.write(|c| {
            exec(
                c,
                "INSERT INTO session_cutoff (user_id, cutoff_ms) VALUES (?1, ?2)
                 ON CONFLICT (user_id) DO UPDATE SET cutoff_ms = max(cutoff_ms, excluded.cutoff_ms)",
                params![user.to_string(), cutoff_millis],
            )
            .map(|_| ())
            .map_err(db_err)
        })
    }

    /// Prunes revocations expired at `now` (unix seconds) and returns the rest.
    pub fn load_revocations(&self, now: i64) -> ApiResult<Revocations> {
        self.write(|c| {
            let tx = c.transaction().map_err(db_err)?;
            exec(
                &tx,
                "DELETE FROM session_revocation WHERE expires_at <= ?1",
                [now],
            )
            .map_err(db_err)?;
            let mut out = Revocations::default();
            {
                let mut stmt = tx
                    .prepare("SELECT token_id, user_id, expires_at FROM session_revocation")
                    .map_err(db_err)?;
                let rows = stmt
                    .query_map([], |r| {
                        Ok((
                            r.get::<_, String>(0)?,
                            r.get::<_, String>(1)?,
                            r.get::<_, i64>(2)?,
                        ))
                    })
                    .map_err(db_err)?;
                for row in rows {
                    let (t, u, e) = row.map_err(db_err)?;
                    out.tokens.push((uuid(&t)?, uuid(&u)?, e));
                }
                let mut stmt = tx
                    .prepare("SELECT user_id, cutoff_ms FROM session_cutoff")
                    .map_err(db_err)?;
                let rows = stmt
                    .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))
                    .map_err(db_err)?;
                for row in rows {
                    let (u, cutoff) = row.map_err(db_err)?;
                    out.cutoffs.push((uuid(&u)?, cutoff));
                }
            }
            tx.commit().map_err(db_err)?;
            Ok(out)
        })
    }
}
