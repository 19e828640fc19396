//! The well-known types Nakama's realtime messages use:
//! `google.protobuf.BoolValue`, `Int32Value`, `StringValue` and `Timestamp`.
//!
//! Written by hand rather than taken from `prost-types`, which would bring
//! in every descriptor type for these four two-field messages.

/// `google.protobuf.BoolValue`: a bool that can be absent.
#[derive(Clone, Copy, PartialEq, Eq, prost::Message)]
pub struct BoolValue {
    #[prost(bool, tag = "1")]
    pub value: bool,
}

/// `google.protobuf.Int32Value`: an int32 that can be absent.
#[derive(Clone, Copy, PartialEq, Eq, prost::Message)]
pub struct Int32Value {
    #[prost(int32, tag = "1")]
    pub value: i32,
}

/// `google.protobuf.StringValue`: a string that can be absent.
#[derive(Clone, PartialEq, Eq, prost::Message)]
pub struct StringValue {
    #[prost(string, tag = "1")]
    pub value: String,
}

/// `google.protobuf.Timestamp`: seconds and nanoseconds since the Unix
/// epoch, UTC. See [`super::timestamp`] for the RFC 3339 text form.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, prost::Message)]
pub struct Timestamp {
    #[prost(int64, tag = "1")]
    pub seconds: i64,
    #[prost(int32, tag = "2")]
    pub nanos: i32,
}

/// A present `BoolValue`.
pub fn bool_value(value: bool) -> Option<BoolValue> {
    Some(BoolValue { value })
}

/// A present `Int32Value`.
pub fn int32_value(value: i32) -> Option<Int32Value> {
    Some(Int32Value { value })
}

/// A present `StringValue`.
pub fn string_value(value: impl Into<String>) -> Option<StringValue> {
    Some(StringValue {
        value: value.into(),
    })
}
