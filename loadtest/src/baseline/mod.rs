//! In-process echo servers used as raw-transport baselines. Each runs on its
//! own OS thread (and, for WebSocket, its own single-threaded tokio
//! runtime), independent of the load generator's runtime, so the baseline
//! measures transport cost on this machine, not the generator's scheduling.

pub mod udp_echo;
pub mod ws_echo;
