//! `stream_user_join`, `stream_user_update`, `stream_user_leave`,
//! `stream_user_kick`, `stream_user_get`, `stream_user_list`,
//! `stream_count`, `stream_close`, `stream_send` and `stream_send_raw`.

use mlua::{Table, Value as LuaValue};
use uuid::Uuid;

use super::{Args, Module, field_string};
use crate::lua::convert;
use crate::modules::Stream;

pub fn add(m: &Module) -> mlua::Result<()> {
    m.async_fn("stream_user_join", |_, current, a| async move {
        let user = a.uuid(1, "expects user id", "expects valid user id")?;
        let session = a.uuid(2, "expects session id", "expects valid session id")?;
        let stream = stream(&a, 3)?;
        let hidden = a.opt_bool(4, false)?;
        let persistence = a.opt_bool(5, true)?;
        let status = a.opt_string(6, "")?;
        let nk = current.nk("stream_user_join")?;
        nk.stream_user_join(&stream, user, session, hidden, persistence, &status)
            .await
            .map_err(|e| {
                mlua::Error::RuntimeError(format!("stream user join failed: {}", e.message))
            })
    })?;
    m.async_fn("stream_user_leave", |_, current, a| async move {
        let user = a.uuid(1, "expects user id", "expects valid user id")?;
        let session = a.uuid(2, "expects session id", "expects valid session id")?;
        let stream = stream(&a, 3)?;
        let nk = current.nk("stream_user_leave")?;
        nk.stream_user_leave(&stream, user, session)
            .await
            .map_err(|e| {
                mlua::Error::RuntimeError(format!("stream user leave failed: {}", e.message))
            })
    })?;
    m.async_fn("stream_count", |_, current, a| async move {
        let stream = stream(&a, 1)?;
        let nk = current.nk("stream_count")?;
        nk.stream_count(&stream)
            .await
            .map(|n| n as f64)
            .map_err(|e| mlua::Error::RuntimeError(format!("stream count failed: {}", e.message)))
    })?;
    m.async_fn("stream_close", |_, current, a| async move {
        let stream = stream(&a, 1)?;
        let nk = current.nk("stream_close")?;
        nk.stream_close(&stream)
            .await
            .map_err(|e| mlua::Error::RuntimeError(format!("stream close failed: {}", e.message)))
    })?;
    m.async_fn("stream_user_list", |lua, current, a| async move {
        let stream = stream(&a, 1)?;
        let hidden = a.opt_bool(2, true)?;
        let not_hidden = a.opt_bool(3, true)?;
        let nk = current.nk("stream_user_list")?;
        let list = nk
            .stream_user_list(&stream, hidden, not_hidden)
            .await
            .map_err(|e| {
                mlua::Error::RuntimeError(format!("stream user list failed: {}", e.message))
            })?;
        let out = lua.create_table()?;
        for (i, p) in list.iter().enumerate() {
            let t = lua.create_table()?;
            t.raw_set("user_id", p.user_id.to_string())?;
            t.raw_set("session_id", p.session_id.to_string())?;
            t.raw_set("username", p.username.as_str())?;
            t.raw_set("node", p.node.as_str())?;
            t.raw_set("hidden", p.hidden)?;
            t.raw_set("persistence", p.persistence)?;
            t.raw_set("status", p.status.as_str())?;
            out.raw_set(i + 1, t)?;
        }
        Ok(out)
    })?;
    m.async_fn("stream_send", |_, current, a| async move {
        let stream = stream(&a, 1)?;
        let data = a.string(2)?;
        let presences = match a.opt_table(3)? {
            None => None,
            Some(t) => Some(sessions(&a, &t)?),
        };
        let reliable = a.opt_bool(4, true)?;
        let nk = current.nk("stream_send")?;
        nk.stream_send(&stream, &data, presences.as_deref(), reliable)
            .map_err(|e| mlua::Error::RuntimeError(format!("stream send failed: {}", e.message)))
    })?;
    m.async_fn("stream_send_raw", |_, current, a| async move {
        let stream = stream(&a, 1)?;
        let envelope = convert::to_json(&LuaValue::Table(a.table(2)?)).map_err(|e| {
            a.error(
                2,
                &format!(
                    "failed to convert envelope: {}",
                    crate::lua::state::message(&e)
                ),
            )
        })?;
        let presences = match a.opt_table(3)? {
            None => None,
            Some(t) => Some(sessions(&a, &t)?),
        };
        let reliable = a.opt_bool(4, true)?;
        let nk = current.nk("stream_send_raw")?;
        nk.stream_send_raw(&stream, &envelope, presences.as_deref(), reliable)
            .map_err(|e| {
                if e.message.starts_with("not a valid envelope") {
                    a.error(2, &e.message)
                } else {
                    mlua::Error::RuntimeError(format!("stream send failed: {}", e.message))
                }
            })
    })?;
    m.async_fn("stream_user_get", |lua, current, a| async move {
        let user = a.uuid(1, "expects user id", "expects valid user id")?;
        let session = a.uuid(2, "expects session id", "expects valid session id")?;
        let stream = stream(&a, 3)?;
        let nk = current.nk("stream_user_get")?;
        let presence = nk
            .stream_user_get(&stream, user, session)
            .await
            .map_err(|e| {
                mlua::Error::RuntimeError(format!("stream user get failed: {}", e.message))
            })?;
        let Some(p) = presence else {
            return Ok(LuaValue::Nil);
        };
        let t = lua.create_table()?;
        t.raw_set("hidden", p.hidden)?;
        t.raw_set("persistence", p.persistence)?;
        t.raw_set("username", p.username.as_str())?;
        t.raw_set("status", p.status.as_str())?;
        Ok(LuaValue::Table(t))
    })?;
    m.async_fn("stream_user_update", |_, current, a| async move {
        let user = a.uuid(1, "expects user id", "expects valid user id")?;
        let session = a.uuid(2, "expects session id", "expects valid session id")?;
        let stream = stream(&a, 3)?;
        let hidden = a.opt_bool(4, false)?;
        let persistence = a.opt_bool(5, true)?;
        let status = a.opt_string(6, "")?;
        let nk = current.nk("stream_user_update")?;
        nk.stream_user_update(&stream, user, session, hidden, persistence, &status)
            .await
            .map_err(|e| match e.code {
                kairos_core::error::Code::NotFound => a.error(2, "session id does not exist"),
                _ => mlua::Error::RuntimeError(format!("stream user update failed: {}", e.message)),
            })
    })?;
    m.async_fn("stream_user_kick", |_, current, a| async move {
        let p = a
            .opt_table(1)?
            .ok_or_else(|| a.error(1, "expects a valid presence"))?;
        let id = |key: &str| -> mlua::Result<Uuid> {
            let text = field_string(&p, key).ok().flatten().unwrap_or_default();
            match text.as_str() {
                "" => Ok(Uuid::nil()),
                s => Uuid::parse_str(s).map_err(|_| {
                    a.error(1, &format!("expects each presence to have a valid {key}"))
                }),
            }
        };
        let user_id = id("user_id")?;
        let session_id = id("session_id")?;
        let node = match p.raw_get::<LuaValue>("node")? {
            LuaValue::Nil => current.nk("stream_user_kick")?.node().to_string(),
            LuaValue::String(s) => s.to_string_lossy(),
            _ => return Err(a.error(1, "expects node to be string")),
        };
        if user_id.is_nil() || session_id.is_nil() || node.is_empty() {
            return Err(a.error(
                1,
                "expects each presence to have a valid user_id, session_id, and node",
            ));
        }
        let stream = stream(&a, 2)?;
        let nk = current.nk("stream_user_kick")?;
        let presence = crate::modules::StreamPresence {
            user_id,
            session_id,
            username: String::new(),
            node,
            hidden: false,
            persistence: false,
            status: String::new(),
        };
        nk.stream_user_kick(&stream, &presence).await.map_err(|e| {
            mlua::Error::RuntimeError(format!("stream user kick failed: {}", e.message))
        })
    })?;
    Ok(())
}

