//! What happens after the decision: `on_rollback` / `on_promote` run a command, or open
//! a revert pull request for a merge commit. The revert commit is built with git2 on
//! the checkout's HEAD and pushed with the `git` command to `origin` (in Actions the
//! checkout already holds the credentials; homeostat writes no token to disk). The issue
//! the reverted change fixed is reopened with the label `homeostat:regressed`.

use std::path::Path;
use std::time::Duration as StdDuration;

use serde::Serialize;

use super::config::{ActionConfig, CommandLine};
use super::watch::{Decision, Report};
use crate::error::{Error, Result};
use crate::forge::{Forge, IssueUpdate, NewPull, State, StateFilter, limits};
use crate::markers::Marker;

/// The label put on an issue whose fix was rolled back.
pub const REGRESSED_LABEL: &str = "homeostat:regressed";
/// The identity of revert commits.
pub const BOT_NAME: &str = "homeostat[bot]";
pub const BOT_EMAIL: &str = "homeostat[bot]@users.noreply.github.com";

/// What an action did.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ActionOutcome {
    /// `run` or `revert`.
    pub kind: &'static str,
    /// `on_rollback` or `on_promote`.
    pub on: &'static str,
    pub ok: bool,
    pub detail: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exit_code: Option<i32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub branch: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pr: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub issue: Option<u64>,
}

/// Where an action runs and what it may touch.
pub struct ActionContext<'a> {
    /// The checkout (commands run here; the revert is built here).
    pub repo_dir: &'a Path,
    /// The forge for revert PRs; `None` when no revert is configured.
    pub forge: Option<&'a dyn Forge>,
    /// The JSON report file, handed to commands as `HOMEOSTAT_CANARY_REPORT`.
    pub report_file: Option<&'a Path>,
    pub dry_run: bool,
}

/// Runs the action the decision calls for (nothing for inconclusive).
pub async fn act(
    rollback: Option<&ActionConfig>,
    promote: Option<&ActionConfig>,
    report: &Report,
    ctx: &ActionContext<'_>,
) -> Result<Option<ActionOutcome>> {
    let (on, action) = match report.decision {
        Decision::Rollback => ("on_rollback", rollback),
        Decision::Promote => ("on_promote", promote),
        Decision::Inconclusive => return Ok(None),
    };
    let Some(action) = action else { return Ok(None) };
    if let Some(run) = &action.run {
        return Ok(Some(run_command(on, run, action.timeout.as_std(), report, ctx).await));
    }
    if let Some(rev) = &action.revert {
        let forge =
            ctx.forge.ok_or_else(|| Error::Failed("a revert action needs a forge (--forge github|local)".into()))?;
        return revert(on, rev, action.issue, action.base.as_deref(), report, forge, ctx).await.map(Some);
    }
    Ok(None)
}

async fn run_command(
    on: &'static str,
    run: &CommandLine,
    timeout: StdDuration,
    report: &Report,
    ctx: &ActionContext<'_>,
) -> ActionOutcome {
    let shown = match run {
        CommandLine::Shell(s) => s.clone(),
        CommandLine::Args(a) => a.join(" "),
    };
    let mut outcome = ActionOutcome {
        kind: "run",
        on,
        ok: false,
        detail: shown.clone(),
        exit_code: None,
        branch: None,
        pr: None,
        issue: None,
    };
    if ctx.dry_run {
        eprintln!("{}", serde_json::json!({"dry_run": "run", "command": shown}));
        outcome.ok = true;
        outcome.detail = format!("dry run: would run {shown}");
        return outcome;
    }
    let Some(mut cmd) = super::source::build_command(run, ctx.repo_dir) else {
        outcome.detail = "empty command".into();
        return outcome;
    };
    // The decision reaches the command as data in its environment, never in its text.
    cmd.env("HOMEOSTAT_CANARY_DECISION", report.decision.as_str()).env("HOMEOSTAT_CANARY_REASON", &report.reason);
    if let Some(file) = ctx.report_file {
        cmd.env("HOMEOSTAT_CANARY_REPORT", file);
    }
    cmd.stdin(std::process::Stdio::null());
    tracing::info!(command = %shown, "{on}");
    match tokio::time::timeout(timeout, cmd.status()).await {
        Err(_) => outcome.detail = format!("{shown}: timed out after {}s", timeout.as_secs()),
        Ok(Err(e)) => outcome.detail = format!("{shown}: could not start: {e}"),
        Ok(Ok(status)) => {
            outcome.exit_code = status.code();
            outcome.ok = status.success();
            outcome.detail = format!("{shown}: {status}");
        }
    }
    outcome
}

