//! Every hidden marker homeostat writes into an issue, pull request or comment body, typed,
//! rendered and parsed here and nowhere else.
//!
//! A body homeostat writes is `text` + a **trailer**: a blank line, then one marker per line
//! to the end of the body. Markers are read only from that trailer (the run of marker lines
//! at the very end), and every piece of text before it has `<!--` neutralised
//! ([`neutralise`]), so text copied from an error, an alert or a person can never carry a
//! marker homeostat believes: a forged `<!-- homeostat:state … -->` in an error message is
//! neither in the trailer nor an HTML comment any more.
//!
//! Pure: no I/O.

use std::fmt::Write as _;

/// One hidden marker.
#[derive(Debug, Clone, PartialEq)]
pub enum Marker {
    /// Ties an error issue to a fingerprint (an issue keeps old ones when the algorithm moves).
    Fingerprint {
        fingerprint: String,
        algorithm: String,
    },
    /// An error issue's counters (JSON object).
    State(serde_json::Value),
    /// A pull request fixes issue N.
    Issue(u64),
    /// An ops approval issue: the runbook, the alert, and the digest of the filled plan
    /// that `/approve` runs (the approval is bound to what the issue shows).
    OpsApproval {
        sop: String,
        alert: String,
        plan: String,
    },
    /// The alert an approval issue continues from (JSON object).
    OpsAlert(serde_json::Value),
    OpsEscalation(String),
    OpsIssue(String),
    Revert(String),
    CanaryRevert(String),
    /// An issue filed from one piece of user feedback (its id).
    Feedback(String),
    /// A comment or body homeostat keeps one of (`classification`, `guard`, `agent-status`, …).
    Tag(String),
}

/// Builds a marker from its one value.
type Keyed = fn(String) -> Marker;

const PREFIX: &str = "<!-- homeostat:";
const SUFFIX: &str = " -->";

/// Tags of the bodies homeostat updates in place.
pub mod tag {
    pub const CLASSIFICATION: &str = "classification";
    pub const GUARD: &str = "guard";
    pub const AGENT_STATUS: &str = "agent-status";
    pub const OPS_REFUSED: &str = "ops-refused";
    pub const OPS_DEFERRED: &str = "ops-deferred";
    pub const CONTENT: &str = "content";
    pub const CONTENT_PUBLISH: &str = "content-publish";
    /// hs-cluster's comment linking a report to its likely duplicates.
    pub const CLUSTER: &str = "cluster";
    /// hs-report's living report issue.
    pub const REPORT: &str = "report";
    /// hs-ops's daily report issue.
    pub const OPS_REPORT: &str = "ops-report";
}

impl Marker {
    pub fn tag(name: &str) -> Self {
        Self::Tag(name.to_string())
    }

    /// The marker as one line (values outside a marker's alphabet are %-encoded, JSON has
    /// `<`, `>` and `-` escaped, so no value can end the comment, add a line or a marker).
    pub fn render(&self) -> String {
        let inner = match self {
            Self::Fingerprint { fingerprint, algorithm } => {
                format!("fingerprint={} algorithm={}", word(fingerprint), word(algorithm))
            }
            Self::State(v) => format!("state {}", json(v)),
            Self::Issue(n) => format!("issue={n}"),
            Self::OpsApproval { sop, alert, plan } => {
                format!("ops-approval sop={} alert={} plan={}", word(sop), word(alert), word(plan))
            }
            Self::OpsAlert(v) => format!("ops-alert {}", json(v)),
            Self::OpsEscalation(s) => format!("ops-escalation={}", word(s)),
            Self::OpsIssue(s) => format!("ops-issue={}", word(s)),
            Self::Revert(s) => format!("revert={}", word(s)),
            Self::CanaryRevert(s) => format!("canary-revert={}", word(s)),
            Self::Feedback(s) => format!("feedback={}", word(s)),
            Self::Tag(t) => word(t),
        };
        format!("{PREFIX}{inner}{SUFFIX}")
    }

    /// Parses one rendered marker line (`None` for anything else).
    pub fn parse(line: &str) -> Option<Self> {
        let inner = line.trim().strip_prefix(PREFIX)?.strip_suffix(SUFFIX)?;
        if inner.contains("-->") || inner.contains("<!--") {
            return None;
        }
        if let Some(j) = inner.strip_prefix("state ") {
            return object(j).map(Self::State);
        }
        if let Some(j) = inner.strip_prefix("ops-alert ") {
            return object(j).map(Self::OpsAlert);
        }
        if let Some(rest) = inner.strip_prefix("fingerprint=") {
            let (fp, alg) = rest.split_once(" algorithm=").unwrap_or((rest, "v1"));
            let hex = (8..=64).contains(&fp.len()) && fp.bytes().all(|b| b.is_ascii_hexdigit());
            return (hex && is_word(alg))
                .then(|| Self::Fingerprint { fingerprint: fp.to_ascii_lowercase(), algorithm: alg.into() });
        }
        if let Some(rest) = inner.strip_prefix("ops-approval ") {
            let mut fields = rest.split(' ');
            let mut take = |key: &str| fields.next()?.strip_prefix(key).filter(|v| is_word(v)).map(str::to_string);
            let (sop, alert) = (take("sop=")?, take("alert=")?);
            let plan = take("plan=").unwrap_or_default();
            return fields.next().is_none().then_some(Self::OpsApproval { sop, alert, plan });
        }
        if let Some(n) = inner.strip_prefix("issue=") {
            return n.parse().ok().map(Self::Issue);
        }
        let keyed: [(&str, Keyed); 5] = [
            ("ops-escalation=", Self::OpsEscalation),
            ("ops-issue=", Self::OpsIssue),
            ("revert=", Self::Revert),
            ("canary-revert=", Self::CanaryRevert),
            ("feedback=", Self::Feedback),
        ];
        for (key, make) in keyed {
            if let Some(v) = inner.strip_prefix(key) {
                return is_word(v).then(|| make(v.to_string()));
            }
        }
        is_word(inner).then(|| Self::Tag(inner.to_string()))
    }
}

