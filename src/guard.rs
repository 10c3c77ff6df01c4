//! hs-guard's flags.

use std::path::PathBuf;

use clap::Args;
use homeostat::guard::Decision;
use homeostat::guard::command::Options;
use homeostat::guard::merge::Target;

use crate::flags::{ConfigArgs, ForgeArgs, FormatArgs};

crate::value_enum! {
    /// A guard verdict, for `--fail-on`.
    Verdict => Decision { AutoMerge, HumanReview, Blocked }
}

#[derive(Debug, Clone, Args)]
pub struct GuardArgs {
    /// The trusted side of the change (its config and policy are the ones applied).
    #[arg(long, value_name = "REF", required_unless_present = "merge_gate")]
    pub base: Option<String>,
    #[arg(long, value_name = "REF", default_value = "HEAD")]
    pub head: String,
    #[arg(long, value_name = "DIR", default_value = ".")]
    pub repo_dir: PathBuf,
    /// Policy file (else the config's `policy:`, else the built-in default).
    #[arg(long, value_name = "FILE")]
    pub policy: Option<PathBuf>,
    /// Exit 3 when the verdict is at or past this (for people's pull requests only when
    /// `guard.required_for: everyone`).
    #[arg(long, value_enum)]
    pub fail_on: Option<Verdict>,
    /// Comment on and label the pull request (`--pr N`, in Actions the event's); needs a write token.
    #[arg(long)]
    pub comment: bool,
    #[arg(long, value_name = "N", requires = "comment")]
    pub pr: Option<u64>,
    /// Do not run the external checks (for a privileged job that must not run the change's code).
    #[arg(long)]
    pub skip_external: bool,
    /// Judge pull request N (or `all` open `homeostat/fix-*` ones) for merging: homeostat's
    /// own PR, its error class, the guard with the default branch's config and policy,
    /// the required checks.
    #[arg(long, value_name = "N|all", conflicts_with_all = ["base", "comment"])]
    pub merge_gate: Option<Target>,
    /// With --merge-gate: merge when every condition holds.
    #[arg(long, requires = "merge_gate")]
    pub merge: bool,
    #[command(flatten)]
    pub config: ConfigArgs,
    #[command(flatten)]
    pub forge: ForgeArgs,
    #[command(flatten)]
    pub format: FormatArgs,
}

impl From<GuardArgs> for Options {
    fn from(a: GuardArgs) -> Self {
        Self {
            base: a.base,
            head: a.head,
            repo_dir: a.repo_dir,
            policy: a.policy,
            fail_on: a.fail_on.map(Into::into),
            comment: a.comment,
            pr: a.pr,
            skip_external: a.skip_external,
            merge_gate: a.merge_gate,
            merge: a.merge,
            config: a.config.config,
            forge: a.forge.choice(),
            format: a.format.get(),
        }
    }
}
