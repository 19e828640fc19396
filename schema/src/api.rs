//! Nakama's REST messages (`api.proto`) in protojson.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::json::{is_empty, is_false, is_zero_i32, nullable};

/// The error body grpc-gateway writes: a `google.rpc.Status`.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct Status {
    pub code: i32,
    pub message: String,
}

/// A session and its refresh token.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq, Default)]
pub struct Session {
    #[serde(default, skip_serializing_if = "is_false")]
    pub created: bool,
    pub token: String,
    pub refresh_token: String,
}

/// A device identifier and the session variables to embed in the token.
#[derive(Clone, Debug, Deserialize, Default)]
pub struct AccountDevice {
    #[serde(default, deserialize_with = "nullable")]
    pub id: String,
    #[serde(default, deserialize_with = "nullable")]
    pub vars: BTreeMap<String, String>,
}

/// A custom identifier.
#[derive(Clone, Debug, Deserialize, Default)]
pub struct AccountCustom {
    #[serde(default, deserialize_with = "nullable")]
    pub id: String,
    #[serde(default, deserialize_with = "nullable")]
    pub vars: BTreeMap<String, String>,
}

/// Email and password.
#[derive(Clone, Debug, Deserialize, Default)]
pub struct AccountEmail {
    #[serde(default, deserialize_with = "nullable")]
    pub email: String,
    #[serde(default, deserialize_with = "nullable")]
    pub password: String,
    #[serde(default, deserialize_with = "nullable")]
    pub vars: BTreeMap<String, String>,
}

/// `POST /v2/account/session/refresh` body.
#[derive(Clone, Debug, Deserialize, Default)]
pub struct SessionRefreshRequest {
    #[serde(default, deserialize_with = "nullable")]
    pub token: String,
    #[serde(default, deserialize_with = "nullable")]
    pub vars: Option<BTreeMap<String, String>>,
}

/// `POST /v2/session/logout` body.
#[derive(Clone, Debug, Deserialize, Default)]
pub struct SessionLogoutRequest {
    #[serde(default, deserialize_with = "nullable")]
    pub token: String,
    #[serde(default, deserialize_with = "nullable", alias = "refreshToken")]
    pub refresh_token: String,
}

/// `PUT /v2/account` body. Each field is a `StringValue`: absent leaves the
/// field as it is.
#[derive(Clone, Debug, Deserialize, Default)]
pub struct UpdateAccountRequest {
    #[serde(default)]
    pub username: Option<String>,
    #[serde(default, alias = "displayName")]
    pub display_name: Option<String>,
    #[serde(default, alias = "avatarUrl")]
    pub avatar_url: Option<String>,
    #[serde(default, alias = "langTag")]
    pub lang_tag: Option<String>,
    #[serde(default)]
    pub location: Option<String>,
    #[serde(default)]
    pub timezone: Option<String>,
}

/// A user's public profile.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq, Default)]
pub struct User {
    #[serde(default, skip_serializing_if = "is_empty")]
    pub id: String,
    #[serde(default, skip_serializing_if = "is_empty")]
    pub username: String,
    #[serde(default, skip_serializing_if = "is_empty")]
    pub display_name: String,
    #[serde(default, skip_serializing_if = "is_empty")]
    pub avatar_url: String,
    #[serde(default, skip_serializing_if = "is_empty")]
    pub lang_tag: String,
    #[serde(default, skip_serializing_if = "is_empty")]
    pub location: String,
    #[serde(default, skip_serializing_if = "is_empty")]
    pub timezone: String,
    #[serde(default, skip_serializing_if = "is_empty")]
    pub metadata: String,
    #[serde(default, skip_serializing_if = "is_empty")]
    pub facebook_id: String,
    #[serde(default, skip_serializing_if = "is_empty")]
    pub google_id: String,
    #[serde(default, skip_serializing_if = "is_empty")]
    pub gamecenter_id: String,
    #[serde(default, skip_serializing_if = "is_empty")]
    pub steam_id: String,
    #[serde(default, skip_serializing_if = "is_false")]
    pub online: bool,
    #[serde(default, skip_serializing_if = "is_zero_i32")]
    pub edge_count: i32,
    #[serde(default, skip_serializing_if = "is_empty")]
    pub create_time: String,
    #[serde(default, skip_serializing_if = "is_empty")]
    pub update_time: String,
    #[serde(default, skip_serializing_if = "is_empty")]
    pub facebook_instant_game_id: String,
    #[serde(default, skip_serializing_if = "is_empty")]
    pub apple_id: String,
}

