//! The runbook format (`sops/<name>.md`: YAML front matter, then the human text) and its
//! lint. Fix operations are typed: each `op` has its own `with` keys, checked here, so
//! nothing free-form reaches the executor.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use regex::Regex;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::duration::Duration;
use crate::error::{InputError, Position};

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

/// Parses and checks one runbook. Returns every problem found, each with its position.
pub fn parse(file: &str, text: &str) -> std::result::Result<Runbook, Vec<InputError>> {
    let (yaml, body) = crate::parse::front_matter(file, text).map_err(|e| vec![e])?;
    // The YAML starts on the file's second line (after `---`).
    crate::parse::yaml_depth(file, yaml).map_err(|e| vec![e])?;
    let front: Front = serde_yaml_ng::from_str(yaml).map_err(|e| {
        let at = match e.location() {
            Some(l) => Position::at(file, l.line() + 1, l.column()),
            None => Position::file(file),
        };
        let message = e.to_string();
        let message = message.find(" at line ").map_or(message.clone(), |i| message[..i].to_string());
        vec![InputError::new(at, message)]
    })?;
    check(file, text, front, body)
}

/// The line of the first `needle` in `text` (for positions of values serde cannot place);
/// a top-level key (`fix:`) is looked for at the start of a line first.
fn line_of(file: &str, text: &str, needle: &str) -> Position {
    let at_line_start = text.find(&format!("\n{needle}")).map(|i| i + 1);
    match at_line_start.or_else(|| text.find(needle)) {
        Some(offset) => Position::from_offset(file, text, offset),
        None => Position::file(file),
    }
}

fn check(file: &str, text: &str, front: Front, body: &str) -> std::result::Result<Runbook, Vec<InputError>> {
    let mut problems = Vec::new();
    let at = |needle: &str| line_of(file, text, needle);
    let mut bad = |pos: Position, msg: String| problems.push(InputError::new(pos, msg));

    check_header(file, &front, &at, &mut bad);
    let (alert_labels, title_patterns, severity_min) = compile_trigger(&front.trigger, &at, &mut bad);
    check_steps(&front, &at, &mut bad);
    let fix = compile_fix(&front, &at, &mut bad);
    check_escalation(&front, &at, &mut bad);

    if !problems.is_empty() {
        return Err(problems);
    }
    let title = front.title.clone().unwrap_or_else(|| {
        body.lines().find_map(|l| l.strip_prefix("# ")).map_or_else(|| front.name.clone(), |t| t.trim().to_string())
    });
    Ok(Runbook {
        name: front.name,
        enabled: front.enabled,
        title,
        category: front.category,
        risk: front.risk,
        auto_fix: front.auto_fix,
        trigger: front.trigger,
        alert_labels,
        title_patterns,
        severity_min,
        diagnosis: front.diagnosis,
        fix,
        verify: front.verify,
        escalate: front.escalate,
        limits: front.limits,
        body: body.to_string(),
        source: file.to_string(),
    })
}

/// The name (matching the file's), category, risk and auto-fix settings.
fn check_header(file: &str, front: &Front, at: &impl Fn(&str) -> Position, bad: &mut impl FnMut(Position, String)) {
    let stem = Path::new(file).file_stem().and_then(|s| s.to_str()).unwrap_or_default();
    if front.name.is_empty() || !front.name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-') {
        bad(at("name:"), format!("name `{}` must be lowercase letters, digits and dashes", front.name));
    } else if !stem.is_empty() && stem != front.name {
        bad(at("name:"), format!("name `{}` differs from the file name `{stem}.md`", front.name));
    }
    if !CATEGORIES.contains(&front.category.as_str()) {
        bad(at("category:"), format!("unknown category `{}` (one of: {})", front.category, CATEGORIES.join(", ")));
    }
    if front.auto_fix && NEVER_AUTO.contains(&front.category.as_str()) {
        bad(at("auto_fix:"), format!("category `{}` is never auto-fixed: set auto_fix: false", front.category));
    }
    if front.auto_fix && front.risk == Risk::Critical {
        bad(at("auto_fix:"), "risk critical is never auto-fixed: set auto_fix: false".into());
    }
    if front.auto_fix && front.fix.is_empty() {
        bad(at("auto_fix:"), "auto_fix: true needs at least one fix step".into());
    }
    if !front.fix.is_empty() && front.verify.is_empty() {
        bad(at("fix:"), "a runbook that fixes must verify: add a verify step".into());
    }
    if front.diagnosis.is_empty() {
        bad(at("trigger:"), "add at least one diagnosis step".into());
    }
}

/// The trigger's label and title patterns compiled, and its minimum severity ranked.
type CompiledTrigger = (Vec<(String, Regex)>, Vec<Regex>, Option<u8>);

