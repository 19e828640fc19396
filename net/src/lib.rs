//! Sans-IO protocol state machines of Kairos.
//!
//! # The sans-IO rule
//!
//! Nothing in this crate touches a socket, spawns a task, awaits a future or
//! reads a clock. Every protocol is a plain state machine: the caller feeds it
//! the bytes it received (and, for protocols with timers, the current time as
//! a value), and gets back decoded events plus the bytes it must send. The
//! drivers that own the actual I/O live elsewhere — the glommio TCP driver of
//! the server, the blocking and tokio clients of the tests and the load
//! tester — in the same way `quinn` wraps `quinn-proto`.
//!
//! This keeps the protocol code deterministic and exhaustively testable: unit
//! tests feed it arbitrary byte splits, hostile inputs and pseudo-random
//! garbage without any runtime.
//!
//! # Modules
//!
//! * [`ws`] — WebSocket (RFC 6455): opening handshake helpers, frame codec,
//!   streaming message decoder and a close-handshake state machine.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod ws;
