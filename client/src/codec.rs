//! The three encodings of Nakama's realtime envelope, client side:
//! [`Incoming`] requests out, server envelopes back into [`Outgoing`].
//!
//! * [`Wire::Json`]: Nakama's JSON envelope (`{"cid": "1", "ping": {}}`),
//!   int64 fields as strings, bytes as standard base64. The server's
//!   [`Outgoing`] model only serializes, so the JSON → `Outgoing` mapping
//!   is written here, over `serde_json::Value`, as leniently as protojson
//!   reads; which variant a key is comes from the schema's table of
//!   messages ([`Outgoing::empty`]), as do the keys of requests
//!   ([`Incoming::name`]).
//! * [`Wire::Protobuf`]: Nakama's protobuf envelope
//!   ([`kairos_schema::proto`]).
//! * [`Wire::FlatBuffers`]: Kairos's FlatBuffers envelope
//!   ([`kairos_schema::flat`]); the only wire of reliable UDP and QUIC.
//!
//! Server messages that [`Outgoing`] does not model (party matchmaking
//! messages, which Kairos does not send yet) decode to
//! [`Decoded::Unknown`] with their name, so a client can skip them.

use base64::Engine;
use bytes::Bytes;
use kairos_schema::api::{ChannelMessage, Notification};
use kairos_schema::rtapi::{
    ChannelMessageAck, ChannelOut, ChannelPresenceEvent, ErrorBody, Incoming, MatchData, MatchOut,
    MatchPresenceEvent, MatchmakerMatched, MatchmakerTicket, MatchmakerUser, NotificationsOut,
    Outgoing, PartyData, PartyJoinRequest, PartyLeader, PartyMatchmakerTicket, PartyOut,
    PartyPresenceEvent, PartyRef, PartyUpdate, RpcOut, StatusOut, StatusPresenceEvent, Stream,
    StreamData, StreamPresenceEvent, UserPresence,
};
use serde_json::{Map, Value};

use crate::error::{Error, Result};

/// One message from the server: a reply to a request (its `cid` set) or
/// a push (`cid` empty).
#[derive(Clone, Debug, PartialEq)]
pub struct ServerMessage {
    /// The `cid` of the request this answers; empty for a push.
    pub cid: String,
    /// The message; `None` is the empty reply (an envelope with only a
    /// `cid`), which answers `match_leave`, `channel_leave`,
    /// `status_update`, ...
    pub message: Option<Outgoing>,
}

impl ServerMessage {
    /// Whether this is a push rather than a reply.
    pub fn is_push(&self) -> bool {
        self.cid.is_empty()
    }
}

/// What a server frame decodes to.
// Transient: decoded, then moved into a queue or dropped.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug, PartialEq)]
pub enum Decoded {
    /// A message of the model.
    Message(ServerMessage),
    /// A valid envelope with a server message [`Outgoing`] does not model,
    /// by name (with its `cid`).
    Unknown {
        /// The request's `cid`, or empty.
        cid: String,
        /// The message's name in Nakama's envelope.
        name: String,
    },
}

/// An encoding of the realtime envelope.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Wire {
    /// Nakama's JSON (WebSocket text frames).
    Json,
    /// Nakama's protobuf (WebSocket binary frames).
    Protobuf,
    /// Kairos's FlatBuffers (WebSocket binary frames, reliable UDP, QUIC).
    FlatBuffers,
}

impl Wire {
    /// The `format` query parameter of `/ws` for this wire.
    pub const fn ws_format(self) -> &'static str {
        match self {
            Wire::Json => "json",
            Wire::Protobuf => "protobuf",
            Wire::FlatBuffers => "flatbuffers",
        }
    }

    /// Encodes one client envelope; an empty `cid` is left out.
    pub fn encode_request(self, cid: &str, message: &Incoming) -> Vec<u8> {
        match self {
            Wire::Json => encode_json_request(cid, message),
            Wire::Protobuf => kairos_schema::proto::encode_request(cid, message),
            Wire::FlatBuffers => kairos_schema::flat::encode_request(cid, message),
        }
    }

    /// Decodes one server envelope.
    pub fn decode(self, frame: &[u8]) -> Result<Decoded> {
        match self {
            Wire::Json => decode_json(frame),
            Wire::Protobuf => decode_proto(frame),
            Wire::FlatBuffers => decode_flat(frame),
        }
    }
}

