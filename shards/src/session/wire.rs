//! Wire encodings of server messages, and a message encoded once for each
//! encoding its recipients use.
//!
//! A session speaks one [`Wire`]:
//! * [`Wire::Json`]: Nakama's JSON envelope in WebSocket text frames;
//! * [`Wire::Protobuf`]: Nakama's protobuf envelope in WebSocket binary
//!   frames;
//! * [`Wire::Flat`]: Kairos's FlatBuffers envelope, as a bare payload. The
//!   reliable-UDP and QUIC drivers send it as it is; a WebSocket session
//!   speaking FlatBuffers puts it in a binary frame as it writes.
//!
//! The WebSocket wires are queued already framed, so a broadcast frames
//! once and every recipient's writer only copies bytes.

use bytes::Bytes;
use kairos_net::ws::{FRAME_HEADROOM, OpCode, frame_bytes, frame_in_place};
use kairos_schema::rtapi::{DecodeError, Envelope, Outgoing};

/// How a session's messages are encoded.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Wire {
    Json = 0,
    Protobuf = 1,
    Flat = 2,
}

const WIRES: [Wire; 3] = [Wire::Json, Wire::Protobuf, Wire::Flat];

impl Wire {
    /// Encodes one message (with `cid` when it answers a request).
    pub fn encode(self, cid: &str, msg: &Outgoing) -> Bytes {
        match self {
            Wire::Json => json_frame(msg.json_len_hint(cid), |buf| msg.write_json(buf, cid)),
            Wire::Protobuf => frame_bytes(OpCode::Binary, &codec::proto_encode(cid, msg)),
            Wire::Flat => Bytes::from(codec::flat_encode(cid, msg)),
        }
    }

    /// [`encode`](Self::encode) for a message a session sends on behalf
    /// of itself, whose presence's JSON is `sender`
    /// ([`kairos_schema::rtapi::presence_json`]): the JSON wire copies it
    /// rather than writing the presence's strings again.
    pub fn encode_from(self, cid: &str, msg: &Outgoing, sender: &[u8]) -> Bytes {
        match self {
            Wire::Json => json_frame(msg.json_len_hint_from(cid, sender), |buf| {
                msg.write_json_from(buf, cid, sender)
            }),
            _ => self.encode(cid, msg),
        }
    }

    /// Decodes one client envelope in this wire's encoding.
    pub fn decode(self, bytes: &Bytes) -> Result<Envelope, DecodeError> {
        match self {
            Wire::Json => Envelope::from_json(bytes),
            Wire::Protobuf => codec::proto_decode(bytes),
            Wire::Flat => codec::flat_decode(bytes),
        }
    }

    /// A server envelope this wire encoded (a WebSocket frame for the
    /// JSON and protobuf wires), as Nakama's JSON: `{"cid": ..., "<name>":
    /// {...}}`, `cid` left out when empty. `None` if it does not decode.
    /// Only realtime after hooks use it, for a reply that reaches the
    /// session from another shard.
    pub fn reply_json(self, bytes: &[u8]) -> Option<serde_json::Value> {
        let payload = |b: &'_ [u8]| -> Option<Vec<u8>> {
            let (header, at) = kairos_net::ws::frame::FrameHeader::parse(b).ok()??;
            let end = at.checked_add(usize::try_from(header.payload_len).ok()?)?;
            b.get(at..end).map(<[u8]>::to_vec)
        };
        let json = |cid: &str, message: Option<Outgoing>| match message {
            Some(m) => serde_json::from_slice(&m.to_json(cid)).ok(),
            None => {
                let mut envelope = serde_json::Map::new();
                if !cid.is_empty() {
                    envelope.insert("cid".into(), cid.into());
                }
                Some(serde_json::Value::Object(envelope))
            }
        };
        match self {
            Wire::Json => serde_json::from_slice(&payload(bytes)?).ok(),
            Wire::Protobuf => {
                let e = kairos_schema::proto::decode_server(&payload(bytes)?).ok()?;
                let message = match &e.message {
                    Some(m) => Some(kairos_schema::proto::to_outgoing(m)?),
                    None => None,
                };
                json(&e.cid, message)
            }
            Wire::Flat => {
                let e = kairos_schema::flat::decode_outgoing(bytes).ok()?;
                json(&e.cid, e.message)
            }
        }
    }

    /// The empty reply: an envelope carrying only `cid`.
    pub fn empty_reply(self, cid: &str) -> Bytes {
        match self {
            Wire::Json => frame_bytes(OpCode::Text, &Outgoing::empty_reply(cid)),
            Wire::Protobuf => frame_bytes(OpCode::Binary, &codec::proto_empty_reply(cid)),
            Wire::Flat => Bytes::from(codec::flat_empty_reply(cid)),
        }
    }
}

/// The binary codecs, from `kairos-schema`.
mod codec {
    pub use kairos_schema::flat::{
        decode as flat_decode, encode as flat_encode, encode_empty_reply as flat_empty_reply,
    };
    pub use kairos_schema::proto::{
        decode as proto_decode, encode as proto_encode, encode_empty_reply as proto_empty_reply,
    };
}

/// A set of wires, for the encodings a group of recipients needs.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct WireSet(u8);

impl WireSet {
    pub fn of(wire: Wire) -> WireSet {
        WireSet(1 << wire as u8)
    }

    pub fn insert(&mut self, wire: Wire) {
        self.0 |= 1 << wire as u8;
    }

    pub fn contains(self, wire: Wire) -> bool {
        self.0 & (1 << wire as u8) != 0
    }

