//! `nakama.realtime.UserPresence`: one session of a user on a stream.

use super::wrappers::StringValue;

/// `UserPresence`.
#[derive(Clone, PartialEq, Eq, prost::Message)]
pub struct UserPresence {
    #[prost(string, tag = "1")]
    pub user_id: String,
    #[prost(string, tag = "2")]
    pub session_id: String,
    #[prost(string, tag = "3")]
    pub username: String,
    #[prost(bool, tag = "4")]
    pub persistence: bool,
    /// Only on status streams; absent elsewhere.
    #[prost(message, optional, tag = "5")]
    pub status: Option<StringValue>,
}
