//! Nakama's realtime envelope (`realtime.proto`) in JSON.
//!
//! Every frame is one envelope: an optional `cid` and exactly one message
//! field. Unlike REST, realtime JSON refuses unknown fields.

use std::borrow::Cow;
use std::fmt;

use std::collections::BTreeMap;

use base64::Engine;
use bytes::Bytes;
use serde::de::{self, MapAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize};

use crate::json::nullable;

mod base64_canonical;
mod incoming_json;
mod match_data_json;
mod match_data_send_json;
mod names;
mod outgoing_json;

pub use match_data_json::presence_json;
pub use outgoing_json::{ServerJson, decode_server_json};

/// Realtime error codes (`rtapi.Error.Code`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(i32)]
pub enum ErrorCode {
    RuntimeException = 0,
    UnrecognizedPayload = 1,
    MissingPayload = 2,
    BadInput = 3,
    MatchNotFound = 4,
    MatchJoinRejected = 5,
    RuntimeFunctionNotFound = 6,
    RuntimeFunctionException = 7,
}

pub use crate::messages::CLIENT_MESSAGES;

/// A message received from a client. Which key of the JSON envelope is
/// which variant comes from the table ([`crate::messages`]).
#[derive(Clone, Debug, PartialEq)]
pub enum Incoming {
    Ping,
    Pong,
    MatchCreate(MatchCreate),
    MatchJoin(MatchJoin),
    MatchLeave(MatchLeave),
    MatchDataSend(MatchDataSend),
    StatusFollow(StatusFollow),
    StatusUnfollow(StatusUnfollow),
    StatusUpdate(StatusUpdate),
    ChannelJoin(ChannelJoin),
    ChannelLeave(ChannelLeave),
    ChannelMessageSend(ChannelMessageSend),
    ChannelMessageUpdate(ChannelMessageUpdate),
    ChannelMessageRemove(ChannelMessageRemove),
    Rpc(Rpc),
    PartyCreate(PartyCreate),
    PartyJoin(PartyRef),
    PartyLeave(PartyRef),
    PartyPromote(PartyMember),
    PartyAccept(PartyMember),
    PartyRemove(PartyMember),
    PartyClose(PartyRef),
    PartyJoinRequestList(PartyRef),
    PartyDataSend(PartyDataSend),
    PartyUpdate(PartyUpdate),
    MatchmakerAdd(MatchmakerAdd),
    MatchmakerRemove(MatchmakerRemove),
    PartyMatchmakerAdd(PartyMatchmakerAdd),
    PartyMatchmakerRemove(PartyMatchmakerRemove),
    /// A valid Nakama message this server does not handle yet, by name.
    Unhandled(&'static str),
}

/// `match_create`: a new relayed match, named (deterministic id) or not.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MatchCreate {
    #[serde(deserialize_with = "nullable")]
    pub name: String,
}

/// `match_join`: by match id, or by the token of `matchmaker_matched`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MatchJoin {
    #[serde(deserialize_with = "nullable", alias = "matchId")]
    pub match_id: String,
    #[serde(deserialize_with = "nullable")]
    pub token: String,
    #[serde(deserialize_with = "nullable")]
    pub metadata: BTreeMap<String, String>,
}

/// `match_leave`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MatchLeave {
    #[serde(deserialize_with = "nullable", alias = "matchId")]
    pub match_id: String,
}

/// `match_data_send`: relayed to the match's other members (or to the
/// listed `presences` only).
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MatchDataSend {
    #[serde(deserialize_with = "nullable", alias = "matchId")]
    pub match_id: String,
    #[serde(with = "crate::json::int64_string", alias = "opCode")]
    pub op_code: i64,
    /// The payload. Binary wires slice it out of the receive buffer
    /// without copying; JSON decodes it from base64.
    #[serde(deserialize_with = "base64_bytes")]
    pub data: Bytes,
    #[serde(deserialize_with = "nullable")]
    pub presences: Vec<UserPresence>,
    #[serde(deserialize_with = "nullable")]
    pub reliable: bool,
}

/// `rpc`: call a server function by id, with a payload (JSON text by
/// convention, but any string). `http_key` is accepted for the envelope's
/// sake; a socket is already authenticated and Nakama ignores it there.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Rpc {
    #[serde(deserialize_with = "nullable")]
    pub id: String,
    #[serde(deserialize_with = "nullable")]
    pub payload: String,
    #[serde(deserialize_with = "nullable", alias = "httpKey")]
    pub http_key: String,
}

/// `matchmaker_add`: queue this session for a match. `count_multiple` is
/// `None` when the client sent none.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MatchmakerAdd {
    #[serde(with = "crate::json::int32_lenient", alias = "minCount")]
    pub min_count: i32,
    #[serde(with = "crate::json::int32_lenient", alias = "maxCount")]
    pub max_count: i32,
    #[serde(deserialize_with = "nullable")]
    pub query: String,
    #[serde(deserialize_with = "nullable", alias = "stringProperties")]
    pub string_properties: BTreeMap<String, String>,
    #[serde(deserialize_with = "nullable", alias = "numericProperties")]
    pub numeric_properties: BTreeMap<String, f64>,
    #[serde(deserialize_with = "crate::json::opt_int32", alias = "countMultiple")]
    pub count_multiple: Option<i32>,
}

