//! The loop's figures over a window, read from ledger lines (pure: entries in, figures
//! out). One definition per figure, each documented in docs/report.md; the JSON keys of
//! [`Figures`] are the names used there.

use std::collections::BTreeMap;

use jiff::{Timestamp, ToSpan};
use serde::Serialize;

use super::kinds;
use crate::ledger::Entry;

/// Agent outcomes that count as a success (a pull request exists for the issue).
pub const AGENT_OK: &[&str] = &["pr-opened", "pr-updated"];
/// Agent outcomes that are the agent's own failure.
pub const AGENT_FAILED: &[&str] = &["agent-failed", "agent-timeout"];
/// Seconds within which a bug counts as filed promptly.
pub const FILED_WITHIN_SECONDS: i64 = 60;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Errors {
    pub events: u64,
    pub new_bugs: u64,
    pub regressions: u64,
    pub filed_within_minute: u64,
    pub filed_of: u64,
    pub filed_within_minute_share: Option<f64>,
}

/// hs-cluster's links between likely duplicates, and what maintainers made of them.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Duplicates {
    /// Issues linked to their likely duplicates (one comment and label each).
    pub linked: u64,
    /// Links maintainers confirmed (closed the issue) or rejected (removed the label).
    pub confirmed: u64,
    pub rejected: u64,
    /// confirmed ÷ (confirmed + rejected): precision as maintainers judged it.
    pub confirmed_share: Option<f64>,
    /// The largest clusters the window's links make, one line each (at most
    /// [`CLUSTERS_SHOWN`]): a problem reported ten times is one line with a count.
    pub clusters: Vec<ClusterLine>,
}

/// Clusters a report lists.
pub const CLUSTERS_SHOWN: usize = 10;

/// One cluster of likely duplicates: the issues hs-cluster linked to one another.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ClusterLine {
    pub repo: String,
    /// The title of its earliest report, as the first link of it in the window recorded.
    pub title: Option<String>,
    /// Its issues, in number order.
    pub issues: Vec<u64>,
    pub reports: u64,
}

/// User feedback that reached the loop through hs-relay, filed as issues by hs-issue.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FeedbackFigures {
    /// Issues filed from user feedback.
    pub filed: u64,
    /// Pieces held back by `issues.feedback_per_day` (filed by a later run, or dropped after
    /// `issues.hold_for`).
    pub held: u64,
}

/// Nearest-rank median and 90th percentile of durations in whole seconds.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Durations {
    pub count: u64,
    pub median_seconds: Option<i64>,
    pub p90_seconds: Option<i64>,
}

impl Durations {
    pub fn of(mut seconds: Vec<i64>) -> Self {
        seconds.sort_unstable();
        Self {
            count: seconds.len() as u64,
            median_seconds: nearest_rank(&seconds, 50),
            p90_seconds: nearest_rank(&seconds, 90),
        }
    }
}

