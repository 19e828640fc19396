//! Status: following users and their online status.

use super::presence::UserPresence;
use super::wrappers::StringValue;

/// `Status`: the reply to `status_follow`.
#[derive(Clone, PartialEq, Eq, prost::Message)]
pub struct Status {
    #[prost(message, repeated, tag = "1")]
    pub presences: Vec<UserPresence>,
}

/// `StatusFollow`.
#[derive(Clone, PartialEq, Eq, prost::Message)]
pub struct StatusFollow {
    #[prost(string, repeated, tag = "1")]
    pub user_ids: Vec<String>,
    #[prost(string, repeated, tag = "2")]
    pub usernames: Vec<String>,
}

/// `StatusPresenceEvent`. Field 1 is unused in Nakama's schema.
#[derive(Clone, PartialEq, Eq, prost::Message)]
pub struct StatusPresenceEvent {
    #[prost(message, repeated, tag = "2")]
    pub joins: Vec<UserPresence>,
    #[prost(message, repeated, tag = "3")]
    pub leaves: Vec<UserPresence>,
}

/// `StatusUnfollow`.
#[derive(Clone, PartialEq, Eq, prost::Message)]
pub struct StatusUnfollow {
    #[prost(string, repeated, tag = "1")]
    pub user_ids: Vec<String>,
}

/// `StatusUpdate`: no `status` means appear offline.
#[derive(Clone, PartialEq, Eq, prost::Message)]
pub struct StatusUpdate {
    #[prost(message, optional, tag = "1")]
    pub status: Option<StringValue>,
}
