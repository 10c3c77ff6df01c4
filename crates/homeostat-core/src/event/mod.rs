//! The canonical error event, and the readers that produce it from our JSON lines,
//! Sentry event JSON (one per line, or one pretty-printed document) and raw log text.
//!
//! Reading streams: one reused line buffer, lines capped at [`MAX_LINE`]; nothing holds a
//! whole large file in memory (a pretty-printed JSON document is capped at [`MAX_DOCUMENT`]).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

pub mod feedback;
mod reader;
mod sentry;
pub mod session;
pub mod stack;

pub use feedback::Feedback;
pub use reader::{
    BadLine, EventReader, InputFormat, MAX_DOCUMENT, MAX_LINE, RawLine, parse_event, parse_line, read_events,
};

/// One production error, as DESIGN.md defines it. Only `message` or `stack` (or Sentry's
/// structured `exceptions`) is required.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ErrorEvent {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub r#type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stack: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub platform: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub surface: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub release: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub environment: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timestamp: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub tags: BTreeMap<String, String>,
    /// Structured exceptions (from Sentry events), innermost cause first, the thrown
    /// exception last — Sentry's order. When empty, `stack` is parsed instead.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub exceptions: Vec<Exception>,
    /// A fingerprint the client chose (Sentry's `fingerprint`); `{{ default }}` stands for
    /// the computed values.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub fingerprint: Vec<String>,
    /// The message before its parameters were filled in (Sentry's `logentry.message`): it
    /// groups instead of `message`, so one log call is one issue whatever its values.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message_template: Option<String>,
    /// Frames cut from this event's exceptions (the oldest ones, beyond
    /// [`stack::MAX_FRAMES`] per exception) and bytes cut from its
    /// stack text (beyond [`MAX_STACK_BYTES`]).
    #[serde(default, skip_serializing_if = "Cut::is_empty")]
    pub cut: Cut,
    /// How many occurrences this event stands for; absent means one. hs-relay folds
    /// repeats of one error in a batch into one event, so a storm costs one dispatch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub occurrences: Option<u64>,
}

/// What was cut from an event to bound memory.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cut {
    #[serde(default)]
    pub frames: u64,
    #[serde(default)]
    pub bytes: u64,
}

impl Cut {
    pub fn is_empty(&self) -> bool {
        self.frames == 0 && self.bytes == 0
    }
}

/// The most stack text kept per event (a trace in a log, or a `stack` field); the rest,
/// the oldest frames, is cut and counted.
pub const MAX_STACK_BYTES: usize = 256 << 10;

/// One exception of a chain, with its frames oldest call first (crashing frame last).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Exception {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub r#type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub module: Option<String>,
    /// The type was made up by the SDK (Sentry's `mechanism.synthetic`): it does not group.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub synthetic: bool,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub frames: Vec<Frame>,
    /// The message groups even though frames do: they name only a place, not the code
    /// path (a Rust panic without backtrace: its location alone).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub message_groups: bool,
}

/// One stack frame as a parser or an SDK saw it, before normalisation.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Frame {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub function: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub raw_function: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub module: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub filename: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub abs_path: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub package: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lineno: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub colno: Option<u64>,
    /// What the client said (Sentry's `in_app`); `None` lets the rules decide.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub in_app: Option<bool>,
}

impl ErrorEvent {
    /// Whether there is anything to fingerprint.
    pub fn has_content(&self) -> bool {
        let filled = |s: &Option<String>| s.as_deref().is_some_and(|s| !s.trim().is_empty());
        filled(&self.message)
            || filled(&self.stack)
            || self.exceptions.iter().any(|e| !e.frames.is_empty() || filled(&e.value) || filled(&e.r#type))
    }

    /// How many occurrences this event stands for: its `occurrences`, at least 1.
    pub fn weight(&self) -> u64 {
        self.occurrences.unwrap_or(1).max(1)
    }
}
