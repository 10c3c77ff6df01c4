//! The `notify:` section of homeostat.yml: where notifications go and which.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// `notify:` in homeostat.yml.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NotifyConfig {
    /// Slack incoming webhook (Block Kit message).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub slack: Option<Target>,
    /// Discord webhook (one embed, no pings).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub discord: Option<Target>,
    /// Microsoft Teams incoming webhook or Workflows URL (Adaptive Card 1.4).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub teams: Option<Target>,
    /// Any URL that takes `{"event", "title", "text", "links", "ts", …}` as JSON.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub webhook: Option<Target>,
    /// Event notices one destination receives per hour at most; the rest are recorded as
    /// suppressed and counted in the next digest (which itself always goes).
    #[serde(default = "default_max_per_hour")]
    pub max_per_hour: u32,
}

fn default_max_per_hour() -> u32 {
    10
}

/// One destination.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Target {
    /// The environment variable that holds the URL (a secret: never printed).
    pub url_env: String,
    /// Which events go there (default: all).
    #[serde(default = "all_events")]
    pub events: Vec<EventKind>,
}

fn all_events() -> Vec<EventKind> {
    EventKind::ALL.to_vec()
}

impl NotifyConfig {
    /// Configured destinations by name.
    pub fn targets(&self) -> Vec<(&'static str, &Target)> {
        [("slack", &self.slack), ("discord", &self.discord), ("teams", &self.teams), ("webhook", &self.webhook)]
            .into_iter()
            .filter_map(|(name, t)| t.as_ref().map(|t| (name, t)))
            .collect()
    }
}

/// What a notification is about (`notify.<target>.events` in homeostat.yml).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, serde::Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum EventKind {
    /// hs-canary rolled a release back.
    Rollback,
    /// The coding agent failed or timed out on an issue.
    AgentFailure,
    /// The coding agent opened a pull request that waits for review.
    Review,
    /// A runbook could not repair a fault and escalated to a person.
    Escalation,
    /// The daily digest of the figures (skipped on quiet days).
    Digest,
}

impl EventKind {
    pub const ALL: [EventKind; 5] = [Self::Rollback, Self::AgentFailure, Self::Review, Self::Escalation, Self::Digest];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Rollback => "rollback",
            Self::AgentFailure => "agent-failure",
            Self::Review => "review",
            Self::Escalation => "escalation",
            Self::Digest => "digest",
        }
    }
}
