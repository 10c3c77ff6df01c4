//! The GitHub forge, over octocrab's HTTP client.
//!
//! GitHub's rules for bots (ANCHORS.md §3) are kept here, in one place:
//! - every request pins `X-GitHub-Api-Version` ([`API_VERSION`]; octocrab ≥ 0.54.9 sends
//!   it on every request it builds — adding it again would send the header twice — and
//!   the contract tests fail if the pinned value ever changes);
//! - writes go one at a time, at least [`RetryPolicy::write_gap`] apart;
//! - a rate-limited or failed request waits as GitHub asks (`retry-after`, else
//!   `x-ratelimit-reset` when no requests remain, else a minute for a secondary limit,
//!   else exponential backoff) and is tried again a bounded number of times;
//! - a failed *create* is tried again only after re-reading what exists: if the first
//!   attempt did land (a 500 after the write, a dropped connection), the re-read finds it
//!   and no second issue, comment or pull request is made.
//!
//! octocrab's own retry is off: it re-sends POSTs on 5xx without looking, which is how
//! bots make duplicate issues.

use std::time::{Duration, Instant};

use async_trait::async_trait;
use http::{HeaderMap, Method, StatusCode};
use octocrab::Octocrab;
use octocrab::service::middleware::retry::RetryConfig;
use serde::Deserialize;
use serde_json::{Value, json};
use tokio::sync::Mutex;

use super::*;

pub const DEFAULT_API: &str = "https://api.github.com";
/// The REST API version every request asks for.
pub const API_VERSION: &str = "2022-11-28";
mod gate;

const FORGE: &str = "github";

/// How long to wait between writes and after failures.
#[derive(Debug, Clone)]
pub struct RetryPolicy {
    /// Minimum time between two writes (GitHub asks for ≥ 1 s).
    pub write_gap: Duration,
    /// Attempts per request, the first included.
    pub max_attempts: u32,
    /// First backoff for 5xx and transport errors; doubles each attempt.
    pub backoff: Duration,
    /// Wait after a secondary rate limit that gave no header.
    pub secondary_wait: Duration,
    /// Never wait longer than this for one retry (a reset an hour away fails the run).
    pub max_wait: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            write_gap: Duration::from_secs(1),
            max_attempts: 4,
            backoff: Duration::from_secs(2),
            secondary_wait: Duration::from_secs(60),
            max_wait: Duration::from_secs(15 * 60),
        }
    }
}

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
    client: Octocrab,
    api: String,
    repo: String,
    policy: RetryPolicy,
    last_write: Mutex<Option<Instant>>,
}

/// One HTTP exchange.
struct Reply {
    status: StatusCode,
    headers: HeaderMap,
    body: String,
}

enum Attempt {
    Done(Reply),
    /// Worth another try after this long.
    Retry(Duration, String),
}

impl GithubForge {
    pub fn new(api: &str, token: &str, repo: &str) -> crate::Result<Self> {
        Self::with_policy(api, token, repo, RetryPolicy::default())
    }

    pub fn with_policy(api: &str, token: &str, repo: &str, policy: RetryPolicy) -> crate::Result<Self> {
        if repo.split('/').filter(|p| !p.is_empty()).count() != 2 {
            return Err(crate::Error::input(
                crate::error::Position::file("--repo"),
                format!("`{repo}` is not owner/name"),
            ));
        }
        let api = api.trim_end_matches('/').to_string();
        let client = Octocrab::builder()
            .base_uri(api.as_str())
            .map_err(|e| ForgeError::Setup(format!("GitHub API URL {api}: {e}")))?
            .personal_token(token.to_string())
            .add_retry_config(RetryConfig::None)
            .add_header(http::header::ACCEPT, "application/vnd.github+json".into())
            .set_connect_timeout(Some(Duration::from_secs(10)))
            .set_read_timeout(Some(Duration::from_secs(60)))
            .build()
            .map_err(|e| ForgeError::Setup(format!("GitHub client: {e}")))?;
        Ok(Self { client, api, repo: repo.to_string(), policy, last_write: Mutex::new(None) })
    }

