//! Accounts and users as the domain knows them, independent of any wire format
//! or database. The store fills these; the API layer renders them.

use uuid::Uuid;

/// A user's public profile (Nakama's `User`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct User {
    pub id: Uuid,
    pub username: String,
    pub display_name: String,
    pub avatar_url: String,
    pub lang_tag: String,
    pub location: String,
    pub timezone: String,
    /// A JSON object, as text.
    pub metadata: String,
    pub facebook_id: String,
    pub google_id: String,
    pub gamecenter_id: String,
    pub steam_id: String,
    pub facebook_instant_game_id: String,
    pub apple_id: String,
    pub edge_count: i32,
    /// Unix seconds.
    pub create_time: i64,
    /// Unix seconds.
    pub update_time: i64,
}

/// The owner's full view of an account (Nakama's `Account`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Account {
    pub user: User,
    /// A JSON object, as text.
    pub wallet: String,
    pub email: String,
    pub devices: Vec<String>,
    pub custom_id: String,
    /// Unix seconds; `None` when never verified.
    pub verify_time: Option<i64>,
    /// Unix seconds; `None` unless the account is banned.
    pub disable_time: Option<i64>,
}

/// A change to an account's profile. `None` leaves a field as it is; an empty
/// string clears it (except `username`, which can't be cleared).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AccountUpdate {
    pub username: Option<String>,
    pub display_name: Option<String>,
    pub avatar_url: Option<String>,
    pub lang_tag: Option<String>,
    pub location: Option<String>,
    pub timezone: Option<String>,
    /// A JSON object replacing the account's metadata. Only game code sets
    /// it (clients can't: Nakama's `UpdateAccountRequest` has no metadata).
    pub metadata: Option<String>,
}

impl AccountUpdate {
    pub fn is_empty(&self) -> bool {
        self.username.is_none()
            && self.display_name.is_none()
            && self.avatar_url.is_none()
            && self.lang_tag.is_none()
            && self.location.is_none()
            && self.timezone.is_none()
            && self.metadata.is_none()
    }
}

/// Which identifier an authentication or link names.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Identity {
    Device {
        id: String,
    },
    Custom {
        id: String,
    },
    /// Login by email, or by username when `email` is empty.
    Email {
        email: String,
        username: String,
        password: String,
    },
}

/// What an authentication resolved to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Authenticated {
    pub user_id: Uuid,
    pub username: String,
    /// True when this call created the account.
    pub created: bool,
}

/// The state a session refresh needs to re-check.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UserStatus {
    pub username: String,
    pub disabled: bool,
}
