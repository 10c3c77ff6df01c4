//! Parsing files people write (YAML, JSON) into typed values, with errors that name the
//! file, line and column. Every loader in the crate goes through here.

mod spans;

use serde::de::DeserializeOwned;

use crate::error::{InputError, Position, Result};
pub use spans::Spans;

/// Parses YAML into `T`; unknown keys are errors when `T` denies them.
pub fn yaml<T: DeserializeOwned>(file: &str, text: &str) -> Result<T> {
    yaml_depth(file, text)?;
    serde_yaml_ng::from_str(text).map_err(|e| yaml_error(file, &e))
}

/// Deepest `[`/`{` nesting, and deepest `- - -` run on one line, a YAML file may have.
pub const YAML_MAX_DEPTH: usize = 100;
/// Widest indentation, in columns (block nesting costs at least one column a level).
pub const YAML_MAX_INDENT: usize = 400;

/// Refuses YAML nested deeper than any configuration needs, in one linear pass before
/// the parser sees it: the parser's time grows with the square of the depth, so a
/// 100,000-level file would take minutes. Over-counts rather than under-counts (a quote
/// opens only where a scalar can start, so `don't [[[` cannot hide brackets).
pub fn yaml_depth(file: &str, text: &str) -> Result<()> {
    let (mut flow, mut quote, mut line, mut col) = (0usize, None::<char>, 1usize, 0usize);
    let (mut at_line_start, mut indent, mut dashes, mut prev) = (true, 0usize, 0usize, '\n');
    let mut in_comment = false;
    let too_deep = |line: usize, col: usize, what: &str| {
        Err(InputError::new(Position::at(file, line, col), format!("YAML nested too deep: {what}")))
    };
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        col += 1;
        if c == '\n' {
            (line, col, at_line_start, indent, dashes, in_comment) = (line + 1, 0, true, 0, 0, false);
            prev = c;
            continue;
        }
        if in_comment {
            continue;
        }
        if let Some(q) = quote {
            match c {
                '\\' if q == '"' => {
                    chars.next();
                    col += 1;
                }
                c if c == q => quote = None,
                _ => {}
            }
            prev = c;
            continue;
        }
        if at_line_start {
            match c {
                ' ' => indent += 1,
                '-' if chars.peek().is_some_and(|n| *n == ' ') => {
                    dashes += 1;
                    indent += 1;
                }
                _ => at_line_start = false,
            }
            if indent > YAML_MAX_INDENT {
                return too_deep(line, col, &format!("indented more than {YAML_MAX_INDENT} columns"));
            }
            if dashes > YAML_MAX_DEPTH {
                return too_deep(line, col, &format!("more than {YAML_MAX_DEPTH} sequence levels on one line"));
            }
            if at_line_start {
                prev = c;
                continue;
            }
        }
        let token_start = prev.is_whitespace() || matches!(prev, ':' | ',' | '[' | '{' | '-' | '?');
        match c {
            '#' if prev.is_whitespace() => in_comment = true,
            '\'' | '"' if token_start => quote = Some(c),
            '[' | '{' => {
                flow += 1;
                if flow > YAML_MAX_DEPTH {
                    return too_deep(line, col, &format!("more than {YAML_MAX_DEPTH} levels of [ ] or {{ }}"));
                }
            }
            ']' | '}' => flow = flow.saturating_sub(1),
            _ => {}
        }
        prev = c;
    }
    Ok(())
}

/// Turns a YAML error into an input error at its position.
pub fn yaml_error(file: &str, e: &serde_yaml_ng::Error) -> InputError {
    let at = match e.location() {
        Some(loc) => Position::at(file, loc.line(), loc.column()),
        None => Position::file(file),
    };
    // serde_yaml_ng appends "at line L column C" to its message; the position says it already.
    let message = e.to_string();
    let message = match message.find(" at line ") {
        Some(i) => message[..i].to_string(),
        None => message,
    };
    InputError::new(at, message)
}

/// Parses JSON into `T`.
pub fn json<T: DeserializeOwned>(file: &str, text: &str) -> Result<T> {
    serde_json::from_str(text).map_err(|e| json_error(file, &e))
}

/// Turns a JSON error into an input error at its position.
pub fn json_error(file: &str, e: &serde_json::Error) -> InputError {
    let message = e.to_string();
    let message = match message.find(" at line ") {
        Some(i) => message[..i].to_string(),
        None => message,
    };
    InputError::new(Position::at(file, e.line(), e.column()), message)
}

/// Splits a markdown file with YAML front matter (`---\n…\n---\n`) into the YAML and
/// the body; returns the line on which the YAML starts, for positions.
pub fn front_matter<'a>(file: &str, text: &'a str) -> Result<(&'a str, &'a str)> {
    let rest = text
        .strip_prefix("---\n")
        .or_else(|| text.strip_prefix("---\r\n"))
        .ok_or_else(|| InputError::new(Position::line(file, 1), "expected YAML front matter starting with `---`"))?;
    let mut offset = 0;
    for line in rest.split_inclusive('\n') {
        if line.trim_end() == "---" {
            return Ok((&rest[..offset], &rest[offset + line.len()..]));
        }
        offset += line.len();
    }
    Err(InputError::new(Position::line(file, 1), "front matter is not closed by a `---` line"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn yaml_nested_past_the_limit_is_refused_with_its_position() {
        let deep = format!("a: {}1{}", "[".repeat(101), "]".repeat(101));
        let err = yaml_depth("f.yml", &deep).unwrap_err().to_string();
        assert!(err.contains("f.yml:1:") && err.contains("too deep"), "{err}");
        assert!(yaml_depth("f.yml", &format!("{}x", "- ".repeat(101))).is_err());
        assert!(yaml_depth("f.yml", "a: 'don''t [[[' \nb: \"[[[\\\"\"\nc: [[1], {d: [2]}] # [[[[").is_ok());
        assert!(yaml_depth("f.yml", &format!("a: don't {}", "[".repeat(101))).is_err());
    }

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Small {
        name: String,
    }

    #[test]
    fn unknown_yaml_key_names_line_and_column() {
        let err = yaml::<Small>("c.yml", "name: a\nnmae: b\n").unwrap_err().to_string();
        assert!(err.starts_with("c.yml:2:1: unknown field `nmae`"), "{err}");
    }

    #[test]
    fn broken_json_names_position() {
        let err = json::<Small>("e.json", "{\"name\": }").unwrap_err().to_string();
        assert!(err.starts_with("e.json:1:10:"), "{err}");
    }

    #[test]
    fn front_matter_splits() {
        let (yaml, body) = front_matter("s.md", "---\na: 1\n---\n# Title\n").unwrap();
        assert_eq!(yaml, "a: 1\n");
        assert_eq!(body, "# Title\n");
        assert!(front_matter("s.md", "# no front matter").is_err());
    }
}
