//! One error type for the library, and the exit codes the binaries map it to.
//!
//! Exit codes (shared by every binary, as DESIGN.md says): 0 done; 1 the run failed
//! (network, API, git) after retries; 2 bad usage, config or input, with a message naming
//! the file and position; 3 a gating verdict the user asked to fail on.

use std::fmt;
use std::path::{Path, PathBuf};

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
}

/// Everything the library can fail with.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Bad usage, config or input (exit 2).
    #[error(transparent)]
    Input(#[from] InputError),
    /// A file or stream could not be read or written (exit 1).
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The forge (GitHub or the local forge) failed after retries (exit 1).
    #[error(transparent)]
    Forge(#[from] crate::forge::ForgeError),
    /// A git operation failed (exit 1).
    #[error("git: {0}")]
    Git(String),
    /// A gate the user asked for said no (exit 3).
    #[error("{0}")]
    Gate(String),
    /// Anything else that made the run fail (exit 1).
    #[error("{0}")]
    Failed(String),
}

impl Error {
    pub fn io(path: impl AsRef<Path>, source: std::io::Error) -> Self {
        Self::Io { path: path.as_ref().to_path_buf(), source }
    }
    pub fn input(at: Position, message: impl Into<String>) -> Self {
        Self::Input(InputError::new(at, message))
    }
    pub fn exit_code(&self) -> u8 {
        match self {
            Self::Input(_) => 2,
            Self::Gate(_) => 3,
            Self::Io { .. } | Self::Forge(_) | Self::Git(_) | Self::Failed(_) => 1,
        }
    }
}

impl From<git2::Error> for Error {
    fn from(e: git2::Error) -> Self {
        Self::Git(e.message().to_string())
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Reads a whole (small) file a user named; a missing file is bad input, not a failed run.
pub fn read_to_string(path: &Path) -> Result<String> {
    std::fs::read_to_string(path).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound | std::io::ErrorKind::InvalidData => {
            Error::input(Position::file(path.display().to_string()), e.to_string())
        }
        _ => Error::io(path, e),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn position_from_offset_counts_lines_and_chars() {
        let text = "a: 1\nbé: x\n";
        let p = Position::from_offset("f.yml", text, text.find('x').unwrap());
        assert_eq!(p.to_string(), "f.yml:2:5");
    }
}
