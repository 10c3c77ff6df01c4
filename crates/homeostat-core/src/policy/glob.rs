//! Path globs as CODEOWNERS and gitignore read them, over git's own `wildmatch`
//! (through `gix-glob`, which passes all of git's t3070 cases).
//!
//! A pattern is matched against a repository-relative path and against each of the
//! directories that contain it, so `docs` or `docs/` covers everything under `docs/`:
//! - a leading `/`, or a `/` inside the pattern, anchors it at the repository root;
//!   otherwise it matches at any depth (`foo` ≡ `**/foo`);
//! - a trailing `/` matches directories only (so only files under them);
//! - a last segment that is a lone `*` (`docs/*`, `/*`) matches files directly in that
//!   directory, not deeper ones (GitHub's CODEOWNERS reading);
//! - `*`, `?` and `[...]` never match `/`; `**` as a whole segment crosses directories;
//! - `[...]` is a character class (`[!a-z]`/`[^a-z]` negate it, `[[:digit:]]` POSIX
//!   classes work); a path holding the brackets literally (`apps/[param]/x.ts`, as in a
//!   Next.js route) matches too, as GitHub's CODEOWNERS reads them;
//! - `\` escapes the next character (`\*`, `\?`, `\[`, `\!`);
//! - in a list of globs, a leading `!` excludes what earlier globs included (the last
//!   glob that matches decides, as in gitignore).

use bstr::ByteSlice;
use gix_glob::wildmatch::Mode;

/// git's `wildmatch()` with `WM_PATHNAME`: `*`, `?` and `[...]` never match `/`.
pub fn wildmatch(pattern: &str, text: &str) -> bool {
    gix_glob::wildmatch(pattern.as_bytes().as_bstr(), text.as_bytes().as_bstr(), Mode::NO_MATCH_SLASH_LITERAL)
}

/// One compiled path glob.
#[derive(Debug, Clone)]
pub struct PathGlob {
    /// As written (without a leading `!`).
    source: String,
    /// The wildmatch pattern, anchored (unanchored ones start with `**/`).
    pattern: String,
    /// The same with `[` taken literally, when the pattern has a bracket.
    literal: Option<String>,
    dir_only: bool,
    /// Last segment is a lone `*`: files directly inside only.
    files_only: bool,
    /// The longest run of plain characters the pattern needs (outside any class or
    /// escape): a path without it cannot match, so most paths skip wildmatch entirely.
    needle: String,
}

impl PathGlob {
    /// Compiles a glob; the error says what is wrong with it (the caller adds the position).
    pub fn new(source: &str) -> Result<Self, String> {
        validate(source)?;
        let mut body = source;
        let dir_only = body.len() > 1 && body.ends_with('/') && !body.ends_with("\\/");
        if dir_only {
            body = &body[..body.len() - 1];
        }
        let suffix = if dir_only { "/" } else { "" };
        let anchored_by_slash = body.starts_with('/');
        let body = body.trim_start_matches('/');
        if body.is_empty() {
            return Err("matches nothing but the repository root".into());
        }
        let anchored = anchored_by_slash || body.contains('/');
        let pattern = if anchored || body.starts_with("**/") { body.to_string() } else { format!("**/{body}") };
        let files_only = !dir_only && (pattern == "*" || pattern.ends_with("/*")) && pattern != "**/*";
        // Directory-only globs keep their `/` and are tested against `dir/`, so that
        // `foo/**/` covers `foo/` itself (`**/` may match no directory).
        let pattern = format!("{pattern}{suffix}");
        let literal = pattern.contains('[').then(|| escape_brackets(&pattern));
        let needle = longest_plain_run(&pattern);
        Ok(Self { source: source.to_string(), pattern, literal, dir_only, files_only, needle })
    }

    pub fn as_str(&self) -> &str {
        &self.source
    }

