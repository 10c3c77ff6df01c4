//! The fingerprint and its explanation: the output line, its title and culprit, and why
//! each frame did or did not count.

use serde::Serialize;

use super::{Alias, Engine, ExceptionState, FrameState, Reason, Variant};

/// Most frames shown per fingerprint in `frames`.
const MAX_FRAMES_OUT: usize = 50;
/// Longest title, in characters.
const MAX_TITLE: usize = 200;

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

impl Engine {
    pub(super) fn reason(&self, f: &FrameState, variant: Variant, defaults_used: bool) -> String {
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
}

pub(super) fn make_title(ty: &str, message: &str) -> String {
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

pub(super) fn culprit_and_frames(states: &[ExceptionState]) -> (String, Vec<FrameOut>) {
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