/// A device linked to an account.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq, Default)]
pub struct AccountDeviceOut {
    pub id: String,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub vars: BTreeMap<String, String>,
}

/// The owner's full view of an account.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq, Default)]
pub struct Account {
    pub user: User,
    #[serde(default, skip_serializing_if = "is_empty")]
    pub wallet: String,
    #[serde(default, skip_serializing_if = "is_empty")]
    pub email: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub devices: Vec<AccountDeviceOut>,
    #[serde(default, skip_serializing_if = "is_empty")]
    pub custom_id: String,
    #[serde(default, skip_serializing_if = "is_empty")]
    pub verify_time: String,
    #[serde(default, skip_serializing_if = "is_empty")]
    pub disable_time: String,
}

/// A chat message (`api.ChannelMessage`), in history listings and in the
/// realtime `channel_message` push. `code` and `persistent` are protobuf
/// wrappers, so they are written even when zero or false.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq, Default)]
pub struct ChannelMessage {
    pub channel_id: String,
    pub message_id: String,
    pub code: i32,
    #[serde(default, skip_serializing_if = "is_empty")]
    pub sender_id: String,
    #[serde(default, skip_serializing_if = "is_empty")]
    pub username: String,
    pub content: String,
    pub create_time: String,
    pub update_time: String,
    pub persistent: bool,
    #[serde(default, skip_serializing_if = "is_empty")]
    pub room_name: String,
    #[serde(default, skip_serializing_if = "is_empty")]
    pub group_id: String,
    #[serde(default, skip_serializing_if = "is_empty")]
    pub user_id_one: String,
    #[serde(default, skip_serializing_if = "is_empty")]
    pub user_id_two: String,
}

/// `GET /v2/channel/{channel_id}`.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq, Default)]
pub struct ChannelMessageList {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub messages: Vec<ChannelMessage>,
    #[serde(default, skip_serializing_if = "is_empty")]
    pub next_cursor: String,
    #[serde(default, skip_serializing_if = "is_empty")]
    pub prev_cursor: String,
    #[serde(default, skip_serializing_if = "is_empty")]
    pub cacheable_cursor: String,
}

/// A notification (`api.Notification`).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq, Default)]
pub struct Notification {
    pub id: String,
    #[serde(default, skip_serializing_if = "is_empty")]
    pub subject: String,
    #[serde(default, skip_serializing_if = "is_empty")]
    pub content: String,
    #[serde(default, skip_serializing_if = "is_zero_i32")]
    pub code: i32,
    #[serde(default, skip_serializing_if = "is_empty")]
    pub sender_id: String,
    #[serde(default, skip_serializing_if = "is_empty")]
    pub create_time: String,
    #[serde(default, skip_serializing_if = "is_false")]
    pub persistent: bool,
}

/// `GET /v2/notification`.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq, Default)]
pub struct NotificationList {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notifications: Vec<Notification>,
    #[serde(default, skip_serializing_if = "is_empty")]
    pub cacheable_cursor: String,
}

/// A match as a listing shows it (`api.Match`). `label` is a protobuf
/// wrapper: written, even empty, for an authoritative match; absent for a
/// relayed one.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq, Default)]
pub struct Match {
    pub match_id: String,
    #[serde(default, skip_serializing_if = "is_false")]
    pub authoritative: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    #[serde(default, skip_serializing_if = "is_zero_i32")]
    pub size: i32,
    #[serde(default, skip_serializing_if = "is_zero_i32")]
    pub tick_rate: i32,
    #[serde(default, skip_serializing_if = "is_empty")]
    pub handler_name: String,
}

