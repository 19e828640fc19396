//! Pure functions: `json_encode/decode`, `base64_*`, `base64url_*`,
//! `base16_*`, `md5_hash`, `sha256_hash`, `hmac_sha256_hash`, `uuid_v4`,
//! `uuid_bytes_to_string`, `uuid_string_to_bytes`, `time`, `cron_next`
//! and `cron_prev`.

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
use hmac::{Hmac, Mac};
use mlua::Value as LuaValue;
use sha2::{Digest, Sha256};

use super::Module;
use crate::lua::convert;

pub fn add(m: &Module) -> mlua::Result<()> {
    m.sync("json_encode", |_, _, a| {
        let v = a.get(1);
        if matches!(v, LuaValue::Nil) && a.args.is_empty() {
            return Err(a.error(1, "expects a non-nil value to encode"));
        }
        let json = convert::to_json(&v).map_err(|e| {
            mlua::Error::RuntimeError(format!(
                "error encoding to JSON: {}",
                crate::lua::state::message(&e)
            ))
        })?;
        Ok(json.to_string())
    })?;
    m.sync("json_decode", |lua, _, a| {
        let s = a.string(1)?;
        if s.is_empty() {
            return Err(a.error(1, "expects JSON string"));
        }
        let v: serde_json::Value = serde_json::from_str(&s)
            .map_err(|e| mlua::Error::RuntimeError(format!("not a valid JSON string: {e}")))?;
        convert::to_lua(lua, &v)
    })?;
    for (name, padded, unpadded) in [
        ("base64_encode", STANDARD, STANDARD_NO_PAD),
        ("base64url_encode", URL_SAFE, URL_SAFE_NO_PAD),
    ] {
        m.sync(name, move |_, _, a| {
            let input = a.bytes(1)?;
            if input.is_empty() {
                return Err(a.error(1, "expects string"));
            }
            let engine = if a.opt_bool(2, true)? {
                &padded
            } else {
                &unpadded
            };
            Ok(engine.encode(input))
        })?;
    }
    for (name, padded, unpadded) in [
        ("base64_decode", STANDARD, STANDARD_NO_PAD),
        ("base64url_decode", URL_SAFE, URL_SAFE_NO_PAD),
    ] {
        m.sync(name, move |lua, _, a| {
            let input = a.string(1)?;
            if input.is_empty() {
                return Err(a.error(1, "expects string"));
            }
            // Nakama pads a string that lacks it before decoding.
            let engine = if a.opt_bool(2, true)? {
                &padded
            } else {
                &unpadded
            };
            let text = if a.opt_bool(2, true)? && input.len() % 4 != 0 {
                format!("{input}{}", "=".repeat(4 - input.len() % 4))
            } else {
                input
            };
            let out = engine.decode(text.as_bytes()).map_err(|e| {
                mlua::Error::RuntimeError(format!("not a valid base64 string: {e}"))
            })?;
            lua.create_string(out)
        })?;
    }
    m.sync("base16_encode", |_, _, a| {
        let input = a.bytes(1)?;
        if input.is_empty() {
            return Err(a.error(1, "expects string"));
        }
        Ok(hex(&input))
    })?;
    m.sync("base16_decode", |lua, _, a| {
        let input = a.string(1)?;
        if input.is_empty() {
            return Err(a.error(1, "expects string"));
        }
        let out = unhex(&input)
            .map_err(|e| mlua::Error::RuntimeError(format!("not a valid base16 string: {e}")))?;
        lua.create_string(out)
    })?;
    m.sync("md5_hash", |_, _, a| {
        let input = a.bytes(1)?;
        if input.is_empty() {
            return Err(a.error(1, "expects input string"));
        }
        Ok(hex(&<md5::Md5 as md5::Digest>::digest(&input)))
    })?;
    m.sync("sha256_hash", |_, _, a| {
        let input = a.bytes(1)?;
        if input.is_empty() {
            return Err(a.error(1, "expects input string"));
        }
        Ok(hex(&Sha256::digest(&input)))
    })?;
    m.sync("hmac_sha256_hash", |lua, _, a| {
        let input = a.bytes(1)?;
        if input.is_empty() {
            return Err(a.error(1, "expects input string"));
        }
        let key = a.bytes(2)?;
        if key.is_empty() {
            return Err(a.error(2, "expects key string"));
        }
        let mut mac = Hmac::<Sha256>::new_from_slice(&key)
            .map_err(|e| mlua::Error::RuntimeError(format!("error creating hash: {e}")))?;
        mac.update(&input);
        lua.create_string(mac.finalize().into_bytes())
    })?;
    m.sync("uuid_v4", |_, _, _| Ok(uuid::Uuid::new_v4().to_string()))?;
    m.sync("uuid_bytes_to_string", |_, _, a| {
        let b = a.bytes(1)?;
        if b.is_empty() {
            return Err(a.error(1, "expects a UUID byte string"));
        }
        uuid::Uuid::from_slice(&b)
            .map(|u| u.to_string())
            .map_err(|_| a.error(1, "not a valid UUID byte string"))
    })?;
    m.sync("uuid_string_to_bytes", |lua, _, a| {
        let s = a.string(1)?;
        if s.is_empty() {
            return Err(a.error(1, "expects a UUID string"));
        }
        let u = uuid::Uuid::parse_str(&s).map_err(|_| a.error(1, "not a valid UUID string"))?;
        lua.create_string(u.as_bytes())
    })?;
    m.sync("time", |_, _, _| {
        Ok((kairos_core::time::now_micros() / 1000) as f64)
    })?;
    for (name, find) in [
        ("cron_next", cron_next as fn(&str, i64) -> Option<i64>),
        ("cron_prev", cron_prev),
    ] {
        m.sync(name, move |_, _, a| {
            let expr = a.string(1)?;
            if expr.is_empty() {
                return Err(a.error(1, "expects cron string"));
            }
            let ts = a.int(2)?;
            if ts == 0 {
                // Nakama names the first argument here too.
                return Err(a.error(1, "expects timestamp in seconds"));
            }
            find(&expr, ts)
                .map(|t| t as f64)
                .ok_or_else(|| a.error(1, "expects a valid cron string"))
        })?;
    }
    Ok(())
}

