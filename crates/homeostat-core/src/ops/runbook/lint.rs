//! The lint: a runbook's front matter parsed and checked, every problem reported with its
//! position (from the front matter's [`Spans`], by the path of the key or item that is
//! wrong); and the checks across a set of runbooks.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use regex::Regex;

use super::{CATEGORIES, Fix, Front, NEVER_AUTO, OPS, Op, Risk, Runbook, Trigger, severity_rank};
use crate::error::{InputError, Position};
use crate::parse::Spans;

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
    check(file, &Spans::read_after(file, yaml, 1), front, body)
}

fn check(file: &str, spans: &Spans, front: Front, body: &str) -> std::result::Result<Runbook, Vec<InputError>> {
    let mut problems = Vec::new();
    let mut bad = |pos: Position, msg: String| problems.push(InputError::new(pos, msg));

    check_header(file, &front, spans, &mut bad);
    let (alert_labels, title_patterns, severity_min) = compile_trigger(&front.trigger, spans, &mut bad);
    check_steps(&front, spans, &mut bad);
    let fix = compile_fix(&front, spans, &mut bad);
    check_escalation(&front, spans, &mut bad);

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
fn check_header(file: &str, front: &Front, spans: &Spans, bad: &mut impl FnMut(Position, String)) {
    let at = |key: &str| spans.position(key);
    let stem = Path::new(file).file_stem().and_then(|s| s.to_str()).unwrap_or_default();
    if front.name.is_empty() || !front.name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-') {
        bad(at("name"), format!("name `{}` must be lowercase letters, digits and dashes", front.name));
    } else if !stem.is_empty() && stem != front.name {
        bad(at("name"), format!("name `{}` differs from the file name `{stem}.md`", front.name));
    }
    if !CATEGORIES.contains(&front.category.as_str()) {
        bad(at("category"), format!("unknown category `{}` (one of: {})", front.category, CATEGORIES.join(", ")));
    }
    if front.auto_fix && NEVER_AUTO.contains(&front.category.as_str()) {
        bad(at("auto_fix"), format!("category `{}` is never auto-fixed: set auto_fix: false", front.category));
    }
    if front.auto_fix && front.risk == Risk::Critical {
        bad(at("auto_fix"), "risk critical is never auto-fixed: set auto_fix: false".into());
    }
    if front.auto_fix && front.fix.is_empty() {
        bad(at("auto_fix"), "auto_fix: true needs at least one fix step".into());
    }
    if !front.fix.is_empty() && front.verify.is_empty() {
        bad(at("fix"), "a runbook that fixes must verify: add a verify step".into());
    }
    if front.diagnosis.is_empty() {
        let key = if spans.get("diagnosis").is_some() { "diagnosis" } else { "trigger" };
        bad(at(key), "add at least one diagnosis step".into());
    }
}

/// The trigger's label and title patterns compiled, and its minimum severity ranked.
type CompiledTrigger = (Vec<(String, Regex)>, Vec<Regex>, Option<u8>);

fn compile_trigger(t: &Trigger, spans: &Spans, bad: &mut impl FnMut(Position, String)) -> CompiledTrigger {
    if t.alertname.is_empty() && t.labels.is_empty() && t.title.is_empty() {
        bad(spans.position("trigger"), "trigger needs alertname, labels or title".into());
    }
    let mut alert_labels = Vec::new();
    for (name, pattern) in &t.labels {
        match Regex::new(&format!("^(?:{pattern})$")) {
            Ok(re) => alert_labels.push((name.clone(), re)),
            Err(e) => bad(
                spans.value_position(&format!("trigger.labels.{name}")),
                format!("trigger.labels.{name}: bad regex: {e}"),
            ),
        }
    }
    let mut title_patterns = Vec::new();
    for (i, pattern) in t.title.iter().enumerate() {
        match Regex::new(pattern) {
            Ok(re) => title_patterns.push(re),
            Err(e) => bad(spans.item_position("trigger.title", i), format!("trigger.title: bad regex: {e}")),
        }
    }
    let severity_min = match &t.severity_min {
        Some(s) => {
            let rank = severity_rank(s);
            if rank.is_none() {
                bad(
                    spans.position("trigger.severity_min"),
                    format!("unknown severity `{s}` (info, low, warning, high, critical)"),
                );
            }
            rank
        }
        None => None,
    };
    (alert_labels, title_patterns, severity_min)
}

/// The diagnosis and verify steps: unique names, exactly one of `http` or `command`.
fn check_steps(front: &Front, spans: &Spans, bad: &mut impl FnMut(Position, String)) {
    let mut names = BTreeSet::new();
    for (kind, checks) in [("diagnosis", &front.diagnosis), ("verify", &front.verify)] {
        for (i, c) in checks.iter().enumerate() {
            let pos = spans.position(&format!("{kind}[{i}].name"));
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
fn compile_fix(front: &Front, spans: &Spans, bad: &mut impl FnMut(Position, String)) -> Vec<Fix> {
    let mut fix = Vec::new();
    for (i, step) in front.fix.iter().enumerate() {
        let pos = spans.position(&format!("fix[{i}].name"));
        if !OPS.contains(&step.op.as_str()) {
            bad(
                spans.value_position(&format!("fix[{i}].op")),
                format!("fix `{}`: unknown op `{}` (one of: {})", step.name, step.op, OPS.join(", ")),
            );
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
fn check_escalation(front: &Front, spans: &Spans, bad: &mut impl FnMut(Position, String)) {
    if front.escalate.after_attempts == 0 {
        bad(spans.position("escalate.after_attempts"), "escalate.after_attempts must be at least 1".into());
    }
    for (i, to) in front.escalate.to.iter().enumerate() {
        if to != "issue" && to != "slack" {
            bad(spans.item_position("escalate.to", i), format!("escalate.to: unknown target `{to}` (issue, slack)"));
        }
    }
    if front.limits.max_per_hour == 0 {
        bad(spans.position("limits.max_per_hour"), "limits.max_per_hour must be at least 1".into());
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
    use crate::duration::Duration;

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

    #[test]
    fn a_repeated_value_is_found_where_it_is_wrong() {
        let text = "---
name: api-down
category: availability
risk: medium
trigger:
  alertname: ['x((']
  title: [ok, 'x((']
diagnosis:
  - name: health
    http: {url: 'http://127.0.0.1/health'}
verify:
  - name: health
    http: {url: 'ftp://127.0.0.1/health'}
escalate:
  to: [issue, pager]
---
";
        let msgs: Vec<String> = parse("sops/api-down.md", text).unwrap_err().iter().map(ToString::to_string).collect();
        let starts = [
            "sops/api-down.md:7:15: trigger.title: bad regex",
            "sops/api-down.md:12:5: verify `health`: url `ftp://127.0.0.1/health` must start with",
            "sops/api-down.md:15:15: escalate.to: unknown target `pager`",
        ];
        assert_eq!(msgs.len(), starts.len(), "{msgs:?}");
        for (msg, start) in msgs.iter().zip(starts) {
            assert!(msg.starts_with(start), "{msg:?} does not start with {start:?}");
        }
    }
}