    /// Whether the glob covers `path` (a file path relative to the repository root).
    pub fn is_match(&self, path: &str) -> bool {
        let path = path.trim_start_matches("./").trim_start_matches('/');
        // Every text tested below is a prefix of `path` (plus `/` for directory globs,
        // whose needle never holds their final `/`).
        if !path.contains(self.needle.as_str()) {
            return false;
        }
        if !self.dir_only && self.test(path) {
            return true;
        }
        if self.files_only {
            return false;
        }
        // Every directory that contains the path: `a`, `a/b` for `a/b/c` (with their
        // trailing `/` for directory-only globs).
        let keep = usize::from(self.dir_only);
        path.match_indices('/').any(|(i, _)| self.test(&path[..i + keep]))
    }

    fn test(&self, text: &str) -> bool {
        wildmatch(&self.pattern, text) || self.literal.as_deref().is_some_and(|p| wildmatch(p, text))
    }
}

/// A list of globs where a leading `!` excludes; the last glob that matches decides.
#[derive(Debug, Clone, Default)]
pub struct GlobList {
    entries: Vec<(bool, PathGlob)>,
}

impl GlobList {
    /// Compiles every glob; on error returns the index of the bad one and why.
    pub fn new<S: AsRef<str>>(sources: &[S]) -> Result<Self, (usize, String)> {
        let mut entries = Vec::with_capacity(sources.len());
        for (i, source) in sources.iter().enumerate() {
            let source = source.as_ref();
            let (negated, body) = match source.strip_prefix('!') {
                Some(rest) => (true, rest),
                None => (false, source),
            };
            let glob = PathGlob::new(body).map_err(|e| (i, e))?;
            entries.push((negated, glob));
        }
        Ok(Self { entries })
    }

    /// The glob that includes `path`, if the list covers it.
    pub fn matching(&self, path: &str) -> Option<&str> {
        for (negated, glob) in self.entries.iter().rev() {
            if glob.is_match(path) {
                return (!negated).then(|| glob.as_str());
            }
        }
        None
    }

    pub fn is_match(&self, path: &str) -> bool {
        self.matching(path).is_some()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

/// git's wildmatch gives up silently on malformed patterns (they never match); a policy
/// says so at load instead.
fn validate(source: &str) -> Result<(), String> {
    if source.is_empty() {
        return Err("empty glob".into());
    }
    let bytes = source.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' => {
                if i + 1 == bytes.len() {
                    return Err("ends with a lone `\\` (escape what?)".into());
                }
                i += 2;
            }
            b'[' => {
                i = class_end(source, i)?;
            }
            _ => i += 1,
        }
    }
    Ok(())
}

/// Index just past the `]` closing the class opened at `open`.
fn class_end(source: &str, open: usize) -> Result<usize, String> {
    let bytes = source.as_bytes();
    let mut i = open + 1;
    if matches!(bytes.get(i), Some(b'!' | b'^')) {
        i += 1;
    }
    // A `]` right after the opening (or its negation) is a member, not the end.
    if bytes.get(i) == Some(&b']') {
        i += 1;
    }
    while i < bytes.len() {
        match bytes[i] {
            b'\\' => i += 2,
            b'[' if bytes.get(i + 1) == Some(&b':') => {
                let rest = &source[i + 2..];
                let Some(end) = rest.find(":]") else {
                    return Err(format!("unclosed `[:` in the character class at byte {}", open + 1));
                };
                let name = &rest[..end];
                const NAMES: &[&str] = &[
                    "alnum", "alpha", "blank", "cntrl", "digit", "graph", "lower", "print", "punct", "space", "upper",
                    "xdigit",
                ];
                if !NAMES.contains(&name) {
                    return Err(format!("unknown character class `[:{name}:]`"));
                }
                i += 2 + end + 2;
            }
            b']' => return Ok(i + 1),
            _ => i += 1,
        }
    }
    Err(format!("unclosed `[` at byte {} (write `\\[` for a literal bracket)", open + 1))
}

