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
//! Pure: no I/O, never panics on any event.

pub mod message;
pub(crate) mod normalize;
pub(crate) mod rules;
pub mod sourcemaps;
pub use crate::event::stack;

use std::borrow::Cow;
use std::collections::BTreeMap;

use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::event::{ErrorEvent, Exception, Frame};
use normalize::Normalized;
use rules::{Action, FRAME_FIELDS, FrameField, MatchKind, Matcher, Range, Rules};
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

/// JavaScript: at most this many frames nearest the crash count. V8 keeps 10 frames
/// (`Error.stackTraceLimit`); Firefox, Safari and SDKs that raise the limit keep more, and
/// without a cap the same error would split by browser and call depth.
const JS_MAX_FRAMES: usize = 10;

/// The built-in rules, as data.
pub const BUILTIN_RULES: &str = include_str!("../../../../policies/fingerprint.rules");
const BUILTIN_FILE: &str = "policies/fingerprint.rules";

/// Most frames shown per fingerprint in `frames`.
const MAX_FRAMES_OUT: usize = 50;
/// Longest title, in characters.
const MAX_TITLE: usize = 200;

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

/// The cache key of a frame: what it is, not where (no line or column). Not keyed against
/// attackers: a colliding key only costs a comparison ([`FrameFacts::is_for`]).
fn frame_key(raw: &Frame, platform: Platform, algorithm: Algorithm) -> u64 {
    use std::hash::{BuildHasher, Hash, Hasher};
    let mut h = foldhash::fast::FixedState::default().build_hasher();
    (&raw.function, &raw.raw_function, &raw.module, &raw.filename, &raw.abs_path, &raw.package).hash(&mut h);
    platform.hash(&mut h);
    algorithm.hash(&mut h);
    h.finish()
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

/// One frame of the output, most recent call first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FrameOut {
    pub function: Option<String>,
    pub module: Option<String>,
    pub file: Option<String>,
    pub in_app: bool,
}

/// The fingerprint of one event; serialises as DESIGN.md's output line.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Fingerprint {
    pub fingerprint: String,
    pub algorithm: &'static str,
    pub platform: String,
    #[serde(rename = "type")]
    pub r#type: String,
    pub title: String,
    pub culprit: String,
    pub frames: Vec<FrameOut>,
    /// The same event's fingerprints under older algorithm versions, where they differ
    /// (filled by [`Engine::fingerprint_with_aliases`]).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub aliases: Vec<Alias>,
    /// Frames and stack bytes cut from the event to bound memory.
    #[serde(skip_serializing_if = "crate::event::Cut::is_empty")]
    pub cut: crate::event::Cut,
    /// Why each frame did or did not count (filled by [`Engine::explain`]).
    #[serde(skip)]
    pub explanation: Option<Explanation>,
}