    fn url(&self, path: &str) -> String {
        if path.starts_with("http://") || path.starts_with("https://") {
            path.to_string()
        } else {
            format!("{}/repos/{}{path}", self.api, self.repo)
        }
    }

    async fn send_once(&self, method: &Method, url: &str, body: Option<&Value>) -> Result<Reply, String> {
        let result = match *method {
            Method::GET => self.client._get(url).await,
            Method::POST => self.client._post(url, body).await,
            Method::PATCH => self.client._patch(url, body).await,
            Method::PUT => self.client._put(url, body).await,
            Method::DELETE => self.client._delete(url, body).await,
            _ => return Err(format!("unsupported method {method}")),
        };
        let response = result.map_err(|e| e.to_string())?;
        let status = response.status();
        let headers = response.headers().clone();
        let body = self.client.body_to_string(response).await.map_err(|e| e.to_string())?;
        Ok(Reply { status, headers, body })
    }

    /// Sends once and says whether (and after how long) to try again.
    async fn attempt(&self, method: &Method, url: &str, body: Option<&Value>, attempt: u32) -> Attempt {
        let backoff = self.policy.backoff * 2u32.saturating_pow(attempt.saturating_sub(1));
        let reply = match self.send_once(method, url, body).await {
            Ok(reply) => reply,
            Err(e) => return Attempt::Retry(backoff, format!("transport: {e}")),
        };
        match rate_limit_wait(&reply, &self.policy) {
            Some(wait) => Attempt::Retry(wait, format!("HTTP {}: {}", reply.status.as_u16(), api_message(&reply.body))),
            None if reply.status.is_server_error() => {
                Attempt::Retry(backoff, format!("HTTP {}: {}", reply.status.as_u16(), api_message(&reply.body)))
            }
            None => Attempt::Done(reply),
        }
    }

    /// A read: retried freely, it changes nothing.
    async fn read(&self, what: &str, url: &str) -> ForgeResult<Reply> {
        self.read_with(what, &Method::GET, url, None).await
    }

    /// A read sent with another method (a GraphQL query is a POST): retried like [`Self::read`].
    async fn read_with(&self, what: &str, method: &Method, url: &str, body: Option<&Value>) -> ForgeResult<Reply> {
        let mut last = String::new();
        for attempt in 1..=self.policy.max_attempts {
            match self.attempt(method, url, body, attempt).await {
                Attempt::Done(reply) => return Ok(reply),
                Attempt::Retry(wait, why) => {
                    last = why;
                    self.wait_before_retry(what, wait, attempt).await?;
                }
            }
        }
        Err(ForgeError::Transport { forge: FORGE, what: what.into(), message: last })
    }

    /// A write that is safe to repeat (PATCH, PUT, DELETE, adding labels).
    async fn idempotent_write(
        &self,
        method: Method,
        what: &str,
        url: &str,
        body: Option<&Value>,
    ) -> ForgeResult<Reply> {
        let mut last = String::new();
        for attempt in 1..=self.policy.max_attempts {
            self.pace_write().await;
            match self.attempt(&method, url, body, attempt).await {
                Attempt::Done(reply) => return Ok(reply),
                Attempt::Retry(wait, why) => {
                    last = why;
                    self.wait_before_retry(what, wait, attempt).await?;
                }
            }
        }
        Err(ForgeError::Transport { forge: FORGE, what: what.into(), message: last })
    }

    /// An update (PATCH) of the resource at `path`, parsed from GitHub's reply.
    async fn patch<T>(
        &self,
        what: &str,
        path: &str,
        body: &Value,
        parse: fn(&str) -> ForgeResult<T>,
    ) -> ForgeResult<T> {
        let reply = self.idempotent_write(Method::PATCH, what, &self.url(path), Some(body)).await?;
        if !reply.status.is_success() {
            return Err(api_error(what, &reply));
        }
        parse(&reply.body)
    }

