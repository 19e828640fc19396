//! The Kairos runtime: thread-per-core shards serving Nakama's API.
//!
//! See ARCHITECTURE.md at the repository root for the map and invariants.

pub(crate) mod accounts;
pub mod cli;
pub(crate) mod datagram;
pub mod fanout;
pub(crate) mod http;
pub(crate) mod leaderboards;
pub mod listing;
pub(crate) mod logging;
pub(crate) mod lua;
pub(crate) mod matchmaker;
pub mod mesh;
pub(crate) mod metrics;
pub mod modules;
pub(crate) mod placement;
pub(crate) mod quic;
pub(crate) mod realtime;
pub(crate) mod registry;
pub(crate) mod revocation;
pub mod rt;
pub(crate) mod server;
pub mod session;
pub(crate) mod shard;
pub(crate) mod spin;
pub(crate) mod stop;
pub(crate) mod storage_index;
pub(crate) mod tournaments;
pub(crate) mod udp;
pub(crate) mod ws;

pub use modules::ServerBuilder;
