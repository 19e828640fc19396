//! `storage_read`, `storage_write`, `storage_list`, `storage_delete` and
//! `storage_write_retry`: game code reads and writes every object
//! (Nakama's Lua has no caller checks but `storage_list`'s optional
//! caller).

use kairos_core::storage::{StorageAck, StorageId, StorageObject, StorageWrite, version_rejected};
use mlua::{Lua, Table, Value as LuaValue};
use uuid::Uuid;

use super::{Args, Module, field_string, server_error};
use crate::lua::convert;
use crate::lua::state::message;
use crate::modules::storage_index::{MAX_LIMIT, MAX_ORDER};

pub fn add(m: &Module) -> mlua::Result<()> {
    m.async_fn("storage_read", |lua, current, a| async move {
        let ids = ids(&a, false)?;
        let nk = current.nk("storage_read")?;
        let objects = nk
            .storage_read(ids)
            .await
            .map_err(|e| server_error("failed to read storage objects", e))?;
        objects_table(&lua, &objects)
    })?;
    m.async_fn("storage_write", |lua, current, a| async move {
        let list = a.table(1)?;
        let mut writes = Vec::new();
        for v in list.sequence_values::<LuaValue>() {
            let LuaValue::Table(t) = v? else {
                return Err(a.error(1, "expects a valid set of data"));
            };
            writes.push(write_of(&a, 1, &t)?);
        }
        let nk = current.nk("storage_write")?;
        let acks = nk
            .storage_write(writes)
            .await
            .map_err(|e| server_error("failed to write storage objects", e))?;
        acks_table(&lua, &acks)
    })?;
    m.async_fn("storage_list", |lua, current, a| async move {
        let user = a.opt_string(1, "")?;
        let collection = a.opt_string(2, "")?;
        let limit = a.int(3)?;
        if limit < 0 {
            return Err(a.error(3, "limit must not be negative"));
        }
        let cursor = a.opt_string(4, "")?;
        let owner = match user.as_str() {
            "" => None,
            s => Some(
                Uuid::parse_str(s).map_err(|_| a.error(1, "expects empty or a valid user ID"))?,
            ),
        };
        let caller =
            match a.opt_string(5, "")?.as_str() {
                "" => None,
                s => Some(Uuid::parse_str(s).map_err(|_| {
                    a.error(5, "expects caller ID to be empty or a valid identifier")
                })?),
            };
        let nk = current.nk("storage_list")?;
        let limit = if limit == 0 { 100 } else { limit as usize };
        let (objects, next) = nk
            .storage_list(caller, owner, &collection, limit, &cursor)
            .await
            .map_err(|e| server_error("failed to list storage objects", e))?;
        let t = objects_table(&lua, &objects)?;
        let next = if next.is_empty() {
            LuaValue::Nil
        } else {
            LuaValue::String(lua.create_string(next)?)
        };
        Ok((t, next))
    })?;
    m.async_fn("storage_write_retry", |lua, current, a| async move {
        let keys = a.table(1)?;
        let update = a.function(2)?;
        let max_retries = a.int(3)?;
        if !(0..=MAX_RETRIES).contains(&max_retries) {
            return Err(a.error(3, "max retries must be a value between 0 and 10"));
        }
        let mut ids = Vec::new();
        for v in keys.sequence_values::<LuaValue>() {
            let LuaValue::Table(t) = v? else {
                return Err(a.error(1, "expects a valid set of keys"));
            };
            ids.push(id_of(&a, 1, &t, false)?);
        }
        if ids.is_empty() {
            return lua.create_table();
        }
        let nk = current.nk("storage_write_retry")?;
        let failed = |why: String| {
            mlua::Error::RuntimeError(format!("failed to write storage objects with retry: {why}"))
        };
        let mut attempt = 0;
        loop {
            let objects = nk
                .storage_read(ids.clone())
                .await
                .map_err(|e| failed(e.message.into_owned()))?;
            let table = objects_table(&lua, &objects)?;
            let out = update
                .call_async::<LuaValue>(table)
                .await
                .map_err(|e| failed(format!("update function error: {}", message(&e))))?;
            let LuaValue::Table(out) = out else {
                return Err(failed(
                    "update function error: expects to return a valid table".into(),
                ));
            };
            let mut writes = Vec::new();
            for v in out.sequence_values::<LuaValue>() {
                let LuaValue::Table(t) = v? else {
                    return Err(a.error(1, "expects a valid set of data"));
                };
                writes.push(write_of(&a, 1, &t)?);
            }
            if writes.is_empty() {
                return lua.create_table();
            }
            match nk.storage_write(writes).await {
                Ok(acks) => return acks_table(&lua, &acks),
                // Another writer changed an object read: read again and
                // ask the function again, after Nakama's backoff (2, 4,
                // 8... ms, at most 20, plus up to 10 ms at random).
                Err(e) if e == version_rejected() && attempt < max_retries => {
                    let backoff = (2u64 << attempt).min(20) + rand::random_range(0..10);
                    nk.sleep(std::time::Duration::from_millis(backoff)).await;
                    attempt += 1;
                }
                Err(e) => return Err(failed(e.message.into_owned())),
            }
        }
    })?;
    m.async_fn("storage_index_list", |lua, current, a| async move {
        let index = a.string(1)?;
        let query = a.string(2)?;
        let limit = a.opt_int(3, 100)?;
        if !(1..=MAX_LIMIT as i64).contains(&limit) {
            return Err(a.error(3, "invalid limit: expects value 1-10000"));
        }
        let order = super::hooks::strings(&a, 4)?;
        if order.len() > MAX_ORDER {
            return Err(a.error(4, &format!("expects at most {MAX_ORDER} order fields")));
        }
        let caller =
            match a.opt_string(5, "")?.as_str() {
                "" => None,
                s => Some(Uuid::parse_str(s).map_err(|_| {
                    a.error(5, "expects caller ID to be empty or a valid identifier")
                })?),
            };
        let cursor = a.opt_string(6, "")?;
        let nk = current.nk("storage_index_list")?;
        let (objects, next) = nk
            .storage_index_list(&index, &query, limit as usize, order, caller, &cursor)
            .await
            .map_err(|e| server_error("error in storage index list", e))?;
        let out = lua.create_table()?;
        for (i, o) in objects.iter().enumerate() {
            let t = lua.create_table()?;
            t.raw_set("key", o.key.as_str())?;
            t.raw_set("collection", o.collection.as_str())?;
            // Nakama's objects always carry their owner's id, the system
            // owner's nil id included.
            t.raw_set("user_id", o.user_id.to_string())?;
            t.raw_set("version", o.version.as_str())?;
            t.raw_set("permission_read", o.permission_read)?;
            t.raw_set("permission_write", o.permission_write)?;
            t.raw_set("create_time", o.create_time as f64)?;
            t.raw_set("update_time", o.update_time as f64)?;
            let value: serde_json::Value = serde_json::from_str(&o.value).map_err(|e| {
                mlua::Error::RuntimeError(format!("failed to convert value to json: {e}"))
            })?;
            t.raw_set("value", convert::to_lua(&lua, &value)?)?;
            out.raw_set(i + 1, t)?;
        }
        let next = if next.is_empty() {
            LuaValue::Nil
        } else {
            LuaValue::String(lua.create_string(next)?)
        };
        Ok((out, next))
    })?;
    m.async_fn("storage_delete", |_, current, a| async move {
        let ids = ids(&a, true)?;
        let nk = current.nk("storage_delete")?;
        nk.storage_delete(ids)
            .await
            .map_err(|e| server_error("failed to remove storage", e))
    })?;
    Ok(())
}

