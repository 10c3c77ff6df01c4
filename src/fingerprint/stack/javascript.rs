//! V8 (Chrome, Node, Edge), Firefox and Safari stack traces.

use std::sync::LazyLock;

use regex::Regex;

use super::{split_header, split_location};
use crate::event::{Exception, Frame};

static V8: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"^\s*at\s+(.*)$").expect("v8 regex"));
static V8_CALL: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"^(.*?)\s+\((.*)\)$").expect("v8 call regex"));
static GECKO: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^\s*([^@\s]*(?: code)?)@(.*?)(?::(\d+))?(?::(\d+))?$").expect("gecko regex"));

pub fn parse(text: &str) -> Vec<Exception> {
    let mut header: Vec<&str> = Vec::new();
    let mut frames: Vec<Frame> = Vec::new();
    for line in text.lines() {
        if line.trim().is_empty() {
            continue;
        }
        if let Some(c) = V8.captures(line) {
            frames.push(v8_frame(c.get(1).map_or("", |m| m.as_str())));
        } else if let Some(c) = GECKO.captures(line).filter(|_| line.contains('@') && !line.contains(" at ")) {
            let function = c.get(1).map_or("", |m| m.as_str());
            let location = c.get(2).map_or("", |m| m.as_str());
            let lineno = c.get(3).and_then(|m| m.as_str().parse().ok());
            let colno = c.get(4).and_then(|m| m.as_str().parse().ok());
            frames.push(gecko_frame(function, location, lineno, colno));
        } else if frames.is_empty() {
            header.push(line.trim());
        }
    }
    frames.reverse();
    let (ty, value) = split_header(&header.join("\n"));
    vec![Exception { r#type: ty, value, frames, ..Exception::default() }]
}

fn v8_frame(body: &str) -> Frame {
    let body = body.trim();
    let (function, location) = match V8_CALL.captures(body) {
        Some(c) => (c.get(1).map_or("", |m| m.as_str()), c.get(2).map_or("", |m| m.as_str())),
        None => ("", body),
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

fn gecko_frame(function: &str, location: &str, lineno: Option<u64>, colno: Option<u64>) -> Frame {
    // Firefox marks async frames `async*f`; eval'd code `file.js line 2 > eval`.
    let function = function.rsplit('*').next().unwrap_or(function);
    if location.contains(" > eval") || location.contains("> Function") {
        return Frame { function: Some("eval".into()), abs_path: Some("eval code".into()), ..Frame::default() };
    }
    let (path, l2, c2) = split_location(location);
    let function = match function {
        "global code" | "" => None,
        f => Some(f.to_string()),
    };
    Frame {
        function,
        filename: Some(path.clone()).filter(|p| !p.is_empty()),
        abs_path: Some(path).filter(|p| !p.is_empty()),
        lineno: lineno.or(l2),
        colno: colno.or(c2),
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
    fn eval_frames() {
        let ex = parse("Error: x\n    at eval (eval at run (app.js:1:2), <anonymous>:1:1)\n    at run (app.js:1:2)");
        assert_eq!(ex[0].frames[1].function.as_deref(), Some("eval"));
    }
}
