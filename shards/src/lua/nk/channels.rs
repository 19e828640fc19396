//! Chat and status: `channel_id_build`, `channel_message_send`,
//! `channel_message_update`, `channel_message_remove`,
//! `channel_messages_list`, `status_follow` and `status_unfollow`, with
//! the arguments, defaults, words and tables of Nakama's Lua module, over
//! [`Nk`](crate::modules::Nk)'s chat and status calls.

use kairos_core::channel::ChannelNames;
use kairos_core::error::Code;
use mlua::{Lua, Table, Value as LuaValue};
use uuid::Uuid;

use super::{Args, Module, server_error};
use crate::lua::convert;
use crate::modules::ChannelMessageAck;

/// Whole seconds of unix microseconds, as Nakama's tables carry times.
fn seconds(micros: i64) -> f64 {
    micros.div_euclid(1_000_000) as f64
}

/// An optional sender id: `""` or absent is the server (the nil id).
fn sender(a: &Args, n: usize) -> mlua::Result<Uuid> {
    match a.opt_string(n, "")?.as_str() {
        "" => Ok(Uuid::nil()),
        s => Uuid::parse_str(s).map_err(|_| {
            a.error(
                n,
                "expects sender id to either be not set, empty string or a valid UUID",
            )
        }),
    }
}

/// Optional message content (a table, `{}` when absent) as JSON text.
fn content(a: &Args, n: usize) -> mlua::Result<String> {
    let Some(t) = a.opt_table(n)? else {
        return Ok("{}".into());
    };
    match convert::to_json(&LuaValue::Table(t)) {
        Ok(serde_json::Value::Array(v)) if v.is_empty() => Ok("{}".into()),
        Ok(v @ serde_json::Value::Object(_)) => Ok(v.to_string()),
        Ok(_) => Err(a.error(n, "expects message content to be a valid JSON object")),
        Err(e) => Err(mlua::Error::RuntimeError(format!(
            "error encoding metadata: {}",
            crate::lua::state::message(&e)
        ))),
    }
}

/// A message id argument.
fn message_id(a: &Args, n: usize) -> mlua::Result<Uuid> {
    Uuid::parse_str(&a.string(n)?).map_err(|_| a.error(n, "Invalid message identifier"))
}

/// A chat call's failure: a channel id that does not parse is Nakama's
/// conversion error, the rest "failed to send channel message".
fn send_error(e: kairos_core::error::ApiError) -> mlua::Error {
    if e.message == "invalid channel id" {
        server_error("error converting channel identifier to stream", e)
    } else {
        server_error("failed to send channel message", e)
    }
}

/// The ack table Nakama's Lua returns.
fn ack_table(lua: &Lua, ack: &ChannelMessageAck) -> mlua::Result<Table> {
    let t = lua.create_table()?;
    t.raw_set("channelId", ack.channel_id.as_str())?;
    t.raw_set("messageId", ack.message_id.to_string())?;
    t.raw_set("code", ack.code)?;
    t.raw_set("username", ack.username.as_str())?;
    t.raw_set("createTime", seconds(ack.create_time))?;
    t.raw_set("updateTime", seconds(ack.update_time))?;
    t.raw_set("persistent", ack.persistent)?;
    Ok(t)
}

/// The user ids of a status call's second argument.
fn user_ids(a: &Args) -> mlua::Result<Vec<Uuid>> {
    let t = a.table(2)?;
    let mut ids = Vec::new();
    for v in a.array(2, &t, "invalid user ids list")? {
        let s = match v {
            LuaValue::String(s) if !s.as_bytes().is_empty() => s.to_string_lossy(),
            _ => return Err(a.error(2, "each user id must be a string")),
        };
        ids.push(Uuid::parse_str(&s).map_err(|_| a.error(2, "each user id must be a valid id"))?);
    }
    Ok(ids)
}

