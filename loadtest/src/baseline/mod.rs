//! Raw-transport baselines to quote results against. The echo servers run
//! in process, each on its own OS thread (and, for WebSocket, its own
//! single-threaded tokio runtime), independent of the load generator's
//! runtime, so the baseline measures transport cost on this machine, not
//! the generator's scheduling. The relay runs as a child process of its
//! own (one thread, `epoll`), so that its CPU time can be read from
//! `/proc` like a server's.

pub mod relay;
pub mod relay_process;
pub mod udp_echo;
pub mod upgrade;
pub mod ws_echo;
