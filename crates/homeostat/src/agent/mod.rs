//! The coding agent (hs-agent): from an auto-fixable issue to one verified draft pull
//! request, safely.
//!
//! [`run`] goes through four stages (`stages/`): authorize (trigger → permission →
//! policy class → route → budget) → prepare (one PR per issue, by marker → where to start
//! → context bundle → prompt) → run (agent with an env allowlist, a deadline on its
//! process group, pushes disabled → no change? → bot commit → guard) → publish (push →
//! open or update the draft PR → labels and board → re-read branch and PR from the
//! forge). A run that cannot prove the branch and PR exist fails (exit 1).

pub mod adapter;
pub mod bridge;
pub mod command;
pub use crate::settings::agent as config;
pub mod context;
pub mod git;
pub mod pr;
pub mod runner;
pub mod sandbox;
mod stages;
pub mod trigger;

use serde::Serialize;

pub use config::{AdapterKind, AgentBudget, AgentDef, AgentsConfig};
pub use trigger::{Mode, Trigger, TriggerKind};

use crate::error::{Error, Result};
use crate::forge::{Forge, upsert_comment};
use crate::gha::Env;
use crate::ledger::Ledger;
use crate::prompt::Prompts;
use crate::settings::Config;
use stages::Stop;

/// How a run ended (DESIGN.md "Agent config and interface").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Outcome {
    PrOpened,
    PrUpdated,
    NoChange,
    BlockedByGuard,
    RefusedPermission,
    RefusedClass,
    OverBudget,
    AgentFailed,
    AgentTimeout,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::PrOpened => "pr-opened",
            Self::PrUpdated => "pr-updated",
            Self::NoChange => "no-change",
            Self::BlockedByGuard => "blocked-by-guard",
            Self::RefusedPermission => "refused-permission",
            Self::RefusedClass => "refused-class",
            Self::OverBudget => "over-budget",
            Self::AgentFailed => "agent-failed",
            Self::AgentTimeout => "agent-timeout",
        }
    }

    /// The agent itself failed: the job should show red.
    pub fn is_failure(self) -> bool {
        matches!(self, Self::AgentFailed | Self::AgentTimeout)
    }
}

/// The run's result: `{"issue", "outcome", "class", "branch", "pr", "guard", "reason"}`.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub issue: Option<u64>,
    pub outcome: Outcome,
    pub class: Option<String>,
    pub branch: Option<String>,
    pub pr: Option<u64>,
    pub guard: Option<crate::guard::Verdict>,
    /// One sentence on why, for people.
    pub reason: String,
}

/// Where a run works and what it remembers.
pub struct Options {
    pub checkout: git::Checkout,
    pub ledger: Ledger,
    pub prompts: Prompts,
    /// Scrubs what leaves the machine (issue text in the prompt, agent output in comments and the PR).
    pub scrubber: crate::scrub::Scrubber,
    /// `--dry-run`: stop before the agent runs (nothing spent, checked out or pushed).
    pub dry_run: bool,
}

/// Marker of the one status comment hs-agent keeps on an issue (edited in place).
pub const STATUS_MARKER: &str = crate::markers::tag::AGENT_STATUS;

/// The branch for an issue.
pub fn branch_for(issue: u64) -> String {
    format!("{}{issue}", trigger::BRANCH_PREFIX)
}

/// Runs the agent for one trigger. Designed endings (refusals, no change, a blocked
/// change, a failed agent) are `Ok` with their outcome, told on the issue or PR thread in
/// one status comment; a run that could not do or prove its writes is `Err`.
pub async fn run(forge: &dyn Forge, config: &Config, env: &Env, trigger: &Trigger, opts: &Options) -> Result<Report> {
    let issue_number = stages::issue_number(forge, trigger).await?;
    let mut report = Report {
        issue: Some(issue_number),
        outcome: Outcome::NoChange,
        class: None,
        branch: None,
        pr: None,
        guard: None,
        reason: String::new(),
    };
    // A revise is answered on its PR; a finished run on the issue it fixes.
    let mut thread = trigger.pr.unwrap_or(issue_number);
    let ending = async {
        let allowed = stages::authorize(forge, config, trigger, opts, &mut report).await?;
        let prepared = stages::prepare(forge, trigger, opts, &allowed, &mut report).await?;
        let ran = stages::run_agent(config, env, trigger, opts, &allowed, &prepared, &mut report)?;
        let published = stages::publish(forge, trigger, opts, &allowed, &prepared, &ran, &mut report).await?;
        thread = issue_number;
        Ok(published)
    }
    .await;
    let (outcome, reason) = match ending {
        Ok(published) => published,
        Err(Stop::End(outcome, reason)) => (outcome, reason),
        Err(Stop::DryRun(reason)) => {
            report.reason = reason;
            return Ok(report);
        }
        Err(Stop::Fail(e)) => return Err(e),
    };
    report.outcome = outcome;
    report.reason.clone_from(&reason);
    let body = format!("**homeostat agent: `{}`**\n\n{reason}", outcome.as_str());
    if thread > 0 {
        upsert_comment(forge, thread, &crate::markers::Marker::tag(STATUS_MARKER), &body).await?;
    }
    Ok(report)
}

