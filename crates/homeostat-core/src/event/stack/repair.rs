//! v3: traces as people paste them (issue 16's real-world corpus). When a trace reads
//! badly — no exception type, no frames, or no platform — its text is repaired and read
//! again, and the better reading is kept. A trace that already reads well is never
//! rewritten, so its fingerprint does not move.
//!
//! Repairs: log prefixes on every line (Android logcat, Go's `log` package and Terraform's
//! plugin log); lines before the exception header (`ERROR: build step failed`, Node's
//! `throw err;` excerpt, a log record) and prefixes of the header itself (`Unhandled
//! Exception:`, `Exception thrown:`, `Fatal Exception:`, `Extension error:`, a console's
//! `file.js:2 Uncaught …`); .NET frames in a localised runtime (`在`, `bei`, `à`, `en`);
//! Go locations with `fp= sp= pc=` or gopls' `file.go:12  0x3e`; Ruby's `in`m'` without a
//! space, `Type - message` headers (CocoaPods) and Ruby 2.5's reversed `N: from` order;
//! Python tracebacks without their `Traceback` line or with unindented source lines;
//! Firefox's `[[Exception stack … Current stack …]]` extension errors.

use std::borrow::Cow;
use std::sync::LazyLock;

use regex::Regex;

use super::{Platform, split_header};
use crate::event::Exception;

static LOG_PREFIX: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"^(?:\d\d-\d\d \d\d:\d\d:\d\d\.\d+:? [VDIWEF]/[\w.$-]+\(\s*\d+\):\s?|\d{4}/\d\d/\d\d \d\d:\d\d:\d\d (?:\[[A-Z]+\] )?(?:plugin(?:\.[\w.-]+)?: )?(?:[\w.-]+: )?)",
    )
    .expect("log prefix regex")
});
static LOCALISED_AT: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^(\s+)(?:在|bei|à|en|в|場所) (\S+\()").expect("localised at regex"));
static GO_REGISTERS: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(\.(?:go|s):\d+)(?:\s+\+?(0x[0-9a-f]+))?(?:\s+fp=0x[0-9a-f]+.*)?$").expect("go registers regex")
});
static RUBY_DASH_HEADER: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^([A-Z][\w:]*) - (.+)$").expect("ruby dash header regex"));
static RUBY_NUMBERED: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"^\s*\d+: from ").expect("ruby numbered regex"));
static JAVA_JAR_SUFFIX: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^(\s*at \S+\(.*\))\s+~?\[[^\]]*\]$").expect("java jar suffix regex"));
static JS_QUERY: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^(\s*at .*?\.m?js)\?[^:\s)]*(:\d+(?::\d+)?\)?)$").expect("js query regex"));
static RUBY_BARE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^(\s*(?:from )?[^\s:]+:\d+)(?:: (.*\([A-Z][\w:]*\)))?$").expect("ruby bare frame regex")
});
static PYTHON_TAIL: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^[A-Z]\w*(?:Error|Exception|Warning): ").expect("python tail regex"));
static RUST_THREAD_ID: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^(\s*thread '[^']*') \(\d+\) panicked").expect("rust thread id regex"));
static RUST_NO_COLUMN: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"panicked at '.*', \S+:\d+$").expect("rust no column regex"));
static RUST_LOCATION: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"', \S+:\d+:\d+$|^\S+\.rs:\d+:\d+$").expect("rust location regex"));
static CONSOLE_LINE: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"^\S+:\d+ \S").expect("console line regex"));
static CONSOLE_PREFIX: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^\S+:\d+ (Uncaught .*)$").expect("console prefix regex"));

const HEADER_PREFIXES: [&str; 12] = [
    "Unhandled Exception: ",
    "未经处理的异常:  ",
    "未经处理的异常: ",
    "Unbehandelte Ausnahme: ",
    "Exception non gérée : ",
    "Excepción no controlada: ",
    "Unhandled exception. ",
    "Exception thrown: ",
    "Fatal Exception: ",
    "Extension error: ",
    "Exception: ",
    "Stack: ",
];

