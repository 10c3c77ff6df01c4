//! hs-ops: runbooks that match an alert, decide, repair with safe operations, verify, report.
use std::path::Path;
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
        let ctx = args.config.context()?;
        let ledger = ctx.ledger(Path::new("."));
        let session = run::Session::open(&ctx, ledger.ledger.clone());
        let job = run::execute(&session, || ctx.open_forge(&args.forge.choice()), args.format.format, args.job);
        let code = ctx.block_on(job);
        ctx.finish_ledger(&ledger);
        Ok(ExitCode::from(code?))
    })
}
