//! Acting on the ruling: the note posted, or the approved fix run and reported on the
//! issue (closed when the fix held, escalated when it did not); the run recorded.

use super::read::Request;
use super::ruling::{Note, Stop};
use crate::error::Result;
use crate::forge::{IssueUpdate, State};
use crate::markers::Marker;
use crate::ops::executor::Executor;
use crate::ops::issue_text::steps_table;
use crate::ops::{Decision, Ops, Outcome};

fn close() -> IssueUpdate {
    IssueUpdate { state: Some(State::Closed), ..IssueUpdate::default() }
}

impl Ops<'_> {
    /// `out` with the stop's outcome, once issue `number` is told.
    pub(super) async fn apply_stop(
        &self,
        number: u64,
        request: &Request<'_>,
        stop: Stop,
        mut out: Outcome,
    ) -> Result<Outcome> {
        out.decision = stop.decision;
        out.outcome = stop.outcome.into();
        out.reason = stop.reason;
        match stop.note {
            Note::Nothing => {}
            Note::Comment(body) => {
                self.forge.create_comment(number, &body).await?;
            }
            Note::Tagged(tag, text) => {
                crate::forge::upsert_comment(self.forge, number, &Marker::tag(tag), &text).await?;
            }
            Note::Rejected(who) => {
                self.forge.create_comment(number, &format!("Rejected by @{who}: nothing was run.")).await?;
                self.forge.update_issue(number, &close()).await?;
                self.record_run(&out, &request.alert, false, 0, None, Some(&who))?;
            }
        }
        Ok(out)
    }

    /// Runs the fix `who` approved on issue `number`, and reports on the issue.
    pub(super) async fn run_approved(
        &self,
        number: u64,
        request: &Request<'_>,
        who: &str,
        executor: &Executor<'_>,
        mut out: Outcome,
    ) -> Result<Outcome> {
        let (runbook, alert) = (request.runbook, &request.alert);
        out.decision = Decision::AutoFix;
        let started = self.ledger.now();
        let run = self.fix_and_verify(runbook, alert, executor).await?;
        out.steps = run.steps;
        let seconds = run.resolved.then(|| self.ledger.now().duration_since(started).as_secs_f64());
        if self.dry_run {
            out.outcome = "dry-run".into();
            out.reason = format!("approved by {who}; dry run: nothing ran");
            return Ok(out);
        }
        if run.resolved {
            out.outcome = "resolved".into();
            out.reason = format!("approved by {who}; the fix held");
            let body = format!("Approved by @{who}: fixed and verified.\n\n{}", steps_table(&out.steps));
            self.forge.create_comment(number, &body).await?;
            self.forge.update_issue(number, &close()).await?;
        } else {
            out.outcome = "escalated".into();
            out.reason = format!("approved by {who}; the fix did not hold after {} attempts", run.attempts);
            let body = format!("Approved by @{who}; the fix did not hold.\n\n{}", steps_table(&out.steps));
            self.forge.create_comment(number, &body).await?;
            self.escalate(runbook, alert, &out).await?;
        }
        self.record_run(&out, alert, true, run.attempts, seconds, Some(who))?;
        Ok(out)
    }
}