    /// A create (POST): before each retry, `find` re-reads the forge; when the earlier
    /// attempt landed after all, its result is returned instead of writing again.
    async fn create<T, F, Fut>(
        &self,
        what: &str,
        url: &str,
        body: &Value,
        parse: fn(&str) -> ForgeResult<T>,
        find: F,
    ) -> ForgeResult<T>
    where
        F: Fn() -> Fut,
        Fut: std::future::Future<Output = ForgeResult<Option<T>>>,
    {
        let mut last = String::new();
        for attempt in 1..=self.policy.max_attempts {
            if attempt > 1
                && let Some(found) = find().await?
            {
                tracing::info!("{what}: the earlier attempt did land; not writing it again");
                return Ok(found);
            }
            self.pace_write().await;
            match self.attempt(&Method::POST, url, Some(body), attempt).await {
                Attempt::Done(reply) if reply.status.is_success() => return parse(&reply.body),
                Attempt::Done(reply) => return Err(api_error(what, &reply)),
                Attempt::Retry(wait, why) => {
                    last = why;
                    self.wait_before_retry(what, wait, attempt).await?;
                }
            }
        }
        Err(ForgeError::Transport { forge: FORGE, what: what.into(), message: last })
    }

    /// A POST that must not be repeated once GitHub may have acted on it: retried only
    /// after a rate limit (the request was refused before anything happened).
    async fn refused_only_write(&self, what: &str, url: &str, body: &Value) -> ForgeResult<Reply> {
        for attempt in 1..=self.policy.max_attempts {
            self.pace_write().await;
            let reply = self
                .send_once(&Method::POST, url, Some(body))
                .await
                .map_err(|message| ForgeError::Transport { forge: FORGE, what: what.into(), message })?;
            match rate_limit_wait(&reply, &self.policy) {
                Some(wait) if attempt < self.policy.max_attempts => self.wait_before_retry(what, wait, attempt).await?,
                _ => return Ok(reply),
            }
        }
        Err(ForgeError::Transport { forge: FORGE, what: what.into(), message: "rate limited".into() })
    }

    async fn pace_write(&self) {
        let mut last = self.last_write.lock().await;
        if let Some(at) = *last {
            let since = at.elapsed();
            if since < self.policy.write_gap {
                tokio::time::sleep(self.policy.write_gap - since).await;
            }
        }
        *last = Some(Instant::now());
    }

    async fn wait_before_retry(&self, what: &str, wait: Duration, attempt: u32) -> ForgeResult<()> {
        if attempt >= self.policy.max_attempts {
            return Ok(());
        }
        if wait > self.policy.max_wait {
            return Err(ForgeError::Transport {
                forge: FORGE,
                what: what.into(),
                message: format!(
                    "GitHub asks to wait {}s, more than the {}s allowed",
                    wait.as_secs(),
                    self.policy.max_wait.as_secs()
                ),
            });
        }
        tracing::warn!(
            "{what}: retrying in {:.1}s (attempt {attempt} of {})",
            wait.as_secs_f64(),
            self.policy.max_attempts
        );
        tokio::time::sleep(wait).await;
        Ok(())
    }

    /// Every item of a paginated listing, following `link: rel="next"`.
    async fn list_all(&self, what: &str, first: String) -> ForgeResult<Vec<Value>> {
        let mut out = Vec::new();
        let mut next = Some(first);
        while let Some(url) = next.take() {
            let reply = self.read(what, &url).await?;
            if !reply.status.is_success() {
                return Err(api_error(what, &reply));
            }
            let page: Vec<Value> = serde_json::from_str(&reply.body).map_err(|e| bad_json(what, e))?;
            out.extend(page);
            next = next_link(&reply.headers);
        }
        Ok(out)
    }

    /// A GraphQL query (`/graphql`, or `/api/graphql` on GitHub Enterprise Server). Its
    /// own errors (HTTP 200 with `errors`) fail it too.
    async fn graphql(&self, what: &str, query: &str, variables: Value) -> ForgeResult<Value> {
        let url = match self.api.strip_suffix("/api/v3") {
            Some(host) => format!("{host}/api/graphql"),
            None => format!("{}/graphql", self.api),
        };
        let body = serde_json::json!({"query": query, "variables": variables});
        let reply = self.read_with(what, &Method::POST, &url, Some(&body)).await?;
        if !reply.status.is_success() {
            return Err(api_error(what, &reply));
        }
        let value: Value = serde_json::from_str(&reply.body).map_err(|e| bad_json(what, e))?;
        if let Some(errors) = value.get("errors").and_then(Value::as_array).filter(|e| !e.is_empty()) {
            let message = errors.iter().filter_map(|e| e.get("message")?.as_str()).collect::<Vec<_>>().join("; ");
            return Err(ForgeError::Api { forge: FORGE, what: what.into(), status: reply.status.as_u16(), message });
        }
        Ok(value)
    }

