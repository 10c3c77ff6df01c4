//! hs-classify: how risky is a fix for this error (`error`), is a policy sound
//! (`check-policy`), which class does a changed path take (`path`).
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use homeostat::triage;
use homeostat_cli::classify;
use homeostat_cli::edge;
use homeostat_cli::flags::{ConfigArgs, ForgeArgs, FormatArgs};

#[derive(Parser)]
#[command(version, about = "Classify errors and paths by the risk policy")]
struct Args {
    #[command(subcommand)]
    command: classify::Command,
    #[command(flatten)]
    config: ConfigArgs,
    /// Policy file (else the config's `policy:`, else the built-in default).
    #[arg(long, value_name = "FILE", global = true)]
    policy: Option<PathBuf>,
    #[command(flatten)]
    forge: ForgeArgs,
    #[command(flatten)]
    format: FormatArgs,
}

fn main() -> ExitCode {
    edge::main(|| {
        let args = Args::parse();
        let ctx = args.config.context()?;
        let choice = args.forge.choice();
        let out = triage::run_command(&ctx, args.command.into(), args.policy.as_deref(), &choice, args.format.get())?;
        print!("{out}");
        Ok(ExitCode::SUCCESS)
    })
}
