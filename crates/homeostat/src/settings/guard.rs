//! The `guard` section of homeostat.yml: external breaking-change checks and whose pull
//! requests the guard may fail.

use homeostat_core::policy::Class;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::Duration;

/// The `guard` section of homeostat.yml.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct GuardConfig {
    /// External checks, run in order.
    #[serde(default)]
    pub checks: Vec<ExternalCheck>,
    /// Whose pull requests `--fail-on` fails, when the guard runs as a required check:
    /// `bots` (default: homeostat's own; people's and dependency updates are reported,
    /// never failed) or `everyone` (the repository opts in).
    #[serde(default)]
    pub required_for: RequiredFor,
}

/// `guard.required_for`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum RequiredFor {
    #[default]
    Bots,
    Everyone,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Preset {
    /// `cargo semver-checks --baseline-rev {base}` (exit 1 with "semver requires new …" is breaking).
    CargoSemverChecks,
    /// `buf breaking --against .git#ref={base}` (exit 100 is breaking).
    BufBreaking,
    /// `oasdiff breaking --fail-on ERR {base:SPEC} {head:SPEC}` (needs `spec`).
    OasdiffBreaking,
}

/// One external check.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ExternalCheck {
    /// The row id is `external:<name>`.
    pub name: String,
    /// Fills `run`, `clean`, `breaking`, `breaking_output` and `paths` (each may still be set).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preset: Option<Preset>,
    /// The command line, one argument per item (no shell).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub run: Vec<String>,
    /// For the oasdiff preset: the OpenAPI file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub spec: Option<String>,
    /// Exit codes that mean "no breaking change" (default [0]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub clean: Option<Vec<i32>>,
    /// Exit codes that mean "breaking" (default [1]); any other code: could not run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub breaking: Option<Vec<i32>>,
    /// When set, a breaking exit code counts as breaking only if the output matches this
    /// regex (else: could not run), for tools that exit 1 on errors too.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub breaking_output: Option<String>,
    /// Run only when a changed path matches these globs (default: always).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub paths: Option<Vec<String>>,
    /// The class a breaking result gives the change (default critical).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub class: Option<Class>,
    /// Killed after this long (default 10m): could not run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout: Option<Duration>,
}
