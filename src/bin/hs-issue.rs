//! hs-issue: keeps exactly one scrubbed issue per error fingerprint.

use std::path::Path;
use std::process::ExitCode;

use clap::Parser;
use homeostat::{issues, scrub};
use homeostat_cli::edge;
use homeostat_cli::flags::InputArgs;
use homeostat_cli::flags::{ConfigArgs, ForgeArgs, FormatArgs};

/// Turn production errors into one de-duplicated, scrubbed issue per fingerprint.
#[derive(Parser)]
#[command(name = "hs-issue", version)]
struct Args {
    #[command(flatten)]
    input: InputArgs,
    /// Read the events from the repository_dispatch payload at $GITHUB_EVENT_PATH.
    #[arg(long, conflicts_with = "files")]
    from_event: bool,
    #[command(flatten)]
    config: ConfigArgs,
    #[command(flatten)]
    forge: ForgeArgs,
    #[command(flatten)]
    format: FormatArgs,
}

fn main() -> ExitCode {
    edge::main(|| {
        let args = Args::parse();
        let ctx = args.config.context()?;
        let engine = homeostat::input::engine_for(&ctx.config, None)?;
        let scrubber = scrub::config_scrubber(&ctx.config)?;
        let payload = if args.from_event { Some(ctx.env.event_payload()?.unwrap_or_default()) } else { None };
        let (groups, stats) = issues::read_groups(&args.input.clone().into(), payload.as_ref(), &engine, &scrubber)?;
        let feedback = match (&payload, ctx.env.event_path()) {
            (Some(p), Some(file)) => issues::feedback::from_payload(&file.display().to_string(), p)?,
            _ => Vec::new(),
        };
        tracing::info!("{} events ({} skipped) in {} fingerprints", stats.events, stats.bad, groups.len());
        let forge = ctx.open_forge(&args.forge.choice())?;
        let session = ctx.ledger(Path::new("."));
        let outcomes = ctx.block_on(issues::run(forge.as_ref(), &ctx.config, &session.ledger, &scrubber, &groups))?;
        let filed =
            ctx.block_on(issues::feedback::file(forge.as_ref(), &ctx.config, &session.ledger, &scrubber, &feedback))?;
        ctx.finish_ledger(&session);
        issues::emit(&outcomes, args.format.get(), &ctx.actions())?;
        issues::feedback::emit(&filed, &ctx.actions())?;
        Ok(ExitCode::SUCCESS)
    })
}
