//! The merge gate's I/O: gathers the facts [`super::gate::decide`] needs — the pull
//! request from the forge, the config and policy from the default branch's commit, the
//! guard's verdict on the PR's git objects (never running its code), the issue's error
//! class, the required checks — and merges only when the gate says so.

use std::path::Path;

use serde::Serialize;

use super::gate::{self, GateDecision};
use super::{Decision, run};
use crate::error::{Error, Result};
use crate::forge::Forge;
use crate::gha::Env;
use crate::git::Checkout;
use crate::policy::Class;

/// What `hs-guard --merge-gate` was asked.
#[derive(Debug, Clone)]
pub struct GateRequest<'a> {
    pub repo_dir: &'a Path,
    pub pr: u64,
    /// Merge when the gate admits the PR (else only judge).
    pub merge: bool,
}

/// What it found and did.
#[derive(Debug, Clone, Serialize)]
pub struct GateReport {
    #[serde(flatten)]
    pub decision: GateDecision,
    pub verdict: Decision,
    pub change_class: Class,
    pub error_class: Option<Class>,
    pub checks: gate::RequiredChecks,
    /// The commit the config and policy were read from (the default branch's head).
    pub trusted: String,
    pub merged: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub merge_sha: Option<String>,
    /// The homeostat issue the pull request fixes (from its body's marker).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub issue: Option<u64>,
}

/// Judges pull request `req.pr` and merges it when every condition holds.
pub async fn run_gate(forge: &dyn Forge, env: &Env, req: &GateRequest<'_>) -> Result<GateReport> {
    let pr = forge.get_pull(req.pr).await?;
    let mut checkout = Checkout::new(req.repo_dir);
    if let Some(token) = env.token() {
        let server = env.get(crate::gha::vars::GITHUB_SERVER_URL).unwrap_or("https://github.com");
        checkout = checkout.with_token(server, token);
    }
    let default_branch = forge.default_branch().await?;
    let trusted_head = checkout.fetch(&default_branch)?.to_string();
    let repo = crate::diff::open(req.repo_dir)?;
    let trusted = super::trusted::load_at(&repo, &trusted_head)?;
    let issue = homeostat_core::markers::issue_of(&pr.body);
    let repo_name = forge.repo();
    let bots = trusted.config.agents.clone().unwrap_or_default().bot.logins();
    // A PR that is not ours is refused before any of its objects are fetched.
    if let Some(why) = issue
        .and_then(|n| gate::not_ours(&pr, &repo_name, n, &bots))
        .or_else(|| issue.is_none().then(|| format!("#{} names no homeostat issue", pr.number)))
    {
        return Ok(refused(pr.number, why, trusted_head, issue));
    }
    let head = checkout.fetch(&pr.head)?.to_string();
    if !pr.head_sha.is_empty() && pr.head_sha != head {
        return Err(Error::Failed(format!(
            "#{}: the branch {} is at {head}, the pull request at {}; judge again after the push settles",
            pr.number, pr.head, pr.head_sha
        )));
    }
    let judged = run::Request { repo_dir: req.repo_dir, base: &trusted_head, head: &head, skip_external: true };
    let scrubber = crate::scrub::config_scrubber(&trusted.config)?;
    let verdict = run::evaluate(&judged, &trusted.policy, &Default::default(), &scrubber)?;
    let touches_trusted: Vec<String> =
        verdict.files.iter().filter(|f| trusted.files.contains(&f.path)).map(|f| f.path.clone()).collect();
    let error_class = match issue {
        Some(n) => {
            let facts = crate::policy::issue::facts_from_issue(&forge.get_issue(n).await?);
            Some(trusted.policy.classify_error(&facts).class)
        }
        None => None,
    };
    let checks = forge.required_checks(&pr.base, &head).await?;
    let facts = gate::Facts {
        pr: &pr,
        repo: &repo_name,
        bot_logins: &bots,
        issue,
        error_class,
        class_may_merge: error_class.is_some_and(|c| trusted.policy.may_auto_merge(c)),
        verdict: verdict.verdict,
        touches_trusted,
        checks: checks.clone(),
    };
    let decision = gate::decide(&facts);
    let mut report = GateReport {
        decision,
        verdict: verdict.verdict,
        change_class: verdict.class,
        error_class,
        checks,
        trusted: trusted_head,
        merged: false,
        merge_sha: None,
        issue,
    };
    if report.decision.merge && req.merge {
        if pr.draft {
            forge.mark_ready(pr.number).await?;
        }
        report.merge_sha = Some(forge.merge_pull(pr.number, &head).await?);
        report.merged = !forge.is_dry_run();
    }
    Ok(report)
}

