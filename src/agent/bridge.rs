//! Stand-ins for the policy, guard, scrub and fingerprint libraries while they are being
//! written in parallel. Every call the agent makes to them goes through the small
//! functions here, so wiring the real ones (`policy::Policy::classify_error`,
//! `guard::judge`, `scrub::Scrubber`, `fingerprint::Engine`) touches only this file.
//!
//! The stand-ins read the same policy file format (DESIGN.md "Policy file") but only
//! evaluate what an issue carries: `text` and `labels` conditions.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::LazyLock;

use globset::{Glob, GlobSet, GlobSetBuilder};
use regex::Regex;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Position, Result};
use crate::forge::Issue;

/// The policy file shipped as the default.
const DEFAULT_POLICY: &str = include_str!("../../policies/default.yml");

#[derive(Debug, Clone, Deserialize)]
pub struct Policy {
    #[serde(default = "default_classes")]
    pub classes: Vec<String>,
    #[serde(default)]
    errors: ErrorRules,
    #[serde(default)]
    changes: Changes,
    #[serde(default)]
    agent: AgentSection,
}

fn default_classes() -> Vec<String> {
    vec!["safe".into(), "needs-validation".into(), "critical".into()]
}

#[derive(Debug, Clone, Default, Deserialize)]
struct ErrorRules {
    #[serde(default)]
    rules: Vec<Rule>,
    #[serde(default)]
    default: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
struct Rule {
    class: String,
    #[serde(default)]
    when: BTreeMap<String, Vec<String>>,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct Changes {
    #[serde(default)]
    pub paths: BTreeMap<String, Vec<String>>,
    #[serde(default)]
    pub tests: Vec<String>,
    #[serde(default)]
    pub limits: Limits,
    #[serde(default)]
    pub require_tests: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Limits {
    pub max_files: usize,
    pub max_changed_lines: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self { max_files: 3, max_changed_lines: 200 }
    }
}

#[derive(Debug, Clone, Default, Deserialize)]
struct AgentSection {
    #[serde(default)]
    classes: Vec<String>,
}

/// The class a policy gives an issue's error.
#[derive(Debug, Clone, Serialize)]
pub struct Classification {
    pub class: String,
    pub auto_fixable: bool,
    pub reasons: Vec<String>,
}

impl Policy {
    /// The policy `config.policy` names, else the built-in default.
    pub fn load(config: &crate::config::Config) -> Result<Self> {
        match &config.policy {
            Some(path) => {
                let path = crate::config::relative_to(config, path);
                let text = crate::error::read_to_string(&path)?;
                crate::parse::yaml(&path.display().to_string(), &text)
            }
            None => crate::parse::yaml("policies/default.yml", DEFAULT_POLICY),
        }
    }

    /// Classes a bot may attempt (`agent.classes`).
    pub fn agent_classes(&self) -> &[String] {
        &self.agent.classes
    }

    pub fn changes(&self) -> &Changes {
        &self.changes
    }

    /// Globs of paths a bot must not touch (the `critical` class of `changes.paths`).
    pub fn protected_paths(&self) -> Vec<String> {
        self.changes.paths.get("critical").cloned().unwrap_or_default()
    }

    fn rank(&self, class: &str) -> usize {
        self.classes.iter().position(|c| c == class).unwrap_or(self.classes.len())
    }

