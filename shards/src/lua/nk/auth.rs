//! `authenticate_device`, `authenticate_email`, `authenticate_custom`,
//! `authenticate_token_generate`, `link_*` and `unlink_*` of devices,
//! emails and custom ids, `session_disconnect` and `session_logout`, with
//! Nakama's Lua argument checks and error texts.

use std::collections::BTreeMap;

use mlua::Value as LuaValue;
use uuid::Uuid;

use super::{Args, Module, server_error};
use crate::modules::LogoutError;
use kairos_core::validate::{has_control, has_control_or_space, looks_like_email};

/// Most session variables `authenticate_token_generate` puts in a token.
const MAX_VARS: usize = 1000;

pub fn add(m: &Module) -> mlua::Result<()> {
    for (name, min) in [("authenticate_device", 10), ("authenticate_custom", 6)] {
        m.async_fn(name, move |_, current, a| async move {
            let id = a.string(1)?;
            if id.is_empty() {
                return Err(a.error(1, "expects id string"));
            }
            if has_control(&id) {
                return Err(a.error(
                    1,
                    "expects id to be valid, no spaces or control characters allowed",
                ));
            }
            if id.len() < min || id.len() > 128 {
                return Err(a.error(
                    1,
                    &format!("expects id to be valid, must be {min}-128 bytes"),
                ));
            }
            let username = username(&a, 2)?;
            let create = a.opt_bool(3, true)?;
            let nk = current.nk(a.name)?;
            let who = if name == "authenticate_device" {
                nk.authenticate_device(&id, &username, create).await
            } else {
                nk.authenticate_custom(&id, &username, create).await
            }
            .map_err(|e| server_error("error authenticating", e))?;
            Ok((who.user_id.to_string(), who.username, who.created))
        })?;
    }
    m.async_fn("authenticate_email", |_, current, a| async move {
        let email = a.opt_string(1, "")?;
        let by_username = email.is_empty();
        if !by_username {
            if has_control(&email) {
                return Err(a.error(
                    1,
                    "expects email to be valid, no spaces or control characters allowed",
                ));
            }
            if !looks_like_email(&email) {
                return Err(a.error(1, "expects email to be valid, invalid email address format"));
            }
            if email.len() < 10 || email.len() > 255 {
                return Err(a.error(1, "expects email to be valid, must be 10-255 bytes"));
            }
        }
        let password = a.string(2)?;
        if password.is_empty() {
            return Err(a.error(2, "expects password string"));
        }
        if password.len() < 8 {
            return Err(a.error(
                2,
                "expects password to be valid, must be longer than 8 characters",
            ));
        }
        let username = username(&a, 3)?;
        if by_username && username.is_empty() {
            return Err(a.error(1, "expects username string when email is not supplied"));
        }
        let create = a.opt_bool(4, true)?;
        let nk = current.nk("authenticate_email")?;
        let who = nk
            .authenticate_email(&email, &password, &username, create)
            .await
            .map_err(|e| server_error("error authenticating", e))?;
        Ok((who.user_id.to_string(), who.username, who.created))
    })?;
    m.async_fn("authenticate_token_generate", |_, current, a| async move {
        let raw = a.string(1)?;
        if raw.is_empty() {
            return Err(a.error(1, "expects user id"));
        }
        let user_id = Uuid::parse_str(&raw).map_err(|_| a.error(1, "expects valid user id"))?;
        let username = a.string(2)?;
        let exp = a.opt_int(3, 0)?;
        let mut vars = BTreeMap::new();
        if let Some(t) = a.opt_table(4)? {
            for pair in t.pairs::<LuaValue, LuaValue>() {
                let (k, v) = pair?;
                if vars.len() == MAX_VARS {
                    return Err(a.error(4, &format!("at most {MAX_VARS} vars")));
                }
                let LuaValue::String(k) = k else {
                    return Err(a.error(4, "vars keys must be strings"));
                };
                let LuaValue::String(v) = v else {
                    return Err(a.error(4, "vars values must be strings"));
                };
                vars.insert(k.to_string_lossy(), v.to_string_lossy());
            }
        }
        let nk = current.nk("authenticate_token_generate")?;
        let (token, exp) = nk.authenticate_token_generate(user_id, &username, exp, vars);
        Ok((token, exp as f64))
    })?;

    m.async_fn("link_device", |_, current, a| async move {
        let user = link_user(&a)?;
        let id = required(&a, 2, "expects device ID string")?;
        let nk = current.nk("link_device")?;
        nk.link_device(user, &id)
            .await
            .map_err(|e| server_error("error linking", e))
    })?;
    m.async_fn("link_custom", |_, current, a| async move {
        let user = link_user(&a)?;
        let id = required(&a, 2, "expects custom ID string")?;
        let nk = current.nk("link_custom")?;
        nk.link_custom(user, &id)
            .await
            .map_err(|e| server_error("error linking", e))
    })?;
    m.async_fn("link_email", |_, current, a| async move {
        let user = link_user(&a)?;
        let email = required(&a, 2, "expects email string")?;
        // Nakama's own words for a missing password.
        let password = required(&a, 3, "expects username string")?;
        let nk = current.nk("link_email")?;
        nk.link_email(user, &email, &password)
            .await
            .map_err(|e| server_error("error linking", e))
    })?;
    m.async_fn("unlink_device", |_, current, a| async move {
        let user = link_user(&a)?;
        let id = required(&a, 2, "expects device ID string")?;
        let nk = current.nk("unlink_device")?;
        nk.unlink_device(user, &id)
            .await
            .map_err(|e| server_error("error unlinking", e))
    })?;
    m.async_fn("unlink_custom", |_, current, a| async move {
        let user = link_user(&a)?;
        let id = a.opt_string(2, "")?;
        let nk = current.nk("unlink_custom")?;
        nk.unlink_custom(user, &id)
            .await
            .map_err(|e| server_error("error unlinking", e))
    })?;
    m.async_fn("unlink_email", |_, current, a| async move {
        let user = link_user(&a)?;
        let email = a.opt_string(2, "")?;
        let nk = current.nk("unlink_email")?;
        nk.unlink_email(user, &email)
            .await
            .map_err(|e| server_error("error unlinking", e))
    })?;

    m.async_fn("session_disconnect", |_, current, a| async move {
        let raw = a.string(1)?;
        if raw.is_empty() {
            return Err(a.error(1, "expects session id"));
        }
        let session = Uuid::parse_str(&raw).map_err(|_| a.error(1, "expects valid session id"))?;
        let reason = a.opt_int(2, 0)?;
        if reason != 0 && !(0..=4).contains(&reason) {
            return Err(a.error(2, "invalid disconnect reason, must be a value 0-4"));
        }
        current
            .nk("session_disconnect")?
            .session_disconnect(session);
        Ok(())
    })?;
    m.async_fn("session_logout", |_, current, a| async move {
        let raw = a.string(1)?;
        if raw.is_empty() {
            return Err(a.error(1, "expects user id"));
        }
        let user = Uuid::parse_str(&raw).map_err(|_| a.error(1, "expects valid user id"))?;
        let token = a.opt_string(2, "")?;
        let refresh = a.opt_string(3, "")?;
        let nk = current.nk("session_logout")?;
        nk.session_logout(user, &token, &refresh)
            .await
            .map_err(|e| {
                let why = match e {
                    LogoutError::SessionToken => "session token invalid".to_string(),
                    LogoutError::RefreshToken => "refresh token invalid".to_string(),
                    LogoutError::Store(e) => e.message.into_owned(),
                };
                mlua::Error::RuntimeError(format!("failed to logout: {why}"))
            })
    })?;
    Ok(())
}

/// An optional username argument as Nakama's authenticate functions
/// check it (`""`: one is generated for a new account).
fn username(a: &Args, n: usize) -> mlua::Result<String> {
    let username = a.opt_string(n, "")?;
    if has_control_or_space(&username) {
        return Err(a.error(
            n,
            "expects username to be valid, no spaces or control characters allowed",
        ));
    }
    if username.len() > 128 {
        return Err(a.error(n, "expects id to be valid, must be 1-128 bytes"));
    }
    Ok(username)
}

/// The user id of a link or unlink call.
fn link_user(a: &Args) -> mlua::Result<Uuid> {
    let raw = a.string(1)?;
    Uuid::parse_str(&raw).map_err(|_| a.error(1, "user ID must be a valid identifier"))
}

/// A string argument that must not be empty.
fn required(a: &Args, n: usize, empty: &str) -> mlua::Result<String> {
    let s = a.string(n)?;
    if s.is_empty() {
        return Err(a.error(n, empty));
    }
    Ok(s)
}
