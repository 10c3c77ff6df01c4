//! The runbook format (`sops/<name>.md`: YAML front matter, then the human text) and its
//! lint. Fix operations are typed: each `op` has its own `with` keys, checked here, so
//! nothing free-form reaches the executor.

mod lint;

use std::collections::BTreeMap;

use regex::Regex;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::duration::Duration;

/// Categories whose runbooks are never fixed without a person.
pub const NEVER_AUTO: &[&str] = &["billing", "security", "schema", "user-data", "credentials"];

/// Categories a runbook may have.
pub const CATEGORIES: &[&str] = &[
    "availability",
    "ci",
    "deploy",
    "performance",
    "capacity",
    "dependency",
    "infrastructure",
    "network",
    "observability",
    "cost",
    "billing",
    "security",
    "schema",
    "user-data",
    "credentials",
];

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Risk {
    Low,
    Medium,
    High,
    Critical,
}

impl Risk {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Low => "low",
            Self::Medium => "medium",
            Self::High => "high",
            Self::Critical => "critical",
        }
    }

    /// The confidence (0–100) a fix of this risk needs; `None`: never automatic.
    pub fn threshold(self) -> Option<f64> {
        match self {
            Self::Low => Some(60.0),
            Self::Medium => Some(75.0),
            Self::High => Some(90.0),
            Self::Critical => None,
        }
    }
}

/// Alert severities, lowest to highest (Alertmanager's `info|warning|critical` and the
/// `low|medium|high` people also use).
pub fn severity_rank(s: &str) -> Option<u8> {
    match s.to_ascii_lowercase().as_str() {
        "none" | "info" | "informational" => Some(0),
        "low" | "minor" => Some(1),
        "warning" | "warn" | "medium" | "moderate" => Some(2),
        "high" | "error" | "major" => Some(3),
        "critical" | "page" | "emergency" | "fatal" => Some(4),
        _ => None,
    }
}

/// What an alert must look like for a runbook to apply: `alertname` or a `title` pattern
/// identifies it (either, when both are given); `labels` and `severity_min` must hold.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Trigger {
    /// Any of these alert names (exact).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub alertname: Vec<String>,
    /// Label matchers: each value is a regex anchored at both ends (Alertmanager's `=~`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
    /// Any of these regexes found in the alert's title (summary, issue title).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub title: Vec<String>,
    /// The alert's severity must be at least this (info < low < warning < high < critical).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub severity_min: Option<String>,
}

/// A command line: a string split on whitespace (no quoting, no shell) or a list of arguments.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum CommandLine {
    Line(String),
    Argv(Vec<String>),
}