/// What went into a fingerprint, for `--explain` and the conformance tests.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Explanation {
    /// `app`, `system`, `message`, `fingerprint-rule` or `client-fingerprint`.
    pub variant: String,
    /// The values hashed, in order.
    pub values: Vec<String>,
    /// The fingerprint rule that decided, if one did.
    pub rule: Option<String>,
    pub exceptions: Vec<ExceptionExplained>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ExceptionExplained {
    pub r#type: Option<String>,
    /// Frames oldest call first (the input order of Sentry events).
    pub frames: Vec<FrameExplained>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FrameExplained {
    pub function: Option<String>,
    pub module: Option<String>,
    pub file: Option<String>,
    pub in_app: bool,
    /// Counts in the variant that only in-app frames feed.
    pub contributes_app: bool,
    /// Counts in the variant that every frame feeds.
    pub contributes_system: bool,
    /// Counts in the fingerprint that was computed.
    pub contributes: bool,
    pub reason: String,
}

/// One frame while rules run over it.
struct FrameState {
    facts: std::sync::Arc<FrameFacts>,
    in_app: bool,
    app_reason: Reason,
    group: bool,
    group_rule: Option<usize>,
    category: Option<String>,
    dropped: Option<&'static str>,
    /// Counts in the variant that only in-app frames feed (set by [`mark_contributions`]).
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

    fn from_rules(rules: Rules) -> Engine {
        let plan = FAMILIES.map(|family| {
            [0, 1].map(|pass| {
                let mut plan = RulePlan {
                    by_pattern: std::array::from_fn(|field| vec![Vec::new(); rules.sets[field].len()]),
                    ..RulePlan::default()
                };
                let applicable = rules
                    .stack
                    .iter()
                    .enumerate()
                    .filter(|(_, r)| r.families.as_ref().is_none_or(|f| f.iter().any(|x| x == family)))
                    .filter(|(_, r)| {
                        r.actions.iter().any(|a| match a {
                            Action::App(..) | Action::Category(_) => pass == 0,
                            Action::Group(..) | Action::MaxFrames(_) => pass == 1,
                        })
                    });
                for (i, rule) in applicable {
                    match rule.required {
                        Some((field, slot)) => {
                            plan.by_pattern[field as usize].get_mut(slot).into_iter().for_each(|l| l.push(i))
                        }
                        None => plan.always.push(i),
                    }
                }
                plan
            })
        });
        Engine { rules, plan, frames: Default::default(), maps: None }
    }

    /// The normalised frames of a stack and their rule matches: those seen before from the
    /// cache (under one read lock), the others computed and cached.
    fn frames_facts(
        &self,
        raws: &[Frame],
        platform: Platform,
        algorithm: Algorithm,
    ) -> Vec<std::sync::Arc<FrameFacts>> {
        let looked_up: Vec<(u64, Option<std::sync::Arc<FrameFacts>>)> = match self.frames.read() {
            Ok(cache) => raws
                .iter()
                .map(|raw| {
                    let key = frame_key(raw, platform, algorithm);
                    (key, cache.get(&key).filter(|f| f.is_for(raw, platform, algorithm)).cloned())
                })
                .collect(),
            Err(_) => raws.iter().map(|raw| (frame_key(raw, platform, algorithm), None)).collect(),
        };
        looked_up
            .into_iter()
            .zip(raws)
            .map(|((key, hit), raw)| hit.unwrap_or_else(|| self.new_frame_facts(key, raw, platform, algorithm)))
            .collect()
    }

    fn new_frame_facts(
        &self,
        key: u64,
        raw: &Frame,
        platform: Platform,
        algorithm: Algorithm,
    ) -> std::sync::Arc<FrameFacts> {
        let norm = normalize::normalize(raw, platform, algorithm);
        let hits = self.frame_hits(&norm, raw);
        let hit_list = (0..FRAME_FIELDS)
            .flat_map(|field| hits[field].iter().enumerate().filter(|(_, h)| **h).map(move |(slot, _)| (field, slot)))
            .collect();
        let key_frame = Frame { lineno: None, colno: None, in_app: None, ..raw.clone() };
        let facts = std::sync::Arc::new(FrameFacts { key: key_frame, platform, algorithm, norm, hits, hit_list });
        if let Ok(mut cache) = self.frames.write() {
            if cache.len() >= FRAME_CACHE {
                cache.clear();
            }
            cache.insert(key, facts.clone());
        }
        facts
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

    fn compute(&self, event: &ErrorEvent, explain: bool, algorithm: Algorithm) -> Fingerprint {
        let hint = event.platform.as_deref().map(Platform::from_name);
        // Exceptions parsed from a stack are ours to change; an event's own are copied
        // only when its type or message must be written into them.
        let (platform, mut exceptions): (Platform, std::borrow::Cow<[Exception]>) = if !event.exceptions.is_empty() {
            let p = match hint {
                Some(p) if p != Platform::Other => p,
                _ => platform_from_frames(&event.exceptions),
            };
            (p, (&event.exceptions[..]).into())
        } else if let Some(stack) = event.stack.as_deref().filter(|s| !s.trim().is_empty()) {
            let (p, list) = stack::parse_as(hint, stack, algorithm);
            (p, list.into())
        } else {
            (hint.unwrap_or(Platform::Other), Vec::new().into())
        };

        // The event's own type and message name the thrown exception when given.
        if event.r#type.is_some() || event.message.is_some() {
            let owned = exceptions.to_mut();
            match owned.last_mut() {
                Some(last) => {
                    if event.r#type.is_some() {
                        last.r#type = event.r#type.clone();
                    }
                    if (last.value.is_none() || event.exceptions.is_empty())
                        && let Some(m) = &event.message
                    {
                        last.value = Some(m.clone());
                    }
                }
                None if event.r#type.is_some() => owned.push(Exception {
                    r#type: event.r#type.clone(),
                    value: event.message.clone(),
                    ..Exception::default()
                }),
                None => {}
            }
        }
        if let Some(maps) = self.maps.as_deref().filter(|_| platform == Platform::JavaScript) {
            for e in exceptions.to_mut() {
                maps.resolve(event.release.as_deref(), &mut e.frames);
            }
        }
        let exceptions: &[Exception] = &exceptions;

        let family = platform.family();
        // Frames parsed from text carry no in-app flag: they are the app unless a rule says
        // otherwise. Sentry events say it per frame; a frame that does not is not the app.
        let default_in_app = event.exceptions.is_empty();
        let mut states: Vec<ExceptionState> =
            exceptions.iter().map(|e| self.run_stack_rules(e, platform, family, default_in_app, algorithm)).collect();
        let parse_cut: usize = if event.exceptions.is_empty() {
            // A parser keeps at most `MAX_FRAMES` per exception: a full one was cut.
            states.iter().filter(|s| s.frames.len() >= stack::MAX_FRAMES).count()
        } else {
            0
        };

        // Which frames count, per variant.
        let mut app_any = false;
        let mut system_any = false;
        for st in &mut states {
            mark_contributions(st);
            app_any |= st.frames.iter().any(|f| f.counts_app);
            system_any |= st.frames.iter().any(|f| f.counts_system);
        }
        let variant = if app_any {
            Variant::App
        } else if system_any {
            Variant::System
        } else {
            Variant::Message
        };

        let default_values = default_values(&states, variant, event, algorithm);
        let fp_rule = self.rules.fingerprint.iter().find(|r| fingerprint_rule_matches(r, event, platform, &states));
        let (values, variant_name, custom_title, rule_text) = if let Some(rule) = fp_rule {
            let vals = rule.values.iter().flat_map(|v| expand(v, &default_values, event, &states)).map(Cow::Owned);
            (vals.collect(), "fingerprint-rule", rule.title.clone(), Some(rule.text.clone()))
        } else if !event.fingerprint.is_empty() && event.fingerprint.iter().any(|v| !is_default_var(v)) {
            let vals =
                event.fingerprint.iter().flat_map(|v| expand(v, &default_values, event, &states)).map(Cow::Owned);
            (vals.collect(), "client-fingerprint", None, None)
        } else {
            (default_values, variant.name(), None, None)
        };
        let custom = variant_name == "fingerprint-rule" || variant_name == "client-fingerprint";
        let defaults_used =
            !custom || rule_or_client_uses_default(fp_rule.map(|r| &r.values[..]).unwrap_or(&event.fingerprint));

        let fingerprint = hash(&values, custom);
        let thrown = states.last();
        let ty = thrown.and_then(|s| s.exception.r#type.clone()).unwrap_or_default();
        let message =
            thrown.and_then(|s| s.exception.value.clone()).or_else(|| event.message.clone()).unwrap_or_default();
        let title = custom_title.unwrap_or_else(|| make_title(&ty, &message));
        let (culprit, frames) = culprit_and_frames(&states);

        let explanation = explain.then(|| Explanation {
            variant: variant_name.to_string(),
            values: values.iter().map(|v| v.to_string()).collect(),
            rule: rule_text,
            exceptions: states
                .iter()
                .map(|st| ExceptionExplained {
                    r#type: st.exception.r#type.clone(),
                    frames: st
                        .frames
                        .iter()
                        .map(|f| FrameExplained {
                            function: f.facts.norm.function.clone(),
                            module: f.facts.norm.module.clone(),
                            file: f.facts.norm.display_file.clone(),
                            in_app: f.in_app,
                            contributes_app: f.counts_app && defaults_used,
                            contributes_system: f.counts_system && defaults_used,
                            contributes: f.counts(variant) && defaults_used,
                            reason: self.reason(f, variant, defaults_used),
                        })
                        .collect(),
                })
                .collect(),
        });

        let mut cut = event.cut;
        cut.frames += parse_cut as u64;
        Fingerprint {
            fingerprint,
            algorithm: algorithm.name(),
            aliases: Vec::new(),
            cut,
            platform: platform.name().to_string(),
            r#type: ty,
            title,
            culprit,
            frames,
            explanation,
        }
    }

    fn reason(&self, f: &FrameState, variant: Variant, defaults_used: bool) -> String {
        let (app, system) = (f.counts_app, f.counts_system);
        if !defaults_used {
            return "a fingerprint rule takes precedence".into();
        }
        if let Some(why) = f.dropped {
            return why.into();
        }
        if !f.group {
            return match f.group_rule {
                Some(i) => format!("ignored by stack trace rule ({})", self.rules.stack[i].text),
                None => "ignored".into(),
            };
        }
        if !app && !system {
            return "no module, file or function to group by".into();
        }
        let app_why = match f.app_reason {
            Reason::Rule(i) => format!(
                "marked {} by stack trace rule ({})",
                if f.in_app { "in-app" } else { "out of app" },
                self.rules.stack[i].text
            ),
            Reason::Client(true) => "marked in-app by the client".into(),
            Reason::Client(false) => "marked out of app by the client".into(),
            Reason::Default => if f.in_app { "in-app by default" } else { "non app frame" }.into(),
        };
        match variant {
            Variant::App if !app => format!("{app_why}: only in-app frames count"),
            Variant::Message => format!("{app_why}: no frame counts"),
            _ => format!("{app_why}: counts"),
        }
    }

    /// Normalises frames and runs the stack-trace rules: first in-app and categories,
    /// then grouping (which sees the final in-app flags and categories).
    fn run_stack_rules<'a>(
        &self,
        exception: &'a Exception,
        platform: Platform,
        family: &str,
        default_in_app: bool,
        algorithm: Algorithm,
    ) -> ExceptionState<'a> {
        let v2 = algorithm != Algorithm::V1;
        let mut frames: Vec<FrameState> = Vec::with_capacity(exception.frames.len());
        let mut previous: Option<&Frame> = None;
        let facts = self.frames_facts(&exception.frames, platform, algorithm);
        for (raw, facts) in exception.frames.iter().zip(facts) {
            let mut dropped = facts.norm.dropped;
            if dropped.is_none() && previous.is_some_and(|p| p == raw) {
                dropped = Some("ignored due to recursion");
            }
            previous = Some(raw);
            let (in_app, app_reason) = match raw.in_app {
                Some(v) => (v, Reason::Client(v)),
                // Go's standard library and module dependencies, whatever the build path
                // (`-trimpath` leaves `net/http/server.go`, `github.com/x/y@v1.2.3/z.go`).
                None if v2 && platform == Platform::Go && go_library_frame(raw) => (false, Reason::Default),
                None => (default_in_app, Reason::Default),
            };
            frames.push(FrameState {
                facts,
                in_app,
                app_reason,
                group: true,
                group_rule: None,
                category: None,
                dropped,
                counts_app: false,
                counts_system: false,
            });
        }
        // A lone JS frame with no function on a URL tells nothing.
        if family == "javascript"
            && frames.len() == 1
            && frames[0].facts.norm.function.is_none()
            && frames[0].facts.norm.path.as_deref().is_some_and(normalize::is_http_url)
        {
            frames[0].dropped = Some("ignored single non-URL JavaScript frame");
        }
        let max_frames = (v2 && family == "javascript").then_some(JS_MAX_FRAMES);
        let mut state = ExceptionState { exception, frames, max_frames };
        let family_index = FAMILIES.iter().position(|f| *f == family).unwrap_or(2);
        let n = state.frames.len();
        let mut matched: Vec<bool> = vec![false; n];
        for pass in 0..2 {
            // Only rules whose frame pattern some frame hits can match: most are out at once.
            let candidates =
                self.plan[family_index][pass].candidates(state.frames.iter().flat_map(|f| &f.facts.hit_list));
            for idx in candidates {
                let rule = &self.rules.stack[idx];
                if !exception_matchers_hold(&rule.frame, exception, family) {
                    continue;
                }
                // Every frame is tested before any is changed, as Sentry applies a rule.
                let mut any = false;
                for (i, m) in matched.iter_mut().enumerate() {
                    *m = frame_matchers_hold(&rule.frame, &state.frames[i], family)
                        && (rule.caller.is_empty()
                            || (i > 0 && frame_matchers_hold(&rule.caller, &state.frames[i - 1], family)))
                        && (rule.callee.is_empty()
                            || (i + 1 < n && frame_matchers_hold(&rule.callee, &state.frames[i + 1], family)));
                    any |= *m;
                }
                if !any {
                    continue;
                }
                for (i, _) in matched.iter().enumerate().filter(|(_, m)| **m) {
                    for action in &rule.actions {
                        match (pass, action) {
                            (0, Action::Category(c)) => state.frames[i].category = Some(c.clone()),
                            (0, Action::App(range, v)) => {
                                for j in range_of(*range, i, n) {
                                    state.frames[j].in_app = *v;
                                    state.frames[j].app_reason = Reason::Rule(idx);
                                }
                            }
                            (1, Action::Group(range, v)) => {
                                for j in range_of(*range, i, n) {
                                    state.frames[j].group = *v;
                                    state.frames[j].group_rule = Some(idx);
                                }
                            }
                            (1, Action::MaxFrames(m)) => state.max_frames = Some(*m),
                            _ => {}
                        }
                    }
                }
            }
        }
        state
    }

    /// Which frame patterns of the rules match this frame: one pass per field.
    fn frame_hits(&self, norm: &Normalized, raw: &Frame) -> [Vec<bool>; FRAME_FIELDS] {
        let sets = &self.rules.sets;
        let scan = |field: FrameField, values: &[Option<&str>]| -> Vec<bool> {
            let set = &sets[field as usize];
            let mut hit = vec![false; set.len()];
            if set.is_empty() {
                return hit;
            }
            for (n, v) in values.iter().enumerate() {
                // The same text twice (abs_path == filename) needs one scan.
                let Some(v) = v.filter(|v| !values[..n].contains(&Some(v))) else { continue };
                for i in set.matches(v).iter() {
                    hit[i] = true;
                }
            }
            hit
        };
        fn slashes(p: Option<&str>) -> Option<std::borrow::Cow<'_, str>> {
            p.map(|p| if p.contains('\\') { p.replace('\\', "/").into() } else { p.into() })
        }
        let filename = slashes(raw.filename.as_deref());
        let abs = slashes(raw.abs_path.as_deref());
        [
            scan(FrameField::Path, &[abs.as_deref(), filename.as_deref()]),
            scan(FrameField::Filename, &[filename.as_deref()]),
            scan(FrameField::Module, &[norm.rule_module.as_deref()]),
            scan(FrameField::Function, &[norm.rule_function.as_deref()]),
            scan(FrameField::Package, &[raw.package.as_deref()]),
        ]
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

