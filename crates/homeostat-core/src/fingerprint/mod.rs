//! The fingerprint engine: one bug, one fingerprint, however its occurrences differ in
//! line numbers, paths, ids, browsers or releases.
//!
//! Modelled on Sentry's default grouping (`newstyle:2023-01-11`): stack-trace rules decide
//! which frames are in-app and which group ([`rules`], defaults in
//! `policies/fingerprint.rules`); per frame only the module (or file basename) and a cleaned
//! function name count ([`normalize`]); only in-app frames count when any does (the "app"
//! variant), else all frames (the "system" variant); the message counts only when no frame
//! does, parameterised ([`message`]). Fingerprint rules (`matchers -> values`) and the
//! client's fingerprint override it. The fingerprint is 16 hex of SHA-256 over the values.
//!
//! The parts: `facts` (a frame normalised, with its rule hits, cached), `stack_rules`
//! (in-app, categories, grouping), `compute` (the variant, the values, the hash), `output`
//! (the line and `--explain`), `group` (`--group`).
//!
//! Pure: no I/O, never panics on any event.

mod compute;
mod facts;
mod group;
pub mod message;
pub(crate) mod normalize;
mod output;
pub(crate) mod rules;
pub mod sourcemaps;
mod stack_rules;
pub use crate::event::stack;

use serde::Serialize;

use crate::event::{ErrorEvent, Exception, Frame};
use normalize::Normalized;
use rules::{FRAME_FIELDS, Rules};
use stack::Platform;

/// The algorithm version in every output line and issue marker. Bump it (and alias the
/// old one downstream) when a change moves fingerprints.
pub const ALGORITHM: &str = Algorithm::CURRENT.name();

pub use crate::algorithm::Algorithm;

/// A fingerprint of the same event under an older algorithm version.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Alias {
    pub fingerprint: String,
    pub algorithm: &'static str,
}

/// The built-in rules, as data.
pub const BUILTIN_RULES: &str = include_str!("../../../../policies/fingerprint.rules");
const BUILTIN_FILE: &str = "policies/fingerprint.rules";

/// Computes fingerprints with the built-in rules and, optionally, a user's rules.
#[derive(Debug)]
pub struct Engine {
    rules: Rules,
    /// Per family (javascript, native, other): the stack rules that can apply, for the
    /// in-app pass and for the grouping pass.
    plan: [[RulePlan; 2]; 3],
    /// Normalised frames and their rule matches, by frame: error streams repeat the same
    /// frames, and this work does not depend on line numbers. Bounded.
    frames: std::sync::RwLock<std::collections::HashMap<u64, std::sync::Arc<FrameFacts>>>,
    /// Source maps for minified JavaScript frames, if any were given.
    maps: Option<std::sync::Arc<sourcemaps::SourceMaps>>,
}

impl Clone for Engine {
    fn clone(&self) -> Self {
        Engine { maps: self.maps.clone(), ..Engine::from_rules(self.rules.clone()) }
    }
}

/// What a frame is, independent of where it sits in a stack.
#[derive(Debug)]
struct FrameFacts {
    key: Frame,
    platform: Platform,
    algorithm: Algorithm,
    norm: Normalized,
    hits: [Vec<bool>; FRAME_FIELDS],
    /// The same hits as (field, pattern) pairs: frames hit few of the patterns.
    hit_list: Vec<(usize, usize)>,
}

impl FrameFacts {
    /// Whether these are the facts of `raw` (the cache key is only a hash).
    fn is_for(&self, raw: &Frame, platform: Platform, algorithm: Algorithm) -> bool {
        self.platform == platform
            && self.algorithm == algorithm
            && self.key.function == raw.function
            && self.key.raw_function == raw.raw_function
            && self.key.module == raw.module
            && self.key.filename == raw.filename
            && self.key.abs_path == raw.abs_path
            && self.key.package == raw.package
    }
}

