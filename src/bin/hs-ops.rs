//! hs-ops: runbooks that match an alert, decide, repair with safe operations, verify, report.
use std::path::Path;
use std::process::ExitCode;

use clap::Parser;
use homeostat::ops::run;
use homeostat_cli::edge;
use homeostat_cli::flags::{ConfigArgs, ForgeArgs, FormatArgs};
use homeostat_cli::ops::Command;

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
    job: Command,
}

fn main() -> ExitCode {
    edge::main(|| {
        let args = Cli::parse();
        let ctx = args.config.context()?;
        let ledger = ctx.ledger(Path::new("."));
        let session = run::Session::open(&ctx, ledger.ledger.clone());
        let job = run::execute(&session, || ctx.open_forge(&args.forge.choice()), args.format.get(), args.job.into());
        let code = ctx.block_on(job);
        ctx.finish_ledger(&ledger);
        Ok(ExitCode::from(code?))
    })
}