    /// The most risky class among the rules matching the issue's text and labels.
    pub fn classify_issue(&self, issue: &Issue) -> Result<Classification> {
        let text = format!("{}\n{}", issue.title, issue.body);
        let mut best: Option<String> = None;
        let mut reasons = Vec::new();
        for (i, rule) in self.errors.rules.iter().enumerate() {
            if rule.when.is_empty() {
                continue;
            }
            let mut all = true;
            for (key, values) in &rule.when {
                let holds = match key.as_str() {
                    "text" => values.iter().try_fold(false, |any, pattern| {
                        let re = Regex::new(pattern).map_err(|e| {
                            Error::input(Position::file("policy"), format!("errors.rules[{i}].when.text: {e}"))
                        })?;
                        Ok::<_, Error>(any || re.is_match(&text))
                    })?,
                    "labels" => values.iter().any(|l| issue.has_label(l)),
                    // Conditions on the event's fields need the error event, which the
                    // issue does not carry: such a rule cannot be shown to match.
                    _ => false,
                };
                all &= holds;
            }
            if all {
                reasons.push(format!("errors.rules[{i}] → {}", rule.class));
                if best.as_ref().is_none_or(|b| self.rank(&rule.class) > self.rank(b)) {
                    best = Some(rule.class.clone());
                }
            }
        }
        let class = best.unwrap_or_else(|| {
            reasons.push("no rule matched: errors.default".into());
            self.errors.default.clone().unwrap_or_else(|| "unknown".into())
        });
        let auto_fixable = self.agent.classes.contains(&class);
        Ok(Classification { class, auto_fixable, reasons })
    }
}

// ---- guard --------------------------------------------------------------------------

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Check {
    pub name: String,
    /// pass | fail
    pub status: String,
    /// The class a failure of this check gives the change.
    pub class: String,
    pub reason: String,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct FileChange {
    pub path: String,
    pub class: String,
    pub added: usize,
    pub removed: usize,
}

/// The guard's verdict on a change.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Verdict {
    /// auto-merge | human-review | blocked
    pub verdict: String,
    pub class: String,
    pub checks: Vec<Check>,
    pub files: Vec<FileChange>,
}

impl Verdict {
    pub fn is_blocked(&self) -> bool {
        self.verdict == "blocked"
    }

