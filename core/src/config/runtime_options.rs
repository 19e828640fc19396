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
}

impl Default for RuntimeOptions {
    fn default() -> Self {
        RuntimeOptions {
            examples: false,
            rpc_timeout_ms: 30_000,
        }
    }
}

impl RuntimeOptions {
    pub(super) fn validate(&self) -> Result<(), ConfigError> {
        if self.rpc_timeout_ms == 0 {
            return invalid("runtime.rpc_timeout_ms", "must be at least 1");
        }
        Ok(())
    }
}
