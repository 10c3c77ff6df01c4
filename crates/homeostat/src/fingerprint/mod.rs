//! The fingerprint engine lives in `homeostat_core::fingerprint` (pure: events in,
//! fingerprints out); this module re-exports it and adds [`stream`], which reads events
//! from a stream, fingerprints them on worker threads and writes the CLI's output.

pub use homeostat_core::fingerprint::*;

pub mod stream;