/// `GET /v2/match`.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq, Default)]
pub struct MatchList {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub matches: Vec<Match>,
}

/// `api.Party`: a party as `GET /v2/party` lists it.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq, Default)]
pub struct Party {
    pub party_id: String,
    #[serde(default, skip_serializing_if = "crate::json::is_false")]
    pub open: bool,
    #[serde(default, skip_serializing_if = "crate::json::is_false")]
    pub hidden: bool,
    #[serde(default, skip_serializing_if = "crate::json::is_zero_i32")]
    pub max_size: i32,
    #[serde(default, skip_serializing_if = "is_empty")]
    pub label: String,
}

/// `GET /v2/party`.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq, Default)]
pub struct PartyList {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub parties: Vec<Party>,
    #[serde(default, skip_serializing_if = "is_empty")]
    pub cursor: String,
}

/// A friend edge and the user it points at. `state` is a protobuf
/// wrapper, so it is written even when zero (a friend).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq, Default)]
pub struct Friend {
    pub user: User,
    pub state: i32,
    #[serde(default, skip_serializing_if = "is_empty")]
    pub update_time: String,
    #[serde(default, skip_serializing_if = "is_empty")]
    pub metadata: String,
}

/// `GET /v2/friend`.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq, Default)]
pub struct FriendList {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub friends: Vec<Friend>,
    #[serde(default, skip_serializing_if = "is_empty")]
    pub cursor: String,
}

/// One entry of `GET /v2/friend/friends`.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq, Default)]
pub struct FriendOfFriend {
    pub referrer: String,
    pub user: User,
}

/// `GET /v2/friend/friends`.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq, Default)]
pub struct FriendsOfFriendsList {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub friends_of_friends: Vec<FriendOfFriend>,
    #[serde(default, skip_serializing_if = "is_empty")]
    pub cursor: String,
}

/// A list of users.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq, Default)]
pub struct Users {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub users: Vec<User>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn session_omits_created_when_false() {
        let s = Session {
            created: false,
            token: "t".into(),
            refresh_token: "r".into(),
        };
        assert_eq!(
            serde_json::to_string(&s).unwrap(),
            r#"{"token":"t","refresh_token":"r"}"#
        );
        let s = Session { created: true, ..s };
        assert_eq!(
            serde_json::to_string(&s).unwrap(),
            r#"{"created":true,"token":"t","refresh_token":"r"}"#
        );
    }

