//! The repair loop: the runbook's fix, then its verification, up to
//! `escalate.after_attempts` times, each step recorded.

use super::executor::Executor;
use super::{Alert, Ops, Runbook, StepResult, verify};
use crate::error::Result;

/// What the repair loop came to.
pub(in crate::ops) struct FixRun {
    pub resolved: bool,
    pub attempts: u32,
    pub steps: Vec<StepResult>,
}

impl Ops<'_> {
    pub(in crate::ops) async fn fix_and_verify(
        &self,
        runbook: &Runbook,
        alert: &Alert,
        executor: &Executor<'_>,
    ) -> Result<FixRun> {
        let mut steps = Vec::new();
        let max = runbook.escalate.after_attempts.max(1);
        for attempt in 1..=max {
            let mut fixed = true;
            for f in &runbook.fix {
                let s = executor.fix(&runbook.name, f, alert).await;
                self.record_step(&runbook.name, alert, attempt, &s)?;
                let ok = s.ok;
                steps.push(s);
                if !ok {
                    fixed = false;
                    break;
                }
            }
            if fixed && self.dry_run {
                // Nothing was changed, so there is nothing to verify.
                return Ok(FixRun { resolved: false, attempts: attempt, steps });
            }
            if fixed {
                let (held, checks) = verify::verify(executor, runbook).await;
                for s in &checks {
                    self.record_step(&runbook.name, alert, attempt, s)?;
                }
                steps.extend(checks);
                if held {
                    return Ok(FixRun { resolved: true, attempts: attempt, steps });
                }
            }
            tracing::warn!("{}: attempt {attempt} of {max} did not hold", runbook.name);
        }
        Ok(FixRun { resolved: false, attempts: max, steps })
    }
}
