//! Faults a test programs: for requests whose method and path match, the next `times`
//! answers are a failure instead of (or after) the real thing.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum FaultKind {
    /// An error status (500, 502, 503, …) and nothing changes.
    Status { status: u16 },
    /// 429 with `Retry-After: secs`.
    TooMany { retry_after: u64 },
    /// 403 "You have exceeded a secondary rate limit", with `Retry-After` when given.
    Secondary { retry_after: Option<u64> },
    /// 403 with `x-ratelimit-remaining: 0` and a reset `reset_in` seconds away.
    Primary { reset_in: u64 },
    /// The real answer, `ms` milliseconds late.
    Slow { ms: u64 },
    /// The connection closes before anything happens.
    Drop,
    /// The write is applied, then the connection closes before the answer.
    LandedThenDrop,
    /// The write is applied, then GitHub answers 502 (a proxy lost the answer).
    LandedThen502,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Fault {
    /// `GET`, `POST`, …, or `*` for any.
    pub method: String,
    /// A regular expression searched in the path (no query), e.g. `/issues$`.
    pub path: String,
    #[serde(flatten)]
    pub kind: FaultKind,
    /// How many matching requests it hits; 0 = every one.
    pub times: u32,
    #[serde(default)]
    pub hits: u32,
    /// Matching requests let through before the fault starts (e.g. a read that fails
    /// only after the first one).
    #[serde(default)]
    pub skip: u32,
    #[serde(default)]
    pub skipped: u32,
}

impl Fault {
    /// A fault hitting the next matching request once.
    pub fn new(method: &str, path: &str, kind: FaultKind) -> Self {
        Self { method: method.into(), path: path.into(), kind, times: 1, hits: 0, skip: 0, skipped: 0 }
    }

    pub fn times(mut self, times: u32) -> Self {
        self.times = times;
        self
    }

    /// Lets the first `n` matching requests through.
    pub fn after(mut self, n: u32) -> Self {
        self.skip = n;
        self
    }

    /// Every matching request, for as long as the stand-in runs.
    pub fn always(self) -> Self {
        self.times(0)
    }

    fn matches(&self, method: &str, path: &str) -> bool {
        (self.method == "*" || self.method.eq_ignore_ascii_case(method))
            && (self.times == 0 || self.hits < self.times)
            && regex::Regex::new(&self.path).map(|r| r.is_match(path)).unwrap_or(false)
    }
}

/// The first programmed fault matching the request, counted as hit.
pub fn take(faults: &mut [Fault], method: &str, path: &str) -> Option<FaultKind> {
    for f in faults.iter_mut().filter(|f| f.matches(method, path)) {
        if f.skipped < f.skip {
            f.skipped += 1;
            continue;
        }
        f.hits += 1;
        return Some(f.kind.clone());
    }
    None
}
