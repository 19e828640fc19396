//! `notification_send`, `notifications_send`, `notification_send_all`,
//! `notifications_list`,
//! `notifications_delete`, `notifications_get_id`,
//! `notifications_delete_id` and `notifications_update`.

use mlua::{Table, Value as LuaValue};

use kairos_core::notification::NotificationUpdate;

use super::{Args, Module, field_string, server_error};
use crate::lua::convert;

pub fn add(m: &Module) -> mlua::Result<()> {
    m.async_fn("notification_send", |_, current, a| async move {
        let user = a.uuid(
            1,
            "expects user_id to be a valid UUID",
            "expects user_id to be a valid UUID",
        )?;
        let subject = a.string(2)?;
        if subject.is_empty() {
            return Err(a.error(2, "expects subject to be a non-empty string"));
        }
        let content = content(&a, a.table(3)?)?;
        let code = a.int(4)?;
        if code <= 0 {
            return Err(a.error(4, "expects code number to be a positive integer"));
        }
        let sender = match a.opt_string(5, "")?.as_str() {
            "" => None,
            s => Some(uuid::Uuid::parse_str(s).map_err(|_| {
                a.error(
                    5,
                    "expects sender_id to either be not set, empty string or a valid UUID",
                )
            })?),
        };
        let persistent = a.opt_bool(6, false)?;
        let nk = current.nk("notification_send")?;
        nk.notification_send_from(user, &subject, content, code as i32, sender, persistent)
            .await
            .map_err(|e| server_error("failed to send notifications", e))
    })?;
    m.async_fn("notifications_send", |_, current, a| async move {
        let list = a.table(1)?;
        let mut notes = Vec::new();
        for v in list.sequence_values::<LuaValue>() {
            let LuaValue::Table(t) = v? else {
                return Err(a.error(1, "expects a valid set of notifications"));
            };
            let user = field_string(&t, "user_id")?
                .and_then(|s| uuid::Uuid::parse_str(&s).ok())
                .ok_or_else(|| a.error(1, "expects user_id to be a valid UUID"))?;
            let subject = field_string(&t, "subject")?.unwrap_or_default();
            if subject.is_empty() {
                return Err(a.error(1, "expects subject to be a non-empty string"));
            }
            let content = match t.raw_get::<LuaValue>("content")? {
                LuaValue::Table(c) => content(&a, c)?,
                _ => serde_json::json!({}),
            };
            let code = t.raw_get::<Option<f64>>("code")?.unwrap_or(0.0) as i32;
            if code <= 0 {
                return Err(a.error(1, "expects code number to be a positive integer"));
            }
            let persistent = t.raw_get::<Option<bool>>("persistent")?.unwrap_or(false);
            let sender = match field_string(&t, "sender_id")?.as_deref() {
                None | Some("") => None,
                Some(s) => Some(uuid::Uuid::parse_str(s).map_err(|_| {
                    a.error(
                        1,
                        "expects sender_id to either be not set, empty string or a valid UUID",
                    )
                })?),
            };
            notes.push((user, subject, content, code, sender, persistent));
        }
        let nk = current.nk("notifications_send")?;
        for (user, subject, content, code, sender, persistent) in notes {
            nk.notification_send_from(user, &subject, content, code, sender, persistent)
                .await
                .map_err(|e| server_error("failed to send notifications", e))?;
        }
        Ok(())
    })?;
    m.sync("notification_send_all", |_, current, a| {
        let subject = a.string(1)?;
        if subject.is_empty() {
            return Err(a.error(1, "expects subject to be a non-empty string"));
        }
        let content = match convert::to_json(&LuaValue::Table(a.table(2)?)) {
            Ok(serde_json::Value::Array(v)) if v.is_empty() => serde_json::json!({}),
            Ok(v @ serde_json::Value::Object(_)) => v,
            Ok(_) => {
                return Err(a.error(
                    2,
                    "failed to convert content: expects a table of key-value pairs",
                ));
            }
            Err(e) => {
                return Err(a.error(
                    2,
                    &format!(
                        "failed to convert content: {}",
                        crate::lua::state::message(&e)
                    ),
                ));
            }
        };
        let code = a.int(3)?;
        if code <= 0 {
            return Err(a.error(3, "expects code number to be a positive integer"));
        }
        let persistent = a.opt_bool(4, false)?;
        let nk = current.nk("notification_send_all")?;
        nk.notification_send_all(&subject, content, code as i32, persistent)
            .map_err(|e| server_error("failed to send notification", e))
    })?;
    m.async_fn("notifications_list", |lua, current, a| async move {
        let user = a.uuid(
            1,
            "expects user_id to be a valid uuid",
            "expects user_id to be a valid uuid",
        )?;
        let limit = a.opt_int(2, 100)?;
        if !(1..=1000).contains(&limit) {
            return Err(a.error(2, "expects limit to be value between 1 and 1000"));
        }
        let cursor = a.opt_string(3, "")?;
        let nk = current.nk("notifications_list")?;
        let (list, next) = nk
            .notifications_list(user, limit as usize, &cursor)
            .await
            .map_err(|e| server_error("failed to list notifications", e))?;
        // Nakama's Lua names these fields in camel case (`senderId`,
        // `createTime`) and gives `content` as JSON text.
        let out = lua.create_table()?;
        for (i, n) in list.iter().enumerate() {
            let t = lua.create_table()?;
            t.raw_set("id", n.id.to_string())?;
            t.raw_set("subject", n.subject.as_str())?;
            t.raw_set("content", n.content.as_str())?;
            t.raw_set("code", n.code)?;
            t.raw_set(
                "senderId",
                n.sender_id.map(|s| s.to_string()).unwrap_or_default(),
            )?;
            t.raw_set("persistent", n.persistent)?;
            t.raw_set("createTime", (n.create_time / 1_000_000) as f64)?;
            out.raw_set(i + 1, t)?;
        }
        Ok((out, next))
    })?;
    m.async_fn("notifications_delete", |_, current, a| async move {
        let list = a
            .table(1)
            .map_err(|_| a.error(1, "expects a valid set of notifications"))?;
        // Notification ids by user, each user's deleted in one call.
        let mut by_user: Vec<(uuid::Uuid, Vec<uuid::Uuid>)> = Vec::new();
        for pair in list.pairs::<LuaValue, LuaValue>() {
            let LuaValue::Table(t) = pair?.1 else {
                return Err(a.error(1, "expects a valid set of notifications"));
            };
            let user = match t.raw_get::<LuaValue>("user_id")? {
                LuaValue::String(s) => uuid::Uuid::parse_str(&s.to_string_lossy())
                    .map_err(|_| a.error(1, "expects user_id to be a valid UUID"))?,
                LuaValue::Nil => uuid::Uuid::nil(),
                _ => return Err(a.error(1, "expects user_id to be string")),
            };
            let id = match t.raw_get::<LuaValue>("notification_id")? {
                LuaValue::String(s) => uuid::Uuid::parse_str(&s.to_string_lossy())
                    .map_err(|_| a.error(1, "expects notification_id to be a valid UUID"))?,
                LuaValue::Nil => continue,
                _ => return Err(a.error(1, "expects notification_id to be string")),
            };
            match by_user.iter_mut().find(|(u, _)| *u == user) {
                Some((_, ids)) => ids.push(id),
                None => by_user.push((user, vec![id])),
            }
        }
        let nk = current.nk("notifications_delete")?;
        for (user, ids) in by_user {
            nk.notifications_delete(user, ids)
                .await
                .map_err(|e| server_error("failed to delete notifications", e))?;
        }
        Ok(())
    })?;
    m.async_fn("notifications_get_id", |lua, current, a| async move {
        let list = a.table(1)?;
        let ids = notification_ids(&a, &list)?;
        let user = opt_user(&a)?;
        let nk = current.nk("notifications_get_id")?;
        let found = nk
            .notifications_get_id(ids, user)
            .await
            .map_err(|e| server_error("failed to get notifications", e))?;
        let out = lua.create_table()?;
        for (i, n) in found.iter().enumerate() {
            let t = lua.create_table()?;
            t.raw_set("code", n.code)?;
            let content: serde_json::Value =
                serde_json::from_str(&n.content).unwrap_or(serde_json::json!({}));
            t.raw_set("content", convert::to_lua(&lua, &content)?)?;
            if let Some(s) = n.sender_id {
                t.raw_set("sender_id", s.to_string())?;
            }
            t.raw_set("subject", n.subject.as_str())?;
            t.raw_set("user_id", n.user_id.to_string())?;
            t.raw_set("create_time", (n.create_time / 1_000_000) as f64)?;
            t.raw_set("persistent", n.persistent)?;
            out.raw_set(i + 1, t)?;
        }
        Ok(out)
    })?;
    m.async_fn("notifications_delete_id", |_, current, a| async move {
        let list = a
            .opt_table(1)?
            .ok_or_else(|| a.error(1, "invalid user ids list"))?;
        let ids = notification_ids(&a, &list)?;
        let user = opt_user(&a)?;
        let nk = current.nk("notifications_delete_id")?;
        nk.notifications_delete_id(ids, user)
            .await
            .map_err(|e| server_error("failed to delete notifications", e))
    })?;
    m.async_fn("notifications_update", |_, current, a| async move {
        let list = a.table(1)?;
        let mut updates = Vec::new();
        for pair in list.pairs::<LuaValue, LuaValue>() {
            let (_, v) = pair?;
            let LuaValue::Table(t) = v else {
                return Err(a.error(1, "expects a valid set of data"));
            };
            updates.push(update(&a, &t)?);
            if updates.len() > crate::modules::MAX_NOTIFICATION_UPDATES {
                return Err(a.error(
                    1,
                    &format!(
                        "expects at most {} updates",
                        crate::modules::MAX_NOTIFICATION_UPDATES
                    ),
                ));
            }
        }
        let nk = current.nk("notifications_update")?;
        nk.notifications_update(updates)
            .await
            .map_err(|e| server_error("failed to update notifications", e))
    })?;
    Ok(())
}

