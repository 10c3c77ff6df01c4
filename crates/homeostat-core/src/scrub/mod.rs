//! Personal data and secret scrubbing; rules as data in `policies/scrub.yml`.
//!
//! A [`Scrubber`] holds compiled rules. Rules apply in file order, each to the output of
//! the ones before it, so a specific rule (a GitHub token) names its find before a generic
//! one (a `token=` pair) sees it, and a placeholder is never matched again. One
//! [`RegexSet`] pass over the input picks the rules that can match at all (again after
//! each rule that replaced something), so clean text costs one scan. Every engine is `regex` (linear time, no backtracking); candidates a
//! regex cannot judge alone (Luhn, IP ranges, version context) go through a [`Validate`]
//! check in code.
//!
//! [`Scrubber::findings`] reports what would be replaced, with ranges in the input and
//! the rule's [`Kind`]: hs-guard blocks a diff that adds a [`Kind::Secret`].

mod rules;
mod validate;

use std::borrow::Cow;
use std::ops::Range;
use std::sync::LazyLock;

use regex::{Regex, RegexSet};
use serde::{Deserialize, Serialize};

use crate::error::Result;
pub use validate::Validate;

/// Rejected candidates up to this length are searched again from their second character.
const RETRY_WITHIN: usize = 256;

/// The built-in rules, compiled into every binary.
pub const BUILTIN_RULES: &str = include_str!("../../../../policies/scrub.yml");
const BUILTIN_FILE: &str = "policies/scrub.yml";

/// What a rule finds: a secret (hs-guard blocks a diff that adds one) or personal data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    Secret,
    Personal,
}

/// One thing a scrub would replace: the rule that found it and where it sits in the input
/// (byte offsets). Findings are ordered by position; a find that a later rule's match
/// swallowed whole (a JWT inside a cookie value) is reported by both rules.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    pub rule: String,
    pub kind: Kind,
    pub range: Range<usize>,
}

/// Compiled scrub rules. Cheap to clone (regexes are shared).
#[derive(Debug, Clone)]
pub struct Scrubber {
    rules: Vec<Rule>,
    /// One pass that tells which rules can match; `None` when the set would be too big.
    prefilter: Option<RegexSet>,
}

#[derive(Debug, Clone)]
struct Rule {
    name: String,
    kind: Kind,
    placeholder: String,
    regex: Regex,
    /// Groups named `redact` / `redact_*`: the first that took part is what gets replaced.
    redact_groups: Vec<usize>,
    validate: Option<Validate>,
}

static BUILTIN: LazyLock<Scrubber> = LazyLock::new(|| {
    // The built-in file is ours and unit-tested; failing here is a bug in the crate.
    Scrubber::compile(Vec::new(), BUILTIN_FILE, BUILTIN_RULES).expect("policies/scrub.yml compiles")
});

