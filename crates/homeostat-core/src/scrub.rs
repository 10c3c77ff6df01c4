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

use std::borrow::Cow;
use std::net::Ipv6Addr;
use std::ops::Range;
use std::sync::LazyLock;

use regex::{Regex, RegexSet};
use serde::{Deserialize, Serialize};

use crate::error::{InputError, Position, Result};

/// Rejected candidates up to this length are searched again from their second character.
const RETRY_WITHIN: usize = 256;

/// The built-in rules, compiled into every binary.
pub const BUILTIN_RULES: &str = include_str!("../../../policies/scrub.yml");
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

/// Checks in code for candidates a regex finds but cannot judge alone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Validate {
    /// 13–19 digits, one kind of separator, passing the Luhn check (a trailing group
    /// that breaks it is dropped and the rest tried again).
    Luhn,
    /// Not part of a longer dotted number, not a version (`version 10.0.2.15`, `Chrome/…`).
    Ipv4,
    /// Parses as `std::net::Ipv6Addr`, has a decimal digit, stands alone.
    Ipv6,
    /// 8–15 digits, not glued to letters, digits or `.`/`-`/`+` (trailing groups that
    /// break this are dropped and the rest tried again).
    Phone,
    /// A value, not a reference to one: not `${VAR}`, `{{ x }}`, `<your-key>`, `null`,
    /// `string`, `obj.field`, `call(…)`, `****`, not prose (3+ words), at least 3
    /// characters; and the key is not a known non-secret (`PublicKeyToken`, `page_token`).
    SecretValue,
    /// Looks like a token rather than a word: has a digit, or is at least 32 characters.
    Token,
    /// Not a stack frame's file (`onClick@main.js:3:7`): not followed by `:<line>`, and
    /// the top-level domain is not a source-file extension (`js`, `ts`, `java`, …); not
    /// the SSH user of a git remote (`git@github.com`).
    Email,
    /// A URL password, not a port and path (`host:8080/a@b.example` is no password).
    UrlPassword,
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