// ---- JSON, client → server ---------------------------------------------------

/// Nakama's JSON envelope for a client message: `{"cid":..., "<name>":
/// {...}}`, the shape `rtapi::Envelope::from_json` reads (written by the
/// schema's encoder, [`Incoming::to_json_envelope`]).
pub fn encode_json_request(cid: &str, message: &Incoming) -> Vec<u8> {
    serde_json::to_vec(&message.to_json_envelope(cid)).expect("JSON values serialize")
}

// ---- JSON, server → client ---------------------------------------------------

/// Decodes a server envelope in Nakama's JSON into the [`Outgoing`] model.
/// Fields may be absent (their defaults) or `null`; int64 fields are read
/// from strings or numbers; names may be snake_case or lowerCamelCase;
/// unknown fields are ignored.
pub fn decode_json(frame: &[u8]) -> Result<Decoded> {
    let value: Value = serde_json::from_slice(frame)
        .map_err(|e| Error::Decode(format!("server frame is not JSON: {e}")))?;
    let Value::Object(envelope) = value else {
        return Err(Error::Decode("server envelope is not a JSON object".into()));
    };
    let cid = match envelope.get("cid") {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Number(n)) => n.to_string(),
        _ => String::new(),
    };
    let Some((name, body)) = envelope.iter().find(|(k, _)| k.as_str() != "cid") else {
        return Ok(Decoded::Message(ServerMessage { cid, message: None }));
    };
    let empty = Map::new();
    let m = Fields(match body {
        Value::Object(o) => o,
        _ => &empty,
    });
    // The message of that name with its defaults: which variant to read.
    let Some(kind) = Outgoing::empty(name) else {
        return Ok(Decoded::Unknown {
            cid,
            name: name.clone(),
        });
    };
    let message = match kind {
        Outgoing::Pong {} => Outgoing::Pong {},
        Outgoing::Error(_) => Outgoing::Error(ErrorBody {
            code: m.i32("code")?,
            message: m.string("message")?,
        }),
        Outgoing::Match(_) => Outgoing::Match(MatchOut {
            match_id: m.string("match_id")?,
            authoritative: m.bool("authoritative")?,
            label: m.opt_string("label")?,
            size: m.i32("size")?,
            presences: m.presences("presences")?,
            self_: m.presence("self")?,
        }),
        Outgoing::MatchPresenceEvent(_) => Outgoing::MatchPresenceEvent(MatchPresenceEvent {
            match_id: m.string("match_id")?,
            joins: m.presences("joins")?,
            leaves: m.presences("leaves")?,
        }),
        Outgoing::MatchData(_) => Outgoing::MatchData(MatchData {
            match_id: m.string("match_id")?,
            presence: m.presence("presence")?,
            op_code: m.i64("op_code")?,
            data: m.base64("data")?,
            reliable: m.bool("reliable")?,
        }),
        Outgoing::Status(_) => Outgoing::Status(StatusOut {
            presences: m.presences("presences")?,
        }),
        Outgoing::MatchmakerTicket(_) => Outgoing::MatchmakerTicket(MatchmakerTicket {
            ticket: m.string("ticket")?,
        }),
        Outgoing::PartyMatchmakerTicket(_) => {
            Outgoing::PartyMatchmakerTicket(PartyMatchmakerTicket {
                party_id: m.string("party_id")?,
                ticket: m.string("ticket")?,
            })
        }
        Outgoing::MatchmakerMatched(_) => Outgoing::MatchmakerMatched(MatchmakerMatched {
            ticket: m.string("ticket")?,
            match_id: m.string("match_id")?,
            token: m.string("token")?,
            users: m
                .list("users")?
                .iter()
                .map(matchmaker_user_from)
                .collect::<Result<_>>()?,
            self_: match m.get("self") {
                None => MatchmakerUser::default(),
                Some(v) => matchmaker_user_from(v)?,
            },
        }),
        Outgoing::Rpc(_) => Outgoing::Rpc(RpcOut {
            id: m.string("id")?,
            payload: m.string("payload")?,
        }),
        Outgoing::StatusPresenceEvent(_) => Outgoing::StatusPresenceEvent(StatusPresenceEvent {
            joins: m.presences("joins")?,
            leaves: m.presences("leaves")?,
        }),
        Outgoing::Channel(_) => Outgoing::Channel(ChannelOut {
            id: m.string("id")?,
            presences: m.presences("presences")?,
            self_: m.presence("self")?,
            room_name: m.string("room_name")?,
            group_id: m.string("group_id")?,
            user_id_one: m.string("user_id_one")?,
            user_id_two: m.string("user_id_two")?,
        }),
        Outgoing::ChannelMessageAck(_) => Outgoing::ChannelMessageAck(ChannelMessageAck {
            channel_id: m.string("channel_id")?,
            message_id: m.string("message_id")?,
            code: m.i32("code")?,
            username: m.string("username")?,
            create_time: m.string("create_time")?,
            update_time: m.string("update_time")?,
            persistent: m.bool("persistent")?,
            room_name: m.string("room_name")?,
            group_id: m.string("group_id")?,
            user_id_one: m.string("user_id_one")?,
            user_id_two: m.string("user_id_two")?,
        }),
        Outgoing::ChannelMessage(_) => Outgoing::ChannelMessage(ChannelMessage {
            channel_id: m.string("channel_id")?,
            message_id: m.string("message_id")?,
            code: m.i32("code")?,
            sender_id: m.string("sender_id")?,
            username: m.string("username")?,
            content: m.string("content")?,
            create_time: m.string("create_time")?,
            update_time: m.string("update_time")?,
            persistent: m.bool("persistent")?,
            room_name: m.string("room_name")?,
            group_id: m.string("group_id")?,
            user_id_one: m.string("user_id_one")?,
            user_id_two: m.string("user_id_two")?,
        }),
        Outgoing::ChannelPresenceEvent(_) => Outgoing::ChannelPresenceEvent(ChannelPresenceEvent {
            channel_id: m.string("channel_id")?,
            joins: m.presences("joins")?,
            leaves: m.presences("leaves")?,
            room_name: m.string("room_name")?,
            group_id: m.string("group_id")?,
            user_id_one: m.string("user_id_one")?,
            user_id_two: m.string("user_id_two")?,
        }),
        Outgoing::Notifications(_) => Outgoing::Notifications(NotificationsOut {
            notifications: m
                .list("notifications")?
                .iter()
                .map(|n| {
                    let n = Fields::of(n, "notification")?;
                    Ok(Notification {
                        id: n.string("id")?,
                        subject: n.string("subject")?,
                        content: n.string("content")?,
                        code: n.i32("code")?,
                        sender_id: n.string("sender_id")?,
                        create_time: n.string("create_time")?,
                        persistent: n.bool("persistent")?,
                    })
                })
                .collect::<Result<_>>()?,
        }),
        Outgoing::StreamData(_) => Outgoing::StreamData(StreamData {
            stream: m.stream("stream")?,
            sender: match m.get("sender") {
                None => None,
                Some(v) => Some(presence_from(v)?),
            },
            data: m.string("data")?,
            reliable: m.bool("reliable")?,
        }),
        Outgoing::StreamPresenceEvent(_) => Outgoing::StreamPresenceEvent(StreamPresenceEvent {
            stream: m.stream("stream")?,
            joins: m.presences("joins")?,
            leaves: m.presences("leaves")?,
        }),
        Outgoing::Party(_) => Outgoing::Party(PartyOut {
            party_id: m.string("party_id")?,
            open: m.bool("open")?,
            hidden: m.bool("hidden")?,
            max_size: m.i32("max_size")?,
            self_: m.presence("self")?,
            leader: m.presence("leader")?,
            presences: m.presences("presences")?,
            label: m.string("label")?,
        }),
        Outgoing::PartyLeader(_) => Outgoing::PartyLeader(PartyLeader {
            party_id: m.string("party_id")?,
            presence: m.presence("presence")?,
        }),
        Outgoing::PartyClose(_) => Outgoing::PartyClose(PartyRef {
            party_id: m.string("party_id")?,
        }),
        Outgoing::PartyJoinRequest(_) => Outgoing::PartyJoinRequest(PartyJoinRequest {
            party_id: m.string("party_id")?,
            presences: m.presences("presences")?,
        }),
        Outgoing::PartyData(_) => Outgoing::PartyData(PartyData {
            party_id: m.string("party_id")?,
            presence: m.presence("presence")?,
            op_code: m.i64("op_code")?,
            data: m.base64("data")?,
        }),
        Outgoing::PartyPresenceEvent(_) => Outgoing::PartyPresenceEvent(PartyPresenceEvent {
            party_id: m.string("party_id")?,
            joins: m.presences("joins")?,
            leaves: m.presences("leaves")?,
        }),
        Outgoing::PartyUpdate(_) => Outgoing::PartyUpdate(PartyUpdate {
            party_id: m.string("party_id")?,
            label: m.string("label")?,
            open: m.bool("open")?,
            hidden: m.bool("hidden")?,
        }),
    };
    if !matches!(body, Value::Object(_) | Value::Null) {
        return Err(Error::Decode(format!("`{name}` is not an object")));
    }
    Ok(Decoded::Message(ServerMessage {
        cid,
        message: Some(message),
    }))
}

