//! End-to-end tests: servers and clients in-process, over `crate::sim`
//! links, in virtual time (an `Instant` taken once, plus offsets). Link
//! seeds are fixed, but the traffic is not exactly the same run after run:
//! TLS keys and connection ids are random, and quinn-proto makes a few
//! choices at random (the packet numbers it skips, when it updates keys),
//! which shifts what the link drops. So every assertion must hold for any
//! such run, not just for one trace.

mod harness;

mod delivery;
mod graceful;
mod handshake;
mod hostile;
mod limits;
mod pause;
mod routing;