fn compile_trigger(
    t: &Trigger,
    at: &impl Fn(&str) -> Position,
    bad: &mut impl FnMut(Position, String),
) -> CompiledTrigger {
    if t.alertname.is_empty() && t.labels.is_empty() && t.title.is_empty() {
        bad(at("trigger:"), "trigger needs alertname, labels or title".into());
    }
    let mut alert_labels = Vec::new();
    for (name, pattern) in &t.labels {
        match Regex::new(&format!("^(?:{pattern})$")) {
            Ok(re) => alert_labels.push((name.clone(), re)),
            Err(e) => bad(at(pattern), format!("trigger.labels.{name}: bad regex: {e}")),
        }
    }
    let mut title_patterns = Vec::new();
    for pattern in &t.title {
        match Regex::new(pattern) {
            Ok(re) => title_patterns.push(re),
            Err(e) => bad(at(pattern), format!("trigger.title: bad regex: {e}")),
        }
    }
    let severity_min = match &t.severity_min {
        Some(s) => {
            let rank = severity_rank(s);
            if rank.is_none() {
                bad(at("severity_min:"), format!("unknown severity `{s}` (info, low, warning, high, critical)"));
            }
            rank
        }
        None => None,
    };
    (alert_labels, title_patterns, severity_min)
}

/// The diagnosis and verify steps: unique names, exactly one of `http` or `command`.
fn check_steps(front: &Front, at: &impl Fn(&str) -> Position, bad: &mut impl FnMut(Position, String)) {
    let mut names = BTreeSet::new();
    for (kind, checks) in [("diagnosis", &front.diagnosis), ("verify", &front.verify)] {
        for c in checks {
            let pos = at(&format!("name: {}", c.name));
            if !names.insert((kind, c.name.clone())) {
                bad(pos.clone(), format!("{kind} step `{}` is named twice", c.name));
            }
            match (&c.http, &c.command) {
                (Some(h), None) => {
                    check_url(&h.url)
                        .err()
                        .into_iter()
                        .for_each(|m| bad(pos.clone(), format!("{kind} `{}`: {m}", c.name)));
                    check_method(&h.method).err().into_iter().for_each(|m| bad(pos.clone(), m));
                    if let Some(re) = &h.expect_body
                        && let Err(e) = Regex::new(&crate::ops::vars::blank(re))
                    {
                        bad(pos.clone(), format!("{kind} `{}`: expect_body: bad regex: {e}", c.name));
                    }
                }
                (None, Some(cmd)) => {
                    if cmd.run.argv().is_empty() {
                        bad(pos.clone(), format!("{kind} `{}`: empty command", c.name));
                    }
                    if let Some(re) = &cmd.expect_output
                        && let Err(e) = Regex::new(&crate::ops::vars::blank(re))
                    {
                        bad(pos.clone(), format!("{kind} `{}`: expect_output: bad regex: {e}", c.name));
                    }
                }
                _ => bad(pos, format!("{kind} step `{}` needs exactly one of `http` or `command`", c.name)),
            }
        }
    }
}

/// The fix steps, each parsed as its op.
fn compile_fix(front: &Front, at: &impl Fn(&str) -> Position, bad: &mut impl FnMut(Position, String)) -> Vec<Fix> {
    let mut fix = Vec::new();
    for step in &front.fix {
        let pos = at(&format!("name: {}", step.name));
        if !OPS.contains(&step.op.as_str()) {
            bad(pos, format!("fix `{}`: unknown op `{}` (one of: {})", step.name, step.op, OPS.join(", ")));
            continue;
        }
        let tagged = serde_json::json!({"op": step.op, "with": step.with});
        match serde_json::from_value::<Op>(tagged) {
            Ok(op) => {
                match &op {
                    Op::Http(h) => {
                        check_url(&h.url)
                            .err()
                            .into_iter()
                            .for_each(|m| bad(pos.clone(), format!("fix `{}`: {m}", step.name)));
                        check_method(&h.method).err().into_iter().for_each(|m| bad(pos.clone(), m));
                    }
                    Op::Command(c) if c.run.argv().is_empty() => {
                        bad(pos.clone(), format!("fix `{}`: empty command", step.name))
                    }
                    Op::Label(l) if l.labels.is_empty() => bad(pos.clone(), format!("fix `{}`: no labels", step.name)),
                    _ => {}
                }
                fix.push(Fix { name: step.name.clone(), op, timeout: step.timeout });
            }
            Err(e) => bad(pos, format!("fix `{}`: op {}: {e}", step.name, step.op)),
        }
    }
    fix
}

/// Escalation targets and limits.
fn check_escalation(front: &Front, at: &impl Fn(&str) -> Position, bad: &mut impl FnMut(Position, String)) {
    if front.escalate.after_attempts == 0 {
        bad(at("after_attempts:"), "escalate.after_attempts must be at least 1".into());
    }
    for to in &front.escalate.to {
        if to != "issue" && to != "slack" {
            bad(at("to:"), format!("escalate.to: unknown target `{to}` (issue, slack)"));
        }
    }
    if front.limits.max_per_hour == 0 {
        bad(at("max_per_hour:"), "limits.max_per_hour must be at least 1".into());
    }
}

