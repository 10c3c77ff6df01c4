//! hs-classify's subcommands.

use std::path::PathBuf;

use clap::{Args, Subcommand};
use homeostat::triage::{ClassifyCommand, EventInput};

#[derive(Debug, Clone, Subcommand)]
pub enum Command {
    /// Classify events (one result each) or an issue (then label, comment and move it on the board).
    Error {
        #[command(flatten)]
        event: Option<EventArgs>,
        #[arg(long, value_name = "N", conflicts_with = "event")]
        issue: Option<u64>,
    },
    /// Validate a policy file; show what each rule matches on a sample of events and paths.
    CheckPolicy {
        file: PathBuf,
        #[arg(long, value_name = "EVENTS.jsonl")]
        sample: Option<PathBuf>,
        #[arg(long, value_name = "PATHS.txt")]
        paths: Option<PathBuf>,
    },
    /// The class of each path from the policy's `changes.paths`.
    Path { paths: Vec<String> },
}

/// `--event FILE [--text] [--strict]`: the same inputs as hs-fingerprint.
#[derive(Debug, Clone, Args)]
pub struct EventArgs {
    /// Events: JSON lines, Sentry event JSON, or log text with --text.
    #[arg(long, value_name = "FILE", required = false)]
    pub event: PathBuf,
    /// Read raw log text: every stack trace in it is an event.
    #[arg(long, requires = "event")]
    pub text: bool,
    /// Stop at the first bad line (exit 2) instead of skipping it.
    #[arg(long, requires = "event")]
    pub strict: bool,
}

impl From<Command> for ClassifyCommand {
    fn from(c: Command) -> Self {
        match c {
            Command::Error { event, issue } => Self::Error {
                event: event.map(|e| EventInput { event: e.event, text: e.text, strict: e.strict }),
                issue,
            },
            Command::CheckPolicy { file, sample, paths } => Self::CheckPolicy { file, sample, paths },
            Command::Path { paths } => Self::Path { paths },
        }
    }
}
