//! The decision engine: confidence, risk thresholds, never-auto categories, cooldown and
//! hourly limits. Pure: the ledger's entries are passed in, the clock too.

use jiff::{SignedDuration, Timestamp};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::runbook::Runbook;
use crate::ledger::Entry;

/// Ledger kind of one handled alert (key: the runbook, or `-` when none matched).
pub const RUN: &str = "ops.run";
/// Ledger kind of one diagnosis, fix or verify step (key: the runbook).
pub const STEP: &str = "ops.step";
/// Ledger kind of an escalation (key: the runbook).
pub const ESCALATION: &str = "ops.escalation";

/// Past runs this many or more count; fewer leave the history neutral.
pub const MIN_RUNS_FOR_HISTORY: u32 = 5;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// Diagnose and report; never act.
    Diagnose,
    /// Act only after a maintainer comments `/approve` on the approval issue.
    #[default]
    Approve,
    /// Act when the decision engine allows it.
    Auto,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Decision {
    AutoFix,
    AwaitApproval,
    Escalate,
    DiagnoseOnly,
    NoMatch,
}

impl Decision {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::AutoFix => "auto-fix",
            Self::AwaitApproval => "await-approval",
            Self::Escalate => "escalate",
            Self::DiagnoseOnly => "diagnose-only",
            Self::NoMatch => "no-match",
        }
    }
}

/// A runbook's record, learnt from the ledger.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Stats {
    pub sop: String,
    /// Runs that acted (fixed or tried to).
    pub runs: u32,
    pub resolved: u32,
    pub failed: u32,
    /// resolved / runs, once there are runs.
    pub success_rate: Option<f64>,
    /// Mean seconds from the start of handling to a passing verification.
    pub mean_seconds_to_resolve: Option<f64>,
    pub last_failure: Option<Timestamp>,
}

fn acted(e: &Entry) -> bool {
    e.data.get("acted").and_then(serde_json::Value::as_bool).unwrap_or(false)
}

/// The statistics of runbook `sop` from ledger entries (any kinds; `ops.run` are read).
pub fn stats(entries: &[Entry], sop: &str) -> Stats {
    let mut s = Stats { sop: sop.to_string(), ..Stats::default() };
    let mut seconds = Vec::new();
    for e in entries.iter().filter(|e| e.kind == RUN && e.key == sop && acted(e)) {
        s.runs += 1;
        if e.get_str("outcome") == Some("resolved") {
            s.resolved += 1;
            if let Some(secs) = e.get_f64("seconds") {
                seconds.push(secs);
            }
        } else {
            s.failed += 1;
            s.last_failure = Some(s.last_failure.map_or(e.ts, |t: Timestamp| t.max(e.ts)));
        }
    }
    if s.runs > 0 {
        s.success_rate = Some(f64::from(s.resolved) / f64::from(s.runs));
    }
    if !seconds.is_empty() {
        s.mean_seconds_to_resolve = Some(seconds.iter().sum::<f64>() / seconds.len() as f64);
    }
    s
}

/// Confidence (0–100) and its parts, each 0–1.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Confidence {
    pub total: f64,
    pub history: f64,
    pub diagnosis: f64,
    pub trigger: f64,
    pub environment: f64,
}

/// 40 % past success (neutral 0.5 until [`MIN_RUNS_FOR_HISTORY`] runs) + 30 % diagnosis
/// clarity (the share of diagnosis steps that confirmed the runbook's reading; a step that
/// could not run counts against) + 20 % trigger match + 10 % environment (every value the
/// fix needs is defined and allowed).
pub fn confidence(stats: &Stats, diagnosis: &[bool], trigger_match: f64, environment_ready: bool) -> Confidence {
    let history = match stats.success_rate {
        Some(rate) if stats.runs >= MIN_RUNS_FOR_HISTORY => rate,
        _ => 0.5,
    };
    let clarity = if diagnosis.is_empty() {
        0.5
    } else {
        diagnosis.iter().filter(|ok| **ok).count() as f64 / diagnosis.len() as f64
    };
    let environment = if environment_ready { 1.0 } else { 0.0 };
    let total = 100.0 * (0.4 * history + 0.3 * clarity + 0.2 * trigger_match.clamp(0.0, 1.0) + 0.1 * environment);
    Confidence {
        total: (total * 10.0).round() / 10.0,
        history,
        diagnosis: clarity,
        trigger: trigger_match,
        environment,
    }
}

/// The decision and why.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Verdict {
    pub decision: Decision,
    pub reason: String,
}

fn verdict(decision: Decision, reason: impl Into<String>) -> Verdict {
    Verdict { decision, reason: reason.into() }
}

