//! The `ops` section of homeostat.yml: how runbooks run and what they may touch.

use std::collections::BTreeMap;
use std::path::PathBuf;

use homeostat_core::ops::decide::Mode;
use homeostat_core::ops::runbook;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// The `ops` section of homeostat.yml.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct OpsConfig {
    /// `diagnose` (report only), `approve` (a maintainer comments `/approve`), `auto`.
    #[serde(default)]
    pub mode: Mode,
    /// Folder of runbooks, added to (and overriding by name) the built-in library.
    #[serde(default = "default_sops")]
    pub sops: PathBuf,
    /// Hosts the `http` checks and operation may call, with their ports: `host:port`, `host:*` (any port), `[v6]:port`; a bare `host` or `*.domain` allows ports 80 and 443 only.
    #[serde(default)]
    pub allow_hosts: Vec<String>,
    /// Command lines the `command` checks and operation may run (argv, never a shell).
    #[serde(default)]
    pub commands: Vec<runbook::CommandLine>,
    /// Environment variables a `command` step sees besides PATH, HOME, LANG and TMPDIR
    /// (e.g. `GH_TOKEN` for `gh`); everything else is cleared.
    #[serde(default)]
    pub command_env: Vec<String>,
    /// Values for `${NAME}` placeholders in runbooks (before the environment).
    #[serde(default)]
    pub vars: BTreeMap<String, String>,
    /// Name of the environment variable holding a Slack-compatible webhook URL, for
    /// escalations to `slack` and `hs-ops report --to webhook`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub webhook_env: Option<String>,
}

fn default_sops() -> PathBuf {
    PathBuf::from("sops")
}

impl Default for OpsConfig {
    fn default() -> Self {
        Self {
            mode: Mode::default(),
            sops: default_sops(),
            allow_hosts: Vec::new(),
            commands: Vec::new(),
            command_env: Vec::new(),
            vars: BTreeMap::new(),
            webhook_env: None,
        }
    }
}
