//! End-to-end tests: servers and clients in-process, over `crate::sim`
//! links, in virtual time. Every test is deterministic (fixed seeds) and
//! asserts only virtual times.

mod harness;

mod build;
mod channels;
mod coalescing;
mod graceful;
mod handshake;
mod hostile;
mod lossy;
mod timeouts;
mod timers;
mod tokens;
