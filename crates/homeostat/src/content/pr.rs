//! One branch and one pull request per run: git2 builds the commit from HEAD plus the
//! run's files (the working tree and index are left alone), the `git` command pushes it
//! (in Actions the checkout already holds the credentials; homeostat writes no token),
//! and the forge opens the pull request or updates the open one for that branch.

use std::path::Path;

use serde::Serialize;

use crate::error::{Error, Result};
use crate::forge::{Forge, NewPull, PullUpdate, StateFilter};

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
}

/// Commits `files` on top of HEAD to `branch`, pushes it and opens (or updates) its PR.
pub async fn propose(target: &Target<'_>, files: &[FileChange], forge: &dyn Forge) -> Result<Proposal> {
    let commit = commit(target.repo_dir, target.branch, target.message, files)?;
    // The run's own branch: a re-run replaces it.
    crate::git::push(target.repo_dir, target.env, target.remote, &commit, target.branch, true)?;
    let base = forge.default_branch().await?;
    let open = forge.list_pulls(StateFilter::Open).await?.into_iter().find(|p| p.head == target.branch);
    let (pr, updated) = match open {
        Some(p) => {
            let update = PullUpdate { title: Some(target.title.into()), body: Some(target.body.into()), state: None };
            (forge.update_pull(p.number, &update).await?, true)
        }
        None => {
            let new = NewPull {
                title: target.title.into(),
                body: target.body.into(),
                head: target.branch.into(),
                base,
                draft: false,
            };
            (forge.create_pull(&new).await?, false)
        }
    };
    // A run that cannot show its PR exists did not propose anything.
    let check = forge.get_pull(pr.number).await?;
    if check.head != target.branch {
        return Err(Error::Failed(format!("PR #{} does not point at {}", pr.number, target.branch)));
    }
    Ok(Proposal { branch: target.branch.into(), commit, pr: pr.number, url: pr.url, updated })
}

/// Builds the commit (HEAD's tree plus `files`) and points `refs/heads/<branch>` at it.
pub fn commit(repo_dir: &Path, branch: &str, message: &str, files: &[FileChange]) -> Result<String> {
    let repo = git2::Repository::open(repo_dir)?;
    let head = repo.head()?.peel_to_commit()?;
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
