//! hs-report: the loop at a glance. The figures over a window ([`figures`], pure), a
//! static dashboard ([`site`]), one living report issue ([`living`]) and notifications
//! where people are ([`notify`], [`payload`]); [`run`] wires them for the binary.
//!
//! Everything is read from the ledger; docs/report.md defines each figure.

pub mod figures;
pub mod living;
pub mod notify;
pub mod payload;
pub mod run;
pub mod site;

pub use figures::{Budgets, Figures, compute};
pub use notify::NotifyConfig;

/// The ledger kinds the report reads, in one place: the registry's, plus those only the
/// report and its writers share so far.
pub mod kinds {
    pub use crate::ledger::kinds::*;
    /// One runbook run (hs-ops); key = runbook; fields `outcome`, `seconds`.
    pub const OPS_RUN: &str = homeostat_core::ops::decide::RUN;
    /// A runbook escalated to a person (hs-ops); key = runbook; fields `issue`, `reason`.
    pub const OPS_ESCALATION: &str = homeostat_core::ops::decide::ESCALATION;
    /// hs-report post updated the living report; key = `issue`; fields `issue`, `quiet`.
    pub const REPORT_POSTED: &str = "report.posted";
    /// A notice went (or was held back) to a destination; key = destination; fields
    /// `source` (the ledger line's id), `event`, `suppressed`.
    pub const REPORT_NOTIFIED: &str = "report.notified";
    /// hs-cluster linked an issue to its likely duplicates; key = `owner/name#n`.
    pub const CLUSTER_LINKED: &str = crate::cluster::forge::LINKED;
    /// The maintainer's reaction to such a link; field `reaction`: `confirmed` or `rejected`.
    pub const CLUSTER_REACTION: &str = crate::cluster::forge::REACTION;
}
