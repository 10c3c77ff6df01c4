//! homeostat keeps a software project in balance on its own.
//!
//! Production errors become fingerprinted ([`fingerprint`]), de-duplicated issues
//! ([`issues`]); a policy ([`policy`]) decides which of them a coding agent ([`agent`])
//! may try to fix; the agent's change must pass non-breaking checks ([`guard`] over a
//! [`diff`]); a canary watch ([`canary`]) rolls a bad release back; runbooks ([`ops`])
//! repair known faults; scheduled jobs write guides and posts ([`content`]).
//!
//! Pure engines (`fingerprint`, `policy`, `guard`, `canary::judge`, `ops` decisions) do no
//! I/O. The network, the environment, files and money go through [`forge`], [`gha`],
//! [`ledger`] and [`llm`]. The binaries and their flags live in the `homeostat-cli` package; this library does
//! not know about command lines.

pub mod agent;
pub mod app;
pub mod canary;
pub mod clock;
pub mod cluster;
pub mod config;
pub mod content;
pub mod diff;
pub mod error;
pub mod event;
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
pub mod markers;
pub mod ops;
pub mod output;
pub mod parse;
pub mod policy;
pub mod prompt;
pub mod relay;
pub mod report;
pub mod scrub;
#[doc(hidden)]
pub mod testing;
pub mod triage;

pub use error::{Error, Result};