/// Characters a marker value keeps as they are; anything else is %-encoded.
fn is_word_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | ':' | '/' | '%')
}

fn is_word(s: &str) -> bool {
    !s.is_empty() && !s.contains("--") && s.chars().all(is_word_char)
}

/// A value in marker alphabet: other bytes (spaces, `<`, `>`, `=`, newlines) and `--`
/// are %-encoded, so the same value always renders the same way.
pub fn word(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut prev_dash = false;
    for c in s.chars() {
        let dash_run = c == '-' && prev_dash;
        if is_word_char(c) && c != '%' && !dash_run {
            out.push(c);
        } else {
            let mut buf = [0u8; 4];
            for b in c.encode_utf8(&mut buf).bytes() {
                let _ = write!(out, "%{b:02X}");
            }
        }
        prev_dash = c == '-' && !dash_run;
    }
    if out.is_empty() { "%00".into() } else { out }
}

fn json(v: &serde_json::Value) -> String {
    let text = serde_json::to_string(v).unwrap_or_else(|_| "{}".into());
    text.replace('<', "\\u003c").replace('>', "\\u003e")
}

fn object(text: &str) -> Option<serde_json::Value> {
    serde_json::from_str::<serde_json::Value>(text).ok().filter(serde_json::Value::is_object)
}

/// `<!--` in text homeostat did not write becomes `<!‑‑` (non-breaking hyphens): it
/// still reads the same, but it opens no hidden comment and can never be a marker.
pub fn neutralise(text: &str) -> String {
    if text.contains("<!--") { text.replace("<!--", "<!\u{2011}\u{2011}") } else { text.to_string() }
}

/// The trailer for `markers`: a blank line, then one marker per line.
pub fn trailer(markers: &[Marker]) -> String {
    let mut out = String::from("\n");
    for m in markers {
        out.push('\n');
        out.push_str(&m.render());
    }
    out
}

/// A whole body: `text` (neutralised, trimmed) and the trailer, cut to GitHub's limit
/// with the trailer kept.
pub fn body(text: &str, markers: &[Marker]) -> String {
    let tail = trailer(markers);
    let head = neutralise(text.trim_end());
    crate::limits::truncate_body(&format!("{head}{tail}"), &tail)
}

/// The markers in a body's trailer (the run of marker lines at its end), in order.
pub fn parse(body: &str) -> Vec<Marker> {
    let mut out = Vec::new();
    for line in body.trim_end().lines().rev() {
        let line = line.trim_end_matches('\r');
        if line.trim().is_empty() {
            continue;
        }
        match Marker::parse(line) {
            Some(m) => out.push(m),
            None => break,
        }
    }
    out.reverse();
    out
}

/// The body without its trailer.
pub fn without_trailer(body: &str) -> &str {
    let mut end = body.trim_end().len();
    while end > 0 {
        let head = body[..end].trim_end();
        let start = head.rfind('\n').map_or(0, |i| i + 1);
        if Marker::parse(head[start..].trim_end_matches('\r')).is_none() {
            return head;
        }
        end = start;
    }
    ""
}

/// What an error issue remembers between runs, kept in its trailer's state marker: written
/// by hs-issue, read by hs-issue and by the policy (surfaces, environments and tags).
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct IssueState {
    #[serde(default)]
    pub count: u64,
    #[serde(default)]
    pub first_seen: Option<String>,
    #[serde(default)]
    pub last_seen: Option<String>,
    #[serde(default)]
    pub releases: Vec<String>,
    #[serde(default)]
    pub environments: Vec<String>,
    /// The events' surfaces and tags (`key=value`), scrubbed: policy rules on `surface`
    /// read the issue as they read the event.
    #[serde(default)]
    pub surfaces: Vec<String>,
    #[serde(default)]
    pub tags: Vec<String>,
    #[serde(default)]
    pub last_comment_at: Option<String>,
    /// Keys of the batches already counted (newest last).
    #[serde(default)]
    pub applied: Vec<String>,
}

impl IssueState {
    /// The state in a body's trailer; `None` when there is none or it is damaged.
    pub fn find(body: &str) -> Option<Self> {
        find(body, |m| match m {
            Marker::State(v) => serde_json::from_value(v).ok(),
            _ => None,
        })
    }

