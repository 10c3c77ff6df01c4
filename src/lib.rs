//! homeostat's command lines. Every flag of every binary is defined here, once (shared
//! flags in [`flags`], a job's own in its module), and turned into the plain values the
//! `homeostat` library takes; [`edge`] is where a run's result becomes an exit code. The
//! library itself knows nothing about command lines.

pub mod agent;
pub mod canary;
pub mod classify;
pub mod content;
pub mod edge;
pub mod flags;
pub mod guard;
pub mod init;
pub mod ops;
pub mod report;
