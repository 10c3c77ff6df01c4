//! hs-issue: keeps exactly one scrubbed issue per error fingerprint.

use std::process::ExitCode;

use clap::Parser;
use homeostat::cli::{self, ConfigArgs, ForgeArgs, FormatArgs};
use homeostat::input::InputArgs;
use homeostat::{gha, issues, ledger, scrub};

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
    cli::main(|| {
        let args = Args::parse();
        let env = gha::Env::from_process();
        let config = args.config.load()?;
        let engine = homeostat::input::engine_for(&config, None)?;
        let scrubber = scrub::config_scrubber(&config)?;
        let payload = if args.from_event { Some(env.event_payload()?.unwrap_or_default()) } else { None };
        let (groups, stats) = issues::read_groups(&args.input, payload.as_ref(), &engine, &scrubber)?;
        tracing::info!("{} events ({} skipped) in {} fingerprints", stats.events, stats.bad, groups.len());
        let forge = args.forge.open(&env)?;
        let run_ledger = ledger::RunLedger::open(&config, &env);
        let outcomes = cli::block_on(issues::run(forge.as_ref(), &config, &run_ledger.ledger, &scrubber, &groups))??;
        run_ledger.finish();
        issues::emit(&outcomes, args.format.format, &gha::Actions::new(&env))?;
        Ok(ExitCode::SUCCESS)
    })
}
