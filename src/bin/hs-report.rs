//! hs-report: the loop's figures, a static dashboard, one living report issue, and
//! notifications (Slack, Discord, Teams, a JSON webhook).
use std::path::Path;
use std::process::ExitCode;

use clap::Parser;
use homeostat::report::run;
use homeostat_cli::edge;
use homeostat_cli::flags::{ConfigArgs, ForgeArgs, FormatArgs};
use homeostat_cli::report::{Command, WindowArgs};

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
    window: WindowArgs,
    #[command(subcommand)]
    job: Option<Command>,
}

fn main() -> ExitCode {
    edge::main(|| {
        let args = Cli::parse();
        let ctx = args.config.context()?;
        let ledger = ctx.ledger(Path::new("."));
        let writes = matches!(args.job, Some(Command::Post { .. }));
        let open_forge = || ctx.open_forge(&args.forge.choice());
        let code = ctx.block_on(run::execute(
            &ctx,
            &ledger.ledger,
            open_forge,
            args.format.get(),
            &args.window.clone().into(),
            args.job.map(Into::into),
        ));
        // Only `post` writes (what it notified, when it posted); reading needs no push.
        if writes {
            ctx.finish_ledger(&ledger);
        }
        Ok(ExitCode::from(code?))
    })
}
