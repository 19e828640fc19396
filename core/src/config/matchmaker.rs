//! `matchmaker.*` (Nakama's keys) and `kairos.matchmaker.*` (Kairos's).

use serde::{Deserialize, Serialize};

use super::ConfigError;
use super::kairos::invalid;

/// `matchmaker.*`, Nakama's matchmaker keys, with Nakama's defaults.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct MatchmakerConfig {
    /// Tickets one session, or one party, may hold at once; another
    /// `matchmaker_add` is refused.
    pub max_tickets: usize,
    /// Seconds between passes (unless `kairos.matchmaker.interval_ms` is
    /// set).
    pub interval_sec: u64,
    /// Passes a ticket searches at its max count before it may match with
    /// its min count.
    pub max_intervals: u32,
    /// Whether both tickets' queries must accept each other. Nakama's
    /// default is false (one way); Kairos's is true.
    pub rev_precision: bool,
    /// With `rev_precision`, a pass that has run this many intervals stops
    /// checking queries in reverse (Nakama's meaning). 0: never stops.
    pub rev_threshold: u32,
}

impl Default for MatchmakerConfig {
    fn default() -> Self {
        MatchmakerConfig {
            max_tickets: 3,
            interval_sec: 15,
            max_intervals: 2,
            rev_precision: true,
            rev_threshold: 1,
        }
    }
}

impl MatchmakerConfig {
    pub(super) fn validate(&self) -> Result<(), ConfigError> {
        let err = |key: &str, why: &str| {
            Err(ConfigError(format!(
                "configuration key `matchmaker.{key}`: {why}"
            )))
        };
        if self.max_tickets < 1 {
            return err("max_tickets", "must be at least 1");
        }
        if self.interval_sec < 1 {
            return err("interval_sec", "must be at least 1");
        }
        if self.max_intervals < 1 {
            return err("max_intervals", "must be at least 1");
        }
        Ok(())
    }
}

/// `kairos.matchmaker.*`.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct MatchmakerTuning {
    /// Milliseconds between passes, for sub-second matchmaking; 0 (the
    /// default) keeps Nakama's `matchmaker.interval_sec`.
    pub interval_ms: u64,
    /// Tickets the node holds at most; a `matchmaker_add` past it is
    /// refused.
    pub max_pool_tickets: usize,
}

impl Default for MatchmakerTuning {
    fn default() -> Self {
        MatchmakerTuning {
            interval_ms: 0,
            max_pool_tickets: 1_000_000,
        }
    }
}

impl MatchmakerTuning {
    pub(super) fn validate(&self) -> Result<(), ConfigError> {
        if self.interval_ms != 0 && self.interval_ms < 10 {
            return invalid("matchmaker.interval_ms", "must be 0 or at least 10");
        }
        if self.max_pool_tickets < 1 {
            return invalid("matchmaker.max_pool_tickets", "must be at least 1");
        }
        Ok(())
    }
}

impl MatchmakerConfig {
    /// The interval between passes, in milliseconds: `kairos`'s key when
    /// set, else Nakama's.
    pub fn interval_ms(&self, tuning: &MatchmakerTuning) -> u64 {
        if tuning.interval_ms > 0 {
            tuning.interval_ms
        } else {
            self.interval_sec * 1000
        }
    }
}
