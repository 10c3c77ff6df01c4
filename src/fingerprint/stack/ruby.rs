//! Ruby backtraces: `file:line:in 'method': message (Type)` then `from …` lines, and the
//! Rails log form `Type (message):` followed by frame lines.

use std::sync::LazyLock;

use regex::Regex;

use crate::event::{Exception, Frame};

static FRAME: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^\s*(?:from\s+|\d+:\s+from\s+)?([^\s:][^:]*?):(\d+):in [`'](.*?)'(?::\s*(.*))?$")
        .expect("ruby frame regex")
});
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
        if let Some(c) = FRAME.captures(line) {
            let path = c.get(1).map(|m| m.as_str().to_string());
            frames.push(Frame {
                function: c.get(3).map(|m| m.as_str().to_string()),
                filename: path.clone(),
                abs_path: path,
                lineno: c.get(2).and_then(|m| m.as_str().parse().ok()),
                ..Frame::default()
            });
            if frames.len() == 1
                && let Some(tail) = c.get(4)
            {
                match TRAILING_TYPE.captures(tail.as_str()) {
                    Some(t) => {
                        value = t.get(1).map(|m| m.as_str().to_string());
                        ty = t.get(2).map(|m| m.as_str().to_string());
                    }
                    None => value = Some(tail.as_str().to_string()),
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