impl CommandLine {
    pub fn argv(&self) -> Vec<String> {
        match self {
            Self::Line(s) => s.split_whitespace().map(str::to_string).collect(),
            Self::Argv(v) => v.clone(),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct HttpCheck {
    pub url: String,
    #[serde(default = "get")]
    pub method: String,
    /// Expected status (default: any 2xx).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expect_status: Option<u16>,
    /// A regex the response body must contain.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expect_body: Option<String>,
}

fn get() -> String {
    "GET".into()
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CommandCheck {
    pub run: CommandLine,
    #[serde(default)]
    pub expect_exit: i32,
    /// A regex the command's standard output must match (placeholders are filled, quoted).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expect_output: Option<String>,
}

/// A diagnosis or verify step: one `http` or `command` check, after an optional `wait`.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Check {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wait: Option<Duration>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout: Option<Duration>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub http: Option<HttpCheck>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub command: Option<CommandCheck>,
}

/// A fix step as written: `{name, op, with, timeout}`; `with` is checked per op.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FixStep {
    pub name: String,
    pub op: String,
    #[serde(default, skip_serializing_if = "serde_json::Value::is_null")]
    pub with: serde_json::Value,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout: Option<Duration>,
}

/// The typed operations a fix may use.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "op", content = "with", rename_all = "snake_case")]
pub enum Op {
    /// An HTTP request to an allowlisted host (method default POST).
    Http(HttpOp),
    /// Starts a workflow (`workflow_dispatch`) on a ref (default: the default branch).
    WorkflowDispatch(WorkflowDispatchOp),
    /// Re-runs the failed jobs of a workflow run.
    RerunFailedJobs(RerunOp),
    /// Deletes Actions caches by key.
    CacheDelete(CacheDeleteOp),
    /// Opens (or updates, by runbook) an issue.
    Issue(IssueOp),
    /// Adds labels to the alert's issue (or `issue`).
    Label(LabelOp),
    /// Runs a command line from the config's allowlist, as argv (never a shell).
    Command(CommandCheck),
}

pub const OPS: &[&str] =
    &["http", "workflow_dispatch", "rerun_failed_jobs", "cache_delete", "issue", "label", "command"];

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct HttpOp {
    pub url: String,
    #[serde(default = "post")]
    pub method: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expect_status: Option<u16>,
    /// JSON body to send.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<serde_json::Value>,
}

fn post() -> String {
    "POST".into()
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct WorkflowDispatchOp {
    pub workflow: String,
    #[serde(default, rename = "ref", skip_serializing_if = "Option::is_none")]
    pub git_ref: Option<String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub inputs: BTreeMap<String, String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RerunOp {
    /// The run id, usually `${labels.run_id}`.
    pub run_id: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CacheDeleteOp {
    pub key: String,
    #[serde(default, rename = "ref", skip_serializing_if = "Option::is_none")]
    pub git_ref: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct IssueOp {
    pub title: String,
    #[serde(default)]
    pub body: String,
    #[serde(default)]
    pub labels: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LabelOp {
    pub labels: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub issue: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Escalate {
    /// Failed fix-and-verify attempts before a person is called.
    #[serde(default = "two")]
    pub after_attempts: u32,
    /// `issue` (one escalation issue per runbook, updated) and/or `slack` (a webhook).
    #[serde(default = "to_issue")]
    pub to: Vec<String>,
}

impl Default for Escalate {
    fn default() -> Self {
        Self { after_attempts: 2, to: to_issue() }
    }
}

fn yes() -> bool {
    true
}
fn two() -> u32 {
    2
}
fn to_issue() -> Vec<String> {
    vec!["issue".into()]
}

#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Limits {
    /// Fix attempts per rolling hour.
    #[serde(default = "three")]
    pub max_per_hour: u32,
    /// After a fix, later alerts for this runbook only diagnose until this has passed.
    #[serde(default = "thirty_minutes")]
    pub cooldown: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Self { max_per_hour: 3, cooldown: thirty_minutes() }
    }
}

fn three() -> u32 {
    3
}
fn thirty_minutes() -> Duration {
    Duration::from_secs(1800)
}

/// A runbook's front matter as written.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Front {
    pub name: String,
    /// `false` keeps the runbook in the library but out of matching (StackStorm's `enabled`).
    #[serde(default = "yes")]
    pub enabled: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    pub category: String,
    pub risk: Risk,
    #[serde(default)]
    pub auto_fix: bool,
    pub trigger: Trigger,
    #[serde(default)]
    pub diagnosis: Vec<Check>,
    #[serde(default)]
    pub fix: Vec<FixStep>,
    #[serde(default)]
    pub verify: Vec<Check>,
    #[serde(default)]
    pub escalate: Escalate,
    #[serde(default)]
    pub limits: Limits,
}

/// A fix step with its operation checked.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Fix {
    pub name: String,
    pub op: Op,
    pub timeout: Option<Duration>,
}

/// A checked runbook, ready to match and run.
#[derive(Debug, Clone)]
pub struct Runbook {
    pub name: String,
    pub enabled: bool,
    pub title: String,
    pub category: String,
    pub risk: Risk,
    pub auto_fix: bool,
    pub trigger: Trigger,
    pub alert_labels: Vec<(String, Regex)>,
    pub title_patterns: Vec<Regex>,
    pub severity_min: Option<u8>,
    pub diagnosis: Vec<Check>,
    pub fix: Vec<Fix>,
    pub verify: Vec<Check>,
    pub escalate: Escalate,
    pub limits: Limits,
    /// The markdown after the front matter.
    pub body: String,
    /// Where it was read from (`sops/x.md` or `builtin:sops/x.md`).
    pub source: String,
}

impl Runbook {
    /// Whether a person must always decide (category or risk).
    pub fn never_auto(&self) -> bool {
        NEVER_AUTO.contains(&self.category.as_str()) || self.risk == Risk::Critical
    }
}

pub use lint::{LintReport, duplicates, parse};
