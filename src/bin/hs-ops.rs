//! hs-ops: runbooks that match an alert, decide, repair with safe operations, verify, report.
use std::process::ExitCode;

use clap::Parser;
use homeostat::cli::{self, ConfigArgs, ForgeArgs, FormatArgs};
use homeostat::ops::run;

#[derive(Parser)]
#[command(version, about = "Runbooks: match an alert, decide, repair, verify, report")]
struct Cli {
    #[command(flatten)]
    config: ConfigArgs,
    #[command(flatten)]
    forge: ForgeArgs,
    #[command(flatten)]
    format: FormatArgs,
    #[command(subcommand)]
    job: run::Job,
}

fn main() -> ExitCode {
    cli::main(|| {
        let args = Cli::parse();
        let env = homeostat::gha::Env::from_process();
        let session = run::Session::open(args.config.load()?, env)?;
        let code = cli::block_on(run::execute(&session, &args.forge, args.format.format, args.job))??;
        session.finish()?;
        Ok(ExitCode::from(code))
    })
}
