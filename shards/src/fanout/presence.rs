//! A session's presence in a stream.

use kairos_schema::rtapi::UserPresence;
use uuid::Uuid;

use crate::session::Wire;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Presence {
    pub session_id: Uuid,
    pub user_id: Uuid,
    pub username: String,
    /// The shard the session lives on.
    pub shard: usize,
    /// What the session speaks, so owners encode for it.
    pub wire: Wire,
    pub persistence: bool,
    pub hidden: bool,
    pub status: Option<String>,
}

impl Presence {
    /// As clients see it.
    pub fn to_wire(&self) -> UserPresence {
        UserPresence {
            user_id: self.user_id.to_string(),
            session_id: self.session_id.to_string(),
            username: self.username.clone(),
            persistence: self.persistence,
            status: self.status.clone(),
        }
    }
}