/// Most retries `storage_write_retry` takes (Nakama's bound).
const MAX_RETRIES: i64 = 10;

fn acks_table(lua: &Lua, acks: &[StorageAck]) -> mlua::Result<Table> {
    let out = lua.create_table()?;
    for (i, ack) in acks.iter().enumerate() {
        let t = lua.create_table()?;
        t.raw_set("collection", ack.collection.as_str())?;
        t.raw_set("key", ack.key.as_str())?;
        t.raw_set("user_id", owner_text(ack.user_id))?;
        t.raw_set("version", ack.version.as_str())?;
        out.raw_set(i + 1, t)?;
    }
    Ok(out)
}

fn owner_text(u: Uuid) -> String {
    if u.is_nil() {
        String::new()
    } else {
        u.to_string()
    }
}

/// Object ids of argument 1 (`{collection, key, user_id[, version]}`).
fn ids(a: &Args, with_version: bool) -> mlua::Result<Vec<StorageId>> {
    let list = a.table(1)?;
    let mut out = Vec::new();
    for v in list.sequence_values::<LuaValue>() {
        let LuaValue::Table(t) = v? else {
            return Err(a.error(1, "expects a valid set of keys"));
        };
        out.push(id_of(a, 1, &t, with_version)?);
    }
    Ok(out)
}

