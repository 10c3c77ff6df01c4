//! The agent's view of the policy (`crate::policy`), the scrubber (`crate::scrub`) and
//! the guard. The guard library (`guard::judge` over `diff::change_set`) is being
//! written in parallel: until it lands, [`judge`] runs the checks DESIGN.md names for
//! hs-guard over a git2 diff with the policy's compiled `changes` section, so swapping
//! in the real guard touches only this file.

use std::sync::LazyLock;

use regex::Regex;
use serde::Serialize;

use crate::error::Result;
use crate::forge::Issue;
use crate::policy::{Class, Policy};
use crate::scrub::Scrubber;

/// The class a policy gives an issue's error, in the words the agent reports.
#[derive(Debug, Clone, Serialize)]
pub struct Classification {
    pub class: String,
    pub auto_fixable: bool,
    pub reasons: Vec<String>,
}

/// The policy `config.policy` names, else the built-in one.
pub fn load_policy(config: &crate::config::Config) -> Result<Policy> {
    Policy::from_config(config, None)
}

/// Classes the policy's error rules give the issue hs-issue wrote (title, body's
/// stack and fields, labels).
pub fn classify_issue(policy: &Policy, issue: &Issue) -> Classification {
    let facts = crate::policy::issue::facts_from_issue(issue);
    let c = policy.classify_error(&facts);
    Classification {
        class: c.class.as_str().to_string(),
        auto_fixable: c.auto_fixable,
        reasons: c.reasons.iter().map(|r| format!("{}: {}", r.rule, r.matched)).collect(),
    }
}

/// Classes a bot may attempt, for messages.
pub fn agent_classes(policy: &Policy) -> Vec<String> {
    policy.agent_classes().iter().map(|c| c.as_str().to_string()).collect()
}

/// Globs of paths a bot must not touch: the critical class of `changes.paths`, and workflows.
pub fn protected_paths(policy: &Policy) -> Vec<String> {
    let file = &policy.file().changes;
    let mut out = file.paths.get(&Class::Critical).cloned().unwrap_or_default();
    for w in file.workflows.clone().unwrap_or_else(|| vec![".github/workflows/**".into()]) {
        if !out.contains(&w) {
            out.push(w);
        }
    }
    out
}

