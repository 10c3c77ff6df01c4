//! The `agents` section of homeostat.yml: which agent fixes which class of error, and
//! the limits every run honours.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::Duration;

/// `agents:` in homeostat.yml.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AgentsConfig {
    /// Error class → name of an agent in `define` (e.g. `{safe: quick, needs-validation: careful}`).
    /// A class without a route falls back to the agent named `default`, if defined.
    #[serde(default)]
    pub route: BTreeMap<String, String>,
    /// Named agents.
    #[serde(default)]
    pub define: BTreeMap<String, AgentDef>,
    /// Wall-clock limit of one agent run; past it the agent's whole process group is killed.
    #[serde(default = "defaults::timeout")]
    pub timeout: Duration,
    /// Follow-up (revise) runs per issue after a fix run, from `/homeostat revise` or failed CI.
    #[serde(default = "defaults::max_attempts")]
    pub max_attempts: u32,
    /// Runs and spend, counted in the ledger, checked before a run starts.
    #[serde(default)]
    pub budget: AgentBudget,
    /// The only environment variables the agent sees, besides `PATH` and `HOME`.
    #[serde(default)]
    pub env: Vec<String>,
    /// Bytes of in-app source files quoted in the prompt.
    #[serde(default = "defaults::context_bytes")]
    pub context_bytes: usize,
    /// The identity the bot commits as.
    #[serde(default)]
    pub bot: BotIdentity,
}

impl Default for AgentsConfig {
    fn default() -> Self {
        Self {
            route: BTreeMap::new(),
            define: BTreeMap::new(),
            timeout: defaults::timeout(),
            max_attempts: defaults::max_attempts(),
            budget: AgentBudget::default(),
            env: Vec::new(),
            context_bytes: defaults::context_bytes(),
            bot: BotIdentity::default(),
        }
    }
}

impl AgentsConfig {
    /// The agent for an error class: its route, else the agent named `default`.
    pub fn agent_for(&self, class: &str) -> Option<(&str, &AgentDef)> {
        let name = self.route.get(class).map_or("default", String::as_str);
        self.define.get_key_value(name).map(|(k, v)| (k.as_str(), v))
    }
}

/// One agent: an adapter and its settings.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AgentDef {
    pub adapter: AdapterKind,
    /// Model name passed to the agent, where it takes one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    /// Turn cap (claude `--max-turns`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_turns: Option<u32>,
    /// Spend cap of one run in USD (claude `--max-budget-usd`); also capped by what is
    /// left of `budget.usd_per_day`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_usd: Option<f64>,
    /// `custom` only: the command line. Placeholders: `{prompt_file}`, `{summary_file}`,
    /// `{issue}`, `{model}`. Untrusted text never enters it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub run: Vec<String>,
    /// Extra arguments appended to the adapter's command line.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub args: Vec<String>,
    /// The program to run instead of the adapter's default (`claude`, `codex`, `aider`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub program: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum AdapterKind {
    Claude,
    Codex,
    Aider,
    Custom,
}

/// `agents.budget`.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AgentBudget {
    /// Agent runs in any rolling hour.
    #[serde(default = "defaults::runs_per_hour")]
    pub runs_per_hour: u32,
    /// Agent runs in any rolling 24 hours.
    #[serde(default = "defaults::runs_per_day")]
    pub runs_per_day: u32,
    /// Spend in any rolling 24 hours, in USD, as the agents reported it.
    #[serde(default = "defaults::usd_per_day")]
    pub usd_per_day: f64,
}

impl Default for AgentBudget {
    fn default() -> Self {
        Self {
            runs_per_hour: defaults::runs_per_hour(),
            runs_per_day: defaults::runs_per_day(),
            usd_per_day: defaults::usd_per_day(),
        }
    }
}