/// The stack rules of one family and pass, indexed by the frame pattern a rule needs.
#[derive(Debug, Default)]
struct RulePlan {
    /// Rules without a frame pattern every matching frame must hit: always tried.
    always: Vec<usize>,
    /// By field and pattern: the rules that need a frame to hit that pattern.
    by_pattern: [Vec<Vec<usize>>; FRAME_FIELDS],
}

impl RulePlan {
    /// The rules that can match a stack whose frames hit `hits`, in file order.
    fn candidates<'f>(&self, hits: impl Iterator<Item = &'f (usize, usize)>) -> Vec<usize> {
        let mut out = self.always.clone();
        for &(field, slot) in hits {
            out.extend(self.by_pattern[field].get(slot).into_iter().flatten());
        }
        out.sort_unstable();
        out.dedup();
        out
    }
}

const FRAME_CACHE: usize = 50_000;
const FAMILIES: [&str; 3] = ["javascript", "native", "other"];

pub use group::{GroupSummary, Grouper};
pub use output::{ExceptionExplained, Explanation, Fingerprint, FrameExplained, FrameOut};

/// One frame while rules run over it.
struct FrameState {
    facts: std::sync::Arc<FrameFacts>,
    in_app: bool,
    app_reason: Reason,
    group: bool,
    group_rule: Option<usize>,
    category: Option<String>,
    dropped: Option<&'static str>,
    /// Counts in the variant that only in-app frames feed (set by `compute::mark_contributions`).
    counts_app: bool,
    /// Counts in the variant that every frame feeds.
    counts_system: bool,
}

impl FrameState {
    fn counts(&self, variant: Variant) -> bool {
        match variant {
            Variant::App => self.counts_app,
            Variant::System => self.counts_system,
            Variant::Message => false,
        }
    }
}

#[derive(Clone, Copy)]
enum Reason {
    Client(bool),
    Default,
    Rule(usize),
}

struct ExceptionState<'a> {
    exception: &'a Exception,
    frames: Vec<FrameState>,
    max_frames: Option<usize>,
}

impl Default for Engine {
    fn default() -> Self {
        Self::builtin()
    }
}

impl Engine {
    /// The engine with the built-in rules (`policies/fingerprint.rules`).
    pub fn builtin() -> Engine {
        static BUILTIN: std::sync::LazyLock<Engine> = std::sync::LazyLock::new(Engine::parse_builtin);
        BUILTIN.clone()
    }

    fn parse_builtin() -> Engine {
        let mut rules = Rules::default();
        // The built-in file is ours and a test parses it; a broken one must not take the
        // tool down, so it degrades to no rules rather than panicking.
        if let Err(e) = rules.add(BUILTIN_FILE, BUILTIN_RULES) {
            tracing::error!("built-in fingerprint rules: {e}");
            rules = Rules::default();
        }
        Engine::from_rules(rules)
    }

    /// The built-in rules, then the user's: their stack-trace rules apply after (and so
    /// override) the built-in ones; their fingerprint rules are tried first.
    pub fn with_rules(file: &str, text: &str) -> crate::Result<Engine> {
        let mut rules = Self::builtin().rules;
        rules.add(file, text)?;
        Ok(Engine::from_rules(rules))
    }

    /// This engine, resolving minified JavaScript frames with `maps` before grouping.
    pub fn with_sourcemaps(mut self, maps: sourcemaps::SourceMaps) -> Engine {
        self.maps = Some(std::sync::Arc::new(maps));
        self
    }

    /// The fingerprint of one event.
    pub fn fingerprint(&self, event: &ErrorEvent) -> Fingerprint {
        self.compute(event, false, Algorithm::CURRENT)
    }

    /// The fingerprint with its [`Explanation`].
    pub fn explain(&self, event: &ErrorEvent) -> Fingerprint {
        self.compute(event, true, Algorithm::CURRENT)
    }

    /// The fingerprint as an older algorithm version computes it.
    pub fn fingerprint_as(&self, event: &ErrorEvent, algorithm: Algorithm) -> Fingerprint {
        self.compute(event, false, algorithm)
    }