/// `matchmaker_remove`: cancel one of this session's tickets.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MatchmakerRemove {
    #[serde(deserialize_with = "nullable")]
    pub ticket: String,
}

/// `party_matchmaker_add`: the leader queues the whole party as one
/// ticket. `count_multiple` is `None` when the client sent none.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PartyMatchmakerAdd {
    #[serde(deserialize_with = "nullable", alias = "partyId")]
    pub party_id: String,
    #[serde(with = "crate::json::int32_lenient", alias = "minCount")]
    pub min_count: i32,
    #[serde(with = "crate::json::int32_lenient", alias = "maxCount")]
    pub max_count: i32,
    #[serde(deserialize_with = "nullable")]
    pub query: String,
    #[serde(deserialize_with = "nullable", alias = "stringProperties")]
    pub string_properties: BTreeMap<String, String>,
    #[serde(deserialize_with = "nullable", alias = "numericProperties")]
    pub numeric_properties: BTreeMap<String, f64>,
    #[serde(deserialize_with = "crate::json::opt_int32", alias = "countMultiple")]
    pub count_multiple: Option<i32>,
}

/// `party_matchmaker_remove`: the leader cancels the party's ticket.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PartyMatchmakerRemove {
    #[serde(deserialize_with = "nullable", alias = "partyId")]
    pub party_id: String,
    #[serde(deserialize_with = "nullable")]
    pub ticket: String,
}

/// `status_follow`: receive the status presences of these users.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StatusFollow {
    #[serde(deserialize_with = "nullable", alias = "userIds")]
    pub user_ids: Vec<String>,
    #[serde(deserialize_with = "nullable")]
    pub usernames: Vec<String>,
}

/// `status_unfollow`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StatusUnfollow {
    #[serde(deserialize_with = "nullable", alias = "userIds")]
    pub user_ids: Vec<String>,
}

/// `status_update`: a status to show; no `status` at all means appear
/// offline.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StatusUpdate {
    pub status: Option<String>,
}

/// `channel_join`: a room by name (type 0 or 1), a direct conversation by
/// user id (2) or a group's channel by group id (3).
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ChannelJoin {
    #[serde(deserialize_with = "nullable")]
    pub target: String,
    #[serde(rename = "type", with = "crate::json::int32_lenient")]
    pub kind: i32,
    /// Whether this session's messages are kept in history (default true).
    pub persistence: Option<bool>,
    /// Whether this session is left out of presence lists and events.
    pub hidden: Option<bool>,
}

/// `channel_leave`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ChannelLeave {
    #[serde(deserialize_with = "nullable", alias = "channelId")]
    pub channel_id: String,
}

/// `channel_message_send`: `content` is a JSON object, as text.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ChannelMessageSend {
    #[serde(deserialize_with = "nullable", alias = "channelId")]
    pub channel_id: String,
    #[serde(deserialize_with = "nullable")]
    pub content: String,
}

/// `channel_message_update`: replaces one of the sender's messages.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ChannelMessageUpdate {
    #[serde(deserialize_with = "nullable", alias = "channelId")]
    pub channel_id: String,
    #[serde(deserialize_with = "nullable", alias = "messageId")]
    pub message_id: String,
    #[serde(deserialize_with = "nullable")]
    pub content: String,
}

/// `channel_message_remove`: deletes one of the sender's messages.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ChannelMessageRemove {
    #[serde(deserialize_with = "nullable", alias = "channelId")]
    pub channel_id: String,
    #[serde(deserialize_with = "nullable", alias = "messageId")]
    pub message_id: String,
}

/// `party_create`: a new party, led by its creator.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PartyCreate {
    /// Whether anyone may join (else the leader accepts requests).
    #[serde(deserialize_with = "nullable")]
    pub open: bool,
    #[serde(with = "crate::json::int32_lenient", alias = "maxSize")]
    pub max_size: i32,
    #[serde(deserialize_with = "nullable")]
    pub label: String,
    /// Whether the party is left out of listings.
    #[serde(deserialize_with = "nullable")]
    pub hidden: bool,
}

/// A message naming only a party: `party_join`, `party_leave`,
/// `party_close`, `party_join_request_list` (client) and `party_close`
/// (server: the party ended for this member).
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct PartyRef {
    #[serde(deserialize_with = "nullable", alias = "partyId")]
    pub party_id: String,
}

/// A message naming a party and one presence: `party_promote`,
/// `party_accept`, `party_remove`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PartyMember {
    #[serde(deserialize_with = "nullable", alias = "partyId")]
    pub party_id: String,
    /// Absent reads as the empty presence (which no member has).
    #[serde(deserialize_with = "nullable")]
    pub presence: UserPresence,
}

/// `party_data_send`: data for the party's other members.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PartyDataSend {
    #[serde(deserialize_with = "nullable", alias = "partyId")]
    pub party_id: String,
    #[serde(with = "crate::json::int64_string", alias = "opCode")]
    pub op_code: i64,
    #[serde(deserialize_with = "base64_bytes")]
    pub data: Bytes,
}

