//! hs-content's flags.

use std::path::PathBuf;

use clap::{Args, Subcommand};
use homeostat::content::Command as Job;

/// Flags of hs-content beyond the shared ones.
#[derive(Debug, Clone, Args)]
pub struct RunArgs {
    /// The repository checkout; config paths are relative to it, its `origin` is pushed to.
    #[arg(long, default_value = ".", global = true)]
    pub repo_dir: PathBuf,
    /// The time the run acts at, RFC 3339 (tests and replays; default now).
    #[arg(long, global = true, hide = true)]
    pub now: Option<jiff::Timestamp>,
}

#[derive(Debug, Clone, Subcommand)]
pub enum Command {
    /// Show what the next run would write and why.
    Plan,
    /// Write the next pages, images and social bundles and propose them in one PR (--dry-run: the plan).
    Generate {
        /// Write the files only: no commit, push or PR.
        #[arg(long)]
        no_pr: bool,
    },
    /// Sitemap from live pages; approve the posts maintainers marked.
    Publish {
        /// Propose the changed files in a pull request (branch `<branch_prefix>publish`).
        #[arg(long)]
        pr: bool,
    },
    /// Summarise issues labelled `feedback` into content/feedback/<period>.yml.
    Feedback,
}

impl From<Command> for Job {
    fn from(c: Command) -> Self {
        match c {
            Command::Plan => Self::Plan,
            Command::Generate { no_pr } => Self::Generate { no_pr },
            Command::Publish { pr } => Self::Publish { pr },
            Command::Feedback => Self::Feedback,
        }
    }
}