    #[test]
    fn requests_accept_nulls_camel_case_and_unknown_fields() {
        let d: AccountDevice = serde_json::from_str(r#"{"id":null,"extra":1}"#).unwrap();
        assert_eq!(d.id, "");
        let l: SessionLogoutRequest =
            serde_json::from_str(r#"{"token":"a","refreshToken":"b"}"#).unwrap();
        assert_eq!(l.refresh_token, "b");
        let u: UpdateAccountRequest =
            serde_json::from_str(r#"{"displayName":"Al","location":""}"#).unwrap();
        assert_eq!(u.display_name.as_deref(), Some("Al"));
        assert_eq!(u.location.as_deref(), Some(""));
        assert_eq!(u.username, None);
        assert!(serde_json::from_str::<AccountDevice>(r#"{"id":5}"#).is_err());
    }

    #[test]
    fn empty_user_fields_are_omitted() {
        let u = User {
            id: "x".into(),
            lang_tag: "en".into(),
            ..Default::default()
        };
        assert_eq!(
            serde_json::to_string(&u).unwrap(),
            r#"{"id":"x","lang_tag":"en"}"#
        );
    }
}

/// One object of a `PUT /v2/storage` body. The permissions are
/// `Int32Value` wrappers: absent means Nakama's defaults (read 1, write 1).
#[derive(Clone, Debug, Deserialize, Default)]
pub struct WriteStorageObject {
    #[serde(default, deserialize_with = "nullable")]
    pub collection: String,
    #[serde(default, deserialize_with = "nullable")]
    pub key: String,
    #[serde(default, deserialize_with = "nullable")]
    pub value: String,
    #[serde(default, deserialize_with = "nullable")]
    pub version: String,
    #[serde(default, alias = "permissionRead")]
    pub permission_read: Option<i32>,
    #[serde(default, alias = "permissionWrite")]
    pub permission_write: Option<i32>,
}

/// `PUT /v2/storage` body.
#[derive(Clone, Debug, Deserialize, Default)]
pub struct WriteStorageObjectsRequest {
    #[serde(default, deserialize_with = "nullable")]
    pub objects: Vec<WriteStorageObject>,
}

/// The address of an object to read (`POST /v2/storage`) or delete
/// (`PUT /v2/storage/delete`, where `version` may be set).
#[derive(Clone, Debug, Deserialize, Default)]
pub struct StorageObjectId {
    #[serde(default, deserialize_with = "nullable")]
    pub collection: String,
    #[serde(default, deserialize_with = "nullable")]
    pub key: String,
    #[serde(default, deserialize_with = "nullable", alias = "userId")]
    pub user_id: String,
    #[serde(default, deserialize_with = "nullable")]
    pub version: String,
}

/// `POST /v2/storage` and `PUT /v2/storage/delete` bodies.
#[derive(Clone, Debug, Deserialize, Default)]
pub struct StorageObjectIds {
    #[serde(default, deserialize_with = "nullable", alias = "objectIds")]
    pub object_ids: Vec<StorageObjectId>,
}

/// A stored object (`api.StorageObject`).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq, Default)]
pub struct StorageObject {
    pub collection: String,
    pub key: String,
    /// The owner; the nil id for system-owned objects.
    pub user_id: String,
    pub value: String,
    pub version: String,
    #[serde(default, skip_serializing_if = "is_zero_i32")]
    pub permission_read: i32,
    #[serde(default, skip_serializing_if = "is_zero_i32")]
    pub permission_write: i32,
    pub create_time: String,
    pub update_time: String,
}

/// `POST /v2/storage` reply.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq, Default)]
pub struct StorageObjects {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub objects: Vec<StorageObject>,
}

/// `GET /v2/storage/{collection}` reply.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq, Default)]
pub struct StorageObjectList {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub objects: Vec<StorageObject>,
    #[serde(default, skip_serializing_if = "is_empty")]
    pub cursor: String,
}

/// A write's acknowledgement (`api.StorageObjectAck`).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq, Default)]
pub struct StorageObjectAck {
    pub collection: String,
    pub key: String,
    pub version: String,
    #[serde(default, skip_serializing_if = "is_empty")]
    pub user_id: String,
    pub create_time: String,
    pub update_time: String,
}

/// `PUT /v2/storage` reply.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq, Default)]
pub struct StorageObjectAcks {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub acks: Vec<StorageObjectAck>,
}

/// A group (`api.Group`). `open` is a `BoolValue`, so it is written even
/// when false.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq, Default)]
pub struct Group {
    #[serde(default, skip_serializing_if = "is_empty")]
    pub id: String,
    #[serde(default, skip_serializing_if = "is_empty")]
    pub creator_id: String,
    #[serde(default, skip_serializing_if = "is_empty")]
    pub name: String,
    #[serde(default, skip_serializing_if = "is_empty")]
    pub description: String,
    #[serde(default, skip_serializing_if = "is_empty")]
    pub lang_tag: String,
    #[serde(default, skip_serializing_if = "is_empty")]
    pub metadata: String,
    #[serde(default, skip_serializing_if = "is_empty")]
    pub avatar_url: String,
    #[serde(default)]
    pub open: bool,
    #[serde(default, skip_serializing_if = "is_zero_i32")]
    pub edge_count: i32,
    #[serde(default, skip_serializing_if = "is_zero_i32")]
    pub max_count: i32,
    #[serde(default, skip_serializing_if = "is_empty")]
    pub create_time: String,
    #[serde(default, skip_serializing_if = "is_empty")]
    pub update_time: String,
}

/// `GET /v2/group`.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq, Default)]
pub struct GroupList {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub groups: Vec<Group>,
    #[serde(default, skip_serializing_if = "is_empty")]
    pub cursor: String,
}

/// One member of `GET /v2/group/{id}/user`; `state` is an `Int32Value`,
/// written even when zero (a superadmin).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq, Default)]
pub struct GroupUser {
    pub user: User,
    pub state: i32,
}

/// `GET /v2/group/{id}/user`.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq, Default)]
pub struct GroupUserList {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub group_users: Vec<GroupUser>,
    #[serde(default, skip_serializing_if = "is_empty")]
    pub cursor: String,
}

/// One group of `GET /v2/user/{id}/group`.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq, Default)]
pub struct UserGroup {
    pub group: Group,
    pub state: i32,
}

/// `GET /v2/user/{id}/group`.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq, Default)]
pub struct UserGroupList {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub user_groups: Vec<UserGroup>,
    #[serde(default, skip_serializing_if = "is_empty")]
    pub cursor: String,
}

/// `POST /v2/group` body.
#[derive(Clone, Debug, Deserialize, Default)]
pub struct CreateGroupRequest {
    #[serde(default, deserialize_with = "nullable")]
    pub name: String,
    #[serde(default, deserialize_with = "nullable")]
    pub description: String,
    #[serde(default, deserialize_with = "nullable", alias = "langTag")]
    pub lang_tag: String,
    #[serde(default, deserialize_with = "nullable", alias = "avatarUrl")]
    pub avatar_url: String,
    #[serde(default, deserialize_with = "nullable")]
    pub open: bool,
    #[serde(default, deserialize_with = "nullable", alias = "maxCount")]
    pub max_count: i32,
}

/// `PUT /v2/group/{id}` body: wrappers, absent meaning unchanged.
#[derive(Clone, Debug, Deserialize, Default)]
pub struct UpdateGroupRequest {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default, alias = "langTag")]
    pub lang_tag: Option<String>,
    #[serde(default, alias = "avatarUrl")]
    pub avatar_url: Option<String>,
    #[serde(default)]
    pub open: Option<bool>,
}

fn is_zero_i64(n: &i64) -> bool {
    *n == 0
}

fn is_zero_u32(n: &u32) -> bool {
    *n == 0
}

/// A leaderboard record (`api.LeaderboardRecord`): int64s as strings,
/// zero values left out, as protojson writes them.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq, Default)]
pub struct LeaderboardRecord {
    #[serde(default, skip_serializing_if = "is_empty")]
    pub leaderboard_id: String,
    #[serde(default, skip_serializing_if = "is_empty")]
    pub owner_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    #[serde(
        default,
        with = "crate::json::int64_string",
        skip_serializing_if = "is_zero_i64"
    )]
    pub score: i64,
    #[serde(
        default,
        with = "crate::json::int64_string",
        skip_serializing_if = "is_zero_i64"
    )]
    pub subscore: i64,
    #[serde(default, skip_serializing_if = "is_zero_i32")]
    pub num_score: i32,
    #[serde(default, skip_serializing_if = "is_empty")]
    pub metadata: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub create_time: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub update_time: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expiry_time: Option<String>,
    #[serde(
        default,
        with = "crate::json::int64_string",
        skip_serializing_if = "is_zero_i64"
    )]
    pub rank: i64,
    #[serde(default, skip_serializing_if = "is_zero_u32")]
    pub max_num_score: u32,
}

