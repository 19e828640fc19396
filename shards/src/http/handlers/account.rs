//! Nakama's account and session REST calls: authenticate, refresh, log
//! out, read/update/delete the account, link and unlink identifiers.

use std::collections::BTreeMap;

use kairos_core::account::{Account, AccountUpdate, Identity};
use kairos_core::error::{ApiError, ApiResult};
use kairos_core::time::{now_millis, now_secs, rfc3339};
use kairos_core::validate;
use kairos_schema::api;

use super::users::{online, user_json};
use crate::http::auth::Caller;
use crate::http::query::parse_bool;
use crate::http::response::{self, HttpResponse};
use crate::http::router::Call;
use crate::shard::{KickReason, Shard};

fn create_and_username(call: &Call) -> ApiResult<(bool, String)> {
    let create = match call.param("create") {
        None | Some("") => true,
        Some(v) => parse_bool(v)
            .ok_or_else(|| ApiError::invalid(format!("Invalid value for create: '{v}'.")))?,
    };
    let username = call.param("username").unwrap_or("").to_string();
    if !username.is_empty() {
        validate::username(&username)?;
    }
    Ok((create, username))
}

async fn authenticate(
    shard: &Shard,
    identity: Identity,
    username: String,
    create: bool,
    vars: BTreeMap<String, String>,
) -> ApiResult<HttpResponse> {
    let who = shard
        .shared
        .persist
        .run(move |store| async move { store.authenticate(identity, username, create).await })
        .await?;
    let issued = shard
        .shared
        .issuer
        .issue(who.user_id, &who.username, vars, now_secs());
    Ok(response::json(&api::Session {
        created: who.created,
        token: issued.token,
        refresh_token: issued.refresh_token,
    }))
}

pub(super) async fn authenticate_device(shard: &Shard, call: Call) -> ApiResult<HttpResponse> {
    let body: api::AccountDevice = call.json()?;
    validate::device_id(&body.id)?;
    let (create, username) = create_and_username(&call)?;
    authenticate(
        shard,
        Identity::Device { id: body.id },
        username,
        create,
        body.vars,
    )
    .await
}

pub(super) async fn authenticate_custom(shard: &Shard, call: Call) -> ApiResult<HttpResponse> {
    let body: api::AccountCustom = call.json()?;
    validate::custom_id(&body.id)?;
    let (create, username) = create_and_username(&call)?;
    authenticate(
        shard,
        Identity::Custom { id: body.id },
        username,
        create,
        body.vars,
    )
    .await
}

pub(super) async fn authenticate_email(shard: &Shard, call: Call) -> ApiResult<HttpResponse> {
    if call.body.iter().all(|b| b.is_ascii_whitespace()) {
        return Err(ApiError::invalid("Email address and password is required."));
    }
    let body: api::AccountEmail = call.json()?;
    if !body.email.is_empty() {
        validate::email(&body.email)?;
    }
    validate::password(&body.password)?;
    let (create, username) = create_and_username(&call)?;
    if body.email.is_empty() && username.is_empty() {
        return Err(ApiError::invalid(
            "Username is required when email address is not supplied.",
        ));
    }
    let identity = Identity::Email {
        email: body.email.to_lowercase(),
        username: username.clone(),
        password: body.password,
    };
    authenticate(shard, identity, username, create, body.vars).await
}

pub(super) async fn session_refresh(shard: &Shard, call: Call) -> ApiResult<HttpResponse> {
    let body: api::SessionRefreshRequest = call.json()?;
    if body.token.is_empty() {
        return Err(ApiError::invalid("Refresh token is required."));
    }
    let shared = &shard.shared;
    let invalid = || ApiError::unauthenticated("Refresh token invalid or expired.");
    let claims = shared
        .issuer
        .verify_refresh(&body.token, now_secs())
        .map_err(|_| invalid())?;
    if shared.revocations.is_revoked(&claims) {
        return Err(invalid());
    }
    let user_id = claims.user_id().ok_or_else(invalid)?;
    let status = shared
        .persist
        .run(move |store| async move { store.user_status(user_id).await })
        .await?;
    if status.disabled {
        return Err(ApiError::denied("User account banned."));
    }
    let issued = shared
        .issuer
        .refresh(&claims, &status.username, body.vars, now_secs());
    Ok(response::json(&api::Session {
        created: false,
        token: issued.token,
        refresh_token: issued.refresh_token,
    }))
}

