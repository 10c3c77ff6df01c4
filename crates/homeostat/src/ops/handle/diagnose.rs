//! The chosen runbook's diagnosis, and what it comes to: the confidence and the verdict.

use crate::error::Result;
use crate::ops::executor::Executor;
use crate::ops::{Alert, Decision, Mode, Ops, Runbook, StepResult, decide, verify};

/// What the diagnosis found and decided.
pub(super) struct Diagnosis {
    pub steps: Vec<StepResult>,
    pub confidence: f64,
    pub verdict: decide::Verdict,
    /// Why the fix cannot run here, if it cannot.
    pub env_problem: Option<String>,
}

impl Ops<'_> {
    /// Runs and records the runbook's diagnosis, then decides with the ledger's history.
    pub(super) async fn diagnose(
        &self,
        runbook: &Runbook,
        alert: &Alert,
        executor: &Executor<'_>,
        trigger_match: f64,
        mode: Mode,
    ) -> Result<Diagnosis> {
        let diagnosis = verify::diagnose(executor, runbook).await;
        for s in &diagnosis {
            self.record_step(&runbook.name, alert, 0, s)?;
        }
        let entries = self.ledger.entries()?;
        let stats = decide::stats(&entries, &runbook.name);
        let env_problem = executor.environment_problem(runbook);
        let oks: Vec<bool> = diagnosis.iter().map(|s| s.ok).collect();
        let confidence = decide::confidence(&stats, &oks, trigger_match, env_problem.is_none());
        let mut verdict = decide::decide(runbook, mode, confidence.total, &entries, self.ledger.now());
        if verdict.decision == Decision::AutoFix && env_problem.is_some() {
            // A fix that is known not to be runnable here is not tried: a person looks.
            verdict = decide::Verdict { decision: Decision::Escalate, reason: "the fix cannot run here".into() };
        }
        Ok(Diagnosis { steps: diagnosis, confidence: confidence.total, verdict, env_problem })
    }
}