/// The policy's size limits (files, changed lines) and whether tests are required.
pub fn limits(policy: &Policy) -> (Option<u64>, Option<u64>, bool) {
    let c = policy.changes();
    (c.limits.max_files, c.limits.max_changed_lines, c.require_tests)
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

struct Diffed {
    path: String,
    deleted: bool,
    binary: bool,
    added: Vec<String>,
    removed: usize,
}

fn diff(repo: &git2::Repository, base: git2::Oid, head: git2::Oid) -> Result<Vec<Diffed>> {
    let base_tree = repo.find_commit(base)?.tree()?;
    let head_tree = repo.find_commit(head)?.tree()?;
    let diff = repo.diff_tree_to_tree(Some(&base_tree), Some(&head_tree), None)?;
    let mut out = Vec::new();
    for (i, delta) in diff.deltas().enumerate() {
        let Some(path) = delta.new_file().path().or_else(|| delta.old_file().path()) else { continue };
        let mut d = Diffed {
            path: path.to_string_lossy().into_owned(),
            deleted: delta.status() == git2::Delta::Deleted,
            binary: delta.flags().is_binary(),
            added: Vec::new(),
            removed: 0,
        };
        if let Ok(Some(patch)) = git2::Patch::from_diff(&diff, i) {
            d.binary |= patch.delta().flags().is_binary();
            for h in 0..patch.num_hunks() {
                for l in 0..patch.num_lines_in_hunk(h).unwrap_or(0) {
                    let Ok(line) = patch.line_in_hunk(h, l) else { continue };
                    match line.origin() {
                        '+' => d.added.push(String::from_utf8_lossy(line.content()).into_owned()),
                        '-' => d.removed += 1,
                        _ => {}
                    }
                }
            }
        }
        out.push(d);
    }
    Ok(out)
}

/// Judges the change `base..head` in `repo` with the policy's `changes` section.
pub fn judge(
    repo: &git2::Repository,
    base: git2::Oid,
    head: git2::Oid,
    policy: &Policy,
    scrubber: &Scrubber,
) -> Result<Verdict> {
    let changes = policy.changes();
    let diffed = diff(repo, base, head)?;
    let files: Vec<FileChange> = diffed
        .iter()
        .map(|d| FileChange {
            path: d.path.clone(),
            class: policy.path_class(&d.path).unwrap_or(changes.default).as_str().to_string(),
            added: d.added.len(),
            removed: d.removed,
        })
        .collect();
    let mut checks: Vec<(Check, Class)> = Vec::new();
    let mut check = |name: &str, ok: bool, class: Class, reason: String| {
        let status = if ok { "pass" } else { "fail" };
        checks.push((Check { name: name.into(), status: status.into(), class: class.as_str().into(), reason }, class));
    };
    let listed = |paths: Vec<&str>| if paths.is_empty() { "none".to_string() } else { paths.join(", ") };

    let changed: u64 = files.iter().map(|f| (f.added + f.removed) as u64).sum();
    let n = files.len() as u64;
    let within = changes.limits.max_files.is_none_or(|m| n <= m)
        && changes.limits.max_changed_lines.is_none_or(|m| changed <= m);
    let max = |m: Option<u64>| m.map_or("no limit".to_string(), |m| format!("max {m}"));
    check(
        "limits",
        within,
        Class::NeedsValidation,
        format!(
            "{n} files ({}), {changed} changed lines ({})",
            max(changes.limits.max_files),
            max(changes.limits.max_changed_lines)
        ),
    );
    let risky: Vec<&FileChange> = files.iter().filter(|f| f.class != "safe").collect();
    let worst = diffed.iter().filter_map(|d| policy.path_class(&d.path)).max().unwrap_or(Class::Safe);
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
    let is_test = |p: &str| policy.is_test_path(p);
    let code_changed = diffed.iter().any(|d| !is_test(&d.path) && !changes.docs.is_match(&d.path));
    let tests_changed = diffed.iter().any(|d| is_test(&d.path) && !d.deleted);
    check(
        "tests",
        !changes.require_tests || !code_changed || tests_changed,
        Class::NeedsValidation,
        if tests_changed { "tests changed with the code".into() } else { "code changed without a test".into() },
    );
    let deleted: Vec<&str> = diffed.iter().filter(|d| d.deleted && is_test(&d.path)).map(|d| d.path.as_str()).collect();
    check("no deleted tests", deleted.is_empty(), Class::NeedsValidation, listed(deleted));
    let manifests: Vec<&str> =
        diffed.iter().filter(|d| changes.manifests.is_match(&d.path)).map(|d| d.path.as_str()).collect();
    check("no manifest changes", manifests.is_empty(), Class::NeedsValidation, listed(manifests));
    let workflows: Vec<&str> =
        diffed.iter().filter(|d| changes.workflows.is_match(&d.path)).map(|d| d.path.as_str()).collect();
    check("no workflow changes", workflows.is_empty(), Class::Critical, listed(workflows));
    let binary: Vec<&str> = diffed.iter().filter(|d| d.binary).map(|d| d.path.as_str()).collect();
    check("no binary files", binary.is_empty(), Class::NeedsValidation, listed(binary));
    let secrets: Vec<String> = diffed
        .iter()
        .flat_map(|d| d.added.iter().flat_map(|l| scrubber.findings(l)).map(|f| format!("{} in {}", f.rule, d.path)))
        .collect();
    check(
        "no secrets added",
        secrets.is_empty(),
        Class::Critical,
        if secrets.is_empty() { "none".into() } else { secrets.join(", ") },
    );
    let hatches: Vec<String> = changes
        .escape_hatches
        .iter()
        .flat_map(|h| {
            diffed
                .iter()
                .filter(|d| h.applies_to(&d.path) && d.added.iter().any(|l| h.pattern.is_match(l)))
                .map(move |d| format!("{} in {}", h.name, d.path))
        })
        .collect();
    check(
        "no escape hatches",
        hatches.is_empty(),
        Class::NeedsValidation,
        listed(hatches.iter().map(String::as_str).collect()),
    );

    let class = checks
        .iter()
        .filter(|(c, _)| c.status == "fail")
        .map(|(_, class)| *class)
        .chain(diffed.iter().map(|d| policy.path_class(&d.path).unwrap_or(changes.default)))
        .max()
        .unwrap_or(Class::Safe);
    let verdict = match class {
        Class::Safe => "auto-merge",
        Class::Critical => "blocked",
        Class::NeedsValidation | Class::Unknown => "human-review",
    };
    Ok(Verdict {
        verdict: verdict.into(),
        class: class.as_str().into(),
        checks: checks.into_iter().map(|(c, _)| c).collect(),
        files,
    })
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
    crate::policy::issue::marker(body).map(|m| m.fingerprint)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_come_from_the_fenced_stack() {
        let body = "Boom\n\n```\nTypeError: x\n    at renderNote (chrome-extension://abc/src/popup.js:10:15)\n    at https://ex.com/app/main.js?v=2:3:1\n  File \"app/views.py\", line 42, in index\n```\n";
        let frames = frames_from_body(body);
        assert_eq!(frames[0], Frame { function: "renderNote".into(), file: "src/popup.js".into(), line: Some(10) });
        assert_eq!(frames[1].file, "app/main.js");
        assert_eq!(frames[2].file, "app/views.py");
    }

    #[test]
    fn the_builtin_policy_classes_issues() {
        let policy = Policy::builtin();
        let issue = |title: &str, body: &str| Issue {
            number: 1,
            title: title.into(),
            body: body.into(),
            labels: vec![],
            state: crate::forge::State::Open,
            url: String::new(),
            author: String::new(),
            created_at: String::new(),
            closed_at: None,
        };
        let safe = classify_issue(&policy, &issue("TypeError: Cannot read properties of undefined (reading 'id')", ""));
        assert_eq!((safe.class.as_str(), safe.auto_fixable), ("safe", true));
        let critical = classify_issue(&policy, &issue("TypeError: x is undefined", "in the stripe checkout"));
        assert_eq!((critical.class.as_str(), critical.auto_fixable), ("critical", false));
        assert!(protected_paths(&policy).iter().any(|p| p.starts_with(".github/workflows")));
    }
}
