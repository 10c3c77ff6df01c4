//! hs-canary's run, so the binary only wires flags: watch, decide, act, record, print.

use super::{FailOn, RunOptions};
use crate::app::{Context, ForgeChoice};
use crate::error::Result;
use crate::output::{OutputFormat, print_json};

/// Watches the canary as `opts` say; the forge is opened only when a decision needs it.
/// Ok, or the error the binary exits with (1 an action failed, 3 a `fail_on` decision).
pub fn main(
    ctx: &Context,
    opts: &RunOptions,
    forge: &ForgeChoice,
    format: OutputFormat,
    fail_on: Option<FailOn>,
) -> Result<()> {
    let needs_forge = super::needs_forge(super::section(&ctx.config)?, opts);
    let forge = if needs_forge { Some(ctx.open_forge(forge)?) } else { None };
    let session = ctx.ledger(&opts.repo_dir);
    let actions = ctx.actions();
    let watch = super::run(&ctx.config, opts, forge.as_deref(), &ctx.env, &actions, &session.ledger);
    let outcome = ctx.block_on(watch)?;
    ctx.finish_ledger(&session);
    match format {
        OutputFormat::Text => {
            println!("{}: {}", outcome.report.decision.as_str(), outcome.report.reason);
            print!("{}", super::chart::measurements_table(&outcome.report));
        }
        format => print_json(format, &outcome)?,
    }
    outcome.verdict(fail_on)
}
