//! Running the `git` command for what git2 does not do for us: fetch and push.
//!
//! In Actions the checkout's remote needs the job's token. It is handed to git through
//! `GIT_CONFIG_*` environment variables of the child process (an `http.extraHeader`, as
//! actions/checkout does), so it is never written to disk, never on a command line, and
//! never in homeostat's logs.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use base64::Engine as _;

use crate::error::{Error, Result};
use crate::gha::Env;

/// A `git -C <dir>` command that can reach the remote with the job's token when there is one.
pub fn command(dir: &Path, env: &Env) -> Command {
    let mut cmd = Command::new("git");
    cmd.arg("-C").arg(dir);
    // Never prompt: a missing credential is an error, not a hung job.
    cmd.env("GIT_TERMINAL_PROMPT", "0");
    if let Some(token) = env.token() {
        let server = env.get(crate::gha::vars::GITHUB_SERVER_URL).unwrap_or("https://github.com");
        let basic = base64::engine::general_purpose::STANDARD.encode(format!("x-access-token:{token}"));
        let key = format!("http.{}/.extraheader", server.trim_end_matches('/'));
        // An empty value first clears any header a checkout with `persist-credentials: true`
        // left in .git/config: two Authorization headers make GitHub answer 400.
        cmd.env("GIT_CONFIG_COUNT", "2")
            .env("GIT_CONFIG_KEY_0", &key)
            .env("GIT_CONFIG_VALUE_0", "")
            .env("GIT_CONFIG_KEY_1", &key)
            .env("GIT_CONFIG_VALUE_1", format!("AUTHORIZATION: basic {basic}"));
    }
    cmd
}

/// Runs a git command; a non-zero exit is an error carrying git's own message.
pub fn run(dir: &Path, env: &Env, args: &[&str]) -> Result<Output> {
    let out = command(dir, env).args(args).output().map_err(|e| Error::Git(format!("cannot run git: {e}")))?;
    if out.status.success() {
        Ok(out)
    } else {
        let what = args.first().copied().unwrap_or("git");
        Err(Error::Git(format!("git {what}: {}", String::from_utf8_lossy(&out.stderr).trim())))
    }
}

/// Pushes `local` (a commit or ref) to `refs/heads/<branch>` on `remote`.
pub fn push(dir: &Path, env: &Env, remote: &str, local: &str, branch: &str, force: bool) -> Result<()> {
    let refspec = format!("{}{local}:refs/heads/{branch}", if force { "+" } else { "" });
    run(dir, env, &["push", "--quiet", "--no-verify", remote, &refspec]).map(drop)
}

/// The commit `refs/heads/<branch>` points to on `remote`, if the branch exists there.
pub fn remote_head(dir: &Path, env: &Env, remote: &str, branch: &str) -> Result<Option<String>> {
    let out = run(dir, env, &["ls-remote", "--heads", remote, &format!("refs/heads/{branch}")])?;
    Ok(String::from_utf8_lossy(&out.stdout).split_whitespace().next().map(str::to_string))
}

/// Paths homeostat keeps in a checkout (local forge, ledger); never part of a fix.
pub const OWN_DIR: &str = ".homeostat/";

/// A checkout and the remote it pushes to.
#[derive(Debug, Clone)]
pub struct Checkout {
    pub dir: PathBuf,
    pub remote: String,
    /// What `crate::git::command` reads: the job's token and server URL, if any.
    pub env: Env,
}

