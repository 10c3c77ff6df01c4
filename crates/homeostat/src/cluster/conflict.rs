//! Evidence against a link: two reports whose error lines say the same thing about
//! different subjects, whose processes ended with different exit statuses, or whose
//! requests failed with different HTTP statuses. Pure: no I/O.
//!
//! Error messages are templates over arguments: `Cannot read properties of undefined
//! (reading 'id')` and `… (reading 'title')` come from two different places in the code,
//! as `Unable to resolve module \`prop-types\`` and `… \`BatchedBridge\`` name two different
//! missing modules, and `exit status 1` and `exit status 2` (or HTTP 401 and 503) are two
//! different failures. Text similarity sees nearly the same words in each pair; these rules
//! see that the part that varies disagrees. No rule looks at a repository or a product:
//! they read only the quoted arguments of an error line and the statuses a report quotes.

use std::sync::LazyLock;

use regex::Regex;

use super::Item;
use super::signature::{error_lines, http_statuses};

/// What a report commits to: each error line (its first words, normalised as in the
/// signature) with the quoted arguments it names, and the exit statuses it quotes.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct Claims {
    /// (error line key, its quoted arguments, lowercase), only lines that quote something.
    pub args: Vec<(String, Vec<String>)>,
    /// Exit statuses (`1`, `0xc000001d`), lowercase.
    pub exits: Vec<String>,
    /// HTTP error statuses (`401`, `503`).
    pub http: Vec<String>,
}

struct Patterns {
    quoted: Regex,
    exit: Regex,
}

static PATTERNS: LazyLock<Patterns> = LazyLock::new(|| {
    let re = |p: &str| Regex::new(p).expect("built-in pattern");
    Patterns {
        quoted: re(r#"'([^'\s]{1,60})'|"([^"]{1,60})"|`([^`]{1,60})`"#),
        exit: re(r"(?i)\b(?:exit(?:ed)? (?:status|code)|exit_code|exitcode)[:= ]+'?(-?\w+)"),
    }
});

/// The claims of an item's title and body.
pub fn of_item(item: &Item) -> Claims {
    let p = &*PATTERNS;
    let mut claims = Claims::default();
    for text in [&item.title, &item.body] {
        for (key, line) in error_lines(text) {
            let mut args: Vec<String> = p
                .quoted
                .captures_iter(line)
                .filter_map(|c| c.iter().skip(1).flatten().next().map(|m| m.as_str().trim().to_lowercase()))
                .filter(|a| !a.is_empty())
                .collect();
            if args.is_empty() {
                continue;
            }
            match claims.args.iter_mut().find(|(k, _)| *k == key) {
                Some((_, known)) => known.append(&mut args),
                None => claims.args.push((key, args)),
            }
        }
        claims.exits.extend(p.exit.captures_iter(text).map(|c| c[1].to_lowercase()));
        claims.http.extend(http_statuses(text).map(str::to_string));
    }
    for (_, args) in &mut claims.args {
        args.sort();
        args.dedup();
    }
    for statuses in [&mut claims.exits, &mut claims.http] {
        statuses.sort();
        statuses.dedup();
    }
    claims
}

fn disjoint(a: &[String], b: &[String]) -> bool {
    !a.iter().any(|x| b.contains(x))
}

/// Statuses quoted on both sides with none in common.
fn different(a: &[String], b: &[String]) -> bool {
    !a.is_empty() && !b.is_empty() && disjoint(a, b)
}

/// True when the two reports contradict each other: the same error line with no quoted
/// argument in common, or exit statuses or HTTP statuses on both sides with none in common.
pub fn contradict(a: &Claims, b: &Claims) -> bool {
    let args = a
        .args
        .iter()
        .any(|(key, mine)| b.args.iter().any(|(other_key, theirs)| other_key == key && disjoint(mine, theirs)));
    args || different(&a.exits, &b.exits) || different(&a.http, &b.http)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims(title: &str, body: &str) -> Claims {
        of_item(&Item { title: title.into(), body: body.into(), ..Item::default() })
    }

    #[test]
    fn the_same_error_line_about_different_subjects_contradicts() {
        let id = claims("Popup crashes", "TypeError: Cannot read properties of undefined (reading 'id')");
        let title = claims("Options crash", "TypeError: Cannot read properties of undefined (reading 'title')");
        let id_again = claims("Blank popup", "Uncaught TypeError: Cannot read properties of undefined (reading 'id')");
        assert!(contradict(&id, &title));
        assert!(!contradict(&id, &id_again));
        let plain = claims("Crash", "TypeError: Cannot read properties of undefined");
        assert!(!contradict(&id, &plain), "no argument on one side is no contradiction");
    }

    #[test]
    fn different_exit_statuses_contradict() {
        let one = claims("Error: llama runner process has terminated: exit status 1", "");
        let two = claims("runner terminated", "error=\"exit status 2\"");
        let two_again = claims("Error: runner has terminated: exit status 2", "");
        assert_eq!(one.exits, ["1"]);
        assert!(contradict(&one, &two));
        assert!(!contradict(&two, &two_again));
    }

    #[test]
    fn different_http_statuses_contradict() {
        let unavailable = claims("Sync fails with HTTP 503", "");
        let unauthorized = claims("Sign-in fails", "server returned 401");
        let unavailable_again = claims("Notes stop syncing", "status code: 503");
        assert_eq!(unauthorized.http, ["401"]);
        assert!(contradict(&unavailable, &unauthorized));
        assert!(!contradict(&unavailable, &unavailable_again));
    }
}
