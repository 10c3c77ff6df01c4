//! Parsing files people write (YAML, JSON) into typed values, with errors that name the
//! file, line and column. Every loader in the crate goes through here.

use serde::de::DeserializeOwned;

use crate::error::{Error, Position, Result};

/// Parses YAML into `T`; unknown keys are errors when `T` denies them.
pub fn yaml<T: DeserializeOwned>(file: &str, text: &str) -> Result<T> {
    serde_yaml_ng::from_str(text).map_err(|e| yaml_error(file, &e))
}

/// Turns a YAML error into an input error at its position.
pub fn yaml_error(file: &str, e: &serde_yaml_ng::Error) -> Error {
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
    Error::input(at, message)
}

/// Parses JSON into `T`.
pub fn json<T: DeserializeOwned>(file: &str, text: &str) -> Result<T> {
    serde_json::from_str(text).map_err(|e| json_error(file, &e))
}

/// Turns a JSON error into an input error at its position.
pub fn json_error(file: &str, e: &serde_json::Error) -> Error {
    let message = e.to_string();
    let message = match message.find(" at line ") {
        Some(i) => message[..i].to_string(),
        None => message,
    };
    Error::input(Position::at(file, e.line(), e.column()), message)
}

/// Splits a markdown file with YAML front matter (`---\n…\n---\n`) into the YAML and
/// the body; returns the line on which the YAML starts, for positions.
pub fn front_matter<'a>(file: &str, text: &'a str) -> Result<(&'a str, &'a str)> {
    let rest = text
        .strip_prefix("---\n")
        .or_else(|| text.strip_prefix("---\r\n"))
        .ok_or_else(|| Error::input(Position::line(file, 1), "expected YAML front matter starting with `---`"))?;
    let mut offset = 0;
    for line in rest.split_inclusive('\n') {
        if line.trim_end() == "---" {
            return Ok((&rest[..offset], &rest[offset + line.len()..]));
        }
        offset += line.len();
    }
    Err(Error::input(Position::line(file, 1), "front matter is not closed by a `---` line"))
}

#[cfg(test)]
mod tests {
    use super::*;

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
