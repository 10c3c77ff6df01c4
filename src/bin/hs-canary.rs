//! hs-canary: watch a canary's metrics, decide promote | rollback | inconclusive, and run
//! `on_promote` / `on_rollback` (a command, or a revert pull request).

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use homeostat::canary::{self, FailOn, RunOptions};
use homeostat::cli::{self, ConfigArgs, ForgeArgs, FormatArgs, OutputFormat};

#[derive(Parser)]
#[command(version, about = "Watch a canary release; promote it or roll it back")]
struct Args {
    #[command(flatten)]
    config: ConfigArgs,
    #[command(flatten)]
    forge: ForgeArgs,
    #[command(flatten)]
    format: FormatArgs,
    /// Exit 3 on rollback (`rollback`) or on anything but promote (`inconclusive`).
    #[arg(long, value_enum)]
    fail_on: Option<FailOn>,
    /// On rollback, open a revert PR for this merge commit (replaces `on_rollback`).
    #[arg(long, value_name = "REV")]
    revert: Option<String>,
    /// The issue the reverted change fixed (default: `Fixes #N` in the commit or its PR).
    #[arg(long, value_name = "N")]
    issue: Option<u64>,
    /// Where the JSON report and SVG charts are written.
    #[arg(long, value_name = "DIR", default_value = ".homeostat/canary")]
    out_dir: PathBuf,
    /// The checkout: commands run here, reverts are built here and pushed to its origin.
    #[arg(long, value_name = "DIR", default_value = ".")]
    repo_dir: PathBuf,
}

fn main() -> ExitCode {
    cli::main(|| {
        let args = Args::parse();
        let ctx = args.config.context()?;
        let (out_dir, repo_dir, revert, issue) = (args.out_dir, args.repo_dir, args.revert, args.issue);
        let opts = RunOptions { out_dir, repo_dir, revert, issue, dry_run: args.forge.dry_run, wait: true };
        let needs_forge = canary::needs_forge(canary::section(&ctx.config)?, &opts);
        let forge = if needs_forge { Some(ctx.open_forge(&args.forge.choice())?) } else { None };
        let session = ctx.ledger(&opts.repo_dir);
        let actions = ctx.actions();
        let watch = canary::run(&ctx.config, &opts, forge.as_deref(), &ctx.env, &actions, &session.ledger);
        let outcome = ctx.block_on(watch)?;
        ctx.finish_ledger(&session);
        match args.format.format {
            OutputFormat::Text => {
                println!("{}: {}", outcome.report.decision.as_str(), outcome.report.reason);
                print!("{}", canary::chart::measurements_table(&outcome.report));
            }
            format => cli::print_json(format, &outcome)?,
        }
        outcome.verdict(args.fail_on)?;
        Ok(ExitCode::SUCCESS)
    })
}
