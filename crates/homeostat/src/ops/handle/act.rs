//! What the verdict does: fix and verify (escalating when the fix does not hold), open
//! the approval issue, escalate, or nothing beyond the diagnosis.

use crate::error::Result;
use crate::ops::executor::Executor;
use crate::ops::{Alert, Decision, Ops, Outcome, Runbook};

/// What acting did, for the run's ledger entry.
pub(super) struct Acted {
    pub acted: bool,
    pub attempts: u32,
    /// Time to resolve, when the fix held.
    pub seconds: Option<f64>,
}

impl Ops<'_> {
    /// Acts on `out.decision`, setting `out`'s outcome, issue, steps and reason.
    pub(super) async fn act(
        &self,
        runbook: &Runbook,
        alert: &Alert,
        executor: &Executor<'_>,
        started: jiff::Timestamp,
        out: &mut Outcome,
    ) -> Result<Acted> {
        let mut acted = Acted { acted: false, attempts: 0, seconds: None };
        match out.decision {
            Decision::AutoFix => {
                let run = self.fix_and_verify(runbook, alert, executor).await?;
                acted.acted = true;
                acted.attempts = run.attempts;
                out.steps.extend(run.steps);
                if self.dry_run {
                    out.outcome = "dry-run".into();
                } else if run.resolved {
                    out.outcome = "resolved".into();
                    acted.seconds = Some(self.ledger.now().duration_since(started).as_secs_f64());
                } else {
                    out.outcome = "escalated".into();
                    out.reason.push_str(&format!("; the fix did not hold after {} attempts", run.attempts));
                    out.issue = self.escalate(runbook, alert, out).await?;
                }
            }
            Decision::AwaitApproval => {
                out.outcome = "awaiting-approval".into();
                out.issue = Some(self.ask_approval(runbook, alert, out).await?);
            }
            Decision::Escalate => {
                out.outcome = "escalated".into();
                out.issue = self.escalate(runbook, alert, out).await?;
            }
            Decision::DiagnoseOnly | Decision::NoMatch => out.outcome = "diagnosed".into(),
        }
        Ok(acted)
    }
}
