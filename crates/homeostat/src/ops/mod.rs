//! Runbooks (SOPs): an alert is matched to a runbook ([`matcher`]), diagnosed, decided
//! on ([`decide`], pure), repaired with typed, allowlisted operations ([`executor`]),
//! verified ([`verify`]), escalated when the fix does not hold, and remembered in the
//! ledger, from which the daily [`report`] and the runbooks' success rates come.
//!
//! Flow of [`Ops::handle`]: match → (model tie-break) → diagnosis → confidence →
//! decision → auto-fix (fix, verify, up to `escalate.after_attempts` times, then
//! escalate) | approval issue | escalation | diagnosis only. [`Ops::approve`] continues
//! from a maintainer's `/approve` comment on the approval issue.
//!
//! The parts of [`Ops`], one job each: `handle` (one alert, in stages), `approval` (the
//! approval issue: asking, reading the answer, running what was approved), `repair` (fix
//! and verify, attempt after attempt), `escalate` (the escalation issue and the webhook),
//! `issue_text` (what those issues say), `record` (what is written to the ledger),
//! `model` (the optional model), [`report`] (the daily report).

pub mod alert;
pub use homeostat_core::ops::{decide, matcher, vars};
mod approval;
mod escalate;
pub mod executor;
mod handle;
mod issue_text;
mod model;
mod record;
mod repair;
pub mod report;
pub mod run;
pub mod runbook;
pub mod verify;

use serde::Serialize;

pub use alert::Alert;
pub use approval::APPROVAL_LABEL;
pub use decide::{Decision, Mode};
pub use executor::StepResult;
pub use model::{Model, model_for};
pub use runbook::Runbook;

use crate::error::{Error, Result};
use crate::forge::Forge;
use crate::ledger::Ledger;
use executor::Executor;

pub use crate::settings::ops::OpsConfig;

/// What handling one alert did: the output of `hs-ops handle`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Outcome {
    pub sop: Option<String>,
    pub confidence: Option<f64>,
    pub decision: Decision,
    pub steps: Vec<StepResult>,
    pub reason: String,
    /// `resolved`, `failed`, `escalated`, `awaiting-approval`, `diagnosed`, `no-match`, `ignored`.
    pub outcome: String,
    pub alert: String,
    pub alertname: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub candidates: Vec<String>,
    /// The approval or escalation issue.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub issue: Option<u64>,
}

/// hs-ops: the runbooks and everything they act through.
pub struct Ops<'a> {
    pub config: OpsConfig,
    pub runbooks: Vec<Runbook>,
    pub forge: &'a dyn Forge,
    pub ledger: Ledger,
    pub model: Option<&'a dyn Model>,
    pub env: crate::gha::Env,
    pub http: crate::http::Client,
    /// `--dry-run`: diagnose, decide and show the fix, but call nothing that changes
    /// anything and write nothing to the ledger.
    pub dry_run: bool,
}

/// The client for runbook operations, checks and the webhook: each request sent once (a
/// runbook repeats a check on its own schedule, and an operation may not be safe to
/// repeat) and never redirected, so an allowed host cannot send it elsewhere.
pub(crate) fn http_client() -> Result<crate::http::Client> {
    let options = crate::http::ClientOptions::default().no_redirects().retry(crate::http::RetryPolicy::once());
    crate::http::client(options).map_err(Error::Failed)
}

impl<'a> Ops<'a> {
    pub fn new(
        config: OpsConfig,
        runbooks: Vec<Runbook>,
        forge: &'a dyn Forge,
        ledger: Ledger,
        env: crate::gha::Env,
    ) -> Result<Self> {
        let http = http_client()?;
        Ok(Self { config, runbooks, forge, ledger, model: None, env, http, dry_run: forge.is_dry_run() })
    }

    fn runbook(&self, name: &str) -> Option<&Runbook> {
        self.runbooks.iter().find(|r| r.name == name)
    }

    fn executor(&self, runbook: &Runbook, alert: &Alert) -> Executor<'a> {
        let names = executor::placeholders(runbook);
        Executor {
            forge: self.forge,
            allow_hosts: self.config.allow_hosts.clone(),
            commands: self.config.commands.iter().map(runbook::CommandLine::argv).collect(),
            command_env: ["PATH", "HOME", "LANG", "TMPDIR"]
                .iter()
                .map(|s| s.to_string())
                .chain(self.config.command_env.iter().cloned())
                .filter_map(|name| self.env.get(&name).map(|v| (name, v.to_string())))
                .collect(),
            vars: executor::vars_for(alert, &self.config.vars, &self.env, &names),
            http: self.http.clone(),
            dry_run: self.dry_run,
        }
    }
}
