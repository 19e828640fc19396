//! Between Lua values and JSON, as Nakama's runtime converts them: a
//! table whose keys are 1..n is an array, any other table an object
//! (keys as text); a whole number is an integer; functions become their
//! description; JSON `null` is `nil`.

use mlua::{Lua, Table, Value as LuaValue};
use serde_json::{Map, Number, Value};

/// How deep a value may nest, either way: deeper is an error, not a
/// stack overflow.
pub const MAX_DEPTH: usize = 64;

/// A Lua value as JSON.
pub fn to_json(v: &LuaValue) -> mlua::Result<Value> {
    to_json_at(v, 0)
}

fn to_json_at(v: &LuaValue, depth: usize) -> mlua::Result<Value> {
    if depth > MAX_DEPTH {
        return Err(mlua::Error::RuntimeError(format!(
            "value nests deeper than {MAX_DEPTH} tables"
        )));
    }
    Ok(match v {
        LuaValue::Nil => Value::Null,
        LuaValue::Boolean(b) => Value::Bool(*b),
        LuaValue::Integer(i) => Value::from(*i),
        LuaValue::Number(n) => number(*n),
        LuaValue::String(s) => Value::String(s.to_string_lossy()),
        LuaValue::Table(t) => table_to_json(t, depth)?,
        LuaValue::Function(f) => Value::String(format!("function: {:p}", f.to_pointer())),
        other => Value::String(format!("{}: {:p}", other.type_name(), other.to_pointer())),
    })
}

fn number(n: f64) -> Value {
    if n.fract() == 0.0 && n.abs() < 9.2e18 {
        Value::from(n as i64)
    } else {
        Number::from_f64(n).map_or(Value::Null, Value::Number)
    }
}

/// Lua's `#`-free length: the largest n with t[1..n] all set, and
/// whether those are the table's only keys.
fn array_len(t: &Table) -> mlua::Result<Option<usize>> {
    let n = t.raw_len();
    if n == 0 {
        return Ok(None);
    }
    let mut count = 0usize;
    for pair in t.clone().pairs::<LuaValue, LuaValue>() {
        let (k, _) = pair?;
        match k {
            LuaValue::Integer(i) if i >= 1 && (i as usize) <= n => count += 1,
            LuaValue::Number(f) if f.fract() == 0.0 && f >= 1.0 && (f as usize) <= n => count += 1,
            // Nakama's rule: any table with t[1] set is an array of
            // t[1..n]; other keys are dropped.
            _ => {}
        }
    }
    Ok(Some(count.min(n)))
}

fn table_to_json(t: &Table, depth: usize) -> mlua::Result<Value> {
    if let Some(n) = array_len(t)? {
        let mut out = Vec::with_capacity(n);
        for i in 1..=n {
            let v: LuaValue = t.raw_get(i)?;
            out.push(to_json_at(&v, depth + 1)?);
        }
        return Ok(Value::Array(out));
    }
    let mut out = Map::new();
    for pair in t.clone().pairs::<LuaValue, LuaValue>() {
        let (k, v) = pair?;
        let key = match &k {
            LuaValue::String(s) => s.to_string_lossy(),
            other => match to_json_at(other, depth + 1)? {
                Value::String(s) => s,
                j => j.to_string(),
            },
        };
        out.insert(key, to_json_at(&v, depth + 1)?);
    }
    Ok(Value::Object(out))
}

/// JSON as a Lua value.
pub fn to_lua(lua: &Lua, v: &Value) -> mlua::Result<LuaValue> {
    to_lua_at(lua, v, 0)
}

fn to_lua_at(lua: &Lua, v: &Value, depth: usize) -> mlua::Result<LuaValue> {
    if depth > MAX_DEPTH {
        return Err(mlua::Error::RuntimeError(format!(
            "value nests deeper than {MAX_DEPTH} levels"
        )));
    }
    Ok(match v {
        Value::Null => LuaValue::Nil,
        Value::Bool(b) => LuaValue::Boolean(*b),
        Value::Number(n) => match n.as_i64() {
            Some(i) => LuaValue::Number(i as f64),
            None => LuaValue::Number(n.as_f64().unwrap_or(0.0)),
        },
        Value::String(s) => LuaValue::String(lua.create_string(s)?),
        Value::Array(a) => {
            let t = lua.create_table_with_capacity(a.len(), 0)?;
            for (i, item) in a.iter().enumerate() {
                t.raw_set(i + 1, to_lua_at(lua, item, depth + 1)?)?;
            }
            LuaValue::Table(t)
        }
        Value::Object(m) => {
            let t = lua.create_table_with_capacity(0, m.len())?;
            for (k, item) in m {
                t.raw_set(k.as_str(), to_lua_at(lua, item, depth + 1)?)?;
            }
            LuaValue::Table(t)
        }
    })
}

/// A table of string values (`vars`, headers) from pairs.
pub fn string_map<'a>(
    lua: &Lua,
    pairs: impl IntoIterator<Item = (&'a str, &'a str)>,
) -> mlua::Result<Table> {
    let t = lua.create_table()?;
    for (k, v) in pairs {
        t.raw_set(k, v)?;
    }
    Ok(t)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn json_round_trips_through_lua_as_nakama_converts() {
        let lua = Lua::new();
        let v = json!({"a": [1, 2.5, "x", true], "b": {"c": null, "d": {}}, "n": -3});
        let l = to_lua(&lua, &v).unwrap();
        let back = to_json(&l).unwrap();
        // null is nil in Lua, so the key is gone; an empty table is an object.
        assert_eq!(
            back,
            json!({"a": [1, 2.5, "x", true], "b": {"d": {}}, "n": -3})
        );
        let t: Table = lua.load("return {10, 20, x = 1}").eval().unwrap();
        assert_eq!(to_json(&LuaValue::Table(t)).unwrap(), json!([10, 20]));
        let t: Table = lua.load("return {[1] = 'a', [3] = 'c'}").eval().unwrap();
        let j = to_json(&LuaValue::Table(t)).unwrap();
        assert!(j.is_array(), "{j}");
    }

    #[test]
    fn a_self_referencing_table_is_an_error_not_a_crash() {
        let lua = Lua::new();
        let t: Table = lua.load("local t = {} t.me = t return t").eval().unwrap();
        assert!(to_json(&LuaValue::Table(t)).is_err());
        let mut deep = json!(1);
        for _ in 0..(MAX_DEPTH + 2) {
            deep = json!([deep]);
        }
        assert!(to_lua(&lua, &deep).is_err());
    }
}
