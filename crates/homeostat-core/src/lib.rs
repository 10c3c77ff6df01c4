//! homeostat's pure engines: values in, values out.
//!
//! Nothing here reads a file, starts a process, reads the environment or the clock, opens
//! a socket or spawns a thread: the caller (the `homeostat` library's adapters and flows)
//! does the I/O and hands the engines text and values. The boundary holds by construction:
//! this crate's Cargo.toml has none of the I/O crates (scripts/test.sh checks
//! `cargo tree`), and its clippy.toml forbids std's file, process, environment, clock,
//! thread and network calls, so a slip is a lint error under `cargo clippy -D warnings`.
//!
//! The only failure is bad input ([`error::InputError`], exit code 2).

pub mod algorithm;
pub mod canary;
pub mod diff;
pub mod duration;
pub mod error;
pub mod event;
pub mod fingerprint;
pub mod guard;
pub mod hex;
pub mod labels;
pub mod ledger;
pub mod limits;
pub mod markers;
pub mod ops;
pub mod parse;
pub mod policy;
pub mod scrub;
pub mod social;
pub mod text;

pub use error::{InputError, Position, Result};
