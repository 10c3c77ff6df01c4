//! hs-canary: watch a canary's metrics, decide promote | rollback | inconclusive, and run
//! `on_promote` / `on_rollback` (a command, or a revert pull request).

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use homeostat::canary::{self, RunOptions};
use homeostat_cli::canary::FailOn;
use homeostat_cli::edge;
use homeostat_cli::flags::{ConfigArgs, ForgeArgs, FormatArgs};

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
    edge::main(|| {
        let args = Args::parse();
        let ctx = args.config.context()?;
        let (out_dir, repo_dir, revert, issue) = (args.out_dir, args.repo_dir, args.revert, args.issue);
        let opts = RunOptions { out_dir, repo_dir, revert, issue, dry_run: args.forge.dry_run, wait: true };
        let fail_on = args.fail_on.map(Into::into);
        canary::command::main(&ctx, &opts, &args.forge.choice(), args.format.get(), fail_on)?;
        Ok(ExitCode::SUCCESS)
    })
}
