//! Escalation: the runbook's one escalation issue, and the webhook.

use super::executor::{self, OPS_LABEL};
use super::issue_text::{alert_block, steps_table};
use super::{Alert, Ops, Outcome, Runbook, decide};
use crate::error::{Error, Result};
use crate::markers::{Marker, escape_md};

impl Ops<'_> {
    /// Opens or updates the runbook's one escalation issue, and posts to the webhook when
    /// the runbook escalates to `slack` and one is configured.
    pub(in crate::ops) async fn escalate(
        &self,
        runbook: &Runbook,
        alert: &Alert,
        out: &Outcome,
    ) -> Result<Option<u64>> {
        let text = format!(
            "## Escalation: {title}\n\n{alert}\nRunbook `{sop}`: {reason}\n\n{table}\n### What the runbook says\n\n{body}",
            title = escape_md(&runbook.title),
            alert = alert_block(alert),
            sop = runbook.name,
            reason = escape_md(&out.reason),
            table = steps_table(&out.steps),
            body = crate::forge::limits::truncate_chars(runbook.body.trim(), 20_000),
        );
        let mut issue = None;
        if runbook.escalate.to.iter().any(|t| t == "issue") {
            let marker = Marker::OpsEscalation(runbook.name.clone());
            let labels = vec![OPS_LABEL.to_string(), "homeostat:escalation".to_string()];
            let title = format!("ops: `{}` needs a person", runbook.name);
            let n = executor::upsert_issue(self.forge, &marker, &[], &title, &text, &labels).await;
            issue = Some(n.map_err(Error::Failed)?);
        }
        if runbook.escalate.to.iter().any(|t| t == "slack") {
            let summary =
                format!("homeostat ops: `{}` needs a person ({}): {}", runbook.name, alert.alertname, out.reason);
            let summary = crate::scrub::Scrubber::builtin().scrub(&summary).into_owned();
            if let Err(e) = self.post_webhook(&summary).await {
                tracing::warn!("escalation webhook: {e}");
            }
        }
        self.append(
            decide::ESCALATION,
            &runbook.name,
            serde_json::json!({"alert": alert.fingerprint, "issue": issue, "reason": out.reason}),
        )?;
        Ok(issue)
    }

    /// Posts `{"text": …}` to the webhook named by `ops.webhook_env` (Slack, Mattermost,
    /// Discord's /slack endpoint). The URL is a secret: it is masked and never printed.
    pub async fn post_webhook(&self, text: &str) -> Result<bool> {
        let Some(var) = &self.config.webhook_env else { return Ok(false) };
        let Some(url) = self.env.get(var) else {
            tracing::warn!("ops.webhook_env names {var}, which is not set: no webhook sent");
            return Ok(false);
        };
        crate::gha::Actions::new(&self.env).mask(url);
        let response = self
            .http
            .post(url)
            .timeout(std::time::Duration::from_secs(15))
            .json(&serde_json::json!({"text": text}))
            .send()
            .await
            .map_err(|e| Error::Failed(format!("webhook ({var}): {}", crate::http::describe(&e))))?;
        if !response.status().is_success() {
            return Err(Error::Failed(format!("webhook ({var}) answered HTTP {}", response.status().as_u16())));
        }
        Ok(true)
    }
}