/// Revokes the given session (its token id covers the session token and
/// its refresh token alike), or every session of the caller when the body
/// names none. Revocations are persisted before the reply, so a restart
/// keeps them.
pub(super) async fn session_logout(
    shard: &Shard,
    caller: Caller,
    call: Call,
) -> ApiResult<HttpResponse> {
    let body: api::SessionLogoutRequest = call.json()?;
    let shared = &shard.shared;
    let now = now_secs();
    let user = caller.user_id;
    let mut tids = Vec::new();
    if !body.token.is_empty() {
        let c = shared
            .issuer
            .verify_session(&body.token, now)
            .map_err(|_| ApiError::invalid("Session token invalid."))?;
        if c.user_id() != Some(user) {
            return Err(ApiError::invalid("Session token invalid."));
        }
        tids.extend(c.token_id());
    }
    if !body.refresh_token.is_empty() {
        let c = shared
            .issuer
            .verify_refresh(&body.refresh_token, now)
            .map_err(|_| ApiError::invalid("Refresh token invalid."))?;
        if c.user_id() != Some(user) {
            return Err(ApiError::invalid("Refresh token invalid."));
        }
        tids.extend(c.token_id());
    }
    tids.dedup();
    if body.token.is_empty() && body.refresh_token.is_empty() {
        let cutoff = now_millis();
        shared
            .persist
            .run(move |store| async move { store.revoke_all(user, cutoff).await })
            .await?;
        shared.revocations.revoke_all(user, cutoff);
    } else {
        let until = shared.issuer.revocation_horizon(now);
        for tid in tids {
            shared
                .persist
                .run(move |store| async move { store.revoke_token(user, tid, until).await })
                .await?;
            shared.revocations.revoke_token(tid, until);
        }
    }
    Ok(response::empty())
}

pub(super) async fn get_account(
    shard: &Shard,
    caller: Caller,
    _call: Call,
) -> ApiResult<HttpResponse> {
    let user = caller.user_id;
    let account: Account = shard
        .shared
        .persist
        .run(move |store| async move { store.get_account(user).await })
        .await
        .map_err(|e| {
            if e.code == kairos_core::error::Code::NotFound {
                ApiError::not_found("Account not found.")
            } else {
                e
            }
        })?;
    let out = api::Account {
        user: online(shard, user_json(account.user), user),
        wallet: account.wallet,
        email: account.email,
        devices: account
            .devices
            .into_iter()
            .map(|id| api::AccountDeviceOut {
                id,
                vars: BTreeMap::new(),
            })
            .collect(),
        custom_id: account.custom_id,
        verify_time: account.verify_time.map(rfc3339).unwrap_or_default(),
        disable_time: String::new(),
    };
    Ok(response::json(&out))
}

pub(super) async fn update_account(
    shard: &Shard,
    caller: Caller,
    call: Call,
) -> ApiResult<HttpResponse> {
    let body: api::UpdateAccountRequest = call.json()?;
    if let Some(name) = &body.username {
        if name.is_empty() || name.len() > 128 {
            return Err(ApiError::invalid("Username invalid, must be 1-128 bytes."));
        }
        validate::username(name)?;
    }
    for (label, value, max) in [
        ("Display name", &body.display_name, 255),
        ("Avatar URL", &body.avatar_url, 512),
        ("Language tag", &body.lang_tag, 18),
        ("Location", &body.location, 255),
        ("Timezone", &body.timezone, 255),
    ] {
        if let Some(v) = value {
            validate::profile_field(label, v, max)?;
        }
    }
    let update = AccountUpdate {
        username: body.username,
        display_name: body.display_name,
        avatar_url: body.avatar_url,
        // The language tag can't be empty; clearing it restores the default.
        lang_tag: body
            .lang_tag
            .map(|t| if t.is_empty() { "en".to_string() } else { t }),
        location: body.location,
        timezone: body.timezone,
        metadata: None,
    };
    if update.is_empty() {
        return Err(ApiError::invalid("No fields to update."));
    }
    let user = caller.user_id;
    shard
        .shared
        .persist
        .run(move |store| async move { store.update_account(user, update).await })
        .await?;
    Ok(response::empty())
}

