//! `kairos.session.*`: what one realtime session may ask of the server.

use serde::{Deserialize, Serialize};

use super::ConfigError;

#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct SessionLimits {}

impl SessionLimits {
    pub(super) fn validate(&self) -> Result<(), ConfigError> {
        Ok(())
    }
}