    async fn get_json(&self, what: &str, url: &str) -> ForgeResult<String> {
        let reply = self.read(what, url).await?;
        match reply.status {
            s if s.is_success() => Ok(reply.body),
            StatusCode::NOT_FOUND => Err(ForgeError::NotFound { forge: FORGE, what: what.into() }),
            _ => Err(api_error(what, &reply)),
        }
    }
}

/// How long GitHub asks us to wait, when the reply is a rate limit.
fn rate_limit_wait(reply: &Reply, policy: &RetryPolicy) -> Option<Duration> {
    let header = |name: &str| reply.headers.get(name).and_then(|v| v.to_str().ok()).map(str::trim);
    let limited = reply.status == StatusCode::TOO_MANY_REQUESTS
        || (reply.status == StatusCode::FORBIDDEN
            && (header("retry-after").is_some()
                || header("x-ratelimit-remaining") == Some("0")
                || reply.body.to_ascii_lowercase().contains("rate limit")));
    if !limited {
        return None;
    }
    if let Some(secs) = header("retry-after").and_then(|v| v.parse::<u64>().ok()) {
        return Some(Duration::from_secs(secs));
    }
    if header("x-ratelimit-remaining") == Some("0")
        && let Some(reset) = header("x-ratelimit-reset").and_then(|v| v.parse::<i64>().ok())
    {
        let now = jiff::Timestamp::now().as_second();
        return Some(Duration::from_secs(u64::try_from(reset - now).unwrap_or(0).max(1)));
    }
    Some(policy.secondary_wait)
}

fn next_link(headers: &HeaderMap) -> Option<String> {
    let link = headers.get("link")?.to_str().ok()?;
    link.split(',').find_map(|part| {
        let (url, rel) = part.split_once(';')?;
        rel.contains("rel=\"next\"").then(|| url.trim().trim_start_matches('<').trim_end_matches('>').to_string())
    })
}

fn api_message(body: &str) -> String {
    serde_json::from_str::<Value>(body)
        .ok()
        .and_then(|v| v.get("message").and_then(Value::as_str).map(str::to_string))
        .unwrap_or_else(|| body.chars().take(200).collect())
}

fn api_error(what: &str, reply: &Reply) -> ForgeError {
    ForgeError::Api {
        forge: FORGE,
        what: what.into(),
        status: reply.status.as_u16(),
        message: api_message(&reply.body),
    }
}

fn bad_json(what: &str, e: serde_json::Error) -> ForgeError {
    ForgeError::Transport { forge: FORGE, what: what.into(), message: format!("unexpected response: {e}") }
}

/// RFC 3986's unreserved characters stay as they are; everything else is escaped.
const PATH_SEGMENT: &percent_encoding::AsciiSet =
    &percent_encoding::NON_ALPHANUMERIC.remove(b'-').remove(b'.').remove(b'_').remove(b'~');

fn encode(segment: &str) -> String {
    percent_encoding::utf8_percent_encode(segment, PATH_SEGMENT).to_string()
}

// GitHub's JSON, reduced to what homeostat reads.
#[derive(Deserialize)]
struct GhUser {
    #[serde(default)]
    login: String,
}

#[derive(Deserialize)]
struct GhLabel {
    name: String,
}

/// One page of a repository's discussions (GraphQL).
#[derive(Deserialize)]
struct GhDiscussionPage {
    #[serde(default)]
    nodes: Vec<GhDiscussion>,
    #[serde(rename = "pageInfo")]
    page_info: GhPageInfo,
}