/// Deletes the account, revokes all its sessions and closes its sockets,
/// on every shard, before it answers.
pub(super) async fn delete_account(
    shard: &Shard,
    caller: Caller,
    _call: Call,
) -> ApiResult<HttpResponse> {
    let user = caller.user_id;
    let shared = &shard.shared;
    shared
        .persist
        .run(move |store| async move { store.delete_account(user).await })
        .await?;
    let cutoff = now_millis();
    shared
        .persist
        .run(move |store| async move { store.revoke_all(user, cutoff).await })
        .await?;
    shared.revocations.revoke_all(user, cutoff);
    // Its leaderboard records went with it: unrank them.
    shared.leaderboards.owner_gone(user);
    // And its storage objects: out of the storage indexes.
    shared.storage_index.user_gone(user);
    // Acknowledged only once every shard has closed the user's sessions:
    // none serves another message after this reply (and a chat message
    // already on its way to the store is refused there, its sender gone).
    shard
        .kick_user_everywhere(user, KickReason::AccountDeleted)
        .await;
    Ok(response::empty())
}

async fn link(shard: &Shard, caller: Caller, identity: Identity) -> ApiResult<HttpResponse> {
    let user = caller.user_id;
    shard
        .shared
        .persist
        .run(move |store| async move { store.link(user, identity).await })
        .await?;
    Ok(response::empty())
}

async fn unlink(shard: &Shard, caller: Caller, identity: Identity) -> ApiResult<HttpResponse> {
    let user = caller.user_id;
    shard
        .shared
        .persist
        .run(move |store| async move { store.unlink(user, identity).await })
        .await?;
    Ok(response::empty())
}

pub(super) async fn link_device(
    shard: &Shard,
    caller: Caller,
    call: Call,
) -> ApiResult<HttpResponse> {
    let body: api::AccountDevice = call.json()?;
    validate::device_id(&body.id)?;
    link(shard, caller, Identity::Device { id: body.id }).await
}

pub(super) async fn link_custom(
    shard: &Shard,
    caller: Caller,
    call: Call,
) -> ApiResult<HttpResponse> {
    let body: api::AccountCustom = call.json()?;
    validate::custom_id_for_link(&body.id)?;
    link(shard, caller, Identity::Custom { id: body.id }).await
}

pub(super) async fn link_email(
    shard: &Shard,
    caller: Caller,
    call: Call,
) -> ApiResult<HttpResponse> {
    let body: api::AccountEmail = call.json()?;
    if body.email.is_empty() || body.password.is_empty() {
        return Err(ApiError::invalid("Email address and password is required."));
    }
    validate::email(&body.email)?;
    validate::password(&body.password)?;
    let identity = Identity::Email {
        email: body.email.to_lowercase(),
        username: String::new(),
        password: body.password,
    };
    link(shard, caller, identity).await
}

pub(super) async fn unlink_device(
    shard: &Shard,
    caller: Caller,
    call: Call,
) -> ApiResult<HttpResponse> {
    let body: api::AccountDevice = call.json()?;
    if body.id.is_empty() {
        return Err(ApiError::invalid("A device ID must be supplied."));
    }
    unlink(shard, caller, Identity::Device { id: body.id }).await
}

pub(super) async fn unlink_custom(
    shard: &Shard,
    caller: Caller,
    call: Call,
) -> ApiResult<HttpResponse> {
    let body: api::AccountCustom = call.json()?;
    unlink(shard, caller, Identity::Custom { id: body.id }).await
}

pub(super) async fn unlink_email(
    shard: &Shard,
    caller: Caller,
    call: Call,
) -> ApiResult<HttpResponse> {
    let body: api::AccountEmail = call.json()?;
    let identity = Identity::Email {
        email: body.email.to_lowercase(),
        username: String::new(),
        password: String::new(),
    };
    unlink(shard, caller, identity).await
}
