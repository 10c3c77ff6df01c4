//! hs-guard: judges a change (base...head) before anything merges; exit 3 on --fail-on.
//! `--merge-gate N [--merge]` judges pull request N for merging, and merges it.
use std::process::ExitCode;

use clap::Parser;
use homeostat::guard::command;
use homeostat_cli::edge;
use homeostat_cli::guard::GuardArgs;

#[derive(Parser)]
#[command(version, about = "Judge a change: auto-merge, human-review or blocked; or a pull request for merging")]
struct Args {
    #[command(flatten)]
    options: GuardArgs,
}

fn main() -> ExitCode {
    edge::main(|| Ok(command::main(Args::parse().options.into())?))
}
