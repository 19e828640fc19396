//! `multi_update(account_updates, storage_writes, storage_deletes,
//! wallet_updates, update_ledger)`: Nakama's Lua multi-update, every
//! argument optional, each checked as Nakama's Lua checks it (with its
//! words), then applied by [`Nk::multi_update`](crate::modules::Nk) in one
//! transaction. Returns the write acks and the wallet results, each `nil`
//! when empty, as Nakama does.

use kairos_core::account::AccountUpdate;
use kairos_core::multi::AccountChange;
use kairos_core::storage::StorageAck;
use kairos_core::wallet::{Wallet, WalletUpdate, WalletUpdateResult};
use mlua::{Lua, Table, Value as LuaValue};
use uuid::Uuid;

use super::storage::{id_of, write_of};
use super::{Args, Module, server_error};
use crate::lua::convert;

pub fn add(m: &Module) -> mlua::Result<()> {
    m.async_fn("multi_update", |lua, current, a| async move {
        let accounts = each(&a, 1, "expects a valid set of account update data", account)?;
        let writes = each(&a, 2, "expects a valid set of storage data", write_of)?;
        let deletes = each(&a, 3, "expects a valid set of storage data", |a, n, t| {
            id_of(a, n, t, true)
        })?;
        let wallets = each(&a, 4, "expects a valid set of updates", wallet)?;
        let ledger = a.opt_bool(5, false)?;
        let nk = current.nk("multi_update")?;
        let (acks, results) = nk
            .multi_update(accounts, writes, deletes, wallets, ledger)
            .await
            .map_err(|e| server_error("error running multi update", e))?;
        Ok((acks_value(&lua, &acks)?, results_value(&lua, &results)?))
    })
}

/// Argument `n` (optional) as a list: each value a table, read by `read`;
/// anything else `invalid`.
fn each<T>(
    a: &Args,
    n: usize,
    invalid: &str,
    read: impl Fn(&Args, usize, &Table) -> mlua::Result<T>,
) -> mlua::Result<Vec<T>> {
    let Some(list) = a.opt_table(n)? else {
        return Ok(Vec::new());
    };
    let mut out = Vec::new();
    for pair in list.pairs::<LuaValue, LuaValue>() {
        let LuaValue::Table(t) = pair?.1 else {
            return Err(a.error(n, invalid));
        };
        out.push(read(a, n, &t)?);
    }
    Ok(out)
}

/// A field that must be a Lua string when set.
fn text(a: &Args, n: usize, t: &Table, key: &str, what: &str) -> mlua::Result<Option<String>> {
    match t.raw_get::<LuaValue>(key)? {
        LuaValue::Nil => Ok(None),
        LuaValue::String(s) => Ok(Some(s.to_string_lossy())),
        _ => Err(a.error(n, &format!("expects {what} to be string"))),
    }
}

/// A field that must be a table when set, as JSON text.
fn json_table(
    a: &Args,
    n: usize,
    t: &Table,
    key: &str,
    failed: &str,
) -> mlua::Result<Option<String>> {
    match t.raw_get::<LuaValue>(key)? {
        LuaValue::Nil => Ok(None),
        LuaValue::Table(v) => match convert::to_json(&LuaValue::Table(v)) {
            // An empty table is an empty object, as Nakama converts it.
            Ok(serde_json::Value::Array(x)) if x.is_empty() => Ok(Some("{}".into())),
            Ok(j) => Ok(Some(j.to_string())),
            Err(e) => Err(a.error(n, &format!("{failed}: {}", crate::lua::state::message(&e)))),
        },
        _ => Err(a.error(n, &format!("expects {key} to be table"))),
    }
}

/// A `user_id` field: a string that parses, when set.
fn user_id(a: &Args, n: usize, t: &Table) -> mlua::Result<Option<Uuid>> {
    text(a, n, t, "user_id", "user_id")?
        .map(|s| Uuid::parse_str(&s).map_err(|_| a.error(n, "expects user_id to be a valid ID")))
        .transpose()
}

