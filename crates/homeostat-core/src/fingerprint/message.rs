//! Message parameterisation: variable parts of an error message become placeholders, so
//! `Loading chunk 158 failed` and `Loading chunk 3 failed` group together when no frame
//! contributes. The order matters: wider patterns first.

use std::sync::LazyLock;

use regex::Regex;

/// v2: text in backticks is code (Rust's ``called `Option::unwrap()` on a `None` value``,
/// Markdown-minded messages), not data: it stays.
static PATTERNS_V2: LazyLock<Vec<(Regex, &'static str)>> = LazyLock::new(|| {
    PATTERNS
        .iter()
        .map(|(re, p)| match *p {
            "<quoted>" => (
                Regex::new(r#"'[^'\n]{0,200}'|"[^"\n]{0,200}"|‘[^’\n]{0,200}’|“[^”\n]{0,200}”"#).expect("quoted regex"),
                *p,
            ),
            _ => (re.clone(), *p),
        })
        .collect()
});

static PATTERNS: LazyLock<Vec<(Regex, &'static str)>> = LazyLock::new(|| {
    let r = |p: &str| Regex::new(p).expect("parameterisation regex");
    vec![
        (r(r"(?i)\b[\w.+-]+@[\w-]+(?:\.[\w-]+)+\b"), "<email>"),
        (r(r#"(?i)\b[a-z][a-z0-9+.-]*://[^\s"'<>\]]+"#), "<url>"),
        (r(r"\b(?:\d{1,3}\.){3}\d{1,3}(?::\d+)?\b"), "<ip>"),
        (r(r"(?i)\b(?:[0-9a-f]{1,4}:){7}[0-9a-f]{1,4}\b"), "<ip>"),
        (r(r"(?i)\b[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}\b"), "<uuid>"),
        (r(r"(?i)\b[0-9a-f]{40}\b"), "<sha1>"),
        (r(r"(?i)\b[0-9a-f]{32}\b"), "<md5>"),
        (
            r(
                r"(?i)\b\d{4}-\d{2}-\d{2}(?:[t ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:z|[+-]\d{2}:?\d{2})?)?\b|\b\d{2}:\d{2}:\d{2}(?:\.\d+)?\b|\b(?:mon|tue|wed|thu|fri|sat|sun),? \d{1,2} (?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]* \d{4}\b",
            ),
            "<date>",
        ),
        (r(r"(?i)\b\d+(?:\.\d+)?\s?(?:ms|s|sec|seconds|m|min|minutes|h|hours)\b"), "<duration>"),
        (r(r"(?i)\b0x[0-9a-f]+\b"), "<hex>"),
        (r(r"(?i)\b(?:[0-9a-f]*\d[0-9a-f]*[a-f][0-9a-f]*|[0-9a-f]*[a-f][0-9a-f]*\d[0-9a-f]*)\b"), "<hex>"),
        (r(r#"'[^'\n]{0,200}'|"[^"\n]{0,200}"|`[^`\n]{0,200}`|‘[^’\n]{0,200}’|“[^”\n]{0,200}”"#), "<quoted>"),
        (r(r"-?\b\d+\.\d+\b"), "<float>"),
        (r(r"-?\b\d+\b"), "<int>"),
        (r(r"(?i)(=\s*)(?:true|false)\b"), "${1}<bool>"),
    ]
});

/// Cuts `message` to its first two non-empty lines (marking a cut with `...`) and
/// replaces variable parts with placeholders.
pub fn parameterize(message: &str) -> String {
    parameterize_as(message, super::Algorithm::CURRENT)
}

/// [`parameterize`] as an algorithm version does it.
pub fn parameterize_as(message: &str, algorithm: super::Algorithm) -> String {
    let mut lines = message.lines().map(str::trim).filter(|l| !l.is_empty());
    let mut text = lines.by_ref().take(2).collect::<Vec<_>>().join("\n");
    if lines.next().is_some() {
        text.push_str("...");
    }
    if text.len() > 4096 {
        let mut cut = 4096;
        while !text.is_char_boundary(cut) {
            cut -= 1;
        }
        text.truncate(cut);
    }
    let patterns = if algorithm == super::Algorithm::V1 { &PATTERNS } else { &PATTERNS_V2 };
    let v3 = algorithm >= super::Algorithm::V3;
    for (re, placeholder) in patterns.iter() {
        if !re.is_match(&text) {
            continue;
        }
        text = if v3 && *placeholder == "<quoted>" {
            re.replace_all(&text, |c: &regex::Captures| quoted_v3(&c[0])).into_owned()
        } else {
            re.replace_all(&text, *placeholder).into_owned()
        };
    }
    text
}

/// v3: a quoted name without digits is code (`'NoneType' object has no attribute
/// 'load_module'`), not data: it stays, so two different attributes do not merge.
/// Anything else quoted (paths, values, `'user_42'`) is still a placeholder.
fn quoted_v3(quoted: &str) -> String {
    let inner = quoted.trim_matches(|c| matches!(c, '\'' | '"' | '‘' | '’' | '“' | '”'));
    let name = !inner.is_empty()
        && inner.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
        && inner.chars().all(|c| c.is_ascii_alphabetic() || c == '_' || c == '.');
    if name { quoted.to_string() } else { "<quoted>".to_string() }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders() {
        let cases = [
            (
                "Loading chunk 158 failed.\n(timeout: https://cdn.example.com/x/a.js)",
                "Loading chunk <int> failed.\n(timeout: <url>",
            ),
            ("user bob@example.com not found", "user <email> not found"),
            ("connect to 10.0.0.12:5432 refused", "connect to <ip> refused"),
            ("note 3f2b8c1e-9a4d-4b7e-8f00-1234567890ab missing", "note <uuid> missing"),
            ("commit da39a3ee5e6b4b0d3255bfef95601890afd80709 bad", "commit <sha1> bad"),
            ("at 2026-01-21T10:00:00Z and 0x7ffee3 then deadbeef1", "at <date> and <hex> then <hex>"),
            ("KeyError: 'user_42'", "KeyError: <quoted>"),
            ("took 1500ms, ratio 0.75, count 12", "took <duration>, ratio <float>, count <int>"),
            ("a\n\nb\nc", "a\nb..."),
        ];
        for (input, want) in cases {
            assert_eq!(parameterize_as(input, super::super::Algorithm::V1), want, "{input}");
        }
    }

    #[test]
    fn backticks_are_code_in_v2() {
        let a = "called `Option::unwrap()` on a `None` value";
        let b = "called `Option::expect()` on a `None` value";
        assert_ne!(parameterize(a), parameterize(b));
        let v1 = super::super::Algorithm::V1;
        assert_eq!(parameterize_as(a, v1), parameterize_as(b, v1));
        assert_eq!(parameterize("KeyError: 'user_42'"), "KeyError: <quoted>");
    }

    #[test]
    fn distinct_words_stay_distinct() {
        assert_ne!(parameterize("Cannot read properties of undefined"), parameterize("Cannot read properties of null"));
    }
}