pub fn add(m: &Module) -> mlua::Result<()> {
    m.async_fn("channel_id_build", |_lua, current, a| async move {
        let sender = match a.string(1)?.as_str() {
            "" => None,
            s => Some(Uuid::parse_str(s).map_err(|_| {
                a.error(
                    1,
                    "expects sender id to either be not set, empty string or a valid UUID",
                )
            })?),
        };
        let target = a.string(2)?;
        let kind = a.int(3)?;
        if !(1..=3).contains(&kind) {
            return Err(a.error(3, "invalid channel type: expects value 1-3"));
        }
        let nk = current.nk("channel_id_build")?;
        nk.channel_id_build(sender, &target, kind as i32)
            .await
            .map_err(|e| match e.code {
                Code::InvalidArgument => a.error(1, &e.message),
                _ => server_error("error building channel identifier", e),
            })
    })?;
    m.async_fn("channel_message_send", |lua, current, a| async move {
        let channel_id = a.string(1)?;
        let content = content(&a, 2)?;
        let sender = sender(&a, 3)?;
        let username = a.opt_string(4, "")?;
        let persist = a.opt_bool(5, false)?;
        let nk = current.nk("channel_message_send")?;
        let ack = nk
            .channel_message_send(&channel_id, &content, sender, &username, persist)
            .await
            .map_err(send_error)?;
        ack_table(&lua, &ack)
    })?;
    m.async_fn("channel_message_update", |lua, current, a| async move {
        let channel_id = a.string(1)?;
        let id = message_id(&a, 2)?;
        let content = content(&a, 3)?;
        let sender = sender(&a, 4)?;
        let username = a.opt_string(5, "")?;
        let persist = a.opt_bool(6, false)?;
        let nk = current.nk("channel_message_update")?;
        let ack = nk
            .channel_message_update(&channel_id, id, &content, sender, &username, persist)
            .await
            .map_err(send_error)?;
        ack_table(&lua, &ack)
    })?;
    m.async_fn("channel_message_remove", |lua, current, a| async move {
        let channel_id = a.string(1)?;
        let id = message_id(&a, 2)?;
        let sender = sender(&a, 3)?;
        let username = a.opt_string(4, "")?;
        let persist = a.opt_bool(5, false)?;
        let nk = current.nk("channel_message_remove")?;
        let ack = nk
            .channel_message_remove(&channel_id, id, sender, &username, persist)
            .await
            .map_err(send_error)?;
        ack_table(&lua, &ack)
    })?;
    m.async_fn("channel_messages_list", |lua, current, a| async move {
        let channel_id = a.string(1)?;
        let limit = a.opt_int(2, 100)?;
        if !(1..=crate::modules::MAX_CHANNEL_LIST as i64).contains(&limit) {
            return Err(a.error(2, "limit must be 1-100"));
        }
        let forward = a.opt_bool(3, true)?;
        let cursor = a.opt_string(4, "")?;
        let nk = current.nk("channel_messages_list")?;
        let page = nk
            .channel_messages_list(&channel_id, limit as usize, forward, &cursor)
            .await
            .map_err(|e| {
                if e.message == "invalid channel id" {
                    // Nakama's own words for this error.
                    server_error("error converting leaderboard records", e)
                } else {
                    server_error("failed to list channel messages", e)
                }
            })?;
        let list = lua.create_table_with_capacity(page.messages.len(), 0)?;
        for (i, m) in page.messages.iter().enumerate() {
            let names = ChannelNames::of(&m.stream);
            let t = lua.create_table()?;
            t.raw_set("channelId", kairos_core::channel::channel_id(&m.stream))?;
            t.raw_set("messageId", m.id.to_string())?;
            t.raw_set("code", m.code)?;
            t.raw_set("senderId", m.sender_id.to_string())?;
            t.raw_set("username", m.username.as_str())?;
            t.raw_set("content", m.content.as_str())?;
            t.raw_set("createTime", seconds(m.create_time))?;
            t.raw_set("updateTime", seconds(m.update_time))?;
            t.raw_set("persistent", true)?;
            t.raw_set("roomName", names.room_name)?;
            t.raw_set("groupId", names.group_id)?;
            t.raw_set("userIdOne", names.user_id_one)?;
            t.raw_set("userIdTwo", names.user_id_two)?;
            list.raw_set(i + 1, t)?;
        }
        let cursor = |c: Option<String>| -> mlua::Result<LuaValue> {
            match c {
                Some(c) if !c.is_empty() => Ok(LuaValue::String(lua.create_string(&c)?)),
                _ => Ok(LuaValue::Nil),
            }
        };
        Ok((list, cursor(page.next_cursor)?, cursor(page.prev_cursor)?))
    })?;
    for (name, follow) in [("status_follow", true), ("status_unfollow", false)] {
        m.async_fn(name, move |_lua, current, a| async move {
            let session = Uuid::parse_str(&a.string(1)?)
                .map_err(|_| a.error(1, "expects a valid session id"))?;
            let users = user_ids(&a)?;
            let nk = current.nk(name)?;
            let done = if follow {
                nk.status_follow(session, users).await
            } else {
                nk.status_unfollow(session, users).await
            };
            done.map_err(|e| mlua::Error::RuntimeError(e.message.into_owned()))
        })?;
    }
    Ok(())
}