/// Most notification ids one `notifications_get_id` or
/// `notifications_delete_id` takes.
const MAX_IDS: usize = 1000;

/// Argument 1 of `notifications_get_id` and `notifications_delete_id`: a
/// list of notification ids.
fn notification_ids(a: &Args, list: &Table) -> mlua::Result<Vec<uuid::Uuid>> {
    let values = a.array(1, list, "invalid user ids list")?;
    if values.len() > MAX_IDS {
        return Err(a.error(1, &format!("at most {MAX_IDS} notification ids")));
    }
    let mut ids = Vec::with_capacity(values.len());
    for v in values {
        let s = match v {
            LuaValue::String(s) if !s.as_bytes().is_empty() => s.to_string_lossy(),
            _ => return Err(a.error(1, "each notification id must be a string")),
        };
        ids.push(
            uuid::Uuid::parse_str(&s)
                .map_err(|_| a.error(1, "each notification id must be a valid id"))?,
        );
    }
    Ok(ids)
}

/// Argument 2: the user whose notifications only are meant (`nil` or
/// `""`: any user's).
fn opt_user(a: &Args) -> mlua::Result<Option<uuid::Uuid>> {
    match a.opt_string(2, "")?.as_str() {
        "" => Ok(None),
        s => uuid::Uuid::parse_str(s)
            .map(Some)
            .map_err(|_| a.error(2, "expects user_id to be a valid uuid")),
    }
}

