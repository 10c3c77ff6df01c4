//! homeostat keeps a software project in balance on its own.
//!
//! Production errors become fingerprinted ([`fingerprint`]), de-duplicated issues
//! ([`issues`]); a policy ([`policy`]) decides which of them a coding agent ([`agent`])
//! may try to fix; the agent's change must pass non-breaking checks ([`guard`] over a
//! [`diff`]); a canary watch ([`canary`]) rolls a bad release back; runbooks ([`ops`])
//! repair known faults; scheduled jobs write guides and posts ([`content`]).
//!
//! The pure engines (`event`, `fingerprint`, `scrub`, `policy`, `guard` checks,
//! `canary::judge`, `ops` runbooks and decisions, `markers`, `diff` types, `parse`) live
//! in the `homeostat_core` crate, which does no I/O by construction; this library
//! re-exports them under these paths and adds the I/O beside them. The network, the
//! environment, files and money go through [`forge`], [`gha`], [`ledger`] and [`llm`]. The
//! binaries and their flags live in the `homeostat-cli` package; this library does not
//! know about command lines.

pub mod agent;
pub mod app;
pub mod canary;
pub mod clock;
pub mod cluster;
pub mod content;
pub mod diff;
pub mod error;
pub mod files;
pub use homeostat_core::event;
pub mod fingerprint;
pub mod forge;
pub mod gha;
pub mod git;
pub mod guard;
pub mod http;
pub mod init;
pub mod input;
pub mod issues;
pub mod ledger;
pub mod llm;
pub use homeostat_core::markers;
pub mod ops;
pub mod output;
pub use homeostat_core::parse;
pub mod policy;
pub mod prompt;
pub mod relay;
pub mod report;
pub mod scrub;
pub mod settings;
#[doc(hidden)]
pub mod testing;
pub mod triage;

pub use error::{Error, Result};
