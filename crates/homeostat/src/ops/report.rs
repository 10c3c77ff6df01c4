//! The daily report: what happened since a time, read from the ledger (pure), written as
//! markdown through `prompts/ops-report.md.j2`; a model may add the prose through
//! `prompts/ops-report.j2`. [`Ops::report`](super::Ops::report) puts them together.

use std::collections::BTreeMap;

use jiff::Timestamp;
use serde::Serialize;

use super::decide::{self, RUN, Stats};
use crate::ledger::Entry;

pub use crate::ledger::kinds;

/// One runbook's line in the report.
#[derive(Debug, Clone, Serialize)]
pub struct RunbookLine {
    pub sop: String,
    pub handled: u32,
    pub resolved: u32,
    pub escalated: u32,
    /// All-time statistics (the learning), not only the window.
    pub all_time: Stats,
}

/// What happened between `since` and `until`.
#[derive(Debug, Clone, Serialize)]
pub struct Summary {
    pub since: Timestamp,
    pub until: Timestamp,
    /// Alerts handled (matched or not).
    pub detected: u32,
    pub unmatched: u32,
    pub auto_fixed: u32,
    pub fixed_after_approval: u32,
    pub awaiting_approval: u32,
    pub escalated: u32,
    pub diagnosed_only: u32,
    /// Fixes that held / fixes tried, in the window.
    pub fix_success: Option<f64>,
    pub mean_fix_seconds: Option<f64>,
    pub runbooks: Vec<RunbookLine>,
    pub issues_created: u32,
    pub agent_runs: u32,
    pub prs_opened: u32,
    pub prs_merged: u32,
    pub rollbacks: u32,
    pub llm_usd: f64,
}

/// Summarises the ledger's entries between `since` and `until`.
pub fn summarize(entries: &[Entry], since: Timestamp, until: Timestamp) -> Summary {
    let window: Vec<&Entry> = entries.iter().filter(|e| e.ts >= since && e.ts <= until).collect();
    let count = |kind: &str| window.iter().filter(|e| e.kind == kind).count() as u32;
    let mut s = Summary {
        since,
        until,
        detected: 0,
        unmatched: 0,
        auto_fixed: 0,
        fixed_after_approval: 0,
        awaiting_approval: 0,
        escalated: 0,
        diagnosed_only: 0,
        fix_success: None,
        mean_fix_seconds: None,
        runbooks: Vec::new(),
        // An error two runs filed at once is one issue (see hs-issue's `issue.filed_twice`).
        issues_created: count(kinds::ISSUE_CREATED).saturating_sub(count(kinds::ISSUE_FILED_TWICE)),
        agent_runs: count(kinds::AGENT_RUN),
        prs_opened: window
            .iter()
            .filter(|e| e.kind == kinds::AGENT_OUTCOME && e.get_str("outcome") == Some("pr-opened"))
            .count() as u32,
        prs_merged: count(kinds::PR_MERGED),
        rollbacks: window
            .iter()
            .filter(|e| e.kind == kinds::CANARY_DECISION && e.get_str("decision") == Some("rollback"))
            .count() as u32,
        // `+ 0.0`: an empty float sum is -0.0, which would print as "$-0.00".
        llm_usd: window.iter().filter(|e| e.kind == kinds::LLM_CALL).filter_map(|e| e.get_f64("usd")).sum::<f64>()
            + 0.0,
    };
    count_runs(&mut s, &window, entries);
    s
}

/// The `ops.run` entries of the window: alerts handled, outcomes, per-runbook lines, the
/// share of fixes that held and their mean time.
fn count_runs(s: &mut Summary, window: &[&Entry], entries: &[Entry]) {
    let mut lines: BTreeMap<String, RunbookLine> = BTreeMap::new();
    let (mut tried, mut held, mut seconds) = (0u32, 0u32, Vec::new());
    // A handled alert is one `ops.run`; an approval run continues an earlier one and is
    // counted as its fix, not as a new alert.
    for e in window.iter().filter(|e| e.kind == RUN) {
        let outcome = e.get_str("outcome").unwrap_or_default();
        let approved = e.get_str("approved_by").is_some();
        let acted = e.data.get("acted").and_then(serde_json::Value::as_bool).unwrap_or(false);
        if !approved {
            s.detected += 1;
        }
        if e.key == "-" {
            s.unmatched += 1;
            continue;
        }
        let line = lines.entry(e.key.clone()).or_insert_with(|| RunbookLine {
            sop: e.key.clone(),
            handled: 0,
            resolved: 0,
            escalated: 0,
            all_time: decide::stats(entries, &e.key),
        });
        if !approved {
            line.handled += 1;
        }
        match outcome {
            "resolved" if approved => s.fixed_after_approval += 1,
            "resolved" => s.auto_fixed += 1,
            "awaiting-approval" => s.awaiting_approval += 1,
            "escalated" => s.escalated += 1,
            "diagnosed" => s.diagnosed_only += 1,
            _ => {}
        }
        if outcome == "resolved" {
            line.resolved += 1;
        }
        if outcome == "escalated" {
            line.escalated += 1;
        }
        if acted {
            tried += 1;
            if outcome == "resolved" {
                held += 1;
                seconds.extend(e.get_f64("seconds"));
            }
        }
    }
    if tried > 0 {
        s.fix_success = Some(f64::from(held) / f64::from(tried));
    }
    if !seconds.is_empty() {
        s.mean_fix_seconds = Some(seconds.iter().sum::<f64>() / seconds.len() as f64);
    }
    s.runbooks = lines.into_values().collect();
}

