//! The merge gate (DESIGN.md "Running on GitHub"): may homeostat merge this pull request
//! without a person? Pure: the caller gathers the facts (forge, git, checks), this decides.
//!
//! Every condition must hold: the PR is homeostat's own (its author is homeostat's
//! identity and its head branch `homeostat/fix-<issue>` lives in this repository), it
//! fixes an issue whose error class the policy lets merge alone, the guard — with the
//! default branch's config and policy — says `auto-merge`, the change does not touch the
//! config or policy it was judged by, and the checks the repository requires are green.

use serde::Serialize;

use crate::forge::PullRequest;
use crate::policy::Class;

use super::Decision;

/// The branch prefix of the bot's pull requests (`homeostat/fix-<issue>`).
pub const FIX_BRANCH_PREFIX: &str = "homeostat/fix-";

pub use crate::settings::agent::DEFAULT_BOT_LOGINS;

/// Why a pull request is not homeostat's own, or `None` when it is. The same test guards
/// adoption (hs-agent never rewrites a PR it did not open) and the merge.
pub fn not_ours(pr: &PullRequest, repo: &str, issue: u64, bot_logins: &[String]) -> Option<String> {
    if !bot_logins.iter().any(|l| l.eq_ignore_ascii_case(&pr.author)) {
        return Some(format!(
            "#{} was opened by `{}`, not by homeostat ({})",
            pr.number,
            pr.author,
            bot_logins.join(", ")
        ));
    }
    let expected = format!("{FIX_BRANCH_PREFIX}{issue}");
    if pr.head != expected {
        return Some(format!("#{} comes from branch `{}`, not `{expected}`", pr.number, pr.head));
    }
    if !pr.head_repo.is_empty() && !pr.head_repo.eq_ignore_ascii_case(repo) {
        return Some(format!("#{} comes from `{}`, not from this repository `{repo}`", pr.number, pr.head_repo));
    }
    None
}

pub use crate::forge::RequiredChecks;

/// What the gate knows about one pull request.
#[derive(Debug, Clone)]
pub struct Facts<'a> {
    pub pr: &'a PullRequest,
    pub repo: &'a str,
    pub bot_logins: &'a [String],
    /// The issue the PR's marker names.
    pub issue: Option<u64>,
    /// The error class of that issue, by the trusted policy.
    pub error_class: Option<Class>,
    /// Whether the trusted policy lets a fix for that class merge alone.
    pub class_may_merge: bool,
    /// The guard's verdict on the change, with the trusted config and policy.
    pub verdict: Decision,
    /// Files the change touches that hold the config or policy it was judged by.
    pub touches_trusted: Vec<String>,
    pub checks: RequiredChecks,
}

/// The gate's answer: merge, or the conditions that failed (all of them, for the log).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct GateDecision {
    pub pr: u64,
    pub merge: bool,
    /// True when only pending checks stand in the way: a later sweep may merge.
    pub wait: bool,
    pub refusals: Vec<String>,
}

