//! (being written) See DESIGN.md.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// The `llm` section of homeostat.yml.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LlmConfig {}