/// `GET /v2/leaderboard/{id}` and `.../owner/{owner_id}` reply
/// (`api.LeaderboardRecordList`).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq, Default)]
pub struct LeaderboardRecordList {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub records: Vec<LeaderboardRecord>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub owner_records: Vec<LeaderboardRecord>,
    #[serde(default, skip_serializing_if = "is_empty")]
    pub next_cursor: String,
    #[serde(default, skip_serializing_if = "is_empty")]
    pub prev_cursor: String,
    #[serde(
        default,
        with = "crate::json::int64_string",
        skip_serializing_if = "is_zero_i64"
    )]
    pub rank_count: i64,
}

/// `POST /v2/leaderboard/{id}` body (the request's `record`,
/// `api.WriteLeaderboardRecordRequest.LeaderboardRecordWrite`).
#[derive(Clone, Debug, Deserialize, Default)]
pub struct LeaderboardRecordWrite {
    #[serde(default, with = "crate::json::int64_string")]
    pub score: i64,
    #[serde(default, with = "crate::json::int64_string")]
    pub subscore: i64,
    #[serde(default, deserialize_with = "nullable")]
    pub metadata: String,
    /// `api.Operator`: 0 no override, 1 best, 2 set, 3 incr, 4 decr, as
    /// a number or its name; another number is kept (proto3 enums are
    /// open) for the server to refuse.
    #[serde(default, deserialize_with = "operator")]
    pub operator: i32,
}

