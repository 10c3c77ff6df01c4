//! Git and file helpers for tests that build repositories (the workflow tests share them).
#![allow(dead_code)]

use std::path::Path;
use std::process::Command;

/// Runs git in `dir` as a test identity on `main`; fails the test on a non-zero exit.
pub fn git(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .current_dir(dir)
        .args(["-c", "user.name=t", "-c", "user.email=t@example.com", "-c", "init.defaultBranch=main"])
        .args(args)
        .output()
        .unwrap();
    assert!(out.status.success(), "git {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// Writes `text` to `path`, creating its folders.
pub fn write(path: &Path, text: &str) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

/// A bare `origin.git` and a clone-like `work` folder under `dir` whose `main` holds two
/// commits, "Initial" and a fix ("Fix the popup crash", `Fixes #1`), pushed to origin.
/// Returns (origin, work, the fix's sha): what a canary rollback reverts.
pub fn repo_with_a_fix(dir: &Path) -> (std::path::PathBuf, std::path::PathBuf, String) {
    let (origin, work) = (dir.join("origin.git"), dir.join("work"));
    std::fs::create_dir_all(&work).unwrap();
    git(dir, &["init", "--bare", "-q", origin.to_str().unwrap()]);
    git(&work, &["init", "-q"]);
    git(&work, &["remote", "add", "origin", origin.to_str().unwrap()]);
    std::fs::write(work.join("app.txt"), "v1\n").unwrap();
    git(&work, &["add", "."]);
    git(&work, &["commit", "-qm", "Initial"]);
    std::fs::write(work.join("app.txt"), "v2 with the fix\n").unwrap();
    git(&work, &["commit", "-qam", "Fix the popup crash\n\nFixes #1"]);
    git(&work, &["push", "-q", "origin", "HEAD:refs/heads/main"]);
    let fix = git(&work, &["rev-parse", "HEAD"]);
    (origin, work, fix)
}
