//! hs-report's flags.

use std::path::PathBuf;

use clap::{Args, Subcommand};
use homeostat::report::run::{Job, Window};
use homeostat::settings::Duration;

/// The window the figures cover.
#[derive(Debug, Clone, Args)]
pub struct WindowArgs {
    /// How far back the figures look (default: 30d; 90d for `site`).
    #[arg(long, global = true)]
    pub since: Option<Duration>,
    /// The end of the window, RFC 3339 (default: now).
    #[arg(long, global = true, value_name = "TIMESTAMP")]
    pub until: Option<jiff::Timestamp>,
}

impl From<WindowArgs> for Window {
    fn from(w: WindowArgs) -> Self {
        Self { since: w.since, until: w.until }
    }
}

/// The subcommands of `hs-report` (none: print the figures).
#[derive(Debug, Clone, Subcommand)]
pub enum Command {
    /// Write the static dashboard: index.html, one page per view, style.css.
    Site {
        /// The folder to write (created if missing).
        #[arg(long, value_name = "DIR")]
        out: PathBuf,
    },
    /// Update the living report issue and the step summary, and send notifications.
    Post {
        /// The dashboard's address, linked from the issue and the digest.
        #[arg(long, value_name = "URL")]
        site_url: Option<String>,
    },
}

impl From<Command> for Job {
    fn from(c: Command) -> Self {
        match c {
            Command::Site { out } => Self::Site { out },
            Command::Post { site_url } => Self::Post { site_url },
        }
    }
}
