//! `kairos.reactor.*`: knobs of the shard executors. Each applies to the
//! runtimes that have it (the build's runtime is chosen by a cargo feature
//! of kairos-shards) and is ignored by the others.

use serde::{Deserialize, Serialize};

use super::ConfigError;
use super::kairos::invalid;

/// Which reactor a monoio build drives its sockets with.
#[derive(Clone, Copy, Debug, Default, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum MonoioDriver {
    /// io_uring when the kernel offers it (and the process may use it),
    /// else epoll.
    #[default]
    Auto,
    /// epoll always, even where io_uring is available.
    Legacy,
}

#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct RuntimeTuning {
    /// Submission-queue entries of each io_uring a shard sets up (glommio:
    /// each of its three rings; monoio: its one ring). tokio and monoio's
    /// epoll driver have no ring and ignore it.
    pub ring_depth: u32,
    /// monoio: `auto` (io_uring, or epoll where io_uring is unavailable)
    /// or `legacy` (epoll always).
    pub monoio_driver: MonoioDriver,
}

impl Default for RuntimeTuning {
    fn default() -> Self {
        RuntimeTuning {
            ring_depth: 256,
            monoio_driver: MonoioDriver::Auto,
        }
    }
}

impl RuntimeTuning {
    pub(super) fn validate(&self) -> Result<(), ConfigError> {
        if !(8..=32768).contains(&self.ring_depth) {
            return invalid("reactor.ring_depth", "must be between 8 and 32768");
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_validate_and_out_of_range_knobs_are_refused() {
        assert!(RuntimeTuning::default().validate().is_ok());
        let shallow = RuntimeTuning {
            ring_depth: 4,
            ..RuntimeTuning::default()
        };
        let e = shallow.validate().unwrap_err().0;
        assert!(e.contains("kairos.reactor.ring_depth"), "{e}");
        let huge = RuntimeTuning {
            ring_depth: 1 << 20,
            ..RuntimeTuning::default()
        };
        assert!(huge.validate().is_err());
    }

    #[test]
    fn the_monoio_driver_is_named_in_lowercase() {
        let t: RuntimeTuning = serde_json::from_str(r#"{"monoio_driver":"legacy"}"#).unwrap();
        assert_eq!(t.monoio_driver, MonoioDriver::Legacy);
        assert!(serde_json::from_str::<RuntimeTuning>(r#"{"monoio_driver":"uring"}"#).is_err());
    }
}
