//! hs-guard: judges a change (base...head) before anything merges; exit 3 on --fail-on.
//! `--merge-gate N [--merge]` judges pull request N for merging, and merges it.
use std::process::ExitCode;

use clap::Parser;
use homeostat::cli;
use homeostat::guard::command::{self, Options};

#[derive(Parser)]
#[command(version, about = "Judge a change: auto-merge, human-review or blocked; or a pull request for merging")]
struct Args {
    #[command(flatten)]
    options: Options,
}

fn main() -> ExitCode {
    cli::main(|| command::main(Args::parse().options))
}