/// The report on a pull request refused before it was judged (not ours, or no issue).
fn refused(pr: u64, why: String, trusted_head: String, issue: Option<u64>) -> GateReport {
    let decision = GateDecision { pr, merge: false, wait: false, refusals: vec![why] };
    GateReport {
        decision,
        verdict: Decision::Blocked,
        change_class: Class::Unknown,
        error_class: None,
        checks: gate::RequiredChecks::Pending { waiting: Vec::new() },
        trusted: trusted_head,
        merged: false,
        merge_sha: None,
        issue,
    }
}

/// Which pull requests to judge: one, or every open one on a `homeostat/fix-*` branch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    One(u64),
    All,
}

impl std::str::FromStr for Target {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        match s.trim().trim_start_matches('#') {
            "all" => Ok(Self::All),
            n => n.parse().map(Self::One).map_err(|_| format!("`{s}` is neither a pull request number nor `all`")),
        }
    }
}

/// Runs the gate on the target pull requests, one after another (a merge moves the
/// default branch, so each judgement reads it afresh).
pub async fn run_gates(
    forge: &dyn Forge,
    env: &Env,
    repo_dir: &Path,
    target: Target,
    merge: bool,
) -> Result<Vec<GateReport>> {
    let numbers = match target {
        Target::One(n) => vec![n],
        Target::All => forge
            .list_pulls(crate::forge::StateFilter::Open)
            .await?
            .into_iter()
            .filter(|p| p.head.starts_with(gate::FIX_BRANCH_PREFIX))
            .map(|p| p.number)
            .collect(),
    };
    let mut reports = Vec::new();
    for pr in numbers {
        reports.push(run_gate(forge, env, &GateRequest { repo_dir, pr, merge }).await?);
    }
    Ok(reports)
}

/// Records each pull request the gate merged (`pr.merged` with `gate: true`), once per
/// pull request, so the report tells the gate's merges from people's.
pub fn record_merges(ledger: &crate::ledger::Ledger, reports: &[GateReport]) -> Result<()> {
    let kind = crate::ledger::kinds::PR_MERGED;
    for r in reports.iter().filter(|r| r.merged) {
        let key = r.decision.pr.to_string();
        if ledger.last(kind, &key)?.is_none() {
            ledger.append(kind, &key, serde_json::json!({"issue": r.issue, "gate": true, "sha": r.merge_sha}))?;
        }
    }
    Ok(())
}

/// The reports as step outputs: `merged` (true when any merged), `merged_prs`,
/// `merge_sha` (the last merge commit: the release the canary watches), `result`.
pub fn write_actions(actions: &crate::gha::Actions, reports: &[GateReport]) -> Result<()> {
    let merged: Vec<String> = reports.iter().filter(|r| r.merged).map(|r| r.decision.pr.to_string()).collect();
    actions.set_output("merged", if merged.is_empty() { "false" } else { "true" })?;
    actions.set_output("merged_prs", &merged.join(" "))?;
    let sha = reports.iter().rev().find_map(|r| r.merge_sha.as_deref().filter(|_| r.merged)).unwrap_or("");
    actions.set_output("merge_sha", sha)?;
    let json = serde_json::to_string(reports).map_err(|e| Error::Failed(e.to_string()))?;
    actions.set_output("result", &json)?;
    let mut md = String::from("### homeostat merge gate\n\n");
    if reports.is_empty() {
        md.push_str("No pull request of homeostat's is open.\n");
    }
    for r in reports {
        let outcome = match (r.merged, r.decision.merge, r.decision.wait) {
            (true, _, _) => "merged".to_string(),
            (false, true, _) => "may merge".to_string(),
            (false, false, true) => format!("waiting: {}", r.decision.refusals.join("; ")),
            (false, false, false) => format!("not merged: {}", r.decision.refusals.join("; ")),
        };
        md.push_str(&format!("- #{}: {}\n", r.decision.pr, crate::gha::escape_data(&outcome)));
    }
    actions.append_summary(&md)
}