/// The value at rank ⌈p·n/100⌉ of sorted values (integer arithmetic: no rounding drift).
pub fn nearest_rank(sorted: &[i64], percent: usize) -> Option<i64> {
    let rank = (percent * sorted.len()).div_ceil(100);
    sorted.get(rank.checked_sub(1)?).copied()
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Agent {
    /// Times the agent process ran (`agent.run`).
    pub runs: u64,
    /// Every ending of hs-agent by outcome, refusals included (`agent.outcome`).
    pub outcomes: BTreeMap<String, u64>,
    /// All endings: the requests the agent answered.
    pub requests: u64,
    /// The share of requests that ended in an opened or updated pull request.
    pub success_rate: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Fixes {
    pub merged: u64,
    pub by_gate: u64,
    pub by_people: u64,
    pub time_to_fix: Durations,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Canary {
    pub promotions: u64,
    pub rollbacks: u64,
    pub decisions: BTreeMap<String, u64>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Runbooks {
    pub runs: u64,
    pub outcomes: BTreeMap<String, u64>,
    pub recovery: Durations,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Spend {
    pub agent_usd: f64,
    pub model_usd: f64,
    pub total_usd: f64,
    /// Daily budgets times the window's days, when configured.
    pub agent_budget_usd: Option<f64>,
    pub model_budget_usd: Option<f64>,
}

/// One UTC day of the window, for charts.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Day {
    pub date: String,
    pub events: u64,
    pub new_bugs: u64,
    pub regressions: u64,
    pub agent_ok: u64,
    pub agent_failed: u64,
    pub agent_other: u64,
    pub merged_by_gate: u64,
    pub merged_by_people: u64,
    pub promotions: u64,
    pub rollbacks: u64,
    pub runbook_resolved: u64,
    pub runbook_other: u64,
    pub agent_usd: f64,
    pub model_usd: f64,
}

/// Daily budgets to set spend against.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Budgets {
    pub agent_usd_per_day: Option<f64>,
    pub model_usd_per_day: Option<f64>,
}

/// Every figure of the window `[since, until)`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Figures {
    pub since: Timestamp,
    pub until: Timestamp,
    pub errors: Errors,
    pub duplicates: Duplicates,
    pub feedback: FeedbackFigures,
    pub issues_by_class: BTreeMap<String, u64>,
    pub agent: Agent,
    pub fixes: Fixes,
    pub canary: Canary,
    pub runbooks: Runbooks,
    pub spend: Spend,
    pub daily: Vec<Day>,
}

impl Figures {
    /// Nothing happened: no error, agent run, merge, canary decision or runbook run.
    pub fn is_quiet(&self) -> bool {
        self.errors.events + self.errors.new_bugs + self.errors.regressions == 0
            && self.agent.runs + self.agent.outcomes.values().sum::<u64>() == 0
            && self.fixes.merged == 0
            && self.canary.decisions.is_empty()
            && self.runbooks.runs == 0
    }
}

/// Money in whole micro-dollars, so sums are exact whatever the order.
fn micros(e: &Entry) -> i64 {
    e.get_f64("usd").filter(|v| v.is_finite()).map_or(0, |v| (v * 1e6).round() as i64)
}

fn bump(map: &mut BTreeMap<String, u64>, key: &str) {
    *map.entry(key.to_string()).or_default() += 1;
}

fn ratio(part: u64, whole: u64) -> Option<f64> {
    (whole > 0).then(|| part as f64 / whole as f64)
}

/// When the issue's first event was seen: `first_seen` on its `issue.created` line,
/// else the time the line was written.
fn first_seen(entries: &[Entry]) -> BTreeMap<u64, Timestamp> {
    entries
        .iter()
        .filter(|e| e.kind == kinds::ISSUE_CREATED)
        .filter_map(|e| {
            let issue = e.data.get("issue")?.as_u64()?;
            let seen = e.get_str("first_seen").and_then(|s| s.parse().ok()).unwrap_or(e.ts);
            Some((issue, seen))
        })
        .collect()
}

/// One `pr.merged` line per pull request. The merge gate records its merges and the job
/// that follows every merge records it too; they run side by side, so both lines may
/// reach the ledger. The first stands, with `gate: true` when either says so and the
/// issue either names.
fn merged_once<'e>(entries: impl Iterator<Item = &'e Entry>) -> Vec<Entry> {
    let mut out: Vec<Entry> = Vec::new();
    let mut first: BTreeMap<String, usize> = BTreeMap::new();
    for e in entries {
        let Some(&i) = first.get(&e.key).filter(|_| e.kind == kinds::PR_MERGED) else {
            if e.kind == kinds::PR_MERGED {
                first.insert(e.key.clone(), out.len());
            }
            out.push(e.clone());
            continue;
        };
        let kept = &mut out[i].data;
        if e.data.get("gate").and_then(serde_json::Value::as_bool) == Some(true) {
            kept.insert("gate".into(), true.into());
        }
        if kept.get("issue").is_none_or(serde_json::Value::is_null)
            && let Some(issue) = e.data.get("issue")
        {
            kept.insert("issue".into(), issue.clone());
        }
    }
    out
}

/// Computes every figure of `[since, until)`. `entries` may hold the whole ledger: the
/// time to fix looks up when a fixed issue's first event was seen, however long ago.
pub fn compute(entries: &[Entry], since: Timestamp, until: Timestamp, budgets: Budgets) -> Figures {
    let in_window = merged_once(entries.iter().filter(|e| e.ts >= since && e.ts < until));
    let window: Vec<&Entry> = in_window.iter().collect();
    let seen = first_seen(entries);
    let days = window_days(since, until);
    let mut f = Figures {
        since,
        until,
        errors: errors(&window),
        duplicates: duplicates(&window),
        feedback: feedback(&window),
        issues_by_class: BTreeMap::new(),
        agent: Agent { runs: 0, outcomes: BTreeMap::new(), requests: 0, success_rate: None },
        fixes: Fixes { merged: 0, by_gate: 0, by_people: 0, time_to_fix: Durations::of(Vec::new()) },
        canary: Canary { promotions: 0, rollbacks: 0, decisions: BTreeMap::new() },
        runbooks: Runbooks { runs: 0, outcomes: BTreeMap::new(), recovery: Durations::of(Vec::new()) },
        spend: Spend { agent_usd: 0.0, model_usd: 0.0, total_usd: 0.0, agent_budget_usd: None, model_budget_usd: None },
        daily: daily(&window, since, until),
    };
    let mut classes: BTreeMap<String, String> = BTreeMap::new();
    let (mut fix_seconds, mut recovery) = (Vec::new(), Vec::new());
    let (mut agent_micros, mut model_micros) = (0i64, 0i64);
    for e in &window {
        let field = |name: &str| e.get_str(name).unwrap_or("unknown");
        match e.kind.as_str() {
            // The last class an issue was given in the window is its class.
            kinds::ISSUE_CLASSIFIED => {
                classes.insert(e.key.clone(), field("class").to_string());
            }
            kinds::AGENT_RUN => {
                f.agent.runs += 1;
                agent_micros += micros(e);
            }
            kinds::AGENT_OUTCOME => bump(&mut f.agent.outcomes, field("outcome")),
            kinds::PR_MERGED => {
                f.fixes.merged += 1;
                if e.data.get("gate").and_then(serde_json::Value::as_bool) == Some(true) {
                    f.fixes.by_gate += 1;
                } else {
                    f.fixes.by_people += 1;
                }
                let issue = e.data.get("issue").and_then(serde_json::Value::as_u64);
                if let Some(start) = issue.and_then(|n| seen.get(&n)) {
                    fix_seconds.push(e.ts.as_second() - start.as_second());
                }
            }
            kinds::CANARY_DECISION => bump(&mut f.canary.decisions, field("decision")),
            kinds::OPS_RUN => {
                f.runbooks.runs += 1;
                bump(&mut f.runbooks.outcomes, field("outcome"));
                if field("outcome") == "resolved" {
                    recovery.extend(e.get_f64("seconds").map(|s| s.round() as i64));
                }
            }
            kinds::LLM_CALL => model_micros += micros(e),
            _ => {}
        }
    }
    for class in classes.values() {
        bump(&mut f.issues_by_class, class);
    }
    let ok: u64 = AGENT_OK.iter().filter_map(|o| f.agent.outcomes.get(*o)).sum();
    f.agent.requests = f.agent.outcomes.values().sum();
    f.agent.success_rate = ratio(ok, f.agent.requests);
    f.fixes.time_to_fix = Durations::of(fix_seconds);
    f.runbooks.recovery = Durations::of(recovery);
    f.canary.promotions = f.canary.decisions.get("promote").copied().unwrap_or(0);
    f.canary.rollbacks = f.canary.decisions.get("rollback").copied().unwrap_or(0);
    f.spend = Spend {
        agent_usd: agent_micros as f64 / 1e6,
        model_usd: model_micros as f64 / 1e6,
        total_usd: (agent_micros + model_micros) as f64 / 1e6,
        agent_budget_usd: budgets.agent_usd_per_day.map(|b| b * days as f64),
        model_budget_usd: budgets.model_usd_per_day.map(|b| b * days as f64),
    };
    f
}

/// Feedback filed (a piece two runs filed at once counts once) and held.
fn feedback(window: &[&Entry]) -> FeedbackFigures {
    let count_of = |kind: &str| window.iter().filter(|e| e.kind == kind).count() as u64;
    FeedbackFigures {
        filed: count_of(kinds::FEEDBACK_FILED).saturating_sub(count_of(kinds::FEEDBACK_FILED_TWICE)),
        held: count_of(kinds::FEEDBACK_HELD),
    }
}

fn errors(window: &[&Entry]) -> Errors {
    let mut x = Errors {
        events: 0,
        new_bugs: 0,
        regressions: 0,
        filed_within_minute: 0,
        filed_of: 0,
        filed_within_minute_share: None,
    };
    for e in window {
        let change = ErrorChange::of(e);
        change.apply(&mut x.events, &mut x.new_bugs, &mut x.regressions);
        if e.kind == kinds::ISSUE_CREATED
            && let Some(first) = e.get_str("first_seen").and_then(|s| s.parse::<Timestamp>().ok())
        {
            x.filed_of += 1;
            if e.ts.as_second() - first.as_second() <= FILED_WITHIN_SECONDS {
                x.filed_within_minute += 1;
            }
        }
    }
    x.filed_within_minute_share = ratio(x.filed_within_minute, x.filed_of);
    x
}

fn duplicates(window: &[&Entry]) -> Duplicates {
    let count = |kind: &str, reaction: Option<&str>| {
        let matches = |e: &&&Entry| e.kind == kind && reaction.is_none_or(|r| e.get_str("reaction") == Some(r));
        window.iter().filter(matches).count() as u64
    };
    let (confirmed, rejected) =
        (count(kinds::CLUSTER_REACTION, Some("confirmed")), count(kinds::CLUSTER_REACTION, Some("rejected")));
    Duplicates {
        linked: count(kinds::CLUSTER_LINKED, None),
        confirmed,
        rejected,
        confirmed_share: ratio(confirmed, confirmed + rejected),
        clusters: clusters(window),
    }
}

/// The links' connected components per repository (each link joins an issue to the
/// duplicates it was linked with), largest first, then by first issue.
fn clusters(window: &[&Entry]) -> Vec<ClusterLine> {
    let mut nodes: BTreeMap<(String, u64), u32> = BTreeMap::new();
    let mut index = |node: (String, u64)| {
        let next = nodes.len() as u32;
        *nodes.entry(node).or_insert(next)
    };
    let (mut pairs, mut titles) = (Vec::new(), Vec::new());
    for e in window.iter().filter(|e| e.kind == kinds::CLUSTER_LINKED) {
        let (Some(repo), Some(issue)) = (e.get_str("repo"), e.data.get("issue").and_then(|v| v.as_u64())) else {
            continue;
        };
        let at = index((repo.to_string(), issue));
        let dups = e.data.get("duplicates").and_then(|v| v.as_array()).cloned().unwrap_or_default();
        pairs.extend(dups.iter().filter_map(|d| d.as_u64()).map(|d| (at, index((repo.to_string(), d)))));
        if let Some(t) = e.get_str("title") {
            titles.push((at, t.to_string()));
        }
    }
    let roots = crate::cluster::engine::components(nodes.len(), &pairs);
    let mut members: BTreeMap<u32, Vec<&(String, u64)>> = BTreeMap::new();
    for (node, &i) in &nodes {
        members.entry(roots[i as usize]).or_default().push(node);
    }
    let mut lines: Vec<ClusterLine> = members
        .into_iter()
        .map(|(root, nodes)| {
            let mut issues: Vec<u64> = nodes.iter().map(|(_, n)| *n).collect();
            issues.sort_unstable();
            // The first link of the cluster in the window names it.
            let title = titles.iter().find(|(i, _)| roots[*i as usize] == root).map(|(_, t)| t.clone());
            ClusterLine { repo: nodes[0].0.clone(), title, reports: issues.len() as u64, issues }
        })
        .collect();
    lines.sort_by(|a, b| b.reports.cmp(&a.reports).then_with(|| (&a.repo, a.issues[0]).cmp(&(&b.repo, b.issues[0]))));
    lines.truncate(CLUSTERS_SHOWN);
    lines
}

/// Whole UTC days the window touches (a budget is per day).
fn window_days(since: Timestamp, until: Timestamp) -> i64 {
    let seconds = (until.as_second() - since.as_second()).max(0);
    (seconds + 86_399) / 86_400
}

/// The window's UTC days, oldest first, each with its counts.
fn daily(window: &[&Entry], since: Timestamp, until: Timestamp) -> Vec<Day> {
    let tz = jiff::tz::TimeZone::UTC;
    let first = since.to_zoned(tz.clone()).date();
    let mut days: BTreeMap<jiff::civil::Date, Day> = BTreeMap::new();
    let mut d = first;
    while d.to_zoned(tz.clone()).map(|z| z.timestamp() < until).unwrap_or(false) {
        days.insert(d, Day { date: d.to_string(), ..Day::default() });
        match d.checked_add(1.day()) {
            Ok(next) => d = next,
            Err(_) => break,
        }
    }
    for e in window {
        let Some(day) = days.get_mut(&e.ts.to_zoned(tz.clone()).date()) else { continue };
        add_to_day(day, e);
    }
    days.into_values().collect()
}

/// What one ledger line changes in the error figures. An error two runs filed at once
/// takes back its second issue and the occurrences that run counted (hs-issue wrote them
/// again on the kept issue, as `issue.seen`, unless that issue had them already).
#[derive(Debug, Default, Clone, Copy)]
struct ErrorChange {
    events: i64,
    new_bugs: i64,
    regressions: i64,
}

impl ErrorChange {
    fn of(e: &Entry) -> Self {
        let n = e.data.get("occurrences").and_then(serde_json::Value::as_i64).unwrap_or(0);
        let (events, new_bugs, regressions) = match e.kind.as_str() {
            kinds::ISSUE_CREATED => (n, 1, 0),
            kinds::ISSUE_REOPENED => (n, 0, 1),
            kinds::ISSUE_SEEN => (n, 0, 0),
            kinds::ISSUE_FILED_TWICE => (-n, -1, 0),
            _ => (0, 0, 0),
        };
        Self { events, new_bugs, regressions }
    }

    fn apply(self, events: &mut u64, new_bugs: &mut u64, regressions: &mut u64) {
        *events = events.saturating_add_signed(self.events);
        *new_bugs = new_bugs.saturating_add_signed(self.new_bugs);
        *regressions = regressions.saturating_add_signed(self.regressions);
    }
}

fn add_to_day(day: &mut Day, e: &Entry) {
    ErrorChange::of(e).apply(&mut day.events, &mut day.new_bugs, &mut day.regressions);
    let outcome = e.get_str("outcome").unwrap_or_default();
    match e.kind.as_str() {
        kinds::AGENT_OUTCOME if AGENT_OK.contains(&outcome) => day.agent_ok += 1,
        kinds::AGENT_OUTCOME if AGENT_FAILED.contains(&outcome) => day.agent_failed += 1,
        kinds::AGENT_OUTCOME => day.agent_other += 1,
        kinds::PR_MERGED if e.data.get("gate").and_then(serde_json::Value::as_bool) == Some(true) => {
            day.merged_by_gate += 1;
        }
        kinds::PR_MERGED => day.merged_by_people += 1,
        kinds::CANARY_DECISION if e.get_str("decision") == Some("rollback") => day.rollbacks += 1,
        kinds::CANARY_DECISION if e.get_str("decision") == Some("promote") => day.promotions += 1,
        kinds::OPS_RUN if outcome == "resolved" => day.runbook_resolved += 1,
        kinds::OPS_RUN => day.runbook_other += 1,
        kinds::AGENT_RUN => day.agent_usd += micros(e) as f64 / 1e6,
        kinds::LLM_CALL => day.model_usd += micros(e) as f64 / 1e6,
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_uses_integer_ranks() {
        let v: Vec<i64> = (1..=10).collect();
        assert_eq!(nearest_rank(&v, 90), Some(9), "0.9·10 is rank 9, not 10 by float drift");
        assert_eq!(nearest_rank(&v, 50), Some(5));
        assert_eq!(nearest_rank(&[7], 90), Some(7));
        assert_eq!(nearest_rank(&[], 50), None);
    }

    #[test]
    fn a_merge_recorded_by_the_gate_and_by_the_merged_job_counts_once_for_the_gate() {
        let t = Timestamp::from_second(1_800_000_000).unwrap();
        let line = |kind: &str, key: &str, data: serde_json::Value| Entry {
            ts: t,
            kind: kind.into(),
            key: key.into(),
            id: String::new(),
            data: data.as_object().cloned().unwrap_or_default(),
        };
        let entries = vec![
            line(kinds::PR_MERGED, "7", serde_json::json!({"issue": 3})),
            line(kinds::PR_MERGED, "7", serde_json::json!({"issue": null, "gate": true})),
            line(kinds::PR_MERGED, "8", serde_json::json!({"issue": 4})),
        ];
        let f = compute(&entries, t, t + jiff::SignedDuration::from_hours(1), Budgets::default());
        assert_eq!((f.fixes.merged, f.fixes.by_gate, f.fixes.by_people), (2, 1, 1));
        let once = merged_once(entries.iter());
        assert_eq!(once[0].data.get("issue"), Some(&serde_json::json!(3)));
    }

    #[test]
    fn an_error_or_feedback_filed_twice_at_once_counts_once() {
        let t = Timestamp::from_second(1_800_000_000).unwrap();
        let line = |kind: &str, data: serde_json::Value| Entry {
            ts: t,
            kind: kind.into(),
            key: "eeeeeeeeeeeeeeee".into(),
            id: String::new(),
            data: data.as_object().cloned().unwrap_or_default(),
        };
        // Run A filed #1 with 3; run B filed #2 with 2, then closed it and counted on #1.
        let entries = vec![
            line(kinds::ISSUE_CREATED, serde_json::json!({"issue": 1, "occurrences": 3})),
            line(kinds::ISSUE_CREATED, serde_json::json!({"issue": 2, "occurrences": 2})),
            line(kinds::ISSUE_SEEN, serde_json::json!({"issue": 1, "occurrences": 2})),
            line(kinds::ISSUE_FILED_TWICE, serde_json::json!({"issue": 2, "kept": 1, "occurrences": 2})),
            line(kinds::FEEDBACK_FILED, serde_json::json!({"issue": 3})),
            line(kinds::FEEDBACK_FILED, serde_json::json!({"issue": 4})),
            line(kinds::FEEDBACK_FILED_TWICE, serde_json::json!({"issue": 4, "kept": 3})),
        ];
        let f = compute(&entries, t, t + jiff::SignedDuration::from_hours(1), Budgets::default());
        assert_eq!((f.errors.new_bugs, f.errors.events), (1, 5));
        let day: (u64, u64) =
            f.daily.iter().map(|d| (d.new_bugs, d.events)).fold((0, 0), |a, d| (a.0 + d.0, a.1 + d.1));
        assert_eq!(day, (1, 5), "the daily series counts it once too");
        assert_eq!(f.feedback.filed, 1, "a piece filed twice at once is one piece");
    }

    #[test]
    fn window_days_round_up() {
        let t = Timestamp::from_second(1_800_000_000).unwrap();
        assert_eq!(window_days(t, t + jiff::SignedDuration::from_hours(25)), 2);
        assert_eq!(window_days(t, t + jiff::SignedDuration::from_hours(24)), 1);
    }
}
