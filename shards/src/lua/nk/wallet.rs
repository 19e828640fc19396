//! `wallet_update`, `wallets_update`, `wallet_ledger_list` and
//! `wallet_ledger_update`, with the arguments, words and tables of
//! Nakama's Lua module.

use kairos_core::wallet::{Wallet, WalletLedgerItem, WalletUpdate};
use mlua::{Lua, Table, Value as LuaValue};

use super::leaderboards::metadata_value;
use super::{Args, Module, server_error};
use crate::lua::convert;

/// Most updates one `wallets_update` carries (Kairos's bound; Nakama has
/// none).
const MAX_UPDATES: usize = 1000;

/// A wallet as a Lua table of numbers.
fn wallet_table(lua: &Lua, w: &Wallet) -> mlua::Result<Table> {
    let t = lua.create_table()?;
    for (k, v) in w {
        t.raw_set(k.as_str(), *v as f64)?;
    }
    Ok(t)
}

/// A metadata table as JSON text, or `msg`'s refusal of argument `n`.
fn metadata_json(a: &Args, n: usize, t: Table) -> mlua::Result<String> {
    match convert::to_json(&LuaValue::Table(t)) {
        Ok(serde_json::Value::Array(x)) if x.is_empty() => Ok("{}".into()),
        Ok(j) => Ok(j.to_string()),
        Err(e) => Err(a.error(
            n,
            &format!(
                "failed to convert metadata: {}",
                crate::lua::state::message(&e)
            ),
        )),
    }
}

/// One entry of `wallets_update`'s list, checked as Nakama checks it.
fn wallet_update(a: &Args, v: LuaValue) -> mlua::Result<WalletUpdate> {
    let LuaValue::Table(t) = v else {
        return Err(a.error(1, "expects a valid set of updates"));
    };
    let mut user_id = None;
    let mut changeset = None;
    let mut metadata = String::new();
    for pair in t.pairs::<LuaValue, LuaValue>() {
        let (k, v) = pair?;
        let key = match &k {
            LuaValue::String(s) => s.to_string_lossy(),
            _ => continue,
        };
        match key.as_str() {
            "user_id" => {
                let LuaValue::String(s) = v else {
                    return Err(a.error(1, "expects user_id to be string"));
                };
                user_id = Some(
                    uuid::Uuid::parse_str(&s.to_string_lossy())
                        .map_err(|_| a.error(1, "expects user_id to be a valid ID"))?,
                );
            }
            "changeset" => {
                let LuaValue::Table(c) = v else {
                    return Err(a.error(1, "expects changeset to be table"));
                };
                let mut w = Wallet::new();
                for pair in c.pairs::<LuaValue, LuaValue>() {
                    let (ck, cv) = pair?;
                    let name = match ck {
                        LuaValue::String(s) => s.to_string_lossy(),
                        LuaValue::Integer(i) => i.to_string(),
                        LuaValue::Number(f) => super::number_text(f),
                        _ => continue,
                    };
                    let n = match cv {
                        LuaValue::Integer(i) => i,
                        LuaValue::Number(f) if f.fract() == 0.0 => f as i64,
                        _ => {
                            return Err(a.error(1, "expects changeset values to be whole numbers"));
                        }
                    };
                    w.insert(name, n);
                }
                changeset = Some(w);
            }
            "metadata" => {
                let LuaValue::Table(m) = v else {
                    return Err(a.error(1, "expects metadata to be table"));
                };
                metadata = metadata_json(a, 1, m)?;
            }
            _ => {}
        }
    }
    let Some(changeset) = changeset else {
        return Err(a.error(1, "expects changeset to be supplied"));
    };
    if metadata.is_empty() {
        metadata = "{}".into();
    }
    Ok(WalletUpdate {
        // Nakama leaves a missing user id as the nil id, which matches no
        // account.
        user_id: user_id.unwrap_or_default(),
        changeset,
        metadata,
    })
}

/// A ledger entry as Nakama's Lua table (times in seconds); `metadata`
/// is what the table shows.
fn ledger_table(lua: &Lua, item: &WalletLedgerItem, metadata: LuaValue) -> mlua::Result<Table> {
    let t = lua.create_table()?;
    t.raw_set("id", item.id.to_string())?;
    t.raw_set("user_id", item.user_id.to_string())?;
    t.raw_set("create_time", (item.create_time / 1_000_000) as f64)?;
    t.raw_set("update_time", (item.update_time / 1_000_000) as f64)?;
    t.raw_set("changeset", wallet_table(lua, &item.changeset)?)?;
    t.raw_set("metadata", metadata)?;
    Ok(t)
}

