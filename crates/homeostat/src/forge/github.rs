//! The GitHub forge, over the shared HTTP stack ([`crate::http`]).
//!
//! GitHub's rules for bots (ANCHORS.md §3) are kept by that stack's retry layer with
//! GitHub's [`RetryPolicy`] (writes one at a time and paced, rate limits waited out as
//! GitHub asks, safe requests repeated a bounded number of times); this module adds:
//! - every request pins `X-GitHub-Api-Version` ([`API_VERSION`]; the contract tests fail
//!   if the pinned value ever changes);
//! - a failed *create* is tried again only after re-reading what exists: if the first
//!   attempt did land (a 500 after the write, a dropped connection), the re-read finds it
//!   and no second issue, comment or pull request is made.

use std::time::Duration;

use async_trait::async_trait;
use http::{HeaderMap, Method, StatusCode};
use serde::Deserialize;
use serde_json::{Value, json};

use super::*;

pub const DEFAULT_API: &str = "https://api.github.com";
/// The REST API version every request asks for.
pub const API_VERSION: &str = "2022-11-28";
mod gate;
mod json;
mod labels;
mod transport;

use json::*;
use transport::*;

pub use labels::{DEFAULT_COLOR, LabelBook, LabelSpec};

const FORGE: &str = "github";

pub use crate::http::RetryPolicy;

impl RetryPolicy {
    /// The policy `HOMEOSTAT_GITHUB_RETRY` asks for: unset or `github` is GitHub's own
    /// pace; `fast` keeps every rule but waits milliseconds (tests against a stand-in).
    pub fn from_env(env: &crate::gha::Env) -> crate::Result<Self> {
        match env.get(crate::gha::vars::HOMEOSTAT_GITHUB_RETRY) {
            None | Some("github") => Ok(Self::default()),
            Some("fast") => Ok(Self {
                write_gap: Duration::ZERO,
                max_attempts: 4,
                backoff: Duration::from_millis(10),
                secondary_wait: Duration::from_millis(50),
                max_wait: Duration::from_secs(2),
            }),
            Some(other) => Err(crate::Error::input(
                crate::error::Position::file(crate::gha::vars::HOMEOSTAT_GITHUB_RETRY),
                format!("`{other}` is not one of github, fast"),
            )),
        }
    }
}

pub struct GithubForge {
    client: crate::http::Client,
    api: String,
    repo: String,
    policy: RetryPolicy,
    /// Labels to make sure of before writing them (the binaries set it; see [`labels`]).
    labels: Option<LabelBook>,
    /// Logins the token writes as (`agents.bot.logins`; see [`GithubForge::with_own_logins`]).
    own_logins: Vec<String>,
    /// The token's own login when GitHub tells it (a person's or machine user's token),
    /// asked once, the first time an author is none of `own_logins`.
    token_login: tokio::sync::OnceCell<Option<String>>,
}