fn hex(b: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(b.len() * 2);
    for &x in b {
        s.push(DIGITS[(x >> 4) as usize] as char);
        s.push(DIGITS[(x & 15) as usize] as char);
    }
    s
}

fn unhex(s: &str) -> Result<Vec<u8>, String> {
    if !s.len().is_multiple_of(2) {
        return Err("encoding/hex: odd length hex string".into());
    }
    let digit = |c: u8| -> Result<u8, String> {
        (c as char)
            .to_digit(16)
            .map(|d| d as u8)
            .ok_or_else(|| format!("encoding/hex: invalid byte: {:?}", c as char))
    };
    s.as_bytes()
        .chunks(2)
        .map(|p| Ok(digit(p[0])? << 4 | digit(p[1])?))
        .collect()
}

/// The first time strictly after `ts` (Unix seconds, UTC) that the
/// 5-field cron `expr` matches.
pub fn cron_next(expr: &str, ts: i64) -> Option<i64> {
    use chrono::TimeZone;
    let cron: croner::Cron = expr.parse().ok()?;
    let from = chrono::Utc.timestamp_opt(ts, 0).single()?;
    cron.find_next_occurrence(&from, false)
        .ok()
        .map(|t| t.timestamp())
}

/// The last time strictly before `ts` (Unix seconds, UTC) that the
/// 5-field cron `expr` matches, as Nakama's `cronexpr` `Last`.
pub fn cron_prev(expr: &str, ts: i64) -> Option<i64> {
    use chrono::TimeZone;
    let cron: croner::Cron = expr.parse().ok()?;
    let from = chrono::Utc.timestamp_opt(ts, 0).single()?;
    cron.find_previous_occurrence(&from, false)
        .ok()
        .map(|t| t.timestamp())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_and_cron_work_as_nakama_computes_them() {
        assert_eq!(hex(&[0, 15, 255]), "000fff");
        assert_eq!(unhex("000fff").unwrap(), [0, 15, 255]);
        assert!(unhex("0g").is_err());
        assert!(unhex("abc").is_err());
        // Every day at midnight, from 2024-01-01T10:00:00Z.
        assert_eq!(cron_next("0 0 * * *", 1_704_103_200), Some(1_704_153_600));
        // Every Monday at 00:00 (2024-01-01 is a Monday).
        assert_eq!(cron_next("0 0 * * 1", 1_704_067_200), Some(1_704_672_000));
        assert_eq!(cron_next("not a cron", 0), None);
        // The midnight before 2024-01-01T10:00:00Z, and strictly before
        // a matching instant (Nakama's test: the last day of the month).
        assert_eq!(cron_prev("0 0 * * *", 1_704_103_200), Some(1_704_067_200));
        assert_eq!(cron_prev("0 0 * * *", 1_704_067_200), Some(1_703_980_800));
        // 2017-02-01T00:00:00Z → 2017-01-31T00:00:00Z.
        assert_eq!(cron_prev("0 0 L * *", 1_485_907_200), Some(1_485_820_800));
        assert_eq!(cron_prev("not a cron", 1), None);
    }
}
