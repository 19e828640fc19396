//! Nakama's realtime envelope in FlatBuffers: the binary wire.
//!
//! The schema is `schema/flatbuffers/realtime.fbs` (namespace `kairos.rt`):
//! every message of Nakama's `rtapi.Envelope`, with Nakama's field names
//! and meaning, so clients in any language generate their code with
//! Google's `flatc` (≥ 22; the file's header says how). The server's Rust
//! code is generated at build time by planus (`build.rs`), with no flatc
//! and no C++; the bytes are the same.
//!
//! This module converts between those bytes and the shared in-memory model
//! of [`crate::rtapi`], the one the JSON wire decodes to and encodes from:
//!
//! * server side: [`decode`] reads a client's [`Envelope`](crate::rtapi::Envelope)
//!   and [`encode`] / [`encode_empty_reply`] write an
//!   [`Outgoing`](crate::rtapi::Outgoing);
//! * client side (tests, the Rust client, the load tester):
//!   [`encode_request`] writes an [`Incoming`](crate::rtapi::Incoming) and
//!   [`decode_outgoing`] reads a server frame back into an `Outgoing`
//!   ([`ServerEnvelope`]), which makes round trips comparable with `==`.
//!   Server messages Kairos does not model yet are refused there; read
//!   them with the generated types in [`fb`] (for example
//!   `fb::EnvelopeRef::read_as_root(bytes)`, or `fb::Envelope::try_from`
//!   for owned values); [`empty_message`] is any message by name, with
//!   no fields set.
//!
//! Decoding matches the JSON decoder's meaning: absent fields are their
//! defaults (`ChannelJoin.persistence` and `hidden` and
//! `StatusUpdate.status` keep their presence), a known Nakama client
//! message Kairos doesn't handle yet is
//! [`Incoming::Unhandled`](crate::rtapi::Incoming::Unhandled) with the
//! name from [`CLIENT_MESSAGES`](crate::rtapi::CLIENT_MESSAGES), no message
//! is `MissingPayload`, and anything else (a malformed, truncated or
//! hostile buffer, a union tag from a newer schema, a server-only message)
//! is `UnrecognizedPayload`. Every read is bounds-checked by planus, so bad
//! input is an error, never a panic, and since offsets may alias (many
//! entries pointing at one string), the text copied out of a buffer is
//! capped at four times its size, so a small frame can't expand into a
//! huge allocation. Unlike JSON, fields this schema doesn't know are
//! ignored, as FlatBuffers' schema evolution requires; and a client
//! message Kairos doesn't handle has only its table header checked, much
//! as the JSON decoder skips its body.
//!
//! `MatchDataSend.data` is not copied: it is a [`bytes::Bytes`] slice of
//! the receive buffer (see [`decode`]).

mod client;
mod decode;
mod encode;
pub mod generated;
mod names;
mod read;
mod write;

pub use client::{ServerEnvelope, decode_outgoing, encode_request};
pub use decode::decode;
pub use encode::{encode, encode_empty_reply};
/// The planus-generated tables (`kairos.rt`): `Foo` owned, `FooRef` read in
/// place, `Message`/`MessageRef` the envelope's union.
pub use generated::kairos::rt as fb;
pub use names::empty_message;