/// Opens (or finds) the revert PR for `rev`, and reopens the issue it fixed.
pub async fn revert(
    on: &'static str,
    rev: &str,
    issue: Option<u64>,
    base: Option<&str>,
    report: &Report,
    forge: &dyn Forge,
    ctx: &ActionContext<'_>,
) -> Result<ActionOutcome> {
    let built = build_revert(ctx.repo_dir, rev, report, !ctx.dry_run)?;
    let mut outcome = ActionOutcome {
        kind: "revert",
        on,
        ok: false,
        detail: String::new(),
        exit_code: None,
        branch: Some(built.branch.clone()),
        pr: None,
        issue: None,
    };
    let issue = match issue {
        Some(n) => Some(n),
        None => find_fixed_issue(&built.message, forge).await,
    };
    outcome.issue = issue;
    let existing = forge.list_pulls(StateFilter::Open).await?.into_iter().find(|p| p.head == built.branch);
    let pr = match existing {
        Some(pr) => {
            outcome.detail = format!("revert PR #{} is already open", pr.number);
            pr
        }
        None => {
            if ctx.dry_run {
                eprintln!("{}", serde_json::json!({"dry_run": "git push", "branch": built.branch}));
            } else {
                push(ctx.repo_dir, &built.branch)?;
            }
            let base = match base {
                Some(b) => b.to_string(),
                None => forge.default_branch().await?,
            };
            let body = pr_body(&built, report, issue);
            let pr = forge
                .create_pull(&NewPull {
                    title: limits::truncate_chars(&built.title, limits::TITLE_MAX_CHARS),
                    body: crate::markers::body(&body, std::slice::from_ref(&built.marker)),
                    head: built.branch.clone(),
                    base,
                    draft: false,
                })
                .await?;
            outcome.detail = format!("opened revert PR #{} for {}", pr.number, built.sha);
            pr
        }
    };
    outcome.pr = Some(pr.number);
    if let Some(n) = issue {
        forge.update_issue(n, &IssueUpdate { state: Some(State::Open), ..Default::default() }).await?;
        forge.add_labels(n, &[REGRESSED_LABEL.to_string()]).await?;
        let marker = Marker::CanaryRevert(built.sha.clone());
        let body = format!(
            "The canary watch rolled back the release with this fix: {}.\n\nRevert pull request: #{} (reverts {}).\n",
            report.reason, pr.number, built.sha
        );
        crate::forge::upsert_comment(forge, n, &marker, &body).await?;
    }
    outcome.ok = true;
    Ok(outcome)
}

/// A revert commit on its own branch, not yet pushed.
#[derive(Debug, Clone)]
pub struct BuiltRevert {
    pub sha: String,
    pub branch: String,
    pub title: String,
    /// The reverted commit's message (to find the issue it fixed).
    pub message: String,
    pub marker: Marker,
}