impl Scrubber {
    /// The built-in rules (`policies/scrub.yml`), compiled once.
    pub fn builtin() -> &'static Scrubber {
        &BUILTIN
    }

    /// The built-in rules plus those in `text` (a rule file read from `file`). A rule whose
    /// name is a built-in's replaces it in place; `disable: [name, …]` turns rules off.
    /// A bad file or regex is an input error at `file:line:col`.
    pub fn with_rules(file: &str, text: &str) -> Result<Scrubber> {
        Self::compile(Self::builtin().rules.clone(), file, text)
    }
    /// The names of the rules, in the order they apply.
    pub fn rule_names(&self) -> impl Iterator<Item = &str> {
        self.rules.iter().map(|r| r.name.as_str())
    }

    /// `text` with every find replaced by its rule's placeholder; borrowed when clean.
    pub fn scrub<'a>(&self, text: &'a str) -> Cow<'a, str> {
        self.run(text).0
    }

    /// What [`scrub`](Self::scrub) would replace, with ranges in `text`, without replacing.
    pub fn findings(&self, text: &str) -> Vec<Finding> {
        self.run(text).1
    }

    /// Scrubs every string inside `value`, object keys included (a key that scrubs to one
    /// already present gets a ` (2)`, ` (3)`… suffix, so no entry is lost).
    pub fn scrub_json(&self, value: &mut serde_json::Value) {
        use serde_json::Value;
        match value {
            Value::String(s) => {
                if let Cow::Owned(clean) = self.scrub(s) {
                    *s = clean;
                }
            }
            Value::Array(items) => items.iter_mut().for_each(|v| self.scrub_json(v)),
            Value::Object(map) => {
                map.values_mut().for_each(|v| self.scrub_json(v));
                if map.keys().any(|k| matches!(self.scrub(k), Cow::Owned(_))) {
                    let old = std::mem::take(map);
                    for (key, v) in old {
                        let clean = self.scrub(&key).into_owned();
                        let mut unique = clean.clone();
                        let mut n = 2;
                        while map.contains_key(&unique) {
                            unique = format!("{clean} ({n})");
                            n += 1;
                        }
                        map.insert(unique, v);
                    }
                }
            }
            Value::Null | Value::Bool(_) | Value::Number(_) => {}
        }
    }

    fn run<'a>(&self, text: &'a str) -> (Cow<'a, str>, Vec<Finding>) {
        // Most text is clean: a plain match test over the set is cheaper than asking which
        // rules match (about 40 % less on the relay's events), and settles it.
        if self.prefilter.as_ref().is_some_and(|set| !set.is_match(text)) {
            return (Cow::Borrowed(text), Vec::new());
        }
        let mut may_match = self.prefilter.as_ref().map(|set| set.matches(text));
        let mut current: Cow<'a, str> = Cow::Borrowed(text);
        let mut placed: Vec<Placed> = Vec::new();
        let mut findings = Vec::new();
        for (index, rule) in self.rules.iter().enumerate() {
            if may_match.as_ref().is_some_and(|m| !m.matched(index)) {
                continue;
            }
            let spans = widen(rule.spans(&current), &placed);
            if spans.is_empty() {
                continue;
            }
            let mut out = String::with_capacity(current.len());
            let mut next_placed = Vec::with_capacity(placed.len() + spans.len());
            let mut last = 0;
            let mut old = placed.iter().peekable();
            for span in &spans {
                let orig = to_original(&placed, span.start)..to_original(&placed, span.end);
                // Placeholders before the span move with the text; those inside are absorbed.
                while let Some(p) = old.next_if(|p| p.cur.end <= span.start) {
                    let start = out.len() + (p.cur.start - last);
                    next_placed.push(Placed { cur: start..start + p.cur.len(), orig: p.orig.clone() });
                }
                while old.next_if(|p| p.cur.start < span.end).is_some() {}
                out.push_str(&current[last..span.start]);
                let start = out.len();
                out.push_str(&rule.placeholder);
                next_placed.push(Placed { cur: start..out.len(), orig: orig.clone() });
                findings.push(Finding { rule: rule.name.clone(), kind: rule.kind, range: orig });
                last = span.end;
            }
            for p in old {
                let start = out.len() + (p.cur.start - last);
                next_placed.push(Placed { cur: start..start + p.cur.len(), orig: p.orig.clone() });
            }
            out.push_str(&current[last..]);
            current = Cow::Owned(out);
            placed = next_placed;
            // Replacing can make a later rule match where it did not before (a key block's
            // spaces gone, a URL password now ends at `@`), so the shortcut is re-taken.
            may_match = self.prefilter.as_ref().map(|set| set.matches(&current));
        }
        findings.sort_by(|a, b| (a.range.start, a.range.end, &a.rule).cmp(&(b.range.start, b.range.end, &b.rule)));
        (current, findings)
    }
}

/// A placeholder in the current text and the input range it stands for.
#[derive(Debug, Clone)]
struct Placed {
    cur: Range<usize>,
    orig: Range<usize>,
}

/// Maps a position in the current text that does not fall strictly inside a placeholder
/// back to the input.
fn to_original(placed: &[Placed], pos: usize) -> usize {
    let before = placed.partition_point(|p| p.cur.end <= pos);
    match before.checked_sub(1).and_then(|i| placed.get(i)) {
        Some(p) => p.orig.end + (pos - p.cur.end),
        None => pos,
    }
}

/// Grows spans that cut into a placeholder to cover it whole (a placeholder is atomic),
/// and merges spans that then overlap.
fn widen(spans: Vec<Range<usize>>, placed: &[Placed]) -> Vec<Range<usize>> {
    let mut out: Vec<Range<usize>> = Vec::with_capacity(spans.len());
    for mut span in spans {
        let i = placed.partition_point(|p| p.cur.end <= span.start);
        if let Some(p) = placed.get(i).filter(|p| p.cur.start < span.start) {
            span.start = p.cur.start;
        }
        let j = placed.partition_point(|p| p.cur.end < span.end);
        if let Some(p) = placed.get(j).filter(|p| p.cur.start < span.end) {
            span.end = span.end.max(p.cur.end);
        }
        match out.last_mut() {
            Some(prev) if prev.end > span.start => prev.end = prev.end.max(span.end),
            _ => out.push(span),
        }
    }
    out
}

