//! The labels homeostat creates and uses (`policies/labels.yml`, compiled in).

use serde::{Deserialize, Serialize};

use crate::error::Result;

const LABELS: &str = include_str!("../../../policies/labels.yml");

/// One label to create.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Label {
    pub name: String,
    pub color: String,
    pub description: String,
}

/// The labels homeostat uses (`policies/labels.yml`).
pub fn labels() -> Result<Vec<Label>> {
    crate::parse::yaml("policies/labels.yml", LABELS)
}
