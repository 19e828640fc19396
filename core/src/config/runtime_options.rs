//! `kairos.runtime.*`: how server-side game code (RPCs, hooks, match
//! handlers) is run. Nakama's own `runtime.*` keys (`runtime.http_key`)
//! keep their meaning; these are what Nakama has no key for.

use serde::{Deserialize, Serialize};

use super::ConfigError;
use super::kairos::invalid;

#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct RuntimeOptions {
    /// Whether the stock `kairos` binary registers its example modules
    /// (`example.echo` and the others in README's "Server-side code").
    /// A server built as a library registers its own and ignores this.
    pub examples: bool,
    /// Longest an RPC may run, from the call to its result, in
    /// milliseconds. Past it the caller gets DEADLINE_EXCEEDED (HTTP 504)
    /// or, on a socket, RUNTIME_FUNCTION_EXCEPTION, and the RPC's future
    /// is dropped, so a handler that never finishes costs nothing after.
    pub rpc_timeout_ms: u64,
    /// Highest tick rate an authoritative match may ask for, per second
    /// (Nakama allows 1 to 60).
    pub max_tick_rate: u32,
    /// Messages from members an authoritative match holds for its next
    /// tick; past it they are dropped, as Nakama's `match.input_queue_size`
    /// (also 128) does.
    pub match_input_queue: usize,
    /// Most Lua instructions one call of Lua code (an RPC, a hook, a
    /// match callback, a module's load) may run; past it the call fails
    /// with a Lua error, so an endless loop cannot hold its shard. Checked
    /// every 1,000 instructions; 0 turns it off.
    pub lua_instruction_limit: u64,
    /// Most memory one Lua state may hold, in bytes; an allocation past
    /// it fails with a Lua error ("not enough memory"). 0 turns it off.
    pub lua_memory_limit_bytes: usize,
    /// Whether `nk.http_request` may reach loopback, private (RFC 1918,
    /// unique-local), link-local, shared (100.64/10) and unspecified
    /// addresses. Off, game code cannot be turned into a probe of the
    /// server's own network; every address a host resolves to is checked.
    pub http_request_allow_private: bool,
    /// Longest timeout `nk.http_request` may use, in milliseconds: a
    /// larger one asked by game code is cut to it (Nakama's default of
    /// 5,000 applies when none is given).
    pub http_request_timeout_max_ms: u64,
    /// Largest response body `nk.http_request` reads, in bytes; a longer
    /// one fails the call with `HTTP response body error`.
    pub http_request_max_response_bytes: usize,
    /// Whether the Lua modules of `runtime.path` reload when their files
    /// change, without a restart: a background thread looks at the
    /// directory every `lua_reload_interval_ms`. Off by default, as a
    /// production node runs the code it started with; on for development.
    pub lua_reload: bool,
    /// How often the reload watcher looks at the modules directory, in
    /// milliseconds (10 to 3,600,000).
    pub lua_reload_interval_ms: u64,
    /// Most entries `nk.localcache_put` keeps on a node (Nakama's local
    /// cache is unbounded); past it the oldest entry goes.
    pub lua_localcache_max_entries: usize,
    /// Most bytes the node's local cache holds, counted as the values'
    /// strings and keys plus 16 bytes per value; past it the oldest
    /// entries go, and one value larger than this is refused.
    pub lua_localcache_max_bytes: usize,
    /// Most series (a name with one set of tags) the `nk.metrics_*`
    /// functions may create on a node; further ones are not recorded.
    pub lua_metrics_max_series: usize,
}

impl Default for RuntimeOptions {
    fn default() -> Self {
        RuntimeOptions {
            examples: false,
            rpc_timeout_ms: 30_000,
            max_tick_rate: 60,
            match_input_queue: 128,
            lua_instruction_limit: 100_000_000,
            lua_memory_limit_bytes: 64 << 20,
            http_request_allow_private: false,
            http_request_timeout_max_ms: 30_000,
            http_request_max_response_bytes: 4 << 20,
            lua_reload: false,
            lua_reload_interval_ms: 1000,
            lua_localcache_max_entries: 100_000,
            lua_localcache_max_bytes: 64 << 20,
            lua_metrics_max_series: 1000,
        }
    }
}

impl RuntimeOptions {
    pub(super) fn validate(&self) -> Result<(), ConfigError> {
        if self.rpc_timeout_ms == 0 {
            return invalid("runtime.rpc_timeout_ms", "must be at least 1");
        }
        if !(1..=1000).contains(&self.max_tick_rate) {
            return invalid("runtime.max_tick_rate", "must be between 1 and 1000");
        }
        if self.match_input_queue == 0 {
            return invalid("runtime.match_input_queue", "must be at least 1");
        }
        if self.http_request_timeout_max_ms == 0 {
            return invalid("runtime.http_request_timeout_max_ms", "must be at least 1");
        }
        if self.http_request_max_response_bytes == 0 {
            return invalid(
                "runtime.http_request_max_response_bytes",
                "must be at least 1",
            );
        }
        if !(10..=3_600_000).contains(&self.lua_reload_interval_ms) {
            return invalid(
                "runtime.lua_reload_interval_ms",
                "must be between 10 and 3600000",
            );
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_validate_and_bad_values_name_their_key() {
        assert!(RuntimeOptions::default().validate().is_ok());
        let cases = [
            RuntimeOptions {
                rpc_timeout_ms: 0,
                ..Default::default()
            },
            RuntimeOptions {
                max_tick_rate: 0,
                ..Default::default()
            },
            RuntimeOptions {
                max_tick_rate: 1001,
                ..Default::default()
            },
            RuntimeOptions {
                match_input_queue: 0,
                ..Default::default()
            },
            RuntimeOptions {
                http_request_timeout_max_ms: 0,
                ..Default::default()
            },
            RuntimeOptions {
                http_request_max_response_bytes: 0,
                ..Default::default()
            },
            RuntimeOptions {
                lua_reload_interval_ms: 0,
                ..Default::default()
            },
        ];
        for (c, key) in cases.iter().zip([
            "rpc_timeout_ms",
            "max_tick_rate",
            "max_tick_rate",
            "match_input_queue",
            "http_request_timeout_max_ms",
            "http_request_max_response_bytes",
            "lua_reload_interval_ms",
        ]) {
            let e = c.validate().unwrap_err().0;
            assert!(e.contains(&format!("kairos.runtime.{key}")), "{e}");
        }
    }
}