fn range_of(range: Range, i: usize, n: usize) -> std::ops::Range<usize> {
    match range {
        Range::Frame => i..i + 1,
        Range::Up => i + 1..n,
        Range::Down => 0..i,
    }
}

fn exception_matchers_hold(matchers: &[Matcher], exception: &Exception, _family: &str) -> bool {
    matchers.iter().all(|m| {
        let v = match &m.kind {
            MatchKind::Type(re) => exception.r#type.as_deref().is_some_and(|t| re.is_match(t)),
            MatchKind::Value(re) => exception.value.as_deref().is_some_and(|t| re.is_match(t)),
            _ => return true,
        };
        v != m.negated
    })
}

fn frame_matchers_hold(matchers: &[Matcher], f: &FrameState, family: &str) -> bool {
    matchers.iter().all(|m| {
        let v = match &m.kind {
            MatchKind::Frame(field, slot) => f.facts.hits[*field as usize].get(*slot).copied().unwrap_or(false),
            MatchKind::Family(list) => list.iter().any(|x| x == family || x == "all"),
            MatchKind::App(want) => f.in_app == *want,
            MatchKind::Category(re) => f.category.as_deref().is_some_and(|c| re.is_match(c)),
            // Exception-level matchers were checked for the whole exception.
            _ => return true,
        };
        v != m.negated
    })
}

