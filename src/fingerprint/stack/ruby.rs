//! Ruby backtraces: `file:line:in 'method': message (Type)` then `from …` lines, and the
//! Rails log form `Type (message):` followed by frame lines.

use std::sync::LazyLock;

use regex::Regex;

use crate::event::{Exception, Frame};

static TRAILING_TYPE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^(.*?)\s*\(([A-Z][\w:]*)\)$").expect("ruby type regex"));
static RAILS_HEADER: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^([A-Z][\w:]*) \((.*)\):?$").expect("ruby rails header regex"));

pub fn parse(text: &str) -> Vec<Exception> {
    let mut ty = None;
    let mut value = None;
    let mut frames = Vec::new();
    for line in text.lines() {
        let trimmed = line.trim();
        if let Some((path, lineno, function, tail)) = ruby_frame(trimmed) {
            frames.push(Frame {
                function: Some(function.to_string()),
                filename: Some(path.to_string()),
                abs_path: Some(path.to_string()),
                lineno,
                ..Frame::default()
            });
            if frames.len() == 1
                && let Some(tail) = tail
            {
                match TRAILING_TYPE.captures(tail) {
                    Some(t) => {
                        value = t.get(1).map(|m| m.as_str().to_string());
                        ty = t.get(2).map(|m| m.as_str().to_string());
                    }
                    None => value = Some(tail.to_string()),
                }
            }
        } else if frames.is_empty()
            && ty.is_none()
            && let Some(c) = RAILS_HEADER.captures(trimmed)
        {
            ty = c.get(1).map(|m| m.as_str().to_string());
            value = c.get(2).map(|m| m.as_str().to_string());
        }
    }
    frames.reverse();
    vec![Exception { r#type: ty, value, frames, ..Exception::default() }]
}

/// `[from ]path:line:in 'method'[: message (Type)]` → (path, line, method, tail).
fn ruby_frame(line: &str) -> Option<(&str, Option<u64>, &str, Option<&str>)> {
    let line = line.strip_prefix("from ").unwrap_or(line);
    let line = match line.split_once(": from ") {
        Some((n, rest)) if n.bytes().all(|b| b.is_ascii_digit()) => rest,
        _ => line,
    };
    let (location, rest) = line.split_once(":in ")?;
    let (path, lineno) = location.rsplit_once(':')?;
    if path.is_empty() || path.contains(char::is_whitespace) {
        return None;
    }
    let rest = rest.strip_prefix(['`', '\''])?;
    let end = rest.find('\'')?;
    let tail = rest[end + 1..].strip_prefix(':').map(str::trim).filter(|t| !t.is_empty());
    Some((path, lineno.parse().ok(), &rest[..end], tail))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ruby_trace() {
        let ex = parse(
            "/app/models/note.rb:12:in 'Note#title': undefined method 'upcase' for nil (NoMethodError)\n\tfrom /app/controllers/notes_controller.rb:5:in 'block in create'\n\tfrom /usr/lib/ruby/gems/3.3.0/gems/actionpack-7.1/lib/x.rb:9:in 'call'",
        );
        let e = &ex[0];
        assert_eq!(e.r#type.as_deref(), Some("NoMethodError"));
        assert_eq!(e.value.as_deref(), Some("undefined method 'upcase' for nil"));
        assert_eq!(e.frames.len(), 3);
        assert_eq!(e.frames[2].function.as_deref(), Some("Note#title"));
        assert_eq!(e.frames[1].function.as_deref(), Some("block in create"));
    }
}