pub fn add(m: &Module) -> mlua::Result<()> {
    m.async_fn("wallet_update", |lua, current, a| async move {
        let user = a.uuid(1, "expects a valid user id", "expects a valid user id")?;
        let changes = a.table(2)?;
        let mut changeset = kairos_core::wallet::Wallet::new();
        for pair in changes.pairs::<String, LuaValue>() {
            let (k, v) = pair.map_err(|_| a.error(2, "expects a table as changeset value"))?;
            let n = match v {
                LuaValue::Integer(i) => i,
                LuaValue::Number(f) if f.fract() == 0.0 => f as i64,
                _ => return Err(a.error(2, "expects changeset values to be whole numbers")),
            };
            changeset.insert(k, n);
        }
        let metadata = match a.opt_table(3)? {
            None => String::new(),
            Some(t) => match convert::to_json(&LuaValue::Table(t)) {
                Ok(serde_json::Value::Array(x)) if x.is_empty() => "{}".into(),
                Ok(j) => j.to_string(),
                Err(e) => {
                    return Err(a.error(
                        3,
                        &format!(
                            "failed to convert metadata: {}",
                            crate::lua::state::message(&e)
                        ),
                    ));
                }
            },
        };
        let ledger = a.opt_bool(4, false)?;
        let nk = current.nk("wallet_update")?;
        let (updated, previous) = nk
            .wallet_update(user, changeset, &metadata, ledger)
            .await
            .map_err(|e| server_error("failed to update user wallet", e))?;
        let to_table = |w: &kairos_core::wallet::Wallet| -> mlua::Result<mlua::Table> {
            let t = lua.create_table()?;
            for (k, v) in w {
                t.raw_set(k.as_str(), *v as f64)?;
            }
            Ok(t)
        };
        Ok((to_table(&updated)?, to_table(&previous)?))
    })?;
    m.async_fn("wallets_update", |lua, current, a| async move {
        let list = a
            .table(1)
            .map_err(|_| a.error(1, "expects a valid set of updates"))?;
        if list.raw_len() == 0 {
            return Ok(LuaValue::Nil);
        }
        let mut updates = Vec::new();
        for pair in list.pairs::<LuaValue, LuaValue>() {
            let (_, v) = pair?;
            if updates.len() == MAX_UPDATES {
                return Err(a.error(1, &format!("expects at most {MAX_UPDATES} updates")));
            }
            updates.push(wallet_update(&a, v)?);
        }
        let ledger = a.opt_bool(2, false)?;
        let nk = current.nk("wallets_update")?;
        let results = nk
            .wallets_update(updates, ledger)
            .await
            .map_err(|e| server_error("failed to update user wallet", e))?;
        let t = lua.create_table_with_capacity(results.len(), 0)?;
        for (i, r) in results.iter().enumerate() {
            let rt = lua.create_table()?;
            rt.raw_set("user_id", r.user_id.to_string())?;
            rt.raw_set("previous", wallet_table(&lua, &r.previous)?)?;
            rt.raw_set("updated", wallet_table(&lua, &r.updated)?)?;
            t.raw_set(i + 1, rt)?;
        }
        Ok(LuaValue::Table(t))
    })?;
    m.async_fn("wallet_ledger_update", |lua, current, a| async move {
        let id = a.uuid(1, "expects a valid id", "expects a valid id")?;
        let meta = a.table(2)?;
        let text = metadata_json(&a, 2, meta.clone())?;
        let nk = current.nk("wallet_ledger_update")?;
        let item = nk
            .wallet_ledger_update(id, &text)
            .await
            .map_err(|e| server_error("failed to update user wallet ledger", e))?;
        // Nakama's table shows the metadata given, not the merged one.
        ledger_table(&lua, &item, LuaValue::Table(meta))
    })?;
    m.async_fn("wallet_ledger_list", |lua, current, a| async move {
        let user = a.uuid(1, "expects a valid user id", "expects a valid user id")?;
        let limit = a.opt_int(2, 100)?;
        if !(0..=100).contains(&limit) {
            // Nakama names the first argument here.
            return Err(a.error(1, "expects limit to be 0-100"));
        }
        let cursor = a.opt_string(3, "")?;
        let t = lua.create_table()?;
        if limit == 0 {
            return Ok((t, String::new()));
        }
        let nk = current.nk("wallet_ledger_list")?;
        let (items, next) = nk
            .wallet_ledger_list(user, limit as usize, &cursor)
            .await
            .map_err(|e| server_error("failed to retrieve user wallet ledger", e))?;
        for (i, item) in items.iter().enumerate() {
            let meta = metadata_value(&lua, &item.metadata)?;
            t.raw_set(i + 1, ledger_table(&lua, item, meta)?)?;
        }
        // Nakama returns the cursor as a string, empty at the end.
        Ok((t, next))
    })?;
    Ok(())
}
