//! The stack-trace rules over an exception's frames: in-app and categories, then grouping.

use super::rules::{Action, MatchKind, Matcher, Range};
use super::stack::Platform;
use super::{Algorithm, Engine, ExceptionState, FAMILIES, FrameState, Reason, normalize};
use crate::event::{Exception, Frame};

/// JavaScript: at most this many frames nearest the crash count. V8 keeps 10 frames
/// (`Error.stackTraceLimit`); Firefox, Safari and SDKs that raise the limit keep more, and
/// without a cap the same error would split by browser and call depth.
const JS_MAX_FRAMES: usize = 10;

impl Engine {
    /// Normalises frames and runs the stack-trace rules: first in-app and categories,
    /// then grouping (which sees the final in-app flags and categories).
    pub(super) fn run_stack_rules<'a>(
        &self,
        exception: &'a Exception,
        platform: Platform,
        family: &str,
        default_in_app: bool,
        algorithm: Algorithm,
    ) -> ExceptionState<'a> {
        let frames = self.frame_states(exception, platform, family, default_in_app, algorithm);
        let v2 = algorithm != Algorithm::V1;
        let max_frames = (v2 && family == "javascript").then_some(JS_MAX_FRAMES);
        let mut state = ExceptionState { exception, frames, max_frames };
        self.apply_stack_rules(&mut state, family);
        state
    }

    /// The frames before any rule: normalised, recursion dropped, in-app as the client
    /// said (or the default).
    fn frame_states(
        &self,
        exception: &Exception,
        platform: Platform,
        family: &str,
        default_in_app: bool,
        algorithm: Algorithm,
    ) -> Vec<FrameState> {
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
        frames
    }

    /// The stack-trace rules in two passes: first in-app and categories, then grouping
    /// and `max-frames`.
    fn apply_stack_rules(&self, state: &mut ExceptionState, family: &str) {
        let exception = state.exception;
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

pub(super) fn frame_matchers_hold(matchers: &[Matcher], f: &FrameState, family: &str) -> bool {
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
