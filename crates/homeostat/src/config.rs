//! `homeostat.yml`: the one settings file, its defaults, discovery and JSON Schema.
//!
//! Each job's section type lives beside the job (`canary::CanaryConfig`, …) and is
//! named here, so the whole file has one schema (`schema/homeostat.schema.json`).

use std::path::{Path, PathBuf};

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Position, Result};
use crate::gha::{Env, vars};

/// Where `discover` looks when no file is named, in order.
pub const DISCOVERY: &[&str] = &[".github/homeostat.yml", "homeostat.yml"];

#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Risk policy file (else the built-in `policies/default.yml`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub policy: Option<PathBuf>,
    #[serde(default)]
    pub fingerprint: FingerprintConfig,
    #[serde(default)]
    pub scrub: ScrubConfig,
    #[serde(default)]
    pub issues: IssuesConfig,
    #[serde(default)]
    pub ledger: LedgerConfig,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub llm: Option<crate::llm::LlmConfig>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agents: Option<crate::agent::AgentsConfig>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub canary: Option<crate::canary::CanaryConfig>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ops: Option<crate::ops::OpsConfig>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content: Option<crate::content::ContentConfig>,
    /// hs-guard: external checks (semver, API and schema breaking-change tools).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub guard: Option<crate::guard::GuardConfig>,
    /// hs-cluster: near-duplicate reports found and linked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cluster: Option<crate::cluster::ClusterConfig>,
    /// hs-relay: the Sentry-protocol ingest server.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub relay: Option<crate::relay::RelayConfig>,
    /// hs-report: where notifications go (Slack, Discord, Teams, a JSON webhook) and which.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notify: Option<crate::report::NotifyConfig>,
    /// The file this was read from (not a key).
    #[serde(skip)]
    pub source: Option<PathBuf>,
}

/// Fingerprinting.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FingerprintConfig {
    /// Extra stack-trace rules (`+app`, `-app`, `-group`) and fingerprint rules
    /// (`matchers -> values`), applied after the built-in ones.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rules: Option<PathBuf>,
    /// A folder of JavaScript source maps (`*.map`, or `<release>/**/*.map`): minified
    /// frames are resolved to original files and functions before grouping.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sourcemaps: Option<PathBuf>,
}

/// Scrubbing of personal data and secrets.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ScrubConfig {
    /// Extra scrub rules, applied after the built-in `policies/scrub.yml`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rules: Option<PathBuf>,
}

/// One issue per fingerprint (hs-issue).
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct IssuesConfig {
    /// Labels added to every error issue, besides `homeostat:error` and `homeostat:backlog`.
    #[serde(default)]
    pub labels: Vec<String>,
    /// New issues one run may open; the rest are held back and reported.
    #[serde(default = "defaults::max_new_per_run")]
    pub max_new_per_run: u32,
    /// New issues per UTC day, counted in the ledger.
    #[serde(default = "defaults::max_new_per_day")]
    pub max_new_per_day: u32,
    /// Occurrence comments one run may post (GitHub allows about 80 content-creating
    /// requests a minute and 500 an hour); past it, the busiest issues get theirs and the
    /// rest only update their counter, commenting on a later run.
    #[serde(default = "defaults::max_comments_per_run")]
    pub max_comments_per_run: u32,
    /// A known open issue gets at most one occurrence comment per window; occurrences
    /// inside it only update the counter in the body.
    #[serde(default = "defaults::dedup_window")]
    pub dedup_window: Duration,
    /// Reopen a closed issue when the error comes back from a newer release.
    #[serde(default = "defaults::yes")]
    pub reopen_on_regression: bool,
    /// New fingerprints held back by a quota wait in the ledger this long; every run files
    /// the most frequent of them first, within its quota, before they are dropped.
    #[serde(default = "defaults::hold_for")]
    pub hold_for: Duration,
}

impl Default for IssuesConfig {
    fn default() -> Self {
        Self {
            labels: Vec::new(),
            max_new_per_run: defaults::max_new_per_run(),
            max_new_per_day: defaults::max_new_per_day(),
            max_comments_per_run: defaults::max_comments_per_run(),
            dedup_window: defaults::dedup_window(),
            reopen_on_regression: true,
            hold_for: defaults::hold_for(),
        }
    }
}

/// Where the ledger lives.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LedgerConfig {
    /// The JSONL file (local runs, and the working copy in Actions).
    #[serde(default = "defaults::ledger_path")]
    pub path: PathBuf,
    /// In Actions, the orphan branch the ledger is pushed to (empty: file only).
    #[serde(default = "defaults::ledger_branch")]
    pub branch: String,
}

impl Default for LedgerConfig {
    fn default() -> Self {
        Self { path: defaults::ledger_path(), branch: defaults::ledger_branch() }
    }
}

