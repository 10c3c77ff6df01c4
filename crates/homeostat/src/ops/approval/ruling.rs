//! What the answer comes to, before anything is posted: the approved fix to run, or an
//! outcome with the note the issue gets (no answer yet, rejected, another plan named,
//! the runbook's limits, a plan that changed since the issue was written).

use super::answer::{Answer, Answers, Verb};
use super::read::Request;
use crate::error::Result;
use crate::markers::{self, escape_md, tag};
use crate::ops::executor::{self, Executor};
use crate::ops::{Decision, Ops, decide};

/// Where an approval issue's answer leads.
pub(super) enum Ruling<'e> {
    /// Nothing runs.
    Stop(Stop),
    /// `who` approved this plan, within the limits: run it.
    Run { who: String, executor: Executor<'e> },
}

/// An outcome without running anything, and what the issue is told.
pub(super) struct Stop {
    pub decision: Decision,
    pub outcome: &'static str,
    pub reason: String,
    pub note: Note,
}

/// What the issue is told when nothing runs.
pub(super) enum Note {
    Nothing,
    /// A new comment with this body.
    Comment(String),
    /// The comment with this tag, created or updated in place.
    Tagged(&'static str, String),
    /// Rejected by this user: said, the issue closed and the run recorded.
    Rejected(String),
}

/// The issue is closed: nothing to do.
pub(super) fn closed() -> Stop {
    Stop {
        decision: Decision::AwaitApproval,
        outcome: "ignored",
        reason: "the approval issue is closed".into(),
        note: Note::Nothing,
    }
}

/// No answer that counts yet; those without write permission who tried are told.
fn unanswered(mut refused: Vec<String>) -> Stop {
    let mut reason = String::from("no /approve from a user with write permission yet");
    let mut note = Note::Nothing;
    if !refused.is_empty() {
        refused.dedup();
        let text = format!(
            "`/approve` from {} ignored: approving needs write permission on the repository.",
            refused.iter().map(|r| format!("@{r}")).collect::<Vec<_>>().join(", ")
        );
        note = Note::Tagged(tag::OPS_REFUSED, text);
        reason.push_str(&format!(" ({} refused)", refused.join(", ")));
    }
    Stop { decision: Decision::AwaitApproval, outcome: "awaiting-approval", reason, note }
}

impl<'a> Ops<'a> {
    /// The ruling on issue `number`'s answers.
    pub(super) fn rule(&self, number: u64, request: &Request<'_>, answers: Answers) -> Result<Ruling<'a>> {
        let Some(Answer { verb, who, other_plan }) = answers.answer else {
            return Ok(Ruling::Stop(unanswered(answers.refused)));
        };
        if verb == Verb::Reject {
            let reason = format!("rejected by {who}");
            let stop =
                Stop { decision: Decision::DiagnoseOnly, outcome: "rejected", reason, note: Note::Rejected(who) };
            return Ok(Ruling::Stop(stop));
        }
        if let Some(other) = other_plan {
            let reason = format!("{who} approved plan {other}, which is not this issue's plan: nothing ran");
            let note = format!(
                "Not run: that `/approve` names plan `{}`; this issue's plan is `{}`.",
                escape_md(&other),
                request.plan.chars().take(12).collect::<String>()
            );
            let note = Note::Comment(markers::body(&note, &[]));
            return Ok(Ruling::Stop(Stop { decision: Decision::DiagnoseOnly, outcome: "refused", reason, note }));
        }
        // A person approved: the never-auto rules are answered, the limits still hold.
        let entries = self.ledger.entries()?;
        if let Some(limits) = decide::limits(request.runbook, &entries, self.ledger.now()) {
            let reason = format!("approved by {who}, but {}", limits.reason);
            // One note, updated in place: the sweep comes back every few minutes.
            let note = format!("Approved by @{who}, not run yet: {}. The next sweep tries again.", limits.reason);
            let note = Note::Tagged(tag::OPS_DEFERRED, note);
            return Ok(Ruling::Stop(Stop { decision: limits.decision, outcome: "deferred", reason, note }));
        }
        let executor = self.executor(request.runbook, &request.alert);
        let now_plan = executor.filled_plan(request.runbook).map(|p| executor::plan_digest(&p));
        if now_plan.as_deref() != Ok(request.plan.as_str()) {
            let reason = format!("approved by {who}, but the plan to run is not the plan the issue shows: nothing ran");
            tracing::warn!("approval issue #{number}: {reason}");
            let note = Note::Comment(markers::body(&format!("Not run: {reason}."), &[]));
            return Ok(Ruling::Stop(Stop { decision: Decision::DiagnoseOnly, outcome: "refused", reason, note }));
        }
        Ok(Ruling::Run { who, executor })
    }
}