#[async_trait]
impl Forge for GithubForge {
    fn kind(&self) -> &'static str {
        FORGE
    }

    fn repo(&self) -> String {
        self.repo.clone()
    }

    async fn is_own(&self, author: &str) -> ForgeResult<bool> {
        if self.own_logins.iter().any(|l| l.eq_ignore_ascii_case(author)) {
            return Ok(true);
        }
        Ok(self.token_login().await?.is_some_and(|l| l.eq_ignore_ascii_case(author)))
    }

    async fn list_issues(&self, label: &str, state: StateFilter) -> ForgeResult<Vec<Issue>> {
        self.list_issues_query(label, &format!("state={}", state.as_str())).await
    }

    async fn list_closed_since(&self, label: &str, since: jiff::Timestamp) -> ForgeResult<Vec<Issue>> {
        // `since` is "updated at or after": closing an issue updates it.
        let query = format!("state=closed&since={}", since.strftime("%Y-%m-%dT%H:%M:%SZ"));
        let updated = self.list_issues_query(label, &query).await?;
        Ok(updated.into_iter().filter(|i| super::closed_since(i, since)).collect())
    }

    async fn get_issue(&self, number: u64) -> ForgeResult<Issue> {
        let what = format!("issue #{number}");
        parse_issue(&self.get_json(&what, &self.url(&format!("/issues/{number}"))).await?)
    }

    async fn create_issue(&self, new: &NewIssue) -> ForgeResult<Issue> {
        // GitHub refuses a body over its limit (422): cut it, as every other write does.
        let text = limits::truncate_body(&new.body, "");
        let body = json!({
            "title": limits::truncate_chars(&new.title, limits::TITLE_MAX_CHARS),
            "body": text,
            "labels": new.labels.iter().map(|l| limits::label(l)).collect::<Vec<_>>(),
        });
        // Re-read before a retry: did the earlier attempt land? Issues are found by their
        // hidden marker (the body's last `<!-- homeostat:… -->` line; else the whole body)
        // among every issue carrying the first label, however many were filed since.
        let key =
            text.lines().rev().find(|l| l.trim_start().starts_with("<!-- homeostat:")).unwrap_or(&text).to_string();
        let title = limits::truncate_chars(&new.title, limits::TITLE_MAX_CHARS);
        self.ensure_labels(&new.labels).await;
        let find = || async {
            let mut url = self.url("/issues?state=all&sort=created&direction=desc&per_page=100");
            if let Some(label) = new.labels.first() {
                url.push_str(&format!("&labels={}", encode(&limits::label(label))));
            }
            let items = self.list_all("find created issue", url).await?;
            let same = items
                .into_iter()
                .filter_map(|v| serde_json::from_value::<GhIssue>(v).ok())
                .filter(|i| {
                    i.pull_request.is_none() && i.title == title && i.body.as_deref().unwrap_or("").contains(&key)
                })
                .map(Issue::from);
            // Ours only: a stranger's issue may copy the title and the trailer.
            super::first_own(self, same.collect()).await
        };
        self.create("create issue", &self.url("/issues"), &body, parse_issue, find).await
    }

    async fn update_issue(&self, number: u64, update: &IssueUpdate) -> ForgeResult<Issue> {
        self.update_issue_as(number, update, Repeat::Freely).await
    }

    async fn update_issue_from_read(&self, number: u64, update: &IssueUpdate) -> ForgeResult<Issue> {
        self.update_issue_as(number, update, Repeat::Never).await
    }

    async fn add_labels(&self, number: u64, labels: &[String]) -> ForgeResult<()> {
        if labels.is_empty() {
            return Ok(());
        }
        self.ensure_labels(labels).await;
        let body = json!({"labels": labels.iter().map(|l| limits::label(l)).collect::<Vec<_>>()});
        let what = format!("label #{number}");
        let reply = self
            .idempotent_write(Method::POST, &what, &self.url(&format!("/issues/{number}/labels")), Some(&body))
            .await?;
        if reply.status.is_success() { Ok(()) } else { Err(api_error(&what, &reply)) }
    }

    async fn remove_label(&self, number: u64, label: &str) -> ForgeResult<()> {
        let what = format!("unlabel #{number}");
        let url = self.url(&format!("/issues/{number}/labels/{}", encode(label)));
        let reply = self.idempotent_write(Method::DELETE, &what, &url, None).await?;
        match reply.status {
            s if s.is_success() => Ok(()),
            StatusCode::NOT_FOUND => Ok(()),
            _ => Err(api_error(&what, &reply)),
        }
    }

    async fn list_comments(&self, number: u64) -> ForgeResult<Vec<Comment>> {
        let what = format!("comments of #{number}");
        let items = self.list_all(&what, self.url(&format!("/issues/{number}/comments?per_page=100"))).await?;
        items
            .into_iter()
            .map(|v| serde_json::from_value::<GhComment>(v).map(Comment::from).map_err(|e| bad_json(&what, e)))
            .collect()
    }

    async fn create_comment(&self, number: u64, body: &str) -> ForgeResult<Comment> {
        let body = limits::truncate_body(body, "");
        let payload = json!({"body": body});
        let find = || async {
            let comments = self.list_comments(number).await?;
            // Ours only: a stranger may have posted the same words meanwhile.
            super::first_own(self, comments.into_iter().rev().filter(|c| c.body == body).collect()).await
        };
        self.create(
            &format!("comment on #{number}"),
            &self.url(&format!("/issues/{number}/comments")),
            &payload,
            parse_comment,
            find,
        )
        .await
    }

    async fn update_comment(&self, number: u64, comment_id: u64, body: &str) -> ForgeResult<Comment> {
        let payload = json!({"body": limits::truncate_body(body, "")});
        let path = format!("/issues/comments/{comment_id}");
        self.patch(&format!("update comment on #{number}"), &path, &payload, Repeat::Freely, parse_comment).await
    }

    async fn list_pulls(&self, state: StateFilter) -> ForgeResult<Vec<PullRequest>> {
        let items = self
            .list_all("list pull requests", self.url(&format!("/pulls?state={}&per_page=100", state.as_str())))
            .await?;
        items
            .into_iter()
            .map(|v| {
                serde_json::from_value::<GhPull>(v)
                    .map(PullRequest::from)
                    .map_err(|e| bad_json("list pull requests", e))
            })
            .collect()
    }

    async fn list_discussions(&self, label: &str) -> ForgeResult<Vec<Discussion>> {
        // Discussions are GraphQL only. The newest-updated first, at most 1,000.
        const QUERY: &str = "query($owner: String!, $name: String!, $after: String) { \
            repository(owner: $owner, name: $name) { discussions(first: 50, after: $after, \
            orderBy: {field: UPDATED_AT, direction: DESC}) { nodes { number title body url closed \
            labels(first: 50) { nodes { name } } } pageInfo { hasNextPage endCursor } } } }";
        const PAGES: usize = 20;
        let what = "list discussions";
        let (owner, name) = self.repo.split_once('/').unwrap_or((&self.repo, ""));
        let mut out = Vec::new();
        let mut after: Option<String> = None;
        for _ in 0..PAGES {
            let data =
                self.graphql(what, QUERY, serde_json::json!({"owner": owner, "name": name, "after": after})).await?;
            let page = &data["data"]["repository"]["discussions"];
            if page.is_null() {
                return Err(ForgeError::NotFound { forge: FORGE, what: format!("{what} of {}", self.repo) });
            }
            let page: GhDiscussionPage = serde_json::from_value(page.clone()).map_err(|e| bad_json(what, e))?;
            out.extend(
                page.nodes
                    .into_iter()
                    .map(Discussion::from)
                    .filter(|d| !d.closed && d.labels.iter().any(|l| l.eq_ignore_ascii_case(label))),
            );
            match page.page_info {
                GhPageInfo { has_next_page: true, end_cursor: Some(cursor) } => after = Some(cursor),
                _ => return Ok(out),
            }
        }
        tracing::warn!("{what}: stopped after {} discussions", PAGES * 50);
        Ok(out)
    }

    async fn get_pull(&self, number: u64) -> ForgeResult<PullRequest> {
        let what = format!("pull request #{number}");
        parse_pull(&self.get_json(&what, &self.url(&format!("/pulls/{number}"))).await?)
    }

    async fn create_pull(&self, new: &NewPull) -> ForgeResult<PullRequest> {
        let payload = json!({
            "title": limits::truncate_chars(&new.title, limits::TITLE_MAX_CHARS),
            "body": limits::truncate_body(&new.body, ""),
            "head": new.head, "base": new.base, "draft": new.draft,
        });
        // One pull request per head branch: the re-read looks for an open one from it.
        let find = || async {
            let open = self.list_pulls(StateFilter::Open).await?;
            let ours = |p: &PullRequest| p.head_repo.is_empty() || p.head_repo.eq_ignore_ascii_case(&self.repo());
            Ok(open.into_iter().find(|p| p.head == new.head && ours(p)))
        };
        self.create("create pull request", &self.url("/pulls"), &payload, parse_pull, find).await
    }

    async fn update_pull(&self, number: u64, update: &PullUpdate) -> ForgeResult<PullRequest> {
        let mut payload = serde_json::to_value(update).map_err(|e| bad_json("update pull request", e))?;
        if let Some(body) = &update.body {
            payload["body"] = json!(limits::truncate_body(body, ""));
        }
        self.patch(
            &format!("update pull request #{number}"),
            &format!("/pulls/{number}"),
            &payload,
            Repeat::Freely,
            parse_pull,
        )
        .await
    }

    async fn permission(&self, login: &str) -> ForgeResult<Permission> {
        let what = format!("permission of {login}");
        let url = self.url(&format!("/collaborators/{}/permission", encode(login)));
        let text = match self.get_json(&what, &url).await {
            Ok(text) => text,
            Err(ForgeError::NotFound { .. }) => return Ok(Permission::None),
            Err(e) => return Err(e),
        };
        let value: Value = serde_json::from_str(&text).map_err(|e| bad_json(&what, e))?;
        // role_name distinguishes maintain and triage; permission is the older field.
        let role = value.get("role_name").and_then(Value::as_str).map(Permission::parse).unwrap_or(Permission::None);
        let permission =
            value.get("permission").and_then(Value::as_str).map(Permission::parse).unwrap_or(Permission::None);
        Ok(role.max(permission))
    }

    async fn workflow_dispatch(
        &self,
        workflow: &str,
        git_ref: &str,
        inputs: &std::collections::BTreeMap<String, String>,
    ) -> ForgeResult<()> {
        let what = format!("dispatch {workflow}");
        let url = self.url(&format!("/actions/workflows/{}/dispatches", encode(workflow)));
        let body = json!({"ref": git_ref, "inputs": inputs});
        // Starting a run twice is not harmless: retried only when GitHub refused it
        // outright (a rate limit), never after a 5xx that may have started it.
        let reply = self.refused_only_write(&what, &url, &body).await?;
        if reply.status.is_success() { Ok(()) } else { Err(api_error(&what, &reply)) }
    }

    async fn repository_dispatch(&self, event_type: &str, client_payload: &Value) -> ForgeResult<()> {
        let what = format!("repository_dispatch {event_type}");
        let url = self.url("/dispatches");
        let body = json!({"event_type": event_type, "client_payload": client_payload});
        // Safe to repeat: every payload carries a batch key that hs-issue counts once.
        let reply = self.idempotent_write(Method::POST, &what, &url, Some(&body)).await?;
        if reply.status.is_success() { Ok(()) } else { Err(api_error(&what, &reply)) }
    }

    async fn rerun_failed_jobs(&self, run_id: u64) -> ForgeResult<()> {
        let what = format!("re-run failed jobs of run {run_id}");
        let url = self.url(&format!("/actions/runs/{run_id}/rerun-failed-jobs"));
        let reply = self.refused_only_write(&what, &url, &json!({})).await?;
        if reply.status.is_success() { Ok(()) } else { Err(api_error(&what, &reply)) }
    }

    async fn cache_delete(&self, key: &str, git_ref: Option<&str>) -> ForgeResult<u64> {
        let mut url = self.url(&format!("/actions/caches?key={}", encode(key)));
        if let Some(r) = git_ref {
            url.push_str(&format!("&ref={}", encode(r)));
        }
        let what = format!("delete caches {key}");
        let reply = self.idempotent_write(Method::DELETE, &what, &url, None).await?;
        match reply.status {
            StatusCode::NOT_FOUND => Ok(0),
            s if s.is_success() => {
                let value: Value = serde_json::from_str(&reply.body).map_err(|e| bad_json(&what, e))?;
                Ok(value.get("total_count").and_then(Value::as_u64).unwrap_or(0))
            }
            _ => Err(api_error(&what, &reply)),
        }
    }

    async fn required_checks(&self, branch: &str, sha: &str) -> ForgeResult<RequiredChecks> {
        self.gate_required_checks(branch, sha).await
    }
    async fn mark_ready(&self, number: u64) -> ForgeResult<()> {
        self.gate_mark_ready(number).await
    }
    async fn pin_issue(&self, number: u64) -> ForgeResult<()> {
        self.gate_pin_issue(number).await
    }
    async fn merge_pull(&self, number: u64, sha: &str) -> ForgeResult<String> {
        self.gate_merge_pull(number, sha).await
    }
    async fn ensure_label(&self, name: &str, color: &str, description: &str) -> ForgeResult<()> {
        self.gate_ensure_label(name, color, description).await
    }

    async fn default_branch(&self) -> ForgeResult<String> {
        let text = self.get_json("repository", &format!("{}/repos/{}", self.api, self.repo)).await?;
        let value: Value = serde_json::from_str(&text).map_err(|e| bad_json("repository", e))?;
        Ok(value.get("default_branch").and_then(Value::as_str).unwrap_or("main").to_string())
    }
}

