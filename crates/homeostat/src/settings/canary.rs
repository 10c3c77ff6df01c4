//! The `canary` section of homeostat.yml (DESIGN.md, "Canary watch").

use std::collections::BTreeMap;
use std::path::PathBuf;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::Duration;
use homeostat_core::canary::judge::{self, Direction, EffectMeasure};

/// The canary watch: how often and how many times to measure, what each metric may do,
/// and what happens on rollback or promote.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CanaryConfig {
    /// Time between measurements (`0s` for replays of file series).
    #[serde(default = "defaults::interval")]
    pub interval: Duration,
    /// Wait before the first measurement.
    #[serde(default = "defaults::zero")]
    pub initial_delay: Duration,
    /// Completed measurements to take (source errors do not count).
    #[serde(default = "defaults::count")]
    pub count: u32,
    /// Failed measurements tolerated; more → rollback. -1 never rolls back on failures.
    #[serde(default)]
    pub failure_limit: i64,
    /// Measurements without data tolerated; more → inconclusive.
    #[serde(default)]
    pub inconclusive_limit: u32,
    /// Source errors in a row tolerated; more → inconclusive.
    #[serde(default = "defaults::consecutive_error_limit")]
    pub consecutive_error_limit: u32,
    pub metrics: Vec<MetricConfig>,
    /// The final comparison of each canary series against its baseline series.
    #[serde(default)]
    pub judge: JudgeConfig,
    /// What to do when the canary is rolled back.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub on_rollback: Option<ActionConfig>,
    /// What to do when the canary is promoted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub on_promote: Option<ActionConfig>,
}

impl CanaryConfig {
    /// The paths of the `file` sources, canary and baseline, of every metric.
    pub fn file_paths_mut(&mut self) -> impl Iterator<Item = &mut PathBuf> {
        self.metrics.iter_mut().flat_map(|m| std::iter::once(&mut m.canary).chain(m.baseline.as_mut())).filter_map(
            |s| match s {
                SourceConfig::File(f) => Some(&mut f.path),
                _ => None,
            },
        )
    }
}

/// One metric: where its canary (and optional baseline) values come from, and its bounds.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MetricConfig {
    pub name: String,
    pub canary: SourceConfig,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub baseline: Option<SourceConfig>,
    /// Absolute ceiling: a canary value above it fails the measurement.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max: Option<f64>,
    /// Absolute floor: a canary value below it fails the measurement (success rates).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min: Option<f64>,
    /// Relative ceiling: the canary fails above baseline × (1 + max_increase).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_increase: Option<f64>,
    /// Relative floor: the canary fails below baseline × (1 − max_decrease).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_decrease: Option<f64>,
    /// Which way is worse for the judge: `increase` (default: errors, latency),
    /// `decrease` (success rate) or `either`.
    #[serde(default)]
    pub direction: Direction,
    /// Leave this metric out of the final judge (its bounds still apply).
    #[serde(default)]
    pub skip_judge: bool,
}

/// Where a series comes from; written as a one-key map.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(try_from = "SourceMap", into = "SourceMap")]
pub enum SourceConfig {
    /// Prometheus HTTP API, instant or range query.
    Prometheus(PrometheusSource),
    /// A JSON document at a URL and a JSON pointer into it.
    Http(HttpSource),
    /// A command that prints a number.
    Command(CommandSource),
    /// A JSON array of numbers or nulls: measurement i reads element i.
    File(FileSource),
    /// hs-relay's `/metrics`: a release's errors per minute (or total, or fingerprints).
    Relay(RelaySource),
}

/// The YAML form of a source: exactly one of these keys.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SourceMap {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prometheus: Option<PrometheusSource>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub http: Option<HttpSource>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub command: Option<CommandSource>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file: Option<FileSource>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub relay: Option<RelaySource>,
}

impl TryFrom<SourceMap> for SourceConfig {
    type Error = String;
    fn try_from(m: SourceMap) -> Result<Self, String> {
        let mut found = Vec::new();
        if let Some(p) = m.prometheus {
            found.push(Self::Prometheus(p));
        }
        if let Some(h) = m.http {
            found.push(Self::Http(h));
        }
        if let Some(c) = m.command {
            found.push(Self::Command(c));
        }
        if let Some(f) = m.file {
            found.push(Self::File(f));
        }
        if let Some(r) = m.relay {
            found.push(Self::Relay(r));
        }
        match found.len() {
            1 => Ok(found.remove(0)),
            0 => Err("a source needs one of `prometheus`, `http`, `command`, `file`, `relay`".into()),
            _ => Err("a source takes exactly one of `prometheus`, `http`, `command`, `file`, `relay`".into()),
        }
    }
}

