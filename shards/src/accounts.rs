//! Account and session operations that both REST handlers
//! (`http/handlers/account.rs`) and game code (`modules::Nk`, so Lua's
//! `nk`) run: the identifier rules of linking and unlinking, the store
//! calls, account deletion and bans with the revocations and socket
//! closes that follow them, logout, server-side disconnects, tokens
//! issued for a user, and the account export.

use std::collections::BTreeMap;

use kairos_core::account::{Authenticated, Identity};
use kairos_core::error::{ApiError, ApiResult, Code};
use kairos_core::friend::FriendCursor;
use kairos_core::group::EdgeCursor;
use kairos_core::notification::NotificationCursor;
use kairos_core::time::{now_millis, now_secs, rfc3339};
use kairos_core::token::{Claims, new_token_id};
use kairos_core::validate;
use kairos_core::wallet::LedgerCursor;
use serde_json::{Value, json};
use uuid::Uuid;

pub use crate::modules::LogoutError;
use crate::shard::{KickReason, Shard};

/// Rows read per page while an export walks a listing.
const EXPORT_PAGE: usize = 1000;

/// Finds the account holding `identity`, creating it when `create` is
/// set (`username` empty: a generated one), as the REST authenticate
/// calls do before they issue a session.
pub async fn authenticate(
    shard: &Shard,
    identity: Identity,
    username: String,
    create: bool,
) -> ApiResult<Authenticated> {
    shard
        .shared
        .persist
        .run(move |store| async move { store.authenticate(identity, username, create).await })
        .await
}

/// A device id to link, checked as Nakama's `LinkDevice` checks it.
pub fn device_to_link(id: String) -> ApiResult<Identity> {
    validate::device_id(&id)?;
    Ok(Identity::Device { id })
}

/// A custom id to link, checked as Nakama's `LinkCustom` checks it.
pub fn custom_to_link(id: String) -> ApiResult<Identity> {
    validate::custom_id_for_link(&id)?;
    Ok(Identity::Custom { id })
}

/// An email and password to link, checked as Nakama's `LinkEmail` checks
/// them; the email lowercased.
pub fn email_to_link(email: String, password: String) -> ApiResult<Identity> {
    if email.is_empty() || password.is_empty() {
        return Err(ApiError::invalid("Email address and password is required."));
    }
    validate::email(&email)?;
    validate::password(&password)?;
    Ok(Identity::Email {
        email: email.to_lowercase(),
        username: String::new(),
        password,
    })
}

/// A device id to unlink: InvalidArgument "A device ID must be supplied."
/// when empty, as Nakama's `UnlinkDevice`.
pub fn device_to_unlink(id: String) -> ApiResult<Identity> {
    if id.is_empty() {
        return Err(ApiError::invalid("A device ID must be supplied."));
    }
    Ok(Identity::Device { id })
}

/// A custom id to unlink (any text: one the user does not hold unlinks
/// nothing and is refused by the store).
pub fn custom_to_unlink(id: String) -> Identity {
    Identity::Custom { id }
}

/// An email to unlink, lowercased.
pub fn email_to_unlink(email: String) -> Identity {
    Identity::Email {
        email: email.to_lowercase(),
        username: String::new(),
        password: String::new(),
    }
}

/// Adds `identity` to `user`'s account.
pub async fn link(shard: &Shard, user: Uuid, identity: Identity) -> ApiResult<()> {
    shard
        .shared
        .persist
        .run(move |store| async move { store.link(user, identity).await })
        .await
}

/// Removes `identity` from `user`'s account.
pub async fn unlink(shard: &Shard, user: Uuid, identity: Identity) -> ApiResult<()> {
    shard
        .shared
        .persist
        .run(move |store| async move { store.unlink(user, identity).await })
        .await
}

/// Revokes every session `user` began until now, in the store (so a
/// restart keeps it) and in the node's cache.
async fn revoke_all(shard: &Shard, user: Uuid) -> ApiResult<()> {
    let cutoff = now_millis();
    shard
        .shared
        .persist
        .run(move |store| async move { store.revoke_all(user, cutoff).await })
        .await?;
    shard.shared.revocations.revoke_all(user, cutoff);
    Ok(())
}

/// Deletes the account (a tombstone kept when `recorded`), revokes all
/// its sessions, unranks its records and closes its sockets on every
/// shard, returning once each shard has closed them, as Nakama's
/// `DeleteAccount`. The system user (nil id) cannot be deleted.
pub async fn delete(shard: &Shard, user: Uuid, recorded: bool) -> ApiResult<()> {
    if user.is_nil() {
        return Err(ApiError::invalid("cannot delete the system user"));
    }
    shard
        .shared
        .persist
        .run(move |store| async move { store.delete_account(user, recorded).await })
        .await?;
    revoke_all(shard, user).await?;
    // Its leaderboard records went with it: unrank them.
    shard.shared.leaderboards.owner_gone(user);
    // And its storage objects: out of the storage indexes.
    shard.shared.storage_index.user_gone(user);
    // Acknowledged only once every shard has closed the user's sessions:
    // none serves another message after this (and a chat message already
    // on its way to the store is refused there, its sender gone).
    shard
        .kick_user_everywhere(user, KickReason::AccountDeleted)
        .await;
    Ok(())
}