impl Rule {
    /// The byte ranges of `text` this rule replaces, in order, not overlapping.
    fn spans(&self, text: &str) -> Vec<Range<usize>> {
        let mut out = Vec::new();
        let mut pos = 0;
        while pos <= text.len() {
            // Capture groups cost a second engine run; only rules with `redact` groups pay it.
            let (whole, target) = if self.redact_groups.is_empty() {
                let Some(m) = self.regex.find_at(text, pos) else { break };
                (m.range(), Some(m.range()))
            } else {
                let Some(caps) = self.regex.captures_at(text, pos) else { break };
                let Some(whole) = caps.get(0) else { break };
                (whole.range(), self.redact_groups.iter().find_map(|&g| caps.get(g)).map(|m| m.range()))
            };
            let accepted =
                target.filter(|t| !t.is_empty() && !is_scrubbed(text, t)).and_then(|t| match self.validate {
                    None => Some(t),
                    Some(v) => v.check(text, t),
                });
            match accepted {
                Some(t) => {
                    pos = t.end.max(next_char(text, whole.start));
                    out.push(t);
                }
                // A rejected candidate may hide a real one that starts inside it; only
                // short ones are searched again from their next character, which keeps
                // the whole scan linear.
                None if whole.len() <= RETRY_WITHIN => pos = next_char(text, whole.start),
                None => pos = whole.end.max(next_char(text, whole.start)),
            }
        }
        out
    }
}

fn next_char(text: &str, pos: usize) -> usize {
    text[pos..].chars().next().map_or(pos + 1, |c| pos + c.len_utf8())
}

/// The target is a placeholder already (or the start of one that a value pattern cut short
/// at its `]`), as in text scrubbed before.
fn is_scrubbed(text: &str, target: &Range<usize>) -> bool {
    let rest = &text[target.start..];
    if !rest.starts_with('[') {
        return false;
    }
    // Placeholders are short; looking further would make every find cost a scan to the end.
    let end = rest.bytes().take(MAX_PLACEHOLDER).position(|b| b == b']');
    end.is_some_and(|end| target.start + end + 1 >= target.end && is_placeholder(&rest[..=end]))
}

/// The longest placeholder, brackets included.
const MAX_PLACEHOLDER: usize = 64;

/// `[lowercase-kebab]`: the shape of every placeholder, never replaced again.
fn is_placeholder(s: &str) -> bool {
    s.len() <= MAX_PLACEHOLDER && s.strip_prefix('[').and_then(|s| s.strip_suffix(']')).is_some_and(is_kebab)
}

fn is_kebab(s: &str) -> bool {
    s.starts_with(|c: char| c.is_ascii_lowercase() || c.is_ascii_digit())
        && s.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_rules_compile_with_a_prefilter() {
        let s = Scrubber::builtin();
        assert!(s.prefilter.is_some(), "the built-in set fits the regex size limit");
        assert!(s.rules.len() >= 20);
        let names: std::collections::HashSet<_> = s.rule_names().collect();
        assert_eq!(names.len(), s.rules.len(), "names are unique");
    }

    #[test]
    fn positions_map_back_through_placeholders() {
        let placed = vec![Placed { cur: 2..9, orig: 2..20 }, Placed { cur: 12..18, orig: 23..40 }];
        assert_eq!(to_original(&placed, 0), 0);
        assert_eq!(to_original(&placed, 2), 2);
        assert_eq!(to_original(&placed, 9), 20);
        assert_eq!(to_original(&placed, 11), 22);
        assert_eq!(to_original(&placed, 18), 40);
        assert_eq!(to_original(&placed, 20), 42);
    }

    #[test]
    #[allow(clippy::single_range_in_vec_init)] // lists of spans, one long
    fn spans_that_cut_a_placeholder_take_it_whole() {
        let placed = vec![Placed { cur: 5..12, orig: 5..30 }];
        assert_eq!(widen(vec![0..7], &placed), vec![0..12]);
        assert_eq!(widen(vec![8..15], &placed), vec![5..15]);
        assert_eq!(widen(vec![0..3, 6..8], &placed), vec![0..3, 5..12]);
        assert_eq!(widen(vec![12..14], &placed), vec![12..14]);
    }

    #[test]
    fn already_scrubbed_targets_are_skipped() {
        let text = "password=[redacted] x";
        assert!(is_scrubbed(text, &(9..18)));
        assert!(is_scrubbed(text, &(9..19)));
        assert!(!is_scrubbed("password=[redacted]xyz", &(9..22)));
        assert!(!is_scrubbed("password=[Redacted]", &(9..19)));
    }

    #[test]
    fn rejected_long_candidates_do_not_make_the_scan_quadratic() {
        // One huge local part ending in a stack-frame "domain": rejected once, not per char.
        let text = format!("{}@main.js:3:7", "a".repeat(200_000));
        assert_eq!(Scrubber::builtin().scrub(&text), text);
    }
}
