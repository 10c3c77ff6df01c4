//! homeostat: `init` puts homeostat into a repository; `dispatch` starts the next
//! workflow of the loop (the hand-off a workflow token may make).
use std::process::ExitCode;

use clap::Parser;
use homeostat::init;
use homeostat_cli::edge;
use homeostat_cli::flags::{ConfigArgs, ForgeArgs, FormatArgs};
use homeostat_cli::init::Command;

#[derive(Parser)]
#[command(version, about = "Set homeostat up in a repository; start the loop's next workflow")]
struct Cli {
    #[command(subcommand)]
    command: Command,
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
        let forge = ctx.open_forge(&args.forge.choice())?;
        init::main(&ctx, args.command.into(), forge.as_ref(), args.format.get())?;
        Ok(ExitCode::SUCCESS)
    })
}
