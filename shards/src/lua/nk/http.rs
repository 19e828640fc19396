//! `http_request`: Nakama's outgoing HTTP call, run off the shard by
//! [`Nk::http_request`](crate::modules::Nk::http_request).

use std::time::Duration;

use mlua::Value as LuaValue;

use super::Module;
use crate::modules::HttpRequest;
use crate::modules::http_request::DEFAULT_TIMEOUT_MS;

/// Headers one request may carry.
const MAX_HEADERS: usize = 256;

const METHODS: [&str; 6] = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD"];

pub fn add(m: &Module) -> mlua::Result<()> {
    // http_request(url, method, headers, content?, timeout_ms?, insecure?)
    // -> code, headers, body
    m.async_fn("http_request", |lua, current, a| async move {
        let url = a.string(1)?;
        let method = a.string(2)?.to_uppercase();
        let headers = a.table(3)?;
        let body = match a.get(4) {
            LuaValue::Nil => Vec::new(),
            _ => a.bytes(4)?,
        };
        if url.is_empty() {
            return Err(a.error(1, "expects URL string"));
        }
        if !METHODS.contains(&method.as_str()) {
            return Err(a.error(
                2,
                "expects method to be one of: 'get', 'post', 'put', 'patch', 'delete', 'head'",
            ));
        }
        let timeout_ms = match a.get(5) {
            LuaValue::Nil => DEFAULT_TIMEOUT_MS as i64,
            _ => a.int(5)?,
        };
        let timeout_ms = if timeout_ms <= 0 {
            DEFAULT_TIMEOUT_MS
        } else {
            timeout_ms as u64
        };
        let insecure = a.opt_bool(6, false)?;
        let mut header_list = Vec::new();
        for pair in headers.pairs::<LuaValue, LuaValue>() {
            let (k, v) = pair?;
            let name = match k {
                LuaValue::String(s) => s.to_string_lossy(),
                LuaValue::Integer(i) => i.to_string(),
                LuaValue::Number(f) => super::number_text(f),
                _ => {
                    return Err(mlua::Error::RuntimeError(
                        "HTTP header names must be strings".into(),
                    ));
                }
            };
            let LuaValue::String(value) = v else {
                return Err(mlua::Error::RuntimeError(
                    "HTTP header values must be strings".into(),
                ));
            };
            if header_list.len() == MAX_HEADERS {
                return Err(a.error(3, &format!("expects at most {MAX_HEADERS} headers")));
            }
            header_list.push((name, value.to_string_lossy()));
        }
        let nk = current.nk("http_request")?;
        let response = nk
            .http_request(HttpRequest {
                url,
                method,
                headers: header_list,
                body,
                timeout: Duration::from_millis(timeout_ms),
                insecure,
            })
            .await
            .map_err(|e| mlua::Error::RuntimeError(e.to_string()))?;
        let headers = lua.create_table()?;
        for (k, v) in &response.headers {
            headers.raw_set(k.as_str(), v.as_str())?;
        }
        Ok((
            response.status as f64,
            headers,
            lua.create_string(&response.body)?,
        ))
    })
}
