//! hs-agent: drive a coding agent from an auto-fixable issue to one verified draft PR.
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use homeostat::agent::command;
use homeostat_cli::agent::Command;
use homeostat_cli::edge;
use homeostat_cli::flags::{ConfigArgs, ForgeArgs, FormatArgs};

#[derive(Parser)]
#[command(version, about = "Drive a coding agent from an auto-fixable issue to one verified draft PR")]
struct Cli {
    #[command(subcommand)]
    command: Command,
    /// The checkout the agent works in; its `origin` is pushed to.
    #[arg(long, global = true, default_value = ".")]
    repo_dir: PathBuf,
    #[command(flatten)]
    config: ConfigArgs,
    #[command(flatten)]
    forge: ForgeArgs,
    #[command(flatten)]
    format: FormatArgs,
}

fn main() -> ExitCode {
    edge::main(|| {
        let args = Cli::parse();
        let ctx = args.config.context()?;
        Ok(command::main(&ctx, args.command.into(), &args.repo_dir, &args.forge.choice(), args.format.get())?)
    })
}
