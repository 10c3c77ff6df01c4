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
        let ctx = args.config.context()?;
        let no_request = Request::default();
        let (mode, request) = match &args.command {
            Command::Fix(r) => (Mode::Fix, r),
            Command::Revise(r) => (Mode::Revise, r),
            Command::Merged { .. } => (Mode::Fix, &no_request),
        };
        let trigger = match args.command {
            Command::Merged { .. } => None,
            _ => match agent::resolve_trigger(mode, request, &ctx.env)? {
                None => return Ok(agent::not_for_us()),
                trigger => trigger,
            },
        };
        let forge = ctx.open_forge(&args.forge.choice())?;
        let session = ctx.ledger(&args.repo_dir);
        let options = agent::options(&ctx.config, &ctx.env, forge.as_ref(), &args.repo_dir, session.ledger.clone())?;
        let outcome = match (&trigger, &args.command) {
            (Some(t), _) => ctx.block_on(agent::run(forge.as_ref(), &ctx.config, &ctx.env, t, &options)).map(Ok),
            (None, Command::Merged { pr }) => ctx.block_on(agent::merged(forge.as_ref(), &options, *pr)).map(Err),
            (None, _) => return Ok(agent::not_for_us()),
        };
        ctx.finish_ledger(&session);
        match outcome? {
            Err(merged) => cli::print_json(args.format.format, &merged).map(|()| ExitCode::SUCCESS),
            Ok(report) => {
                agent::publish(&report, &ctx.env)?;
                match args.format.format {
                    OutputFormat::Text => eprintln!("{}: {}", report.outcome.as_str(), report.reason),
                    format => cli::print_json(format, &report)?,
                }
                Ok(if report.outcome.is_failure() { ExitCode::FAILURE } else { ExitCode::SUCCESS })
            }
        }
    })
}
