//! `nakama.realtime.Error`: a request failed.

use std::collections::BTreeMap;

/// `Error`. `code` is one of [`crate::rtapi::ErrorCode`].
#[derive(Clone, PartialEq, Eq, prost::Message)]
pub struct Error {
    #[prost(int32, tag = "1")]
    pub code: i32,
    #[prost(string, tag = "2")]
    pub message: String,
    #[prost(btree_map = "string, string", tag = "3")]
    pub context: BTreeMap<String, String>,
}