impl Checkout {
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self { dir: dir.into(), remote: "origin".into(), env: Env::default() }
    }

    /// Reaches the remote with the job's token (`crate::git::command`): handed to git
    /// through `GIT_CONFIG_*` variables of homeostat's own git commands only — never on
    /// disk, never in an argv, never in the agent's environment.
    pub fn with_token(mut self, server_url: &str, token: &str) -> Self {
        self.env = Env::from_pairs([
            (crate::gha::vars::GITHUB_TOKEN, token),
            (crate::gha::vars::GITHUB_SERVER_URL, server_url),
        ]);
        self
    }

    pub fn repo(&self) -> Result<git2::Repository> {
        Ok(git2::Repository::open(&self.dir)?)
    }

    pub(crate) fn git(&self, args: &[&str]) -> Result<Output> {
        command(&self.dir, &self.env)
            .args(["-c", "core.hooksPath=/dev/null"])
            .args(args)
            .output()
            .map_err(|e| Error::Git(format!("cannot run git: {e}")))
    }

    pub(crate) fn git_ok(&self, args: &[&str]) -> Result<String> {
        let out = self.git(args)?;
        if !out.status.success() {
            return Err(Error::Git(format!(
                "git {}: {}",
                args.first().copied().unwrap_or_default(),
                String::from_utf8_lossy(&out.stderr).trim()
            )));
        }
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    }

    /// Every branch head on the remote, read from the remote itself.
    pub fn remote_heads(&self) -> Result<BTreeMap<String, String>> {
        let text = self.git_ok(&["ls-remote", "--heads", &self.remote])?;
        Ok(text
            .lines()
            .filter_map(|l| {
                let (sha, name) = l.split_once('\t')?;
                Some((name.strip_prefix("refs/heads/")?.to_string(), sha.to_string()))
            })
            .collect())
    }

    /// The commit a remote branch points at, read from the remote.
    pub fn remote_head(&self, branch: &str) -> Result<Option<String>> {
        Ok(self.remote_heads()?.remove(branch))
    }

    /// Fetches `branch` into `refs/remotes/<remote>/<branch>` and returns its commit.
    pub fn fetch(&self, branch: &str) -> Result<git2::Oid> {
        let refspec = format!("+refs/heads/{branch}:refs/remotes/{}/{branch}", self.remote);
        self.git_ok(&["fetch", "--quiet", "--no-tags", &self.remote, &refspec])?;
        let repo = self.repo()?;
        let oid = repo.refname_to_id(&format!("refs/remotes/{}/{branch}", self.remote))?;
        Ok(oid)
    }

    /// Checks out a local `branch` at `start`, discarding nothing: a dirty work tree is an error.
    pub fn switch(&self, branch: &str, start: git2::Oid) -> Result<()> {
        self.git_ok(&["checkout", "--quiet", "-B", branch, &start.to_string()])?;
        Ok(())
    }

    /// Whether the agent changed anything: a commit of its own or a changed file.
    pub fn has_changes(&self, start: git2::Oid) -> Result<bool> {
        let repo = self.repo()?;
        if repo.head()?.peel_to_commit()?.id() != start {
            return Ok(true);
        }
        let mut opts = git2::StatusOptions::new();
        opts.include_untracked(true).recurse_untracked_dirs(true).include_ignored(false);
        let statuses = repo.statuses(Some(&mut opts))?;
        Ok(statuses.iter().any(|s| s.path().is_ok_and(|p| !p.starts_with(OWN_DIR))))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_token_goes_to_the_child_environment_only() {
        let env = Env::from_pairs([("GITHUB_TOKEN", "ghs_secret")]);
        let cmd = command(Path::new("."), &env);
        let args: Vec<String> = cmd.get_args().map(|a| a.to_string_lossy().into_owned()).collect();
        assert!(args.iter().all(|a| !a.contains("ghs_secret") && !a.contains("extraheader")));
        let envs: Vec<(String, String)> = cmd
            .get_envs()
            .filter_map(|(k, v)| Some((k.to_string_lossy().into_owned(), v?.to_string_lossy().into_owned())))
            .collect();
        let value_of = |name: &str| envs.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str());
        assert_eq!(value_of("GIT_CONFIG_VALUE_0"), Some(""), "the persisted header is cleared first");
        let value = value_of("GIT_CONFIG_VALUE_1").unwrap();
        assert!(value.starts_with("AUTHORIZATION: basic "));
        assert!(!value.contains("ghs_secret"), "the token is encoded, as git sends it");
    }

    #[test]
    fn push_and_remote_head_against_a_bare_repository() {
        let dir = tempfile::tempdir().unwrap();
        let env = Env::default();
        let remote = dir.path().join("remote.git");
        let work = dir.path().join("work");
        std::fs::create_dir_all(&remote).unwrap();
        std::fs::create_dir_all(&work).unwrap();
        run(&remote, &env, &["init", "--bare", "--quiet"]).unwrap();
        run(&work, &env, &["init", "--quiet"]).unwrap();
        run(&work, &env, &["-c", "user.name=t", "-c", "user.email=t@e", "commit", "--allow-empty", "-qm", "x"])
            .unwrap();
        run(&work, &env, &["remote", "add", "origin", remote.to_str().unwrap()]).unwrap();
        assert_eq!(remote_head(&work, &env, "origin", "feature").unwrap(), None);
        push(&work, &env, "origin", "HEAD", "feature", false).unwrap();
        let head = String::from_utf8(run(&work, &env, &["rev-parse", "HEAD"]).unwrap().stdout).unwrap();
        assert_eq!(remote_head(&work, &env, "origin", "feature").unwrap().as_deref(), Some(head.trim()));
    }
}
