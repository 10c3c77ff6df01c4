//! GitHub's JSON, reduced to what homeostat reads, and its conversion to the forge's types.

use super::*;

#[derive(Deserialize)]
pub(super) struct GhUser {
    #[serde(default)]
    pub(super) login: String,
}

#[derive(Deserialize)]
pub(super) struct GhLabel {
    pub(super) name: String,
}

/// One page of a repository's discussions (GraphQL).
#[derive(Deserialize)]
pub(super) struct GhDiscussionPage {
    #[serde(default)]
    pub(super) nodes: Vec<GhDiscussion>,
    #[serde(rename = "pageInfo")]
    pub(super) page_info: GhPageInfo,
}

#[derive(Deserialize)]
pub(super) struct GhPageInfo {
    #[serde(rename = "hasNextPage")]
    pub(super) has_next_page: bool,
    #[serde(rename = "endCursor")]
    pub(super) end_cursor: Option<String>,
}

#[derive(Deserialize)]
pub(super) struct GhDiscussion {
    pub(super) number: u64,
    pub(super) title: String,
    #[serde(default)]
    pub(super) body: Option<String>,
    #[serde(default)]
    pub(super) url: String,
    #[serde(default)]
    pub(super) closed: bool,
    #[serde(default)]
    pub(super) labels: Option<GhLabelNodes>,
}

#[derive(Deserialize)]
pub(super) struct GhLabelNodes {
    #[serde(default)]
    pub(super) nodes: Vec<GhLabel>,
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
pub(super) struct GhIssue {
    pub(super) number: u64,
    pub(super) title: String,
    #[serde(default)]
    pub(super) body: Option<String>,
    #[serde(default)]
    pub(super) labels: Vec<GhLabel>,
    pub(super) state: State,
    #[serde(default)]
    pub(super) html_url: String,
    #[serde(default)]
    pub(super) user: Option<GhUser>,
    #[serde(default)]
    pub(super) created_at: Option<String>,
    #[serde(default)]
    pub(super) closed_at: Option<String>,
    #[serde(default)]
    pub(super) pull_request: Option<Value>,
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
pub(super) struct GhRef {
    #[serde(rename = "ref")]
    pub(super) name: String,
    #[serde(default)]
    pub(super) sha: String,
    #[serde(default)]
    pub(super) repo: Option<GhRepo>,
}

#[derive(Deserialize)]
pub(super) struct GhRepo {
    #[serde(default)]
    pub(super) full_name: String,
}

#[derive(Deserialize)]
pub(super) struct GhPull {
    pub(super) number: u64,
    pub(super) title: String,
    #[serde(default)]
    pub(super) body: Option<String>,
    #[serde(default)]
    pub(super) labels: Vec<GhLabel>,
    pub(super) state: State,
    pub(super) head: GhRef,
    pub(super) base: GhRef,
    #[serde(default)]
    pub(super) draft: Option<bool>,
    #[serde(default)]
    pub(super) html_url: String,
    #[serde(default)]
    pub(super) user: Option<GhUser>,
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
pub(super) struct GhComment {
    pub(super) id: u64,
    #[serde(default)]
    pub(super) body: Option<String>,
    #[serde(default)]
    pub(super) user: Option<GhUser>,
    #[serde(default)]
    pub(super) created_at: Option<String>,
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

pub(super) fn parse<G: serde::de::DeserializeOwned, T: From<G>>(what: &str, text: &str) -> ForgeResult<T> {
    serde_json::from_str::<G>(text).map(T::from).map_err(|e| bad_json(what, e))
}

pub(super) fn parse_issue(text: &str) -> ForgeResult<Issue> {
    parse::<GhIssue, Issue>("issue", text)
}
pub(super) fn parse_comment(text: &str) -> ForgeResult<Comment> {
    parse::<GhComment, Comment>("comment", text)
}
pub(super) fn parse_pull(text: &str) -> ForgeResult<PullRequest> {
    parse::<GhPull, PullRequest>("pull request", text)
}