/// Bans `ids` as Nakama's `BanUsers`: sets their `disable_time` (so
/// authenticating and refreshing fail with "User account banned."),
/// revokes every session they hold (their tokens stop working, and stay
/// revoked after an unban, as Nakama drops them from its session cache)
/// and closes their sockets on every shard, each first told with a
/// `banned` notification (code -8).
pub async fn ban(shard: &Shard, ids: Vec<Uuid>) -> ApiResult<()> {
    if ids.is_empty() {
        return Ok(());
    }
    let users = ids.clone();
    shard
        .shared
        .persist
        .run(move |store| async move { store.set_disabled(users, true).await })
        .await?;
    for user in ids {
        revoke_all(shard, user).await?;
        shard.kick_user_everywhere(user, KickReason::Banned).await;
    }
    Ok(())
}

/// Unbans `ids`, as Nakama's `UnbanUsers`: clears their `disable_time`.
pub async fn unban(shard: &Shard, ids: Vec<Uuid>) -> ApiResult<()> {
    if ids.is_empty() {
        return Ok(());
    }
    shard
        .shared
        .persist
        .run(move |store| async move { store.set_disabled(ids, false).await })
        .await
}

/// Logs `user` out as Nakama's `SessionLogout`: the sessions of the given
/// tokens (a token id covers a session token and its refresh token
/// alike), or every session of the user when both are empty.
/// Revocations are stored before this returns, so a restart keeps them.
/// Open sockets stay open, as in Nakama.
pub async fn logout(
    shard: &Shard,
    user: Uuid,
    token: &str,
    refresh_token: &str,
) -> Result<(), LogoutError> {
    let shared = &shard.shared;
    let now = now_secs();
    let mut tids = Vec::new();
    if !token.is_empty() {
        let c = shared
            .issuer
            .verify_session(token, now)
            .map_err(|_| LogoutError::SessionToken)?;
        if c.user_id() != Some(user) {
            return Err(LogoutError::SessionToken);
        }
        tids.extend(c.token_id());
    }
    if !refresh_token.is_empty() {
        let c = shared
            .issuer
            .verify_refresh(refresh_token, now)
            .map_err(|_| LogoutError::RefreshToken)?;
        if c.user_id() != Some(user) {
            return Err(LogoutError::RefreshToken);
        }
        tids.extend(c.token_id());
    }
    tids.dedup();
    if token.is_empty() && refresh_token.is_empty() {
        revoke_all(shard, user).await?;
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
    Ok(())
}

/// Closes realtime session `session_id`, wherever it lives (an unknown
/// session is no error), as Nakama's `SessionDisconnect`.
pub fn disconnect(shard: &Shard, session_id: Uuid) {
    shard.kick_anywhere(session_id, KickReason::Disconnect);
}

/// A session token for `user`, signed as the server's own sessions are
/// (the same claims and key, a new token id), expiring at `exp` (unix
/// seconds; `0`: after `session.token_expiry_sec`, as a session issued
/// now), as Nakama's `AuthenticateTokenGenerate`. Returns the token and
/// its expiry.
pub fn generate_token(
    shard: &Shard,
    user: Uuid,
    username: &str,
    exp: i64,
    vars: BTreeMap<String, String>,
) -> (String, i64) {
    let issuer = &shard.shared.issuer;
    let now = now_secs();
    let exp = if exp == 0 {
        now + issuer.expiry_sec()
    } else {
        exp
    };
    let claims = Claims {
        tid: new_token_id().to_string(),
        uid: user.to_string(),
        usn: username.to_string(),
        vrs: vars,
        exp,
        iat: now,
    };
    (issuer.session_key().sign(&claims), exp)
}

/// Reads every page of a listing: `page(after, limit)` returns up to
/// `limit` rows after `after`; `next` names the last row's position.
async fn all_pages<T, K, F, Fut>(mut page: F, next: impl Fn(&T) -> K) -> ApiResult<Vec<T>>
where
    F: FnMut(Option<K>) -> Fut,
    Fut: std::future::Future<Output = ApiResult<Vec<T>>>,
{
    let mut out = Vec::new();
    let mut after = None;
    loop {
        let rows = page(after.take()).await?;
        let full = rows.len() == EXPORT_PAGE;
        if let Some(last) = rows.last() {
            after = Some(next(last));
        }
        out.extend(rows);
        if !full {
            return Ok(out);
        }
    }
}

/// Nakama's account export (`console.AccountExport`) as protojson with
/// proto field names, as Nakama's runtime encodes it: the account, the
/// storage objects the user owns, friends (every edge of the user), the
/// groups the user has an edge to, the chat messages the user sent, the
/// user's leaderboard and tournament records, stored notifications and
/// wallet ledger. Empty lists are left out, as protojson leaves them.
/// NotFound "Account not found." for an unknown user.
pub async fn export(shard: &Shard, user: Uuid) -> ApiResult<String> {
    use crate::http::json;
    let persist = &shard.shared.persist;
    let account = persist
        .run(move |store| async move { store.get_account(user).await })
        .await
        .map_err(|e| {
            if e.code == Code::NotFound {
                ApiError::not_found("Account not found.")
            } else {
                e
            }
        })?;
    let rows = persist
        .run(move |store| async move { store.export_rows(user).await })
        .await?;
    let friends = all_pages(
        |after| {
            persist.run(move |store| async move {
                store.list_friends(user, None, after, EXPORT_PAGE).await
            })
        },
        FriendCursor::after,
    )
    .await?;
    let groups = all_pages(
        |after| {
            persist.run(move |store| async move {
                store.list_user_groups(user, None, after, EXPORT_PAGE).await
            })
        },
        |ug: &kairos_core::group::UserGroup| EdgeCursor {
            state: ug.state,
            position: ug.position,
            id: ug.group.id,
        },
    )
    .await?;
    let notifications = all_pages(
        |after: Option<Option<(i64, Uuid)>>| {
            let after = after.flatten();
            persist.run(move |store| async move {
                store.list_notifications(user, after, EXPORT_PAGE).await
            })
        },
        |n| NotificationCursor::after_notification(n).after(),
    )
    .await?;
    let ledger = all_pages(
        |before| {
            persist.run(move |store| async move {
                store.wallet_ledger_list(user, before, EXPORT_PAGE).await
            })
        },
        |l| LedgerCursor::after(l).before(),
    )
    .await?;

    let mut out = serde_json::Map::new();
    let account = serde_json::to_value(json::account(shard, account)).map_err(encode_error)?;
    out.insert("account".into(), account);
    let mut put = |key: &str, values: Vec<Value>| {
        if !values.is_empty() {
            out.insert(key.to_string(), Value::Array(values));
        }
    };
    let to_value = |v: Result<Value, serde_json::Error>| v.map_err(encode_error);
    put(
        "objects",
        rows.objects
            .into_iter()
            .map(|o| to_value(serde_json::to_value(json::object_json(o))))
            .collect::<ApiResult<_>>()?,
    );
    put(
        "friends",
        friends
            .into_iter()
            .map(|f| to_value(serde_json::to_value(json::friend(shard, f))))
            .collect::<ApiResult<_>>()?,
    );
    put(
        "groups",
        groups
            .into_iter()
            .map(|ug| to_value(serde_json::to_value(json::group_json(ug.group))))
            .collect::<ApiResult<_>>()?,
    );
    put(
        "messages",
        rows.messages
            .iter()
            .map(|m| {
                to_value(serde_json::to_value(crate::realtime::chat::to_wire(
                    m, true,
                )))
            })
            .collect::<ApiResult<_>>()?,
    );
    put(
        "leaderboard_records",
        rows.records
            .into_iter()
            .map(|r| to_value(serde_json::to_value(json::record_json(r))))
            .collect::<ApiResult<_>>()?,
    );
    put(
        "notifications",
        notifications
            .iter()
            .map(|n| {
                to_value(serde_json::to_value(
                    crate::realtime::notifications::to_wire(n),
                ))
            })
            .collect::<ApiResult<_>>()?,
    );
    put(
        "wallet_ledgers",
        ledger
            .into_iter()
            .map(|l| {
                let mut v = json!({
                    "id": l.id.to_string(),
                    "user_id": l.user_id.to_string(),
                    "changeset": serde_json::to_string(&l.changeset).unwrap_or_default(),
                    "metadata": l.metadata,
                    "create_time": rfc3339(l.create_time / 1_000_000),
                    "update_time": rfc3339(l.update_time / 1_000_000),
                });
                if let Some(obj) = v.as_object_mut() {
                    obj.retain(|_, v| v.as_str() != Some(""));
                }
                Ok(v)
            })
            .collect::<ApiResult<_>>()?,
    );
    serde_json::to_string(&Value::Object(out)).map_err(encode_error)
}

fn encode_error(e: serde_json::Error) -> ApiError {
    ApiError::internal(format!("error encoding account export: {e}"))
}
