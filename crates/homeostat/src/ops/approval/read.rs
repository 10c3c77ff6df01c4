//! Reading the approval issue back: trusted, with its plan, its alert and a loaded runbook.

use crate::error::{Error, Position, Result};
use crate::forge::State;
use crate::markers::{self, Marker};
use crate::ops::{Alert, Decision, Ops, Outcome, Runbook};

/// What the approval issue asks for.
pub(super) struct Request<'r> {
    pub closed: bool,
    pub sop: String,
    /// The digest of the plan the issue shows.
    pub plan: String,
    pub alert: Alert,
    pub runbook: &'r Runbook,
}

impl Ops<'_> {
    /// The request in approval issue `number`; an input error when the issue is not one
    /// (untrusted, no marker, a damaged alert, a runbook not loaded).
    pub(super) async fn read_request(&self, number: u64) -> Result<Request<'_>> {
        let issue = self.forge.get_issue(number).await?;
        let at = || Position::file(format!("issue #{number}"));
        let Some(issue) = crate::issues::trusted(self.forge, vec![issue]).await?.pop() else {
            return Err(Error::input(at(), "was not written by homeostat nor by a maintainer: not an approval issue"));
        };
        let (sop, plan) = markers::find(&issue.body, |m| match m {
            Marker::OpsApproval { sop, plan, .. } => Some((sop, plan)),
            _ => None,
        })
        .ok_or_else(|| Error::input(at(), "is not an hs-ops approval issue (no approval marker in its trailer)"))?;
        let alert: Alert = markers::find(&issue.body, |m| match m {
            Marker::OpsAlert(v) => serde_json::from_value(v).ok(),
            _ => None,
        })
        .ok_or_else(|| Error::input(at(), "the approval issue's alert record is missing or damaged"))?;
        let runbook = self.runbook(&sop).ok_or_else(|| Error::input(at(), format!("runbook `{sop}` is not loaded")))?;
        Ok(Request { closed: issue.state == State::Closed, sop, plan, alert, runbook })
    }
}

impl Request<'_> {
    /// The outcome while issue `number` waits for an answer.
    pub(super) fn waiting(&self, number: u64) -> Outcome {
        Outcome {
            sop: Some(self.sop.clone()),
            confidence: None,
            decision: Decision::AwaitApproval,
            steps: Vec::new(),
            reason: String::new(),
            outcome: "awaiting-approval".into(),
            alert: self.alert.fingerprint.clone(),
            alertname: self.alert.alertname.clone(),
            candidates: Vec::new(),
            issue: Some(number),
        }
    }
}
