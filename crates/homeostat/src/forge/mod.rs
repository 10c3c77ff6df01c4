//! Where issues, comments and pull requests live: GitHub ([`github`]) or JSON files on
//! disk ([`local`], the default without a token). Everything that talks to a forge goes
//! through the [`Forge`] trait; [`DryRun`] wraps any forge and turns writes into prints.

pub mod dry_run;
pub mod github;
pub mod local;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

pub use dry_run::DryRun;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum State {
    Open,
    Closed,
}

/// Which issues a listing returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StateFilter {
    Open,
    Closed,
    All,
}

impl StateFilter {
    pub fn admits(self, state: State) -> bool {
        matches!((self, state), (Self::All, _) | (Self::Open, State::Open) | (Self::Closed, State::Closed))
    }
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Open => "open",
            Self::Closed => "closed",
            Self::All => "all",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Issue {
    pub number: u64,
    pub title: String,
    #[serde(default)]
    pub body: String,
    #[serde(default)]
    pub labels: Vec<String>,
    pub state: State,
    #[serde(default)]
    pub url: String,
    #[serde(default)]
    pub author: String,
    #[serde(default)]
    pub created_at: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub closed_at: Option<String>,
}

impl Issue {
    pub fn has_label(&self, name: &str) -> bool {
        self.labels.iter().any(|l| l.eq_ignore_ascii_case(name))
    }
}

/// A GitHub Discussion (read only: content feedback reads the ones labelled `feedback`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Discussion {
    pub number: u64,
    pub title: String,
    #[serde(default)]
    pub body: String,
    #[serde(default)]
    pub labels: Vec<String>,
    #[serde(default)]
    pub closed: bool,
    #[serde(default)]
    pub url: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Comment {
    pub id: u64,
    pub body: String,
    #[serde(default)]
    pub author: String,
    #[serde(default)]
    pub created_at: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PullRequest {
    pub number: u64,
    pub title: String,
    #[serde(default)]
    pub body: String,
    #[serde(default)]
    pub labels: Vec<String>,
    pub state: State,
    /// Branch name the pull request merges from.
    pub head: String,
    /// Branch name it merges into.
    pub base: String,
    #[serde(default)]
    pub draft: bool,
    #[serde(default)]
    pub url: String,
    #[serde(default)]
    pub author: String,
    /// `owner/name` of the repository the head branch lives in (a fork's for a fork PR;
    /// empty when the forge does not say).
    #[serde(default)]
    pub head_repo: String,
    /// The head and base commits the forge reports (empty when it does not say).
    #[serde(default)]
    pub head_sha: String,
    #[serde(default)]
    pub base_sha: String,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct NewIssue {
    pub title: String,
    pub body: String,
    pub labels: Vec<String>,
}

/// Fields to change on an issue; `None` leaves a field as it is.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct IssueUpdate {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub body: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub state: Option<State>,
    /// The whole label set (replaces the labels): lets a reopen relabel in the same write.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub labels: Option<Vec<String>>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct NewPull {
    pub title: String,
    pub body: String,
    pub head: String,
    pub base: String,
    pub draft: bool,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct PullUpdate {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub body: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub state: Option<State>,
}

/// A person's permission on the repository, lowest to highest.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Permission {
    None,
    Read,
    Triage,
    Write,
    Maintain,
    Admin,
}

impl Permission {
    pub fn parse(s: &str) -> Self {
        match s {
            "admin" => Self::Admin,
            "maintain" => Self::Maintain,
            "write" => Self::Write,
            "triage" => Self::Triage,
            "read" => Self::Read,
            _ => Self::None,
        }
    }
    pub fn can_write(self) -> bool {
        self >= Self::Write
    }
}

pub use crate::error::ForgeError;

pub type ForgeResult<T> = Result<T, ForgeError>;

/// A forge: GitHub or the local one. Listing methods page through everything.
#[async_trait]
pub trait Forge: Send + Sync {
    /// `github` or `local`, for messages.
    fn kind(&self) -> &'static str;
    /// `owner/name` or the local forge's folder.
    fn repo(&self) -> String;
    /// True for `--dry-run`: callers then record nothing either (no ledger entries).
    fn is_dry_run(&self) -> bool {
        false
    }
    /// Whether `author` is homeostat itself, the identity its writes appear as. A marker
    /// is believed only in what homeostat wrote: anyone can end a comment with one.
    async fn is_own(&self, author: &str) -> ForgeResult<bool>;
    /// Every issue (not pull request) carrying `label` in the given state.
    async fn list_issues(&self, label: &str, state: StateFilter) -> ForgeResult<Vec<Issue>>;
    /// Every issue (not pull request) carrying `label` (empty: any) closed at or after
    /// `since`. The default reads every closed issue; GitHub's asks only for those updated
    /// since (a closed issue was updated when it was closed).
    async fn list_closed_since(&self, label: &str, since: jiff::Timestamp) -> ForgeResult<Vec<Issue>> {
        let closed = self.list_issues(label, StateFilter::Closed).await?;
        Ok(closed.into_iter().filter(|i| closed_since(i, since)).collect())
    }
    async fn get_issue(&self, number: u64) -> ForgeResult<Issue>;
    async fn create_issue(&self, new: &NewIssue) -> ForgeResult<Issue>;
    async fn update_issue(&self, number: u64, update: &IssueUpdate) -> ForgeResult<Issue>;
    /// [`Forge::update_issue`] for a write built from a read of the issue (a body with a
    /// counter): sent once, since resent later as it was it would replace what others
    /// wrote meanwhile. [`ForgeError::ReadAgain`] says it failed in a way worth another
    /// try, after the wait the forge asked for: read the issue again and rebuild the write.
    async fn update_issue_from_read(&self, number: u64, update: &IssueUpdate) -> ForgeResult<Issue> {
        self.update_issue(number, update).await
    }
    async fn add_labels(&self, number: u64, labels: &[String]) -> ForgeResult<()>;
    async fn remove_label(&self, number: u64, label: &str) -> ForgeResult<()>;
    async fn list_comments(&self, number: u64) -> ForgeResult<Vec<Comment>>;
    async fn create_comment(&self, number: u64, body: &str) -> ForgeResult<Comment>;
    async fn update_comment(&self, number: u64, comment_id: u64, body: &str) -> ForgeResult<Comment>;
    async fn list_pulls(&self, state: StateFilter) -> ForgeResult<Vec<PullRequest>>;
    async fn get_pull(&self, number: u64) -> ForgeResult<PullRequest>;
    async fn create_pull(&self, new: &NewPull) -> ForgeResult<PullRequest>;
    async fn update_pull(&self, number: u64, update: &PullUpdate) -> ForgeResult<PullRequest>;
    /// Every open discussion carrying `label`.
    async fn list_discussions(&self, label: &str) -> ForgeResult<Vec<Discussion>> {
        let _ = label;
        Err(unsupported(self.kind(), "list_discussions"))
    }
    /// A person's permission on the repository (read from the forge, never from event text).
    async fn permission(&self, login: &str) -> ForgeResult<Permission>;
    async fn default_branch(&self) -> ForgeResult<String>;

    // GitHub Actions operations (runbook repairs). A forge that cannot do them says so.

    /// Starts a run of `workflow` (file name or id) on `git_ref` (`workflow_dispatch`).
    async fn workflow_dispatch(
        &self,
        workflow: &str,
        git_ref: &str,
        inputs: &std::collections::BTreeMap<String, String>,
    ) -> ForgeResult<()> {
        let _ = (workflow, git_ref, inputs);
        Err(unsupported(self.kind(), "workflow_dispatch"))
    }
    /// Sends a `repository_dispatch` event (`event_type`, `client_payload`) to the repository.
    async fn repository_dispatch(&self, event_type: &str, client_payload: &serde_json::Value) -> ForgeResult<()> {
        let _ = (event_type, client_payload);
        Err(unsupported(self.kind(), "repository_dispatch"))
    }
    /// Re-runs the failed jobs of workflow run `run_id`.
    async fn rerun_failed_jobs(&self, run_id: u64) -> ForgeResult<()> {
        let _ = run_id;
        Err(unsupported(self.kind(), "rerun_failed_jobs"))
    }
    /// Deletes the Actions caches with `key` (on `git_ref` when given); returns how many.
    async fn cache_delete(&self, key: &str, git_ref: Option<&str>) -> ForgeResult<u64> {
        let _ = (key, git_ref);
        Err(unsupported(self.kind(), "cache_delete"))
    }

    // The merge gate's and `init`'s operations.

    /// The checks the repository requires on `branch`, judged on commit `sha`.
    async fn required_checks(&self, branch: &str, sha: &str) -> ForgeResult<RequiredChecks> {
        let _ = (branch, sha);
        Err(unsupported(self.kind(), "required_checks"))
    }
    /// Pins an issue to the top of the repository's issue list (GitHub keeps three). A
    /// forge without pins does nothing: pinning is a courtesy, never a requirement.
    async fn pin_issue(&self, number: u64) -> ForgeResult<()> {
        let _ = number;
        Ok(())
    }
    /// Marks a draft pull request ready for review.
    async fn mark_ready(&self, number: u64) -> ForgeResult<()> {
        let _ = number;
        Err(unsupported(self.kind(), "mark_ready"))
    }
    /// Squash-merges the pull request if its head is still `sha`; returns the merge commit.
    async fn merge_pull(&self, number: u64, sha: &str) -> ForgeResult<String> {
        let _ = (number, sha);
        Err(unsupported(self.kind(), "merge_pull"))
    }
    /// Creates the label, or sets its colour and description.
    async fn ensure_label(&self, name: &str, color: &str, description: &str) -> ForgeResult<()> {
        let _ = (name, color, description);
        Err(unsupported(self.kind(), "ensure_label"))
    }
}

/// The state of the checks a repository requires on a pull request's head commit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "state", rename_all = "kebab-case")]
pub enum RequiredChecks {
    /// Every required check passed, or the repository requires none.
    Green { required: Vec<String> },
    /// Some have not finished (or not started).
    Pending { waiting: Vec<String> },
    /// Some failed.
    Failed { failed: Vec<String> },
}

impl RequiredChecks {
    /// Folds each required check's outcome (`None`: not reported yet) into one state.
    pub fn from_outcomes(outcomes: Vec<(String, Option<bool>)>) -> Self {
        let failed: Vec<String> = outcomes.iter().filter(|(_, o)| *o == Some(false)).map(|(n, _)| n.clone()).collect();
        let waiting: Vec<String> = outcomes.iter().filter(|(_, o)| o.is_none()).map(|(n, _)| n.clone()).collect();
        if !failed.is_empty() {
            Self::Failed { failed }
        } else if !waiting.is_empty() {
            Self::Pending { waiting }
        } else {
            Self::Green { required: outcomes.into_iter().map(|(n, _)| n).collect() }
        }
    }
}

fn unsupported(forge: &'static str, what: &str) -> ForgeError {
    ForgeError::Transport { forge, what: what.to_string(), message: "not supported by this forge".into() }
}

/// Whether `issue` was closed at or after `since` (an unreadable `closed_at`: no).
pub fn closed_since(issue: &Issue, since: jiff::Timestamp) -> bool {
    let closed = issue.closed_at.as_deref().and_then(|t| t.parse::<jiff::Timestamp>().ok());
    issue.state == State::Closed && closed.is_some_and(|t| t >= since)
}

/// What someone wrote on the forge: an issue, a comment.
pub trait Authored {
    fn author(&self) -> &str;
}

impl Authored for Issue {
    fn author(&self) -> &str {
        &self.author
    }
}

impl Authored for Comment {
    fn author(&self) -> &str {
        &self.author
    }
}

/// The first of `items` homeostat wrote ([`Forge::is_own`]). Anyone can copy homeostat's
/// words or its trailer; taking a stranger's copy for homeostat's own would let its author
/// rewrite what then reads as homeostat's (or keep homeostat silent).
pub async fn first_own<T: Authored + Send>(forge: &dyn Forge, items: Vec<T>) -> ForgeResult<Option<T>> {
    for item in items {
        if forge.is_own(item.author()).await? {
            return Ok(Some(item));
        }
    }
    Ok(None)
}

/// The first of `comments` that is homeostat's own and carries `marker` in its trailer.
pub async fn find_marked_own(
    forge: &dyn Forge,
    comments: Vec<Comment>,
    marker: &crate::markers::Marker,
) -> ForgeResult<Option<Comment>> {
    first_own(forge, comments.into_iter().filter(|c| crate::markers::has(&c.body, marker)).collect()).await
}

/// Keeps one comment carrying `marker` on an issue or PR: updates homeostat's own in place
/// when it exists, creates it otherwise. Returns the comment and whether it was created.
pub async fn upsert_comment(
    forge: &dyn Forge,
    number: u64,
    marker: &crate::markers::Marker,
    text: &str,
) -> ForgeResult<(Comment, bool)> {
    let body = crate::markers::body(text, std::slice::from_ref(marker));
    let existing = find_marked_own(forge, forge.list_comments(number).await?, marker).await?;
    match existing {
        Some(c) if c.body == body => Ok((c, false)),
        Some(c) => Ok((forge.update_comment(number, c.id, &body).await?, false)),
        None => Ok((forge.create_comment(number, &body).await?, true)),
    }
}

/// GitHub's limits on what a bot writes.
pub use homeostat_core::limits;
