//! `Nk`'s account and session calls, as Nakama's `Authenticate*`,
//! `AuthenticateTokenGenerate`, `Link*`, `Unlink*`, `AccountDeleteId`,
//! `AccountExportId`, `UsersBanId`, `UsersUnbanId`, `SessionDisconnect`
//! and `SessionLogout`. Each runs the operation the REST calls run
//! (`crate::accounts`): the same identifier rules, store calls,
//! revocations and socket closes.

use std::collections::BTreeMap;

use kairos_core::account::{Authenticated, Identity};
use kairos_core::error::{ApiError, ApiResult};
use kairos_core::validate;
use uuid::Uuid;

use super::Nk;
use super::nk::hide_internal;
use crate::accounts;

/// Why a logout was refused.
#[derive(Debug)]
pub enum LogoutError {
    /// The session token given is not a valid one of the user.
    SessionToken,
    /// The refresh token given is not a valid one of the user.
    RefreshToken,
    /// The store failed.
    Store(ApiError),
}

impl From<ApiError> for LogoutError {
    fn from(e: ApiError) -> Self {
        LogoutError::Store(e)
    }
}

/// Most users one ban or unban names.
pub const MAX_BAN_IDS: usize = 1000;

impl Nk {
    /// Finds, or with `create` creates, the account of device `id`, as
    /// `POST /v2/account/authenticate/device` does (without issuing a
    /// session): the device id 10 to 128 bytes without whitespace, the
    /// username (`""`: one generated for a new account) valid. A banned
    /// account is PermissionDenied "User account banned.".
    pub async fn authenticate_device(
        &self,
        id: &str,
        username: &str,
        create: bool,
    ) -> ApiResult<Authenticated> {
        validate::device_id(id)?;
        let identity = Identity::Device { id: id.to_string() };
        self.authenticate(identity, username, create).await
    }

    /// As [`Nk::authenticate_device`] for a custom id (6 to 128 bytes).
    pub async fn authenticate_custom(
        &self,
        id: &str,
        username: &str,
        create: bool,
    ) -> ApiResult<Authenticated> {
        validate::custom_id(id)?;
        let identity = Identity::Custom { id: id.to_string() };
        self.authenticate(identity, username, create).await
    }

    /// As [`Nk::authenticate_device`] for an email and password (the
    /// email lowercased); with an empty email, a login by `username` and
    /// password that never creates an account. A wrong password is
    /// Unauthenticated "Invalid credentials.".
    pub async fn authenticate_email(
        &self,
        email: &str,
        password: &str,
        username: &str,
        create: bool,
    ) -> ApiResult<Authenticated> {
        if !email.is_empty() {
            validate::email(email)?;
        }
        validate::password(password)?;
        if email.is_empty() && username.is_empty() {
            return Err(ApiError::invalid(
                "Username is required when email address is not supplied.",
            ));
        }
        let identity = Identity::Email {
            email: email.to_lowercase(),
            username: username.to_string(),
            password: password.to_string(),
        };
        self.authenticate(identity, username, create).await
    }

    async fn authenticate(
        &self,
        identity: Identity,
        username: &str,
        create: bool,
    ) -> ApiResult<Authenticated> {
        if !username.is_empty() {
            validate::username(username)?;
        }
        accounts::authenticate(&self.shard, identity, username.to_string(), create)
            .await
            .map_err(hide_internal)
    }

    /// A session token for `user_id`, which the server accepts as one it
    /// issued (same claims, same key), expiring at `exp` (unix seconds;
    /// `0`: `session.token_expiry_sec` from now), with `vars`; an empty
    /// `username` is replaced by a generated one, as Nakama's. Returns the
    /// token and its expiry. The user is not looked up, as in Nakama.
    pub fn authenticate_token_generate(
        &self,
        user_id: Uuid,
        username: &str,
        exp: i64,
        vars: BTreeMap<String, String>,
    ) -> (String, i64) {
        let username = if username.is_empty() {
            kairos_store::generate_username()
        } else {
            username.to_string()
        };
        accounts::generate_token(&self.shard, user_id, &username, exp, vars)
    }

    /// Links device `id` to `user_id`'s account, as `POST
    /// /v2/account/link/device`.
    pub async fn link_device(&self, user_id: Uuid, id: &str) -> ApiResult<()> {
        let identity = accounts::device_to_link(id.to_string())?;
        self.link(user_id, identity).await
    }

    /// Links custom id `id`, as `POST /v2/account/link/custom`.
    pub async fn link_custom(&self, user_id: Uuid, id: &str) -> ApiResult<()> {
        let identity = accounts::custom_to_link(id.to_string())?;
        self.link(user_id, identity).await
    }

