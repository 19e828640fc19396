//! `account_get_id`, `users_get_id` and `users_get_username`, with
//! Nakama's Lua field names.

use mlua::{Lua, Table};

use super::{Module, server_error};
use crate::lua::convert;
use kairos_core::account::User;

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
    Ok(())
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
