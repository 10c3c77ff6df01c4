//! hs-ops's subcommands.

use std::path::PathBuf;

use clap::Subcommand;
use homeostat::ops::Mode;
use homeostat::ops::run::{Job, ReportTarget};
use homeostat::settings::Duration;

crate::value_enum! {
    /// `--mode`: overrides ops.mode.
    OpsMode => Mode {
        /// Diagnose and report; never act.
        Diagnose,
        /// Act only after a maintainer comments `/approve` on the approval issue.
        Approve,
        /// Act when the decision engine allows it.
        Auto,
    }
}

crate::value_enum! {
    /// Where `hs-ops report` sends the markdown.
    Target => ReportTarget {
        /// stdout (and the step summary in Actions).
        Summary,
        /// The one issue labelled `homeostat:ops-report`, updated in place.
        Issue,
        /// The Slack-compatible webhook named by `ops.webhook_env`.
        Webhook,
    }
}

#[derive(Debug, Clone, Subcommand)]
pub enum Command {
    /// Check every runbook in a folder (default: the config's ops.sops).
    Lint { dir: Option<PathBuf> },
    /// Handle an alert: Alertmanager v4 JSON, our alert JSON (`-` for stdin), or an issue;
    /// in Actions without either, the triggering event.
    Handle {
        /// Alert file: an Alertmanager v4 message, our alert JSON, or a repository_dispatch event; `-` reads stdin.
        #[arg(long, value_name = "FILE", conflicts_with = "issue")]
        alert: Option<PathBuf>,
        /// An issue whose title and body are the alert.
        #[arg(long, value_name = "N")]
        issue: Option<u64>,
        /// Overrides ops.mode.
        #[arg(long, value_enum)]
        mode: Option<OpsMode>,
    },
    /// Continue from a maintainer's `/approve` (or `/reject`) on approval issue N, or on
    /// every open approval issue without `--issue` (for a scheduled sweep).
    Approve {
        /// The approval issue (default: every open one).
        #[arg(long, value_name = "N")]
        issue: Option<u64>,
    },
    /// Write the report of what happened since a time ago (e.g. 24h).
    Report {
        /// How far back the report looks.
        #[arg(long, default_value = "24h")]
        since: Duration,
        /// Where the markdown goes besides stdout and the step summary.
        #[arg(long, value_enum, default_value = "summary")]
        to: Target,
    },
}

impl From<Command> for Job {
    fn from(c: Command) -> Self {
        match c {
            Command::Lint { dir } => Self::Lint { dir },
            Command::Handle { alert, issue, mode } => Self::Handle { alert, issue, mode: mode.map(Into::into) },
            Command::Approve { issue } => Self::Approve { issue },
            Command::Report { since, to } => Self::Report { since, to: to.into() },
        }
    }
}
