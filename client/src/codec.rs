//! The three encodings of Nakama's realtime envelope, client side:
//! [`Incoming`] requests out, server envelopes back into [`Outgoing`].
//!
//! * [`Wire::Json`]: Nakama's JSON envelope (`{"cid": "1", "ping": {}}`),
//!   int64 fields as strings, bytes as standard base64. The server's
//!   [`Outgoing`] model only serializes; the JSON → `Outgoing` mapping is
//!   the schema's ([`kairos_schema::rtapi::decode_server_json`]), as are
//!   the keys of requests ([`Incoming::name`]).
//! * [`Wire::Protobuf`]: Nakama's protobuf envelope
//!   ([`kairos_schema::proto`]).
//! * [`Wire::FlatBuffers`]: Kairos's FlatBuffers envelope
//!   ([`kairos_schema::flat`]); the only wire of reliable UDP and QUIC.
//!
//! Server messages that [`Outgoing`] does not model (party matchmaking
//! messages, which Kairos does not send yet) decode to
//! [`Decoded::Unknown`] with their name, so a client can skip them.

use kairos_schema::rtapi::{Incoming, Outgoing, ServerJson, decode_server_json};
use serde_json::Value;

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

/// Decodes a server envelope in Nakama's JSON into the [`Outgoing`] model
/// (the schema's reader, [`kairos_schema::rtapi::decode_server_json`]).
/// Fields may be absent (their defaults) or `null`; int64 fields are read
/// from strings or numbers; names may be snake_case or lowerCamelCase;
/// unknown fields are ignored.
pub fn decode_json(frame: &[u8]) -> Result<Decoded> {
    let value: Value = serde_json::from_slice(frame)
        .map_err(|e| Error::Decode(format!("server frame is not JSON: {e}")))?;
    match decode_server_json(&value).map_err(Error::Decode)? {
        ServerJson::Message { cid, message } => {
            Ok(Decoded::Message(ServerMessage { cid, message }))
        }
        ServerJson::Unknown { cid, name } => Ok(Decoded::Unknown { cid, name }),
    }
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
