//! Pieces both backends share: generated usernames, password hashing off
//! the async threads, Nakama's error messages, and small helpers for the
//! friend, notification and history queries.

use std::collections::HashSet;

use kairos_core::account::Identity;
use kairos_core::error::{ApiError, ApiResult};
use rand::Rng;
use uuid::Uuid;

/// A random username of 10 ASCII letters, as Nakama generates.
pub fn generate_username() -> String {
    const LETTERS: &[u8] = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
    let mut rng = rand::rng();
    (0..10)
        .map(|_| LETTERS[rng.random_range(0..LETTERS.len())] as char)
        .collect()
}

/// Longest password bcrypt takes whole. The API refuses longer ones with
/// 400 (`kairos_core::validate::password`) before they reach a store.
pub use kairos_core::validate::MAX_PASSWORD_BYTES;

/// bcrypt-hashes a password on the pool's blocking threads. A password
/// longer than [`MAX_PASSWORD_BYTES`] never gets here from the API; from
/// anywhere else it is an internal error, never a truncated hash.
pub async fn hash_password(password: String, cost: u32) -> ApiResult<Vec<u8>> {
    if password.len() > MAX_PASSWORD_BYTES {
        return Err(internal(
            "password hashing",
            "password longer than 72 bytes",
        ));
    }
    tokio::task::spawn_blocking(move || bcrypt::hash(password, cost))
        .await
        .map_err(|e| internal("password hashing task", e))?
        .map(String::into_bytes)
        .map_err(|e| internal("password hashing", e))
}

/// The password hash a link stores: an email identity's, `None` for the
/// others. The API refuses passwords over [`MAX_PASSWORD_BYTES`]; one that
/// reaches here anyway stores no password (later email logins fail with
/// "Invalid credentials."), as Nakama, which ignores the hashing error.
pub async fn link_password_hash(identity: &Identity, cost: u32) -> ApiResult<Option<Vec<u8>>> {
    match identity {
        Identity::Email { password, .. } if password.len() <= MAX_PASSWORD_BYTES => {
            hash_password(password.clone(), cost).await.map(Some)
        }
        _ => Ok(None),
    }
}

/// Nakama stores and looks up emails lowercased (authenticate, link and
/// unlink alike).
pub fn normalize(identity: Identity) -> Identity {
    match identity {
        Identity::Email {
            email,
            username,
            password,
        } => Identity::Email {
            email: email.to_lowercase(),
            username,
            password,
        },
        other => other,
    }
}

/// Checks a password against a stored bcrypt hash on the blocking threads.
pub async fn verify_password(password: String, hash: Option<Vec<u8>>) -> ApiResult<bool> {
    let Some(hash) = hash else { return Ok(false) };
    tokio::task::spawn_blocking(move || {
        let hash = String::from_utf8(hash).unwrap_or_default();
        bcrypt::verify(password, &hash).unwrap_or(false)
    })
    .await
    .map_err(|e| internal("password check task", e))
}

/// `columns` (a comma-separated list) with each name prefixed by `alias.`,
/// for queries that join `users` with tables sharing column names.
pub fn qualified(columns: &str, alias: &str) -> String {
    columns
        .split(',')
        .map(|c| format!("{alias}.{}", c.trim()))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The ids a friend operation of `user` acts on: each once, in the order
/// given, without `user` itself.
pub fn distinct_others(user: Uuid, ids: Vec<Uuid>) -> Vec<Uuid> {
    let mut seen = HashSet::new();
    ids.into_iter()
        .filter(|id| *id != user && seen.insert(*id))
        .collect()
}

/// Unix time in nanoseconds: the `position` new friend edges take.
pub fn now_nanos() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_nanos()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

/// A listing limit as SQL takes it.
pub fn sql_limit(limit: usize) -> i64 {
    i64::try_from(limit).unwrap_or(i64::MAX)
}

/// Stored JSON text: empty means the empty object.
pub fn json_or_empty(text: String) -> String {
    if text.is_empty() {
        "{}".to_string()
    } else {
        text
    }
}

/// Logs the detail and returns a generic internal error.
pub fn internal(what: &str, e: impl std::fmt::Display) -> ApiError {
    tracing::error!(error = %e, "{what} failed");
    ApiError::internal(format!("{what} failed"))
}

/// NotFound "User account not found."
pub fn user_not_found() -> ApiError {
    ApiError::not_found("User account not found.")
}

/// AlreadyExists "Username is already in use."
pub fn username_taken() -> ApiError {
    ApiError::exists("Username is already in use.")
}

/// PermissionDenied "User account banned."
pub fn banned() -> ApiError {
    ApiError::denied("User account banned.")
}

/// Unauthenticated "Invalid credentials."
pub fn invalid_credentials() -> ApiError {
    ApiError::unauthenticated("Invalid credentials.")
}

/// PermissionDenied: the unlink changed nothing.
pub fn last_identifier() -> ApiError {
    ApiError::denied(
        "Cannot unlink last account identifier. Check profile exists and is not last link.",
    )
}

/// Which unique column a violated constraint protects.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Unique {
    Username,
    Email,
    CustomId,
    Device,
    Other,
}

/// Classifies a unique-constraint message or constraint name.
pub fn unique_kind(text: &str) -> Unique {
    if text.contains("username") {
        Unique::Username
    } else if text.contains("email") {
        Unique::Email
    } else if text.contains("custom_id") {
        Unique::CustomId
    } else if text.contains("user_device") || text.contains("pkey") && text.contains("device") {
        Unique::Device
    } else {
        Unique::Other
    }
}

/// The error a conflicting link reports.
pub fn link_conflict(kind: Unique) -> ApiError {
    match kind {
        Unique::Email => ApiError::exists("Email is already in use."),
        Unique::CustomId => ApiError::exists("Custom ID is already in use."),
        Unique::Device => ApiError::exists("Device ID already in use."),
        Unique::Username => username_taken(),
        Unique::Other => ApiError::exists("Identifier is already in use."),
    }
}

/// A leaderboard write that would store a negative or overflowing score:
/// Nakama's CHECK constraint fails it, an internal error.
pub fn leaderboard_out_of_range() -> ApiError {
    ApiError::internal("leaderboard score out of range")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn qualified_columns() {
        assert_eq!(
            qualified("id, username,\n  edge_count", "u"),
            "u.id, u.username, u.edge_count"
        );
    }

    #[test]
    fn distinct_others_keeps_order() {
        let (me, a, b) = (Uuid::new_v4(), Uuid::new_v4(), Uuid::new_v4());
        assert_eq!(distinct_others(me, vec![a, me, b, a, b, me]), vec![a, b]);
    }

    #[test]
    fn usernames_are_ten_letters() {
        let a = generate_username();
        assert_eq!(a.len(), 10);
        assert!(a.chars().all(|c| c.is_ascii_alphabetic()));
        assert_ne!(a, generate_username());
    }
}
