//! hs-agent's run, from what it was asked to an exit code, so the binary only wires flags.

use std::path::Path;
use std::process::ExitCode;

use super::{Mode, Request};
use crate::app::{Context, ForgeChoice};
use crate::error::Result;
use crate::output::{OutputFormat, print_json};

/// What hs-agent was asked to do.
#[derive(Debug, Clone)]
pub enum Job {
    /// Fix an issue.
    Fix(Request),
    /// Revise the bot's pull request.
    Revise(Request),
    /// After the bot's pull request merged: close its issue, move it to done, record it.
    Merged { pr: u64 },
}

/// Runs one job: the trigger resolved (an event not for hs-agent exits quietly), the
/// forge and the ledger opened once, the outcome published and printed.
pub fn main(ctx: &Context, job: Job, repo_dir: &Path, forge: &ForgeChoice, format: OutputFormat) -> Result<ExitCode> {
    let trigger = match &job {
        Job::Merged { .. } => None,
        Job::Fix(request) | Job::Revise(request) => {
            let mode = if matches!(job, Job::Fix(_)) { Mode::Fix } else { Mode::Revise };
            match super::resolve_trigger(mode, request, &ctx.env)? {
                None => return Ok(super::not_for_us()),
                trigger => trigger,
            }
        }
    };
    let forge = ctx.open_forge(forge)?;
    let session = ctx.ledger(repo_dir);
    let options = super::options(&ctx.config, &ctx.env, forge.as_ref(), repo_dir, session.ledger.clone())?;
    let outcome = match (&trigger, &job) {
        (Some(t), _) => ctx.block_on(super::run(forge.as_ref(), &ctx.config, &ctx.env, t, &options)).map(Ok),
        (None, Job::Merged { pr }) => ctx.block_on(super::merged(forge.as_ref(), &options, *pr)).map(Err),
        (None, _) => return Ok(super::not_for_us()),
    };
    ctx.finish_ledger(&session);
    match outcome? {
        Err(merged) => print_json(format, &merged).map(|()| ExitCode::SUCCESS),
        Ok(report) => {
            super::publish(&report, &ctx.env)?;
            match format {
                OutputFormat::Text => eprintln!("{}: {}", report.outcome.as_str(), report.reason),
                format => print_json(format, &report)?,
            }
            Ok(if report.outcome.is_failure() { ExitCode::FAILURE } else { ExitCode::SUCCESS })
        }
    }
}