/// Decides. Pure.
pub fn decide(f: &Facts<'_>) -> GateDecision {
    let mut refusals = Vec::new();
    let mut wait = false;
    match f.issue {
        None => refusals.push(format!("#{} names no homeostat issue", f.pr.number)),
        Some(issue) => refusals.extend(not_ours(f.pr, f.repo, issue, f.bot_logins)),
    }
    match f.error_class {
        Some(_) if f.class_may_merge => {}
        Some(class) => refusals
            .push(format!("the error's class `{class}` needs a person to validate the fix (policy agent.auto_merge)")),
        None => refusals.push("the issue's error class is unknown".into()),
    }
    if f.verdict != Decision::AutoMerge {
        refusals.push(format!("the guard's verdict is `{}`", f.verdict.as_str()));
    }
    if !f.touches_trusted.is_empty() {
        refusals.push(format!("the change edits homeostat's own config or policy: {}", f.touches_trusted.join(", ")));
    }
    match &f.checks {
        RequiredChecks::Green { .. } => {}
        RequiredChecks::Pending { waiting } => {
            wait = true;
            refusals.push(format!("required checks still running: {}", waiting.join(", ")));
        }
        RequiredChecks::Failed { failed } => refusals.push(format!("required checks failed: {}", failed.join(", "))),
    }
    if f.pr.state != crate::forge::State::Open {
        refusals.push(format!("#{} is not open", f.pr.number));
    }
    // Waiting only makes sense when nothing else is wrong.
    let wait = wait && refusals.len() == 1;
    GateDecision { pr: f.pr.number, merge: refusals.is_empty(), wait, refusals }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::forge::State;

    fn pr(author: &str, head: &str, head_repo: &str) -> PullRequest {
        PullRequest {
            number: 7,
            title: "fix".into(),
            body: String::new(),
            labels: vec!["homeostat:ai-proposed".into()],
            state: State::Open,
            head: head.into(),
            base: "main".into(),
            draft: true,
            url: String::new(),
            author: author.into(),
            head_repo: head_repo.into(),
            head_sha: "abc".into(),
            base_sha: "def".into(),
        }
    }

    fn bots() -> Vec<String> {
        DEFAULT_BOT_LOGINS.iter().map(|s| s.to_string()).collect()
    }

    fn facts<'a>(pr: &'a PullRequest, bots: &'a [String]) -> Facts<'a> {
        Facts {
            pr,
            repo: "acme/app",
            bot_logins: bots,
            issue: Some(3),
            error_class: Some(Class::Safe),
            class_may_merge: true,
            verdict: Decision::AutoMerge,
            touches_trusted: vec![],
            checks: RequiredChecks::Green { required: vec![] },
        }
    }

    #[test]
    fn the_bots_safe_green_fix_merges() {
        let (p, b) = (pr("github-actions[bot]", "homeostat/fix-3", "acme/app"), bots());
        let d = decide(&facts(&p, &b));
        assert!(d.merge, "{:?}", d.refusals);
    }

    #[test]
    fn a_strangers_pr_with_the_marker_and_branch_name_is_refused() {
        let b = bots();
        for p in
            [pr("mallory", "homeostat/fix-3", "acme/app"), pr("github-actions[bot]", "homeostat/fix-3", "mallory/app")]
        {
            let d = decide(&facts(&p, &b));
            assert!(!d.merge && !d.wait);
            assert!(not_ours(&p, "acme/app", 3, &b).is_some());
        }
        let other_issue = pr("github-actions[bot]", "homeostat/fix-4", "acme/app");
        assert!(not_ours(&other_issue, "acme/app", 3, &b).is_some());
    }

    #[test]
    fn a_needs_validation_error_is_not_merged_even_with_a_safe_diff() {
        let (p, b) = (pr("github-actions[bot]", "homeostat/fix-3", "acme/app"), bots());
        let mut f = facts(&p, &b);
        f.error_class = Some(Class::NeedsValidation);
        f.class_may_merge = false;
        let d = decide(&f);
        assert!(!d.merge);
        assert!(d.refusals[0].contains("needs-validation"), "{:?}", d.refusals);
    }

    #[test]
    fn pending_checks_wait_failed_ones_refuse() {
        let (p, b) = (pr("github-actions[bot]", "homeostat/fix-3", "acme/app"), bots());
        let mut f = facts(&p, &b);
        f.checks = RequiredChecks::Pending { waiting: vec!["CI".into()] };
        let d = decide(&f);
        assert!(!d.merge && d.wait);
        f.checks = RequiredChecks::Failed { failed: vec!["CI".into()] };
        let d = decide(&f);
        assert!(!d.merge && !d.wait);
    }

    #[test]
    fn a_change_to_the_trusted_config_or_a_blocked_verdict_refuses() {
        let (p, b) = (pr("github-actions[bot]", "homeostat/fix-3", "acme/app"), bots());
        let mut f = facts(&p, &b);
        f.touches_trusted = vec![".github/homeostat.yml".into()];
        assert!(!decide(&f).merge);
        let mut f = facts(&p, &b);
        f.verdict = Decision::HumanReview;
        assert!(!decide(&f).merge);
    }
}
