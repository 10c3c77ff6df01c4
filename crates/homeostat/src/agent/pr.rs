//! The one pull request per issue: found by its hidden marker, opened as a draft or
//! updated, labelled, and finally re-read from the forge to prove it exists.

use crate::error::{Error, Result};
use crate::forge::{Forge, ForgeError, IssueUpdate, NewPull, PullRequest, PullUpdate, State, StateFilter, limits};
use crate::markers::{self, Marker};
use crate::policy::{CHANGE_CLASS_LABEL_PREFIX, Class, NEEDS_HUMAN_REVIEW_LABEL};

use super::git::Checkout;

/// Label on every pull request the agent proposes.
pub const AI_LABEL: &str = "homeostat:ai-proposed";
/// Label when the guard asks for a person's review.
pub const REVIEW_LABEL: &str = NEEDS_HUMAN_REVIEW_LABEL;

/// The hidden marker that ties a pull request to its issue.
pub fn marker(issue: u64) -> String {
    Marker::Issue(issue).render()
}

pub use homeostat_core::markers::issue_of;

/// The open pull request homeostat opened for the issue: it carries the marker, and its
/// author, head branch and head repository are homeostat's own. Anyone can copy a marker
/// and a branch name into a fork's PR; such a PR is never adopted, rewritten or labelled.
pub async fn find_open(forge: &dyn Forge, issue: u64, bot_logins: &[String]) -> Result<Option<PullRequest>> {
    let repo = forge.repo();
    let mut found = None;
    for pr in forge.list_pulls(StateFilter::Open).await?.into_iter().filter(|p| issue_of(&p.body) == Some(issue)) {
        match crate::guard::gate::not_ours(&pr, &repo, issue, bot_logins) {
            None => found = found.or(Some(pr)),
            Some(why) => tracing::warn!("not adopting a pull request that carries the marker of #{issue}: {why}"),
        }
    }
    Ok(found)
}

/// Opens a draft pull request, or updates `existing`. Returns it and whether it is new.
pub async fn open_or_update(
    forge: &dyn Forge,
    existing: Option<&PullRequest>,
    title: &str,
    body: &str,
    branch: &str,
    base: &str,
    issue: u64,
) -> Result<(PullRequest, bool)> {
    let title = limits::truncate_chars(title, limits::TITLE_MAX_CHARS);
    let body = markers::body(body, &[Marker::Issue(issue)]);
    match existing {
        Some(pr) => {
            let update = PullUpdate { title: Some(title), body: Some(body), state: None };
            Ok((forge.update_pull(pr.number, &update).await?, false))
        }
        None => {
            let new = NewPull { title, body, head: branch.to_string(), base: base.to_string(), draft: true };
            Ok((forge.create_pull(&new).await?, true))
        }
    }
}

/// Puts the pull request's labels in step with the verdict, and moves the issue to review.
pub async fn label(forge: &dyn Forge, pr: &PullRequest, issue: u64, class: Class, human_review: bool) -> Result<()> {
    let class_label = class.label();
    for stale in pr.labels.iter().filter(|l| l.starts_with(CHANGE_CLASS_LABEL_PREFIX) && **l != class_label) {
        ignore_missing(forge.remove_label(pr.number, stale).await)?;
    }
    if !human_review && pr.has_label(REVIEW_LABEL) {
        ignore_missing(forge.remove_label(pr.number, REVIEW_LABEL).await)?;
    }
    let mut labels = vec![AI_LABEL.to_string(), limits::label(&class_label)];
    if human_review {
        labels.push(REVIEW_LABEL.into());
    }
    forge.add_labels(pr.number, &labels).await?;
    crate::policy::board::move_to(forge, issue, crate::policy::board::Stage::Review).await?;
    // Removing the trigger label lets a maintainer ask again by labelling again.
    ignore_missing(forge.remove_label(issue, super::trigger::FIX_LABEL).await)?;
    Ok(())
}

