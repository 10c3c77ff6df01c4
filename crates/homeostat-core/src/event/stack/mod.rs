//! Stack-trace text parsers, one per platform, and the log scanner that finds traces in
//! raw log text. Every parser returns exceptions in Sentry's order (innermost cause
//! first, the thrown exception last) with frames oldest call first (crash frame last).
//! They never fail: what they do not recognise is left out.

mod dotnet;
mod go;
mod java;
mod javascript;
mod python;
mod repair;
mod ruby;
mod rust;
mod scan;

pub use scan::LogScanner;

use std::sync::LazyLock;

use regex::Regex;

use crate::algorithm::Algorithm;
use crate::event::{Exception, Frame};

/// Most frames kept per exception: the most recent ones (where the crash is). A log with a
/// million frames would otherwise hold every one of them in memory; what is cut is counted.
pub const MAX_FRAMES: usize = 1_000;

/// Keeps the [`MAX_FRAMES`] most recent frames (frames are oldest call first) and returns
/// how many older ones were cut.
pub fn cap_frames(frames: &mut Vec<Frame>) -> usize {
    let cut = frames.len().saturating_sub(MAX_FRAMES);
    if cut > 0 {
        frames.drain(..cut);
    }
    cut
}

/// The platforms the engine knows; anything else is `Other`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Platform {
    JavaScript,
    Python,
    Java,
    Go,
    Rust,
    Ruby,
    CSharp,
    Native,
    Other,
}

impl Platform {
    /// Sentry's platform names (and common aliases) to ours.
    pub fn from_name(name: &str) -> Platform {
        let name = name.trim();
        let lower: std::borrow::Cow<str> =
            if name.bytes().any(|b| b.is_ascii_uppercase()) { name.to_ascii_lowercase().into() } else { name.into() };
        match lower.as_ref() {
            "javascript" | "js" | "node" | "nodejs" | "browser" | "typescript" | "ts" | "react-native" => {
                Platform::JavaScript
            }
            "python" | "py" => Platform::Python,
            "java" | "kotlin" | "android" | "jvm" | "scala" | "groovy" => Platform::Java,
            "go" | "golang" => Platform::Go,
            "rust" => Platform::Rust,
            "ruby" | "rails" => Platform::Ruby,
            "csharp" | "c#" | "dotnet" | ".net" | "cs" | "fsharp" => Platform::CSharp,
            "native" | "c" | "cpp" | "c++" | "cocoa" | "objc" | "swift" => Platform::Native,
            _ => Platform::Other,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Platform::JavaScript => "javascript",
            Platform::Python => "python",
            Platform::Java => "java",
            Platform::Go => "go",
            Platform::Rust => "rust",
            Platform::Ruby => "ruby",
            Platform::CSharp => "csharp",
            Platform::Native => "native",
            Platform::Other => "other",
        }
    }

    /// Sentry's rule families: `native`, `javascript` or `other`.
    pub fn family(self) -> &'static str {
        match self {
            Platform::JavaScript => "javascript",
            Platform::Rust | Platform::Native => "native",
            _ => "other",
        }
    }
}

