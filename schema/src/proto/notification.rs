//! `nakama.realtime.Notifications` and `nakama.api.Notification`.

use super::wrappers::Timestamp;

/// `Notifications`: notifications pushed live.
#[derive(Clone, PartialEq, Eq, prost::Message)]
pub struct Notifications {
    #[prost(message, repeated, tag = "1")]
    pub notifications: Vec<Notification>,
}

/// `api.Notification`. Unlike chat messages, `code` and `persistent` are
/// plain scalars here.
#[derive(Clone, PartialEq, Eq, prost::Message)]
pub struct Notification {
    #[prost(string, tag = "1")]
    pub id: String,
    #[prost(string, tag = "2")]
    pub subject: String,
    /// A JSON object, as text.
    #[prost(string, tag = "3")]
    pub content: String,
    #[prost(int32, tag = "4")]
    pub code: i32,
    #[prost(string, tag = "5")]
    pub sender_id: String,
    #[prost(message, optional, tag = "6")]
    pub create_time: Option<Timestamp>,
    #[prost(bool, tag = "7")]
    pub persistent: bool,
}