fn operator<'de, D: serde::Deserializer<'de>>(d: D) -> Result<i32, D::Error> {
    struct V;
    impl serde::de::Visitor<'_> for V {
        type Value = i32;
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("an api.Operator number or name")
        }
        fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<i32, E> {
            i32::try_from(v).map_err(|_| E::invalid_value(serde::de::Unexpected::Signed(v), &self))
        }
        fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<i32, E> {
            i32::try_from(v)
                .map_err(|_| E::invalid_value(serde::de::Unexpected::Unsigned(v), &self))
        }
        fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<i32, E> {
            match v {
                "NO_OVERRIDE" => Ok(0),
                "BEST" => Ok(1),
                "SET" => Ok(2),
                "INCREMENT" => Ok(3),
                "DECREMENT" => Ok(4),
                _ => Err(E::invalid_value(serde::de::Unexpected::Str(v), &self)),
            }
        }
        fn visit_unit<E: serde::de::Error>(self) -> Result<i32, E> {
            Ok(0)
        }
        fn visit_none<E: serde::de::Error>(self) -> Result<i32, E> {
            Ok(0)
        }
    }
    d.deserialize_any(V)
}

/// A tournament (`api.Tournament`): Unix-second counters as numbers,
/// times as RFC 3339, the operator as its enum number.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Default)]
pub struct Tournament {
    #[serde(default, skip_serializing_if = "is_empty")]
    pub id: String,
    #[serde(default, skip_serializing_if = "is_empty")]
    pub title: String,
    #[serde(default, skip_serializing_if = "is_empty")]
    pub description: String,
    #[serde(default, skip_serializing_if = "is_zero_u32")]
    pub category: u32,
    #[serde(default, skip_serializing_if = "is_zero_u32")]
    pub sort_order: u32,
    #[serde(default, skip_serializing_if = "is_zero_u32")]
    pub size: u32,
    #[serde(default, skip_serializing_if = "is_zero_u32")]
    pub max_size: u32,
    #[serde(default, skip_serializing_if = "is_zero_u32")]
    pub max_num_score: u32,
    #[serde(default, skip_serializing_if = "is_false")]
    pub can_enter: bool,
    #[serde(default, skip_serializing_if = "is_zero_u32")]
    pub end_active: u32,
    #[serde(default, skip_serializing_if = "is_zero_u32")]
    pub next_reset: u32,
    #[serde(default, skip_serializing_if = "is_empty")]
    pub metadata: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub create_time: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_time: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end_time: Option<String>,
    #[serde(default, skip_serializing_if = "is_zero_u32")]
    pub duration: u32,
    #[serde(default, skip_serializing_if = "is_zero_u32")]
    pub start_active: u32,
    #[serde(default, skip_serializing_if = "is_zero_u32")]
    pub prev_reset: u32,
    #[serde(default, skip_serializing_if = "is_zero_i32")]
    pub operator: i32,
    #[serde(default, skip_serializing_if = "is_false")]
    pub authoritative: bool,
    #[serde(default, skip_serializing_if = "is_false")]
    pub join_required: bool,
}

/// A page of tournaments (`api.TournamentList`).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Default)]
pub struct TournamentList {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tournaments: Vec<Tournament>,
    #[serde(default, skip_serializing_if = "is_empty")]
    pub cursor: String,
}