/// How well a reading went: a platform, a type, frames — in that order of worth.
fn score(platform: Platform, exceptions: &[Exception]) -> (bool, bool, usize) {
    let thrown = exceptions.last();
    (
        platform != Platform::Other,
        thrown.and_then(|e| e.r#type.as_deref()).is_some_and(|t| !misread_type(platform, t)),
        thrown.map_or(0, |e| e.frames.len()),
    )
}

/// A "type" that is really a file or a console's source label (`content_script.js:2
/// Uncaught TypeError`, `plugin:name:12 Uncaught …`).
fn misread_type(platform: Platform, t: &str) -> bool {
    t.contains('/')
        || [".js", ".mjs", ".ts"].iter().any(|x| t.ends_with(x))
        || (platform == Platform::JavaScript && !super::looks_like_type(t))
}

/// Whether a reading is bad enough to try the repaired text.
pub(super) fn reads_badly(platform: Platform, exceptions: &[Exception], text: &str) -> bool {
    let (known, typed, frames) = score(platform, exceptions);
    !known
        || !typed
        || frames == 0
        || (platform == Platform::Ruby && text.contains("in`"))
        || (platform == Platform::Go && (text.contains(" fp=0x") || text.contains("  0x")))
}

/// The better of two readings (the first when they are as good).
pub(super) fn better(
    first: (Platform, Vec<Exception>),
    second: (Platform, Vec<Exception>),
) -> (Platform, Vec<Exception>) {
    if score(second.0, &second.1) > score(first.0, &first.1) { second } else { first }
}

/// The repaired text, if any repair applies.
pub(super) fn repair(text: &str) -> Option<String> {
    let lines: Vec<Cow<str>> = text.lines().map(line_fixes).collect();
    let mut lines = rust_join(ruby_reorder(lines));
    node_require_stack(&mut lines);
    python_fixes(&mut lines);
    firefox_fixes(&mut lines);
    cut_preamble(&mut lines);
    let fixed = lines.join("\n");
    (fixed != text).then_some(fixed)
}

/// Fixes that need only the line itself.
fn line_fixes(line: &str) -> Cow<'_, str> {
    let mut line: Cow<str> = match LOG_PREFIX.find(line) {
        Some(m) if line.as_bytes().first().is_some_and(u8::is_ascii_digit) => Cow::Owned(line[m.end()..].to_string()),
        _ => Cow::Borrowed(line),
    };
    if let Some(c) = LOCALISED_AT.captures(&line) {
        let start = c.get(2).map_or(0, |m| m.start());
        line = Cow::Owned(format!("{}at {}", &c[1], &line[start..]));
    }
    if (line.contains(".go:") || line.contains(".s:"))
        && let Some(c) = GO_REGISTERS.captures(&line)
    {
        let whole = c.get(0).map_or(0..0, |m| m.range());
        let offset = c.get(2).map(|m| format!(" +{}", m.as_str())).unwrap_or_default();
        line = Cow::Owned(format!("{}{}{offset}", &line[..whole.start], &c[1]));
    }
    if line.contains("in`") {
        line = Cow::Owned(line.replace(":in`", ":in `"));
    }
    if let Some(c) = RUBY_DASH_HEADER.captures(line.trim()) {
        line = Cow::Owned(format!("{} ({}):", &c[1], &c[2]));
    }
    if let Some(c) = CONSOLE_PREFIX.captures(line.trim()) {
        line = Cow::Owned(c[1].to_string());
    }
    if let Some(c) = JAVA_JAR_SUFFIX.captures(&line) {
        line = Cow::Owned(c[1].to_string());
    }
    if let Some(c) = JS_QUERY.captures(&line) {
        line = Cow::Owned(format!("{}{}", &c[1], &c[2]));
    }
    // Rust 1.90 prints the thread id; Rust before 1.42 no column (never used for grouping).
    if let Some(c) = RUST_THREAD_ID.captures(&line) {
        let end = c.get(0).map_or(0, |m| m.end());
        line = Cow::Owned(format!("{} panicked{}", &c[1], &line[end..]));
    }
    if RUST_NO_COLUMN.is_match(&line) {
        line = Cow::Owned(format!("{line}:0"));
    }
    // Ruby: a frame whose closing quote was lost in the paste.
    if let Some((_, method)) = line.split_once(":in `")
        && !method.contains('\'')
    {
        line = Cow::Owned(format!("{line}'"));
    }
    // Ruby 1.8 and top-level frames: `file.rb:12` and `file:7: message (Type)`.
    if (line.contains(".rb:") || line.contains("Vagrantfile:") || line.trim_start().starts_with("from /"))
        && !line.contains(":in ")
        && let Some(c) = RUBY_BARE.captures(&line)
    {
        line = Cow::Owned(match c.get(2) {
            Some(tail) => format!("{}:in `': {}", &c[1], tail.as_str()),
            None => format!("{}:in `'", &c[1]),
        });
    }
    line
}