/// `party_update`: the leader sets the label, openness and visibility
/// (client); the same, told to every member (server).
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct PartyUpdate {
    #[serde(deserialize_with = "nullable", alias = "partyId")]
    pub party_id: String,
    #[serde(deserialize_with = "nullable", skip_serializing_if = "str::is_empty")]
    pub label: String,
    #[serde(
        deserialize_with = "nullable",
        skip_serializing_if = "crate::json::is_false"
    )]
    pub open: bool,
    #[serde(
        deserialize_with = "nullable",
        skip_serializing_if = "crate::json::is_false"
    )]
    pub hidden: bool,
}

/// A session's presence as clients see it (`rtapi.UserPresence`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct UserPresence {
    #[serde(deserialize_with = "nullable", alias = "userId")]
    pub user_id: String,
    #[serde(deserialize_with = "nullable", alias = "sessionId")]
    pub session_id: String,
    #[serde(deserialize_with = "nullable")]
    pub username: String,
    #[serde(
        deserialize_with = "nullable",
        skip_serializing_if = "crate::json::is_false"
    )]
    pub persistence: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
}

fn base64_bytes<'de, D: Deserializer<'de>>(d: D) -> Result<Bytes, D::Error> {
    // Read in place (no copy of the text) and decoded into a vector of
    // exactly the decoded length, which `Bytes` takes without a header of
    // its own: one allocation, the data's.
    let text = Option::<Text<'de>>::deserialize(d)?.map(|t| t.0);
    let text = text.as_deref().unwrap_or_default().as_bytes();
    decode_base64(text).map_err(|e| match e {
        base64::DecodeSliceError::DecodeError(e) => {
            de::Error::custom(format!("data is not base64: {e}"))
        }
        // Only text that is not base64 decodes past its length.
        base64::DecodeSliceError::OutputSliceTooSmall => de::Error::custom("data is not base64"),
    })
}

/// `data`'s bytes, padded base64 or not, in a vector of exactly their
/// length.
fn decode_base64(text: &[u8]) -> Result<Bytes, base64::DecodeSliceError> {
    if let Some(data) = base64_canonical::decode(text) {
        return Ok(Bytes::from(data));
    }
    let mut data = vec![0u8; base64_decoded_len(text)];
    let n = BASE64.decode_slice(text, &mut data)?;
    data.truncate(n);
    Ok(Bytes::from(data))
}

/// How many bytes valid base64 `text` decodes to, padded or not (for
/// invalid text, a length the decoder then refuses the text within).
fn base64_decoded_len(text: &[u8]) -> usize {
    let padding = text
        .iter()
        .rev()
        .take(2)
        .take_while(|&&c| c == b'=')
        .count();
    let n = text.len() - padding;
    n / 4 * 3 + [0, 0, 1, 2][n % 4]
}

/// Standard base64, padding optional on input (clients differ).
const BASE64: base64::engine::GeneralPurpose = base64::engine::GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    base64::engine::GeneralPurposeConfig::new()
        .with_decode_padding_mode(base64::engine::DecodePaddingMode::Indifferent),
);

/// A decoded client envelope.
#[derive(Clone, Debug, PartialEq)]
pub struct Envelope {
    pub cid: String,
    pub message: Incoming,
}

/// Why a client envelope was refused, with the realtime error to answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DecodeError {
    pub code: ErrorCode,
    pub message: String,
}

impl Envelope {
    /// Decodes one JSON envelope. `match_data_send` in the form clients
    /// send it is read by hand ([`match_data_send_json`]); everything else,
    /// and every error, by serde.
    pub fn from_json(text: &[u8]) -> Result<Envelope, DecodeError> {
        match match_data_send_json::read(text) {
            Some(envelope) => Ok(envelope),
            None => Self::from_json_serde(text),
        }
    }

    /// [`from_json`](Self::from_json) through serde alone: the reference
    /// its hand-written reader is checked against, by its tests and by the
    /// `rt_json` fuzz target.
    #[doc(hidden)]
    pub fn from_json_serde(text: &[u8]) -> Result<Envelope, DecodeError> {
        match std::str::from_utf8(text) {
            Ok(text) => Self::from_str_serde(text),
            // serde_json's own error, with its position.
            Err(_) => Self::from_serde(serde_json::from_slice(text)),
        }
    }

    /// Text already checked as UTF-8, through serde_json's str reader,
    /// which does not check each string again (its byte reader does).
    fn from_str_serde(text: &str) -> Result<Envelope, DecodeError> {
        Self::from_serde(serde_json::from_str(text))
    }

    /// The envelope serde read, or the realtime error to answer.
    fn from_serde(raw: Result<RawEnvelope, serde_json::Error>) -> Result<Envelope, DecodeError> {
        let raw = raw.map_err(|e| DecodeError {
            code: ErrorCode::UnrecognizedPayload,
            message: format!("Unrecognized payload: {e}"),
        })?;
        let message = raw.message.ok_or_else(|| DecodeError {
            code: ErrorCode::MissingPayload,
            message: "Missing message.".into(),
        })?;
        Ok(Envelope {
            cid: raw.cid,
            message,
        })
    }
}

