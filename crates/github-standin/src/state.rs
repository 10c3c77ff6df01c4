//! What the stand-in remembers: one repository's issues, pull requests, comments, labels,
//! collaborators and the Actions calls made on it. Tests seed it and read it back.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The login the token acts as (GITHUB_TOKEN in Actions acts as this bot).
pub const BOT_LOGIN: &str = "github-actions[bot]";

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Issue {
    pub number: u64,
    pub title: String,
    pub body: Option<String>,
    pub labels: Vec<String>,
    /// `open` or `closed`.
    pub state: String,
    pub state_reason: Option<String>,
    pub author: String,
    pub created_at: String,
    pub updated_at: String,
    pub closed_at: Option<String>,
    /// Present when this issue is a pull request.
    pub pull: Option<Pull>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Pull {
    pub head: String,
    pub base: String,
    pub draft: bool,
    /// `owner/name` of the repository the head branch lives in (a fork differs).
    pub head_repo: String,
    pub merged: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Comment {
    pub id: u64,
    pub issue: u64,
    pub body: String,
    pub author: String,
    pub created_at: String,
    pub updated_at: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Label {
    pub id: u64,
    pub name: String,
    pub color: String,
    pub description: Option<String>,
    /// True when GitHub made it on the fly because an issue was given an unknown label
    /// (grey, no description): homeostat is meant to create its labels itself.
    pub implicit: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Cache {
    pub id: u64,
    pub key: String,
    #[serde(rename = "ref")]
    pub git_ref: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Discussion {
    pub number: u64,
    pub title: String,
    pub body: String,
    pub labels: Vec<String>,
    pub closed: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct State {
    pub owner: String,
    pub name: String,
    pub default_branch: String,
    /// Login the token acts as: author of everything written through the API.
    pub token_login: String,
    pub issues: BTreeMap<u64, Issue>,
    pub comments: BTreeMap<u64, Comment>,
    /// By lower-cased name.
    pub labels: BTreeMap<String, Label>,
    /// login → permission (`admin`, `maintain`, `write`, `triage`, `read`).
    pub collaborators: BTreeMap<String, String>,
    /// Branch → commit sha.
    pub refs: BTreeMap<String, String>,
    pub workflow_dispatches: Vec<Value>,
    pub repository_dispatches: Vec<Value>,
    pub reruns: Vec<u64>,
    pub caches: Vec<Cache>,
    pub deleted_caches: Vec<Cache>,
    pub discussions: Vec<Discussion>,
    /// A bare git repository the branches are read from and merges land in (see
    /// [`crate::git`]); none by default.
    #[serde(default)]
    pub git_dir: Option<String>,
    /// Status contexts a ruleset on the default branch requires (see [`crate::checks`]).
    #[serde(default)]
    pub required_checks: Vec<String>,
    /// Commit → status context → `success`, `failure`, `error` or `pending`.
    #[serde(default)]
    pub statuses: BTreeMap<String, BTreeMap<String, String>>,
    /// Pinned issues, in the order they were pinned (GitHub keeps three).
    #[serde(default)]
    pub pinned: Vec<u64>,
    next_id: u64,
    tick: u64,
}

impl State {
    pub fn new(owner: &str, name: &str) -> Self {
        Self {
            owner: owner.into(),
            name: name.into(),
            default_branch: "main".into(),
            token_login: BOT_LOGIN.into(),
            issues: BTreeMap::new(),
            comments: BTreeMap::new(),
            labels: BTreeMap::new(),
            collaborators: BTreeMap::new(),
            refs: BTreeMap::new(),
            workflow_dispatches: Vec::new(),
            repository_dispatches: Vec::new(),
            reruns: Vec::new(),
            caches: Vec::new(),
            deleted_caches: Vec::new(),
            discussions: Vec::new(),
            pinned: Vec::new(),
            git_dir: None,
            required_checks: Vec::new(),
            statuses: BTreeMap::new(),
            next_id: 1000,
            tick: 0,
        }
    }

    pub fn full_name(&self) -> String {
        format!("{}/{}", self.owner, self.name)
    }

    pub fn next_id(&mut self) -> u64 {
        self.next_id += 1;
        self.next_id
    }

    /// A timestamp that moves forward one second per write, so orderings are stable.
    pub fn now(&mut self) -> String {
        self.tick += 1;
        timestamp(1_767_225_600 + self.tick) // 2026-01-01T00:00:00Z + tick
    }

    pub fn next_number(&self) -> u64 {
        self.issues.keys().next_back().copied().unwrap_or(0) + 1
    }

    /// Issues that are not pull requests.
    pub fn plain_issues(&self) -> impl Iterator<Item = &Issue> {
        self.issues.values().filter(|i| i.pull.is_none())
    }

    pub fn pulls(&self) -> impl Iterator<Item = &Issue> {
        self.issues.values().filter(|i| i.pull.is_some())
    }

    pub fn comments_on(&self, number: u64) -> impl Iterator<Item = &Comment> {
        self.comments.values().filter(move |c| c.issue == number)
    }

    /// Makes sure a label exists, as GitHub does when an issue is given an unknown one.
    pub fn ensure_label(&mut self, name: &str) {
        let key = name.to_lowercase();
        if !self.labels.contains_key(&key) {
            let id = self.next_id();
            self.labels.insert(
                key,
                Label { id, name: name.into(), color: "ededed".into(), description: None, implicit: true },
            );
        }
    }

    /// Seeds a label as a maintainer (or `homeostat init`) makes it: with its colour and
    /// description, not on the fly.
    pub fn seed_label(&mut self, name: &str, color: &str, description: &str) {
        let id = self.next_id();
        let label = Label {
            id,
            name: name.into(),
            color: color.into(),
            description: Some(description.into()),
            implicit: false,
        };
        self.labels.insert(name.to_lowercase(), label);
    }

    /// Seeds an issue written by `author`; returns its number.
    pub fn seed_issue(&mut self, title: &str, body: &str, labels: &[&str], author: &str) -> u64 {
        let number = self.next_number();
        let now = self.now();
        for l in labels {
            self.ensure_label(l);
        }
        let issue = Issue {
            number,
            title: title.into(),
            body: Some(body.into()),
            labels: labels.iter().map(|l| l.to_string()).collect(),
            state: "open".into(),
            state_reason: None,
            author: author.into(),
            created_at: now.clone(),
            updated_at: now,
            closed_at: None,
            pull: None,
        };
        self.issues.insert(number, issue);
        number
    }

    /// Seeds a comment on an issue or pull request; returns its id.
    pub fn seed_comment(&mut self, issue: u64, body: &str, author: &str) -> u64 {
        let id = self.next_id();
        let now = self.now();
        self.comments.insert(
            id,
            Comment { id, issue, body: body.into(), author: author.into(), created_at: now.clone(), updated_at: now },
        );
        id
    }

    /// Closes an issue as a maintainer would.
    pub fn close(&mut self, number: u64) {
        let now = self.now();
        if let Some(i) = self.issues.get_mut(&number) {
            i.state = "closed".into();
            i.state_reason = Some("completed".into());
            i.closed_at = Some(now.clone());
            i.updated_at = now;
        }
    }
}

/// RFC 3339 UTC from Unix seconds (civil-from-days, Howard Hinnant's algorithm).
pub fn timestamp(secs: u64) -> String {
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z", rem / 3600, rem % 3600 / 60, rem % 60)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_are_rfc3339() {
        assert_eq!(timestamp(0), "1970-01-01T00:00:00Z");
        assert_eq!(timestamp(1_767_225_600), "2026-01-01T00:00:00Z");
        assert_eq!(timestamp(1_709_210_096), "2024-02-29T12:34:56Z");
    }
}
