//! Non-breaking checks over a change set, and the verdict (DESIGN.md "Non-breaking
//! guard"). The checks and [`judge`] are pure and live in `homeostat_core::guard`; this
//! module adds running the external checks ([`external::run`]), the command, the merge
//! gate, the report and the trusted-file handling.

pub use homeostat_core::guard::*;

pub mod command;
pub mod external;
pub mod gate;
pub mod merge;
pub mod report;
pub mod run;
pub mod trusted;

pub use external::{ExternalCheck, ExternalOutcome, ExternalResult, GuardConfig, RequiredFor};
