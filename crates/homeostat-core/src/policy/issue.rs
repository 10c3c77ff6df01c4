//! Facts about an error read back from the issue hs-issue wrote: the hidden fingerprint
//! marker and state (surfaces, environments, tags), the title (`Type: message`), the body
//! (stack in fenced code blocks, and `key: value` lines or table rows for platform, surface,
//! environment, tags and release) and the labels.
//! Pure text handling; reading the issue goes through `forge` (`homeostat::policy::issue`).

use std::sync::LazyLock;

use regex::Regex;

use super::ErrorFacts;

/// The fingerprint marker hs-issue puts at the end of an issue body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Marker {
    pub fingerprint: String,
    pub algorithm: String,
}

static FIELD: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)^[\s|*_`>-]*(platform|surfaces?|releases?|environments?|tags|type)[\s*_`]*[:|][\s*_`]*([^|*\n]+)")
        .unwrap_or_else(|e| panic!("field regex: {e}"))
});

/// JavaScript (`at f (file:10:5)`, `f@file:10:5`), Python (`File "x.py", line 3`), JVM
/// (`(Foo.java:12)`), Go/Rust (`/src/x.go:12`) frame files, and hs-issue's grouped
/// frames (`render (app.js)`).
static FRAME_FILE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r#"(?m)File "(?P<py>[^"]+)", line \d+|\((?P<grouped>[^()\s:]+\.[A-Za-z0-9]{1,6})\)\s*$|(?P<other>(?:[A-Za-z][A-Za-z0-9+.-]*://)?[^\s()"'@<>]*[A-Za-z0-9_\]-]\.[A-Za-z0-9]{1,6}(?:\?[^\s:()]*)?):\d+(?::\d+)?"#,
    )
    .unwrap_or_else(|e| panic!("frame regex: {e}"))
});

/// The newest fingerprint marker in an issue body's trailer, if there is one.
pub fn marker(body: &str) -> Option<Marker> {
    let (fingerprint, algorithm) = crate::markers::fingerprints(body).pop()?;
    Some(Marker { fingerprint, algorithm })
}

/// The files named by a stack trace's frames that look like the application's own
/// (not `node_modules`, `site-packages`, the standard library or `<anonymous>`).
pub fn stack_files(stack: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for caps in FRAME_FILE.captures_iter(stack) {
        let Some(file) = caps.name("py").or_else(|| caps.name("grouped")).or_else(|| caps.name("other")) else {
            continue;
        };
        let file = file.as_str();
        let vendor = ["node_modules/", "site-packages/", "dist-packages/", "/rustc/", "/.cargo/registry/", "<"]
            .iter()
            .any(|v| file.contains(v));
        if !vendor && !out.iter().any(|f| f == file) {
            out.push(file.to_string());
        }
    }
    out
}

/// The error's facts as far as an issue's title, body and labels tell them.
pub fn facts_from_text(title: &str, body: &str, labels: &[String]) -> ErrorFacts {
    let state = crate::markers::IssueState::find(body);
    let body = crate::markers::without_trailer(body);
    let mut facts = ErrorFacts {
        title: title.to_string(),
        message: body.trim().to_string(),
        labels: labels.to_vec(),
        ..ErrorFacts::default()
    };
    if let Some((head, _)) = title.split_once(": ")
        && !head.is_empty()
        && head.chars().all(|c| c.is_alphanumeric() || "_.$:<>".contains(c))
    {
        facts.r#type = head.to_string();
    }
    // Fenced blocks (any fence of 3+ backticks, closed by one at least as long) hold the
    // message, the frames and the stack.
    let mut fence: Option<usize> = None;
    let mut stack = String::new();
    for line in body.lines() {
        let ticks = line.trim_start().chars().take_while(|c| *c == '`').count();
        match fence {
            None if ticks >= 3 => {
                fence = Some(ticks);
                continue;
            }
            Some(open) if ticks >= open && line.trim().chars().all(|c| c == '`') => {
                fence = None;
                continue;
            }
            Some(_) => {
                stack.push_str(line);
                stack.push('\n');
                continue;
            }
            None => {}
        }
        let Some(caps) = FIELD.captures(line) else { continue };
        // `| Releases | `1.4.2`, `1.5.0` |`: every value; a release is the last (newest) one.
        let values: Vec<String> = caps[2]
            .split(',')
            .map(|v| v.trim().trim_matches('`').trim().to_string())
            .filter(|v| !v.is_empty() && !v.eq_ignore_ascii_case("unknown") && !v.eq_ignore_ascii_case("none"))
            .collect();
        let Some(value) = values.last().cloned() else { continue };
        let fill = |list: &mut Vec<String>| {
            if list.is_empty() {
                *list = values.clone();
            }
        };
        match caps[1].to_ascii_lowercase().as_str() {
            "platform" => facts.platform = facts.platform.take().or(Some(value)),
            "surface" | "surfaces" => fill(&mut facts.surfaces),
            "environment" | "environments" => fill(&mut facts.environments),
            "tags" => fill(&mut facts.tags),
            "release" | "releases" => facts.release = facts.release.take().or(Some(value)),
            _ if facts.r#type.is_empty() => facts.r#type = value,
            _ => {}
        }
    }
    // The hidden state (trailer only, so text in the body cannot forge it) knows every
    // surface, environment and tag exactly; the table rows are for issues without it.
    if let Some(state) = state {
        let known = |from_state: Vec<String>, from_rows: &mut Vec<String>| {
            if from_state.is_empty() { std::mem::take(from_rows) } else { from_state }
        };
        facts.surfaces = known(state.surfaces, &mut facts.surfaces);
        facts.environments = known(state.environments, &mut facts.environments);
        facts.tags = known(state.tags, &mut facts.tags);
    }
    facts.in_app_files = stack_files(&stack);
    facts.stack = stack;
    facts
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Issue {
        title: String,
        body: String,
        labels: Vec<String>,
    }

    fn issue(title: &str, body: &str) -> Issue {
        Issue { title: title.into(), body: body.into(), labels: vec!["homeostat:error".into()] }
    }

    fn facts_from_issue(issue: &Issue) -> ErrorFacts {
        facts_from_text(&issue.title, &issue.body, &issue.labels)
    }

    #[test]
    fn reads_marker_fields_and_stack() {
        let body = "**Platform:** javascript\n| Surface | popup |\n- release: `1.4.2`\n\n```\nTypeError: x\n    at render (chrome-extension://abc/popup.js:10:15)\n    at n (node_modules/react/index.js:1:1)\n```\n<!-- homeostat:fingerprint=0123456789abcdef algorithm=v1 -->";
        let i = issue("TypeError: Cannot read properties of undefined", body);
        assert_eq!(marker(&i.body), Some(Marker { fingerprint: "0123456789abcdef".into(), algorithm: "v1".into() }));
        let f = facts_from_issue(&i);
        assert_eq!(f.r#type, "TypeError");
        assert_eq!(f.platform.as_deref(), Some("javascript"));
        assert_eq!(f.surfaces, vec!["popup".to_string()]);
        assert_eq!(f.release.as_deref(), Some("1.4.2"));
        assert_eq!(f.in_app_files, vec!["chrome-extension://abc/popup.js".to_string()]);
        assert!(!f.message.contains("homeostat:fingerprint"));
    }

    #[test]
    fn reads_the_body_hs_issue_writes() {
        let body = "**`TypeError: x is undefined`**\n\n| | |\n|---|---|\n| Culprit | `render` |\n| Platform | javascript |\n| Releases | `1.4.2`, `1.5.0` |\n\n### Message\n\n````text\nx is undefined ``` odd\n````\n\n### Stack\n\n```text\nrender (src/popup/app.js)\nload (src/lib/load.js)\n```\n";
        let f = facts_from_issue(&issue("TypeError: x is undefined", body));
        assert_eq!(f.platform.as_deref(), Some("javascript"));
        assert_eq!(f.release.as_deref(), Some("1.5.0"));
        assert_eq!(f.in_app_files, vec!["src/popup/app.js".to_string(), "src/lib/load.js".to_string()]);
        assert!(f.stack.contains("x is undefined ``` odd"));
    }

    #[test]
    fn python_and_jvm_frames() {
        let stack = "Traceback:\n  File \"/app/billing/charge.py\", line 3, in f\n  File \"/usr/lib/python3/site-packages/x.py\", line 1\n\tat com.a.B.c(B.java:12)";
        assert_eq!(stack_files(stack), vec!["/app/billing/charge.py".to_string(), "B.java".to_string()]);
    }
}