    pub fn is_empty(self) -> bool {
        self.0 == 0
    }
}

impl FromIterator<Wire> for WireSet {
    fn from_iter<I: IntoIterator<Item = Wire>>(iter: I) -> WireSet {
        let mut set = WireSet::default();
        for w in iter {
            set.insert(w);
        }
        set
    }
}

/// One queued message for one session: its bytes on the session's wire,
/// and whether it must arrive (match data sent with `reliable: false`
/// may travel on an unreliable channel; the WebSocket ignores this).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Frame {
    pub bytes: Bytes,
    pub reliable: bool,
}

impl Frame {
    pub fn reliable(bytes: Bytes) -> Frame {
        Frame {
            bytes,
            reliable: true,
        }
    }
}

/// A JSON envelope in a WebSocket text frame, written by `write` after
/// room for the frame header, which then goes in front of it: one buffer,
/// sized once (`len_hint`), no copy.
fn json_frame(len_hint: usize, write: impl FnOnce(&mut Vec<u8>)) -> Bytes {
    let mut buf = Vec::with_capacity(FRAME_HEADROOM + len_hint);
    buf.resize(FRAME_HEADROOM, 0);
    write(&mut buf);
    frame_in_place(OpCode::Text, buf)
}

/// One message encoded once for each wire in a set. Cloning it clones
/// reference counts, never bytes, so one `Frames` serves every recipient
/// on every shard.
#[derive(Clone, Debug, Default)]
pub struct Frames {
    by_wire: [Option<Bytes>; 3],
    reliable: bool,
}

impl Frames {
    /// Encodes `msg` for every wire in `wires`.
    pub fn encode(cid: &str, msg: &Outgoing, wires: WireSet) -> Frames {
        Self::encode_with(cid, msg, wires, true)
    }

    /// The same, for a message that need not arrive when `reliable` is
    /// false.
    pub fn encode_with(cid: &str, msg: &Outgoing, wires: WireSet, reliable: bool) -> Frames {
        Self::encode_each(wires, reliable, |w| w.encode(cid, msg))
    }

    /// [`encode_with`](Self::encode_with) for a message a session sends
    /// on behalf of itself, with its presence's JSON `sender`
    /// ([`Wire::encode_from`]).
    pub fn encode_from(msg: &Outgoing, sender: &[u8], wires: WireSet, reliable: bool) -> Frames {
        Self::encode_each(wires, reliable, |w| w.encode_from("", msg, sender))
    }

    fn encode_each(wires: WireSet, reliable: bool, encode: impl Fn(Wire) -> Bytes) -> Frames {
        let mut f = Frames {
            by_wire: Default::default(),
            reliable,
        };
        for w in WIRES {
            if wires.contains(w) {
                f.by_wire[w as usize] = Some(encode(w));
            }
        }
        f
    }

    /// A message already encoded for one wire.
    pub fn single(wire: Wire, bytes: Bytes) -> Frames {
        let mut f = Frames {
            by_wire: Default::default(),
            reliable: true,
        };
        f.by_wire[wire as usize] = Some(bytes);
        f
    }

    /// The frame for a session speaking `wire`, if it was encoded.
    pub fn frame(&self, wire: Wire) -> Option<Frame> {
        self.by_wire[wire as usize].clone().map(|bytes| Frame {
            bytes,
            reliable: self.reliable,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_only_the_wires_asked_for() {
        let msg = Outgoing::Pong {};
        let f = Frames::encode("1", &msg, WireSet::of(Wire::Json));
        let json = f.frame(Wire::Json).unwrap();
        assert!(json.reliable);
        assert_eq!(&json.bytes[2..], br#"{"cid":"1","pong":{}}"#);
        assert!(f.frame(Wire::Flat).is_none());
        let both: WireSet = [Wire::Json, Wire::Flat].into_iter().collect();
        let f = Frames::encode_with("", &msg, both, false);
        assert!(!f.frame(Wire::Flat).unwrap().reliable);
        assert!(f.frame(Wire::Protobuf).is_none());
        assert!(both.contains(Wire::Flat) && !both.contains(Wire::Protobuf));
        assert!(WireSet::default().is_empty());
    }

    #[test]
    fn replies_decode_back_to_nakamas_json_on_every_wire() {
        use kairos_schema::rtapi::{ErrorCode, MatchOut, UserPresence};
        let reply = Outgoing::Match(MatchOut {
            match_id: "m.".into(),
            size: 2,
            self_: UserPresence {
                user_id: "u".into(),
                session_id: "s".into(),
                username: "n".into(),
                ..Default::default()
            },
            ..Default::default()
        });
        let json = |cid: &str, m: &Outgoing| -> serde_json::Value {
            serde_json::from_slice(&m.to_json(cid)).unwrap()
        };
        let error = Outgoing::error(ErrorCode::BadInput, "no");
        for wire in WIRES {
            for msg in [&reply, &error, &Outgoing::Pong {}] {
                for cid in ["7", ""] {
                    assert_eq!(
                        wire.reply_json(&wire.encode(cid, msg)),
                        Some(json(cid, msg)),
                        "{wire:?} {cid:?} {msg:?}"
                    );
                }
            }
            assert_eq!(
                wire.reply_json(&wire.empty_reply("7")),
                Some(serde_json::json!({ "cid": "7" })),
                "{wire:?}"
            );
            assert_eq!(wire.reply_json(b"\x81"), None, "{wire:?}");
        }
    }
}