static DETECT: LazyLock<Vec<(Platform, Regex)>> = LazyLock::new(|| {
    let r = |p: &str| Regex::new(p).expect("detection regex");
    vec![
        (Platform::Python, r(r#"(?m)Traceback \(most recent call last\):|^\s*File "[^"]*", line \d+"#)),
        (
            Platform::Rust,
            r(
                r"(?m)thread '[^']*' panicked at|^\s*\d+:\s+(?:0x[0-9a-f]+ - )?[\w<>:]+::h[0-9a-f]{16}$|^\s+at \./src/.*\.rs:\d+",
            ),
        ),
        (Platform::Go, r(r"(?m)^goroutine \d+ \[|^\s+/.*\.go:\d+(?: \+0x[0-9a-f]+)?$|^panic: ")),
        (
            Platform::CSharp,
            r(
                r"(?m)^\s*at [\w.<>`\[\], ]+\(.*\) in .*:line \d+$|---> [\w.]+Exception|^\s*at [\w.<>`]+\.[\w<>`]+\([\w.<>`\[\], ]*\)$",
            ),
        ),
        (
            Platform::Java,
            r(
                r"(?m)^\s*at [\w$.<>/-]+\((?:[\w$.-]+\.(?:java|kt|scala|groovy)(?::\d+)?|Unknown Source|Native Method)\)$|^Caused by: |^\s*\.\.\. \d+ more$",
            ),
        ),
        (Platform::Ruby, r(r"(?m)^\s*(?:from )?[^\s:]+\.(?:rb|erb|rake):\d+:in [`']")),
        (
            Platform::JavaScript,
            r(
                r"(?m)^\s*at .*(?:\.(?:m?js|jsx|tsx?|html|vue)|<anonymous>|native)\)?(?::\d+)*\)?$|^\s*at .*\(.*:\d+:\d+\)$|^[^\s@]*@.*:\d+:\d+$",
            ),
        ),
    ]
});

/// Where a Python traceback opens in `line`, if it does (a searcher built once: this runs
/// on every line).
pub(crate) fn find_traceback(line: &str) -> Option<usize> {
    static FINDER: LazyLock<memchr::memmem::Finder<'static>> = LazyLock::new(|| memchr::memmem::Finder::new(TRACEBACK));
    FINDER.find(line.as_bytes())
}

const TRACEBACK: &str = "Traceback (most recent call last):";

/// v2's detection: Java before .NET (a JVM frame `at a.B.c(Native Method)` also reads as a
/// .NET frame without a file), and Application Insights' .NET frames
/// (`at N.C.M (Assembly, Version=…)`).
static DETECT_V2: LazyLock<Vec<(Platform, Regex)>> = LazyLock::new(|| {
    let r = |p: &str| Regex::new(p).expect("detection regex");
    let mut list: Vec<(Platform, Regex)> = DETECT.iter().cloned().collect();
    let java = list.iter().position(|(p, _)| *p == Platform::Java).unwrap_or(0);
    let java = list.remove(java);
    let dotnet = list.iter().position(|(p, _)| *p == Platform::CSharp).unwrap_or(0);
    list.insert(dotnet, java);
    list.insert(dotnet + 2, (Platform::CSharp, r(r"(?m)^\s*at [\w.<>`+]+ \([\w.]+, Version=[\d.]+, Culture=")));
    list
});

/// Guesses the platform of a stack trace from its text (as the current algorithm does).
pub fn detect(text: &str) -> Platform {
    detect_as(text, Algorithm::CURRENT)
}

/// v3's detection, after v2's: Ruby frames on Windows paths and in `(eval)`, and Mono's
/// .NET frames (`at N.C.M () [0x00005] in <hash>:0`).
static DETECT_V3: LazyLock<Vec<(Platform, Regex)>> = LazyLock::new(|| {
    let r = |p: &str| Regex::new(p).expect("detection regex");
    let mut list: Vec<(Platform, Regex)> = DETECT_V2.iter().cloned().collect();
    list.push((
        Platform::Ruby,
        r(r"(?m)^\s*(?:from )?(?:[A-Za-z]:)?(?:[^\s:]+\.(?:rb|erb|rake)|\(eval\)):\d+:in ?[`']"),
    ));
    list.push((Platform::CSharp, r(r"(?m)^\s*at [\w.<>`+]+ \(.*\) \[0x[0-9a-f]+\] in <[0-9a-f]*>:\d+")));
    list.push((Platform::Ruby, r(r"(?m)^\S+:\d+:in [`'][^']*': .* \([A-Z][\w:]*\)$")));
    list
});

fn detect_as(text: &str, algorithm: Algorithm) -> Platform {
    let list = match algorithm {
        Algorithm::V1 => &DETECT,
        Algorithm::V2 => &DETECT_V2,
        Algorithm::V3 => &DETECT_V3,
    };
    list.iter().find(|(_, re)| re.is_match(text)).map_or(Platform::Other, |(p, _)| *p)
}

/// Parses `text` as a stack trace of `platform` (detected when `None`).
pub fn parse(platform: Option<Platform>, text: &str) -> (Platform, Vec<Exception>) {
    parse_as(platform, text, Algorithm::CURRENT)
}

/// [`parse`] as an algorithm version reads stacks (older versions are kept to find issues
/// filed under them).
pub fn parse_as(platform: Option<Platform>, text: &str, algorithm: Algorithm) -> (Platform, Vec<Exception>) {
    let first = parse_text(platform, text, algorithm);
    if algorithm < Algorithm::V3 || !repair::reads_badly(first.0, &first.1, text) {
        return first;
    }
    match repair::repair(text) {
        Some(fixed) => repair::better(first, parse_text(platform, &fixed, algorithm)),
        None => first,
    }
}

fn parse_text(platform: Option<Platform>, text: &str, algorithm: Algorithm) -> (Platform, Vec<Exception>) {
    let platform = match platform {
        Some(Platform::Other) | Some(Platform::Native) | None => detect_as(text, algorithm),
        Some(p) => p,
    };
    let v2 = algorithm != Algorithm::V1;
    let mut exceptions = match platform {
        Platform::JavaScript => javascript::parse(text),
        Platform::Python => python::parse(text),
        Platform::Java => java::parse(text),
        Platform::Go => go::parse(text),
        Platform::Rust => rust::parse(text, v2),
        Platform::Ruby => ruby::parse(text),
        Platform::CSharp => dotnet::parse(text, v2),
        Platform::Native | Platform::Other => generic(text),
    };
    for e in &mut exceptions {
        cap_frames(&mut e.frames);
    }
    (platform, exceptions)
}

/// An unknown format: the first line is the header, no frames.
fn generic(text: &str) -> Vec<Exception> {
    let first = text.lines().map(str::trim).find(|l| !l.is_empty()).unwrap_or("");
    let (ty, value) = split_header(first);
    vec![Exception { r#type: ty, value, ..Exception::default() }]
}

/// `Type: message` (a type is one identifier, possibly dotted); else all message.
///
/// Hand-written for speed (it runs once per exception); it reads a header exactly as
/// [`HEADER_GRAMMAR`] does, which a test checks on generated headers.
pub(crate) fn split_header(line: &str) -> (Option<String>, Option<String>) {
    let line = line.trim();
    if line.is_empty() {
        return (None, None);
    }
    let parts = strip_uncaught(line).and_then(type_and_message).or_else(|| type_and_message(line));
    if let Some((ty, message)) = parts {
        let ty = ty.trim_end_matches(':');
        // A lone word without a colon is a type only when it reads like one.
        if message.is_some() || looks_like_type(ty) {
            return (Some(ty.to_string()), message.filter(|m| !m.is_empty()).map(str::to_string));
        }
    }
    (None, Some(line.to_string()))
}

/// The grammar [`split_header`] implements, as a regular expression (`\w` and `\s` are Unicode).
#[cfg(test)]
const HEADER_GRAMMAR: &str = r"^(?:Uncaught\s+(?:\(in promise\)\s+)?)?([A-Za-z_$][\w$.:]*?)(?::\s?(.*))?$";

/// `Uncaught ` and `Uncaught (in promise) ` (browser consoles) taken off, if there.
fn strip_uncaught(line: &str) -> Option<&str> {
    let rest = line.strip_prefix("Uncaught")?;
    let after = rest.trim_start_matches(char::is_whitespace);
    if after.len() == rest.len() {
        return None;
    }
    if let Some(r) = after.strip_prefix("(in promise)") {
        let t = r.trim_start_matches(char::is_whitespace);
        if t.len() < r.len() {
            return Some(t);
        }
    }
    Some(after)
}

/// The shortest identifier that the end of the text or `:` and a one-line message
/// follows, and that message.
fn type_and_message(s: &str) -> Option<(&str, Option<&str>)> {
    let mut chars = s.char_indices();
    match chars.next() {
        Some((_, c)) if c.is_ascii_alphabetic() || c == '_' || c == '$' => {}
        _ => return None,
    }
    loop {
        let (end, next) = match chars.next() {
            Some((i, c)) => (i, Some(c)),
            None => (s.len(), None),
        };
        let rest = &s[end..];
        if let Some(after) = rest.strip_prefix(':') {
            let message = match after.chars().next() {
                Some(c) if c.is_whitespace() => &after[c.len_utf8()..],
                _ => after,
            };
            if !message.contains('\n') {
                return Some((&s[..end], Some(message)));
            }
        }
        match next {
            None => return Some((s, None)),
            Some(c) if c == '$' || c == '.' || c == ':' || regex_syntax::is_word_character(c) => {}
            Some(_) => return None,
        }
    }
}

pub(crate) fn looks_like_type(t: &str) -> bool {
    let last = t.rsplit(['.', ':']).next().unwrap_or(t);
    ["Error", "Exception", "Panic", "Fault", "Failure", "Interrupt", "Exit"].iter().any(|s| last.ends_with(s))
}

/// A location `path:line:col` / `path:line` / `path`, split.
pub(crate) fn split_location(loc: &str) -> (String, Option<u64>, Option<u64>) {
    let loc = loc.trim();
    // Up to two trailing `:digits`, the last one read first.
    let mut numbers: [Option<&str>; 2] = [None; 2];
    let mut taken = 0;
    let mut rest = loc;
    while taken < 2 {
        match rest.rsplit_once(':') {
            Some((head, tail)) if !tail.is_empty() && tail.bytes().all(|b| b.is_ascii_digit()) => {
                numbers[taken] = Some(tail);
                taken += 1;
                rest = head;
            }
            _ => break,
        }
    }
    // `path:line:col` reads (col, line) from the end; `path:line` just (line).
    let (line, col) = match numbers {
        [Some(col), Some(line)] => (Some(line), Some(col)),
        [line, _] => (line, None),
    };
    // A number too large for u64 is dropped and the next one moves up, as before.
    let mut parsed = [line, col].into_iter().flatten().filter_map(|p| p.parse::<u64>().ok());
    (rest.to_string(), parsed.next(), parsed.next())
}

/// A frame from a path and function, for parsers that see both.
pub(crate) fn frame(function: Option<&str>, path: Option<&str>, lineno: Option<u64>) -> Frame {
    let path = path.map(str::trim).filter(|p| !p.is_empty());
    Frame {
        function: function.map(str::trim).filter(|f| !f.is_empty()).map(str::to_string),
        filename: path.map(str::to_string),
        abs_path: path.map(str::to_string),
        lineno,
        ..Frame::default()
    }
}

/// Checks a hand-written reader against the regular expression it replaced, on every
/// combination of the given parts (one option from each, in order): both must find the
/// same two groups, or both nothing.
#[cfg(test)]
pub(crate) fn assert_reads_like(grammar: &str, parts: &[&[&str]], read: impl Fn(&str) -> Option<(&str, &str)>) {
    let grammar = Regex::new(grammar).unwrap();
    let mut texts = vec![String::new()];
    for options in parts {
        texts = texts.iter().flat_map(|t| options.iter().map(move |o| format!("{t}{o}"))).collect();
    }
    for text in &texts {
        let want = grammar.captures(text).map(|c| (c.get(1).unwrap().as_str(), c.get(2).unwrap().as_str()));
        assert_eq!(read(text), want, "{text:?}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_split() {
        assert_eq!(
            split_header("TypeError: x is undefined"),
            (Some("TypeError".into()), Some("x is undefined".into()))
        );
        assert_eq!(split_header("Uncaught TypeError: a"), (Some("TypeError".into()), Some("a".into())));
        assert_eq!(
            split_header("java.lang.NullPointerException"),
            (Some("java.lang.NullPointerException".into()), None)
        );
        assert_eq!(split_header("something broke badly"), (None, Some("something broke badly".into())));
    }

    /// The old reading of a header, by [`HEADER_GRAMMAR`].
    fn split_header_by_grammar(line: &str) -> (Option<String>, Option<String>) {
        static GRAMMAR: LazyLock<Regex> = LazyLock::new(|| Regex::new(HEADER_GRAMMAR).unwrap());
        let line = line.trim();
        if line.is_empty() {
            return (None, None);
        }
        if let Some(c) = GRAMMAR.captures(line) {
            let ty = c.get(1).map(|m| m.as_str().trim_end_matches(':').to_string());
            let msg = c.get(2).map(|m| m.as_str().to_string()).filter(|m| !m.is_empty());
            if c.get(2).is_some() || ty.as_deref().is_some_and(looks_like_type) {
                return (ty, msg);
            }
        }
        (None, Some(line.to_string()))
    }

    #[test]
    fn header_splitting_agrees_with_its_grammar() {
        // Pieces that exercise every branch: the browser prefixes, identifier characters
        // (ASCII, Unicode letters and marks), separators, Unicode spaces and newlines.
        const PIECES: &[&str] = &[
            "Uncaught",
            "(in promise)",
            " ",
            "  ",
            "\t",
            "\n",
            "\u{2003}",
            ":",
            "::",
            ": ",
            "Error",
            "TypeError",
            "java.lang.",
            "Exception",
            "$",
            "_",
            ".",
            "x",
            "Z",
            "9",
            "é",
            "中",
            "\u{0301}",
            "-",
            "'",
            "(",
            ")",
            "@",
            "Panic",
            "\r",
        ];
        let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut next = || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        for _ in 0..200_000 {
            let len = 1 + (next() % 7) as usize;
            let text: String = (0..len).map(|_| PIECES[(next() % PIECES.len() as u64) as usize]).collect();
            assert_eq!(split_header(&text), split_header_by_grammar(&text), "{text:?}");
        }
        for text in
            ["Uncaught TypeError: a", "Uncaught (in promise) Error: x\ny", "Error:\nfoo", "A:b:c", "Error: a: b"]
        {
            assert_eq!(split_header(text), split_header_by_grammar(text), "{text:?}");
        }
    }

    #[test]
    fn locations_split() {
        assert_eq!(split_location("http://a.com:8080/x.js:10:5"), ("http://a.com:8080/x.js".into(), Some(10), Some(5)));
        assert_eq!(split_location("/a/b.go:42"), ("/a/b.go".into(), Some(42), None));
        assert_eq!(split_location("<anonymous>"), ("<anonymous>".into(), None, None));
    }

    #[test]
    fn detection() {
        assert_eq!(detect("Error: x\n    at f (http://a/b.js:1:2)"), Platform::JavaScript);
        assert_eq!(detect("Traceback (most recent call last):\n  File \"a.py\", line 1, in f\nE: x"), Platform::Python);
        assert_eq!(detect("java.lang.X: y\n\tat a.b.C.d(C.java:3)"), Platform::Java);
        assert_eq!(detect("panic: boom\n\ngoroutine 1 [running]:\nmain.main()\n\t/app/main.go:5 +0x1d"), Platform::Go);
        assert_eq!(detect("thread 'main' panicked at src/main.rs:2:5:\nboom"), Platform::Rust);
        assert_eq!(detect("app.rb:3:in 'foo': x (RuntimeError)\n\tfrom app.rb:7:in '<main>'"), Platform::Ruby);
        assert_eq!(detect("System.Exception: x\n   at A.B.C() in /src/B.cs:line 4"), Platform::CSharp);
    }
}