/// Reverts `rev` on HEAD with git2 (mainline 1 for a merge) and points
/// `homeostat/revert-<sha12>` at the new commit. With `write` false (dry run) it only
/// checks that the revert applies cleanly.
pub fn build_revert(repo_dir: &Path, rev: &str, report: &Report, write: bool) -> Result<BuiltRevert> {
    let repo = git2::Repository::discover(repo_dir)?;
    let target = repo
        .revparse_single(rev)
        .and_then(|o| o.peel_to_commit())
        .map_err(|e| Error::Git(format!("cannot find commit `{rev}` to revert: {}", e.message())))?;
    let head = repo.head()?.peel_to_commit()?;
    let mainline = if target.parent_count() > 1 { 1 } else { 0 };
    let mut index = repo.revert_commit(&target, &head, mainline, None)?;
    let sha = target.id().to_string();
    if index.has_conflicts() {
        return Err(Error::Git(format!("reverting {sha} on HEAD conflicts; revert it by hand")));
    }
    let subject = target.summary().into_iter().flatten().next().unwrap_or("the release").to_string();
    let title = format!("Revert \"{subject}\"");
    let message =
        format!("{title}\n\nThis reverts commit {sha}.\n\nThe canary watch rolled it back: {}\n", report.reason);
    let branch = format!("homeostat/revert-{}", &sha[..12.min(sha.len())]);
    if write {
        let tree = repo.find_tree(index.write_tree_to(&repo)?)?;
        let sig = git2::Signature::now(BOT_NAME, BOT_EMAIL)?;
        let commit = repo.commit(None, &sig, &sig, &message, &tree, &[&head])?;
        repo.reference(&format!("refs/heads/{branch}"), commit, true, "homeostat: canary revert")?;
    }
    Ok(BuiltRevert {
        marker: Marker::Revert(sha.clone()),
        sha,
        branch,
        title,
        message: target.message().unwrap_or_default().to_string(),
    })
}

/// Pushes `branch` to `origin` (the job's token reaches git through its environment only).
fn push(repo_dir: &Path, branch: &str) -> Result<()> {
    let env = crate::gha::Env::from_process();
    crate::git::push(repo_dir, &env, "origin", &format!("refs/heads/{branch}"), branch, true)
}

fn pr_body(built: &BuiltRevert, report: &Report, issue: Option<u64>) -> String {
    let mut body = format!(
        "The canary watch decided **{}**: {}\n\nThis reverts commit {}.\n",
        report.decision.as_str(),
        report.reason,
        built.sha
    );
    if let Some(n) = issue {
        body.push_str(&format!("\nRefs #{n} (reopened as `{REGRESSED_LABEL}`).\n"));
    }
    body.push('\n');
    body.push_str(&super::chart::measurements_table(report));
    body
}

/// The issue a commit fixed: `Fixes #N` (and the other closing keywords) or a homeostat
/// marker in its message; else the same in the body of the pull request it merged.
pub async fn find_fixed_issue(message: &str, forge: &dyn Forge) -> Option<u64> {
    if let Some(n) = closing_reference(message) {
        return Some(n);
    }
    let pr = merged_pull_number(message)?;
    match forge.get_pull(pr).await {
        Ok(pull) => closing_reference(&pull.body),
        Err(e) => {
            tracing::warn!("could not read pull request #{pr} to find the issue it fixed: {e}");
            None
        }
    }
}

/// `Fixes #12`, `closes: #12`, `Resolved #12`, or the issue marker in the trailer.
pub fn closing_reference(text: &str) -> Option<u64> {
    let re = regex::Regex::new(r"(?i)\b(?:close[sd]?|fix(?:e[sd])?|resolve[sd]?)\s*:?\s+#(\d+)\b").ok()?;
    let from_text = re.captures(text).and_then(|caps| caps.get(1)).and_then(|m| m.as_str().parse().ok());
    from_text.or_else(|| {
        crate::markers::find(text, |m| match m {
            Marker::Issue(n) => Some(n),
            _ => None,
        })
    })
}

/// `Merge pull request #12 from …` or a squash subject ending in `(#12)`.
pub fn merged_pull_number(message: &str) -> Option<u64> {
    let subject = message.lines().next().unwrap_or("");
    let re = regex::Regex::new(r"^Merge pull request #(\d+)\b|\(#(\d+)\)\s*$").ok()?;
    let caps = re.captures(subject)?;
    caps.get(1).or_else(|| caps.get(2)).and_then(|m| m.as_str().parse().ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn closing_references() {
        assert_eq!(closing_reference("Fix crash\n\nFixes #12"), Some(12));
        assert_eq!(closing_reference("closes: #7 and more"), Some(7));
        assert_eq!(closing_reference("body\n<!-- homeostat:issue=41 -->"), Some(41));
        assert_eq!(closing_reference("see #12"), None);
        assert_eq!(merged_pull_number("Merge pull request #5 from o/homeostat/fix-3\n\nx"), Some(5));
        assert_eq!(merged_pull_number("Fix the popup (#9)"), Some(9));
        assert_eq!(merged_pull_number("Fix the popup"), None);
    }
}