#[derive(Deserialize)]
struct GhPageInfo {
    #[serde(rename = "hasNextPage")]
    has_next_page: bool,
    #[serde(rename = "endCursor")]
    end_cursor: Option<String>,
}

#[derive(Deserialize)]
struct GhDiscussion {
    number: u64,
    title: String,
    #[serde(default)]
    body: Option<String>,
    #[serde(default)]
    url: String,
    #[serde(default)]
    closed: bool,
    #[serde(default)]
    labels: Option<GhLabelNodes>,
}

#[derive(Deserialize)]
struct GhLabelNodes {
    #[serde(default)]
    nodes: Vec<GhLabel>,
}

impl From<GhDiscussion> for Discussion {
    fn from(g: GhDiscussion) -> Self {
        Discussion {
            number: g.number,
            title: g.title,
            body: g.body.unwrap_or_default(),
            labels: g.labels.map(|l| l.nodes.into_iter().map(|l| l.name).collect()).unwrap_or_default(),
            closed: g.closed,
            url: g.url,
        }
    }
}

#[derive(Deserialize)]
struct GhIssue {
    number: u64,
    title: String,
    #[serde(default)]
    body: Option<String>,
    #[serde(default)]
    labels: Vec<GhLabel>,
    state: State,
    #[serde(default)]
    html_url: String,
    #[serde(default)]
    user: Option<GhUser>,
    #[serde(default)]
    created_at: Option<String>,
    #[serde(default)]
    closed_at: Option<String>,
    #[serde(default)]
    pull_request: Option<Value>,
}

impl From<GhIssue> for Issue {
    fn from(g: GhIssue) -> Self {
        Issue {
            number: g.number,
            title: g.title,
            body: g.body.unwrap_or_default(),
            labels: g.labels.into_iter().map(|l| l.name).collect(),
            state: g.state,
            url: g.html_url,
            author: g.user.map(|u| u.login).unwrap_or_default(),
            created_at: g.created_at.unwrap_or_default(),
            closed_at: g.closed_at,
        }
    }
}

#[derive(Deserialize)]
struct GhRef {
    #[serde(rename = "ref")]
    name: String,
    #[serde(default)]
    sha: String,
    #[serde(default)]
    repo: Option<GhRepo>,
}

#[derive(Deserialize)]
struct GhRepo {
    #[serde(default)]
    full_name: String,
}

#[derive(Deserialize)]
struct GhPull {
    number: u64,
    title: String,
    #[serde(default)]
    body: Option<String>,
    #[serde(default)]
    labels: Vec<GhLabel>,
    state: State,
    head: GhRef,
    base: GhRef,
    #[serde(default)]
    draft: Option<bool>,
    #[serde(default)]
    html_url: String,
    #[serde(default)]
    user: Option<GhUser>,
}

impl From<GhPull> for PullRequest {
    fn from(g: GhPull) -> Self {
        PullRequest {
            number: g.number,
            title: g.title,
            body: g.body.unwrap_or_default(),
            labels: g.labels.into_iter().map(|l| l.name).collect(),
            state: g.state,
            head_repo: g.head.repo.map(|r| r.full_name).unwrap_or_default(),
            head_sha: g.head.sha,
            base_sha: g.base.sha,
            head: g.head.name,
            base: g.base.name,
            draft: g.draft.unwrap_or(false),
            url: g.html_url,
            author: g.user.map(|u| u.login).unwrap_or_default(),
        }
    }
}

#[derive(Deserialize)]
struct GhComment {
    id: u64,
    #[serde(default)]
    body: Option<String>,
    #[serde(default)]
    user: Option<GhUser>,
    #[serde(default)]
    created_at: Option<String>,
}

impl From<GhComment> for Comment {
    fn from(g: GhComment) -> Self {
        Comment {
            id: g.id,
            body: g.body.unwrap_or_default(),
            author: g.user.map(|u| u.login).unwrap_or_default(),
            created_at: g.created_at.unwrap_or_default(),
        }
    }
}

fn parse<G: serde::de::DeserializeOwned, T: From<G>>(what: &str, text: &str) -> ForgeResult<T> {
    serde_json::from_str::<G>(text).map(T::from).map_err(|e| bad_json(what, e))
}

