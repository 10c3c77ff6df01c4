//! The living report: one issue, found by its hidden trailer and updated in place each
//! day (quiet days leave it alone), with the same markdown in the step summary. Charts
//! are Mermaid, which GitHub draws in issues and step summaries alike: nothing points at
//! a file on the runner.

use serde_json::{Value, json};

use super::figures::Figures;
use super::site::{Format, format};
use crate::forge::{Forge, ForgeResult, Issue, IssueUpdate, NewIssue, State, StateFilter};
use crate::markers::{self, Marker, tag};

/// The label of the living report issue.
pub const LABEL: &str = "homeostat:report";
/// Days the issue's charts cover.
pub const CHART_DAYS: usize = 30;

/// The figures in words, for templates.
fn words(f: &Figures) -> Value {
    let v = |x: Value, fmt: Format| format(&x, fmt);
    json!({
        "events": v(json!(f.errors.events), Format::Count),
        "new_bugs": v(json!(f.errors.new_bugs), Format::Count),
        "regressions": v(json!(f.errors.regressions), Format::Count),
        "filed_share": v(json!(f.errors.filed_within_minute_share), Format::Percent),
        "dup_linked": v(json!(f.duplicates.linked), Format::Count),
        "dup_confirmed": v(json!(f.duplicates.confirmed_share), Format::Percent),
        "feedback_filed": v(json!(f.feedback.filed), Format::Count),
        "feedback_held": v(json!(f.feedback.held), Format::Count),
        "agent_runs": v(json!(f.agent.runs), Format::Count),
        "agent_requests": v(json!(f.agent.requests), Format::Count),
        "agent_success": v(json!(f.agent.success_rate), Format::Percent),
        "fix_median": v(json!(f.fixes.time_to_fix.median_seconds), Format::Duration),
        "fix_p90": v(json!(f.fixes.time_to_fix.p90_seconds), Format::Duration),
        "by_gate": f.fixes.by_gate, "by_people": f.fixes.by_people,
        "promotions": f.canary.promotions, "rollbacks": f.canary.rollbacks,
        "runbook_runs": f.runbooks.runs,
        "recovery_median": v(json!(f.runbooks.recovery.median_seconds), Format::Duration),
        "agent_usd": v(json!(f.spend.agent_usd), Format::Usd),
        "model_usd": v(json!(f.spend.model_usd), Format::Usd),
        "agent_budget": v(json!(f.spend.agent_budget_usd), Format::Usd),
        "model_budget": v(json!(f.spend.model_budget_usd), Format::Usd),
        "classes": f.issues_by_class.iter().map(|(k, n)| json!([k, n])).collect::<Vec<_>>(),
        "clusters": f.duplicates.clusters.iter().take(CLUSTERS_LISTED).map(cluster_words).collect::<Vec<_>>(),
    })
}

/// Clusters the living report lists (the figures keep more).
const CLUSTERS_LISTED: usize = 5;
/// Issues named per cluster; the rest are counted.
const ISSUES_NAMED: usize = 8;

/// One cluster as a line: its title, its count, its first issues as `owner/name#n`.
fn cluster_words(c: &super::figures::ClusterLine) -> Value {
    let mut issues: Vec<String> = c.issues.iter().take(ISSUES_NAMED).map(|n| format!("{}#{n}", c.repo)).collect();
    if c.issues.len() > ISSUES_NAMED {
        issues.push(format!("and {} more", c.issues.len() - ISSUES_NAMED));
    }
    json!({"title": c.title.as_deref().unwrap_or("(untitled)"), "reports": c.reports, "issues": issues.join(", ")})
}

/// The last days' series as Mermaid arrays.
fn mermaid_series(f: &Figures) -> Value {
    let days = &f.daily[f.daily.len().saturating_sub(CHART_DAYS)..];
    let list = |get: &dyn Fn(&super::figures::Day) -> u64| {
        format!("[{}]", days.iter().map(|d| get(d).to_string()).collect::<Vec<_>>().join(", "))
    };
    let max = |get: &dyn Fn(&super::figures::Day) -> u64| days.iter().map(get).max().unwrap_or(0).max(1);
    let labels: Vec<String> = days.iter().map(|d| format!("\"{}\"", d.date.get(5..).unwrap_or_default())).collect();
    json!({
        "labels": format!("[{}]", labels.join(", ")),
        "bugs": list(&|d| d.new_bugs),
        "fixes": list(&|d| d.merged_by_gate + d.merged_by_people),
        "rollbacks": list(&|d| d.rollbacks),
        "runbooks": list(&|d| d.runbook_resolved + d.runbook_other),
        "top": max(&|d| d.new_bugs).max(max(&|d| d.merged_by_gate + d.merged_by_people)),
        "top2": max(&|d| d.rollbacks).max(max(&|d| d.runbook_resolved + d.runbook_other)),
    })
}