struct RawEnvelope {
    cid: String,
    message: Option<Incoming>,
}

impl<'de> Deserialize<'de> for RawEnvelope {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_map(EnvelopeVisitor)
    }
}

struct EnvelopeVisitor;

/// A message with no fields: `{}`; unknown fields are refused.
#[derive(Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
struct Empty {}

impl<'de> Visitor<'de> for EnvelopeVisitor {
    type Value = RawEnvelope;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a realtime envelope object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<RawEnvelope, A::Error> {
        let mut cid = String::new();
        let mut message = None;
        while let Some(Text(key)) = map.next_key::<Text<'de>>()? {
            if key == "cid" {
                cid = map.next_value::<Option<String>>()?.unwrap_or_default();
                continue;
            }
            let Some(&name) = CLIENT_MESSAGES.iter().find(|m| **m == key) else {
                return Err(de::Error::custom(format!("unknown field `{key}`")));
            };
            if message.is_some() {
                return Err(de::Error::custom(format!(
                    "more than one message (`{key}`)"
                )));
            }
            message = Some(names::json_message(name, &mut map)?);
        }
        Ok(RawEnvelope { cid, message })
    }
}

/// A JSON string (an envelope's field name, `data`'s base64), borrowed
/// from the input where it can be: serde's own `Cow<str>` always copies,
/// which cost every envelope an allocation for its message's name.
struct Text<'de>(Cow<'de, str>);

impl<'de> Deserialize<'de> for Text<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct TextVisitor;
        impl<'de> Visitor<'de> for TextVisitor {
            type Value = Text<'de>;

            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a string")
            }

            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Text<'de>, E> {
                Ok(Text(Cow::Borrowed(v)))
            }

            /// A string with escapes, which the parser had to rewrite.
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Text<'de>, E> {
                Ok(Text(Cow::Owned(v.to_owned())))
            }
        }
        d.deserialize_str(TextVisitor)
    }
}

/// A message the server sends. It serializes as `{"<name>": body}`, its
/// name from the table ([`crate::messages`]).
#[derive(Clone, Debug, PartialEq)]
pub enum Outgoing {
    Pong {},
    Error(ErrorBody),
    Match(MatchOut),
    MatchPresenceEvent(MatchPresenceEvent),
    MatchData(MatchData),
    Status(StatusOut),
    StatusPresenceEvent(StatusPresenceEvent),
    Channel(ChannelOut),
    ChannelMessageAck(ChannelMessageAck),
    ChannelMessage(crate::api::ChannelMessage),
    ChannelPresenceEvent(ChannelPresenceEvent),
    Notifications(NotificationsOut),
    Rpc(RpcOut),
    StreamData(StreamData),
    StreamPresenceEvent(StreamPresenceEvent),
    Party(PartyOut),
    PartyLeader(PartyLeader),
    PartyClose(PartyRef),
    PartyJoinRequest(PartyJoinRequest),
    PartyData(PartyData),
    PartyPresenceEvent(PartyPresenceEvent),
    PartyUpdate(PartyUpdate),
    MatchmakerTicket(MatchmakerTicket),
    MatchmakerMatched(MatchmakerMatched),
    PartyMatchmakerTicket(PartyMatchmakerTicket),
}

/// `rtapi.Party`: a party as one member sees it (the reply to
/// `party_create`, and what an admitted joiner is told).
#[derive(Clone, Debug, Default, Serialize, PartialEq, Eq)]
pub struct PartyOut {
    pub party_id: String,
    #[serde(skip_serializing_if = "crate::json::is_false")]
    pub open: bool,
    #[serde(skip_serializing_if = "crate::json::is_false")]
    pub hidden: bool,
    #[serde(skip_serializing_if = "crate::json::is_zero_i32")]
    pub max_size: i32,
    #[serde(rename = "self")]
    pub self_: UserPresence,
    pub leader: UserPresence,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub presences: Vec<UserPresence>,
    #[serde(skip_serializing_if = "str::is_empty")]
    pub label: String,
}

/// `rtapi.PartyLeader`: the party has a new leader.
#[derive(Clone, Debug, Default, Serialize, PartialEq, Eq)]
pub struct PartyLeader {
    pub party_id: String,
    pub presence: UserPresence,
}

/// `rtapi.PartyJoinRequest`: presences asking to join (pushed to the
/// leader one at a time, and the reply to `party_join_request_list`).
#[derive(Clone, Debug, Default, Serialize, PartialEq, Eq)]
pub struct PartyJoinRequest {
    pub party_id: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub presences: Vec<UserPresence>,
}

/// `rtapi.PartyData`: data from a member, with its presence.
#[derive(Clone, Debug, Default, Serialize, PartialEq, Eq)]
pub struct PartyData {
    pub party_id: String,
    pub presence: UserPresence,
    #[serde(
        serialize_with = "crate::json::int64_string::serialize",
        skip_serializing_if = "is_zero_i64"
    )]
    pub op_code: i64,
    #[serde(
        serialize_with = "serialize_base64",
        skip_serializing_if = "Bytes::is_empty"
    )]
    pub data: Bytes,
}