/// `{user_id, username, display_name, timezone, location, lang_tag,
/// avatar_url, metadata}`: `user_id` required; `""` clears a field (a
/// username stays).
fn account(a: &Args, n: usize, t: &Table) -> mlua::Result<AccountChange> {
    let user_id = user_id(a, n, t)?;
    let update = AccountUpdate {
        metadata: json_table(a, n, t, "metadata", "error encoding metadata")?,
        username: text(a, n, t, "username", "username")?,
        display_name: text(a, n, t, "display_name", "display name")?,
        timezone: text(a, n, t, "timezone", "timezone")?,
        location: text(a, n, t, "location", "location")?,
        lang_tag: text(a, n, t, "lang_tag", "lang tag")?,
        avatar_url: text(a, n, t, "avatar_url", "avatar url")?,
    };
    match user_id {
        Some(id) if !id.is_nil() => Ok(AccountChange {
            user_id: id,
            update,
        }),
        _ => Err(a.error(n, "expects a valid user ID")),
    }
}

/// `{user_id, changeset, metadata}`: `changeset` required, its values
/// whole numbers.
fn wallet(a: &Args, n: usize, t: &Table) -> mlua::Result<WalletUpdate> {
    let user_id = user_id(a, n, t)?.unwrap_or_default();
    let changeset = match t.raw_get::<LuaValue>("changeset")? {
        LuaValue::Nil => return Err(a.error(n, "expects changeset to be supplied")),
        LuaValue::Table(c) => {
            let mut changeset = Wallet::new();
            for pair in c.pairs::<LuaValue, LuaValue>() {
                let (k, v) = pair?;
                let name = match k {
                    LuaValue::String(s) => s.to_string_lossy(),
                    LuaValue::Integer(i) => i.to_string(),
                    LuaValue::Number(f) => super::number_text(f),
                    _ => return Err(a.error(n, "expects changeset values to be whole numbers")),
                };
                let amount = match v {
                    LuaValue::Integer(i) => i,
                    LuaValue::Number(f) if f.fract() == 0.0 => f as i64,
                    _ => return Err(a.error(n, "expects changeset values to be whole numbers")),
                };
                changeset.insert(name, amount);
            }
            changeset
        }
        _ => return Err(a.error(n, "expects changeset to be table")),
    };
    Ok(WalletUpdate {
        user_id,
        changeset,
        metadata: json_table(a, n, t, "metadata", "failed to convert metadata")?
            .unwrap_or_else(|| "{}".into()),
    })
}

/// The acks as Nakama's Lua returns them, `nil` when there are none.
fn acks_value(lua: &Lua, acks: &[StorageAck]) -> mlua::Result<LuaValue> {
    if acks.is_empty() {
        return Ok(LuaValue::Nil);
    }
    let out = lua.create_table()?;
    for (i, ack) in acks.iter().enumerate() {
        let t = lua.create_table()?;
        t.raw_set("key", ack.key.as_str())?;
        t.raw_set("collection", ack.collection.as_str())?;
        t.raw_set("user_id", ack.user_id.to_string())?;
        t.raw_set("version", ack.version.as_str())?;
        out.raw_set(i + 1, t)?;
    }
    Ok(LuaValue::Table(out))
}

/// The wallet results as Nakama's Lua returns them, `nil` when there are
/// none.
fn results_value(lua: &Lua, results: &[WalletUpdateResult]) -> mlua::Result<LuaValue> {
    if results.is_empty() {
        return Ok(LuaValue::Nil);
    }
    let wallet = |w: &Wallet| -> mlua::Result<Table> {
        let t = lua.create_table()?;
        for (k, v) in w {
            t.raw_set(k.as_str(), *v as f64)?;
        }
        Ok(t)
    };
    let out = lua.create_table()?;
    for (i, r) in results.iter().enumerate() {
        let t = lua.create_table()?;
        t.raw_set("user_id", r.user_id.to_string())?;
        t.raw_set("previous", wallet(&r.previous)?)?;
        t.raw_set("updated", wallet(&r.updated)?)?;
        out.raw_set(i + 1, t)?;
    }
    Ok(LuaValue::Table(out))
}
