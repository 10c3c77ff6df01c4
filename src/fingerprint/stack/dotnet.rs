//! .NET exception text: `Type: message ---> Inner: message`, frames `at N.C.M(args) in
//! file:line N`, and `--- End of inner exception stack trace ---`.

use std::sync::LazyLock;

use regex::Regex;

use super::split_header;
use crate::event::{Exception, Frame};

static FRAME: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^\s*at (.+?)(?: in (.+?):line (\d+))?\s*$").expect("dotnet frame regex"));
static ASYNC: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\.<([\w`]+)>d__\d+\.MoveNext$").expect("dotnet async regex"));
static LAMBDA: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\.<>c(?:__DisplayClass[\d_]+)?\.<([\w`]+)>b__[\d_]+$").expect("dotnet lambda regex"));

pub fn parse(text: &str) -> Vec<Exception> {
    // Headers outermost first; frame segments innermost first.
    let mut headers: Vec<(Option<String>, Option<String>)> = Vec::new();
    let mut segments: Vec<Vec<Frame>> = vec![Vec::new()];
    for line in text.lines() {
        let trimmed = line.trim();
        if trimmed.is_empty() || trimmed.starts_with("--- End of stack trace") {
            continue;
        }
        if trimmed.starts_with("--- End of inner exception") {
            segments.push(Vec::new());
            continue;
        }
        if let Some(c) = FRAME.captures(line) {
            let method = c.get(1).map_or("", |m| m.as_str());
            let path = c.get(2).map(|m| m.as_str().to_string());
            let lineno = c.get(3).and_then(|m| m.as_str().parse().ok());
            if let Some(seg) = segments.last_mut() {
                seg.push(dotnet_frame(method, path, lineno));
            }
            continue;
        }
        if segments.iter().all(Vec::is_empty) {
            let line = trimmed.strip_prefix("Unhandled exception.").unwrap_or(trimmed).trim();
            for part in line.split("--->") {
                let part = part.trim();
                if !part.is_empty() {
                    headers.push(split_header(part));
                }
            }
        }
    }
    if headers.is_empty() {
        headers.push((None, None));
    }
    let n = headers.len();
    let mut out = Vec::with_capacity(n);
    for (i, (ty, value)) in headers.into_iter().rev().enumerate() {
        // i = 0 is the innermost exception; it owns the first segment.
        let mut frames = if i < segments.len() { std::mem::take(&mut segments[i]) } else { Vec::new() };
        frames.reverse();
        out.push(Exception { r#type: ty, value, frames, ..Exception::default() });
    }
    let _ = n;
    out
}

fn dotnet_frame(method: &str, path: Option<String>, lineno: Option<u64>) -> Frame {
    let name = method.find('(').map_or(method, |i| &method[..i]).trim();
    let name = ASYNC.replace(name, ".$1");
    let name = LAMBDA.replace(&name, ".$1.<lambda>");
    let (module, function) = match name.rsplit_once('.') {
        Some((m, f)) => (Some(m.to_string()), f.to_string()),
        None => (None, name.to_string()),
    };
    Frame {
        function: Some(function),
        raw_function: Some(method.to_string()),
        module,
        filename: path.clone(),
        abs_path: path,
        lineno,
        ..Frame::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inner_exceptions() {
        let ex = parse(
            "System.InvalidOperationException: Save failed ---> System.NullReferenceException: Object reference not set to an instance of an object.\n   at Notes.Store.<SaveAsync>d__4.MoveNext() in /src/Store.cs:line 42\n   --- End of inner exception stack trace ---\n   at Notes.Api.Post(Note n) in /src/Api.cs:line 7\n   at System.Threading.Tasks.Task.Run()",
        );
        assert_eq!(ex.len(), 2);
        assert_eq!(ex[0].r#type.as_deref(), Some("System.NullReferenceException"));
        assert_eq!(ex[0].frames[0].function.as_deref(), Some("SaveAsync"));
        assert_eq!(ex[0].frames[0].module.as_deref(), Some("Notes.Store"));
        assert_eq!(ex[1].r#type.as_deref(), Some("System.InvalidOperationException"));
        assert_eq!(ex[1].frames.len(), 2);
        assert_eq!(ex[1].frames[1].function.as_deref(), Some("Post"));
    }
}
