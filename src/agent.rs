//! hs-agent's flags.

use clap::{Args, Subcommand};
use homeostat::agent::Request;
use homeostat::agent::command::Job;

/// What `hs-agent fix|revise` is asked.
#[derive(Debug, Clone, Default, Args)]
pub struct RequestArgs {
    /// The issue to fix (in Actions, without --issue or --pr: read from the event).
    #[arg(long)]
    pub issue: Option<u64>,
    /// revise: the bot's pull request to revise.
    #[arg(long)]
    pub pr: Option<u64>,
    /// Who asked (default: $GITHUB_ACTOR); their permission is read from the forge.
    #[arg(long)]
    pub actor: Option<String>,
    /// revise: what to change.
    #[arg(long)]
    pub feedback: Option<String>,
}

impl From<RequestArgs> for Request {
    fn from(a: RequestArgs) -> Self {
        Self { issue: a.issue, pr: a.pr, actor: a.actor, feedback: a.feedback }
    }
}

#[derive(Debug, Clone, Subcommand)]
pub enum Command {
    /// Fix an issue: `--issue N [--actor LOGIN]`.
    Fix(RequestArgs),
    /// Revise the bot's pull request: `--pr N --feedback TEXT [--actor LOGIN]`.
    Revise(RequestArgs),
    /// After the bot's pull request merged: close its issue, move it to done, record it.
    Merged {
        #[arg(long)]
        pr: u64,
    },
}

impl From<Command> for Job {
    fn from(c: Command) -> Self {
        match c {
            Command::Fix(r) => Self::Fix(r.into()),
            Command::Revise(r) => Self::Revise(r.into()),
            Command::Merged { pr } => Self::Merged { pr },
        }
    }
}