/// Logins homeostat opens pull requests as when `agents.bot.logins` says nothing: the
/// workflow token's identity, and the local forge's.
pub const DEFAULT_BOT_LOGINS: &[&str] = &[WORKFLOW_TOKEN_LOGIN, "homeostat[bot]"];
/// The login the workflow token (`GITHUB_TOKEN`) writes as.
pub const WORKFLOW_TOKEN_LOGIN: &str = "github-actions[bot]";

/// `agents.bot`: the commit identity.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct BotIdentity {
    #[serde(default = "defaults::bot_name")]
    pub name: String,
    #[serde(default = "defaults::bot_email")]
    pub email: String,
    /// Forge logins homeostat's pull requests and comments are written as (default: the
    /// workflow token's `github-actions[bot]` and the local forge's `homeostat[bot]`; with a
    /// GitHub App token, `<app-slug>[bot]`). Only their PRs are adopted or merged, and only
    /// their comments are updated.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub logins: Vec<String>,
}

impl Default for BotIdentity {
    fn default() -> Self {
        Self { name: defaults::bot_name(), email: defaults::bot_email(), logins: Vec::new() }
    }
}

impl BotIdentity {
    /// The logins to trust: `logins`, else the defaults.
    pub fn logins(&self) -> Vec<String> {
        if self.logins.is_empty() {
            DEFAULT_BOT_LOGINS.iter().map(|s| (*s).to_string()).collect()
        } else {
            self.logins.clone()
        }
    }

    /// The logins whose comments and report issues are homeostat's: [`Self::logins`], and
    /// the workflow token's, which the other workflows (guard, triage, canary, ops,
    /// cluster) keep writing as when the agent's use an App token.
    pub fn own_logins(&self) -> Vec<String> {
        let mut own = self.logins();
        if !own.iter().any(|l| l.eq_ignore_ascii_case(WORKFLOW_TOKEN_LOGIN)) {
            own.push(WORKFLOW_TOKEN_LOGIN.to_string());
        }
        own
    }
}

mod defaults {
    use crate::settings::Duration;
    pub fn timeout() -> Duration {
        Duration::from_secs(30 * 60)
    }
    pub fn max_attempts() -> u32 {
        2
    }
    pub fn context_bytes() -> usize {
        48 * 1024
    }
    pub fn runs_per_hour() -> u32 {
        10
    }
    pub fn runs_per_day() -> u32 {
        30
    }
    pub fn usd_per_day() -> f64 {
        20.0
    }
    pub fn bot_name() -> String {
        "homeostat[bot]".into()
    }
    pub fn bot_email() -> String {
        "homeostat[bot]@users.noreply.github.com".into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn design_example_parses_and_routes() {
        let text = r#"
agents:
  route: {safe: quick, needs-validation: careful}
  define:
    quick:   {adapter: claude, model: claude-haiku-4-5, max_turns: 30}
    careful: {adapter: custom, run: ["./scripts/agent.sh", "{prompt_file}"]}
  timeout: 30m
  max_attempts: 2
  budget: {runs_per_hour: 10, runs_per_day: 30, usd_per_day: 20}
  env: [ANTHROPIC_API_KEY, OPENAI_API_KEY]
"#;
        let config = crate::settings::Config::parse("h.yml", text).unwrap();
        let agents = config.agents.unwrap();
        assert_eq!(agents.timeout.as_std().as_secs(), 1800);
        let (name, def) = agents.agent_for("needs-validation").unwrap();
        assert_eq!((name, def.adapter), ("careful", AdapterKind::Custom));
        assert_eq!(agents.agent_for("safe").unwrap().1.max_turns, Some(30));
        assert!(agents.agent_for("critical").is_none());
    }

    #[test]
    fn unknown_agent_key_names_its_line() {
        let err = crate::settings::Config::parse("h.yml", "agents:\n  define:\n    q: {adapter: claude, turns: 3}\n")
            .unwrap_err();
        assert_eq!(err.exit_code(), 2);
        assert!(err.to_string().starts_with("h.yml:3:"), "{err}");
    }
}
