//! `account_get_id`, `accounts_get_id`, `account_update_id`,
//! `account_delete_id`, `account_export_id`, `users_get_id`,
//! `users_get_username`, `users_get_random`, `users_ban_id` and
//! `users_unban_id`, with Nakama's Lua field names and checks.

use mlua::{Lua, Table};

use super::{Args, Module, server_error};
use crate::lua::convert;
use crate::modules::MAX_BAN_IDS;
use kairos_core::account::{Account, AccountUpdate, User};

pub fn add(m: &Module) -> mlua::Result<()> {
    m.async_fn("account_get_id", |lua, current, a| async move {
        let id = a.uuid(1, "expects user id", "invalid user id")?;
        let nk = current.nk("account_get_id")?;
        let account = nk
            .account_get_id(id)
            .await
            .map_err(|e| server_error(&format!("failed to get account for user_id {id}"), e))?;
        let t = lua.create_table()?;
        t.raw_set("user", user(&lua, &account.user)?)?;
        let wallet: serde_json::Value =
            serde_json::from_str(&account.wallet).unwrap_or(serde_json::json!({}));
        t.raw_set("wallet", convert::to_lua(&lua, &wallet)?)?;
        t.raw_set("email", account.email.as_str())?;
        let devices = lua.create_table()?;
        for (i, d) in account.devices.iter().enumerate() {
            let dt = lua.create_table()?;
            dt.raw_set("id", d.as_str())?;
            devices.raw_set(i + 1, dt)?;
        }
        t.raw_set("devices", devices)?;
        t.raw_set("custom_id", account.custom_id.as_str())?;
        if let Some(v) = account.verify_time {
            t.raw_set("verify_time", v as f64)?;
        }
        if let Some(v) = account.disable_time {
            t.raw_set("disable_time", v as f64)?;
        }
        Ok(t)
    })?;
    m.async_fn("users_get_id", |lua, current, a| async move {
        let mut ids = Vec::new();
        if let Some(list) = a.opt_table(1)? {
            for v in list.sequence_values::<mlua::Value>() {
                let s = match v? {
                    mlua::Value::String(s) => s.to_string_lossy(),
                    _ => return Err(a.error(1, "each user id must be a string")),
                };
                let id = uuid::Uuid::parse_str(&s)
                    .map_err(|_| a.error(1, "each user id must be a valid id string"))?;
                ids.push(id);
            }
        }
        let nk = current.nk("users_get_id")?;
        let users = nk
            .users_get(ids, Vec::new())
            .await
            .map_err(|e| server_error("failed to get users", e))?;
        let t = lua.create_table()?;
        for (i, u) in users.iter().enumerate() {
            t.raw_set(i + 1, user(&lua, u)?)?;
        }
        Ok(t)
    })?;
    m.async_fn("users_get_username", |lua, current, a| async move {
        let list = a
            .table(1)
            .map_err(|_| a.error(1, "invalid username list"))?;
        let mut names = Vec::new();
        for v in list.sequence_values::<mlua::Value>() {
            match v? {
                mlua::Value::String(s) => names.push(s.to_string_lossy()),
                _ => return Err(a.error(1, "each username must be a string")),
            }
        }
        let nk = current.nk("users_get_username")?;
        let users = nk
            .users_get(Vec::new(), names)
            .await
            .map_err(|e| server_error("failed to get users", e))?;
        let t = lua.create_table()?;
        for (i, u) in users.iter().enumerate() {
            t.raw_set(i + 1, user(&lua, u)?)?;
        }
        Ok(t)
    })?;
    m.async_fn("account_update_id", |_, current, a| async move {
        let id = a.uuid(
            1,
            "expects user ID to be a valid identifier",
            "expects user ID to be a valid identifier",
        )?;
        let metadata = match a.opt_table(2)? {
            None => None,
            Some(t) => Some(match convert::to_json(&mlua::Value::Table(t)) {
                // An empty table is an empty object, as Nakama converts it.
                Ok(serde_json::Value::Array(v)) if v.is_empty() => "{}".to_string(),
                Ok(v) => v.to_string(),
                Err(e) => {
                    return Err(mlua::Error::RuntimeError(format!(
                        "error encoding metadata: {}",
                        crate::lua::state::message(&e)
                    )));
                }
            }),
        };
        // Nakama's Lua leaves a field as it is when given "" or nothing.
        let set = |n: usize| -> mlua::Result<Option<String>> {
            Ok(Some(a.opt_string(n, "")?).filter(|s| !s.is_empty()))
        };
        let update = AccountUpdate {
            metadata,
            username: set(3)?,
            display_name: set(4)?,
            timezone: set(5)?,
            location: set(6)?,
            lang_tag: set(7)?,
            avatar_url: set(8)?,
        };
        let nk = current.nk("account_update_id")?;
        nk.account_update_id(id, update)
            .await
            .map_err(|e| server_error("error while trying to update user", e))
    })?;
    m.async_fn("accounts_get_id", |lua, current, a| async move {
        let mut ids = Vec::new();
        if let Some(list) = a.opt_table(1)? {
            for pair in list.pairs::<mlua::Value, mlua::Value>() {
                let s = match pair?.1 {
                    mlua::Value::String(s) => s.to_string_lossy(),
                    _ => return Err(a.error(1, "user id must be a string")),
                };
                let id = uuid::Uuid::parse_str(&s)
                    .map_err(|_| a.error(1, "user id must be a valid identifier string"))?;
                ids.push(id);
            }
        }
        if ids.len() > MAX_ACCOUNTS {
            return Err(a.error(1, &format!("at most {MAX_ACCOUNTS} user ids")));
        }
        // Kairos's store looks accounts up by user only.
        if let Some(devices) = a.opt_table(2)?
            && devices.raw_len() > 0
        {
            return Err(a.error(2, "device ids are not supported"));
        }
        let nk = current.nk("accounts_get_id")?;
        let accounts = nk
            .accounts_get_id(ids)
            .await
            .map_err(|e| server_error("failed to get accounts", e))?;
        let out = lua.create_table()?;
        for (i, account) in accounts.iter().enumerate() {
            let online = nk.user_online(account.user.id);
            out.raw_set(i + 1, account_entry(&lua, account, online)?)?;
        }
        Ok(out)
    })?;
    m.async_fn("account_delete_id", |_, current, a| async move {
        let id = account_id(&a)?;
        let recorded = a.opt_bool(2, false)?;
        let nk = current.nk("account_delete_id")?;
        nk.account_delete_id(id, recorded)
            .await
            .map_err(|e| server_error("error while trying to delete account", e))
    })?;
    m.async_fn("account_export_id", |_, current, a| async move {
        let id = account_id(&a)?;
        let nk = current.nk("account_export_id")?;
        nk.account_export_id(id)
            .await
            .map_err(|e| server_error("error exporting account", e))
    })?;
    for (name, ban) in [("users_ban_id", true), ("users_unban_id", false)] {
        m.async_fn(name, move |_, current, a| async move {
            let Some(ids) = ban_ids(&a)? else {
                return Ok(());
            };
            let nk = current.nk(a.name)?;
            if ban {
                nk.users_ban_id(ids)
                    .await
                    .map_err(|e| server_error("failed to ban users", e))
            } else {
                nk.users_unban_id(ids)
                    .await
                    .map_err(|e| server_error("failed to unban users", e))
            }
        })?;
    }
    m.async_fn("users_get_random", |lua, current, a| async move {
        let count = a.opt_int(1, 0)?;
        if !(0..=1000).contains(&count) {
            return Err(a.error(1, "count must be 0-1000"));
        }
        let nk = current.nk("users_get_random")?;
        let users = nk
            .users_get_random(count as usize)
            .await
            .map_err(|e| server_error("failed to get users", e))?;
        let t = lua.create_table()?;
        for (i, u) in users.iter().enumerate() {
            t.raw_set(i + 1, user(&lua, u)?)?;
        }
        Ok(t)
    })?;
    Ok(())
}

