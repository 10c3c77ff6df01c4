//! [`super::run`] in four stages, each returning what the next needs or the ending the
//! run comes to: [`authorize`] (who asked, which issue, its class, the agent, the budget)
//! → [`prepare`] (one PR per issue, where to start, the prompt) → [`run_agent`] (the
//! agent in its sandbox, what it left, the bot commit and the guard) → [`publish`] (push,
//! the draft PR, labels, re-read). Only `super::run` writes to the issue thread.

mod authorize;
mod prepare;
mod publish;
mod run_agent;

pub(super) use authorize::{Authorized, authorize, issue_number};
pub(super) use prepare::{Prepared, prepare};
pub(super) use publish::publish;
pub(super) use run_agent::{Ran, run_agent};

use super::Outcome;
use crate::error::Error;

/// Why a stage stops the run.
pub(super) enum Stop {
    /// A designed ending (a refusal, no change, a blocked change, a failed agent): the
    /// thread is told why and the run succeeds.
    End(Outcome, String),
    /// `--dry-run` reached the agent: the report says what would run; nothing is written.
    DryRun(String),
    /// The run could not do or prove its writes.
    Fail(Error),
}

impl From<Error> for Stop {
    fn from(e: Error) -> Self {
        Stop::Fail(e)
    }
}

impl From<crate::forge::ForgeError> for Stop {
    fn from(e: crate::forge::ForgeError) -> Self {
        Stop::Fail(e.into())
    }
}

pub(super) type Stage<T> = std::result::Result<T, Stop>;