/// `rtapi.PartyPresenceEvent`.
#[derive(Clone, Debug, Default, Serialize, PartialEq, Eq)]
pub struct PartyPresenceEvent {
    pub party_id: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub joins: Vec<UserPresence>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub leaves: Vec<UserPresence>,
}

/// `rtapi.MatchmakerTicket`: the reply to `matchmaker_add`.
#[derive(Clone, Debug, Default, Serialize, PartialEq, Eq)]
pub struct MatchmakerTicket {
    pub ticket: String,
}

/// `rtapi.PartyMatchmakerTicket`: the reply to `party_matchmaker_add`,
/// also told to every other member of the party.
#[derive(Clone, Debug, Default, Serialize, PartialEq, Eq)]
pub struct PartyMatchmakerTicket {
    pub party_id: String,
    pub ticket: String,
}

/// `rtapi.MatchmakerMatched`: a ticket was matched. Exactly one of
/// `match_id` (a match the matched hook chose) and `token` (join it to
/// form a relayed match) is set.
#[derive(Clone, Debug, Default, Serialize, PartialEq)]
pub struct MatchmakerMatched {
    pub ticket: String,
    #[serde(skip_serializing_if = "str::is_empty")]
    pub match_id: String,
    #[serde(skip_serializing_if = "str::is_empty")]
    pub token: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub users: Vec<MatchmakerUser>,
    #[serde(rename = "self")]
    pub self_: MatchmakerUser,
}

/// `rtapi.MatchmakerMatched.MatchmakerUser`: a matched player and the
/// properties of its ticket.
#[derive(Clone, Debug, Default, Serialize, PartialEq)]
pub struct MatchmakerUser {
    pub presence: UserPresence,
    #[serde(skip_serializing_if = "str::is_empty")]
    pub party_id: String,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub string_properties: BTreeMap<String, String>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub numeric_properties: BTreeMap<String, f64>,
}

/// `api.Rpc`: an RPC's result, with the id it was called by.
#[derive(Clone, Debug, Default, Serialize, PartialEq, Eq)]
pub struct RpcOut {
    pub id: String,
    #[serde(skip_serializing_if = "str::is_empty")]
    pub payload: String,
}

/// `rtapi.Channel`: the reply to `channel_join`.
#[derive(Clone, Debug, Default, Serialize, PartialEq, Eq)]
pub struct ChannelOut {
    pub id: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub presences: Vec<UserPresence>,
    #[serde(rename = "self")]
    pub self_: UserPresence,
    #[serde(skip_serializing_if = "str::is_empty")]
    pub room_name: String,
    #[serde(skip_serializing_if = "str::is_empty")]
    pub group_id: String,
    #[serde(skip_serializing_if = "str::is_empty")]
    pub user_id_one: String,
    #[serde(skip_serializing_if = "str::is_empty")]
    pub user_id_two: String,
}

/// `rtapi.ChannelMessageAck`: the reply to a message send, update or
/// remove. `code` and `persistent` are wrappers, written even when zero.
#[derive(Clone, Debug, Default, Serialize, PartialEq, Eq)]
pub struct ChannelMessageAck {
    pub channel_id: String,
    pub message_id: String,
    pub code: i32,
    pub username: String,
    pub create_time: String,
    pub update_time: String,
    pub persistent: bool,
    #[serde(skip_serializing_if = "str::is_empty")]
    pub room_name: String,
    #[serde(skip_serializing_if = "str::is_empty")]
    pub group_id: String,
    #[serde(skip_serializing_if = "str::is_empty")]
    pub user_id_one: String,
    #[serde(skip_serializing_if = "str::is_empty")]
    pub user_id_two: String,
}

/// `rtapi.ChannelPresenceEvent`.
#[derive(Clone, Debug, Default, Serialize, PartialEq, Eq)]
pub struct ChannelPresenceEvent {
    pub channel_id: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub joins: Vec<UserPresence>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub leaves: Vec<UserPresence>,
    #[serde(skip_serializing_if = "str::is_empty")]
    pub room_name: String,
    #[serde(skip_serializing_if = "str::is_empty")]
    pub group_id: String,
    #[serde(skip_serializing_if = "str::is_empty")]
    pub user_id_one: String,
    #[serde(skip_serializing_if = "str::is_empty")]
    pub user_id_two: String,
}

/// `rtapi.Notifications`: notifications pushed live.
#[derive(Clone, Debug, Default, Serialize, PartialEq, Eq)]
pub struct NotificationsOut {
    pub notifications: Vec<crate::api::Notification>,
}

/// `rtapi.Status`: the reply to `status_follow`.
#[derive(Clone, Debug, Default, Serialize, PartialEq, Eq)]
pub struct StatusOut {
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub presences: Vec<UserPresence>,
}

/// `rtapi.StatusPresenceEvent`.
#[derive(Clone, Debug, Default, Serialize, PartialEq, Eq)]
pub struct StatusPresenceEvent {
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub joins: Vec<UserPresence>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub leaves: Vec<UserPresence>,
}

