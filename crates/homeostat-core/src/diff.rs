//! A change set as values: per file its status, added and deleted lines, the added lines'
//! text, and whether it is binary. Reading one from git is `homeostat::diff`.

use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum FileStatus {
    Added,
    Modified,
    Deleted,
    Renamed,
    Copied,
    Typechange,
}

/// One added line: its number in the new file and its text (lossy UTF-8, no newline).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AddedLine {
    pub line: u32,
    pub text: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FileChange {
    /// The path at head (at base for a deleted file).
    pub path: String,
    /// The path at base, for renames and copies.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub old_path: Option<String>,
    pub status: FileStatus,
    pub binary: bool,
    pub added: u64,
    pub deleted: u64,
    /// The file is empty at head but was not at base.
    pub emptied: bool,
    #[serde(skip)]
    pub added_lines: Vec<AddedLine>,
}

/// What `head` changes relative to its merge base with `base`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ChangeSet {
    pub base: String,
    pub head: String,
    pub merge_base: String,
    pub files: Vec<FileChange>,
}

impl ChangeSet {
    pub fn changed_lines(&self) -> u64 {
        self.files.iter().map(|f| f.added + f.deleted).sum()
    }
}