impl From<SourceConfig> for SourceMap {
    fn from(s: SourceConfig) -> Self {
        let mut m = Self::default();
        match s {
            SourceConfig::Prometheus(p) => m.prometheus = Some(p),
            SourceConfig::Http(h) => m.http = Some(h),
            SourceConfig::Command(c) => m.command = Some(c),
            SourceConfig::File(f) => m.file = Some(f),
            SourceConfig::Relay(r) => m.relay = Some(r),
        }
        m
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PrometheusSource {
    /// Base URL of the server, e.g. `http://prometheus:9090`.
    pub url: String,
    /// PromQL; it must return one series (aggregate with `sum`, `avg`, …).
    pub query: String,
    /// Evaluate measurement i at `at + i × step` instead of now (RFC 3339): replays of
    /// a past window.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at: Option<String>,
    /// With `range`, a range query over the last `range` reduced to one value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub range: Option<Duration>,
    /// Resolution of a range query, and the spacing of `at` replays (default: the interval).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub step: Option<Duration>,
    /// How a range query's samples become one value.
    #[serde(default)]
    pub reduce: Reduce,
    /// Request headers (e.g. `Authorization: "Bearer ${PROM_TOKEN}"`); `${NAME}` is read
    /// from the environment and masked in the job's log.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub headers: BTreeMap<String, String>,
    /// Per-request timeout.
    #[serde(default = "defaults::timeout")]
    pub timeout: Duration,
}

/// How a series of samples becomes one measurement.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Reduce {
    #[default]
    Last,
    Mean,
    Max,
    Min,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct HttpSource {
    pub url: String,
    /// RFC 6901 JSON pointer to a number (or a numeric string), e.g. `/data/error_rate`.
    pub pointer: String,
    /// Request headers; `${NAME}` is read from the environment and masked.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub headers: BTreeMap<String, String>,
    #[serde(default = "defaults::timeout")]
    pub timeout: Duration,
}

/// hs-relay's counts for one release, read from its `/metrics` (no Prometheus needed).
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RelaySource {
    /// The relay's base URL, e.g. `http://relay:9477`.
    pub url: String,
    /// The release under watch.
    pub release: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub environment: Option<String>,
    /// The DSN project id (else every project).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub project: Option<String>,
    /// `events_last_minute` (errors per minute, the default), `events_total`, `fingerprints`,
    /// `sessions_total`, or `unhealthy_session_share` (the share of the release's sessions
    /// with an error, a crash or an abnormal end: a rate, whatever the release's traffic).
    #[serde(default = "defaults::relay_metric")]
    pub metric: String,
    #[serde(default = "defaults::timeout")]
    pub timeout: Duration,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CommandSource {
    /// A command line run by `sh -c`, or an argument list run as is.
    pub run: CommandLine,
    #[serde(default = "defaults::timeout")]
    pub timeout: Duration,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FileSource {
    /// Relative to the config file's folder (the repository root for `.github/homeostat.yml`).
    pub path: PathBuf,
}

/// A command: one string for `sh -c`, or a list of arguments (no shell).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum CommandLine {
    Shell(String),
    Args(Vec<String>),
}

/// The final Mann-Whitney comparison (Kayenta's NetflixACAJudge settings by default).
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct JudgeConfig {
    #[serde(default = "defaults::yes")]
    pub enabled: bool,
    /// Confidence level of the interval on the shift canary − baseline.
    #[serde(default = "defaults::confidence")]
    pub confidence: f64,
    /// A difference counts only when the interval clears tolerance × |estimate|.
    #[serde(default = "defaults::tolerance")]
    pub tolerance: f64,
    /// `meanRatio` (default) or `cles`.
    #[serde(default)]
    pub effect_size: EffectMeasure,
    /// A High needs an effect ≥ this (default 1.0 for the mean ratio, 0.5 for CLES).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allowed_increase: Option<f64>,
    /// A Low needs an effect ≤ this.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allowed_decrease: Option<f64>,
}

impl Default for JudgeConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            confidence: defaults::confidence(),
            tolerance: defaults::tolerance(),
            effect_size: EffectMeasure::MeanRatio,
            allowed_increase: None,
            allowed_decrease: None,
        }
    }
}

impl JudgeConfig {
    pub fn params(&self) -> judge::Params {
        let mut p = judge::Params::with(self.tolerance, self.confidence, self.effect_size);
        if let Some(v) = self.allowed_increase {
            p.allowed_increase = v;
        }
        if let Some(v) = self.allowed_decrease {
            p.allowed_decrease = v;
        }
        p
    }
}

/// `{run: CMD}` runs a command; `{revert: REV}` opens a revert pull request for that
/// merge commit (and reopens the issue it fixed with `homeostat:regressed`).
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ActionConfig {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run: Option<CommandLine>,
    /// A commit (sha or rev such as `HEAD`) to revert.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revert: Option<String>,
    /// The issue the reverted change fixed (default: read from `Fixes #N` in the commit
    /// or its pull request).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub issue: Option<u64>,
    /// Branch the revert PR targets (default: the forge's default branch).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub base: Option<String>,
    #[serde(default = "defaults::action_timeout")]
    pub timeout: Duration,
}

mod defaults {
    use crate::settings::Duration;
    pub fn interval() -> Duration {
        Duration::from_secs(60)
    }
    pub fn zero() -> Duration {
        Duration::from_secs(0)
    }
    pub fn count() -> u32 {
        15
    }
    pub fn consecutive_error_limit() -> u32 {
        4
    }
    pub fn timeout() -> Duration {
        Duration::from_secs(30)
    }
    pub fn relay_metric() -> String {
        "events_last_minute".into()
    }
    pub fn action_timeout() -> Duration {
        Duration::from_secs(600)
    }
    pub fn yes() -> bool {
        true
    }
    pub fn confidence() -> f64 {
        0.98
    }
    pub fn tolerance() -> f64 {
        0.25
    }
}
