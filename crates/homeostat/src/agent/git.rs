//! The checkout: fetch, branch, the bot's commit (git2), push (the `git` command, which
//! in Actions holds the checkout's credentials), and reading files from the default
//! branch rather than from the work tree an agent may have edited.
//!
//! Every `git` command homeostat runs after the agent ignores hooks
//! (`core.hooksPath=/dev/null`, `--no-verify`): the agent could have written one.

use std::path::{Path, PathBuf};

use super::config::BotIdentity;
use crate::error::{Error, Result};

pub use crate::git::{Checkout, OWN_DIR};

impl Checkout {
    /// Commits everything the agent changed as one commit by the bot on top of `start`
    /// (the agent's own commits, if any, are folded in), with `Co-authored-by` the person
    /// who asked. Returns the new commit.
    pub fn commit(&self, branch: &str, start: git2::Oid, bot: &BotIdentity, message: &str) -> Result<git2::Oid> {
        let repo = self.repo()?;
        let mut index = repo.index()?;
        let mut skip_own =
            |path: &Path, _: &[u8]| -> i32 { i32::from(path.starts_with(OWN_DIR.trim_end_matches('/'))) };
        index.add_all(["*"], git2::IndexAddOption::DEFAULT, Some(&mut skip_own))?;
        index.update_all(["*"], Some(&mut skip_own))?;
        index.write()?;
        let tree = repo.find_tree(index.write_tree()?)?;
        let parent = repo.find_commit(start)?;
        let sig = git2::Signature::now(&bot.name, &bot.email)?;
        let oid = repo.commit(None, &sig, &sig, message, &tree, &[&parent])?;
        repo.reference(&format!("refs/heads/{branch}"), oid, true, "homeostat: agent fix")?;
        Ok(oid)
    }

    /// Whether every commit in `base..head` is authored by the bot.
    pub fn only_bot_commits(&self, base: git2::Oid, head: git2::Oid, bot: &BotIdentity) -> Result<bool> {
        let repo = self.repo()?;
        let mut walk = repo.revwalk()?;
        walk.push(head)?;
        walk.hide(base)?;
        for oid in walk {
            let commit = repo.find_commit(oid?)?;
            if commit.author().email().ok() != Some(bot.email.as_str()) {
                return Ok(false);
            }
        }
        Ok(true)
    }

    pub fn merge_base(&self, a: git2::Oid, b: git2::Oid) -> Result<git2::Oid> {
        Ok(self.repo()?.merge_base(a, b)?)
    }

    /// Pushes `commit` to `branch`. With `lease`, replaces the remote branch only if it
    /// still points at that commit (never a blind force).
    pub fn push(&self, commit: git2::Oid, branch: &str, lease: Option<&str>) -> Result<()> {
        let refspec = format!("{commit}:refs/heads/{branch}");
        let lease_arg = lease.map(|sha| format!("--force-with-lease=refs/heads/{branch}:{sha}"));
        let mut args = vec!["push", "--quiet", "--no-verify"];
        if let Some(l) = &lease_arg {
            args.push(l);
        }
        args.extend([self.remote.as_str(), refspec.as_str()]);
        self.git_ok(&args)?;
        Ok(())
    }

    /// A file as it is on the remote's default branch (not the work tree).
    pub fn read_at(&self, commit: git2::Oid, path: &str) -> Result<Option<Vec<u8>>> {
        let repo = self.repo()?;
        let tree = repo.find_commit(commit)?.tree()?;
        let Ok(entry) = tree.get_path(Path::new(path)) else { return Ok(None) };
        let Ok(blob) = repo.find_blob(entry.id()) else { return Ok(None) };
        Ok(Some(blob.content().to_vec()))
    }

    /// Every file path in a commit's tree.
    pub fn files_at(&self, commit: git2::Oid) -> Result<Vec<String>> {
        let repo = self.repo()?;
        let tree = repo.find_commit(commit)?.tree()?;
        let mut out = Vec::new();
        tree.walk(git2::TreeWalkMode::PreOrder, |dir, entry| {
            if entry.kind() == Some(git2::ObjectType::Blob)
                && let Ok(name) = entry.name()
            {
                out.push(format!("{dir}{name}"));
            }
            git2::TreeWalkResult::Ok
        })?;
        Ok(out)
    }

