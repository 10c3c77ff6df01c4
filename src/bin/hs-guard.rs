//! hs-guard: judges a change (base...head) before anything merges; exit 3 on --fail-on.
use std::{path::PathBuf, process::ExitCode};

use clap::Parser;
use homeostat::cli::{self, ConfigArgs, ForgeArgs, FormatArgs};
use homeostat::guard::{Decision, report, run};
use homeostat::policy::Policy;

#[derive(Parser)]
#[command(version, about = "Judge a change: auto-merge, human-review or blocked")]
struct Args {
    #[arg(long, value_name = "REF")]
    base: String,
    #[arg(long, value_name = "REF", default_value = "HEAD")]
    head: String,
    #[arg(long, value_name = "DIR", default_value = ".")]
    repo_dir: PathBuf,
    /// Policy file (else the config's `policy:`, else the built-in default).
    #[arg(long, value_name = "FILE")]
    policy: Option<PathBuf>,
    /// Exit 3 when the verdict is at or past this.
    #[arg(long, value_enum)]
    fail_on: Option<Decision>,
    /// Comment on and label the pull request (`--pr N`, in Actions the event's); needs a write token.
    #[arg(long)]
    comment: bool,
    #[arg(long, value_name = "N", requires = "comment")]
    pr: Option<u64>,
    /// Do not run the external checks (for a privileged job that must not run the change's code).
    #[arg(long)]
    skip_external: bool,
    #[command(flatten)]
    config: ConfigArgs,
    #[command(flatten)]
    forge: ForgeArgs,
    #[command(flatten)]
    format: FormatArgs,
}

fn main() -> ExitCode {
    cli::main(|| {
        let args = Args::parse();
        let ctx = args.config.context()?;
        let policy = Policy::from_config(&ctx.config, args.policy.as_deref())?;
        let req = run::Request {
            repo_dir: &args.repo_dir,
            base: &args.base,
            head: &args.head,
            skip_external: args.skip_external,
        };
        let (verdict, out) = run::gate(&req, &policy, &ctx.config, args.format.format)?;
        print!("{out}");
        report::write_actions(&ctx.actions(), &verdict)?;
        if let Some(pr) = args.comment.then(|| run::pr_number(&ctx.env, args.pr)).transpose()?.flatten() {
            let forge = ctx.open_forge(&args.forge.choice())?;
            ctx.block_on(report::publish(forge.as_ref(), pr, &verdict))?;
        }
        run::gate_error(&verdict, args.fail_on).map_or(Ok(ExitCode::SUCCESS), |e| Err(e.into()))
    })
}
