//! `logger_debug/info/warn/error` (the server's log, with the module's
//! message) and `event` (logged at debug: Kairos has no event handler, as
//! Nakama without one drops events).

use super::Module;

pub fn add(m: &Module) -> mlua::Result<()> {
    for name in ["logger_debug", "logger_info", "logger_warn", "logger_error"] {
        m.sync(name, move |_, _, a| {
            let msg = a.string(1)?;
            if msg.is_empty() {
                return Err(a.error(1, "expects message string"));
            }
            match name {
                "logger_debug" => tracing::debug!(target: "lua", "{msg}"),
                "logger_info" => tracing::info!(target: "lua", "{msg}"),
                "logger_warn" => tracing::warn!(target: "lua", "{msg}"),
                _ => tracing::error!(target: "lua", "{msg}"),
            }
            Ok(msg)
        })?;
    }
    m.sync("event", |_, _, a| {
        let name = a.string(1)?;
        if name.is_empty() {
            return Err(a.error(1, "expects name string"));
        }
        if let Some(props) = a.opt_table(2)? {
            let json = super::super::convert::to_json(&mlua::Value::Table(props))?;
            tracing::debug!(target: "lua", event = %name, properties = %json, "event");
        }
        Ok(())
    })?;
    Ok(())
}
