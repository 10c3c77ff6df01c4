//! What hs-ops writes to the ledger: each step, each run; nothing in a dry run.

use super::{Alert, Ops, Outcome, StepResult, decide};
use crate::error::Result;

impl Ops<'_> {
    /// Appends to the ledger, except in a dry run.
    pub(in crate::ops) fn append(&self, kind: &str, key: &str, data: serde_json::Value) -> Result<()> {
        if self.dry_run {
            crate::gha::eprint_safe(
                &serde_json::json!({"dry_run": "ledger", "kind": kind, "key": key, "write": data}).to_string(),
            );
            return Ok(());
        }
        self.ledger.append(kind, key, data)?;
        Ok(())
    }

    pub(in crate::ops) fn record_step(&self, sop: &str, alert: &Alert, attempt: u32, step: &StepResult) -> Result<()> {
        self.append(
            decide::STEP,
            sop,
            serde_json::json!({"alert": alert.fingerprint, "phase": step.kind, "name": step.name,
                               "ok": step.ok, "detail": step.detail, "attempt": attempt}),
        )?;
        Ok(())
    }

    pub(in crate::ops) fn record_run(
        &self,
        out: &Outcome,
        alert: &Alert,
        acted: bool,
        attempts: u32,
        seconds: Option<f64>,
        approved_by: Option<&str>,
    ) -> Result<()> {
        let mut data = serde_json::json!({
            "alert": alert.fingerprint, "alertname": alert.alertname, "decision": out.decision.as_str(),
            "confidence": out.confidence, "outcome": out.outcome, "acted": acted, "attempts": attempts,
            "reason": out.reason, "issue": out.issue,
        });
        if let Some(s) = seconds {
            data["seconds"] = serde_json::json!((s * 1000.0).round() / 1000.0);
        }
        if let Some(who) = approved_by {
            data["approved_by"] = serde_json::json!(who);
        }
        self.append(decide::RUN, out.sop.as_deref().unwrap_or("-"), data)?;
        Ok(())
    }
}
