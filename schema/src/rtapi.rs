//! Nakama's realtime envelope (`realtime.proto`) in JSON.
//!
//! Every frame is one envelope: an optional `cid` and exactly one message
//! field. Unlike REST, realtime JSON refuses unknown fields.

use std::fmt;

use serde::de::{self, IgnoredAny, MapAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize};

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

/// Every message name a client may send in Nakama's envelope.
pub const CLIENT_MESSAGES: &[&str] = &[
    "channel_join",
    "channel_leave",
    "channel_message_send",
    "channel_message_update",
    "channel_message_remove",
    "match_create",
    "match_data_send",
    "match_join",
    "match_leave",
    "matchmaker_add",
    "matchmaker_remove",
    "party_create",
    "party_join",
    "party_leave",
    "party_promote",
    "party_accept",
    "party_remove",
    "party_close",
    "party_join_request_list",
    "party_matchmaker_add",
    "party_matchmaker_remove",
    "party_data_send",
    "party_update",
    "rpc",
    "status_follow",
    "status_unfollow",
    "status_update",
    "ping",
    "pong",
];

/// A message received from a client.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Incoming {
    Ping,
    Pong,
    /// A valid Nakama message this server does not handle yet, by name.
    Unhandled(&'static str),
}

/// A decoded client envelope.
#[derive(Clone, Debug, PartialEq, Eq)]
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
    /// Decodes one JSON envelope.
    pub fn from_json(text: &[u8]) -> Result<Envelope, DecodeError> {
        let raw: RawEnvelope = serde_json::from_slice(text).map_err(|e| DecodeError {
            code: ErrorCode::UnrecognizedPayload,
            message: format!("Unrecognized payload: {e}"),
        })?;
        let message = raw.message.ok_or(DecodeError {
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
#[derive(Deserialize)]
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
        while let Some(key) = map.next_key::<std::borrow::Cow<'de, str>>()? {
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
            message = Some(match name {
                "ping" => {
                    map.next_value::<Option<Empty>>()?;
                    Incoming::Ping
                }
                "pong" => {
                    map.next_value::<Option<Empty>>()?;
                    Incoming::Pong
                }
                other => {
                    map.next_value::<IgnoredAny>()?;
                    Incoming::Unhandled(other)
                }
            });
        }
        Ok(RawEnvelope { cid, message })
    }
}

/// A message the server sends.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub enum Outgoing {
    #[serde(rename = "pong")]
    Pong {},
    #[serde(rename = "error")]
    Error(ErrorBody),
}

/// `rtapi.Error`.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
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

    /// Encodes the envelope, with `cid` when it answers a request that had one.
    pub fn to_json(&self, cid: &str) -> Vec<u8> {
        #[derive(Serialize)]
        struct Out<'a> {
            #[serde(skip_serializing_if = "str::is_empty")]
            cid: &'a str,
            #[serde(flatten)]
            message: &'a Outgoing,
        }
        serde_json::to_vec(&Out { cid, message: self }).expect("envelope serializes")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
        let e = Envelope::from_json(br#"{"cid":"2","match_create":{}}"#).unwrap();
        assert_eq!(e.message, Incoming::Unhandled("match_create"));
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