/// What `hs-agent fix|revise` was asked on the command line.
#[derive(Debug, Clone, Default)]
pub struct Request {
    /// The issue to fix (in Actions, without --issue or --pr: read from the event).
    pub issue: Option<u64>,
    /// revise: the bot's pull request to revise.
    pub pr: Option<u64>,
    /// Who asked (default: $GITHUB_ACTOR); their permission is read from the forge.
    pub actor: Option<String>,
    /// revise: what to change.
    pub feedback: Option<String>,
}

/// The trigger for a command line run: the numbers given, else the Actions event.
/// `None` means the event is not for hs-agent.
pub fn resolve_trigger(mode: Mode, request: &Request, env: &Env) -> Result<Option<Trigger>> {
    if request.issue.is_none()
        && request.pr.is_none()
        && let (Some(name), Some(payload)) = (env.event_name(), env.event_payload()?)
    {
        return trigger::from_event(name, &payload);
    }
    let actor = request.actor.clone().or_else(|| env.get(crate::gha::vars::GITHUB_ACTOR).map(str::to_string));
    Ok(Some(Trigger::command(
        mode,
        request.issue,
        request.pr,
        actor.as_deref().unwrap_or_default(),
        request.feedback.clone(),
    )))
}

/// Opens the checkout and prompts for a run in `repo_dir`, over the run's ledger.
pub fn options(
    config: &Config,
    env: &Env,
    forge: &dyn Forge,
    repo_dir: &std::path::Path,
    ledger: Ledger,
) -> Result<Options> {
    let mut checkout = git::Checkout::new(repo_dir);
    if forge.kind() == "github"
        && let Some(token) = env.token()
    {
        let server = env.get(crate::gha::vars::GITHUB_SERVER_URL).unwrap_or("https://github.com");
        checkout = checkout.with_token(server, token);
    }
    let prompts = match config.source.as_ref().and_then(|s| s.parent()) {
        Some(dir) => Prompts::with_overrides(&dir.join("prompts"))?,
        None => Prompts::builtin()?,
    };
    let scrubber = crate::scrub::config_scrubber(config)?;
    Ok(Options { checkout, ledger, prompts, scrubber, dry_run: forge.is_dry_run() })
}

/// What a run whose event is not a request for the agent says (and its exit code).
pub fn not_for_us() -> std::process::ExitCode {
    eprintln!("hs-agent: the event is not a request for the agent; nothing to do");
    std::process::ExitCode::SUCCESS
}

/// After the bot's pull request merged: [`pr::record_merged`].
pub async fn merged(forge: &dyn Forge, opts: &Options, pr_number: u64) -> Result<pr::Merged> {
    pr::record_merged(forge, &opts.ledger, &opts.prompts, pr_number).await
}

/// Writes the report to the Actions outputs and step summary (no-ops elsewhere).
pub fn publish(report: &Report, env: &Env) -> Result<()> {
    let actions = crate::gha::Actions::new(env);
    actions.set_output("outcome", report.outcome.as_str())?;
    actions.set_output("pr", &report.pr.map(|p| p.to_string()).unwrap_or_default())?;
    actions.set_output("branch", report.branch.as_deref().unwrap_or_default())?;
    actions.set_output("result", &serde_json::to_string(report).map_err(|e| Error::Failed(e.to_string()))?)?;
    let issue = report.issue.map_or_else(String::new, |i| format!("#{i}"));
    let mut summary = format!("### hs-agent {issue}: `{}`\n\n{}\n", report.outcome.as_str(), report.reason);
    if let Some(verdict) = &report.guard {
        summary.push('\n');
        summary.push_str(&crate::guard::report::markdown(verdict));
    }
    actions.append_summary(&summary)
}
