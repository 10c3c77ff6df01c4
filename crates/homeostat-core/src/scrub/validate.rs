//! Checks in code for candidates a regex finds but cannot judge alone: Luhn, IP ranges
//! and version context, phone lengths, secret values and references, e-mail addresses.

use std::net::Ipv6Addr;
use std::ops::Range;

use serde::Deserialize;

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

impl Validate {
    /// The part of `range` to replace, or `None` when the candidate is not a find.
    pub(super) fn check(self, text: &str, range: Range<usize>) -> Option<Range<usize>> {
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

#[cfg(test)]
mod tests {
    use super::*;

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
}