fn check_method(method: &str) -> std::result::Result<(), String> {
    match method.to_ascii_uppercase().as_str() {
        "GET" | "HEAD" | "POST" | "PUT" | "PATCH" | "DELETE" => Ok(()),
        other => Err(format!("unknown HTTP method `{other}`")),
    }
}

/// A URL (placeholders allowed) must be absolute http(s) with a host.
fn check_url(url: &str) -> std::result::Result<(), String> {
    crate::ops::vars::check_placeholders(url)?;
    if url.starts_with("${") {
        // The whole base comes from a variable: checked when expanded, before any request.
        return Ok(());
    }
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))
        .ok_or_else(|| format!("url `{url}` must start with http:// or https://"))?;
    if rest.is_empty() || rest.starts_with('/') {
        return Err(format!("url `{url}` has no host"));
    }
    Ok(())
}

/// One problem or more in a set of runbooks.
pub type LintReport = Vec<InputError>;

pub fn duplicates(runbooks: &[Runbook], problems: &mut LintReport) {
    let mut seen = BTreeMap::new();
    for r in runbooks {
        if let Some(first) = seen.insert(r.name.clone(), r.source.clone()) {
            problems
                .push(InputError::new(Position::file(&r.source), format!("name `{}` is also used by {first}", r.name)));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = "---
name: api-down
category: availability
risk: medium
auto_fix: true
trigger: {alertname: [ApiDown], labels: {service: 'api|web'}, severity_min: warning}
diagnosis: [{name: health, http: {url: 'http://127.0.0.1/health', expect_status: 503}}]
fix: [{name: restart, op: workflow_dispatch, with: {workflow: restart.yml, inputs: {service: api}}}]
verify: [{name: healthy, wait: 30s, http: {url: 'http://127.0.0.1/health'}}]
---
# API down
";

    #[test]
    fn a_good_runbook_parses_with_typed_ops() {
        let r = parse("sops/api-down.md", GOOD).unwrap();
        assert_eq!(r.title, "API down");
        assert_eq!(r.severity_min, Some(2));
        assert!(matches!(&r.fix[0].op, Op::WorkflowDispatch(w) if w.workflow == "restart.yml"));
        assert_eq!(r.verify[0].wait, Some(Duration::from_secs(30)));
    }

    #[test]
    fn problems_carry_positions() {
        let text =
            GOOD.replace("op: workflow_dispatch", "op: shell").replace("category: availability", "category: billing");
        let problems = parse("sops/api-down.md", &text).unwrap_err();
        let msgs: Vec<String> = problems.iter().map(ToString::to_string).collect();
        assert!(
            msgs.iter().any(|m| m.starts_with("sops/api-down.md:5:") && m.contains("never auto-fixed")),
            "{msgs:?}"
        );
        assert!(
            msgs.iter().any(|m| m.starts_with("sops/api-down.md:8:") && m.contains("unknown op `shell`")),
            "{msgs:?}"
        );
    }

    #[test]
    fn unknown_keys_and_bad_durations_name_the_line() {
        let text = GOOD.replace("risk: medium", "risk: medium\nretries: 3");
        let e = parse("sops/api-down.md", &text).unwrap_err();
        assert!(e[0].to_string().starts_with("sops/api-down.md:5:"), "{}", e[0]);
        let text = GOOD.replace("wait: 30s", "wait: soon");
        let e = parse("sops/api-down.md", &text).unwrap_err();
        assert!(e[0].to_string().contains("not a duration"), "{}", e[0]);
    }

    #[test]
    fn a_bad_expect_output_regex_is_found() {
        let text = GOOD.replace(
            "diagnosis: [{name: health, http: {url: 'http://127.0.0.1/health', expect_status: 503}}]",
            "diagnosis: [{name: disk, command: {run: df -h, expect_output: '9[0-9]%('}}]",
        );
        let msgs: Vec<String> = parse("sops/api-down.md", &text).unwrap_err().iter().map(ToString::to_string).collect();
        assert!(msgs.iter().any(|m| m.contains("diagnosis `disk`: expect_output: bad regex")), "{msgs:?}");
    }

    #[test]
    fn bad_regex_and_with_keys_are_found() {
        let text = GOOD.replace("'api|web'", "'api(('").replace("inputs: {service: api}", "input: {service: api}");
        let msgs: Vec<String> = parse("sops/api-down.md", &text).unwrap_err().iter().map(ToString::to_string).collect();
        assert!(msgs.iter().any(|m| m.contains("bad regex")), "{msgs:?}");
        assert!(msgs.iter().any(|m| m.contains("unknown field `input`")), "{msgs:?}");
    }
}