    /// Points the remote's push URL nowhere until the guard drops, so an agent that
    /// obeys "push to main" cannot push through the checkout's remote. On drop the
    /// repository's `.git/config` is restored byte for byte, undoing whatever the agent
    /// changed there too (remote URLs, `insteadOf`, filters, hooks paths).
    pub fn disable_push(&self) -> Result<PushDisabled> {
        let config = self.repo()?.path().join("config");
        let saved = std::fs::read(&config).map_err(|e| Error::io(&config, e))?;
        // Credentials a checkout may keep (actions/checkout's persisted `extraheader`, an
        // included credentials file, a token in a remote URL) are gone while the agent runs.
        let clean = without_credentials(&String::from_utf8_lossy(&saved));
        std::fs::write(&config, clean).map_err(|e| Error::io(&config, e))?;
        self.git_ok(&["config", &format!("remote.{}.pushurl", self.remote), "homeostat-agent-may-not-push:/"])?;
        Ok(PushDisabled { config, saved })
    }
}

/// A git config without the lines that can carry a credential: `extraheader`, the
/// `path` of an `[includeIf]` or `[include]` section, a URL with a user or password,
/// `credential.*` helpers.
pub fn without_credentials(config: &str) -> String {
    let mut out = String::with_capacity(config.len());
    let mut section = String::new();
    for line in config.lines() {
        let t = line.trim();
        if t.starts_with('[') {
            section = t.to_ascii_lowercase();
        }
        let key = t.split('=').next().unwrap_or("").trim().to_ascii_lowercase();
        let value = t.split_once('=').map_or("", |(_, v)| v.trim());
        let credential = key == "extraheader"
            || (section.starts_with("[include") && key == "path")
            || section.starts_with("[credential")
            || url_credentials(value);
        if !credential {
            out.push_str(line);
            out.push('\n');
        }
    }
    out
}

/// `scheme://user:password@host` or a token as the user (`https://<token>@host`);
/// `ssh://git@host` is no credential.
fn url_credentials(value: &str) -> bool {
    let Some((_, rest)) = value.split_once("://") else { return false };
    let authority = rest.split('/').next().unwrap_or("");
    authority.rsplit_once('@').is_some_and(|(user, _)| user.contains(':') || user.len() >= 20)
}

/// Restores `.git/config` when dropped.
pub struct PushDisabled {
    config: PathBuf,
    saved: Vec<u8>,
}

impl Drop for PushDisabled {
    fn drop(&mut self) {
        if let Err(e) = std::fs::write(&self.config, &self.saved) {
            tracing::warn!("could not restore {}: {e}", self.config.display());
        }
    }
}

/// The commit message of a fix: a subject of at most 72 characters (git's convention), the
/// issue's title cut at a word with `…` when it is longer.
pub fn commit_message(issue: u64, title: &str, co_author: Option<(&str, &str)>) -> String {
    let title: String = crate::prompt::strip_hidden(title).chars().filter(|c| !c.is_control()).collect();
    let room = 72usize.saturating_sub(format!("fix:  (#{issue})").len());
    let title = shorten(title.trim(), room);
    let mut msg = format!("fix: {title} (#{issue})\n\nProposed by homeostat's coding agent for #{issue}.\n");
    if let Some((login, email)) = co_author {
        msg.push_str(&format!("\nCo-authored-by: {login} <{email}>\n"));
    }
    msg
}

/// `text` in at most `max` characters, cut after a whole word and marked with `…`.
fn shorten(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_string();
    }
    let head: String = text.chars().take(max.saturating_sub(1)).collect();
    let cut = head.rfind(' ').filter(|&i| i > head.len() / 2).map_or(head.as_str(), |i| &head[..i]);
    format!("{}…", cut.trim_end())
}

/// GitHub's no-reply address for a login (what `Co-authored-by` credits).
pub fn noreply_email(login: &str) -> String {
    format!("{login}@users.noreply.github.com")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_long_title_is_cut_at_a_word_and_the_subject_fits_72_characters() {
        let title = "TypeError: Cannot read properties of undefined (reading 'id') in the popup's save handler";
        let msg = commit_message(1234, title, None);
        let subject = msg.lines().next().unwrap();
        assert!(subject.chars().count() <= 72, "{subject}");
        assert!(subject.ends_with("… (#1234)"), "{subject}");
        assert!(subject.starts_with("fix: TypeError: Cannot read properties of undefined (reading"), "{subject}");
        let short = commit_message(1, "TypeError: x is undefined", None);
        assert_eq!(short.lines().next(), Some("fix: TypeError: x is undefined (#1)"));
    }
}
