//! The config and policy a change is judged by, read from a trusted commit (the base or
//! the default branch) through git objects: a pull request that edits homeostat.yml or
//! the policy cannot switch its own checks off, because its working tree is never read.

use std::path::Path;

use git2::Repository;

use crate::error::{Error, Position, Result};
use crate::policy::Policy;
use crate::settings::{Config, DISCOVERY};

/// Config and policy as committed at `rev`, with the files they came from.
#[derive(Debug)]
pub struct Trusted {
    pub config: Config,
    pub policy: Policy,
    /// Paths (repository-relative) of the config and policy files read, if any: a
    /// change to them is never the bot's to merge.
    pub files: Vec<String>,
}

/// Reads `.github/homeostat.yml` (else `homeostat.yml`) and the policy it names at `rev`;
/// without a config at `rev` the built-in defaults and policy apply.
pub fn load_at(repo: &Repository, rev: &str) -> Result<Trusted> {
    let tree = repo.revparse_single(rev).and_then(|o| o.peel_to_tree()).map_err(|e| {
        Error::input(Position::file("--base"), format!("`{rev}` is not a commit here: {}", e.message()))
    })?;
    let read = |path: &str| -> Result<Option<String>> {
        let Ok(entry) = tree.get_path(Path::new(path)) else { return Ok(None) };
        let blob = repo.find_blob(entry.id()).map_err(|e| Error::Git(format!("{rev}:{path}: {}", e.message())))?;
        let text = std::str::from_utf8(blob.content())
            .map_err(|_| Error::input(Position::file(format!("{rev}:{path}")), "not UTF-8"))?;
        Ok(Some(text.to_string()))
    };
    let mut files = Vec::new();
    let mut config = Config::default();
    for candidate in DISCOVERY {
        if let Some(text) = read(candidate)? {
            config = Config::from_text(&format!("{rev}:{candidate}"), &text, Path::new(candidate))?;
            files.push((*candidate).to_string());
            break;
        }
    }
    let policy = match &config.policy {
        Some(path) => {
            let path = repo_path(path);
            let text = read(&path)?.ok_or_else(|| {
                Error::input(
                    Position::file(format!("{rev}:{}", files.join(""))),
                    format!("policy: {path} is not in {rev}"),
                )
            })?;
            files.push(path.clone());
            Policy::parse(&format!("{rev}:{path}"), &text)?
        }
        None => Policy::builtin(),
    };
    Ok(Trusted { config, policy, files })
}

/// A repository-relative path with `/` separators and no leading `./`.
fn repo_path(path: &Path) -> String {
    let text = path.to_string_lossy().replace('\\', "/");
    text.trim_start_matches("./").to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn commit(repo: &Repository, files: &[(&str, &str)]) -> git2::Oid {
        let dir = repo.workdir().unwrap();
        let mut index = repo.index().unwrap();
        for (path, text) in files {
            let full = dir.join(path);
            std::fs::create_dir_all(full.parent().unwrap()).unwrap();
            std::fs::write(&full, text).unwrap();
            index.add_path(Path::new(path)).unwrap();
        }
        index.write().unwrap();
        let tree = repo.find_tree(index.write_tree().unwrap()).unwrap();
        let sig = git2::Signature::now("t", "t@example.com").unwrap();
        let parents: Vec<git2::Commit> = repo.head().ok().and_then(|h| h.peel_to_commit().ok()).into_iter().collect();
        let parents: Vec<&git2::Commit> = parents.iter().collect();
        repo.commit(Some("HEAD"), &sig, &sig, "c", &tree, &parents).unwrap()
    }

    #[test]
    fn config_and_policy_come_from_the_commit_not_the_working_tree() {
        let dir = tempfile::tempdir().unwrap();
        let repo = Repository::init(dir.path()).unwrap();
        let policy = "version: 1\nchanges:\n  limits: {max_files: 1, max_changed_lines: 5}\n";
        let base = commit(&repo, &[(".github/homeostat.yml", "policy: ops/policy.yml\n"), ("ops/policy.yml", policy)]);
        // The working tree (a PR's checkout) says something else.
        std::fs::write(dir.path().join("ops/policy.yml"), "version: 1\nchanges:\n  limits: {max_files: 99}\n").unwrap();
        let trusted = load_at(&repo, &base.to_string()).unwrap();
        assert_eq!(trusted.policy.changes().limits.max_files, Some(1));
        assert_eq!(trusted.files, vec![".github/homeostat.yml".to_string(), "ops/policy.yml".to_string()]);
    }

    #[test]
    fn no_config_at_the_commit_means_the_builtin_policy() {
        let dir = tempfile::tempdir().unwrap();
        let repo = Repository::init(dir.path()).unwrap();
        let base = commit(&repo, &[("README.md", "hi\n")]);
        let trusted = load_at(&repo, &base.to_string()).unwrap();
        assert!(trusted.files.is_empty());
        assert_eq!(trusted.policy.path_class("prompts/agent-fix.md.j2"), Some(crate::policy::Class::Critical));
    }

    #[test]
    fn a_policy_named_but_missing_is_bad_input() {
        let dir = tempfile::tempdir().unwrap();
        let repo = Repository::init(dir.path()).unwrap();
        let base = commit(&repo, &[("homeostat.yml", "policy: nope.yml\n")]);
        let err = load_at(&repo, &base.to_string()).unwrap_err();
        assert!(matches!(err, Error::Input(_)), "{err}");
    }
}
