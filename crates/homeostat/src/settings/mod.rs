//! `homeostat.yml`: the one settings file, its defaults, discovery and JSON Schema.
//!
//! The settings layer is plain data: every job's section (`agent::AgentsConfig`,
//! `canary::CanaryConfig`, …) is defined here, in one file per section, and the jobs
//! import their section from here, never the other way round. A file is read once
//! ([`Config::load`]): relative paths in it are resolved against the file's folder
//! ([`Config::resolve`]), and the position of every key is kept ([`Spans`]), so a value
//! checked later names its `file:line:column` ([`Config::at`]).

pub mod agent;
pub mod canary;
pub mod cluster;
pub mod content;
pub mod guard;
pub mod llm;
pub mod notify;
pub mod ops;
pub mod relay;

use std::path::{Path, PathBuf};

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Position, Result};
use crate::gha::{Env, vars};
pub use homeostat_core::parse::Spans;

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
    pub llm: Option<llm::LlmConfig>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agents: Option<agent::AgentsConfig>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub canary: Option<canary::CanaryConfig>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ops: Option<ops::OpsConfig>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content: Option<content::ContentConfig>,
    /// hs-guard: external checks (semver, API and schema breaking-change tools).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub guard: Option<guard::GuardConfig>,
    /// hs-cluster: near-duplicate reports found and linked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cluster: Option<cluster::ClusterConfig>,
    /// hs-relay: the Sentry-protocol ingest server.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub relay: Option<relay::RelayConfig>,
    /// hs-report: where notifications go (Slack, Discord, Teams, a JSON webhook) and which.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notify: Option<notify::NotifyConfig>,
    /// The file this was read from (not a key).
    #[serde(skip)]
    pub source: Option<PathBuf>,
    /// Where each key of the file is (not a key).
    #[serde(skip)]
    pub spans: Spans,
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
    /// Issues filed from user feedback (hs-relay) per UTC day; the rest wait in the ledger
    /// for `hold_for`, filed first by later runs.
    #[serde(default = "defaults::feedback_per_day")]
    pub feedback_per_day: u32,
    /// GitHub has no conditional write, so two runs counting on one issue at the same
    /// moment can replace each other's count. A run that counted on known issues waits
    /// this long (longer than a read and a write take), reads them again and counts once
    /// more where its occurrences are gone. `0s` when only one run at a time files errors.
    #[serde(default = "defaults::settle")]
    pub settle: Duration,
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
            settle: defaults::settle(),
            hold_for: defaults::hold_for(),
            feedback_per_day: defaults::feedback_per_day(),
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
    pub fn feedback_per_day() -> u32 {
        50
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
    pub fn settle() -> Duration {
        Duration::from_secs(5)
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
    /// The label user feedback carries, which hs-content's feedback step reads
    /// (`content.feedback_label`; its default without a `content:` section).
    pub fn feedback_label(&self) -> String {
        self.content.as_ref().map_or_else(content::default_feedback_label, |c| c.feedback_label.clone())
    }

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

    /// Reads the file at `path`, its relative paths resolved against its folder.
    pub fn load(path: &Path) -> Result<Self> {
        let text = crate::error::read_to_string(path)?;
        Self::from_text(&path.display().to_string(), &text, path)
    }

    /// Parses `text`, named `file` in messages, as if read from `source` (whose folder
    /// relative paths are resolved against).
    pub fn from_text(file: &str, text: &str, source: &Path) -> Result<Self> {
        let mut config = Self::parse(file, text)?;
        config.source = Some(source.to_path_buf());
        config.resolve_paths();
        Ok(config)
    }

    /// Parses `text` without a file: relative paths are left as written.
    pub fn parse(file: &str, text: &str) -> Result<Self> {
        if text.trim().is_empty() {
            return Ok(Self { spans: Spans::read(file, ""), ..Self::default() });
        }
        let mut config: Self = crate::parse::yaml(file, text)?;
        config.spans = Spans::read(file, text);
        Ok(config)
    }

    /// The JSON Schema of homeostat.yml, as committed in `schema/homeostat.schema.json`.
    pub fn json_schema() -> String {
        let schema = schemars::schema_for!(Config);
        let mut text = serde_json::to_string_pretty(&schema).unwrap_or_default();
        text.push('\n');
        text
    }

    /// The folder relative paths in the file are read from: the file's own, except that
    /// `.github/homeostat.yml` names paths from the repository root, like every other file
    /// under `.github/` does. None without a file (paths stay as written).
    pub fn base_dir(&self) -> Option<&Path> {
        let dir = self.source.as_ref().and_then(|s| s.parent())?;
        let repo_root = dir.file_name().is_some_and(|n| n == ".github");
        (!dir.as_os_str().is_empty() && !repo_root).then_some(dir)
    }

    /// `path` as a path of this file: relative ones joined to [`Config::base_dir`]. The
    /// paths of a loaded file are already resolved; this is for defaults the file left out.
    pub fn resolve(&self, path: &Path) -> PathBuf {
        match self.base_dir() {
            Some(dir) if path.is_relative() => dir.join(path),
            _ => path.to_path_buf(),
        }
    }

    /// The one place relative paths of the file are resolved, once, at load: `policy`,
    /// `fingerprint.rules` and `.sourcemaps`, `scrub.rules`, `ops.sops`, the `file`
    /// sources of `canary`, and `llm.dir`. Paths under `content` are the site's (relative
    /// to `--repo-dir`), and `ledger.path` and `relay.spool` to the working directory.
    fn resolve_paths(&mut self) {
        let Some(dir) = self.base_dir().map(Path::to_path_buf) else { return };
        let fix = |p: &mut PathBuf| {
            if p.is_relative() {
                *p = dir.join(&*p);
            }
        };
        let mut paths: Vec<&mut PathBuf> = Vec::new();
        paths.extend(self.policy.as_mut());
        paths.extend(self.fingerprint.rules.as_mut());
        paths.extend(self.fingerprint.sourcemaps.as_mut());
        paths.extend(self.scrub.rules.as_mut());
        paths.extend(self.ops.as_mut().map(|o| &mut o.sops));
        paths.extend(self.llm.as_mut().and_then(|l| l.dir.as_mut()));
        if let Some(canary) = self.canary.as_mut() {
            paths.extend(canary.file_paths_mut());
        }
        paths.into_iter().for_each(fix);
    }

    /// The name of the file in messages (`homeostat.yml` without one).
    pub fn file(&self) -> String {
        match (&self.source, self.spans.file()) {
            (_, file) if !file.is_empty() => file.to_string(),
            (Some(path), _) => path.display().to_string(),
            (None, _) => "homeostat.yml".to_string(),
        }
    }

    /// Where the key at `path` (`canary.metrics[1].name`) is in the file: its line and
    /// column, else its nearest parent's, else the file alone.
    pub fn at(&self, path: &str) -> Position {
        match self.spans.position(path) {
            p if p.line.is_some() => p,
            _ => Position::file(self.file()),
        }
    }

    /// A bad value serde accepted (a regex, a name nothing defines), at its key:
    /// `file:line:column: path: message`.
    pub fn bad_value(&self, path: &str, message: impl std::fmt::Display) -> Error {
        Error::input(self.at(path), format!("{path}: {message}"))
    }
}

pub use homeostat_core::duration::Duration;

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
    fn relative_paths_are_resolved_once_at_load() {
        let text = "policy: p.yml\nscrub: {rules: /abs/s.yml}\nops: {sops: runbooks}\nllm: {provider: replay, dir: answers}\n\
                    canary:\n  metrics:\n    - name: e\n      canary: {file: {path: c.json}}\n      max: 1\n";
        let c = Config::from_text("conf/h.yml", text, Path::new("conf/h.yml")).unwrap();
        assert_eq!(c.policy.as_deref(), Some(Path::new("conf/p.yml")));
        assert_eq!(c.scrub.rules.as_deref(), Some(Path::new("/abs/s.yml")));
        assert_eq!(c.ops.as_ref().unwrap().sops, Path::new("conf/runbooks"));
        assert_eq!(c.llm.as_ref().unwrap().dir.as_deref(), Some(Path::new("conf/answers")));
        let canary::SourceConfig::File(f) = &c.canary.as_ref().unwrap().metrics[0].canary else { panic!() };
        assert_eq!(f.path, Path::new("conf/c.json"));
        assert_eq!(c.resolve(Path::new("sops")), Path::new("conf/sops"));
        // `.github/homeostat.yml` and a file in the working directory name paths from there.
        for source in [".github/homeostat.yml", "homeostat.yml"] {
            let c = Config::from_text(source, "policy: p.yml\n", Path::new(source)).unwrap();
            assert_eq!(c.policy.as_deref(), Some(Path::new("p.yml")), "{source}");
        }
        assert_eq!(Config::parse("h.yml", "policy: p.yml\n").unwrap().policy.as_deref(), Some(Path::new("p.yml")));
    }

    #[test]
    fn bad_values_name_their_key_not_the_first_match() {
        let text = "agents:\n  define: {}\n  route:\n    safe: quick\n    critical: careful\n";
        let c = Config::parse("h.yml", text).unwrap();
        let err = c.bad_value("agents.route.critical", "no agent `careful` in agents.define");
        assert_eq!(err.exit_code(), 2);
        assert_eq!(err.to_string(), "h.yml:5:5: agents.route.critical: no agent `careful` in agents.define");
        // A key left to its default: its nearest parent; nothing at all: the file.
        assert_eq!(c.at("agents.budget.runs_per_day").to_string(), "h.yml:1:1");
        assert_eq!(Config::default().at("canary").to_string(), "homeostat.yml");
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