    /// The fingerprint, with the older versions' fingerprints of the same event as
    /// [`Fingerprint::aliases`] (where they differ): what finds an issue filed before an
    /// upgrade. Costs one computation per older version, so only issue filing asks for it.
    pub fn fingerprint_with_aliases(&self, event: &ErrorEvent) -> Fingerprint {
        let mut fp = self.fingerprint(event);
        for algorithm in Algorithm::PREVIOUS {
            let old = self.fingerprint_as(event, algorithm).fingerprint;
            if old != fp.fingerprint && !fp.aliases.iter().any(|a| a.fingerprint == old) {
                fp.aliases.push(Alias { fingerprint: old, algorithm: algorithm.name() });
            }
        }
        fp
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Variant {
    App,
    System,
    Message,
}

impl Variant {
    fn name(self) -> &'static str {
        match self {
            Variant::App => "app",
            Variant::System => "system",
            Variant::Message => "message",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(stack: &str) -> ErrorEvent {
        ErrorEvent { stack: Some(stack.into()), ..ErrorEvent::default() }
    }

    #[test]
    fn builtin_rules_parse() {
        let mut r = Rules::default();
        r.add(BUILTIN_FILE, BUILTIN_RULES).unwrap();
        assert!(r.stack.len() > 20);
    }

    #[test]
    fn line_numbers_and_library_frames_do_not_matter() {
        let e = Engine::builtin();
        let a = e.fingerprint(&ev("TypeError: x\n    at renderNote (chrome-extension://aaa/popup.js:10:15)\n    at h (chrome-extension://aaa/node_modules/lib/index.js:1:1)"));
        let b = e.fingerprint(&ev("TypeError: y\n    at renderNote (chrome-extension://bbb/popup.js:99:1)\n    at other (chrome-extension://bbb/node_modules/lib/index.js:7:7)"));
        let c = e.fingerprint(&ev("TypeError: x\n    at renderList (chrome-extension://aaa/popup.js:10:15)"));
        assert_eq!(a.fingerprint, b.fingerprint);
        assert_ne!(a.fingerprint, c.fingerprint);
        assert_eq!(a.culprit, "renderNote (popup.js)");
        assert_eq!(a.fingerprint.len(), 16);
        assert!(a.fingerprint.bytes().all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()));
    }

    #[test]
    fn message_only_events_are_parameterised() {
        let e = Engine::builtin();
        let m = |s: &str| e.fingerprint(&ErrorEvent { message: Some(s.into()), ..ErrorEvent::default() }).fingerprint;
        assert_eq!(m("user 42 not found"), m("user 7 not found"));
        assert_ne!(m("user 42 not found"), m("note 42 not found"));
    }

    #[test]
    fn user_rules_override() {
        let e = Engine::with_rules("u.rules", "function:renderNote -group\ntype:QuotaError -> quota\n").unwrap();
        let a = e.explain(&ev("TypeError: x\n    at renderNote (app.js:1:1)\n    at main (app.js:2:2)"));
        let x = a.explanation.unwrap();
        let crash = x.exceptions[0].frames.last().unwrap();
        assert!(!crash.contributes);
        assert!(crash.reason.contains("function:renderNote -group"), "{}", crash.reason);
        let q1 = e.fingerprint(&ev("QuotaError: a\n    at f (a.js:1:1)"));
        let q2 = e.fingerprint(&ev("QuotaError: b\n    at g (b.js:1:1)"));
        assert_eq!(q1.fingerprint, q2.fingerprint);
        assert!(Engine::with_rules("u.rules", "bogus").is_err());
    }

    #[test]
    fn never_panics_on_odd_input() {
        let e = Engine::builtin();
        for s in [
            "",
            "\n\n",
            "at",
            "    at (",
            "@",
            "File \"",
            "panic: ",
            "goroutine 1 [running]:\n(",
            "   0: ",
            "x.rb:1:in `",
            " ---> ",
            "\u{0}\u{ffff}",
        ] {
            let _ = e.fingerprint(&ev(s));
            let _ = e.fingerprint(&ErrorEvent {
                message: Some(s.into()),
                platform: Some("native".into()),
                ..ErrorEvent::default()
            });
        }
    }
}