/// Marks per frame whether it counts in the app variant and in the system variant.
fn mark_contributions(st: &mut ExceptionState) {
    let (mut kept_app, mut kept_system) = (0, 0);
    let max = st.max_frames.unwrap_or(usize::MAX);
    // Most recent call first: `max-frames` keeps the frames nearest the crash.
    for f in st.frames.iter_mut().rev() {
        let norm = &f.facts.norm;
        let has_values = norm.module.is_some() || norm.filename.is_some() || norm.function.is_some();
        let system = f.dropped.is_none() && f.group && has_values;
        let app = system && f.in_app;
        kept_system += usize::from(system);
        kept_app += usize::from(app);
        f.counts_system = system && kept_system <= max;
        f.counts_app = app && kept_app <= max;
    }
}

/// The values the default grouping hashes, borrowed where they can be.
fn default_values<'s>(
    states: &'s [ExceptionState],
    variant: Variant,
    event: &'s ErrorEvent,
    algorithm: Algorithm,
) -> Vec<Cow<'s, str>> {
    let mut values = Vec::new();
    for st in states {
        let mut any = false;
        for f in st.frames.iter().filter(|f| f.counts(variant)) {
            any = true;
            if let Some(m) = f.facts.norm.module.as_deref().or(f.facts.norm.filename.as_deref()) {
                values.push(m.into());
            }
            if let Some(func) = f.facts.norm.function.as_deref() {
                values.push(func.into());
            }
        }
        if let Some(t) = st.exception.r#type.as_deref().filter(|_| !st.exception.synthetic) {
            values.push(t.into());
        }
        let message_counts = !any || (st.exception.message_groups && algorithm != Algorithm::V1);
        if message_counts && let Some(v) = st.exception.value.as_deref().filter(|v| !v.trim().is_empty()) {
            values.push(message::parameterize_as(v, algorithm).into());
        }
    }
    // A log call's template groups, not the text its values were filled into.
    let message = match algorithm {
        Algorithm::V1 => event.message.as_deref(),
        _ => event.message_template.as_deref().or(event.message.as_deref()),
    };
    if values.is_empty()
        && let Some(m) = message
    {
        values.push(message::parameterize_as(m, algorithm).into());
    }
    values
}

