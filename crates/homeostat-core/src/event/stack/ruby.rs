//! Ruby backtraces: `file:line:in 'method': message (Type)` then `from …` lines, and the
//! Rails log form `Type (message):` followed by frame lines.

use std::sync::LazyLock;

use regex::Regex;

use crate::event::{Exception, Frame};

/// What [`trailing_type`] reads, as a regular expression (`\w` and `\s` are Unicode).
#[cfg(test)]
const TRAILING_TYPE_GRAMMAR: &str = r"^(.*?)\s*\(([A-Z][\w:]*)\)$";
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
                function: (!function.is_empty()).then(|| function.to_string()),
                filename: Some(path.to_string()),
                abs_path: Some(path.to_string()),
                lineno,
                ..Frame::default()
            });
            if frames.len() == 1
                && let Some(tail) = tail
            {
                match trailing_type(tail) {
                    Some((message, name)) => {
                        value = Some(message.to_string());
                        ty = Some(name.to_string());
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

/// `message (Type)` → (`message`, `Type`); hand-written for speed, reading exactly what
/// [`TRAILING_TYPE_GRAMMAR`] does, which a test checks.
fn trailing_type(tail: &str) -> Option<(&str, &str)> {
    let inner = tail.strip_suffix(')')?;
    // The type has no parentheses, so it opens at the last `(`.
    let open = inner.rfind('(')?;
    let name = &inner[open + 1..];
    let mut chars = name.chars();
    let named = chars.next().is_some_and(|c| c.is_ascii_uppercase())
        && chars.all(|c| c == ':' || regex_syntax::is_word_character(c));
    let message = inner[..open].trim_end_matches(char::is_whitespace);
    (named && !message.contains('\n')).then_some((message, name))
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
    fn trailing_type_agrees_with_its_grammar() {
        // Every combination of the parts of a message with a type, right and wrong.
        let parts: [&[&str]; 6] = [
            &["", "undefined method", "a (B) c", "x\ny", "(", "é"],
            &["", " ", "\t", "\u{2003}", "  ", "\n", " \n "],
            &["(", "", "((", ")("],
            &["NoMethodError", "", "noMethod", "A::B", "Ab\u{0301}", "A b", "A(", "Ü", "A-b"],
            &[")", "", "))", ") "],
            &["", "\n", "x"],
        ];
        crate::event::stack::assert_reads_like(TRAILING_TYPE_GRAMMAR, &parts, trailing_type);
    }

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