/// Most user ids one `accounts_get_id` looks up (each is one store read).
const MAX_ACCOUNTS: usize = 1000;

/// The user id of `account_delete_id` and `account_export_id`.
fn account_id(a: &Args) -> mlua::Result<uuid::Uuid> {
    let raw = a.string(1)?;
    uuid::Uuid::parse_str(&raw).map_err(|_| a.error(1, "expects user ID to be a valid identifier"))
}

/// The user ids of a ban or unban, checked as Nakama's: `None` when the
/// list is empty (nothing to do), at most [`MAX_BAN_IDS`].
fn ban_ids(a: &Args) -> mlua::Result<Option<Vec<uuid::Uuid>>> {
    let Some(list) = a.opt_table(1)? else {
        return Err(a.error(1, "invalid user id list"));
    };
    if list.raw_len() == 0 {
        return Ok(None);
    }
    let values = a.array(1, &list, "invalid user id data")?;
    if values.len() > MAX_BAN_IDS {
        return Err(a.error(1, &format!("at most {MAX_BAN_IDS} user ids")));
    }
    let mut ids = Vec::with_capacity(values.len());
    for v in values {
        let s = match v {
            mlua::Value::String(s) if !s.as_bytes().is_empty() => s.to_string_lossy(),
            _ => return Err(a.error(1, "each user id must be a string")),
        };
        let id = uuid::Uuid::parse_str(&s)
            .map_err(|_| a.error(1, "each user id must be a valid id string"))?;
        ids.push(id);
    }
    Ok(Some(ids))
}

