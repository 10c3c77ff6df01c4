//! The repository's git side, for tests that run whole workflows (tests/workflows_act.rs):
//! with [`State::git_dir`] set to a bare repository (the `origin` the jobs push to), the
//! stand-in reads its branches from it as GitHub knows its own pushes, merges pull
//! requests into it (`PUT /pulls/{n}/merge`, a squash merge pinned to `sha`, as GitHub
//! refuses a moved head with 409 and a draft with 405), closes the issues a merged PR's
//! body says it fixes, and answers GraphQL's `markPullRequestReadyForReview`.
//! Without a git folder a merge still lands in the state, with a made-up commit.

use std::process::Command;

use serde_json::{Value, json};

use crate::request::{Answer, Req};
use crate::state::State;

const MERGE_DOCS: &str = "https://docs.github.com/rest/pulls/pulls#merge-a-pull-request";

fn git(dir: &str, args: &[&str]) -> Result<String, String> {
    let out = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .env("GIT_AUTHOR_NAME", "GitHub")
        .env("GIT_AUTHOR_EMAIL", "noreply@github.com")
        .env("GIT_COMMITTER_NAME", "GitHub")
        .env("GIT_COMMITTER_EMAIL", "noreply@github.com")
        .output()
        .map_err(|e| format!("git: {e}"))?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).trim().to_string())
    }
}

/// Reads every branch head from the git folder, when there is one (before each request:
/// pushes reach the bare repository, not the stand-in).
pub fn refresh_refs(s: &mut State) {
    let Some(dir) = s.git_dir.clone() else { return };
    if let Ok(text) = git(&dir, &["for-each-ref", "refs/heads", "--format=%(refname:short) %(objectname)"]) {
        s.refs = text
            .lines()
            .filter_map(|l| l.split_once(' ').map(|(name, sha)| (name.to_string(), sha.to_string())))
            .collect();
    }
}

fn refused(status: u16, message: &str) -> Answer {
    Answer::json(status, json!({"message": message, "documentation_url": MERGE_DOCS}))
}

/// `PUT /repos/{owner}/{repo}/pulls/{n}/merge`.
pub fn merge(s: &mut State, r: &Req, n: &str) -> Answer {
    let Some((number, pull)) = n.parse::<u64>().ok().and_then(|n| Some((n, s.issues.get(&n)?.pull.clone()?))) else {
        return Answer::error(404, "Not Found");
    };
    let issue = &s.issues[&number];
    if pull.merged || issue.state != "open" {
        return refused(405, "Pull Request is not mergeable");
    }
    if pull.draft {
        return refused(405, "Pull Request is still a draft");
    }
    let head = s.refs.get(&pull.head).cloned();
    let wanted = r.body.get("sha").and_then(Value::as_str);
    if wanted.is_some_and(|w| head.as_deref().is_some_and(|h| h != w)) {
        return refused(409, "Head branch was modified. Review and try the merge again.");
    }
    let title = r.body.get("commit_title").and_then(Value::as_str).map(str::to_string);
    let title = title.unwrap_or_else(|| format!("{} (#{number})", issue.title));
    let body = issue.body.clone().unwrap_or_default();
    let sha = match (&s.git_dir, head) {
        (Some(dir), Some(head)) => match squash(dir, &pull.base, &head, &title) {
            Ok(sha) => sha,
            Err(e) => return refused(405, &format!("Pull Request is not mergeable: {e}")),
        },
        _ => format!("{:040x}", 0x5eed_0000_u64 + number),
    };
    s.refs.insert(pull.base.clone(), sha.clone());
    let now = s.now();
    if let Some(i) = s.issues.get_mut(&number) {
        i.state = "closed".into();
        i.closed_at = Some(now.clone());
        i.updated_at = now;
        if let Some(p) = i.pull.as_mut() {
            p.merged = true;
        }
    }
    if pull.base == s.default_branch {
        for fixed in closing_references(&body) {
            if s.issues.get(&fixed).is_some_and(|i| i.pull.is_none() && i.state == "open") {
                s.close(fixed);
            }
        }
    }
    Answer::json(200, json!({"sha": sha, "merged": true, "message": "Pull Request successfully merged"}))
}

/// A squash merge of `head` onto `base` in the bare repository: one commit by GitHub.
fn squash(dir: &str, base: &str, head: &str, title: &str) -> Result<String, String> {
    let base_sha = git(dir, &["rev-parse", &format!("refs/heads/{base}")])?;
    let tree = git(dir, &["merge-tree", "--write-tree", &base_sha, head])?;
    let tree = tree.lines().next().unwrap_or_default().to_string();
    let sha = git(dir, &["commit-tree", &tree, "-p", &base_sha, "-m", title])?;
    git(dir, &["update-ref", &format!("refs/heads/{base}"), &sha, &base_sha])?;
    Ok(sha)
}

/// The issues a PR body closes on merge: `Fixes #N`, `Closes #N`, `Resolves #N` (any case).
pub fn closing_references(body: &str) -> Vec<u64> {
    static RE: std::sync::OnceLock<regex::Regex> = std::sync::OnceLock::new();
    let re = RE.get_or_init(|| {
        regex::Regex::new(r"(?i)\b(?:close[sd]?|fix(?:e[sd])?|resolve[sd]?):?\s+#(\d+)\b").expect("constant regex")
    });
    re.captures_iter(body).filter_map(|c| c[1].parse().ok()).collect()
}

/// GraphQL mutations the stand-in answers from its state (`None`: not a mutation it knows).
pub fn mutation(s: &mut State, request: &Value) -> Option<Value> {
    let query = request["query"].as_str()?;
    if query.contains("pinIssue") {
        return Some(pin_issue(s, request["variables"]["id"].as_str().unwrap_or_default()));
    }
    if !query.contains("markPullRequestReadyForReview") {
        return None;
    }
    let id = request["variables"]["id"].as_str().unwrap_or_default();
    let pull = id.strip_prefix("PR_").and_then(|n| n.parse::<u64>().ok()).and_then(|n| s.issues.get_mut(&n));
    let Some(p) = pull.and_then(|i| i.pull.as_mut()) else {
        return Some(json!({"data": {"markPullRequestReadyForReview": null},
            "errors": [{"type": "NOT_FOUND", "message": format!("Could not resolve to a node with the global id of '{id}'")}]}));
    };
    p.draft = false;
    Some(json!({"data": {"markPullRequestReadyForReview": {"pullRequest": {"isDraft": false}}}}))
}

/// `pinIssue`: an issue (not a pull request) by node id; at most three pinned, as GitHub.
fn pin_issue(s: &mut State, id: &str) -> Value {
    let number = id.strip_prefix("I_").and_then(|n| n.parse::<u64>().ok());
    let Some(n) = number.filter(|n| s.issues.get(n).is_some_and(|i| i.pull.is_none())) else {
        return json!({"data": {"pinIssue": null},
            "errors": [{"type": "NOT_FOUND", "message": format!("Could not resolve to a node with the global id of '{id}'")}]});
    };
    if !s.pinned.contains(&n) {
        if s.pinned.len() >= 3 {
            return json!({"data": {"pinIssue": null},
                "errors": [{"message": "You can't pin more than 3 issues in a repository."}]});
        }
        s.pinned.push(n);
    }
    json!({"data": {"pinIssue": {"issue": {"number": n}}}})
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn closing_keywords_name_the_issues_a_merge_closes() {
        assert_eq!(closing_references("Fixes #3\n\ncloses #4, resolved: #5, see #6, prefixes #7"), vec![3, 4, 5]);
    }
}
