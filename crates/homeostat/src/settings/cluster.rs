//! The `cluster:` section of homeostat.yml: when two reports are duplicates, and what
//! homeostat does about them.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::Duration;

/// The `cluster:` section of homeostat.yml.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ClusterConfig {
    /// Average-linkage similarity at which two reports are called duplicates.
    #[serde(default = "defaults::threshold")]
    pub threshold: f64,
    /// Per-repository thresholds (`owner/name: 0.8`), before tuning by reactions.
    #[serde(default)]
    pub thresholds: BTreeMap<String, f64>,
    /// Issue labels to read (empty: any label).
    #[serde(default)]
    pub labels: Vec<String>,
    /// Issues closed this recently are read too, as reports to link to (a new report of a
    /// problem just fixed), never commented on. `0s`: open issues only.
    #[serde(default = "defaults::closed_within")]
    pub closed_within: Duration,
    /// Also read discussions with this label (e.g. `feedback`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub discussions: Option<String>,
    /// Label added to a likely duplicate; removing it tells homeostat it was wrong.
    #[serde(default = "defaults::label")]
    pub label: String,
    /// Post a comment on each new likely duplicate (false: label only).
    #[serde(default = "defaults::yes")]
    pub comment: bool,
    /// Comments one run may post.
    #[serde(default = "defaults::max_comments")]
    pub max_comments_per_run: u32,
    /// Ask the configured model about borderline pairs (within 0.08 below the threshold).
    #[serde(default)]
    pub llm_confirm: bool,
    /// Let clusters span repositories.
    #[serde(default)]
    pub across_repos: bool,
    /// Tune each repository's threshold from the maintainers' reactions in the ledger.
    #[serde(default = "defaults::yes")]
    pub tune: bool,
}

impl Default for ClusterConfig {
    fn default() -> Self {
        Self {
            threshold: defaults::threshold(),
            thresholds: BTreeMap::new(),
            labels: Vec::new(),
            closed_within: defaults::closed_within(),
            discussions: None,
            label: defaults::label(),
            comment: true,
            max_comments_per_run: defaults::max_comments(),
            llm_confirm: false,
            across_repos: false,
            tune: true,
        }
    }
}

mod defaults {
    use super::Duration;

    pub fn closed_within() -> Duration {
        Duration::from_secs(90 * 24 * 3600)
    }
    pub fn threshold() -> f64 {
        0.62
    }
    pub fn label() -> String {
        "possible-duplicate".into()
    }
    pub fn yes() -> bool {
        true
    }
    pub fn max_comments() -> u32 {
        20
    }
}
