//! One error type for the library, and the exit codes the binaries map it to.
//!
//! Exit codes (shared by every binary, as DESIGN.md says): 0 done; 1 the run failed
//! (network, API, git) after retries; 2 bad usage, config or input, with a message naming
//! the file and position; 3 a gating verdict the user asked to fail on.

use std::path::{Path, PathBuf};

pub use homeostat_core::error::{InputError, Position};

/// The forge (GitHub or the local forge) failed; `forge` re-exports it.
#[derive(Debug, thiserror::Error)]
pub enum ForgeError {
    #[error("{forge}: {what} failed with HTTP {status}: {message}")]
    Api { forge: &'static str, what: String, status: u16, message: String },
    #[error("{forge}: {what}: {message}")]
    Transport { forge: &'static str, what: String, message: String },
    #[error("{forge}: {what}: not found")]
    NotFound { forge: &'static str, what: String },
    /// A write built from a read failed in a way worth another try, after the wait the
    /// forge asked for: read again, then write again (never the same write resent).
    /// `may_have_landed`: a 5xx or a dropped connection, after which the write may have
    /// been made; not after a rate limit, which refuses before anything happens.
    #[error("{forge}: {what}: {message}")]
    ReadAgain { forge: &'static str, what: String, message: String, may_have_landed: bool },
    #[error("local forge {}: {message}", path.display())]
    Local { path: PathBuf, message: String },
    #[error("{0}")]
    Setup(String),
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
    Forge(#[from] ForgeError),
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
