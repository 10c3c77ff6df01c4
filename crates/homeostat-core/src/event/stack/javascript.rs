//! V8 (Chrome, Node, Edge), Firefox and Safari stack traces.

use super::{split_header, split_location};
use crate::event::{Exception, Frame};

pub fn parse(text: &str) -> Vec<Exception> {
    let mut header: Vec<&str> = Vec::new();
    let mut frames: Vec<Frame> = Vec::new();
    for line in text.lines() {
        let trimmed = line.trim();
        if trimmed.is_empty() {
            continue;
        }
        if let Some(body) = trimmed.strip_prefix("at ") {
            frames.push(v8_frame(body));
        } else if let Some((function, location)) = trimmed.split_once('@').filter(|(f, l)| is_gecko(f, l)) {
            frames.push(gecko_frame(function, location));
        } else if frames.is_empty() {
            header.push(trimmed);
        }
    }
    frames.reverse();
    let (ty, value) = split_header(&header.join("\n"));
    vec![Exception { r#type: ty, value, frames, ..Exception::default() }]
}

fn v8_frame(body: &str) -> Frame {
    let body = body.trim();
    // `f (location)`, or a bare location; the location's own parentheses are balanced.
    let (function, location) = match body.strip_suffix(')').and_then(|inner| {
        let mut depth = 0i32;
        for (i, c) in inner.char_indices().rev() {
            match c {
                ')' => depth += 1,
                '(' if depth == 0 => return Some((inner[..i].trim_end(), &inner[i + 1..])),
                '(' => depth -= 1,
                _ => {}
            }
        }
        None
    }) {
        Some((f, l)) if !f.is_empty() => (f, l),
        _ => ("", body),
    };
    let function = function.trim_start_matches("async ").trim_start_matches("new ").trim();
    // `eval at f (file.js:1:2), <anonymous>:3:4`: code run by eval.
    if location.starts_with("eval at ") {
        return Frame { function: Some("eval".into()), abs_path: Some("eval code".into()), ..Frame::default() };
    }
    let (path, lineno, colno) = split_location(location);
    // `native` and `index 0` (Promise.all) are the engine's own frames.
    let path = if path == "native" || path.starts_with("index ") { "[native code]".to_string() } else { path };
    Frame {
        function: Some(function.to_string()).filter(|f| !f.is_empty()),
        filename: Some(path.clone()).filter(|p| !p.is_empty()),
        abs_path: Some(path).filter(|p| !p.is_empty()),
        lineno,
        colno,
        ..Frame::default()
    }
}

/// `f@location` (Firefox, Safari), told apart from a message that contains an `@`.
fn is_gecko(function: &str, location: &str) -> bool {
    (!function.contains(' ') || function.ends_with(" code"))
        && !location.is_empty()
        && (location == "[native code]"
            || (location.contains(':') && (!location.contains(' ') || location.contains(" > "))))
}

fn gecko_frame(function: &str, location: &str) -> Frame {
    // Firefox marks async frames `async*f`; eval'd code `file.js line 2 > eval`.
    let function = function.rsplit('*').next().unwrap_or(function);
    if location.contains(" > eval") || location.contains("> Function") {
        return Frame { function: Some("eval".into()), abs_path: Some("eval code".into()), ..Frame::default() };
    }
    let (path, lineno, colno) = split_location(location);
    let function = match function {
        "global code" | "" => None,
        f => Some(f.to_string()),
    };
    Frame {
        function,
        filename: Some(path.clone()).filter(|p| !p.is_empty()),
        abs_path: Some(path).filter(|p| !p.is_empty()),
        lineno,
        colno,
        ..Frame::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chrome_extension_stack() {
        let ex = parse(
            "TypeError: Cannot read properties of undefined (reading 'id')\n    at renderNote (chrome-extension://abcdef/popup.js:10:15)\n    at async Promise.all (index 0)\n    at HTMLButtonElement.<anonymous> (chrome-extension://abcdef/popup.js:40:3)",
        );
        assert_eq!(ex[0].r#type.as_deref(), Some("TypeError"));
        let f = &ex[0].frames;
        assert_eq!(f.len(), 3);
        assert_eq!(f[2].function.as_deref(), Some("renderNote"));
        assert_eq!(f[2].abs_path.as_deref(), Some("chrome-extension://abcdef/popup.js"));
        assert_eq!(f[2].lineno, Some(10));
        assert_eq!(f[0].function.as_deref(), Some("HTMLButtonElement.<anonymous>"));
    }

    #[test]
    fn firefox_and_safari() {
        let ex = parse(
            "bad\nrenderNote@moz-extension://x/popup.js:10:15\nasync*init@moz-extension://x/popup.js:2:1\nmap@[native code]\n@moz-extension://x/popup.js:50:1",
        );
        let f = &ex[0].frames;
        assert_eq!(f.len(), 4);
        assert_eq!(f[3].function.as_deref(), Some("renderNote"));
        assert_eq!(f[2].function.as_deref(), Some("init"));
        assert_eq!(f[1].abs_path.as_deref(), Some("[native code]"));
        assert_eq!(f[0].function, None);
    }

    #[test]
    fn messages_with_at_signs_are_not_frames() {
        let ex = parse("Error: user bob@example.com not found\n    at f (a.js:1:2)");
        assert_eq!(ex[0].value.as_deref(), Some("user bob@example.com not found"));
        assert_eq!(ex[0].frames.len(), 1);
    }

    #[test]
    fn eval_frames() {
        let ex = parse("Error: x\n    at eval (eval at run (app.js:1:2), <anonymous>:1:1)\n    at run (app.js:1:2)");
        assert_eq!(ex[0].frames[1].function.as_deref(), Some("eval"));
    }
}
