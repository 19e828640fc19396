//! The matchmaker: tickets in (`matchmaker_add`, `_remove`), matched
//! groups out (`matchmaker_ticket`, `matchmaker_matched`).

use std::collections::BTreeMap;

use super::presence::UserPresence;
use super::wrappers::Int32Value;

/// `MatchmakerAdd`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct MatchmakerAdd {
    #[prost(int32, tag = "1")]
    pub min_count: i32,
    #[prost(int32, tag = "2")]
    pub max_count: i32,
    #[prost(string, tag = "3")]
    pub query: String,
    #[prost(btree_map = "string, string", tag = "4")]
    pub string_properties: BTreeMap<String, String>,
    #[prost(btree_map = "string, double", tag = "5")]
    pub numeric_properties: BTreeMap<String, f64>,
    #[prost(message, optional, tag = "6")]
    pub count_multiple: Option<Int32Value>,
}

/// `MatchmakerMatched`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct MatchmakerMatched {
    #[prost(string, tag = "1")]
    pub ticket: String,
    #[prost(oneof = "matchmaker_matched::Id", tags = "2, 3")]
    pub id: Option<matchmaker_matched::Id>,
    #[prost(message, repeated, tag = "4")]
    pub users: Vec<matchmaker_matched::MatchmakerUser>,
    #[prost(message, optional, tag = "5")]
    pub self_: Option<matchmaker_matched::MatchmakerUser>,
}

/// The nested types of [`MatchmakerMatched`].
pub mod matchmaker_matched {
    use std::collections::BTreeMap;

    use super::UserPresence;

    /// `MatchmakerMatched.id`.
    #[derive(Clone, PartialEq, Eq, prost::Oneof)]
    pub enum Id {
        #[prost(string, tag = "2")]
        MatchId(String),
        #[prost(string, tag = "3")]
        Token(String),
    }

    /// `MatchmakerMatched.MatchmakerUser`. Tags 3 and 4 are unused.
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct MatchmakerUser {
        #[prost(message, optional, tag = "1")]
        pub presence: Option<UserPresence>,
        #[prost(string, tag = "2")]
        pub party_id: String,
        #[prost(btree_map = "string, string", tag = "5")]
        pub string_properties: BTreeMap<String, String>,
        #[prost(btree_map = "string, double", tag = "6")]
        pub numeric_properties: BTreeMap<String, f64>,
    }
}

/// `MatchmakerRemove`.
#[derive(Clone, PartialEq, Eq, prost::Message)]
pub struct MatchmakerRemove {
    #[prost(string, tag = "1")]
    pub ticket: String,
}

/// `MatchmakerTicket`.
#[derive(Clone, PartialEq, Eq, prost::Message)]
pub struct MatchmakerTicket {
    #[prost(string, tag = "1")]
    pub ticket: String,
}
