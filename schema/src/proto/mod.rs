//! Nakama's realtime protocol in protobuf: `/ws?format=protobuf`, one
//! `nakama.realtime.Envelope` per binary WebSocket frame, as
//! `@heroiclabs/nakama-js-protobuf` and Nakama's other clients speak it.
//!
//! The messages are hand-written `prost` structs whose field numbers and
//! types follow Nakama's `rtapi/realtime.proto` and `api/api.proto`
//! (heroiclabs/nakama-common), one file per concept. [`decode`] and
//! [`encode`] map them to and from the wire-neutral types of
//! [`crate::rtapi`], so the server handles JSON and protobuf sessions alike.
//!
//! * client → server: [`decode`] (server side), [`encode_request`] (client
//!   side);
//! * server → client: [`encode`] and [`encode_empty_reply`] (server side),
//!   [`decode_server`] and [`to_outgoing`] (client side).
//!
//! Field numbers are those of nakama-common v1.44 (envelope fields 2 to
//! 51, up to `party_update`). Protobuf rules apply where they differ from
//! the JSON wire: unknown fields are skipped, and of two messages in one
//! envelope the last wins. `match_data` is written by hand (`relay.rs`,
//! no string copies) and held byte for byte to the struct encoding.
//!
//! What nakama-js-protobuf does on this wire (pinned by
//! `tests/proto_golden.rs`): it writes wrappers with their value even when
//! it is the default (`BoolValue` false as `08 00`, where prost and Go
//! write an empty message); it never sends `match_create.name`; it reads
//! int64 as a JS number and throws on `op_code` above 2^53; it reads
//! timestamps as `Date`s, to the millisecond.

pub mod channel;
pub mod envelope;
pub mod error;
pub mod heartbeat;
pub mod matches;
pub mod matchmaker;
pub mod notification;
pub mod party;
pub mod presence;
pub mod rpc;
pub mod status;
pub mod stream;
pub mod timestamp;
pub mod wrappers;

mod incoming;
mod outgoing;
mod relay;

pub use envelope::{Envelope, MESSAGE_NAMES, Message};
pub use incoming::{decode, encode_request};
pub use outgoing::{decode_server, encode, encode_empty_reply, to_outgoing};