/// The fields of one JSON message, read leniently.
struct Fields<'a>(&'a Map<String, Value>);

fn bad(key: &str, want: &str) -> Error {
    Error::Decode(format!("field `{key}` is not {want}"))
}

/// `match_id` → `matchId`.
fn camel(key: &str) -> String {
    let mut out = String::with_capacity(key.len());
    let mut upper = false;
    for c in key.chars() {
        if c == '_' {
            upper = true;
        } else if upper {
            out.extend(c.to_uppercase());
            upper = false;
        } else {
            out.push(c);
        }
    }
    out
}

impl<'a> Fields<'a> {
    fn of(v: &'a Value, what: &str) -> Result<Fields<'a>> {
        match v {
            Value::Object(o) => Ok(Fields(o)),
            _ => Err(Error::Decode(format!("{what} is not an object"))),
        }
    }

    /// The value under `key` (or its camelCase spelling), `null` as absent.
    fn get(&self, key: &str) -> Option<&'a Value> {
        let v = self.0.get(key).or_else(|| {
            if key.contains('_') {
                self.0.get(&camel(key))
            } else {
                None
            }
        });
        v.filter(|v| !v.is_null())
    }

    fn opt_string(&self, key: &str) -> Result<Option<String>> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            // A StringValue wrapper written as an object.
            Some(Value::Object(o)) => match o.get("value") {
                Some(Value::String(s)) => Ok(Some(s.clone())),
                _ => Err(bad(key, "a string")),
            },
            Some(_) => Err(bad(key, "a string")),
        }
    }

    fn string(&self, key: &str) -> Result<String> {
        Ok(self.opt_string(key)?.unwrap_or_default())
    }

    fn bool(&self, key: &str) -> Result<bool> {
        match self.get(key) {
            None => Ok(false),
            Some(Value::Bool(b)) => Ok(*b),
            Some(Value::String(s)) if s == "true" => Ok(true),
            Some(Value::String(s)) if s == "false" => Ok(false),
            Some(_) => Err(bad(key, "a boolean")),
        }
    }

    fn i64(&self, key: &str) -> Result<i64> {
        match self.get(key) {
            None => Ok(0),
            Some(Value::Number(n)) => n.as_i64().ok_or_else(|| bad(key, "an integer")),
            Some(Value::String(s)) => s.parse().map_err(|_| bad(key, "an integer")),
            Some(_) => Err(bad(key, "an integer")),
        }
    }

    fn i32(&self, key: &str) -> Result<i32> {
        i32::try_from(self.i64(key)?).map_err(|_| bad(key, "a 32-bit integer"))
    }

    fn base64(&self, key: &str) -> Result<Bytes> {
        let text = self.string(key)?;
        let engine = base64::engine::GeneralPurpose::new(
            &base64::alphabet::STANDARD,
            base64::engine::GeneralPurposeConfig::new()
                .with_decode_padding_mode(base64::engine::DecodePaddingMode::Indifferent),
        );
        engine
            .decode(text.as_bytes())
            .map(Bytes::from)
            .map_err(|_| bad(key, "base64"))
    }

    fn list(&self, key: &str) -> Result<&'a [Value]> {
        match self.get(key) {
            None => Ok(&[]),
            Some(Value::Array(a)) => Ok(a),
            Some(_) => Err(bad(key, "a list")),
        }
    }

    fn presence(&self, key: &str) -> Result<UserPresence> {
        match self.get(key) {
            None => Ok(UserPresence::default()),
            Some(v) => presence_from(v),
        }
    }

    fn presences(&self, key: &str) -> Result<Vec<UserPresence>> {
        self.list(key)?.iter().map(presence_from).collect()
    }

    /// A stream's identity; absent is the default stream.
    fn stream(&self, key: &str) -> Result<Stream> {
        let Some(v) = self.get(key) else {
            return Ok(Stream::default());
        };
        let s = Fields::of(v, "stream")?;
        Ok(Stream {
            mode: s.i32("mode")?,
            subject: s.string("subject")?,
            subcontext: s.string("subcontext")?,
            label: s.string("label")?,
        })
    }
}