fn content(a: &Args, t: Table) -> mlua::Result<serde_json::Value> {
    match convert::to_json(&LuaValue::Table(t)) {
        Ok(serde_json::Value::Array(v)) if v.is_empty() => Ok(serde_json::json!({})),
        Ok(v @ serde_json::Value::Object(_)) => Ok(v),
        Ok(_) => Err(a.error(
            3,
            "failed to convert content: expects a table of key-value pairs",
        )),
        Err(e) => Err(a.error(
            3,
            &format!(
                "failed to convert content: {}",
                crate::lua::state::message(&e)
            ),
        )),
    }
}

/// One entry of `notifications_update`: `id`, and any of `content` (a
/// table), `subject` and `sender`, checked as Nakama checks them (its
/// words, the id's included); other keys are ignored.
fn update(a: &Args, t: &Table) -> mlua::Result<NotificationUpdate> {
    let mut u = NotificationUpdate::default();
    for pair in t.pairs::<LuaValue, LuaValue>() {
        let (k, v) = pair?;
        let LuaValue::String(k) = k else { continue };
        match k.to_string_lossy().as_str() {
            "id" => {
                let LuaValue::String(s) = v else {
                    return Err(a.error(1, "expects id to be string"));
                };
                u.id = uuid::Uuid::parse_str(&s.to_string_lossy())
                    .map_err(|_| a.error(1, "expects user_id to be a valid ID"))?;
            }
            "content" => {
                let LuaValue::Table(c) = v else {
                    return Err(a.error(1, "expects content to be table"));
                };
                let json = match convert::to_json(&LuaValue::Table(c)) {
                    Ok(serde_json::Value::Array(x)) if x.is_empty() => serde_json::json!({}),
                    Ok(v @ serde_json::Value::Object(_)) => v,
                    _ => return Err(a.error(1, "expects content to be table")),
                };
                u.content = Some(json.to_string());
            }
            "subject" => {
                let LuaValue::String(s) = v else {
                    return Err(a.error(1, "expects subject to be string"));
                };
                let s = s.to_string_lossy();
                if s.is_empty() {
                    return Err(a.error(1, "expects subject to be a non-empty string"));
                }
                u.subject = Some(s);
            }
            "sender" => {
                let LuaValue::String(s) = v else {
                    return Err(a.error(1, "expects sender to be string"));
                };
                let s = s.to_string_lossy();
                if s.is_empty() {
                    return Err(a.error(1, "expects sender to be a non-empty string"));
                }
                u.sender_id = Some(
                    uuid::Uuid::parse_str(&s)
                        .map_err(|_| a.error(1, "expects sender to be a valid ID"))?,
                );
            }
            _ => {}
        }
    }
    Ok(u)
}