/// Fix attempts of `sop` that count against its hourly limit, and the last one, from the ledger.
fn recent_actions(entries: &[Entry], sop: &str, now: Timestamp) -> (u32, Option<Timestamp>) {
    let hour_ago = now - SignedDuration::from_hours(1);
    let mut attempts = 0;
    let mut last = None;
    for e in entries.iter().filter(|e| e.kind == RUN && e.key == sop && acted(e)) {
        if e.ts >= hour_ago && e.ts <= now {
            attempts += e.data.get("attempts").and_then(serde_json::Value::as_u64).unwrap_or(1).max(1) as u32;
        }
        last = Some(last.map_or(e.ts, |t: Timestamp| t.max(e.ts)));
    }
    (attempts, last)
}

/// Decides what to do with a matched runbook. Order: mode diagnose; cooldown (diagnose
/// only: a fix is already settling); hourly limit (escalate: fixes keep not holding);
/// critical risk (escalate); confidence below the risk's threshold (escalate); approve
/// mode, or a category or runbook that is never auto-fixed (await approval); else auto-fix.
pub fn decide(runbook: &Runbook, mode: Mode, confidence: f64, entries: &[Entry], now: Timestamp) -> Verdict {
    if mode == Mode::Diagnose {
        return verdict(Decision::DiagnoseOnly, "mode diagnose: report only");
    }
    if runbook.fix.is_empty() {
        return verdict(Decision::Escalate, "the runbook has no fix steps: a person must act");
    }
    if let Some(held) = limits(runbook, entries, now) {
        return held;
    }
    let Some(threshold) = runbook.risk.threshold() else {
        return verdict(Decision::Escalate, "risk critical: never fixed automatically");
    };
    if confidence < threshold {
        return verdict(
            Decision::Escalate,
            format!("confidence {confidence:.0} is below {threshold:.0} for risk {}", runbook.risk.as_str()),
        );
    }
    if runbook.never_auto() {
        return verdict(
            Decision::AwaitApproval,
            format!("category {} is never auto-fixed: a maintainer must approve", runbook.category),
        );
    }
    if !runbook.auto_fix {
        return verdict(Decision::AwaitApproval, "the runbook says auto_fix: false: a maintainer must approve");
    }
    if mode == Mode::Approve {
        return verdict(Decision::AwaitApproval, format!("confidence {confidence:.0} ≥ {threshold:.0}; mode approve"));
    }
    verdict(
        Decision::AutoFix,
        format!("confidence {confidence:.0} ≥ {threshold:.0} for risk {}", runbook.risk.as_str()),
    )
}

