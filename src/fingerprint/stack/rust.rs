//! Rust panics (old and new message formats) with `RUST_BACKTRACE=1` backtraces, and
//! `Error: …` reports with a `Stack backtrace:` (anyhow, eyre).

use std::sync::LazyLock;

use regex::Regex;

use crate::event::{Exception, Frame};

static PANIC_NEW: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"thread '[^']*' panicked at ([^\s]+?):(\d+):(\d+):$").expect("rust panic regex"));
static PANIC_OLD: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"thread '[^']*' panicked at '(.*)', ([^\s]+?):(\d+):(\d+)$").expect("rust old panic regex")
});
static SYMBOL: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^\s*\d+:\s+(?:0x[0-9a-fA-F]+ - )?(.+?)\s*$").expect("rust symbol regex"));
static AT: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"^\s+at (.+?):(\d+)(?::\d+)?\s*$").expect("rust at regex"));
static HASH: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"::h[0-9a-f]{16}$").expect("rust hash regex"));

pub fn parse(text: &str) -> Vec<Exception> {
    let mut ty = None;
    let mut message: Vec<&str> = Vec::new();
    let mut in_message = false;
    let mut frames: Vec<Frame> = Vec::new();
    for line in text.lines() {
        let trimmed = line.trim();
        if let Some(c) = PANIC_OLD.captures(trimmed) {
            ty = Some("panic".to_string());
            message.push(c.get(1).map_or("", |m| m.as_str()));
            continue;
        }
        if PANIC_NEW.is_match(trimmed) {
            ty = Some("panic".to_string());
            in_message = true;
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
        if let Some(c) = AT.captures(line) {
            if let Some(f) = frames.last_mut().filter(|f| f.abs_path.is_none()) {
                let path = c.get(1).map(|m| m.as_str().to_string());
                f.filename = path.clone();
                f.abs_path = path;
                f.lineno = c.get(2).and_then(|m| m.as_str().parse().ok());
            }
            continue;
        }
        if let Some(c) = SYMBOL.captures(line) {
            in_message = false;
            let symbol = HASH.replace(c.get(1).map_or("", |m| m.as_str()), "").into_owned();
            frames.push(Frame { function: Some(symbol), ..Frame::default() });
            continue;
        }
        if in_message && !trimmed.is_empty() {
            message.push(trimmed);
        }
    }
    frames.reverse();
    let value = Some(message.join("\n")).filter(|m| !m.is_empty());
    vec![Exception { r#type: ty.or(Some("panic".into())), value, frames, ..Exception::default() }]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn panic_with_backtrace() {
        let ex = parse(
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
        let ex = parse("thread 'main' panicked at 'boom 7', src/main.rs:2:5");
        assert_eq!(ex[0].value.as_deref(), Some("boom 7"));
    }
}
