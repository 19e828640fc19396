//! Kairos's own limits and policies, under the `kairos` section: what
//! Nakama has no key for. Each concern has its own struct and file.

use serde::{Deserialize, Serialize};

use super::ConfigError;
pub use super::matchmaker::{MatchmakerConfig, MatchmakerTuning};
pub use super::net_limits::NetLimits;
pub use super::runtime_options::RuntimeOptions;
pub use super::runtime_tuning::{MonoioDriver, RuntimeTuning};
pub use super::session_limits::SessionLimits;

/// `kairos.*`.
#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct KairosConfig {
    /// `kairos.net.*`: connections, deadlines for reading requests.
    pub net: NetLimits,
    /// `kairos.session.*`: what one realtime session may ask for.
    pub session: SessionLimits,
    /// `kairos.matchmaker.*`: sub-second passes, the pool's bound.
    pub matchmaker: MatchmakerTuning,
    /// `kairos.runtime.*`: how server-side game code runs.
    pub runtime: RuntimeOptions,
    /// `kairos.reactor.*`: knobs of the shard executors (the reactor
    /// behind the `rt` seam).
    pub reactor: RuntimeTuning,
}

impl KairosConfig {
    pub(super) fn validate(&self) -> Result<(), ConfigError> {
        self.net.validate()?;
        self.session.validate()?;
        self.matchmaker.validate()?;
        self.runtime.validate()?;
        self.reactor.validate()
    }
}

/// The error for key `kairos.<key>`.
pub(super) fn invalid<T>(key: &str, why: &str) -> Result<T, ConfigError> {
    Err(ConfigError(format!(
        "configuration key `kairos.{key}`: {why}"
    )))
}