/// The longest substring of `pattern` made of characters that match only themselves
/// (outside classes, escapes and wildcards), without a trailing `/`.
fn longest_plain_run(pattern: &str) -> String {
    let pattern = pattern.strip_suffix('/').unwrap_or(pattern);
    // A leading `**/` may match nothing at all, its `/` included.
    let pattern = pattern.strip_prefix("**/").unwrap_or(pattern);
    let bytes = pattern.as_bytes();
    let (mut best, mut start, mut i) = ((0, 0), 0, 0);
    let close_run = |start: usize, end: usize, best: &mut (usize, usize)| {
        if end > start && end - start > best.1 - best.0 {
            *best = (start, end);
        }
    };
    while i < bytes.len() {
        let next = match bytes[i] {
            b'\\' => i + 2,
            b'[' => match class_end(pattern, i) {
                Ok(end) => end,
                Err(_) => return String::new(),
            },
            b'*' | b'?' | b']' => i + 1,
            _ => {
                i += 1;
                continue;
            }
        };
        close_run(start, i, &mut best);
        i = next.min(bytes.len());
        start = i;
    }
    close_run(start, bytes.len(), &mut best);
    pattern.get(best.0..best.1).unwrap_or_default().to_string()
}

fn escape_brackets(pattern: &str) -> String {
    let mut out = String::with_capacity(pattern.len() + 4);
    let mut chars = pattern.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                out.push('\\');
                if let Some(next) = chars.next() {
                    out.push(next);
                }
            }
            '[' | ']' => {
                out.push('\\');
                out.push(c);
            }
            _ => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(pattern: &str, path: &str) -> bool {
        PathGlob::new(pattern).unwrap().is_match(path)
    }

    #[test]
    fn directories_cover_their_files() {
        assert!(m("docs", "docs/a/b.md"));
        assert!(m("docs/", "docs/a.md"));
        assert!(!m("docs/", "docs"));
        assert!(m("migrations/**", "migrations/001.sql"));
        assert!(m("**/schema.sql", "db/schema.sql"));
        assert!(m("**/Cargo.toml", "Cargo.toml"));
    }

    #[test]
    fn star_segment_stays_in_its_directory() {
        assert!(m("docs/*", "docs/a.md"));
        assert!(!m("docs/*", "docs/a/b.md"));
        assert!(m("*.md", "a/b/c.md"));
    }

    #[test]
    fn classes_and_literal_brackets() {
        assert!(m("log[0-9].txt", "log3.txt"));
        assert!(!m("log[!0-9].txt", "log3.txt"));
        assert!(m("/apps/[id]/page.ts", "apps/[id]/page.ts"));
        assert!(m("/apps/[id]/page.ts", "apps/i/page.ts"));
    }

    #[test]
    fn malformed_globs_are_errors() {
        assert!(PathGlob::new("src/[abc").unwrap_err().contains("unclosed `[`"));
        assert!(PathGlob::new("a\\").is_err());
        assert!(PathGlob::new("[[:word:]]").unwrap_err().contains("unknown character class"));
        assert!(PathGlob::new("").is_err());
        assert!(PathGlob::new("[]]").is_ok());
        assert!(PathGlob::new("[!]a]").is_ok());
    }

    #[test]
    fn needles_are_plain_runs() {
        assert_eq!(longest_plain_run("**/Cargo.toml"), "Cargo.toml");
        assert_eq!(longest_plain_run("a/**/bcd"), "/bcd");
        assert_eq!(longest_plain_run("foo/**/"), "foo/");
        assert_eq!(longest_plain_run("a[bc]defg*h"), "defg");
        assert_eq!(longest_plain_run("x[]abcdef]y"), "x");
        assert_eq!(longest_plain_run("[[:digit:]xyzw]ab"), "ab");
        assert_eq!(longest_plain_run("f\\*oo"), "oo");
        assert_eq!(longest_plain_run("*"), "");
    }

    #[test]
    fn negation_in_lists_last_match_wins() {
        let list = GlobList::new(&["auth/**", "!auth/docs/**", "auth/docs/secrets.md"]).unwrap();
        assert_eq!(list.matching("auth/login.rs"), Some("auth/**"));
        assert_eq!(list.matching("auth/docs/readme.md"), None);
        assert_eq!(list.matching("auth/docs/secrets.md"), Some("auth/docs/secrets.md"));
        assert_eq!(GlobList::new(&["ok", "[bad"]).unwrap_err().0, 1);
    }
}
