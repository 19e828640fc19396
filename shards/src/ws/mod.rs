//! The realtime WebSocket driver: the upgrade at `/ws` and one session per
//! socket, wrapping the sans-IO codec in `kairos_net::ws`.

pub mod flush;
pub mod handoff;
pub mod keepalive;
pub mod session;
pub mod upgrade;
