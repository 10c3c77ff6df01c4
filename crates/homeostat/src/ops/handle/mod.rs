//! [`Ops::handle`]: one alert, in stages that each return what the next needs:
//! [`choose`] (the runbook, and why) → [`diagnose`] (its checks, the confidence, the
//! verdict) → [`act`] (fix and verify, ask for approval, escalate, or only diagnose).
//! `handle` fills the [`Outcome`] from them and records the run.

mod act;
mod choose;
mod diagnose;

use super::{Alert, Decision, Mode, Ops, Outcome, matcher};
use crate::error::{Error, Result};

impl Ops<'_> {
    /// Handles one alert with `mode` (else the config's).
    pub async fn handle(&self, alert: &Alert, mode: Option<Mode>) -> Result<Outcome> {
        let mode = mode.unwrap_or(self.config.mode);
        let mut out = no_match(alert);
        if !alert.firing() {
            out.decision = Decision::DiagnoseOnly;
            out.outcome = "ignored".into();
            out.reason = "the alert is resolved: nothing to do".into();
            return Ok(out);
        }
        let candidates = matcher::candidates(&self.runbooks, alert);
        out.candidates = candidates.iter().map(|c| c.sop.clone()).collect();
        let Some((chosen, why)) = self.choose(alert, &candidates).await else {
            out.reason = "no runbook's trigger matches this alert".into();
            self.record_run(&out, alert, false, 0, None, None)?;
            return Ok(out);
        };
        let runbook =
            self.runbook(&chosen.sop).ok_or_else(|| Error::Failed(format!("runbook {} vanished", chosen.sop)))?;
        out.sop = Some(runbook.name.clone());
        let started = self.ledger.now();
        let executor = self.executor(runbook, alert);

        let diagnosis = self.diagnose(runbook, alert, &executor, chosen.trigger_match, mode).await?;
        out.confidence = Some(diagnosis.confidence);
        out.steps = diagnosis.steps;
        out.decision = diagnosis.verdict.decision;
        out.reason = format!("{why}; {}", diagnosis.verdict.reason);
        if let Some(p) = &diagnosis.env_problem {
            out.reason.push_str(&format!("; environment: {p}"));
        }
        let acted = self.act(runbook, alert, &executor, started, &mut out).await?;
        self.record_run(&out, alert, acted.acted, acted.attempts, acted.seconds, None)?;
        Ok(out)
    }
}

/// The outcome before anything matched.
fn no_match(alert: &Alert) -> Outcome {
    Outcome {
        sop: None,
        confidence: None,
        decision: Decision::NoMatch,
        steps: Vec::new(),
        reason: String::new(),
        outcome: "no-match".into(),
        alert: alert.fingerprint.clone(),
        alertname: alert.alertname.clone(),
        candidates: Vec::new(),
        issue: None,
    }
}