/// `rtapi.Match`: the reply to `match_create` and `match_join`.
#[derive(Clone, Debug, Default, Serialize, PartialEq, Eq)]
pub struct MatchOut {
    pub match_id: String,
    #[serde(skip_serializing_if = "crate::json::is_false")]
    pub authoritative: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    #[serde(skip_serializing_if = "crate::json::is_zero_i32")]
    pub size: i32,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub presences: Vec<UserPresence>,
    #[serde(rename = "self")]
    pub self_: UserPresence,
}

/// `rtapi.MatchPresenceEvent`.
#[derive(Clone, Debug, Default, Serialize, PartialEq, Eq)]
pub struct MatchPresenceEvent {
    pub match_id: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub joins: Vec<UserPresence>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub leaves: Vec<UserPresence>,
}

/// `rtapi.MatchData`: relayed data, with the sender's presence.
#[derive(Clone, Debug, Default, Serialize, PartialEq, Eq)]
pub struct MatchData {
    pub match_id: String,
    pub presence: UserPresence,
    #[serde(
        serialize_with = "crate::json::int64_string::serialize",
        skip_serializing_if = "is_zero_i64"
    )]
    pub op_code: i64,
    #[serde(
        serialize_with = "serialize_base64",
        skip_serializing_if = "Bytes::is_empty"
    )]
    pub data: Bytes,
    #[serde(skip_serializing_if = "crate::json::is_false")]
    pub reliable: bool,
}

/// `rtapi.Stream`: a stream's identity as clients see it (a subject or
/// subcontext that is not set is empty).
#[derive(Clone, Debug, Default, Serialize, PartialEq, Eq)]
pub struct Stream {
    #[serde(skip_serializing_if = "crate::json::is_zero_i32")]
    pub mode: i32,
    #[serde(skip_serializing_if = "str::is_empty")]
    pub subject: String,
    #[serde(skip_serializing_if = "str::is_empty")]
    pub subcontext: String,
    #[serde(skip_serializing_if = "str::is_empty")]
    pub label: String,
}

/// `rtapi.StreamData`: data game code sent on a stream. `sender` is
/// absent for data the server sends (all that Kairos sends); `data` is a
/// string, not bytes.
#[derive(Clone, Debug, Default, Serialize, PartialEq, Eq)]
pub struct StreamData {
    pub stream: Stream,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sender: Option<UserPresence>,
    #[serde(skip_serializing_if = "str::is_empty")]
    pub data: String,
    #[serde(skip_serializing_if = "crate::json::is_false")]
    pub reliable: bool,
}

/// `rtapi.StreamPresenceEvent`: presences joining and leaving a stream of
/// a mode Kairos's own features don't use.
#[derive(Clone, Debug, Default, Serialize, PartialEq, Eq)]
pub struct StreamPresenceEvent {
    pub stream: Stream,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub joins: Vec<UserPresence>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub leaves: Vec<UserPresence>,
}

fn is_zero_i64(n: &i64) -> bool {
    *n == 0
}

fn serialize_base64<S: serde::Serializer>(data: &[u8], s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&base64::engine::general_purpose::STANDARD.encode(data))
}

/// `rtapi.Error`.
#[derive(Clone, Debug, Default, Serialize, PartialEq, Eq)]
pub struct ErrorBody {
    pub code: i32,
    pub message: String,
}

impl Outgoing {
    pub fn error(code: ErrorCode, message: impl Into<String>) -> Outgoing {
        Outgoing::Error(ErrorBody {
            code: code as i32,
            message: message.into(),
        })
    }

    /// An envelope with only a `cid`: the empty reply.
    pub fn empty_reply(cid: &str) -> Vec<u8> {
        serde_json::to_vec(&serde_json::json!({ "cid": cid })).expect("envelope serializes")
    }