/// A rule file: `policies/scrub.yml`, or the user's file named by `scrub.rules`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RuleFile {
    version: u32,
    #[serde(default)]
    rules: Vec<RuleSpec>,
    /// Names of earlier (built-in) rules to turn off.
    #[serde(default)]
    disable: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RuleSpec {
    name: String,
    category: Kind,
    #[serde(default)]
    placeholder: Option<String>,
    pattern: String,
    #[serde(default)]
    validate: Option<Validate>,
    #[serde(default)]
    #[allow(dead_code)] // for people and docs/scrub.md
    description: Option<String>,
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

    fn compile(mut rules: Vec<Rule>, file: &str, text: &str) -> Result<Scrubber> {
        let parsed: RuleFile = crate::parse::yaml(file, text)?;
        if parsed.version != 1 {
            return Err(InputError::new(
                key_position(file, text, None, "version"),
                format!("unsupported scrub rules version {} (expected 1)", parsed.version),
            ));
        }
        let mut seen = std::collections::HashSet::new();
        for spec in parsed.rules {
            if !seen.insert(spec.name.clone()) {
                return Err(InputError::new(
                    key_position(file, text, Some(&spec.name), "name"),
                    format!("rule `{}` is defined twice", spec.name),
                ));
            }
            let rule = Rule::compile(file, text, spec)?;
            match rules.iter_mut().find(|r| r.name == rule.name) {
                Some(existing) => *existing = rule,
                None => rules.push(rule),
            }
        }
        for name in &parsed.disable {
            let before = rules.len();
            rules.retain(|r| &r.name != name);
            if rules.len() == before {
                return Err(InputError::new(
                    value_position(file, text, name).unwrap_or_else(|| key_position(file, text, None, "disable")),
                    format!("disable: no rule named `{name}`"),
                ));
            }
        }
        // A set too big for the default size limit only loses the shortcut, not a rule.
        let prefilter = RegexSet::new(rules.iter().map(|r| r.regex.as_str())).ok();
        Ok(Scrubber { rules, prefilter })
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
    fn compile(file: &str, text: &str, spec: RuleSpec) -> Result<Rule> {
        let at = |key: &str| key_position(file, text, Some(&spec.name), key);
        if !is_kebab(&spec.name) {
            return Err(InputError::new(at("name"), format!("rule name `{}` must be lowercase kebab-case", spec.name)));
        }
        let placeholder = spec.placeholder.clone().unwrap_or_else(|| format!("[{}]", spec.name));
        if !is_placeholder(&placeholder) {
            return Err(InputError::new(
                at("placeholder"),
                format!(
                    "placeholder `{placeholder}` must look like `[lowercase-kebab]` (at most {MAX_PLACEHOLDER} characters)"
                ),
            ));
        }
        let regex = Regex::new(&spec.pattern).map_err(|e| {
            InputError::new(at("pattern"), format!("rule `{}`: invalid regex: {}", spec.name, one_line(&e.to_string())))
        })?;
        if regex.is_match("") {
            return Err(InputError::new(
                at("pattern"),
                format!("rule `{}`: the pattern matches empty text", spec.name),
            ));
        }
        let redact_groups = regex
            .capture_names()
            .enumerate()
            .filter(|(_, name)| name.is_some_and(|n| n == "redact" || n.starts_with("redact_")))
            .map(|(i, _)| i)
            .collect();
        Ok(Rule { name: spec.name, kind: spec.category, placeholder, regex, redact_groups, validate: spec.validate })
    }

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

impl Validate {
    /// The part of `range` to replace, or `None` when the candidate is not a find.
    fn check(self, text: &str, range: Range<usize>) -> Option<Range<usize>> {
        let s = &text[range.clone()];
        let before = &text[..range.start];
        let after = &text[range.end..];
        match self {
            Validate::Luhn => luhn_prefix(s).map(|len| range.start..range.start + len),
            Validate::Ipv4 => ipv4_ok(before, after).then_some(range),
            Validate::Ipv6 => ipv6_len(before, s, after).map(|len| range.start..range.start + len),
            Validate::Phone => phone_len(before, s, after).map(|len| range.start..range.start + len),
            Validate::SecretValue => {
                // The whole key, also when a retry started the match inside it.
                let key = before.trim_end_matches(['"', '\'', '\\', ':', '=', ' ', '\t']);
                let key_len =
                    key.chars().rev().take_while(|c| c.is_ascii_alphanumeric() || "_.-".contains(*c)).take(64).count();
                (secret_value_ok(s) && secret_key_ok(&key[key.len() - key_len..])).then_some(range)
            }
            Validate::Email => email_ok(s, after).then_some(range),
            Validate::UrlPassword => {
                let digits = s.bytes().take_while(u8::is_ascii_digit).count();
                let port_and_path = (1..=5).contains(&digits) && s[digits..].starts_with('/');
                (!port_and_path).then_some(range)
            }
            Validate::Token => (s.bytes().any(|b| b.is_ascii_digit()) || s.len() >= 32).then_some(range),
        }
    }
}

/// The longest prefix of a card candidate, ending at a group boundary, that is 13–19
/// digits with one kind of separator and passes Luhn.
fn luhn_prefix(s: &str) -> Option<usize> {
    let mut separators = s.bytes().filter(|b| !b.is_ascii_digit());
    if let Some(first) = separators.next()
        && separators.any(|b| b != first)
    {
        return None;
    }
    // Candidate ends: the whole string, then before each separator, longest first.
    let ends =
        std::iter::once(s.len()).chain(s.char_indices().rev().filter(|(_, c)| !c.is_ascii_digit()).map(|(i, _)| i));
    for end in ends {
        let digits: Vec<u32> = s[..end].chars().filter_map(|c| c.to_digit(10)).collect();
        if digits.len() < 13 {
            break;
        }
        if digits.len() <= 19 && luhn(&digits) {
            return Some(end);
        }
    }
    None
}

fn luhn(digits: &[u32]) -> bool {
    let sum: u32 = digits
        .iter()
        .rev()
        .enumerate()
        .map(|(i, &d)| if i % 2 == 1 { if d * 2 > 9 { d * 2 - 9 } else { d * 2 } } else { d })
        .sum();
    sum.is_multiple_of(10)
}

/// Words after which a dotted quad is a version, not an address.
const VERSION_WORDS: &[&str] = &["v", "ver", "version", "release", "build", "rev", "revision", "firmware", "fw"];

fn ipv4_ok(before: &str, after: &str) -> bool {
    // Part of a longer dotted number: 1.2.3.4.5 or 9.1.2.3.4.
    let mut a = after.chars();
    if a.next() == Some('.') && a.next().is_some_and(|c| c.is_ascii_digit()) {
        return false;
    }
    let mut b = before.chars().rev();
    if b.next() == Some('.') && b.next().is_some_and(|c| c.is_ascii_alphanumeric()) {
        return false;
    }
    // `Chrome/10.0.2.15`: a product token's version.
    let mut b = before.chars().rev();
    if b.next() == Some('/') && b.next().is_some_and(|c| c.is_ascii_alphabetic()) {
        return false;
    }
    let context = before.trim_end_matches([' ', '\t', ':', '=', '"', '\'', '.']);
    // ASCII letters are one byte each, so this slice stays on a char boundary.
    let word_len = context.chars().rev().take_while(char::is_ascii_alphabetic).take(16).count();
    let word = context[context.len() - word_len..].to_ascii_lowercase();
    !VERSION_WORDS.contains(&word.as_str())
}

fn ipv6_len(before: &str, s: &str, after: &str) -> Option<usize> {
    let glued = |c: char| c.is_ascii_alphanumeric() || c == '_' || c == ':' || c == '.';
    if before.chars().next_back().is_some_and(glued) {
        return None;
    }
    // A sentence may end right after the address (`fe80::1: unreachable`, `::1.`).
    let mut candidate = s;
    loop {
        let next = s[candidate.len()..].chars().next().or_else(|| after.chars().next());
        let stands_alone = next.is_none_or(|c| !(c.is_ascii_alphanumeric() || c == '_'));
        // A decimal digit: real addresses have one, `dead::beef`-like code paths do not;
        // `x::` with one group is a path prefix (`lambda$0::`), `2001:db8::` an address.
        let path_prefix = candidate.ends_with("::") && candidate.matches(':').count() < 3;
        if stands_alone
            && !path_prefix
            && candidate.bytes().any(|b| b.is_ascii_digit())
            && candidate.parse::<Ipv6Addr>().is_ok()
        {
            return Some(candidate.len());
        }
        candidate = candidate.strip_suffix(':').or_else(|| candidate.rfind('.').map(|i| &candidate[..i]))?;
        if candidate.len() < 2 {
            return None;
        }
    }
}

/// Source-file extensions that are not top-level domains.
const CODE_EXTENSIONS: &[&str] = &[
    "js", "mjs", "cjs", "jsx", "ts", "mts", "cts", "tsx", "vue", "svelte", "java", "kt", "kts", "class", "go", "rb",
    "php", "swift", "dart", "lua", "cpp", "hpp", "cxx", "json", "map", "wasm", "html", "htm", "css", "scss", "scala",
    "groovy", "erb",
];

fn email_ok(s: &str, after: &str) -> bool {
    let mut a = after.chars();
    if a.next() == Some(':') && a.next().is_some_and(|c| c.is_ascii_digit()) {
        return false;
    }
    // `git@github.com:org/repo`: the SSH user every forge uses, not a person.
    if s.starts_with("git@") {
        return false;
    }
    let tld = s.rsplit('.').next().unwrap_or_default().to_ascii_lowercase();
    !CODE_EXTENSIONS.contains(&tld.as_str())
}

/// The longest prefix of a phone candidate, ending after a digit group, with 8–15 digits,
/// not glued to letters, digits or `.`/`-`/`+` (a greedy match may run into a following
/// number: `+49 151 1234 5678 2024`).
fn phone_len(before: &str, s: &str, after: &str) -> Option<usize> {
    if before.chars().next_back().is_some_and(|c| c.is_alphanumeric() || matches!(c, '_' | '.' | '-' | '+')) {
        return None;
    }
    let ends = std::iter::once(s.len()).chain(
        s.char_indices()
            .rev()
            .filter(|&(i, c)| !c.is_ascii_digit() && s[..i].ends_with(|d: char| d.is_ascii_digit()))
            .map(|(i, _)| i),
    );
    for end in ends {
        let digits = s[..end].bytes().filter(u8::is_ascii_digit).count();
        if digits < 8 {
            return None;
        }
        let rest = if end == s.len() { after } else { &s[end..] };
        let mut a = rest.chars();
        let glued = match a.next() {
            Some(c) if c.is_alphanumeric() || c == '_' => true,
            Some('.' | '-') => a.next().is_some_and(|c| c.is_ascii_digit()),
            _ => false,
        };
        if digits <= 15 && !glued {
            return Some(end);
        }
    }
    None
}

/// Values that stand for a secret rather than being one.
const NOT_SECRETS: &[&str] = &[
    "null",
    "none",
    "nil",
    "undefined",
    "true",
    "false",
    "string",
    "str",
    "bool",
    "number",
    "int",
    "required",
    "optional",
    "redacted",
    "hidden",
    "masked",
    "empty",
    "secret",
    "password",
    "token",
    "changeme",
];

/// Keys that end like a secret's but hold none (.NET assembly names, paging cursors).
const NOT_SECRET_KEYS: &[&str] = &[
    "publickeytoken",
    "pagetoken",
    "page_token",
    "nextpagetoken",
    "next_page_token",
    "continuationtoken",
    "continuation_token",
];

fn secret_key_ok(key: &str) -> bool {
    let key = key.to_ascii_lowercase();
    !NOT_SECRET_KEYS.iter().any(|k| key.ends_with(k))
}

fn secret_value_ok(s: &str) -> bool {
    if s.chars().count() < 3 || NOT_SECRETS.contains(&s.to_ascii_lowercase().as_str()) {
        return false;
    }
    // Three words or more is prose (a label: "Forgot your password?"), not a secret.
    if s.split_whitespace().count() >= 3 {
        return false;
    }
    if s.starts_with(['$', '{', '%', '<']) || s.contains('(') {
        return false;
    }
    if s.chars().all(|c| matches!(c, '*' | 'x' | 'X' | '.' | '-' | '•')) {
        return false;
    }
    // `obj.field`, `process.env.PASSWORD`: a reference in code.
    let ident = |p: &str| {
        let mut c = p.chars();
        c.next().is_some_and(|f| f.is_ascii_alphabetic() || f == '_' || f == '$')
            && c.all(|ch| ch.is_ascii_alphanumeric() || ch == '_' || ch == '$')
    };
    let parts: Vec<&str> = s.split('.').collect();
    !(parts.len() > 1 && parts.iter().all(|p| ident(p)))
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

fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Where `key:` sits in a rule file: inside the rule named `rule` when given (the first
/// such key after its `name:` line), else the first at any depth. Points at the value.
fn key_position(file: &str, text: &str, rule: Option<&str>, key: &str) -> Position {
    let from = rule.and_then(|name| name_offset(text, name)).unwrap_or(0);
    let mut offset = from;
    for line in text[from..].split_inclusive('\n') {
        let trimmed = line.trim_start().trim_start_matches("- ");
        if let Some(rest) = trimmed.strip_prefix(key).and_then(|r| r.strip_prefix(':')) {
            let value_at = line.len() - rest.trim_start().len();
            return Position::from_offset(file, text, offset + value_at);
        }
        offset += line.len();
    }
    match rule.and_then(|name| name_offset(text, name)) {
        Some(at) => Position::from_offset(file, text, at),
        None => Position::file(file),
    }
}

/// The start of the line that names rule `name`.
fn name_offset(text: &str, name: &str) -> Option<usize> {
    let mut offset = 0;
    for line in text.split_inclusive('\n') {
        let trimmed = line.trim_start().trim_start_matches("- ");
        if let Some(rest) = trimmed.strip_prefix("name:") {
            let value = rest.trim().trim_matches(['"', '\'']);
            if value == name {
                return Some(offset);
            }
        }
        offset += line.len();
    }
    None
}

/// The first occurrence of `value` as a word in `text`.
fn value_position(file: &str, text: &str, value: &str) -> Option<Position> {
    text.match_indices(value)
        .find(|(i, _)| {
            let before = text[..*i].chars().next_back();
            let after = text[i + value.len()..].chars().next();
            !before.is_some_and(|c| c.is_alphanumeric() || c == '-')
                && !after.is_some_and(|c| c.is_alphanumeric() || c == '-')
        })
        .map(|(i, _)| Position::from_offset(file, text, i))
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
    fn luhn_known_numbers() {
        let digits = |s: &str| s.chars().filter_map(|c| c.to_digit(10)).collect::<Vec<_>>();
        assert!(luhn(&digits("4111111111111111")));
        assert!(luhn(&digits("378282246310005")));
        assert!(!luhn(&digits("4111111111111112")));
        assert_eq!(luhn_prefix("4111 1111 1111 1111"), Some(19));
        assert_eq!(luhn_prefix("4111 1111 1111 1111 2024"), Some(19));
        assert_eq!(luhn_prefix("4111-1111 1111 1111"), None);
        assert_eq!(luhn_prefix("411111111111"), None);
    }

    #[test]
    fn ipv4_version_context() {
        assert!(ipv4_ok("host ", " up"));
        assert!(ipv4_ok("ssh deploy@", ""));
        assert!(!ipv4_ok("Version: ", ""));
        assert!(!ipv4_ok("\"release\": \"", "\""));
        assert!(!ipv4_ok("Chrome/", " "));
        assert!(!ipv4_ok("9.", ""));
        assert!(!ipv4_ok("", ".5"));
        assert!(ipv4_ok("", ". Next sentence"));
    }

    #[test]
    fn ipv6_candidates() {
        assert_eq!(ipv6_len(" ", "fe80::1", " "), Some(7));
        assert_eq!(ipv6_len(" ", "fe80::1:", " x"), Some(7));
        assert_eq!(ipv6_len(" ", "::", " Int"), None);
        assert_eq!(ipv6_len("std", "::io", ""), None);
        assert_eq!(ipv6_len(" ", "10:00:00", ""), None);
        assert_eq!(ipv6_len(" ", "::1", "g"), None);
        assert_eq!(ipv6_len(" ", "dead::beef", " "), None);
        assert_eq!(ipv6_len(" ", "0::", "<anonymous>"), None);
        assert_eq!(ipv6_len(" ", "2001:db8::", " "), Some(10));
    }

    #[test]
    fn phone_candidates_shrink_to_a_valid_number() {
        assert_eq!(phone_len(" ", "+1 415 555 0100", " x"), Some(15));
        assert_eq!(phone_len(" ", "+49 151 1234 5678 2024", ""), Some(17));
        assert_eq!(phone_len("x", "+1 415 555 0100", ""), None);
        assert_eq!(phone_len(" ", "+1 2345", ""), None);
        assert_eq!(phone_len(" ", "415-555-0100", "-7"), None);
    }

    #[test]
    fn secret_values_and_references() {
        assert!(!secret_value_ok("Forgot your password?"));
        assert!(secret_key_ok("DB_PASSWORD") && !secret_key_ok("PublicKeyToken") && !secret_key_ok("next_page_token"));
        for value in ["hunter2", "correct-horse", "p@ss w0rd", "abc"] {
            assert!(secret_value_ok(value), "{value}");
        }
        for value in
            ["${X}", "{{ secrets.X }}", "<your-key>", "null", "String", "req.body.password", "get()", "****", "ab"]
        {
            assert!(!secret_value_ok(value), "{value}");
        }
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

    #[test]
    fn key_positions_point_at_values() {
        let text =
            "version: 1\nrules:\n  - name: a\n    pattern: 'x'\n  - name: b\n    category: secret\n    pattern: 'y('\n";
        assert_eq!(key_position("f", text, Some("b"), "pattern").to_string(), "f:7:14");
        assert_eq!(key_position("f", text, Some("a"), "pattern").to_string(), "f:4:14");
        assert_eq!(key_position("f", text, None, "version").to_string(), "f:1:10");
    }
}