    /// The markdown table that goes into the PR body or the issue comment.
    pub fn table(&self) -> String {
        let mut out = format!(
            "**Guard: {}** (class `{}`)\n\n| check | result | reason |\n|---|---|---|\n",
            self.verdict, self.class
        );
        for c in &self.checks {
            let mark = if c.status == "pass" { "✅ pass".to_string() } else { format!("❌ fail ({})", c.class) };
            out.push_str(&format!("| {} | {mark} | {} |\n", c.name, c.reason.replace('|', "\\|")));
        }
        out
    }
}

fn globset(patterns: &[String]) -> Result<GlobSet> {
    let mut builder = GlobSetBuilder::new();
    for p in patterns {
        let glob = Glob::new(p).map_err(|e| Error::input(Position::file("policy"), format!("glob `{p}`: {e}")))?;
        builder.add(glob);
    }
    builder.build().map_err(|e| Error::input(Position::file("policy"), e.to_string()))
}

/// Judges the change `base..head` in `repo` against the policy's `changes` section.
pub fn judge(repo: &git2::Repository, base: git2::Oid, head: git2::Oid, policy: &Policy) -> Result<Verdict> {
    let base_tree = repo.find_commit(base)?.tree()?;
    let head_tree = repo.find_commit(head)?.tree()?;
    let diff = repo.diff_tree_to_tree(Some(&base_tree), Some(&head_tree), None)?;
    let mut files: Vec<FileChange> = Vec::new();
    let mut added_lines: Vec<String> = Vec::new();
    let mut deleted_tests = Vec::new();
    let mut binary = Vec::new();
    for (i, delta) in diff.deltas().enumerate() {
        let path =
            delta.new_file().path().or_else(|| delta.old_file().path()).map(|p| p.to_string_lossy().into_owned());
        let Some(path) = path else { continue };
        let (mut added, mut removed) = (0, 0);
        if let Ok(Some(patch)) = git2::Patch::from_diff(&diff, i) {
            if delta.flags().is_binary() {
                binary.push(path.clone());
            }
            for h in 0..patch.num_hunks() {
                for l in 0..patch.num_lines_in_hunk(h).unwrap_or(0) {
                    if let Ok(line) = patch.line_in_hunk(h, l) {
                        match line.origin() {
                            '+' => {
                                added += 1;
                                added_lines.push(String::from_utf8_lossy(line.content()).into_owned());
                            }
                            '-' => removed += 1,
                            _ => {}
                        }
                    }
                }
            }
        } else if delta.flags().is_binary() {
            binary.push(path.clone());
        }
        if delta.status() == git2::Delta::Deleted {
            deleted_tests.push(path.clone());
        }
        files.push(FileChange { path, class: "safe".into(), added, removed });
    }

    let changes = &policy.changes;
    let tests = globset(&changes.tests)?;
    let mut classed: Vec<(String, GlobSet)> = Vec::new();
    for (class, patterns) in &changes.paths {
        classed.push((class.clone(), globset(patterns)?));
    }
    for f in &mut files {
        for (class, set) in &classed {
            if set.is_match(&f.path) && policy.rank(class) > policy.rank(&f.class) {
                f.class.clone_from(class);
            }
        }
    }
    let mut checks = Vec::new();
    let mut check = |name: &str, ok: bool, class: &str, reason: String| {
        checks.push(Check {
            name: name.into(),
            status: if ok { "pass" } else { "fail" }.into(),
            class: class.into(),
            reason,
        });
    };
    let changed: usize = files.iter().map(|f| f.added + f.removed).sum();
    check(
        "limits",
        files.len() <= changes.limits.max_files && changed <= changes.limits.max_changed_lines,
        "needs-validation",
        format!(
            "{} files (max {}), {changed} changed lines (max {})",
            files.len(),
            changes.limits.max_files,
            changes.limits.max_changed_lines
        ),
    );
    let risky: Vec<&FileChange> = files.iter().filter(|f| f.class != "safe").collect();
    let worst = risky.iter().map(|f| f.class.as_str()).max_by_key(|c| policy.rank(c)).unwrap_or("safe");
    check(
        "paths",
        risky.is_empty(),
        worst,
        if risky.is_empty() {
            "no classed path touched".into()
        } else {
            risky.iter().map(|f| format!("{} is {}", f.path, f.class)).collect::<Vec<_>>().join(", ")
        },
    );
    let is_doc =
        |p: &str| Path::new(p).extension().is_some_and(|e| matches!(e.to_str(), Some("md" | "txt" | "rst" | "adoc")));
    let code_changed = files.iter().any(|f| !tests.is_match(&f.path) && !is_doc(&f.path));
    let tests_changed = files.iter().any(|f| tests.is_match(&f.path));
    check(
        "tests",
        !changes.require_tests || !code_changed || tests_changed,
        "needs-validation",
        if tests_changed { "tests changed with the code".into() } else { "code changed without a test".into() },
    );
    let deleted: Vec<&String> = deleted_tests.iter().filter(|p| tests.is_match(p.as_str())).collect();
    check(
        "no deleted tests",
        deleted.is_empty(),
        "needs-validation",
        if deleted.is_empty() { "none".into() } else { format!("deleted {deleted:?}") },
    );
    check(
        "no binary files",
        binary.is_empty(),
        "needs-validation",
        if binary.is_empty() { "none".into() } else { format!("{binary:?}") },
    );
    let secrets = added_lines.iter().filter(|l| scrub(l) != **l).count();
    check(
        "no secrets added",
        secrets == 0,
        "critical",
        if secrets == 0 { "none".into() } else { format!("{secrets} added lines look like secrets") },
    );
    let class = checks
        .iter()
        .filter(|c| c.status == "fail")
        .map(|c| c.class.clone())
        .chain(files.iter().map(|f| f.class.clone()))
        .max_by_key(|c| policy.rank(c))
        .unwrap_or_else(|| "safe".into());
    let verdict = match class.as_str() {
        "safe" => "auto-merge",
        "critical" => "blocked",
        _ => "human-review",
    };
    Ok(Verdict { verdict: verdict.into(), class, checks, files })
}

// ---- scrub --------------------------------------------------------------------------

static SCRUB_RULES: LazyLock<Vec<(Regex, &'static str)>> = LazyLock::new(|| {
    [
        (r"-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]*?-----END [A-Z ]*PRIVATE KEY-----", "[private-key]"),
        (r"\b(?:ghp|gho|ghu|ghs|ghr)_[A-Za-z0-9]{20,}\b|\bgithub_pat_[A-Za-z0-9_]{20,}", "[forge-token]"),
        (r"\bsk-(?:ant-)?[A-Za-z0-9_-]{20,}", "[api-key]"),
        (r"\bAKIA[0-9A-Z]{16}\b", "[aws-key]"),
        (r"\beyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}", "[jwt]"),
        (r"(?i)\bbearer\s+[A-Za-z0-9._~+/-]{12,}=*", "Bearer [token]"),
        (r"://[^/\s:@]+:[^/\s@]+@", "://[credentials]@"),
        (r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}", "[email]"),
    ]
    .into_iter()
    .filter_map(|(p, r)| Regex::new(p).ok().map(|re| (re, r)))
    .collect()
});

/// Personal data and secrets replaced by placeholders.
pub fn scrub(text: &str) -> String {
    let mut out = text.to_string();
    for (re, replacement) in SCRUB_RULES.iter() {
        out = re.replace_all(&out, *replacement).into_owned();
    }
    out
}

// ---- frames -------------------------------------------------------------------------

/// A stack frame named in the issue's sample stack trace.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Frame {
    pub function: String,
    pub file: String,
    pub line: Option<u32>,
}

