//! The Kairos runtime: thread-per-core shards serving Nakama's API.
//!
//! See ARCHITECTURE.md at the repository root for the map and invariants.

pub mod cli;
pub mod http;
pub mod logging;
pub mod mesh;
pub mod metrics;
pub mod quic;
pub mod realtime;
pub mod registry;
pub mod revocation;
pub mod rt;
pub mod server;
pub mod session;
pub mod shard;
pub mod stop;
pub mod streams;
pub mod udp;
pub mod ws;