    /// Links an email and password, as `POST /v2/account/link/email`.
    pub async fn link_email(&self, user_id: Uuid, email: &str, password: &str) -> ApiResult<()> {
        let identity = accounts::email_to_link(email.to_string(), password.to_string())?;
        self.link(user_id, identity).await
    }

    /// Unlinks device `id`, as `POST /v2/account/unlink/device`: the last
    /// identifier of an account, or one it does not hold, is
    /// PermissionDenied.
    pub async fn unlink_device(&self, user_id: Uuid, id: &str) -> ApiResult<()> {
        let identity = accounts::device_to_unlink(id.to_string())?;
        self.unlink(user_id, identity).await
    }

    /// Unlinks custom id `id`, as `POST /v2/account/unlink/custom`.
    pub async fn unlink_custom(&self, user_id: Uuid, id: &str) -> ApiResult<()> {
        self.unlink(user_id, accounts::custom_to_unlink(id.to_string()))
            .await
    }

    /// Unlinks an email, as `POST /v2/account/unlink/email`.
    pub async fn unlink_email(&self, user_id: Uuid, email: &str) -> ApiResult<()> {
        self.unlink(user_id, accounts::email_to_unlink(email.to_string()))
            .await
    }

    async fn link(&self, user_id: Uuid, identity: Identity) -> ApiResult<()> {
        accounts::link(&self.shard, user_id, identity)
            .await
            .map_err(hide_internal)
    }

    async fn unlink(&self, user_id: Uuid, identity: Identity) -> ApiResult<()> {
        accounts::unlink(&self.shard, user_id, identity)
            .await
            .map_err(hide_internal)
    }

    /// Deletes `user_id`'s account as `DELETE /v2/account` does (its
    /// sessions revoked, its sockets closed on every shard before this
    /// returns), recording a tombstone when `recorded`. An unknown user is
    /// no error; the system user (nil id) is InvalidArgument.
    pub async fn account_delete_id(&self, user_id: Uuid, recorded: bool) -> ApiResult<()> {
        accounts::delete(&self.shard, user_id, recorded)
            .await
            .map_err(hide_internal)
    }

    /// Nakama's account export of `user_id` as JSON text: `account`,
    /// `objects`, `friends`, `groups`, `messages`, `leaderboard_records`,
    /// `notifications`, `wallet_ledgers` (empty lists left out).
    /// NotFound "Account not found." for an unknown user.
    pub async fn account_export_id(&self, user_id: Uuid) -> ApiResult<String> {
        accounts::export(&self.shard, user_id)
            .await
            .map_err(hide_internal)
    }

    /// Bans users (at most [`MAX_BAN_IDS`]): authenticating fails with
    /// "User account banned.", every session they hold is revoked, and
    /// their sockets are closed after a `banned` notification.
    pub async fn users_ban_id(&self, ids: Vec<Uuid>) -> ApiResult<()> {
        check_ban_ids(&ids)?;
        accounts::ban(&self.shard, ids).await.map_err(hide_internal)
    }

    /// Unbans users (at most [`MAX_BAN_IDS`]); their revoked sessions stay
    /// revoked.
    pub async fn users_unban_id(&self, ids: Vec<Uuid>) -> ApiResult<()> {
        check_ban_ids(&ids)?;
        accounts::unban(&self.shard, ids)
            .await
            .map_err(hide_internal)
    }

    /// Closes realtime session `session_id` on whichever shard holds it;
    /// an unknown session is no error.
    pub fn session_disconnect(&self, session_id: Uuid) {
        accounts::disconnect(&self.shard, session_id);
    }

    /// Logs `user_id` out as `POST /v2/session/logout` does: the sessions
    /// of `token` and `refresh_token`, or every session of the user when
    /// both are empty. A token that is not the user's is InvalidArgument
    /// "Session token invalid." or "Refresh token invalid.".
    pub async fn session_logout(
        &self,
        user_id: Uuid,
        token: &str,
        refresh_token: &str,
    ) -> Result<(), LogoutError> {
        accounts::logout(&self.shard, user_id, token, refresh_token)
            .await
            .map_err(|e| match e {
                LogoutError::Store(e) => LogoutError::Store(hide_internal(e)),
                other => other,
            })
    }
}

fn check_ban_ids(ids: &[Uuid]) -> ApiResult<()> {
    if ids.len() > MAX_BAN_IDS {
        return Err(ApiError::invalid(format!("at most {MAX_BAN_IDS} user ids")));
    }
    Ok(())
}
