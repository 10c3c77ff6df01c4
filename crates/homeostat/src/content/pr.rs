//! One branch and one pull request per batch: git2 builds the commit from a parent plus
//! the run's files (the working tree and index are left alone), the `git` command pushes
//! it (in Actions the checkout already holds the credentials; homeostat writes no token),
//! and the forge opens the pull request or updates the open one for that branch.
//!
//! A standing branch ([`Mode::Replace`], publish's) is rebuilt from HEAD each run. A
//! batch's branch ([`Mode::Batch`], generate's: one per ISO week) keeps what earlier runs
//! of the batch pushed: a run adds its files on top of the branch, pushes without force,
//! and a run with nothing new opens the pull request a failed run left unopened. Only a
//! batch already reviewed (its pull request merged or closed) starts again from HEAD.

use std::path::Path;

use serde::Serialize;

use crate::error::{Error, Result};
use crate::forge::{Forge, NewPull, PullRequest, PullUpdate, StateFilter};

/// A file of the change, by its path in the repository (`/`-separated).
#[derive(Debug, Clone)]
pub struct FileChange {
    pub path: String,
    pub bytes: Vec<u8>,
}

/// What [`propose`] did.
#[derive(Debug, Clone, Serialize)]
pub struct Proposal {
    pub branch: String,
    pub commit: String,
    pub pr: u64,
    pub url: String,
    pub updated: bool,
}

/// How a run treats the branch's earlier commits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Rebuilt from HEAD and force-pushed (a standing branch whose content is derived).
    Replace,
    /// Built on: an unreviewed batch is never force-pushed away.
    Batch,
}

/// Where and how to propose.
pub struct Target<'a> {
    pub repo_dir: &'a Path,
    pub remote: &'a str,
    pub branch: &'a str,
    pub title: &'a str,
    pub body: &'a str,
    pub message: &'a str,
    /// The environment git runs with (the job's token, when there is one).
    pub env: &'a crate::gha::Env,
    pub mode: Mode,
}

/// What the forge and the remote hold for the branch before the run writes.
pub struct Prepared {
    /// The default branch (the pull request's base).
    pub base: String,
    /// The open pull request from the branch.
    pub open: Option<PullRequest>,
    /// The remote branch's tip to build on (an unreviewed batch), else HEAD is the parent.
    pub parent: Option<git2::Oid>,
}

/// Reads the default branch, the branch's open pull request and, for a batch, its remote tip.
pub async fn prepare(target: &Target<'_>, forge: &dyn Forge) -> Result<Prepared> {
    let base = forge.default_branch().await?;
    let open = find(forge, target.branch, StateFilter::Open).await?;
    let mut parent = None;
    if target.mode == Mode::Batch
        && crate::git::remote_head(target.repo_dir, target.env, target.remote, target.branch)?.is_some()
    {
        let reviewed = open.is_none() && find(forge, target.branch, StateFilter::Closed).await?.is_some();
        if !reviewed {
            parent = Some(fetch(target)?);
        }
    }
    Ok(Prepared { base, open, parent })
}

async fn find(forge: &dyn Forge, branch: &str, state: StateFilter) -> Result<Option<PullRequest>> {
    let repo = forge.repo();
    let ours = |p: &PullRequest| p.head_repo.is_empty() || p.head_repo.eq_ignore_ascii_case(&repo);
    Ok(forge.list_pulls(state).await?.into_iter().find(|p| p.head == branch && ours(p)))
}

/// Fetches the remote branch and returns its tip.
fn fetch(target: &Target<'_>) -> Result<git2::Oid> {
    let local = format!("refs/remotes/{}/{}", target.remote, target.branch);
    let refspec = format!("+refs/heads/{}:{local}", target.branch);
    crate::git::run(target.repo_dir, target.env, &["fetch", "--quiet", "--no-tags", target.remote, &refspec])?;
    Ok(git2::Repository::open(target.repo_dir)?.refname_to_id(&local)?)
}

impl Prepared {
    /// A batch an earlier run pushed whose pull request was never opened.
    pub fn unproposed(&self) -> bool {
        self.parent.is_some() && self.open.is_none()
    }

    /// Commits `files` on the batch's tip (else HEAD) and pushes: without force on a batch.
    pub fn push(&self, target: &Target<'_>, files: &[FileChange]) -> Result<String> {
        let commit = commit(target.repo_dir, self.parent, target.branch, target.message, files)?;
        let force = self.parent.is_none();
        crate::git::push(target.repo_dir, target.env, target.remote, &commit, target.branch, force)?;
        Ok(commit)
    }

    /// Opens the branch's pull request or updates the open one, then re-reads it: a run
    /// that cannot show its PR exists did not propose anything.
    pub async fn open_or_update(&self, target: &Target<'_>, forge: &dyn Forge, commit: &str) -> Result<Proposal> {
        let (pr, updated) = match &self.open {
            Some(p) => {
                let update =
                    PullUpdate { title: Some(target.title.into()), body: Some(target.body.into()), state: None };
                (forge.update_pull(p.number, &update).await?, true)
            }
            None => {
                let new = NewPull {
                    title: target.title.into(),
                    body: target.body.into(),
                    head: target.branch.into(),
                    base: self.base.clone(),
                    draft: false,
                };
                (forge.create_pull(&new).await?, false)
            }
        };
        let check = forge.get_pull(pr.number).await?;
        if check.head != target.branch {
            return Err(Error::Failed(format!("PR #{} does not point at {}", pr.number, target.branch)));
        }
        Ok(Proposal { branch: target.branch.into(), commit: commit.into(), pr: pr.number, url: pr.url, updated })
    }
}

/// Commits `files`, pushes the branch and opens (or updates) its PR.
pub async fn propose(target: &Target<'_>, files: &[FileChange], forge: &dyn Forge) -> Result<Proposal> {
    let prepared = prepare(target, forge).await?;
    let commit = prepared.push(target, files)?;
    prepared.open_or_update(target, forge, &commit).await
}

/// Builds the commit (`parent`'s tree, else HEAD's, plus `files`) and points
/// `refs/heads/<branch>` at it.
pub fn commit(
    repo_dir: &Path,
    parent: Option<git2::Oid>,
    branch: &str,
    message: &str,
    files: &[FileChange],
) -> Result<String> {
    let repo = git2::Repository::open(repo_dir)?;
    let head = match parent {
        Some(oid) => repo.find_commit(oid)?,
        None => repo.head()?.peel_to_commit()?,
    };
    let mut index = git2::Index::new()?;
    index.read_tree(&head.tree()?)?;
    for file in files {
        let oid = repo.blob(&file.bytes)?;
        let entry = git2::IndexEntry {
            ctime: git2::IndexTime::new(0, 0),
            mtime: git2::IndexTime::new(0, 0),
            dev: 0,
            ino: 0,
            mode: 0o100644,
            uid: 0,
            gid: 0,
            file_size: u32::try_from(file.bytes.len()).unwrap_or(u32::MAX),
            id: oid,
            flags: 0,
            flags_extended: 0,
            path: file.path.as_bytes().to_vec(),
        };
        index.add(&entry)?;
    }
    let tree = repo.find_tree(index.write_tree_to(&repo)?)?;
    let sig = git2::Signature::now("homeostat[bot]", "homeostat[bot]@users.noreply.github.com")?;
    let oid = repo.commit(None, &sig, &sig, message, &tree, &[&head])?;
    repo.reference(&format!("refs/heads/{branch}"), oid, true, "homeostat: content run")?;
    Ok(oid.to_string())
}
