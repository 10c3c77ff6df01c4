//! The base..head change set through git2: per file its status (renames found), added and
//! deleted lines, the added lines' text, and whether it is binary. Merge-base aware: the
//! change is what `head` adds on top of where it forked from `base` (`git diff base...head`).

use std::path::Path;

use crate::error::{Error, Position, Result};
use git2::{Delta, DiffFindOptions, DiffOptions, Oid, Patch, Repository};

pub use homeostat_core::diff::{AddedLine, ChangeSet, FileChange, FileStatus};

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

/// Counts one file's added and deleted lines and keeps the added ones.
fn count_lines(repo: &Repository, change: &mut FileChange, old: Oid, new: Oid) -> Result<()> {
    // Submodules (commits) and absent sides have no blob.
    let blob = |id: Oid| if id.is_zero() { None } else { repo.find_blob(id).ok() };
    let (old_blob, new_blob) = (blob(old), blob(new));
    if old_blob.is_none() && new_blob.is_none() {
        return Ok(());
    }
    let mut opts = DiffOptions::new();
    opts.context_lines(0);
    let old_path = change.old_path.as_deref().unwrap_or(&change.path);
    let patch = Patch::from_buffers(
        old_blob.as_ref().map_or(&[][..], |b| b.content()),
        Some(Path::new(old_path)),
        new_blob.as_ref().map_or(&[][..], |b| b.content()),
        Some(Path::new(&change.path)),
        Some(&mut opts),
    )?;
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
                    change.added_lines.push(AddedLine { line: line.new_lineno().unwrap_or(0), text: text.to_string() });
                }
                '-' => change.deleted += 1,
                _ => {}
            }
        }
    }
    if matches!(change.status, FileStatus::Modified | FileStatus::Renamed) && change.added == 0 && change.deleted > 0 {
        change.emptied = new_blob.as_ref().is_some_and(|b| b.size() == 0);
    }
    Ok(())
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
    // A rename pairs a deletion with an addition: without both there is nothing to find
    // (and libgit2's search is not free on large diffs).
    let has = |status: Delta| diff.deltas().any(|d| d.status() == status);
    if has(Delta::Added) && has(Delta::Deleted) {
        diff.find_similar(Some(DiffFindOptions::new().renames(true).copies(false)))?;
    }

    // The tree diff names the files; their lines are counted from blob pairs, in
    // parallel (one repository handle per thread: git2 handles are not shared).
    let mut files = Vec::with_capacity(diff.deltas().len());
    let mut pairs = Vec::with_capacity(diff.deltas().len());
    for delta in diff.deltas() {
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
        files.push(FileChange {
            old_path: matches!(status, FileStatus::Renamed | FileStatus::Copied).then(|| old_path.unwrap_or_default()),
            path,
            status,
            binary: delta.flags().is_binary(),
            added: 0,
            deleted: 0,
            emptied: false,
            added_lines: Vec::new(),
        });
        pairs.push((delta.old_file().id(), delta.new_file().id()));
    }
    let listed = std::time::Instant::now();
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get()).clamp(1, 8);
    let chunk = files.len().div_ceil(threads).max(256);
    let git_dir = repo.path().to_path_buf();
    std::thread::scope(|scope| -> Result<()> {
        let workers: Vec<_> = files
            .chunks_mut(chunk)
            .zip(pairs.chunks(chunk))
            .map(|(files, pairs)| {
                let git_dir = &git_dir;
                scope.spawn(move || -> Result<()> {
                    let repo = Repository::open(git_dir)?;
                    for (file, (old, new)) in files.iter_mut().zip(pairs) {
                        count_lines(&repo, file, *old, *new)?;
                    }
                    Ok(())
                })
            })
            .collect();
        for worker in workers {
            worker.join().map_err(|_| Error::Git("a diff worker panicked".into()))??;
        }
        Ok(())
    })?;
    tracing::debug!(
        files = files.len(),
        threads,
        lines_ms = listed.elapsed().as_secs_f64() * 1e3,
        "diff: blob pairs counted"
    );
    Ok(ChangeSet { base: base_id.to_string(), head: head_id.to_string(), merge_base: merge_base.to_string(), files })
}