fn ignore_missing(result: Result<(), ForgeError>) -> Result<()> {
    match result {
        Ok(()) | Err(ForgeError::NotFound { .. }) => Ok(()),
        Err(e) => Err(e.into()),
    }
}

trait HasLabel {
    fn has_label(&self, name: &str) -> bool;
}

impl HasLabel for PullRequest {
    fn has_label(&self, name: &str) -> bool {
        self.labels.iter().any(|l| l.eq_ignore_ascii_case(name))
    }
}

/// Re-reads the branch from the remote and the pull request from the forge: the run
/// succeeded only if the branch holds `commit` and an open PR from it carries the marker.
pub async fn verify(
    forge: &dyn Forge,
    checkout: &Checkout,
    branch: &str,
    commit: git2::Oid,
    pr_number: u64,
    issue: u64,
) -> Result<PullRequest> {
    let remote = checkout.remote_head(branch)?;
    if remote.as_deref() != Some(commit.to_string().as_str()) {
        return Err(Error::Failed(format!(
            "verification failed: the remote branch {branch} is at {} instead of the pushed commit {commit}",
            remote.as_deref().unwrap_or("nothing")
        )));
    }
    let pr = forge.get_pull(pr_number).await?;
    let head_matches = pr.head == branch || pr.head.ends_with(&format!(":{branch}"));
    if pr.state != State::Open || !head_matches || issue_of(&pr.body) != Some(issue) {
        return Err(Error::Failed(format!(
            "verification failed: pull request #{pr_number} is {:?} from `{}`, expected an open PR from {branch} with the issue marker",
            pr.state, pr.head
        )));
    }
    Ok(pr)
}

/// What `hs-agent merged` did.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Merged {
    pub pr: u64,
    /// The issue the pull request fixes (its marker), if it has one.
    pub issue: Option<u64>,
    /// The issue was open and is now closed.
    pub closed: bool,
    /// `pr.merged` was written to the ledger (not when it was there already).
    pub recorded: bool,
}

/// After a bot pull request merged: closes the issue it fixes with a comment, moves it to
/// `homeostat:done`, and records `pr.merged` in the ledger once (the ops report counts it).
/// Run again, it changes nothing. The forge does not tell merged from closed, so the
/// caller runs this after the merge succeeded; an open pull request is refused.
pub async fn record_merged(
    forge: &dyn Forge,
    ledger: &crate::ledger::Ledger,
    prompts: &crate::prompt::Prompts,
    number: u64,
) -> Result<Merged> {
    let pr = forge.get_pull(number).await?;
    if pr.state == State::Open {
        return Err(Error::Failed(format!("pull request #{number} is still open: run this after it merged")));
    }
    let issue = issue_of(&pr.body);
    let mut closed = false;
    if let Some(n) = issue {
        if forge.get_issue(n).await?.state == State::Open {
            let comment = prompts.render("agent-merged.md.j2", &serde_json::json!({"pr": number}))?;
            forge.create_comment(n, comment.trim_end()).await?;
            forge.update_issue(n, &IssueUpdate { state: Some(State::Closed), ..Default::default() }).await?;
            closed = true;
        }
        crate::policy::board::move_to(forge, n, crate::policy::board::Stage::Done).await?;
    }
    let key = number.to_string();
    let kind = crate::ledger::kinds::PR_MERGED;
    let recorded = !forge.is_dry_run() && ledger.last(kind, &key)?.is_none();
    if recorded {
        ledger.append(kind, &key, serde_json::json!({"issue": issue}))?;
    }
    Ok(Merged { pr: number, issue, closed, recorded })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markers_round_trip_and_do_not_confuse_numbers() {
        let body = format!("Fixes #12\n\n{}", marker(12));
        assert_eq!(issue_of(&body), Some(12));
        assert!(!body.contains(&marker(1)));
        assert_eq!(issue_of("no marker"), None);
    }
}