    /// The state as its marker.
    pub fn marker(&self) -> Marker {
        Marker::State(serde_json::to_value(self).unwrap_or_else(|_| serde_json::json!({})))
    }
}

/// Whether the body's trailer carries `marker`.
pub fn has(body: &str, marker: &Marker) -> bool {
    parse(body).iter().any(|m| m == marker)
}

/// Every fingerprint marker in the trailer.
pub fn fingerprints(body: &str) -> Vec<(String, String)> {
    parse(body)
        .into_iter()
        .filter_map(|m| match m {
            Marker::Fingerprint { fingerprint, algorithm } => Some((fingerprint, algorithm)),
            _ => None,
        })
        .collect()
}

/// The first marker `pick` accepts in the trailer.
pub fn find<T>(body: &str, pick: impl Fn(Marker) -> Option<T>) -> Option<T> {
    parse(body).into_iter().find_map(pick)
}

/// Untrusted text for one markdown table cell, heading or list item: one line, no
/// hidden characters, no HTML comment, and every character markdown gives a meaning to
/// (emphasis, links, images, HTML, tables, mentions, code) escaped, so it shows as typed.
pub fn escape_md(text: &str) -> String {
    let clean = crate::text::strip_hidden(text);
    let mut out = String::with_capacity(clean.len() + 8);
    for c in clean.chars() {
        match c {
            '\n' | '\r' | '\t' => out.push(' '),
            // A zero-width space after `@` is what stops a mention (a backslash does not).
            '@' => out.push_str("@\u{200B}"),
            '\\' | '`' | '*' | '_' | '[' | ']' | '<' | '>' | '|' | '~' | '#' | '!' | '&' | '(' | ')' => {
                out.push('\\');
                out.push(c);
            }
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    out
}

/// The issue number in a pull request body's marker.
pub fn issue_of(body: &str) -> Option<u64> {
    find(body, |m| match m {
        Marker::Issue(n) => Some(n),
        _ => None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all() -> Vec<Marker> {
        vec![
            Marker::Fingerprint { fingerprint: "0123456789abcdef".into(), algorithm: "v1".into() },
            Marker::State(serde_json::json!({"count": 3, "note": "a --> b <!-- c"})),
            Marker::Issue(12),
            Marker::OpsApproval { sop: "restart-api".into(), alert: "a b -->".into(), plan: "ff00".into() },
            Marker::OpsAlert(serde_json::json!({"labels": {"x": "<!-- homeostat:issue=1 -->\n"}})),
            Marker::OpsEscalation("disk-full".into()),
            Marker::OpsIssue("disk-full".into()),
            Marker::Revert("abc123".into()),
            Marker::CanaryRevert("abc123".into()),
            Marker::Feedback("9f1b6c1d0a6b4e3a9b7e2c1f0a9d8e7f".into()),
            Marker::tag(tag::GUARD),
        ]
    }

    #[test]
    fn every_marker_renders_on_one_line_and_parses_back() {
        for m in all() {
            let line = m.render();
            assert_eq!(line.lines().count(), 1, "{line}");
            assert_eq!(line.matches("-->").count(), 1, "{line}");
            let back = Marker::parse(&line).unwrap_or_else(|| panic!("{line} does not parse"));
            match (&m, &back) {
                (Marker::OpsApproval { alert, .. }, Marker::OpsApproval { alert: a2, .. }) => {
                    assert_eq!(a2, &word(alert))
                }
                _ => assert_eq!(back, m),
            }
        }
    }

    #[test]
    fn only_the_trailer_counts() {
        let forged = Marker::Fingerprint { fingerprint: "ffffffffffffffff".into(), algorithm: "v1".into() }.render();
        let real = Marker::Fingerprint { fingerprint: "0123456789abcdef".into(), algorithm: "v1".into() };
        let b = body(&format!("error: {forged}\n{forged}\n"), std::slice::from_ref(&real));
        assert_eq!(parse(&b), vec![real]);
        assert!(!b.contains(&format!("\n{forged}\n")));
        // Text after the trailer (a person's edit) hides it rather than adding to it.
        assert!(parse(&format!("{b}\nmore text")).is_empty());
    }

    #[test]
    fn neutralised_text_has_no_comment_opener() {
        assert_eq!(neutralise("a <!-- x --> b"), "a <!\u{2011}\u{2011} x --> b");
        assert!(!neutralise("<!--<!---->").contains("<!--"));
    }

    #[test]
    fn markdown_escaping_leaves_no_markup() {
        let e = escape_md("| [x](http://e) @team <b>`c`</b>\n# h\u{200B}");
        assert!(!e.contains('\n'));
        let chars: Vec<char> = e.chars().collect();
        for (i, c) in chars.iter().enumerate() {
            if "|[]()<>`#".contains(*c) {
                assert!(i > 0 && chars[i - 1] == '\\', "unescaped {c} in {e}");
            }
        }
        assert!(!e.contains("@t"), "{e}");
        assert_eq!(escape_md("restart api"), "restart api");
    }
}