mod defaults {
    use super::Duration;
    use std::path::PathBuf;
    pub fn max_new_per_run() -> u32 {
        10
    }
    pub fn max_new_per_day() -> u32 {
        30
    }
    pub fn max_comments_per_run() -> u32 {
        60
    }
    pub fn dedup_window() -> Duration {
        Duration::from_secs(0)
    }
    pub fn hold_for() -> Duration {
        Duration::from_secs(7 * 24 * 3600)
    }
    pub fn yes() -> bool {
        true
    }
    pub fn ledger_path() -> PathBuf {
        PathBuf::from(".homeostat/ledger.jsonl")
    }
    pub fn ledger_branch() -> String {
        "homeostat-ledger".into()
    }
}

impl Config {
    /// Finds and reads the config: `explicit`, else `$HOMEOSTAT_CONFIG`, else the
    /// [`DISCOVERY`] paths, else the built-in defaults.
    pub fn discover(explicit: Option<&Path>, env: &Env) -> Result<Self> {
        if let Some(path) = explicit {
            return Self::load(path);
        }
        if let Some(path) = env.path(vars::HOMEOSTAT_CONFIG) {
            return Self::load(&path);
        }
        for candidate in DISCOVERY {
            let path = Path::new(candidate);
            if path.is_file() {
                return Self::load(path);
            }
        }
        Ok(Self::default())
    }

    pub fn load(path: &Path) -> Result<Self> {
        let text = crate::error::read_to_string(path)?;
        let mut config = Self::parse(&path.display().to_string(), &text)?;
        config.source = Some(path.to_path_buf());
        Ok(config)
    }

    pub fn parse(file: &str, text: &str) -> Result<Self> {
        if text.trim().is_empty() {
            return Ok(Self::default());
        }
        Ok(crate::parse::yaml(file, text)?)
    }

    /// The JSON Schema of homeostat.yml, as committed in `schema/homeostat.schema.json`.
    pub fn json_schema() -> String {
        let schema = schemars::schema_for!(Config);
        let mut text = serde_json::to_string_pretty(&schema).unwrap_or_default();
        text.push('\n');
        text
    }
}

pub use homeostat_core::duration::Duration;

/// Resolves `path` against the directory of the config file that named it.
pub fn relative_to(config: &Config, path: &Path) -> PathBuf {
    match config.source.as_ref().and_then(|s| s.parent()) {
        Some(dir) if path.is_relative() && !dir.as_os_str().is_empty() && !is_repo_root_config(dir) => dir.join(path),
        _ => path.to_path_buf(),
    }
}

/// `.github/homeostat.yml` names paths from the repository root, like every other file
/// under `.github/` does.
fn is_repo_root_config(dir: &Path) -> bool {
    dir.file_name().is_some_and(|n| n == ".github")
}

/// A bad value in a config file that serde accepted (e.g. a regex), at a key.
pub fn bad_value(config: &Config, key: &str, message: impl std::fmt::Display) -> Error {
    let file = config.source.as_ref().map_or_else(|| "homeostat.yml".to_string(), |p| p.display().to_string());
    Error::input(Position::file(file), format!("{key}: {message}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_when_empty() {
        let c = Config::parse("h.yml", "").unwrap();
        assert_eq!(c.issues.max_new_per_run, 10);
    }

    #[test]
    fn unknown_key_is_an_error_with_position() {
        let err = Config::parse("h.yml", "issues:\n  max_new_per_rn: 3\n").unwrap_err();
        assert_eq!(err.exit_code(), 2);
        let text = err.to_string();
        assert!(
            text.starts_with("h.yml:2:3: issues: unknown field `max_new_per_rn`") || text.starts_with("h.yml:2:3:"),
            "{text}"
        );
    }

    #[test]
    fn durations_parse() {
        let d: Duration = "1h 30m".parse().unwrap();
        assert_eq!(d.as_std().as_secs(), 5400);
        assert_eq!("0s".parse::<Duration>().unwrap().as_std().as_secs(), 0);
        assert!("soon".parse::<Duration>().is_err());
        assert_eq!(Duration::from_secs(1800).to_string(), "30m");
    }

    #[test]
    fn committed_schema_is_current() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../schema/homeostat.schema.json");
        let current = Config::json_schema();
        if std::env::var_os("HOMEOSTAT_UPDATE_SCHEMA").is_some() {
            std::fs::write(&path, &current).unwrap();
        }
        let committed = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            committed == current,
            "schema/homeostat.schema.json is stale: run `HOMEOSTAT_UPDATE_SCHEMA=1 cargo test -p homeostat --lib committed_schema_is_current`"
        );
    }
}
