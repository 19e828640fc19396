//! `kairos.net.*`: limits on connections and on how long a client may take
//! to send a request.

use serde::{Deserialize, Serialize};

use super::ConfigError;

#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct NetLimits {}

impl NetLimits {
    pub(super) fn validate(&self) -> Result<(), ConfigError> {
        Ok(())
    }
}