/// One entry of `accounts_get_id`: the user's profile fields at the top
/// (the social ids only when set), `online`, `user`, `wallet`, and `email`,
/// `devices`, `custom_id`, `verify_time`, `disable_time` when set.
fn account_entry(lua: &Lua, account: &Account, online: bool) -> mlua::Result<Table> {
    let u = &account.user;
    let t = lua.create_table()?;
    t.raw_set("user_id", u.id.to_string())?;
    t.raw_set("username", u.username.as_str())?;
    t.raw_set("display_name", u.display_name.as_str())?;
    t.raw_set("avatar_url", u.avatar_url.as_str())?;
    t.raw_set("lang_tag", u.lang_tag.as_str())?;
    t.raw_set("location", u.location.as_str())?;
    t.raw_set("timezone", u.timezone.as_str())?;
    for (key, value) in [
        ("apple_id", &u.apple_id),
        ("facebook_id", &u.facebook_id),
        ("google_id", &u.google_id),
        ("gamecenter_id", &u.gamecenter_id),
        ("steam_id", &u.steam_id),
    ] {
        if !value.is_empty() {
            t.raw_set(key, value.as_str())?;
        }
    }
    t.raw_set("online", online)?;
    t.raw_set("edge_count", u.edge_count)?;
    t.raw_set("create_time", u.create_time as f64)?;
    t.raw_set("update_time", u.update_time as f64)?;
    let meta: serde_json::Value =
        serde_json::from_str(&u.metadata).unwrap_or(serde_json::json!({}));
    t.raw_set("metadata", convert::to_lua(lua, &meta)?)?;
    t.raw_set("user", user(lua, u)?)?;
    let wallet: serde_json::Value =
        serde_json::from_str(&account.wallet).unwrap_or(serde_json::json!({}));
    t.raw_set("wallet", convert::to_lua(lua, &wallet)?)?;
    if !account.email.is_empty() {
        t.raw_set("email", account.email.as_str())?;
    }
    if !account.devices.is_empty() {
        let devices = lua.create_table()?;
        for (i, d) in account.devices.iter().enumerate() {
            let dt = lua.create_table()?;
            dt.raw_set("id", d.as_str())?;
            devices.raw_set(i + 1, dt)?;
        }
        t.raw_set("devices", devices)?;
    }
    if !account.custom_id.is_empty() {
        t.raw_set("custom_id", account.custom_id.as_str())?;
    }
    if let Some(v) = account.verify_time {
        t.raw_set("verify_time", v as f64)?;
    }
    if let Some(v) = account.disable_time {
        t.raw_set("disable_time", v as f64)?;
    }
    Ok(t)
}

/// A user as Nakama's Lua table.
pub fn user(lua: &Lua, u: &User) -> mlua::Result<Table> {
    let t = lua.create_table()?;
    t.raw_set("user_id", u.id.to_string())?;
    t.raw_set("username", u.username.as_str())?;
    t.raw_set("display_name", u.display_name.as_str())?;
    t.raw_set("avatar_url", u.avatar_url.as_str())?;
    t.raw_set("lang_tag", u.lang_tag.as_str())?;
    t.raw_set("location", u.location.as_str())?;
    t.raw_set("timezone", u.timezone.as_str())?;
    let meta: serde_json::Value =
        serde_json::from_str(&u.metadata).unwrap_or(serde_json::json!({}));
    t.raw_set("metadata", convert::to_lua(lua, &meta)?)?;
    t.raw_set("facebook_id", u.facebook_id.as_str())?;
    t.raw_set("google_id", u.google_id.as_str())?;
    t.raw_set("gamecenter_id", u.gamecenter_id.as_str())?;
    t.raw_set("steam_id", u.steam_id.as_str())?;
    t.raw_set("apple_id", u.apple_id.as_str())?;
    t.raw_set("edge_count", u.edge_count)?;
    t.raw_set("create_time", u.create_time as f64)?;
    t.raw_set("update_time", u.update_time as f64)?;
    Ok(t)
}
