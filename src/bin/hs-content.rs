//! hs-content: scheduled guides and social posts as committed files, proposed in one PR.
use std::process::ExitCode;

use clap::Parser;
use homeostat::content::Session;
use homeostat::output::print_json;
use homeostat_cli::content::{Command, RunArgs};
use homeostat_cli::edge;
use homeostat_cli::flags::{ConfigArgs, ForgeArgs, FormatArgs};

/// Plan, generate, publish and learn from feedback: guides and social posts as files.
#[derive(Parser)]
#[command(version)]
struct Args {
    #[command(subcommand)]
    command: Command,
    #[command(flatten)]
    config: ConfigArgs,
    #[command(flatten)]
    forge: ForgeArgs,
    #[command(flatten)]
    format: FormatArgs,
    #[command(flatten)]
    run: RunArgs,
}

fn main() -> ExitCode {
    edge::main(|| {
        let args = Args::parse();
        let mut ctx = args.config.context()?;
        if let Some(now) = args.run.now {
            ctx.pin_clock(now);
        }
        let ledger = ctx.ledger(&args.run.repo_dir);
        let session = Session::open(&ctx, &args.run.repo_dir, ledger.ledger.clone())?;
        let choice = args.forge.choice();
        let report = ctx.block_on(session.run(args.command.into(), || ctx.open_forge(&choice), choice.dry_run));
        ctx.finish_ledger(&ledger);
        let report = report?;
        session.finish(&report)?;
        print_json(args.format.get(), &report)?;
        Ok(ExitCode::SUCCESS)
    })
}
