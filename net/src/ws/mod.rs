//! WebSocket protocol (RFC 6455), sans-IO.
//!
//! * [`handshake`] — the HTTP/1.1 upgrade: accept key, request validation,
//!   client request and accept verification.
//! * [`frame`] — opcodes, frame headers, frame encoding (including
//!   encode-once broadcast frames via [`frame_bytes`]).
//! * [`mask`] — payload masking and a deterministic client mask source.
//! * [`decoder`] — streaming [`Decoder`] turning received bytes into
//!   [`Message`]s, with fragmentation, UTF-8 and size enforcement.
//! * [`close`] — close codes, close frame parsing and encoding.
//! * [`connection`] — [`Connection`], one endpoint's state machine: automatic
//!   pong and close replies, outbound buffering, close handshake tracking.
//! * [`error`] — [`ProtocolError`], which carries the close code to send.
//!
//! No extensions (permessage-deflate) and no subprotocol negotiation are
//! implemented: reserved bits must be zero.

pub mod close;
pub mod connection;
pub mod decoder;
pub mod error;
pub mod frame;
pub mod handshake;
pub mod mask;

pub use close::{CloseFrame, close_frame};
pub use connection::{Connection, Event, SendError, State};
pub use decoder::{Decoder, Message, Role};
pub use error::ProtocolError;
pub use frame::{FRAME_HEADROOM, FrameHeader, OpCode, encode_frame, frame_bytes, frame_in_place};
pub use handshake::{HandshakeError, UpgradeHeaders, accept_key, validate_upgrade, verify_accept};
pub use mask::{MaskSource, apply_mask};