fn is_default_var(v: &str) -> bool {
    let t = v.trim();
    t == "{{ default }}" || t == "{{default}}"
}

fn rule_or_client_uses_default(values: &[String]) -> bool {
    values.iter().any(|v| is_default_var(v))
}

/// Expands a fingerprint value: `{{ default }}` to the computed values, other variables
/// to the event's fields (from the thrown exception and its crash frame).
fn expand(v: &str, defaults: &[Cow<str>], event: &ErrorEvent, states: &[ExceptionState]) -> Vec<String> {
    let Some(var) = v.trim().strip_prefix("{{").and_then(|r| r.strip_suffix("}}")).map(str::trim) else {
        return vec![v.to_string()];
    };
    let thrown = states.last();
    let crash = crash_frame(states);
    let one = |s: Option<String>| vec![s.unwrap_or_else(|| "<no-value-for-variable>".into())];
    match var {
        "default" => defaults.iter().map(|d| d.to_string()).collect(),
        "type" | "error.type" => one(thrown.and_then(|s| s.exception.r#type.clone())),
        "value" | "error.value" => one(thrown.and_then(|s| s.exception.value.clone())),
        "message" => one(event.message.clone().or_else(|| thrown.and_then(|s| s.exception.value.clone()))),
        "function" | "stack.function" => one(crash.and_then(|f| f.facts.norm.function.clone())),
        "module" | "stack.module" => one(crash.and_then(|f| f.facts.norm.module.clone())),
        "path" | "stack.abs_path" => one(crash.and_then(|f| f.facts.norm.path.clone())),
        "stack.filename" | "filename" => one(crash.and_then(|f| f.facts.norm.display_file.clone())),
        "release" => one(event.release.clone()),
        "platform" => one(event.platform.clone()),
        "surface" => one(event.surface.clone()),
        "environment" => one(event.environment.clone()),
        t if t.starts_with("tags.") => one(event.tags.get(&t["tags.".len()..]).cloned()),
        _ => vec![v.to_string()],
    }
}

fn crash_frame<'s>(states: &'s [ExceptionState]) -> Option<&'s FrameState> {
    let st = states.iter().rev().find(|s| !s.frames.is_empty())?;
    st.frames.iter().rev().find(|f| f.in_app && f.dropped.is_none()).or_else(|| st.frames.last())
}

