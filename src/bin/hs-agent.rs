//! hs-agent: drive a coding agent from an auto-fixable issue to one verified draft PR.
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use homeostat::agent::{self, Mode, Request};
use homeostat::cli::{self, ConfigArgs, ForgeArgs, FormatArgs, OutputFormat};

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

#[derive(Subcommand)]
enum Command {
    /// Fix an issue: `--issue N [--actor LOGIN]`.
    Fix(Request),
    /// Revise the bot's pull request: `--pr N --feedback TEXT [--actor LOGIN]`.
    Revise(Request),
    /// After the bot's pull request merged: close its issue, move it to done, record it.
    Merged {
        #[arg(long)]
        pr: u64,
    },
}

fn main() -> ExitCode {
    cli::main(|| {
        let args = Cli::parse();
        let env = homeostat::gha::Env::from_process();
        let config = args.config.load()?;
        let (mode, request) = match args.command {
            Command::Fix(r) => (Mode::Fix, r),
            Command::Revise(r) => (Mode::Revise, r),
            Command::Merged { pr } => {
                let forge = args.forge.open(&env)?;
                let options = agent::options(&config, &env, forge.as_ref(), &args.repo_dir)?;
                let merged = cli::block_on(agent::merged(forge.as_ref(), &options, pr))??;
                cli::print_json(args.format.format, &merged)?;
                return Ok(ExitCode::SUCCESS);
            }
        };
        let Some(trigger) = agent::resolve_trigger(mode, &request, &env)? else {
            eprintln!("hs-agent: the event is not a request for the agent; nothing to do");
            return Ok(ExitCode::SUCCESS);
        };
        let forge = args.forge.open(&env)?;
        let mut options = agent::options(&config, &env, forge.as_ref(), &args.repo_dir)?;
        options.dry_run = args.forge.dry_run;
        let report = cli::block_on(agent::execute(forge.as_ref(), &config, &env, &trigger, &options))??;
        agent::publish(&report, &env)?;
        match args.format.format {
            OutputFormat::Text => eprintln!("{}: {}", report.outcome.as_str(), report.reason),
            format => cli::print_json(format, &report)?,
        }
        Ok(if report.outcome.is_failure() { ExitCode::FAILURE } else { ExitCode::SUCCESS })
    })
}