impl GithubForge {
    /// An issue update as GitHub takes it (title, body and labels within GitHub's limits,
    /// the labels made first where missing), sent as `repeat` allows.
    async fn update_issue_as(&self, number: u64, update: &IssueUpdate, repeat: Repeat) -> ForgeResult<Issue> {
        let mut body = serde_json::to_value(update).map_err(|e| bad_json("update issue", e))?;
        if let Some(title) = &update.title {
            body["title"] = json!(limits::truncate_chars(title, limits::TITLE_MAX_CHARS));
        }
        if let Some(text) = &update.body {
            body["body"] = json!(limits::truncate_body(text, ""));
        }
        if let Some(labels) = &update.labels {
            self.ensure_labels(labels).await;
            body["labels"] = json!(labels.iter().map(|l| limits::label(l)).collect::<Vec<_>>());
        }
        let (what, path) = (format!("update issue #{number}"), format!("/issues/{number}"));
        self.patch(&what, &path, &body, repeat, parse_issue).await
    }

    /// Every issue (not pull request) the issues listing returns for `query` (and `label`).
    async fn list_issues_query(&self, label: &str, query: &str) -> ForgeResult<Vec<Issue>> {
        let mut url = self.url(&format!("/issues?{query}&per_page=100"));
        if !label.is_empty() {
            url.push_str(&format!("&labels={}", encode(label)));
        }
        let items = self.list_all("list issues", url).await?;
        let mut out = Vec::with_capacity(items.len());
        for item in items {
            let issue: GhIssue = serde_json::from_value(item).map_err(|e| bad_json("list issues", e))?;
            if issue.pull_request.is_none() {
                out.push(issue.into());
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_link_is_found_among_rels() {
        let mut h = HeaderMap::new();
        h.insert(
            "link",
            "<https://api.github.com/repositories/1000/issues?per_page=3&page=1>; rel=\"prev\", <https://api.github.com/repositories/1000/issues?per_page=3&page=3>; rel=\"next\""
                .parse()
                .unwrap(),
        );
        assert_eq!(next_link(&h).unwrap(), "https://api.github.com/repositories/1000/issues?per_page=3&page=3");
        assert_eq!(next_link(&HeaderMap::new()), None);
    }
}
