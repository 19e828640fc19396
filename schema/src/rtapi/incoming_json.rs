//! Client messages ([`Incoming`]) in Nakama's JSON, the inverse of
//! [`Envelope::from_json`](super::Envelope::from_json): protojson with Nakama's options (proto field
//! names, defaults left out, int64 as strings, bytes as standard base64,
//! wrapper types as their plain value when set).
//!
//! Clients send this form on the JSON wire, and Lua's realtime hooks see
//! it as a table, as Nakama marshals the envelope for them.

use std::collections::BTreeMap;

use base64::Engine;
use serde_json::{Map, Value, json};

use super::{Incoming, UserPresence};

impl Incoming {
    /// The envelope carrying this message: `{"cid": ..., "<name>": {...}}`,
    /// `cid` left out when empty.
    pub fn to_json_envelope(&self, cid: &str) -> Value {
        let mut envelope = Map::new();
        if !cid.is_empty() {
            envelope.insert("cid".into(), Value::String(cid.to_owned()));
        }
        envelope.insert(self.name().to_owned(), self.to_json_body());
        Value::Object(envelope)
    }

    /// The message's body: the object under its name in the envelope.
    /// [`Incoming::Unhandled`] has no fields here (`{}`).
    pub fn to_json_body(&self) -> Value {
        let mut o = Obj::default();
        match self {
            Incoming::Ping | Incoming::Pong | Incoming::Unhandled(_) => {}
            Incoming::MatchCreate(m) => o.str("name", &m.name),
            Incoming::MatchJoin(m) => {
                o.str("match_id", &m.match_id);
                o.str("token", &m.token);
                if !m.metadata.is_empty() {
                    o.0.insert("metadata".into(), json!(m.metadata));
                }
            }
            Incoming::MatchLeave(m) => o.str("match_id", &m.match_id),
            Incoming::MatchDataSend(m) => {
                o.str("match_id", &m.match_id);
                o.int64("op_code", m.op_code);
                o.bytes("data", &m.data);
                o.presences("presences", &m.presences);
                o.flag("reliable", m.reliable);
            }
            Incoming::StatusFollow(m) => {
                o.strings("user_ids", &m.user_ids);
                o.strings("usernames", &m.usernames);
            }
            Incoming::StatusUnfollow(m) => o.strings("user_ids", &m.user_ids),
            Incoming::Rpc(m) => {
                o.str("id", &m.id);
                o.str("payload", &m.payload);
                o.str("http_key", &m.http_key);
            }
            Incoming::StatusUpdate(m) => {
                // A `StringValue`: present (even empty) when set.
                if let Some(status) = &m.status {
                    o.0.insert("status".into(), Value::String(status.clone()));
                }
            }
            Incoming::ChannelJoin(m) => {
                o.str("target", &m.target);
                o.int32("type", m.kind);
                // `BoolValue`s: present when set, whatever their value.
                if let Some(p) = m.persistence {
                    o.0.insert("persistence".into(), Value::Bool(p));
                }
                if let Some(h) = m.hidden {
                    o.0.insert("hidden".into(), Value::Bool(h));
                }
            }
            Incoming::ChannelLeave(m) => o.str("channel_id", &m.channel_id),
            Incoming::ChannelMessageSend(m) => {
                o.str("channel_id", &m.channel_id);
                o.str("content", &m.content);
            }
            Incoming::ChannelMessageUpdate(m) => {
                o.str("channel_id", &m.channel_id);
                o.str("message_id", &m.message_id);
                o.str("content", &m.content);
            }
            Incoming::ChannelMessageRemove(m) => {
                o.str("channel_id", &m.channel_id);
                o.str("message_id", &m.message_id);
            }
            Incoming::PartyCreate(m) => {
                o.flag("open", m.open);
                o.int32("max_size", m.max_size);
                o.str("label", &m.label);
                o.flag("hidden", m.hidden);
            }
            Incoming::PartyJoin(m)
            | Incoming::PartyLeave(m)
            | Incoming::PartyClose(m)
            | Incoming::PartyJoinRequestList(m) => o.str("party_id", &m.party_id),
            Incoming::PartyPromote(m) | Incoming::PartyAccept(m) | Incoming::PartyRemove(m) => {
                o.str("party_id", &m.party_id);
                o.0.insert("presence".into(), presence(&m.presence));
            }
            Incoming::PartyDataSend(m) => {
                o.str("party_id", &m.party_id);
                o.int64("op_code", m.op_code);
                o.bytes("data", &m.data);
            }
            Incoming::PartyUpdate(m) => {
                o.str("party_id", &m.party_id);
                o.str("label", &m.label);
                o.flag("open", m.open);
                o.flag("hidden", m.hidden);
            }
            Incoming::MatchmakerAdd(m) => o.ticket(
                (m.min_count, m.max_count, m.count_multiple),
                &m.query,
                &m.string_properties,
                &m.numeric_properties,
            ),
            Incoming::MatchmakerRemove(m) => o.str("ticket", &m.ticket),
            Incoming::PartyMatchmakerAdd(m) => {
                o.str("party_id", &m.party_id);
                o.ticket(
                    (m.min_count, m.max_count, m.count_multiple),
                    &m.query,
                    &m.string_properties,
                    &m.numeric_properties,
                );
            }
            Incoming::PartyMatchmakerRemove(m) => {
                o.str("party_id", &m.party_id);
                o.str("ticket", &m.ticket);
            }
        }
        Value::Object(o.0)
    }
}