fn fingerprint_rule_matches(
    rule: &rules::FingerprintRule,
    event: &ErrorEvent,
    platform: Platform,
    states: &[ExceptionState],
) -> bool {
    let family = platform.family();
    let any_frame = |m: &Matcher| {
        states
            .iter()
            .any(|st| st.frames.iter().any(|f| frame_matchers_hold(std::slice::from_ref(m), f, family) != m.negated))
    };
    rule.matchers.iter().all(|m| {
        let hit = match &m.kind {
            MatchKind::Frame(..) | MatchKind::App(_) | MatchKind::Category(_) => {
                // `frame_matchers_hold` applies the negation itself; undo it for "any frame".
                return any_frame(m) != m.negated;
            }
            MatchKind::Family(list) => list.iter().any(|x| x == family || x == "all"),
            MatchKind::Type(re) => states.iter().any(|s| s.exception.r#type.as_deref().is_some_and(|t| re.is_match(t))),
            MatchKind::Value(re) => states.iter().any(|s| s.exception.value.as_deref().is_some_and(|t| re.is_match(t))),
            MatchKind::Message(re) => {
                event.message.as_deref().is_some_and(|t| re.is_match(t))
                    || states.iter().any(|s| s.exception.value.as_deref().is_some_and(|t| re.is_match(t)))
            }
            MatchKind::Release(re) => event.release.as_deref().is_some_and(|t| re.is_match(t)),
            MatchKind::Platform(re) => {
                re.is_match(platform.name()) || event.platform.as_deref().is_some_and(|t| re.is_match(t))
            }
            MatchKind::Surface(re) => event.surface.as_deref().is_some_and(|t| re.is_match(t)),
            MatchKind::Environment(re) => event.environment.as_deref().is_some_and(|t| re.is_match(t)),
            MatchKind::Tag(k, re) => event.tags.get(k).is_some_and(|t| re.is_match(t)),
        };
        hit != m.negated
    })
}

fn hash(values: &[Cow<str>], custom: bool) -> String {
    let mut h = Sha256::new();
    h.update(if custom { b"custom\x1e" as &[u8] } else { b"default\x1e" });
    for v in values {
        h.update(v.as_bytes());
        h.update([0x1f]);
    }
    let digest = h.finalize();
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(16);
    for b in &digest[..8] {
        out.push(HEX[usize::from(b >> 4)] as char);
        out.push(HEX[usize::from(b & 0xf)] as char);
    }
    out
}

fn make_title(ty: &str, message: &str) -> String {
    let first = message.lines().map(str::trim).find(|l| !l.is_empty()).unwrap_or("");
    let title = match (ty.is_empty(), first.is_empty()) {
        (false, false) => format!("{ty}: {first}"),
        (false, true) => ty.to_string(),
        (true, false) => first.to_string(),
        (true, true) => "<unlabeled event>".to_string(),
    };
    if title.chars().count() > MAX_TITLE {
        let mut cut: String = title.chars().take(MAX_TITLE - 1).collect();
        cut.push('…');
        cut
    } else {
        title
    }
}

fn culprit_and_frames(states: &[ExceptionState]) -> (String, Vec<FrameOut>) {
    let Some(st) = states.iter().rev().find(|s| !s.frames.is_empty()) else {
        return (String::new(), Vec::new());
    };
    let shown: Vec<&FrameState> = st.frames.iter().filter(|f| f.dropped.is_none()).collect();
    let crash = shown
        .iter()
        .rev()
        .find(|f| f.in_app && f.group && (f.facts.norm.function.is_some() || f.facts.norm.display_file.is_some()))
        .or_else(|| shown.last());
    let culprit = crash.map_or_else(String::new, |f| {
        let place = f.facts.norm.display_file.clone().or_else(|| f.facts.norm.module.clone());
        match (&f.facts.norm.function, place) {
            (Some(func), Some(p)) => format!("{func} ({p})"),
            (Some(func), None) => func.clone(),
            (None, Some(p)) => p,
            (None, None) => String::new(),
        }
    });
    let frames = shown
        .iter()
        .rev()
        .take(MAX_FRAMES_OUT)
        .map(|f| FrameOut {
            function: f.facts.norm.function.clone(),
            module: f.facts.norm.module.clone(),
            file: f.facts.norm.display_file.clone(),
            in_app: f.in_app,
        })
        .collect();
    (culprit, frames)
}

/// The first elements of Go's standard library package paths. A list, not "no dot in the
/// first element": a module named `myapp` has no dot either.
const GO_STD: &[&str] = &[
    "archive",
    "bufio",
    "builtin",
    "bytes",
    "cmp",
    "compress",
    "container",
    "context",
    "crypto",
    "database",
    "debug",
    "embed",
    "encoding",
    "errors",
    "expvar",
    "flag",
    "fmt",
    "go",
    "hash",
    "html",
    "image",
    "index",
    "internal",
    "io",
    "iter",
    "log",
    "maps",
    "math",
    "mime",
    "net",
    "os",
    "path",
    "plugin",
    "reflect",
    "regexp",
    "runtime",
    "slices",
    "sort",
    "strconv",
    "strings",
    "structs",
    "sync",
    "syscall",
    "testing",
    "text",
    "time",
    "unicode",
    "unique",
    "unsafe",
    "weak",
];

/// A Go frame of the standard library (`net/http`, `runtime`) or of a module dependency
/// (a versioned path, `…@v1.2.3/`), whether the build used absolute paths or `-trimpath`.
fn go_library_frame(raw: &Frame) -> bool {
    let path = raw.abs_path.as_deref().or(raw.filename.as_deref()).unwrap_or("");
    if path.contains("@v") || path.contains("/go/pkg/mod/") {
        return true;
    }
    let std_path = |p: &str| GO_STD.contains(&p.split('/').next().unwrap_or(p));
    // A relative path is a `-trimpath` one: `runtime/panic.go` for `panic` (no package).
    raw.module.as_deref().is_some_and(std_path) || (!path.starts_with('/') && path.contains('/') && std_path(path))
}

fn platform_from_frames(exceptions: &[Exception]) -> Platform {
    for f in exceptions.iter().flat_map(|e| &e.frames) {
        let path = f.filename.as_deref().or(f.abs_path.as_deref()).unwrap_or("");
        let ext = path.rsplit('.').next().unwrap_or("");
        let p = match ext {
            "js" | "mjs" | "cjs" | "jsx" | "ts" | "tsx" | "html" | "vue" => Platform::JavaScript,
            "py" => Platform::Python,
            "java" | "kt" | "scala" | "groovy" => Platform::Java,
            "go" => Platform::Go,
            "rs" => Platform::Rust,
            "rb" | "erb" => Platform::Ruby,
            "cs" | "fs" | "vb" => Platform::CSharp,
            _ => continue,
        };
        return p;
    }
    Platform::Other
}

/// Occurrences of one fingerprint, as `hs-fingerprint --group` prints them.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GroupSummary {
    pub fingerprint: String,
    pub count: u64,
    pub title: String,
    pub first_seen: Option<String>,
    pub last_seen: Option<String>,
    /// Event ids (at most [`GroupSummary::MAX_IDS`]; `count` has the total).
    pub ids: Vec<String>,
}