fn matchmaker_user_from(v: &Value) -> Result<MatchmakerUser> {
    let u = Fields::of(v, "user")?;
    let strings = match u.get("string_properties") {
        None => Default::default(),
        Some(v) => {
            serde_json::from_value(v.clone()).map_err(|_| bad("string_properties", "a map"))?
        }
    };
    let numbers = match u.get("numeric_properties") {
        None => Default::default(),
        Some(v) => {
            serde_json::from_value(v.clone()).map_err(|_| bad("numeric_properties", "a map"))?
        }
    };
    Ok(MatchmakerUser {
        presence: u.presence("presence")?,
        party_id: u.string("party_id")?,
        string_properties: strings,
        numeric_properties: numbers,
    })
}

fn presence_from(v: &Value) -> Result<UserPresence> {
    let p = Fields::of(v, "presence")?;
    Ok(UserPresence {
        user_id: p.string("user_id")?,
        session_id: p.string("session_id")?,
        username: p.string("username")?,
        persistence: p.bool("persistence")?,
        status: p.opt_string("status")?,
    })
}

// ---- binary wires --------------------------------------------------------

fn decode_proto(frame: &[u8]) -> Result<Decoded> {
    let envelope =
        kairos_schema::proto::decode_server(frame).map_err(|e| Error::Decode(e.message))?;
    let Some(message) = &envelope.message else {
        return Ok(Decoded::Message(ServerMessage {
            cid: envelope.cid,
            message: None,
        }));
    };
    match kairos_schema::proto::to_outgoing(message) {
        Some(out) => Ok(Decoded::Message(ServerMessage {
            cid: envelope.cid,
            message: Some(out),
        })),
        None => Ok(Decoded::Unknown {
            cid: envelope.cid,
            name: message.name().to_owned(),
        }),
    }
}

fn decode_flat(frame: &[u8]) -> Result<Decoded> {
    match kairos_schema::flat::decode_outgoing(frame) {
        Ok(envelope) => Ok(Decoded::Message(ServerMessage {
            cid: envelope.cid,
            message: envelope.message,
        })),
        Err(e) => {
            // A valid envelope whose message the model lacks is refused
            // by name: `name` is not a server message Kairos models.
            let name = e
                .message
                .split('`')
                .nth(1)
                .filter(|_| e.message.ends_with("is not a server message Kairos models"));
            match name {
                Some(name) => {
                    use planus::ReadAsRoot;
                    let cid = kairos_schema::flat::fb::EnvelopeRef::read_as_root(frame)
                        .ok()
                        .and_then(|env| env.cid().ok().flatten().map(str::to_owned))
                        .unwrap_or_default();
                    Ok(Decoded::Unknown {
                        cid,
                        name: name.to_owned(),
                    })
                }
                None => Err(Error::Decode(e.message)),
            }
        }
    }
}
