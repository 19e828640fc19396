//! protojson helpers for serde.

use serde::{Deserialize, Deserializer};

mod plain_run;
pub(crate) use plain_run::plain_run;

/// Accepts `null` as the type's default, as protojson does.
pub fn nullable<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de> + Default,
{
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

/// Reads a protobuf `bool` wrapper or plain bool that may also arrive as the
/// strings `"true"`/`"false"`.
pub fn is_false(b: &bool) -> bool {
    !*b
}

/// True for an empty string, for `skip_serializing_if`.
pub fn is_empty(s: &str) -> bool {
    s.is_empty()
}

/// True for zero, for `skip_serializing_if`.
pub fn is_zero_i32(n: &i32) -> bool {
    *n == 0
}

/// int64 fields travel as JSON strings; accepts numbers too on input.
pub mod int64_string {
    use serde::{Deserializer, Serializer};

    use super::Integer;

    pub fn serialize<S: Serializer>(v: &i64, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(v)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<i64, D::Error> {
        d.deserialize_any(Integer::<i64, false>::new())
    }
}

/// An int32 that protojson accepts as a number or a numeric string; null
/// is zero.
pub mod int32_lenient {
    use serde::Deserializer;

    use super::Integer;

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<i32, D::Error> {
        d.deserialize_any(Integer::<i32, true>::new())
    }
}

/// An optional int32 (a protobuf `Int32Value`): absent or null is `None`,
/// else a number or a numeric string.
pub fn opt_int32<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i32>, D::Error> {
    #[derive(serde::Deserialize)]
    #[serde(transparent)]
    struct Lenient(#[serde(with = "int32_lenient")] i32);
    Ok(Option::<Lenient>::deserialize(d)?.map(|l| l.0))
}

/// Reads an integer sent as a JSON number or a numeric string (null as
/// zero when `NULL_IS_ZERO`) in one pass: this sits on the hot path of
/// `match_data_send`, so it neither buffers the value nor builds an error
/// for the form that did not match, as an untagged enum would.
struct Integer<T, const NULL_IS_ZERO: bool>(std::marker::PhantomData<T>);

impl<T, const NULL_IS_ZERO: bool> Integer<T, NULL_IS_ZERO> {
    fn new() -> Self {
        Self(std::marker::PhantomData)
    }
}

impl<'de, T, const NULL_IS_ZERO: bool> serde::de::Visitor<'de> for Integer<T, NULL_IS_ZERO>
where
    T: TryFrom<i64> + TryFrom<u64> + std::str::FromStr + Default,
{
    type Value = T;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("an integer or a string holding one")
    }

    fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<T, E> {
        T::try_from(v).map_err(|_| E::invalid_value(serde::de::Unexpected::Signed(v), &self))
    }

    fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<T, E> {
        T::try_from(v).map_err(|_| E::invalid_value(serde::de::Unexpected::Unsigned(v), &self))
    }

    fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<T, E> {
        v.parse()
            .map_err(|_| E::invalid_value(serde::de::Unexpected::Str(v), &self))
    }

    fn visit_unit<E: serde::de::Error>(self) -> Result<T, E> {
        if NULL_IS_ZERO {
            Ok(T::default())
        } else {
            Err(E::invalid_type(serde::de::Unexpected::Unit, &self))
        }
    }

    fn visit_none<E: serde::de::Error>(self) -> Result<T, E> {
        self.visit_unit()
    }
}

#[cfg(test)]
mod tests {
    use serde::Deserialize;

    #[derive(Deserialize, Debug)]
    struct Wide {
        #[serde(with = "super::int64_string")]
        v: i64,
    }

    #[derive(Deserialize, Debug)]
    struct Narrow {
        #[serde(deserialize_with = "super::int32_lenient::deserialize", default)]
        v: i32,
    }

    fn wide(json: &str) -> Result<i64, serde_json::Error> {
        serde_json::from_str::<Wide>(json).map(|w| w.v)
    }

    fn narrow(json: &str) -> Result<i32, serde_json::Error> {
        serde_json::from_str::<Narrow>(json).map(|n| n.v)
    }

    #[test]
    fn int64_takes_numbers_and_numeric_strings() {
        assert_eq!(wide(r#"{"v":7}"#).unwrap(), 7);
        assert_eq!(wide(r#"{"v":-7}"#).unwrap(), -7);
        assert_eq!(
            wide(r#"{"v":"9007199254740993"}"#).unwrap(),
            9007199254740993
        );
        assert_eq!(wide(r#"{"v":"-3"}"#).unwrap(), -3);
        // An escaped string is unescaped into a scratch buffer first; it
        // parses the same.
        assert_eq!(wide(r#"{"v":"\u0034"}"#).unwrap(), 4);
    }

    #[test]
    fn int64_refuses_what_is_not_an_integer() {
        for bad in [
            r#"{"v":"x"}"#,
            r#"{"v":1.5}"#,
            r#"{"v":null}"#,
            r#"{"v":true}"#,
            r#"{"v":"9223372036854775808"}"#,
            r#"{"v":9223372036854775808}"#,
            r#"{"v":[1]}"#,
        ] {
            assert!(wide(bad).is_err(), "{bad} was accepted");
        }
    }

    #[test]
    fn int32_is_lenient_about_null_but_not_range() {
        assert_eq!(narrow(r#"{"v":null}"#).unwrap(), 0);
        assert_eq!(narrow(r#"{}"#).unwrap(), 0);
        assert_eq!(narrow(r#"{"v":"12"}"#).unwrap(), 12);
        assert_eq!(narrow(r#"{"v":-12}"#).unwrap(), -12);
        assert!(narrow(r#"{"v":2147483648}"#).is_err());
        assert!(narrow(r#"{"v":"2147483648"}"#).is_err());
        assert!(narrow(r#"{"v":"one"}"#).is_err());
    }
}
