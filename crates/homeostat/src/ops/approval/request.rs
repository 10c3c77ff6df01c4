//! Asking: the approval issue, with the alert, the diagnosis and the exact plan a
//! maintainer approves.

use super::APPROVAL_LABEL;
use crate::error::{Error, Result};
use crate::markers::{Marker, escape_md};
use crate::ops::executor::{self, OPS_LABEL};
use crate::ops::issue_text::{alert_block, steps_table};
use crate::ops::{Alert, Ops, Outcome, Runbook};

/// The alert, kept in the approval issue's trailer so `approve` can continue.
fn alert_marker(alert: &Alert) -> Marker {
    // Title and description are scrubbed like everything posted; labels stay as they are,
    // since placeholders (`${labels.instance}`) read them when the fix runs.
    let scrubber = crate::scrub::Scrubber::builtin();
    let mut alert = alert.clone();
    let clean = |text: &str| scrubber.scrub(&crate::prompt::strip_hidden(text)).into_owned();
    alert.title = clean(&alert.title);
    alert.description = clean(&alert.description);
    for value in alert.annotations.values_mut() {
        *value = clean(value);
    }
    Marker::OpsAlert(serde_json::to_value(&alert).unwrap_or_default())
}

impl Ops<'_> {
    /// Opens or updates the approval issue for this runbook and alert; its number.
    pub(in crate::ops) async fn ask_approval(&self, runbook: &Runbook, alert: &Alert, out: &Outcome) -> Result<u64> {
        let filled = self.executor(runbook, alert).filled_plan(runbook).map_err(Error::Failed)?;
        let digest = executor::plan_digest(&filled);
        let marker =
            Marker::OpsApproval { sop: runbook.name.clone(), alert: alert.fingerprint.clone(), plan: digest.clone() };
        let mut plan = String::new();
        for (name, op) in &filled {
            plan.push_str(&format!("- **{}**: {}\n", escape_md(name), crate::prompt::inline_code(op)));
        }
        for c in &runbook.verify {
            plan.push_str(&format!("- verify **{}**\n", escape_md(&c.name)));
        }
        let body = format!(
            "## Approval needed: {title}\n\n{alert}\nRunbook `{sop}` (category {cat}, risk {risk}), confidence {conf}.\n\
             Why a person decides: {reason}\n\n### Diagnosis\n\n{table}\n### Proposed fix, exactly as it will run\n\n{plan}\n\
             Plan `{id}`. A maintainer with write permission comments `/approve` (or `/approve {id}`) to run \
             this fix and its verification, or `/reject` to close this without acting. The approval holds for \
             these values only.",
            title = escape_md(&runbook.title),
            alert = alert_block(alert),
            sop = runbook.name,
            cat = runbook.category,
            risk = runbook.risk.as_str(),
            conf = out.confidence.map_or("–".into(), |c| format!("{c:.0}")),
            reason = escape_md(&out.reason),
            table = steps_table(&out.steps),
            id = &digest[..12],
        );
        let labels = vec![OPS_LABEL.to_string(), APPROVAL_LABEL.to_string()];
        let title = format!("ops: approve `{}` for {}", runbook.name, escape_md(&alert.alertname));
        executor::upsert_issue(self.forge, &marker, &[alert_marker(alert)], &title, &body, &labels)
            .await
            .map_err(Error::Failed)
    }
}
