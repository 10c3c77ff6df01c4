//! hs-content: scheduled guides and social posts as committed files, proposed in one PR.
use std::process::ExitCode;

use clap::Parser;
use homeostat::cli::{self, ConfigArgs, ForgeArgs, FormatArgs};
use homeostat::content::{Command, RunArgs, Session};

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
    cli::main(|| {
        let args = Args::parse();
        let env = homeostat::gha::Env::from_process();
        let session = Session::open(&args.config.load()?, &args.run.repo_dir, &env, args.run.now)?;
        let report = cli::block_on(session.run(args.command, &args.forge))??;
        session.finish(&report)?;
        cli::print_json(args.format.format, &report)?;
        Ok(ExitCode::SUCCESS)
    })
}
