//! Rust panics (old and new message formats) with `RUST_BACKTRACE=1` backtraces, and
//! `Error: …` reports with a `Stack backtrace:` (anyhow, eyre).

use std::sync::LazyLock;

use regex::Regex;

use crate::event::{Exception, Frame};

static PANIC_NEW: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"thread '[^']*' panicked at ([^\s]+?):(\d+):(\d+):$").expect("rust panic regex"));
/// v2: the new format with the message on the location's line (some panic hooks and
/// loggers print it so), or none at all.
static PANIC_NEW_V2: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?:thread '[^']*' )?panicked at ([^\s']+?):(\d+):(\d+):?(?:\s+(.*))?$").expect("rust panic regex")
});
static PANIC_OLD: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"thread '[^']*' panicked at '(.*)', ([^\s]+?):(\d+):(\d+)$").expect("rust old panic regex")
});

/// With `v2`, a panic without a backtrace keeps its location (the file, as a frame without
/// a function, and its message: without a function the file alone would merge every panic
/// of a file), and the message may follow the location on its line.
pub fn parse(text: &str, v2: bool) -> Vec<Exception> {
    let mut location: Option<String> = None;
    let mut ty = None;
    let mut message: Vec<&str> = Vec::new();
    let mut in_message = false;
    let mut frames: Vec<Frame> = Vec::new();
    for line in text.lines() {
        let trimmed = line.trim();
        let panic_line = trimmed.contains("panicked at");
        if let Some(c) = panic_line.then(|| PANIC_OLD.captures(trimmed)).flatten() {
            ty = Some("panic".to_string());
            message.push(c.get(1).map_or("", |m| m.as_str()));
            location = c.get(2).map(|m| m.as_str().to_string());
            continue;
        }
        if panic_line && !v2 && PANIC_NEW.is_match(trimmed) {
            ty = Some("panic".to_string());
            in_message = true;
            continue;
        }
        if let Some(c) = (panic_line && v2).then(|| PANIC_NEW_V2.captures(trimmed)).flatten() {
            ty = Some("panic".to_string());
            location = c.get(1).map(|m| m.as_str().to_string());
            match c.get(4).map(|m| m.as_str().trim()).filter(|m| !m.is_empty()) {
                Some(m) => message.push(m),
                None => in_message = true,
            }
            continue;
        }
        if trimmed.starts_with("note:") || trimmed.eq_ignore_ascii_case("stack backtrace:") {
            in_message = false;
            continue;
        }
        if ty.is_none()
            && let Some(rest) = trimmed.strip_prefix("Error: ")
        {
            ty = Some("Error".to_string());
            message.push(rest);
            in_message = true;
            continue;
        }
        if let Some(location) = trimmed.strip_prefix("at ").filter(|_| line.starts_with(char::is_whitespace)) {
            if let Some(f) = frames.last_mut().filter(|f| f.abs_path.is_none()) {
                let (path, lineno, _) = super::split_location(location);
                f.filename = Some(path.clone());
                f.abs_path = Some(path);
                f.lineno = lineno;
            }
            continue;
        }
        if let Some((n, symbol)) = trimmed.split_once(": ")
            && !n.is_empty()
            && n.bytes().all(|b| b.is_ascii_digit())
        {
            in_message = false;
            // `0x55d0c2 - symbol` in older backtraces.
            let symbol = match symbol.split_once(" - ") {
                Some((addr, rest)) if addr.starts_with("0x") => rest,
                _ => symbol,
            };
            frames.push(Frame { function: Some(strip_hash(symbol.trim()).to_string()), ..Frame::default() });
            continue;
        }
        if in_message && !trimmed.is_empty() {
            message.push(trimmed);
        }
    }
    frames.reverse();
    let value = Some(message.join("\n")).filter(|m| !m.is_empty());
    let mut message_groups = false;
    if v2
        && frames.is_empty()
        && let Some(path) = location
    {
        frames.push(super::frame(None, Some(&path), None));
        message_groups = true;
    }
    vec![Exception { r#type: ty.or(Some("panic".into())), value, frames, message_groups, ..Exception::default() }]
}

/// `notes::main::h0123456789abcdef` → `notes::main`: the hash changes with every build.
fn strip_hash(symbol: &str) -> &str {
    match symbol.len().checked_sub(19).and_then(|i| symbol.get(i..).map(|tail| (i, tail))) {
        Some((i, tail)) if tail.starts_with("::h") && tail[3..].bytes().all(|b| b.is_ascii_hexdigit()) => &symbol[..i],
        _ => symbol,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn panic_with_backtrace() {
        let ex = parse_v2(
            "thread 'main' panicked at src/notes.rs:42:9:\nindex out of bounds: the len is 3 but the index is 5\nstack backtrace:\n   0: rust_begin_unwind\n             at /rustc/abc/library/std/src/panicking.rs:652:5\n   1: core::panicking::panic_fmt\n   2: notes::store::get\n             at ./src/notes.rs:42:9\n   3: notes::main::h0123456789abcdef\nnote: Some details are omitted.",
        );
        let e = &ex[0];
        assert_eq!(e.value.as_deref(), Some("index out of bounds: the len is 3 but the index is 5"));
        assert_eq!(e.frames.len(), 4);
        assert_eq!(e.frames[0].function.as_deref(), Some("notes::main"));
        assert_eq!(e.frames[1].filename.as_deref(), Some("./src/notes.rs"));
    }

    #[test]
    fn old_format() {
        let ex = parse_v2("thread 'main' panicked at 'boom 7', src/main.rs:2:5");
        assert_eq!(ex[0].value.as_deref(), Some("boom 7"));
        assert_eq!(ex[0].frames[0].filename.as_deref(), Some("src/main.rs"));
    }

    fn parse_v2(text: &str) -> Vec<Exception> {
        parse(text, true)
    }

    #[test]
    fn panics_without_backtrace_keep_their_location() {
        for text in [
            "thread 'main' panicked at src/config.rs:10:5:\ncalled `Option::unwrap()` on a `None` value\nnote: run with `RUST_BACKTRACE=1` environment variable to display a backtrace",
            "thread 'main' panicked at 'called `Option::unwrap()` on a `None` value', src/config.rs:10:5",
            "thread 'main' panicked at src/config.rs:10:5: called `Option::unwrap()` on a `None` value",
        ] {
            let ex = parse_v2(text);
            assert_eq!(ex[0].value.as_deref(), Some("called `Option::unwrap()` on a `None` value"), "{text}");
            assert_eq!(ex[0].frames.len(), 1, "{text}");
            assert_eq!(ex[0].frames[0].filename.as_deref(), Some("src/config.rs"), "{text}");
            assert!(ex[0].message_groups);
        }
        // v1 kept no place at all.
        assert!(parse("thread 'main' panicked at src/config.rs:10:5:\nx", false)[0].frames.is_empty());
    }
}
