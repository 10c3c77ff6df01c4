//! hs-report: the loop's figures, a static dashboard, one living report issue, and
//! notifications (Slack, Discord, Teams, a JSON webhook).
use std::path::Path;
use std::process::ExitCode;

use clap::Parser;
use homeostat::cli::{self, ConfigArgs, ForgeArgs, FormatArgs};
use homeostat::report::run;

#[derive(Parser)]
#[command(version, about = "The loop at a glance: figures, a dashboard site, the living report, notifications")]
struct Cli {
    #[command(flatten)]
    config: ConfigArgs,
    #[command(flatten)]
    forge: ForgeArgs,
    #[command(flatten)]
    format: FormatArgs,
    #[command(flatten)]
    window: run::Window,
    #[command(subcommand)]
    job: Option<run::Job>,
}

fn main() -> ExitCode {
    cli::main(|| {
        let args = Cli::parse();
        let ctx = args.config.context()?;
        let ledger = ctx.ledger(Path::new("."));
        let writes = matches!(args.job, Some(run::Job::Post { .. }));
        let open_forge = || ctx.open_forge(&args.forge.choice());
        let code =
            ctx.block_on(run::execute(&ctx, &ledger.ledger, open_forge, args.format.format, &args.window, args.job));
        // Only `post` writes (what it notified, when it posted); reading needs no push.
        if writes {
            ctx.finish_ledger(&ledger);
        }
        Ok(ExitCode::from(code?))
    })
}
