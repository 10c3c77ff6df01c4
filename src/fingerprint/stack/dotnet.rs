//! .NET exception text: `Type: message ---> Inner: message`, frames `at N.C.M(args) in
//! file:line N`, and `--- End of inner exception stack trace ---`.

use std::sync::LazyLock;

use regex::Regex;

use super::split_header;
use crate::event::{Exception, Frame};

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
        if let Some(body) = trimmed.strip_prefix("at ") {
            // `N.C.M(args) in /path/File.cs:line 42`, the location optional.
            let (method, path, lineno) = match body.rsplit_once(" in ") {
                Some((m, loc)) if loc.contains(":line ") => {
                    let (p, l) = loc.rsplit_once(":line ").unwrap_or((loc, ""));
                    (m, Some(p.to_string()), l.trim().parse().ok())
                }
                _ => (body, None, None),
            };
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
    let mut out = Vec::with_capacity(headers.len());
    for (i, (ty, value)) in headers.into_iter().rev().enumerate() {
        // i = 0 is the innermost exception; it owns the first segment.
        let mut frames = if i < segments.len() { std::mem::take(&mut segments[i]) } else { Vec::new() };
        frames.reverse();
        out.push(Exception { r#type: ty, value, frames, ..Exception::default() });
    }
    out
}

fn dotnet_frame(method: &str, path: Option<String>, lineno: Option<u64>) -> Frame {
    let name = method.find('(').map_or(method, |i| &method[..i]).trim();
    let name = if name.contains(">d__") { ASYNC.replace(name, ".$1") } else { name.into() };
    let name =
        if name.contains("<>c") { LAMBDA.replace(&name, ".$1.<lambda>").into_owned() } else { name.into_owned() };
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
