//! Go panics and goroutine dumps: the first goroutine (the one that panicked) groups.

use std::sync::LazyLock;

use regex::Regex;

use crate::event::{Exception, Frame};

/// What [`location`] reads, as a regular expression (`\s` and `\d` are Unicode).
#[cfg(test)]
const LOCATION_GRAMMAR: &str = r"^\s+(\S.*?\.(?:go|s)):(\d+)(?:\s+\+0x[0-9a-f]+)?\s*$";

/// Unicode decimal digits, as `\d` reads them (the rare case that is not ASCII).
static DIGITS: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"^\d+$").expect("digits regex"));

pub fn parse(text: &str) -> Vec<Exception> {
    let mut ty = None;
    let mut value: Option<String> = None;
    let mut frames: Vec<Frame> = Vec::new();
    let mut in_goroutine = false;
    let mut goroutines = 0;
    let mut pending: Option<String> = None;
    for line in text.lines() {
        let trimmed = line.trim();
        if let Some(rest) = trimmed.strip_prefix("panic: ").or_else(|| trimmed.strip_prefix("fatal error: ")) {
            if value.is_none() {
                ty = Some(if trimmed.starts_with("panic") { "panic" } else { "fatal error" }.to_string());
                value = Some(rest.trim_end_matches(" [recovered]").to_string());
            }
            continue;
        }
        if trimmed.starts_with("goroutine ") && trimmed.ends_with(':') {
            goroutines += 1;
            in_goroutine = goroutines == 1;
            continue;
        }
        if !in_goroutine || trimmed.is_empty() {
            continue;
        }
        if let Some((path, lineno)) = line.starts_with([' ', '\t']).then(|| location(line)).flatten() {
            if let Some(symbol) = pending.take() {
                let (module, function) = split_symbol(&symbol);
                frames.push(Frame {
                    function: Some(function),
                    module,
                    filename: Some(path.to_string()),
                    abs_path: Some(path.to_string()),
                    lineno: lineno.parse().ok(),
                    ..Frame::default()
                });
            }
        } else if trimmed.starts_with("created by ") {
            pending = None;
        } else {
            pending = Some(strip_args(trimmed).to_string());
        }
    }
    frames.reverse();
    vec![Exception { r#type: ty, value, frames, ..Exception::default() }]
}

/// `\t/src/main.go:42 +0x1d` → (`/src/main.go`, `42`): hand-written for speed (a line of
/// every frame), reading exactly what [`LOCATION_GRAMMAR`] does, which a test checks.
fn location(line: &str) -> Option<(&str, &str)> {
    let body = line.trim_start();
    if body.len() == line.len() {
        return None;
    }
    let body = body.trim_end();
    // ` +0x1d`: the program counter offset.
    let body = match body.rfind("+0x") {
        Some(i)
            if body[..i].ends_with(char::is_whitespace)
                && i + 3 < body.len()
                && body[i + 3..].bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)) =>
        {
            body[..i].trim_end()
        }
        _ => body,
    };
    let (path, line_no) = body.rsplit_once(':')?;
    let digits = !line_no.is_empty() && (line_no.bytes().all(|b| b.is_ascii_digit()) || DIGITS.is_match(line_no));
    let stem = path.strip_suffix(".go").or_else(|| path.strip_suffix(".s"))?;
    (digits && !stem.is_empty()).then_some((path, line_no))
}

/// `main.(*Server).handle(0xc0, {0x1, 0x2})` → `main.(*Server).handle`.
fn strip_args(symbol: &str) -> &str {
    if symbol.ends_with(')')
        && let Some(i) = symbol.rfind('(')
        && i > 0
    {
        return &symbol[..i];
    }
    symbol
}

/// `github.com/a/b/pkg.(*T).M` → (`github.com/a/b/pkg`, `(*T).M`), as Sentry's Go SDK splits.
pub(crate) fn split_symbol(symbol: &str) -> (Option<String>, String) {
    // Generic instantiations (`F[...]`) vary with the types used.
    let symbol = match symbol.find("[...]") {
        Some(_) => symbol.replace("[...]", ""),
        None => symbol.to_string(),
    };
    let slash = symbol.rfind('/').map_or(0, |i| i + 1);
    match symbol[slash..].find('.') {
        Some(dot) => (Some(symbol[..slash + dot].to_string()), symbol[slash + dot + 1..].to_string()),
        None => (None, symbol),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn location_agrees_with_its_grammar() {
        // Every combination of the parts of a location line, right and wrong.
        let parts: [&[&str]; 7] = [
            &["", " ", "\t", "\u{2003}", "  "],
            &["", "/src/main", "my dir/x", "a", "/a.go:12/b", "z.go", "+0x"],
            &[".go", ".s", ".js", "", ".go.go"],
            &[":", "", "::"],
            &["42", "", "\u{0663}", "4a", "7:8"],
            &["", " +0x1d", "+0x1d", " +0x", " +0x1F", "\t+0xff", " +0x+0x1", " +0xg"],
            &["", " ", "\r", "\u{2003}"],
        ];
        crate::event::stack::assert_reads_like(LOCATION_GRAMMAR, &parts, location);
        assert_eq!(location("\t/src/main.go:42 +0x1d"), Some(("/src/main.go", "42")));
    }

    #[test]
    fn panic_with_goroutines() {
        let ex = parse(
            "panic: runtime error: invalid memory address or nil pointer dereference\n[signal SIGSEGV: segmentation violation code=0x1 addr=0x0 pc=0x4a]\n\ngoroutine 7 [running]:\ngithub.com/acme/api/store.(*Store).Get(0x0, {0x5, 0x2})\n\t/src/store/store.go:42 +0x1d\nmain.main()\n\t/src/main.go:10 +0x25\ncreated by main.start in goroutine 1\n\t/src/main.go:3 +0x5\n\ngoroutine 1 [chan receive]:\nmain.wait()\n\t/src/main.go:20 +0x1\n",
        );
        let f = &ex[0].frames;
        assert_eq!(ex[0].r#type.as_deref(), Some("panic"));
        assert_eq!(f.len(), 2);
        assert_eq!(f[1].module.as_deref(), Some("github.com/acme/api/store"));
        assert_eq!(f[1].function.as_deref(), Some("(*Store).Get"));
        assert_eq!(f[0].function.as_deref(), Some("main"));
    }
}