/// The runbook's cooldown and hourly limit, from the ledger: `Some` when they hold a fix
/// back (cooldown: diagnose only, a fix is still settling; hourly limit: escalate, fixes
/// keep not holding). Applies to approved fixes too.
pub fn limits(runbook: &Runbook, entries: &[Entry], now: Timestamp) -> Option<Verdict> {
    let (attempts, last) = recent_actions(entries, &runbook.name, now);
    let cooldown = SignedDuration::try_from(runbook.limits.cooldown.as_std()).unwrap_or(SignedDuration::MAX);
    if let Some(last) = last
        && now.duration_since(last) < cooldown
    {
        let ago = now.duration_since(last).as_secs();
        return Some(verdict(
            Decision::DiagnoseOnly,
            format!("cooldown: the last fix ran {ago}s ago (cooldown {})", runbook.limits.cooldown),
        ));
    }
    if attempts >= runbook.limits.max_per_hour {
        return Some(verdict(
            Decision::Escalate,
            format!("hourly limit: {attempts} fix attempts in the last hour (max {})", runbook.limits.max_per_hour),
        ));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ops::runbook::parse;
    use serde_json::json;

    fn runbook(category: &str, risk: &str, auto_fix: bool) -> Runbook {
        let text = format!(
            "---\nname: r\ncategory: {category}\nrisk: {risk}\nauto_fix: {auto_fix}\ntrigger: {{alertname: [A]}}\n\
             diagnosis: [{{name: d, http: {{url: 'http://127.0.0.1/'}}}}]\n\
             fix: [{{name: f, op: http, with: {{url: 'http://127.0.0.1/fix'}}}}]\n\
             verify: [{{name: v, http: {{url: 'http://127.0.0.1/'}}}}]\n\
             limits: {{max_per_hour: 2, cooldown: 10m}}\n---\n"
        );
        parse("r.md", &text).unwrap()
    }

    fn run(ts: Timestamp, outcome: &str, acted: bool) -> Entry {
        let data = json!({"outcome": outcome, "acted": acted, "seconds": 40.0});
        Entry { ts, kind: RUN.into(), key: "r".into(), id: String::new(), data: data.as_object().unwrap().clone() }
    }

    fn now() -> Timestamp {
        Timestamp::from_second(1_800_000_000).unwrap()
    }

    #[test]
    fn confidence_weights_and_neutral_history() {
        let mut s = Stats { runs: 4, resolved: 0, success_rate: Some(0.0), ..Stats::default() };
        let c = confidence(&s, &[true, true], 1.0, true);
        assert_eq!(c.total, 80.0, "4 failures are not yet history: neutral 0.5");
        s.runs = 5;
        assert_eq!(confidence(&s, &[true, false], 0.6, false).total, 0.0 + 15.0 + 12.0);
        s.success_rate = Some(1.0);
        assert_eq!(confidence(&s, &[true], 1.0, true).total, 100.0);
    }

    #[test]
    fn thresholds_by_risk() {
        for (risk, below, at) in [("low", 59.9, 60.0), ("medium", 74.9, 75.0), ("high", 89.9, 90.0)] {
            let r = runbook("availability", risk, true);
            assert_eq!(decide(&r, Mode::Auto, below, &[], now()).decision, Decision::Escalate, "{risk}");
            assert_eq!(decide(&r, Mode::Auto, at, &[], now()).decision, Decision::AutoFix, "{risk}");
        }
        let r = runbook("availability", "critical", false);
        let v = decide(&r, Mode::Auto, 100.0, &[], now());
        assert_eq!(v.decision, Decision::Escalate);
        assert!(v.reason.contains("critical"));
    }

    #[test]
    fn modes() {
        let r = runbook("availability", "low", true);
        assert_eq!(decide(&r, Mode::Diagnose, 100.0, &[], now()).decision, Decision::DiagnoseOnly);
        assert_eq!(decide(&r, Mode::Approve, 100.0, &[], now()).decision, Decision::AwaitApproval);
        assert_eq!(decide(&r, Mode::Auto, 100.0, &[], now()).decision, Decision::AutoFix);
        let manual = runbook("availability", "low", false);
        assert_eq!(decide(&manual, Mode::Auto, 100.0, &[], now()).decision, Decision::AwaitApproval);
    }

    #[test]
    fn never_auto_categories() {
        for category in crate::ops::runbook::NEVER_AUTO {
            let r = runbook(category, "low", false);
            let v = decide(&r, Mode::Auto, 100.0, &[], now());
            assert_eq!(v.decision, Decision::AwaitApproval, "{category}");
            assert!(v.reason.contains(category));
        }
    }

    #[test]
    fn cooldown_and_hourly_limit_come_from_the_ledger() {
        let r = runbook("availability", "low", true);
        let recent = [run(now() - SignedDuration::from_mins(5), "resolved", true)];
        let v = decide(&r, Mode::Auto, 100.0, &recent, now());
        assert_eq!(v.decision, Decision::DiagnoseOnly);
        assert!(v.reason.starts_with("cooldown"), "{}", v.reason);
        // A run that did not act (diagnosis only) starts no cooldown.
        let diagnosed = [run(now() - SignedDuration::from_mins(5), "diagnosed", false)];
        assert_eq!(decide(&r, Mode::Auto, 100.0, &diagnosed, now()).decision, Decision::AutoFix);
        // Past the cooldown but two attempts inside the hour (max 2): escalate.
        let busy = [
            run(now() - SignedDuration::from_mins(40), "failed", true),
            run(now() - SignedDuration::from_mins(20), "failed", true),
        ];
        let v = decide(&r, Mode::Auto, 100.0, &busy, now());
        assert_eq!(v.decision, Decision::Escalate);
        assert!(v.reason.starts_with("hourly limit"), "{}", v.reason);
        let old = [run(now() - SignedDuration::from_mins(90), "failed", true), busy[1].clone()];
        assert_eq!(decide(&r, Mode::Auto, 100.0, &old, now()).decision, Decision::AutoFix);
    }

    #[test]
    fn stats_learn_from_runs() {
        let entries = [
            run(now() - SignedDuration::from_hours(3), "resolved", true),
            run(now() - SignedDuration::from_hours(2), "failed", true),
            run(now() - SignedDuration::from_hours(1), "diagnosed", false),
        ];
        let s = stats(&entries, "r");
        assert_eq!((s.runs, s.resolved, s.failed), (2, 1, 1));
        assert_eq!(s.success_rate, Some(0.5));
        assert_eq!(s.mean_seconds_to_resolve, Some(40.0));
        assert_eq!(s.last_failure, Some(now() - SignedDuration::from_hours(2)));
    }
}
