//! The base..head change set through git2: per file its status (renames found), added and
//! deleted lines, the added lines' text, and whether it is binary. Merge-base aware: the
//! change is what `head` adds on top of where it forked from `base` (`git diff base...head`).

use std::path::Path;

use git2::{Delta, DiffFindOptions, DiffOptions, Oid, Patch, Repository};
use serde::Serialize;

use crate::error::{Error, Position, Result};

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

/// Opens the repository at `dir` (or above it); not being in one is bad input.
pub fn open(dir: &Path) -> Result<Repository> {
    Repository::discover(dir).map_err(|e| {
        Error::input(Position::file(dir.display().to_string()), format!("not a git repository: {}", e.message()))
    })
}

fn commit_of(repo: &Repository, which: &str, spec: &str) -> Result<Oid> {
    repo.revparse_single(spec).and_then(|o| o.peel_to_commit()).map(|c| c.id()).map_err(|e| {
        Error::input(Position::file(format!("--{which}")), format!("`{spec}` is not a commit here: {}", e.message()))
    })
}

/// The change set of `head` over its merge base with `base`.
pub fn change_set(repo: &Repository, base: &str, head: &str) -> Result<ChangeSet> {
    let base_id = commit_of(repo, "base", base)?;
    let head_id = commit_of(repo, "head", head)?;
    let merge_base = repo.merge_base(base_id, head_id).map_err(|e| {
        Error::input(Position::file("--base"), format!("`{base}` and `{head}` share no history: {}", e.message()))
    })?;
    let old_tree = repo.find_commit(merge_base)?.tree()?;
    let new_tree = repo.find_commit(head_id)?.tree()?;
    let mut opts = DiffOptions::new();
    opts.context_lines(0).ignore_submodules(true);
    let mut diff = repo.diff_tree_to_tree(Some(&old_tree), Some(&new_tree), Some(&mut opts))?;
    diff.find_similar(Some(DiffFindOptions::new().renames(true).copies(false)))?;

    let mut files = Vec::with_capacity(diff.deltas().len());
    for index in 0..diff.deltas().len() {
        let patch = Patch::from_diff(&diff, index)?;
        let Some(delta) = diff.get_delta(index) else { continue };
        let status = match delta.status() {
            Delta::Added | Delta::Untracked => FileStatus::Added,
            Delta::Deleted => FileStatus::Deleted,
            Delta::Renamed => FileStatus::Renamed,
            Delta::Copied => FileStatus::Copied,
            Delta::Typechange => FileStatus::Typechange,
            _ => FileStatus::Modified,
        };
        let path_of = |f: git2::DiffFile| f.path().map(|p| p.to_string_lossy().replace('\\', "/"));
        let new_path = path_of(delta.new_file());
        let old_path = path_of(delta.old_file());
        let path = if status == FileStatus::Deleted { old_path.clone() } else { new_path.clone() };
        let Some(path) = path.or_else(|| old_path.clone()) else { continue };
        let mut change = FileChange {
            old_path: matches!(status, FileStatus::Renamed | FileStatus::Copied).then(|| old_path.unwrap_or_default()),
            path,
            status,
            binary: delta.flags().is_binary(),
            added: 0,
            deleted: 0,
            emptied: false,
            added_lines: Vec::new(),
        };
        if let Some(patch) = patch {
            change.binary |= patch.delta().flags().is_binary();
            for hunk in 0..patch.num_hunks() {
                for l in 0..patch.num_lines_in_hunk(hunk)? {
                    let line = patch.line_in_hunk(hunk, l)?;
                    match line.origin() {
                        '+' => {
                            change.added += 1;
                            let text = String::from_utf8_lossy(line.content());
                            let text = text.strip_suffix('\n').unwrap_or(&text);
                            let text = text.strip_suffix('\r').unwrap_or(text);
                            change
                                .added_lines
                                .push(AddedLine { line: line.new_lineno().unwrap_or(0), text: text.to_string() });
                        }
                        '-' => change.deleted += 1,
                        _ => {}
                    }
                }
            }
        }
        if matches!(status, FileStatus::Modified | FileStatus::Renamed) && change.added == 0 && change.deleted > 0 {
            change.emptied = repo.find_blob(delta.new_file().id()).is_ok_and(|b| b.size() == 0);
        }
        files.push(change);
    }
    Ok(ChangeSet { base: base_id.to_string(), head: head_id.to_string(), merge_base: merge_base.to_string(), files })
}
