//! `homeostat`'s subcommands.

use std::path::PathBuf;

use clap::Subcommand;
use homeostat::init::Command as Job;

#[derive(Debug, Clone, Subcommand)]
pub enum Command {
    /// Write the workflows, .github/homeostat.yml and the policy; create the labels.
    Init {
        #[arg(long, default_value = ".")]
        dir: PathBuf,
        /// OWNER/NAME@SHA the workflows pin (default: a placeholder to replace).
        #[arg(long)]
        action: Option<String>,
        /// The `name:` of your CI workflow (agent-revise follows its failures).
        #[arg(long)]
        ci_workflow: Option<String>,
        #[arg(long)]
        force: bool,
    },
    /// Start `--workflow FILE` on `--ref REF` with `--input key=value` (workflow_dispatch).
    Dispatch {
        #[arg(long)]
        workflow: String,
        #[arg(long = "ref")]
        git_ref: String,
        #[arg(long = "input", value_name = "KEY=VALUE")]
        inputs: Vec<String>,
    },
}

impl From<Command> for Job {
    fn from(c: Command) -> Self {
        match c {
            Command::Init { dir, action, ci_workflow, force } => Self::Init { dir, action, ci_workflow, force },
            Command::Dispatch { workflow, git_ref, inputs } => Self::Dispatch { workflow, git_ref, inputs },
        }
    }
}
