//! Friends: a directed edge per pair of users and direction, with a state,
//! as Nakama keeps them.
//!
//! * A invites B: A→B is `InviteSent`, B→A is `InviteReceived`.
//! * B adds A back (accepts): both edges become `Friend`.
//! * A blocks B: A→B is `Blocked`; B→A is removed unless B blocked A too.
//! * A deletes B: A→B goes (including A's block), and B→A goes unless it
//!   is B's block of A.
//!
//! A user's `edge_count` is the number of edges leaving them.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::account::User;
use crate::cursor;
use crate::error::{ApiError, ApiResult};

/// Most friends listed per page.
pub const MAX_LIST: usize = 1000;
/// Most friends of friends listed per page.
pub const MAX_FOF_LIST: usize = 100;

/// `Friend.State`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[repr(i32)]
pub enum FriendState {
    Friend = 0,
    InviteSent = 1,
    InviteReceived = 2,
    Blocked = 3,
}

impl FriendState {
    pub fn from_i32(v: i32) -> Option<FriendState> {
        Some(match v {
            0 => FriendState::Friend,
            1 => FriendState::InviteSent,
            2 => FriendState::InviteReceived,
            3 => FriendState::Blocked,
            _ => return None,
        })
    }

    pub fn as_i32(self) -> i32 {
        self as i32
    }
}

/// One edge leaving the listing user, with the user it points at.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Friend {
    pub user: User,
    pub state: FriendState,
    /// Unix seconds of the edge's last change.
    pub update_time: i64,
    /// A JSON object, as text: the listing user's notes on this edge.
    pub metadata: String,
    /// Orders a user's edges within a state (unix nanoseconds at creation).
    pub position: i64,
}

/// A friend of a friend, and the friend who links them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FriendOfFriend {
    pub referrer: Uuid,
    pub user: User,
}

/// What adding one user did, for the notification it calls for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FriendAdded {
    pub user_id: Uuid,
    /// True when it accepted that user's invite; false for a new invite.
    pub accepted: bool,
}

/// Where a friend listing resumes: after this `(state, position, user)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FriendCursor {
    #[serde(rename = "s")]
    pub state: i32,
    #[serde(rename = "p")]
    pub position: i64,
    #[serde(rename = "u")]
    pub user: Uuid,
}

impl FriendCursor {
    /// Decodes a client's cursor; it must match the state filter it was
    /// made under.
    pub fn parse(text: &str, state: Option<FriendState>) -> ApiResult<FriendCursor> {
        match cursor::decode::<FriendCursor>(text) {
            Some(c)
                if FriendState::from_i32(c.state).is_some()
                    && state.is_none_or(|s| s.as_i32() == c.state) =>
            {
                Ok(c)
            }
            _ => Err(ApiError::invalid("Cursor is invalid.")),
        }
    }

    pub fn after(f: &Friend) -> FriendCursor {
        FriendCursor {
            state: f.state.as_i32(),
            position: f.position,
            user: f.user.id,
        }
    }

    pub fn encode(&self) -> String {
        cursor::encode(self)
    }
}

/// Where a friends-of-friends listing resumes: after `(referrer, user)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FofCursor {
    #[serde(rename = "r")]
    pub referrer: Uuid,
    #[serde(rename = "u")]
    pub user: Uuid,
}

impl FofCursor {
    pub fn parse(text: &str) -> ApiResult<FofCursor> {
        cursor::decode(text).ok_or_else(|| ApiError::invalid("Cursor is invalid."))
    }

    pub fn encode(&self) -> String {
        cursor::encode(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn states() {
        for v in 0..4 {
            assert_eq!(FriendState::from_i32(v).unwrap().as_i32(), v);
        }
        assert_eq!(FriendState::from_i32(4), None);
        assert_eq!(FriendState::from_i32(-1), None);
    }

    #[test]
    fn cursors_match_their_filter() {
        let c = FriendCursor {
            state: 1,
            position: 7,
            user: Uuid::new_v4(),
        };
        let text = c.encode();
        assert_eq!(FriendCursor::parse(&text, None).unwrap(), c);
        assert_eq!(
            FriendCursor::parse(&text, Some(FriendState::InviteSent)).unwrap(),
            c
        );
        assert!(FriendCursor::parse(&text, Some(FriendState::Friend)).is_err());
        assert!(FriendCursor::parse("x", None).is_err());
        let f = FofCursor {
            referrer: Uuid::new_v4(),
            user: Uuid::new_v4(),
        };
        assert_eq!(FofCursor::parse(&f.encode()).unwrap(), f);
    }
}
