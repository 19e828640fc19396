//! Server envelopes in Nakama's JSON read back into [`Outgoing`]: what a
//! client reads, and what game code gives as a table (Nakama's
//! `stream_send_raw`). [`Outgoing`] only serializes, so the mapping is
//! written here, over `serde_json::Value`, as leniently as protojson
//! reads: fields may be absent (their defaults) or `null`, int64 fields
//! strings or numbers, names snake_case or lowerCamelCase, and unknown
//! fields are ignored. Which variant a key is comes from the table of
//! messages ([`Outgoing::empty`]).

use base64::Engine;
use bytes::Bytes;
use serde_json::{Map, Value};

use super::{
    ChannelMessageAck, ChannelOut, ChannelPresenceEvent, ErrorBody, MatchData, MatchOut,
    MatchPresenceEvent, MatchmakerMatched, MatchmakerTicket, MatchmakerUser, NotificationsOut,
    Outgoing, PartyData, PartyJoinRequest, PartyLeader, PartyMatchmakerTicket, PartyOut,
    PartyPresenceEvent, PartyRef, PartyUpdate, RpcOut, StatusOut, StatusPresenceEvent, Stream,
    StreamData, StreamPresenceEvent, UserPresence,
};
use crate::api::{ChannelMessage, Notification};

/// Why an envelope does not read.
type Result<T> = std::result::Result<T, String>;

/// What a server envelope in JSON reads as.
// Transient: read, then used or dropped.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug, PartialEq)]
pub enum ServerJson {
    /// A message of the model (`None`: an envelope with only a `cid`, the
    /// empty reply), with the `cid` (empty for a push).
    Message {
        cid: String,
        message: Option<Outgoing>,
    },
    /// A server message [`Outgoing`] does not model, by its name.
    Unknown { cid: String, name: String },
}

/// Reads a server envelope: `{"cid": ..., "<message>": {...}}`.
pub fn decode_server_json(value: &Value) -> Result<ServerJson> {
    let Value::Object(envelope) = value else {
        return Err("server envelope is not a JSON object".into());
    };
    let cid = match envelope.get("cid") {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Number(n)) => n.to_string(),
        _ => String::new(),
    };
    let Some((name, body)) = envelope.iter().find(|(k, _)| k.as_str() != "cid") else {
        return Ok(ServerJson::Message { cid, message: None });
    };
    let empty = Map::new();
    let m = Fields(match body {
        Value::Object(o) => o,
        _ => &empty,
    });
    // The message of that name with its defaults: which variant to read.
    let Some(kind) = Outgoing::empty(name) else {
        return Ok(ServerJson::Unknown {
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
        return Err(format!("`{name}` is not an object"));
    }
    Ok(ServerJson::Message {
        cid,
        message: Some(message),
    })
}

/// The fields of one JSON message, read leniently.
struct Fields<'a>(&'a Map<String, Value>);

fn bad(key: &str, want: &str) -> String {
    format!("field `{key}` is not {want}")
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
            _ => Err(format!("{what} is not an object")),
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