static JS_FRAME: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^\s*at (?:(?P<f>[^\s(]+) \()?(?P<file>[^\s()]+?):(?P<l>\d+)(?::\d+)?\)?\s*$")
        .unwrap_or_else(|_| unreachable!())
});
static PY_FRAME: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"^\s*File "(?P<file>[^"]+)", line (?P<l>\d+), in (?P<f>\S+)"#).unwrap_or_else(|_| unreachable!())
});
static RUST_FRAME: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^\s*at (?P<file>[^\s:]+\.rs):(?P<l>\d+)(?::\d+)?\s*$").unwrap_or_else(|_| unreachable!())
});

/// The frames of the first fenced stack trace in an issue body, innermost first, with
/// URLs reduced to their path (no scheme, host or query; no leading `/`).
pub fn frames_from_body(body: &str) -> Vec<Frame> {
    let mut out = Vec::new();
    let mut in_fence = false;
    for line in body.lines() {
        if line.trim_start().starts_with("```") {
            if in_fence && !out.is_empty() {
                break;
            }
            in_fence = !in_fence;
            continue;
        }
        if !in_fence {
            continue;
        }
        let caps = JS_FRAME.captures(line).or_else(|| PY_FRAME.captures(line)).or_else(|| RUST_FRAME.captures(line));
        if let Some(c) = caps {
            out.push(Frame {
                function: c.name("f").map_or("?", |m| m.as_str()).to_string(),
                file: url_path(c.name("file").map_or("", |m| m.as_str())),
                line: c.name("l").and_then(|m| m.as_str().parse().ok()),
            });
        }
    }
    out
}

fn url_path(file: &str) -> String {
    let rest = match file.find("://") {
        Some(i) => {
            let after = &file[i + 3..];
            after.find('/').map_or("", |j| &after[j..])
        }
        None => file,
    };
    let rest = rest.split(['?', '#']).next().unwrap_or(rest);
    rest.trim_start_matches('/').to_string()
}

/// The fingerprint in an issue's hidden marker, if any.
pub fn fingerprint_of(body: &str) -> Option<String> {
    static MARKER: LazyLock<Regex> =
        LazyLock::new(|| Regex::new(r"<!-- homeostat:fingerprint=([0-9a-f]{16})").unwrap_or_else(|_| unreachable!()));
    MARKER.captures(body).map(|c| c[1].to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn issue(title: &str, body: &str) -> Issue {
        Issue {
            number: 1,
            title: title.into(),
            body: body.into(),
            labels: vec![],
            state: crate::forge::State::Open,
            url: String::new(),
            author: String::new(),
            created_at: String::new(),
            closed_at: None,
        }
    }

    #[test]
    fn default_policy_classes_issue_text() {
        let policy = crate::parse::yaml::<Policy>("d", DEFAULT_POLICY).unwrap();
        let safe = policy.classify_issue(&issue("TypeError: Cannot read properties of undefined", "")).unwrap();
        assert_eq!((safe.class.as_str(), safe.auto_fixable), ("safe", true));
        let critical = policy
            .classify_issue(&issue("TypeError: Cannot read properties of undefined", "in stripe checkout"))
            .unwrap();
        assert_eq!((critical.class.as_str(), critical.auto_fixable), ("critical", false));
        assert_eq!(policy.classify_issue(&issue("Weird", "")).unwrap().class, "unknown");
    }

    #[test]
    fn frames_come_from_the_fenced_stack() {
        let body = "Boom\n\n```\nTypeError: x\n    at renderNote (chrome-extension://abc/src/popup.js:10:15)\n    at https://ex.com/app/main.js?v=2:3:1\n  File \"app/views.py\", line 42, in index\n```\n";
        let frames = frames_from_body(body);
        assert_eq!(frames[0], Frame { function: "renderNote".into(), file: "src/popup.js".into(), line: Some(10) });
        assert_eq!(frames[1].file, "app/main.js");
        assert_eq!(frames[2].file, "app/views.py");
    }

    #[test]
    fn scrub_hides_tokens_and_emails() {
        let s = scrub("token ghp_abcdefghijklmnopqrstuvwxyz0123 from ann@example.com");
        assert_eq!(s, "token [forge-token] from [email]");
    }
}