/// A JSON object under construction, leaving defaults out as protojson
/// does.
#[derive(Default)]
struct Obj(Map<String, Value>);

impl Obj {
    fn str(&mut self, key: &str, value: &str) {
        if !value.is_empty() {
            self.0.insert(key.into(), Value::String(value.to_owned()));
        }
    }

    fn flag(&mut self, key: &str, value: bool) {
        if value {
            self.0.insert(key.into(), Value::Bool(true));
        }
    }

    fn int32(&mut self, key: &str, value: i32) {
        if value != 0 {
            self.0.insert(key.into(), json!(value));
        }
    }

    /// int64 is a string in protojson.
    fn int64(&mut self, key: &str, value: i64) {
        if value != 0 {
            self.0.insert(key.into(), Value::String(value.to_string()));
        }
    }

    fn bytes(&mut self, key: &str, value: &[u8]) {
        if !value.is_empty() {
            let text = base64::engine::general_purpose::STANDARD.encode(value);
            self.0.insert(key.into(), Value::String(text));
        }
    }

    fn strings(&mut self, key: &str, values: &[String]) {
        if !values.is_empty() {
            self.0.insert(key.into(), json!(values));
        }
    }

    fn presences(&mut self, key: &str, values: &[UserPresence]) {
        if !values.is_empty() {
            let list = values.iter().map(presence).collect();
            self.0.insert(key.into(), Value::Array(list));
        }
    }

    /// A ticket's fields, as `matchmaker_add` and `party_matchmaker_add`
    /// carry them: counts `(min, max, multiple)`, the query and the
    /// properties.
    fn ticket(
        &mut self,
        (min_count, max_count, count_multiple): (i32, i32, Option<i32>),
        query: &str,
        strings: &BTreeMap<String, String>,
        numbers: &BTreeMap<String, f64>,
    ) {
        self.int32("min_count", min_count);
        self.int32("max_count", max_count);
        self.str("query", query);
        if !strings.is_empty() {
            self.0.insert("string_properties".into(), json!(strings));
        }
        if !numbers.is_empty() {
            self.0.insert("numeric_properties".into(), json!(numbers));
        }
        // An `Int32Value`: present when set.
        if let Some(c) = count_multiple {
            self.0.insert("count_multiple".into(), json!(c));
        }
    }
}

fn presence(p: &UserPresence) -> Value {
    let mut o = Obj::default();
    o.str("user_id", &p.user_id);
    o.str("session_id", &p.session_id);
    o.str("username", &p.username);
    o.flag("persistence", p.persistence);
    if let Some(status) = &p.status {
        o.0.insert("status".into(), Value::String(status.clone()));
    }
    Value::Object(o.0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rtapi::{ChannelJoin, Envelope, MatchDataSend, MatchmakerAdd};

    fn round_trip(message: Incoming) {
        let bytes = serde_json::to_vec(&message.to_json_envelope("4")).unwrap();
        let e = Envelope::from_json(&bytes).unwrap();
        assert_eq!((e.cid.as_str(), e.message), ("4", message));
    }

    #[test]
    fn defaults_are_left_out_and_int64_is_a_string() {
        let m = Incoming::MatchDataSend(MatchDataSend {
            match_id: "m.".into(),
            op_code: 3,
            data: bytes::Bytes::from_static(b"hi"),
            ..Default::default()
        });
        assert_eq!(
            m.to_json_body(),
            json!({ "match_id": "m.", "op_code": "3", "data": "aGk=" })
        );
        let j = Incoming::ChannelJoin(ChannelJoin {
            target: "room".into(),
            persistence: Some(false),
            ..Default::default()
        });
        assert_eq!(
            j.to_json_body(),
            json!({ "target": "room", "persistence": false })
        );
        assert_eq!(Incoming::Ping.to_json_body(), json!({}));
    }

    #[test]
    fn what_it_writes_decodes_to_the_same_message() {
        round_trip(Incoming::Ping);
        round_trip(Incoming::ChannelJoin(ChannelJoin {
            target: "room".into(),
            kind: 1,
            persistence: Some(true),
            hidden: Some(false),
        }));
        round_trip(Incoming::MatchmakerAdd(MatchmakerAdd {
            min_count: 2,
            max_count: 4,
            query: "*".into(),
            count_multiple: Some(2),
            string_properties: [("mode".to_string(), "ffa".to_string())].into(),
            numeric_properties: [("skill".to_string(), 1.5)].into(),
        }));
    }
}
