//! Verification: after a fix, re-run the runbook's checks (each after its `wait`); the
//! fix holds only when every check does (Keptn's evaluation, Shoreline's clear query).

use super::executor::{Executor, StepResult};
use super::runbook::Runbook;

/// Runs every verify step in order; returns whether all held and what each did.
pub async fn verify(executor: &Executor<'_>, runbook: &Runbook) -> (bool, Vec<StepResult>) {
    let mut steps = Vec::with_capacity(runbook.verify.len());
    for check in &runbook.verify {
        steps.push(executor.check("verify", check).await);
    }
    (!steps.is_empty() && steps.iter().all(|s| s.ok), steps)
}

/// Runs every diagnosis step; each result says whether it confirmed the runbook's reading.
pub async fn diagnose(executor: &Executor<'_>, runbook: &Runbook) -> Vec<StepResult> {
    let mut steps = Vec::with_capacity(runbook.diagnosis.len());
    for check in &runbook.diagnosis {
        steps.push(executor.check("diagnosis", check).await);
    }
    steps
}