/// The JSON schema of the prose a model writes (`prompts/ops-report.j2`).
pub fn prose_schema() -> serde_json::Value {
    serde_json::json!({
        "type": "object",
        "required": ["summary"],
        "additionalProperties": false,
        "properties": {"summary": {"type": "string", "minLength": 1, "maxLength": 2000}}
    })
}

/// The report as markdown, with the model's `prose` when there is some.
pub fn markdown(prompts: &crate::prompt::Prompts, summary: &Summary, prose: Option<&str>) -> crate::Result<String> {
    let percent = |v: Option<f64>| v.map(|v| format!("{:.0} %", v * 100.0));
    let duration =
        |v: Option<f64>| v.map(|s| if s >= 120.0 { format!("{:.1} min", s / 60.0) } else { format!("{s:.0} s") });
    let runbooks: Vec<serde_json::Value> = summary
        .runbooks
        .iter()
        .map(|l| {
            serde_json::json!({
                "sop": l.sop, "handled": l.handled, "resolved": l.resolved, "escalated": l.escalated,
                "success_rate": percent(l.all_time.success_rate).unwrap_or_else(|| "–".into()),
                "runs": l.all_time.runs,
                "mttr": duration(l.all_time.mean_seconds_to_resolve).unwrap_or_else(|| "–".into()),
                "last_failure": l.all_time.last_failure.map(|t| t.strftime("%Y-%m-%d %H:%M").to_string()).unwrap_or_else(|| "–".into()),
            })
        })
        .collect();
    let context = serde_json::json!({
        "since": summary.since.strftime("%Y-%m-%d %H:%M UTC").to_string(),
        "until": summary.until.strftime("%Y-%m-%d %H:%M UTC").to_string(),
        "s": summary,
        "fix_success": percent(summary.fix_success).unwrap_or_else(|| "–".into()),
        "mean_fix": duration(summary.mean_fix_seconds).unwrap_or_else(|| "–".into()),
        "llm_usd": format!("{:.2}", summary.llm_usd),
        "runbooks": runbooks,
        "prose": prose.map(crate::prompt::strip_hidden),
    });
    prompts.render("ops-report.md.j2", &context)
}

impl super::Ops<'_> {
    /// The report since `since`, as markdown; a model writes the opening prose when given.
    pub async fn report(&self, prompts: &crate::prompt::Prompts, since: Timestamp) -> crate::Result<(Summary, String)> {
        let until = self.ledger.now();
        let summary = summarize(&self.ledger.entries()?, since, until);
        let mut prose = None;
        if let Some(model) = self.model {
            let context = serde_json::json!({
                "since": since.to_string(), "until": until.to_string(), "figures": summary,
            });
            match model.ask_json("ops-report.j2", &context, &prose_schema()).await {
                Ok(answer) => prose = answer.get("summary").and_then(|s| s.as_str()).map(str::to_string),
                Err(e) => tracing::warn!("report prose by the model failed ({e}): plain report"),
            }
        }
        let markdown = markdown(prompts, &summary, prose.as_deref())?;
        Ok((summary, markdown))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn entry(ts: Timestamp, kind: &str, key: &str, data: serde_json::Value) -> Entry {
        Entry { ts, kind: kind.into(), key: key.into(), id: String::new(), data: data.as_object().unwrap().clone() }
    }

    #[test]
    fn counts_every_line_of_the_report() {
        let t = Timestamp::from_second(1_800_000_000).unwrap();
        let h = |n: i64| t - jiff::SignedDuration::from_hours(n);
        let entries = vec![
            entry(h(30), RUN, "a", json!({"outcome": "failed", "acted": true})),
            entry(h(5), RUN, "a", json!({"outcome": "resolved", "acted": true, "seconds": 60.0})),
            entry(h(4), RUN, "a", json!({"outcome": "diagnosed", "acted": false})),
            entry(h(3), RUN, "b", json!({"outcome": "awaiting-approval", "acted": false})),
            entry(
                h(2),
                RUN,
                "b",
                json!({"outcome": "resolved", "acted": true, "seconds": 180.0, "approved_by": "alice"}),
            ),
            entry(h(2), RUN, "c", json!({"outcome": "escalated", "acted": true})),
            entry(h(1), RUN, "-", json!({"outcome": "no-match"})),
            entry(h(1), kinds::AGENT_OUTCOME, "12", json!({"outcome": "pr-opened", "pr": 13})),
            entry(h(1), kinds::PR_MERGED, "13", json!({})),
            entry(h(1), kinds::CANARY_DECISION, "v1", json!({"decision": "rollback"})),
            entry(h(1), kinds::CANARY_DECISION, "v2", json!({"decision": "promote"})),
            entry(h(1), kinds::LLM_CALL, "ops-match", json!({"usd": 0.25})),
            entry(h(1), kinds::LLM_CALL, "ops-report", json!({"usd": 0.5})),
        ];
        let s = summarize(&entries, h(24), t);
        assert_eq!(s.detected, 5, "the approval run continues an alert, it is not a new one");
        assert_eq!((s.auto_fixed, s.fixed_after_approval, s.escalated, s.awaiting_approval), (1, 1, 1, 1));
        assert_eq!((s.unmatched, s.diagnosed_only), (1, 1));
        assert_eq!(s.fix_success, Some(2.0 / 3.0));
        assert_eq!(s.mean_fix_seconds, Some(120.0));
        assert_eq!((s.prs_opened, s.prs_merged, s.rollbacks), (1, 1, 1));
        assert!((s.llm_usd - 0.75).abs() < 1e-9);
        let a = &s.runbooks[0];
        assert_eq!((a.sop.as_str(), a.all_time.runs, a.all_time.resolved), ("a", 2, 1), "learning is all-time");
    }
}
