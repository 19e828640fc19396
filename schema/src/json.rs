//! protojson helpers for serde.

use serde::{Deserialize, Deserializer};

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
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(v: &i64, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(v)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<i64, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Either<'a> {
            N(i64),
            S(&'a str),
            Owned(String),
        }
        match Either::deserialize(d)? {
            Either::N(n) => Ok(n),
            Either::S(s) => s.parse().map_err(serde::de::Error::custom),
            Either::Owned(s) => s.parse().map_err(serde::de::Error::custom),
        }
    }
}

/// An int32 that protojson accepts as a number or a numeric string; null
/// is zero.
pub mod int32_lenient {
    use serde::{Deserialize, Deserializer};

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<i32, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Either<'a> {
            N(i32),
            S(&'a str),
            Owned(String),
        }
        match Option::<Either>::deserialize(d)? {
            None => Ok(0),
            Some(Either::N(n)) => Ok(n),
            Some(Either::S(s)) => s.parse().map_err(serde::de::Error::custom),
            Some(Either::Owned(s)) => s.parse().map_err(serde::de::Error::custom),
        }
    }
}