    /// Encodes the envelope, with `cid` when it answers a request that had one.
    pub fn to_json(&self, cid: &str) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.json_len_hint(cid));
        self.write_json(&mut out, cid);
        out
    }

    /// Bytes to reserve for [`write_json`](Self::write_json), so that it
    /// need not grow the buffer: close for `match_data`, a guess for the
    /// rest.
    pub fn json_len_hint(&self, cid: &str) -> usize {
        match self {
            Outgoing::MatchData(m) => match_data_json::len_hint(cid, m),
            _ => 256,
        }
    }

    /// Appends [`to_json`](Self::to_json)'s bytes to `out`: for an encoder
    /// that writes the envelope after room it keeps for a frame header.
    /// `match_data`, the envelope every relayed message makes, is written
    /// directly ([`match_data_json`]); the rest goes through serde.
    pub fn write_json(&self, out: &mut Vec<u8>, cid: &str) {
        match self {
            Outgoing::MatchData(m) => match_data_json::write(out, cid, m),
            _ => {
                serde_json::to_writer(out, &self.serde_envelope(cid)).expect("envelope serializes")
            }
        }
    }

    /// [`write_json`](Self::write_json) for a message a session sends on
    /// behalf of itself: `sender` is [`presence_json`] of the presence
    /// `match_data` names, written once per session and copied whole into
    /// each message (any other envelope names no sender and is written as
    /// `write_json` writes it).
    pub fn write_json_from(&self, out: &mut Vec<u8>, cid: &str, sender: &[u8]) {
        match self {
            Outgoing::MatchData(m) => match_data_json::write_around(out, cid, m, sender),
            _ => self.write_json(out, cid),
        }
    }

    /// [`json_len_hint`](Self::json_len_hint) for
    /// [`write_json_from`](Self::write_json_from).
    pub fn json_len_hint_from(&self, cid: &str, sender: &[u8]) -> usize {
        match self {
            Outgoing::MatchData(m) => match_data_json::len_hint_around(cid, m, sender.len()),
            _ => self.json_len_hint(cid),
        }
    }

    /// The envelope as serde writes it: `{"cid": ..., "<name>": {...}}`.
    fn serde_envelope<'a>(&'a self, cid: &'a str) -> impl Serialize + 'a {
        #[derive(Serialize)]
        struct Out<'a> {
            #[serde(skip_serializing_if = "str::is_empty")]
            cid: &'a str,
            #[serde(flatten)]
            message: &'a Outgoing,
        }
        Out { cid, message: self }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Bytes that are not UTF-8 are refused as serde_json refuses them,
    /// with its position, whichever reader took them.
    #[test]
    fn refuses_text_that_is_not_utf8() {
        let e = Envelope::from_json(b"{\"match_data_send\":{\"match_id\":\"\xff.\"}}").unwrap_err();
        assert_eq!(e.code, ErrorCode::UnrecognizedPayload);
        assert_eq!(
            e.message,
            "Unrecognized payload: invalid unicode code point at line 1 column 33"
        );
        let e =
            Envelope::from_json(b"{\"match_data_send\":{\"match_id\":\"\\ud800.\"}}").unwrap_err();
        assert_eq!(e.code, ErrorCode::UnrecognizedPayload);
    }

    #[test]
    fn decodes_ping_with_cid() {
        let e = Envelope::from_json(br#"{"cid":"7","ping":{}}"#).unwrap();
        assert_eq!(
            e,
            Envelope {
                cid: "7".into(),
                message: Incoming::Ping
            }
        );
        let e = Envelope::from_json(br#"{"pong":{}}"#).unwrap();
        assert_eq!(e.message, Incoming::Pong);
    }

    /// `data` decodes to exactly its bytes at every length, padded or not,
    /// and with a `/` escaped as JSON allows; what is not base64 is refused.
    #[test]
    fn decodes_match_data_base64_of_every_length() {
        let data_of = |text: &str| {
            let json = format!(r#"{{"match_data_send":{{"match_id":"m.","data":"{text}"}}}}"#);
            Envelope::from_json(json.as_bytes()).map(|e| match e.message {
                Incoming::MatchDataSend(m) => m.data,
                other => panic!("not match data: {other:?}"),
            })
        };
        for len in 0..=20u8 {
            let raw: Vec<u8> = (0..len)
                .map(|i| i.wrapping_mul(37).wrapping_add(250))
                .collect();
            let padded = BASE64_PADDED.encode(&raw);
            let data = data_of(&padded).unwrap();
            assert_eq!(&data[..], &raw[..], "padded, {len} bytes");
            assert_eq!(base64_decoded_len(padded.as_bytes()), raw.len());
            let bare = padded.trim_end_matches('=');
            assert_eq!(
                &data_of(bare).unwrap()[..],
                &raw[..],
                "unpadded, {len} bytes"
            );
            let escaped = padded.replace('/', "\\/");
            assert_eq!(
                &data_of(&escaped).unwrap()[..],
                &raw[..],
                "escaped, {len} bytes"
            );
        }
        for bad in ["A", "AAAAA", "A===", "!!!!", "AB=C"] {
            assert_eq!(
                data_of(bad).unwrap_err().code,
                ErrorCode::UnrecognizedPayload,
                "{bad}"
            );
        }
    }

    const BASE64_PADDED: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;

    /// Names are read in place, except one with escapes, which the parser
    /// rewrites: the same message either way.
    #[test]
    fn decodes_a_field_name_written_with_escapes() {
        let e = Envelope::from_json(br#"{"cid":"7","ping":{}}"#).unwrap();
        assert_eq!((e.cid.as_str(), e.message), ("7", Incoming::Ping));
    }

    #[test]
    fn refuses_unknown_missing_and_malformed() {
        assert_eq!(
            Envelope::from_json(br#"{"cid":"1"}"#).unwrap_err().code,
            ErrorCode::MissingPayload
        );
        assert_eq!(
            Envelope::from_json(br#"{"nope":{}}"#).unwrap_err().code,
            ErrorCode::UnrecognizedPayload
        );
        assert_eq!(
            Envelope::from_json(br#"{"ping":{"x":1}}"#)
                .unwrap_err()
                .code,
            ErrorCode::UnrecognizedPayload
        );
        assert_eq!(
            Envelope::from_json(b"{").unwrap_err().code,
            ErrorCode::UnrecognizedPayload
        );
        assert_eq!(
            Envelope::from_json(b"[]").unwrap_err().code,
            ErrorCode::UnrecognizedPayload
        );
        assert_eq!(
            Envelope::from_json(br#"{"ping":{},"pong":{}}"#)
                .unwrap_err()
                .code,
            ErrorCode::UnrecognizedPayload
        );
    }

    #[test]
    fn known_messages_are_named() {
        let e = Envelope::from_json(br#"{"cid":"2","status_update":{}}"#).unwrap();
        assert_eq!(
            e.message,
            Incoming::StatusUpdate(StatusUpdate { status: None })
        );
        let e = Envelope::from_json(br#"{"status_update":{"status":"busy"}}"#).unwrap();
        assert_eq!(
            e.message,
            Incoming::StatusUpdate(StatusUpdate {
                status: Some("busy".into())
            })
        );
        let e = Envelope::from_json(
            br#"{"cid":"2","party_matchmaker_add":{"partyId":"p.k","minCount":2,"maxCount":"4","count_multiple":2}}"#,
        )
        .unwrap();
        assert_eq!(
            e.message,
            Incoming::PartyMatchmakerAdd(PartyMatchmakerAdd {
                party_id: "p.k".into(),
                min_count: 2,
                max_count: 4,
                count_multiple: Some(2),
                ..Default::default()
            })
        );
    }

    #[test]
    fn match_messages() {
        let e = Envelope::from_json(br#"{"cid":"2","match_create":{}}"#).unwrap();
        assert_eq!(e.message, Incoming::MatchCreate(MatchCreate::default()));
        let e = Envelope::from_json(
            br#"{"match_data_send":{"match_id":"m.","op_code":"7","data":"aGVsbG8=","presences":[{"user_id":"u","session_id":"s","username":"n"}],"reliable":true}}"#,
        )
        .unwrap();
        let Incoming::MatchDataSend(m) = e.message else {
            panic!()
        };
        assert_eq!(
            (m.op_code, &m.data[..], m.reliable, m.presences.len()),
            (7, &b"hello"[..], true, 1)
        );
        // op_code as a number, data without padding.
        let e = Envelope::from_json(
            br#"{"match_data_send":{"match_id":"m.","op_code":3,"data":"aGk"}}"#,
        )
        .unwrap();
        let Incoming::MatchDataSend(m) = e.message else {
            panic!()
        };
        assert_eq!((m.op_code, &m.data[..]), (3, &b"hi"[..]));
        assert!(Envelope::from_json(br#"{"match_data_send":{"data":"!!"}}"#).is_err());
        assert!(Envelope::from_json(br#"{"match_join":{"match_id":"x","bogus":1}}"#).is_err());
    }

    #[test]
    fn match_data_encodes_like_nakama() {
        let out = Outgoing::MatchData(MatchData {
            match_id: "m.".into(),
            presence: UserPresence {
                user_id: "u".into(),
                session_id: "s".into(),
                username: "n".into(),
                ..Default::default()
            },
            op_code: 1,
            data: Bytes::from_static(b"hello"),
            reliable: true,
        });
        assert_eq!(
            String::from_utf8(out.to_json("")).unwrap(),
            r#"{"match_data":{"match_id":"m.","presence":{"user_id":"u","session_id":"s","username":"n"},"op_code":"1","data":"aGVsbG8=","reliable":true}}"#
        );
        assert_eq!(Outgoing::empty_reply("4"), br#"{"cid":"4"}"#);
    }

    #[test]
    fn channel_messages() {
        let e = Envelope::from_json(
            br#"{"cid":"1","channel_join":{"target":"lobby","type":1,"persistence":false}}"#,
        )
        .unwrap();
        let Incoming::ChannelJoin(j) = e.message else {
            panic!()
        };
        assert_eq!(
            (j.target.as_str(), j.kind, j.persistence, j.hidden),
            ("lobby", 1, Some(false), None)
        );
        let e = Envelope::from_json(br#"{"channel_join":{"target":"x","type":"2"}}"#).unwrap();
        assert!(matches!(
            e.message,
            Incoming::ChannelJoin(ChannelJoin { kind: 2, .. })
        ));
        let e = Envelope::from_json(
            br#"{"channel_message_send":{"channel_id":"2...lobby","content":"{\"a\":1}"}}"#,
        )
        .unwrap();
        let Incoming::ChannelMessageSend(m) = e.message else {
            panic!()
        };
        assert_eq!(m.content, r#"{"a":1}"#);
        assert!(Envelope::from_json(br#"{"channel_leave":{"nope":1}}"#).is_err());
        let ack = Outgoing::ChannelMessageAck(ChannelMessageAck {
            channel_id: "2...r".into(),
            message_id: "m".into(),
            username: "u".into(),
            create_time: "t".into(),
            update_time: "t".into(),
            room_name: "r".into(),
            ..Default::default()
        });
        assert_eq!(
            String::from_utf8(ack.to_json("5")).unwrap(),
            r#"{"cid":"5","channel_message_ack":{"channel_id":"2...r","message_id":"m","code":0,"username":"u","create_time":"t","update_time":"t","persistent":false,"room_name":"r"}}"#
        );
    }

    #[test]
    fn encodes_replies() {
        assert_eq!(Outgoing::Pong {}.to_json("3"), br#"{"cid":"3","pong":{}}"#);
        assert_eq!(
            Outgoing::error(ErrorCode::BadInput, "bad").to_json(""),
            br#"{"error":{"code":3,"message":"bad"}}"#
        );
    }
}
