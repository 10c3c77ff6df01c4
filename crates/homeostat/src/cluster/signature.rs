//! The error signature of a report: what duplicates share even when their prose differs
//! (exception type, in-app frames, error codes, HTTP statuses, versions, the error line).
//! Pure: no I/O.

use std::sync::LazyLock;

use regex::Regex;

use super::Item;

/// One signature feature, `kind:value` (e.g. `type:TypeError`, `code:0x80263001`).
pub type Feature = String;

/// How much each kind of feature says about the cause (multiplied by its rarity).
pub fn kind_weight(feature: &str) -> f32 {
    match feature.split(':').next().unwrap_or("") {
        "msg" => 3.0,
        "code" => 2.5,
        "frame" => 2.0,
        "type" => 1.5,
        "http" => 1.5,
        "file" => 1.0,
        "ver" => 0.3,
        _ => 1.0,
    }
}

struct Patterns {
    exception: Regex,
    code: Regex,
    rust_code: Regex,
    exit_code: Regex,
    http: Regex,
    version: Regex,
    js_frame: Regex,
    py_frame: Regex,
    native_frame: Regex,
    file: Regex,
    message: Regex,
    number: Regex,
}

static PATTERNS: LazyLock<Patterns> = LazyLock::new(|| {
    let re = |p: &str| Regex::new(p).unwrap_or_else(|e| panic!("built-in pattern {p}: {e}"));
    Patterns {
        exception: re(r"\b([A-Z][A-Za-z0-9_]*(?:Error|Exception|Panic|Fault)|SIG[A-Z]{3,6}|ICE)\b"),
        code: re(r"\b0[xX][0-9a-fA-F]{4,16}\b"),
        rust_code: re(r"\b(E\d{4}|E[A-Z]{4,12})\b"),
        exit_code: re(r"(?:code|exit value|status)[:= ]+'?(-?\d{2,})"),
        http: re(r"(?i)\b(?:http(?:/\d(?:\.\d)?)?|status(?: code)?|returned)\s*:?\s*([45]\d\d)\b"),
        version: re(r"\bv?(\d+\.\d+\.\d+)(?:[-.][0-9A-Za-z]+)?\b"),
        js_frame: re(r"\bat (?:new |async )?([A-Za-z_$][\w$.<>]*) \("),
        py_frame: re(r#"File "?([^",]+?)"?, line \d+, in ([\w<>]+)"#),
        native_frame: re(r"\b([A-Za-z_]\w*(?:::[A-Za-z_~]\w*)+)\b"),
        file: re(r"\b([\w-]+\.(?:cpp|cc|c|h|hpp|rs|py|js|mjs|ts|tsx|go|java|kt|swift|dart|rb|cs|gradle))\b(?::\d+)?"),
        message: re(
            r"(?im)(?:^|[\s\]>])(?:[A-Za-z]*Error|ERROR|Exception|error|panicked at|FAILURE|fatal)[:\]]\s+(.{6,160})",
        ),
        number: re(r"\d+"),
    }
});

/// Frames that belong to runtimes and libraries, not to the application.
fn is_library_frame(name: &str) -> bool {
    const LIB: &[&str] = &["std::", "core::", "alloc::", "Object.", "Module.", "Array.", "Promise.", "node:", "__"];
    LIB.iter().any(|p| name.starts_with(p)) || name.len() < 3
}

/// The words of an error line, lowercase with numbers folded, up to the first argument or
/// clause break, at most eight.
fn message_words(text: &str) -> Vec<String> {
    let p = &*PATTERNS;
    let cut = text.split([';', '\n', '(', '[', '"', '`']).next().unwrap_or(text);
    let folded = p.number.replace_all(&cut.to_lowercase(), "0").to_string();
    folded
        .split(|c: char| !(c.is_alphanumeric() || c == '\'' || c == '_'))
        .filter(|w| !w.is_empty())
        .take(8)
        .map(str::to_string)
        .collect()
}

/// The normalised error line as two features: its first four words (wordings that differ
/// only at the end still meet) and up to eight.
fn normalise_message(text: &str, out: &mut Vec<Feature>) {
    let words = message_words(text);
    if words.len() >= 3 {
        out.push(format!("msg:{}", words[..words.len().min(4)].join(" ")));
    }
    if words.len() > 4 {
        out.push(format!("msg:{}", words.join(" ")));
    }
}

/// The error lines of a text, each with its key (the first four normalised words, as in
/// the `msg:` feature) and the rest of the line as written.
pub fn error_lines(text: &str) -> Vec<(String, &str)> {
    let p = &*PATTERNS;
    p.message
        .captures_iter(text)
        .filter_map(|c| {
            let line = c.get(1)?.as_str();
            let words = message_words(line);
            (words.len() >= 3).then(|| (words[..words.len().min(4)].join(" "), line))
        })
        .collect()
}

/// A hex number right after "address" is where a process crashed in memory, which differs
/// from run to run: not an error code.
fn is_address(text: &str, start: usize) -> bool {
    let before = text[..start].trim_end();
    let mut tail: Vec<char> = before.chars().rev().take(7).collect();
    tail.reverse();
    let tail = tail.into_iter().collect::<String>().to_ascii_lowercase();
    tail.ends_with("address") || tail.ends_with("addr=") || tail.ends_with("addr")
}

/// Signature features of free text (a title or a body).
/// The HTTP error statuses (4xx, 5xx) a text quotes.
pub fn http_statuses(text: &str) -> impl Iterator<Item = &str> {
    PATTERNS.http.captures_iter(text).filter_map(|c| c.get(1)).map(|m| m.as_str())
}

pub fn from_text(text: &str, out: &mut Vec<Feature>) {
    let p = &*PATTERNS;
    for c in p.exception.captures_iter(text) {
        out.push(format!("type:{}", &c[1]));
    }
    for m in p.code.find_iter(text).filter(|m| !is_address(text, m.start())) {
        out.push(format!("code:{}", m.as_str().to_lowercase()));
    }
    for c in p.rust_code.captures_iter(text).chain(p.exit_code.captures_iter(text)) {
        out.push(format!("code:{}", &c[1]));
    }
    out.extend(http_statuses(text).map(|s| format!("http:{s}")));
    for c in p.version.captures_iter(text) {
        out.push(format!("ver:{}", &c[1]));
    }
    let frames = p.js_frame.captures_iter(text).map(|c| c[1].to_string());
    let py = p.py_frame.captures_iter(text).map(|c| c[2].to_string());
    let native = p.native_frame.captures_iter(text).map(|c| c[1].to_string());
    for f in frames.chain(py).chain(native).filter(|f| !is_library_frame(f)) {
        out.push(format!("frame:{f}"));
    }
    for c in p.file.captures_iter(text) {
        out.push(format!("file:{}", c[1].to_lowercase()));
    }
    for c in p.message.captures_iter(text) {
        normalise_message(&c[1], out);
    }
}

/// The whole signature of an item: its structured error (when it has one) and what its
/// title and body show. Distinct features, in first-seen order.
pub fn of_item(item: &Item) -> Vec<Feature> {
    let mut out = Vec::new();
    if let Some(err) = &item.error {
        if let Some(t) = &err.r#type {
            out.push(format!("type:{t}"));
        }
        for f in err.frames.iter().filter(|f| f.in_app()) {
            out.push(format!("frame:{}", f.name()));
        }
    }
    from_text(&item.title, &mut out);
    from_text(&item.body, &mut out);
    let mut seen = std::collections::HashSet::new();
    out.retain(|f| seen.insert(f.clone()));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn feats(text: &str) -> Vec<Feature> {
        let mut v = Vec::new();
        from_text(text, &mut v);
        v
    }

    #[test]
    fn finds_types_codes_statuses_and_versions() {
        let f = feats("TypeError: failed with 0x80263001 after HTTP 503 on v1.4.2");
        for want in ["type:TypeError", "code:0x80263001", "http:503", "ver:1.4.2"] {
            assert!(f.iter().any(|x| x == want), "{want} missing from {f:?}");
        }
    }

    #[test]
    fn finds_frames_of_three_platforms_and_skips_library_ones() {
        let f = feats(
            "at renderNote (popup.js:10:15)\n  File \"app/x.py\", line 3, in load_user\n VulkanContext::initialize (vulkan_context.cpp:1133)\n at Array.map (native)",
        );
        for want in
            ["frame:renderNote", "frame:load_user", "frame:VulkanContext::initialize", "file:vulkan_context.cpp"]
        {
            assert!(f.iter().any(|x| x == want), "{want} missing from {f:?}");
        }
        assert!(!f.iter().any(|x| x.contains("Array.map")));
    }

    #[test]
    fn crash_addresses_are_not_error_codes() {
        let f = feats("panic: Segmentation fault at address 0x1D1FB939000 (code 0x80370102)");
        assert!(f.iter().any(|x| x == "code:0x80370102"), "{f:?}");
        assert!(!f.iter().any(|x| x.contains("1d1fb939000")), "{f:?}");
    }

    #[test]
    fn the_error_line_is_normalised_across_wordings() {
        let a = feats("ERROR: Unable to extract uploader id; please report this issue");
        let b = feats("[youtube] x: ERROR: Unable to extract uploader id; see 2 more");
        let msg = |v: &[Feature]| v.iter().find(|f| f.starts_with("msg:")).cloned();
        assert_eq!(msg(&a), Some("msg:unable to extract uploader".into()));
        assert!(a.iter().any(|f| f == "msg:unable to extract uploader id"));
        assert_eq!(msg(&a), msg(&b));
    }
}
