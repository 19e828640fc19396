//! Server-side game code: the registry of what a game adds to the server
//! (RPCs now; hooks and match handlers register here too), how it is
//! called, and the typed API it calls back into.
//!
//! A game links Kairos as a library and registers its code before the
//! server starts ([`ServerBuilder`]); the stock `kairos` binary registers
//! the examples of [`examples`] when `kairos.runtime.examples` is set.
//! The registry is built once, frozen, and shared by every shard
//! (`Shared::modules`): a lookup is a hash map read, no lock.
//!
//! Game code runs on the shard that received the call, as a future on the
//! shard's executor, so it must not block: waiting on the store or another
//! shard is an `.await` ([`Nk`]), and CPU-heavy work goes to the
//! persistence pool with [`Nk::blocking`]. Every call has a deadline
//! (`kairos.runtime.rpc_timeout_ms`) and a panic inside game code ends
//! that call with an internal error, never the shard ([`guard`]).

mod builder;
mod context;
pub mod examples;
mod guard;
mod nk;
pub(crate) mod rpc;

use std::collections::HashMap;
use std::sync::Arc;

pub use builder::ServerBuilder;
pub use context::{CallMode, Context};
pub use kairos_core::error::{ApiError as Error, Code};
pub use nk::Nk;
pub use rpc::{RpcFn, RpcFuture, RpcResult};

/// Everything registered by game code. Built before the server starts and
/// never changed after, so shards read it without locks.
#[derive(Default)]
pub struct Modules {
    /// By lower-cased id, as Nakama looks RPCs up.
    rpcs: HashMap<String, Arc<dyn RpcFn>>,
}

impl Modules {
    /// Registers an RPC under `id` (case-insensitive, as in Nakama); a
    /// second registration of the same id replaces the first.
    pub fn register_rpc(&mut self, id: &str, f: Arc<dyn RpcFn>) {
        self.rpcs.insert(id.to_lowercase(), f);
    }

    /// The RPC registered under `id`, if any. `id` is lower-cased first.
    pub fn rpc(&self, id: &str) -> Option<&Arc<dyn RpcFn>> {
        if id.bytes().any(|b| b.is_ascii_uppercase()) {
            self.rpcs.get(&id.to_lowercase())
        } else {
            self.rpcs.get(id)
        }
    }

    /// The ids of every registered RPC, sorted.
    pub fn rpc_ids(&self) -> Vec<&str> {
        let mut ids: Vec<&str> = self.rpcs.keys().map(String::as_str).collect();
        ids.sort_unstable();
        ids
    }
}

impl std::fmt::Debug for Modules {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Modules")
            .field("rpcs", &self.rpc_ids())
            .finish()
    }
}