fn parse_issue(text: &str) -> ForgeResult<Issue> {
    parse::<GhIssue, Issue>("issue", text)
}
fn parse_comment(text: &str) -> ForgeResult<Comment> {
    parse::<GhComment, Comment>("comment", text)
}
fn parse_pull(text: &str) -> ForgeResult<PullRequest> {
    parse::<GhPull, PullRequest>("pull request", text)
}

#[async_trait]
impl Forge for GithubForge {
    fn kind(&self) -> &'static str {
        FORGE
    }

    fn repo(&self) -> String {
        self.repo.clone()
    }

    async fn list_issues(&self, label: &str, state: StateFilter) -> ForgeResult<Vec<Issue>> {
        let mut url = self.url(&format!("/issues?state={}&per_page=100", state.as_str()));
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
        let find = || async {
            let mut url = self.url("/issues?state=all&sort=created&direction=desc&per_page=100");
            if let Some(label) = new.labels.first() {
                url.push_str(&format!("&labels={}", encode(&limits::label(label))));
            }
            let items = self.list_all("find created issue", url).await?;
            Ok(items
                .into_iter()
                .filter_map(|v| serde_json::from_value::<GhIssue>(v).ok())
                .find(|i| {
                    i.pull_request.is_none() && i.title == title && i.body.as_deref().unwrap_or("").contains(&key)
                })
                .map(Issue::from))
        };
        self.create("create issue", &self.url("/issues"), &body, parse_issue, find).await
    }

    async fn update_issue(&self, number: u64, update: &IssueUpdate) -> ForgeResult<Issue> {
        let mut body = serde_json::to_value(update).map_err(|e| bad_json("update issue", e))?;
        if let Some(title) = &update.title {
            body["title"] = json!(limits::truncate_chars(title, limits::TITLE_MAX_CHARS));
        }
        if let Some(text) = &update.body {
            body["body"] = json!(limits::truncate_body(text, ""));
        }
        if let Some(labels) = &update.labels {
            body["labels"] = json!(labels.iter().map(|l| limits::label(l)).collect::<Vec<_>>());
        }
        self.patch(&format!("update issue #{number}"), &format!("/issues/{number}"), &body, parse_issue).await
    }

    async fn add_labels(&self, number: u64, labels: &[String]) -> ForgeResult<()> {
        if labels.is_empty() {
            return Ok(());
        }
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
            Ok(comments.into_iter().rev().find(|c| c.body == body))
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
        self.patch(&format!("update comment on #{number}"), &path, &payload, parse_comment).await
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
        self.patch(&format!("update pull request #{number}"), &format!("/pulls/{number}"), &payload, parse_pull).await
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

    #[test]
    fn rate_limit_waits_follow_the_headers() {
        let policy = RetryPolicy::default();
        let reply = |status: u16, headers: &[(&str, &str)], body: &str| {
            let mut h = HeaderMap::new();
            for (k, v) in headers {
                h.insert(http::header::HeaderName::from_bytes(k.as_bytes()).unwrap(), v.parse().unwrap());
            }
            Reply { status: StatusCode::from_u16(status).unwrap(), headers: h, body: body.into() }
        };
        assert_eq!(rate_limit_wait(&reply(429, &[("retry-after", "7")], ""), &policy), Some(Duration::from_secs(7)));
        let reset = (jiff::Timestamp::now().as_second() + 30).to_string();
        let w =
            rate_limit_wait(&reply(403, &[("x-ratelimit-remaining", "0"), ("x-ratelimit-reset", &reset)], ""), &policy)
                .unwrap();
        assert!((28..=31).contains(&w.as_secs()), "{w:?}");
        let secondary = reply(403, &[], r#"{"message":"You have exceeded a secondary rate limit."}"#);
        assert_eq!(rate_limit_wait(&secondary, &policy), Some(policy.secondary_wait));
        assert_eq!(rate_limit_wait(&reply(403, &[], r#"{"message":"Resource not accessible"}"#), &policy), None);
        assert_eq!(rate_limit_wait(&reply(500, &[], ""), &policy), None);
    }
}
