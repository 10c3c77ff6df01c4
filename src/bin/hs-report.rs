//! hs-report: the loop's figures, a static dashboard, one living report issue, and
//! notifications (Slack, Discord, Teams, a JSON webhook).
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
        let config = args.config.load()?;
        let env = homeostat::gha::Env::from_process();
        let session = homeostat::ledger::RunLedger::open(&config, &env);
        let writes = matches!(args.job, Some(run::Job::Post { .. }));
        let code = cli::block_on(run::execute(
            &config,
            &env,
            &session.ledger,
            &args.forge,
            args.format.format,
            &args.window,
            args.job,
        ))??;
        if writes {
            session.finish();
        }
        Ok(ExitCode::from(code))
    })
}