/// The report's markdown (issue body without the marker, and step summary).
pub fn markdown(
    prompts: &crate::prompt::Prompts,
    window: &Figures,
    day_line: &str,
    site_url: Option<&str>,
    mermaid: bool,
) -> crate::Result<String> {
    let context = json!({
        "since": window.since.strftime("%Y-%m-%d").to_string(),
        "until": window.until.strftime("%Y-%m-%d %H:%M UTC").to_string(),
        "days": window.daily.len(), "t": words(window), "day_line": day_line, "site_url": site_url,
        "mermaid": mermaid && !window.daily.is_empty(), "chart": mermaid_series(window),
    });
    prompts.render("report-issue.md.j2", &context)
}

/// Whether `issue` carries the living report's trailer (whether homeostat wrote it is
/// asked of the forge: [`upsert_marked`]).
pub fn is_report(issue: &Issue) -> bool {
    markers::has(&issue.body, &Marker::tag(tag::REPORT))
}

/// Updates the living report issue in place (reopening it if someone closed it), or
/// opens it. Returns the issue and whether it was created.
pub async fn upsert(forge: &dyn Forge, title: &str, body: &str) -> ForgeResult<(Issue, bool)> {
    upsert_marked(forge, LABEL, &Marker::tag(tag::REPORT), title, body, true).await
}

/// One issue per `marker` under `label`, kept up to date (the ops daily report uses it
/// with its own marker). With `pin`, a newly opened one is pinned, once: a maintainer who
/// unpins it is not overruled, and a failed pin (GitHub keeps three) is only a warning.
pub async fn upsert_marked(
    forge: &dyn Forge,
    label: &str,
    marker: &Marker,
    title: &str,
    body: &str,
    pin: bool,
) -> ForgeResult<(Issue, bool)> {
    let body = markers::body(body, std::slice::from_ref(marker));
    let mut marked: Vec<Issue> = forge
        .list_issues(label, StateFilter::All)
        .await?
        .into_iter()
        .filter(|i| markers::has(&i.body, marker))
        .collect();
    // The oldest one homeostat wrote is the report: it is the one people pinned. An issue
    // template can give a stranger's issue the label (and a copy of the trailer).
    marked.sort_by_key(|i| i.number);
    match crate::forge::first_own(forge, marked).await? {
        Some(issue) if issue.body == body && issue.state == State::Open => Ok((issue, false)),
        Some(issue) => {
            let update = IssueUpdate {
                title: Some(title.to_string()),
                body: Some(body),
                state: (issue.state == State::Closed).then_some(State::Open),
                labels: None,
            };
            Ok((forge.update_issue(issue.number, &update).await?, false))
        }
        None => {
            let new = NewIssue { title: title.to_string(), body, labels: vec![label.to_string()] };
            let issue = forge.create_issue(&new).await?;
            if pin && let Err(e) = forge.pin_issue(issue.number).await {
                tracing::warn!("could not pin #{}: {e}", issue.number);
            }
            Ok((issue, true))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ledger::Entry;
    use crate::report::figures::{Budgets, compute};
    use crate::report::kinds;
    use jiff::Timestamp;

    #[test]
    fn a_problem_reported_three_times_is_one_line_with_its_count_and_its_title_stays_text() {
        let t = Timestamp::from_second(1_800_000_000).unwrap();
        let link = |repo: &str, issue: u64, dups: &[u64], title: &str| Entry {
            ts: t,
            kind: kinds::CLUSTER_LINKED.into(),
            key: format!("{repo}#{issue}"),
            id: String::new(),
            data: json!({"repo": repo, "issue": issue, "duplicates": dups, "title": title})
                .as_object()
                .cloned()
                .unwrap_or_default(),
        };
        let hostile = "Export fails <img src=x onerror=alert(1)> @everyone **now**";
        let entries = vec![
            link("o/app", 15, &[12], hostile),
            link("o/app", 30, &[12, 15], hostile),
            link("o/lib", 4, &[2], "Crash on start"),
            // Another repository's #12 is another issue.
            link("o/lib", 12, &[9], "Slow sync"),
        ];
        let f = compute(&entries, t, t + jiff::SignedDuration::from_hours(1), Budgets::default());
        let sizes: Vec<(&str, u64)> = f.duplicates.clusters.iter().map(|c| (c.repo.as_str(), c.reports)).collect();
        assert_eq!(sizes, [("o/app", 3), ("o/lib", 2), ("o/lib", 2)]);
        assert_eq!(f.duplicates.clusters[0].issues, [12, 15, 30]);
        let prompts = crate::prompt::Prompts::builtin().unwrap();
        let text = markdown(&prompts, &f, "", None, false).unwrap();
        let line = text.lines().find(|l| l.contains("3 reports")).unwrap_or_else(|| panic!("{text}"));
        assert!(line.ends_with("— 3 reports: o/app#12, o/app#15, o/app#30"), "{line}");
        // Shown as typed: no HTML, no mention, no emphasis.
        assert!(line.contains("\\<img") && !line.contains("@everyone") && line.contains("\\*\\*now\\*\\*"), "{line}");
    }
}
