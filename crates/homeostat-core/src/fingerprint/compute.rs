//! One fingerprint computed: the exceptions to group, the variant, the values hashed
//! (default grouping, a fingerprint rule or the client's fingerprint) and the hash.

use std::borrow::Cow;

use sha2::{Digest, Sha256};

use super::output::{ExceptionExplained, Explanation, Fingerprint, FrameExplained, culprit_and_frames, make_title};
use super::rules::{self, MatchKind, Matcher};
use super::stack::{self, Platform};
use super::stack_rules::frame_matchers_hold;
use super::{Algorithm, Engine, ExceptionState, FrameState, Variant, message};
use crate::event::{ErrorEvent, Exception};

/// The values a fingerprint hashes, and what chose them.
struct Chosen<'s> {
    values: Vec<Cow<'s, str>>,
    /// `app`, `system`, `message`, `fingerprint-rule` or `client-fingerprint`.
    variant_name: &'static str,
    custom_title: Option<String>,
    rule_text: Option<String>,
    /// A fingerprint rule or the client's fingerprint decided.
    custom: bool,
    /// The default grouping's values went in (always, unless a custom one left them out).
    defaults_used: bool,
}

impl Engine {
    pub(super) fn compute(&self, event: &ErrorEvent, explain: bool, algorithm: Algorithm) -> Fingerprint {
        let (platform, exceptions) = self.exceptions_of(event, algorithm);
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

        let variant = choose_variant(&mut states);
        let chosen = self.choose_values(&states, variant, event, platform, algorithm);

        let fingerprint = hash(&chosen.values, chosen.custom);
        let thrown = states.last();
        let ty = thrown.and_then(|s| s.exception.r#type.clone()).unwrap_or_default();
        let message =
            thrown.and_then(|s| s.exception.value.clone()).or_else(|| event.message.clone()).unwrap_or_default();
        let (culprit, frames) = culprit_and_frames(&states);
        let explanation = explain.then(|| self.explanation(&states, variant, &chosen));
        let title = chosen.custom_title.unwrap_or_else(|| make_title(&ty, &message));

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

    /// The platform and the exceptions to group: the event's own, or those parsed from its
    /// stack; the event's type and message name the thrown one; JavaScript frames resolved
    /// through the source maps.
    fn exceptions_of<'e>(&self, event: &'e ErrorEvent, algorithm: Algorithm) -> (Platform, Cow<'e, [Exception]>) {
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
        (platform, exceptions)
    }

    /// The values to hash: a matching fingerprint rule's, else the client's fingerprint,
    /// else the default grouping's.
    fn choose_values<'s>(
        &self,
        states: &'s [ExceptionState],
        variant: Variant,
        event: &'s ErrorEvent,
        platform: Platform,
        algorithm: Algorithm,
    ) -> Chosen<'s> {
        let default_values = default_values(states, variant, event, algorithm);
        let fp_rule = self.rules.fingerprint.iter().find(|r| fingerprint_rule_matches(r, event, platform, states));
        let (values, variant_name, custom_title, rule_text) = if let Some(rule) = fp_rule {
            let vals = rule.values.iter().flat_map(|v| expand(v, &default_values, event, states)).map(Cow::Owned);
            (vals.collect(), "fingerprint-rule", rule.title.clone(), Some(rule.text.clone()))
        } else if !event.fingerprint.is_empty() && event.fingerprint.iter().any(|v| !is_default_var(v)) {
            let vals = event.fingerprint.iter().flat_map(|v| expand(v, &default_values, event, states)).map(Cow::Owned);
            (vals.collect(), "client-fingerprint", None, None)
        } else {
            (default_values, variant.name(), None, None)
        };
        let custom = variant_name == "fingerprint-rule" || variant_name == "client-fingerprint";
        let defaults_used =
            !custom || rule_or_client_uses_default(fp_rule.map(|r| &r.values[..]).unwrap_or(&event.fingerprint));
        Chosen { values, variant_name, custom_title, rule_text, custom, defaults_used }
    }

    /// Why each frame did or did not count, for `--explain`.
    fn explanation(&self, states: &[ExceptionState], variant: Variant, chosen: &Chosen) -> Explanation {
        let defaults_used = chosen.defaults_used;
        Explanation {
            variant: chosen.variant_name.to_string(),
            values: chosen.values.iter().map(|v| v.to_string()).collect(),
            rule: chosen.rule_text.clone(),
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
        }
    }
}

/// Which frames count, per variant; the variant: `app` when an in-app frame counts, else
/// `system` when any frame does, else `message`.
fn choose_variant(states: &mut [ExceptionState]) -> Variant {
    let mut app_any = false;
    let mut system_any = false;
    for st in states {
        mark_contributions(st);
        app_any |= st.frames.iter().any(|f| f.counts_app);
        system_any |= st.frames.iter().any(|f| f.counts_system);
    }
    if app_any {
        Variant::App
    } else if system_any {
        Variant::System
    } else {
        Variant::Message
    }
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
