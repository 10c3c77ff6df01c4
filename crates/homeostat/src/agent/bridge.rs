//! The agent's view of the policy (`crate::policy`): the error's class in words, the
//! protected paths and limits for the prompt, and the frames of the issue's stack.

use std::sync::LazyLock;

use regex::Regex;
use serde::Serialize;

use crate::error::Result;
use crate::forge::Issue;
use crate::policy::{Class, Policy};

/// The class a policy gives an issue's error, in the words the agent reports.
#[derive(Debug, Clone, Serialize)]
pub struct Classification {
    pub class: String,
    pub auto_fixable: bool,
    pub reasons: Vec<String>,
}

/// The policy `config.policy` names, else the built-in one.
pub fn load_policy(config: &crate::settings::Config) -> Result<Policy> {
    crate::policy::from_config(config, None)
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
        .expect("a constant regex compiles")
});
static PY_FRAME: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"^\s*File "(?P<file>[^"]+)", line (?P<l>\d+), in (?P<f>\S+)"#).expect("a constant regex compiles")
});
static RUST_FRAME: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^\s*at (?P<file>[^\s:]+\.rs):(?P<l>\d+)(?::\d+)?\s*$").expect("a constant regex compiles")
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