impl GroupSummary {
    pub const MAX_IDS: usize = 100;
}

/// Folds fingerprinted events into one [`GroupSummary`] per fingerprint, in the order
/// fingerprints were first seen.
#[derive(Debug, Default)]
pub struct Grouper {
    order: Vec<String>,
    groups: BTreeMap<String, GroupSummary>,
}

impl Grouper {
    pub fn add(&mut self, fp: &Fingerprint, event: &ErrorEvent) {
        let g = self.groups.entry(fp.fingerprint.clone()).or_insert_with(|| {
            self.order.push(fp.fingerprint.clone());
            GroupSummary {
                fingerprint: fp.fingerprint.clone(),
                count: 0,
                title: fp.title.clone(),
                first_seen: None,
                last_seen: None,
                ids: Vec::new(),
            }
        });
        g.count += 1;
        if let Some(ts) = &event.timestamp {
            if g.first_seen.as_ref().is_none_or(|f| ts < f) {
                g.first_seen = Some(ts.clone());
            }
            if g.last_seen.as_ref().is_none_or(|l| ts > l) {
                g.last_seen = Some(ts.clone());
            }
        }
        if let Some(id) = &event.id
            && g.ids.len() < GroupSummary::MAX_IDS
        {
            g.ids.push(id.clone());
        }
    }

    /// The groups, in first-seen order.
    pub fn finish(mut self) -> Vec<GroupSummary> {
        self.order.iter().filter_map(|fp| self.groups.remove(fp)).collect()
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
