//! `wallet_update`.

use mlua::Value as LuaValue;

use super::{Module, server_error};
use crate::lua::convert;

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
    Ok(())
}
