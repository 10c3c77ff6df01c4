//! Push, the draft pull request (opened or updated), its labels, and the re-read that
//! proves both branch and PR exist.

use super::run_agent::tail_chars;
use super::{Authorized, Prepared, Ran, Stage};
use crate::agent::trigger::Trigger;
use crate::agent::{Options, Outcome, Report, pr};
use crate::forge::Forge;
use crate::guard::Decision;

/// Publishes the change; returns the ending to report.
pub(in crate::agent) async fn publish(
    forge: &dyn Forge,
    trigger: &Trigger,
    opts: &Options,
    allowed: &Authorized,
    prepared: &Prepared,
    ran: &Ran,
    report: &mut Report,
) -> Stage<(Outcome, String)> {
    let (issue_number, branch) = (allowed.issue.number, &prepared.branch);
    // A CLI that ran past its caps and still said success (claude-code-action #1577): the
    // change is proposed, but for a person to review.
    let overran = ran.usage.overran(allowed.agent_def.max_turns, prepared.usd_cap);
    opts.checkout.push(ran.commit, branch, prepared.lease.as_deref())?;
    let body = pr_body(trigger, opts, allowed, prepared, ran, overran.as_deref())?;
    let title = format!("fix: {} (#{issue_number})", crate::prompt::strip_hidden(&allowed.issue.title));
    let (pull, created) = pr::open_or_update(
        forge,
        prepared.existing.as_ref(),
        &title,
        &body,
        branch,
        &prepared.default_branch,
        issue_number,
    )
    .await?;
    let human_review = ran.verdict.verdict == Decision::HumanReview || overran.is_some();
    pr::label(forge, &pull, issue_number, ran.verdict.class, human_review).await?;
    let pull = pr::verify(forge, &opts.checkout, branch, ran.commit, pull.number, issue_number).await?;
    report.pr = Some(pull.number);
    let outcome = if created { Outcome::PrOpened } else { Outcome::PrUpdated };
    opts.ledger.append(
        crate::ledger::kinds::AGENT_OUTCOME,
        &issue_number.to_string(),
        serde_json::json!({"outcome": outcome.as_str(), "pr": pull.number, "commit": ran.commit.to_string(), "overran": overran}),
    )?;
    let verb = if created { "Opened" } else { "Updated" };
    let reason = format!(
        "{verb} draft pull request #{} from `{branch}` (guard: {}).",
        pull.number,
        ran.verdict.verdict.as_str()
    );
    Ok((outcome, reason))
}

/// prompts/agent-pr.md.j2 with the agent's summary, scrubbed and made inert.
fn pr_body(
    trigger: &Trigger,
    opts: &Options,
    allowed: &Authorized,
    prepared: &Prepared,
    ran: &Ran,
    overran: Option<&str>,
) -> crate::Result<String> {
    let summary = read_capped(&prepared.files.summary_file, 256 * 1024);
    let summary = if summary.trim().is_empty() {
        "_The agent wrote no summary._".to_string()
    } else {
        inert_references(&opts.scrubber.scrub(&crate::prompt::strip_hidden(&tail_chars(&summary, 20_000))))
    };
    opts.prompts.render(
        "agent-pr.md.j2",
        &serde_json::json!({
            "issue": allowed.issue.number,
            "agent": allowed.agent_name,
            "class": allowed.class.class,
            "summary": summary,
            "guard_table": crate::guard::report::markdown(&ran.verdict),
            "trigger": format!("{:?}", trigger.kind).to_lowercase(),
            "actor": trigger.actor,
            "mode": prepared.mode,
            "seconds": format!("{:.0}", ran.seconds),
            "cost": ran.usage.usd.map_or("not reported".to_string(), |u| format!("${u:.2}")),
            "branch": prepared.branch,
            "max_attempts": allowed.agents.max_attempts,
            "overran": overran,
        }),
    )
}

/// The agent's text in the PR body must not act: no `Closes #5` that closes another issue
/// on merge, no `@someone` that pings people. A zero-width space breaks the reference.
fn inert_references(text: &str) -> String {
    static REFERENCE: std::sync::LazyLock<Option<regex::Regex>> =
        std::sync::LazyLock::new(|| regex::Regex::new(r"([#@])([0-9A-Za-z])").ok());
    match REFERENCE.as_ref() {
        Some(re) => re.replace_all(text, "$1\u{200B}$2").into_owned(),
        None => text.to_string(),
    }
}

/// At most `max` bytes of a file the agent wrote (it may write anything, of any size).
fn read_capped(path: &std::path::Path, max: u64) -> String {
    use std::io::Read;
    let mut bytes = Vec::new();
    if let Ok(file) = std::fs::File::open(path) {
        let _ = file.take(max).read_to_end(&mut bytes);
    }
    String::from_utf8_lossy(&bytes).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_agents_summary_cannot_close_issues_or_ping_people() {
        let out = inert_references("Closes #5, fixes owner/repo#6, thanks @octocat. ### Root cause");
        assert!(!out.contains("#5") && !out.contains("#6") && !out.contains("@octocat"), "{out}");
        assert!(out.contains("### Root cause"), "markdown headings stay: {out}");
    }
}