/// A Rust panic message over several lines before its location: one line again.
fn rust_join(lines: Vec<Cow<'_, str>>) -> Vec<Cow<'_, str>> {
    let Some(start) = lines.iter().position(|l| l.contains("panicked at '") && !RUST_LOCATION.is_match(l.trim_end()))
    else {
        return lines;
    };
    let Some(end) = (start + 1..lines.len().min(start + 8)).find(|&i| RUST_LOCATION.is_match(lines[i].trim())) else {
        return lines;
    };
    let joined: String = lines[start..=end].iter().map(|l| l.trim_end()).collect::<Vec<_>>().join(" ");
    let mut out: Vec<Cow<str>> = lines[..start].to_vec();
    out.push(Cow::Owned(joined));
    out.extend(lines[end + 1..].iter().cloned());
    out
}

/// Node's `Require stack:` list between the header and the frames.
fn node_require_stack(lines: &mut Vec<Cow<'_, str>>) {
    if let Some(i) = lines.iter().position(|l| l.trim() == "Require stack:") {
        let mut j = i + 1;
        while j < lines.len() && lines[j].trim_start().starts_with("- ") {
            j += 1;
        }
        lines.drain(i..j);
    }
}

/// Ruby 2.5–2.7 print `N: from` lines oldest first and the crash line last: put them in
/// the usual order (crash line first).
fn ruby_reorder(lines: Vec<Cow<'_, str>>) -> Vec<Cow<'_, str>> {
    let numbered: Vec<usize> = (0..lines.len()).filter(|&i| RUBY_NUMBERED.is_match(&lines[i])).collect();
    let (Some(&first), Some(&last)) = (numbered.first(), numbered.last()) else { return lines };
    let crash = last + 1;
    if crash >= lines.len() || !lines[crash].contains(":in ") {
        return lines;
    }
    let mut out: Vec<Cow<str>> = lines[..first].to_vec();
    out.push(lines[crash].clone());
    for i in numbered.iter().rev() {
        let l = &lines[*i];
        let rest = l.split_once(": from ").map_or(l.as_ref(), |(_, r)| r);
        out.push(Cow::Owned(format!("\tfrom {rest}")));
    }
    out.extend(lines[crash + 1..].iter().cloned());
    out
}

/// Python: a traceback pasted without its `Traceback` line, and source lines printed
/// without indentation.
fn python_fixes(lines: &mut Vec<Cow<'_, str>>) {
    let is_file = |l: &str| l.trim_start().starts_with("File \"") && l.contains("\", line ");
    let Some(first) = lines.iter().position(|l| is_file(l)) else {
        // Only the tail: an indented source line, then `NameError: message`.
        let n = lines.len();
        if n >= 2 && PYTHON_TAIL.is_match(lines[n - 1].trim_start()) && lines[n - 2].starts_with("    ") {
            lines.insert(0, Cow::Borrowed("Traceback (most recent call last):"));
        }
        return;
    };
    if !lines[..first].iter().any(|l| super::find_traceback(l).is_some()) {
        lines.insert(first, Cow::Borrowed("Traceback (most recent call last):"));
    }
    for i in 1..lines.len() {
        if is_file(&lines[i - 1]) && !lines[i].starts_with([' ', '\t']) && !is_file(&lines[i]) {
            let header = split_header(lines[i].trim()).0.is_some() && lines[i].contains(':');
            if !header && !lines[i].trim().is_empty() {
                lines[i] = Cow::Owned(format!("    {}", lines[i]));
            }
        }
    }
    for l in lines.iter_mut() {
        if is_file(l) && !l.starts_with([' ', '\t']) {
            *l = Cow::Owned(format!("  {l}"));
        }
    }
}

/// Firefox extension errors: the exception's own stack is between `[[Exception stack` and
/// `Current stack`; what follows is the extension framework's.
fn firefox_fixes(lines: &mut Vec<Cow<'_, str>>) {
    if let Some(i) = lines.iter().position(|l| l.trim() == "Current stack") {
        lines.truncate(i);
    }
    lines.retain(|l| l.trim() != "[[Exception stack" && l.trim() != "]]");
}

/// Lines before the exception header (the header nearest the first frame) are dropped,
/// and known prefixes of the header taken off.
fn cut_preamble(lines: &mut Vec<Cow<'_, str>>) {
    let is_frame = |l: &str| {
        let t = l.trim_start();
        t.starts_with("at ") || (t.contains('@') && t.contains(':') && !t.contains(' '))
    };
    let Some(first_frame) = lines.iter().position(|l| is_frame(l)) else { return };
    let strip = |l: &str| -> String {
        let mut t = l.trim();
        for p in HEADER_PREFIXES {
            if let Some(rest) = t.strip_prefix(p) {
                t = rest;
            }
        }
        t.to_string()
    };
    let header = (0..first_frame).rev().find(|&i| {
        let t = strip(&lines[i]);
        t.contains("Exception in thread ")
            || split_header(&t).0.is_some_and(|ty| super::looks_like_type(&ty) || ty.contains('.'))
    });
    if let Some(h) = header {
        let stripped = strip(&lines[h]);
        // A console's `source:line Error stack:` between the header and the frames.
        let console = (h + 1..first_frame).filter(|&i| CONSOLE_LINE.is_match(lines[i].trim())).collect::<Vec<_>>();
        for i in console.into_iter().rev() {
            lines.remove(i);
        }
        lines.drain(..h);
        lines[0] = Cow::Owned(stripped);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repairs_pasted_traces() {
        let go = "panic: x\n\ngoroutine 1 [running]:\nmain.f()\n\t  main.go:3  0x3e\nruntime.throw(0x1)\n\t/r/panic.go:5 +0x9 fp=0xc sp=0xd pc=0xe\n";
        let fixed = repair(go).unwrap();
        assert!(fixed.contains("\t  main.go:3 +0x3e") && fixed.ends_with("/r/panic.go:5 +0x9"), "{fixed}");
        let ruby = "\t 1: from /a/x.rb:3:in `new'\n/a/y.rb:1:in `initialize': boom (NoMethodError)";
        let fixed = repair(ruby).unwrap();
        assert!(
            fixed.starts_with("/a/y.rb:1:in `initialize'") && fixed.ends_with("\tfrom /a/x.rb:3:in `new'"),
            "{fixed}"
        );
        let java = "ERROR: step failed\njava.lang.NullPointerException\n\tat a.B.c(B.java:1)";
        assert!(repair(java).unwrap().starts_with("java.lang.NullPointerException\n"));
        let logcat = "05-16 08:17:53.812: E/AndroidRuntime(27147):    at a.B.c(B.java:1)";
        assert_eq!(repair(logcat).unwrap(), "   at a.B.c(B.java:1)");
        let dotnet = "System.Exception: x\n   在 A.B.C(Int32 i)";
        assert_eq!(repair(dotnet).unwrap(), "System.Exception: x\n   at A.B.C(Int32 i)");
        let python = " File \"a.py\", line 1, in <module>\nimport x\nImportError: no x";
        assert_eq!(
            repair(python).unwrap(),
            "Traceback (most recent call last):\n File \"a.py\", line 1, in <module>\n    import x\nImportError: no x"
        );
        assert_eq!(repair("TypeError: x\n    at f (a.js:1:2)"), None);
    }
}