/// One object id (`{collection, key, user_id[, version]}`) of argument
/// `n`; an absent `user_id` is the system owner.
pub(super) fn id_of(a: &Args, n: usize, t: &Table, with_version: bool) -> mlua::Result<StorageId> {
    let text = |key: &str| {
        field_string(t, key).map_err(|_| a.error(n, &format!("expects {key} to be string")))
    };
    let collection =
        text("collection")?.ok_or_else(|| a.error(n, "expects collection to be supplied"))?;
    if collection.is_empty() {
        return Err(a.error(n, "expects collection to be a non-empty string"));
    }
    let key = text("key")?.ok_or_else(|| a.error(n, "expects key to be supplied"))?;
    if key.is_empty() {
        return Err(a.error(n, "expects key to be a non-empty string"));
    }
    let user_id = match text("user_id")?.as_deref() {
        None | Some("") => Uuid::nil(),
        Some(s) => {
            Uuid::parse_str(s).map_err(|_| a.error(n, "expects user_id to be a valid ID"))?
        }
    };
    let version = if with_version {
        text("version")?.unwrap_or_default()
    } else {
        String::new()
    };
    Ok(StorageId {
        collection,
        key,
        user_id,
        version,
    })
}

/// One object to write (`{collection, key, user_id, value, version,
/// permission_read, permission_write}`) of argument `n`; permissions
/// default to 1 (owner) and an absent `user_id` is the system owner.
pub(super) fn write_of(a: &Args, n: usize, t: &Table) -> mlua::Result<StorageWrite> {
    let text = |key: &str| {
        field_string(t, key).map_err(|_| a.error(n, &format!("expects {key} to be string")))
    };
    let collection =
        text("collection")?.ok_or_else(|| a.error(n, "expects collection to be supplied"))?;
    if collection.is_empty() {
        return Err(a.error(n, "expects collection to be a non-empty string"));
    }
    let key = text("key")?.ok_or_else(|| a.error(n, "expects key to be supplied"))?;
    if key.is_empty() {
        return Err(a.error(n, "expects key to be a non-empty string"));
    }
    let user_id = match text("user_id")?.as_deref() {
        None | Some("") => Uuid::nil(),
        Some(s) => {
            Uuid::parse_str(s).map_err(|_| a.error(n, "expects user_id to be a valid ID"))?
        }
    };
    let value = match t.raw_get::<LuaValue>("value")? {
        LuaValue::Table(v) => match convert::to_json(&LuaValue::Table(v))? {
            serde_json::Value::Array(x) if x.is_empty() => "{}".to_string(),
            j @ serde_json::Value::Object(_) => j.to_string(),
            _ => return Err(a.error(n, "expects value to be a table of key-value pairs")),
        },
        LuaValue::Nil => return Err(a.error(n, "expects value to be supplied")),
        _ => return Err(a.error(n, "expects value to be table")),
    };
    let perm = |key: &str, default: i32| -> mlua::Result<i32> {
        match t.raw_get::<LuaValue>(key)? {
            LuaValue::Nil => Ok(default),
            LuaValue::Integer(i) => Ok(i as i32),
            LuaValue::Number(f) => Ok(f as i32),
            _ => Err(a.error(n, &format!("expects {key} to be number"))),
        }
    };
    Ok(StorageWrite {
        collection,
        key,
        user_id,
        value,
        version: text("version")?.unwrap_or_default(),
        permission_read: perm("permission_read", 1)?,
        permission_write: perm("permission_write", 1)?,
    })
}

fn objects_table(lua: &Lua, objects: &[StorageObject]) -> mlua::Result<Table> {
    let out = lua.create_table()?;
    for (i, o) in objects.iter().enumerate() {
        let t = lua.create_table()?;
        t.raw_set("collection", o.collection.as_str())?;
        t.raw_set("key", o.key.as_str())?;
        t.raw_set("user_id", owner_text(o.user_id))?;
        t.raw_set("version", o.version.as_str())?;
        t.raw_set("permission_read", o.permission_read)?;
        t.raw_set("permission_write", o.permission_write)?;
        t.raw_set("create_time", o.create_time as f64)?;
        t.raw_set("update_time", o.update_time as f64)?;
        let value: serde_json::Value =
            serde_json::from_str(&o.value).unwrap_or(serde_json::json!({}));
        t.raw_set("value", convert::to_lua(lua, &value)?)?;
        out.raw_set(i + 1, t)?;
    }
    Ok(out)
}