/// A stream table (`{mode, subject, subcontext, label}`) of argument `n`.
fn stream(a: &Args, n: usize) -> mlua::Result<Stream> {
    let t = a
        .table(n)
        .map_err(|_| a.error(n, "expects a valid stream"))?;
    let mode = match t.raw_get::<LuaValue>("mode")? {
        LuaValue::Integer(i) => i as f64,
        LuaValue::Number(f) => f,
        _ => return Err(a.error(n, "stream mode must be a number")),
    };
    if !(0.0..=255.0).contains(&mode) {
        return Err(a.error(n, "stream mode must be a number"));
    }
    let id = |key: &str| -> mlua::Result<Option<Uuid>> {
        match field_string(&t, key)
            .map_err(|_| a.error(n, &format!("stream {key} must be a string")))?
        {
            None => Ok(None),
            Some(s) if s.is_empty() => Ok(None),
            Some(s) => Uuid::parse_str(&s)
                .map(Some)
                .map_err(|_| a.error(n, &format!("stream {key} must be a valid identifier"))),
        }
    };
    Ok(Stream {
        mode: mode as u8,
        subject: id("subject")?,
        subcontext: id("subcontext")?,
        label: field_string(&t, "label")
            .map_err(|_| a.error(n, "stream label must be a string"))?
            .unwrap_or_default(),
    })
}

/// Most presences a send names.
const MAX_PRESENCES: usize = 1000;

fn sessions(a: &Args, t: &Table) -> mlua::Result<Vec<Uuid>> {
    let mut out = Vec::new();
    for v in t.sequence_values::<LuaValue>() {
        if out.len() == MAX_PRESENCES {
            return Err(a.error(3, &format!("expects at most {MAX_PRESENCES} presences")));
        }
        let LuaValue::Table(p) = v? else {
            return Err(a.error(3, "expects a valid set of presences"));
        };
        let s = field_string(&p, "session_id")
            .map_err(|_| a.error(3, "presence session id must be a string"))?
            .unwrap_or_default();
        out.push(
            Uuid::parse_str(&s)
                .map_err(|_| a.error(3, "presence session id must be a valid identifier"))?,
        );
    }
    Ok(out)
}
