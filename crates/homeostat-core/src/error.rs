//! Where a problem sits in an input, and the one error the core fails with: bad input
//! (exit code 2 in every binary). The `homeostat` library wraps it as `Error::Input`.

use std::fmt;

/// Where in an input a problem sits, as editors read it: `file:line:column` (1-based).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Position {
    pub file: String,
    pub line: Option<usize>,
    pub column: Option<usize>,
}

impl Position {
    pub fn file(file: impl Into<String>) -> Self {
        Self { file: file.into(), line: None, column: None }
    }
    pub fn line(file: impl Into<String>, line: usize) -> Self {
        Self { file: file.into(), line: Some(line), column: None }
    }
    pub fn at(file: impl Into<String>, line: usize, column: usize) -> Self {
        Self { file: file.into(), line: Some(line), column: Some(column) }
    }
    /// A position inside `text` at byte `offset`, counted in lines and characters.
    pub fn from_offset(file: impl Into<String>, text: &str, offset: usize) -> Self {
        let offset = offset.min(text.len());
        let before = text.get(..offset).unwrap_or(text);
        let line = before.matches('\n').count() + 1;
        let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
        Self::at(file, line, column)
    }
}

impl fmt::Display for Position {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.file)?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
            if let Some(column) = self.column {
                write!(f, ":{column}")?;
            }
        }
        Ok(())
    }
}

/// Bad usage, configuration or input. Exit code 2.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{at}: {message}")]
pub struct InputError {
    pub at: Position,
    pub message: String,
}

impl InputError {
    pub fn new(at: Position, message: impl Into<String>) -> Self {
        Self { at, message: message.into() }
    }
    /// The exit code every binary maps bad input to.
    pub fn exit_code(&self) -> u8 {
        2
    }
}

/// The core's result: the only way a pure engine fails is bad input.
pub type Result<T, E = InputError> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn position_from_offset_counts_lines_and_chars() {
        let text = "a: 1\nbé: x\n";
        let p = Position::from_offset("f.yml", text, text.find('x').unwrap());
        assert_eq!(p.to_string(), "f.yml:2:5");
    }

    #[test]
    fn input_errors_name_their_position_and_exit_2() {
        let e = InputError::new(Position::at("a.yml", 3, 4), "bad");
        assert_eq!((e.to_string().as_str(), e.exit_code()), ("a.yml:3:4: bad", 2));
    }
}
