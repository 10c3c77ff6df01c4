//! GitHub's JSON for the stand-in's state: every field GitHub's OpenAPI description
//! requires, so answers validate against it.

use serde_json::{Map, Value, json};

use crate::state::{Comment, Issue, Label, State};

/// Where the stand-in is reached (`http://127.0.0.1:PORT`) and the web URLs it pretends.
pub struct Urls<'a> {
    pub api: &'a str,
}

const HTML: &str = "https://github.com";

fn id_of(login: &str) -> u64 {
    // Stable small ids from the login, so the same person keeps one id.
    login.bytes().fold(7u64, |h, b| h.wrapping_mul(31).wrapping_add(u64::from(b))) % 100_000_000 + 1
}

pub fn user(u: &Urls, login: &str) -> Value {
    let api = format!("{}/users/{}", u.api, crate::encode(login));
    let (kind, html) = match login.strip_suffix("[bot]") {
        Some(app) => ("Bot", format!("{HTML}/apps/{}", crate::encode(app))),
        None => ("User", format!("{HTML}/{}", crate::encode(login))),
    };
    json!({
        "login": login, "id": id_of(login), "node_id": format!("U_{}", id_of(login)),
        "avatar_url": format!("https://avatars.githubusercontent.com/u/{}?v=4", id_of(login)),
        "gravatar_id": "", "url": api, "html_url": html,
        "followers_url": format!("{api}/followers"), "following_url": format!("{api}/following{{/other_user}}"),
        "gists_url": format!("{api}/gists{{/gist_id}}"), "starred_url": format!("{api}/starred{{/owner}}{{/repo}}"),
        "subscriptions_url": format!("{api}/subscriptions"), "organizations_url": format!("{api}/orgs"),
        "repos_url": format!("{api}/repos"), "events_url": format!("{api}/events{{/privacy}}"),
        "received_events_url": format!("{api}/received_events"), "type": kind, "site_admin": false,
    })
}

const REPO_URLS: &[(&str, &str)] = &[
    ("archive_url", "/{archive_format}{/ref}"),
    ("assignees_url", "/assignees{/user}"),
    ("blobs_url", "/git/blobs{/sha}"),
    ("branches_url", "/branches{/branch}"),
    ("collaborators_url", "/collaborators{/collaborator}"),
    ("comments_url", "/comments{/number}"),
    ("commits_url", "/commits{/sha}"),
    ("compare_url", "/compare/{base}...{head}"),
    ("contents_url", "/contents/{+path}"),
    ("contributors_url", "/contributors"),
    ("deployments_url", "/deployments"),
    ("downloads_url", "/downloads"),
    ("events_url", "/events"),
    ("forks_url", "/forks"),
    ("git_commits_url", "/git/commits{/sha}"),
    ("git_refs_url", "/git/refs{/sha}"),
    ("git_tags_url", "/git/tags{/sha}"),
    ("hooks_url", "/hooks"),
    ("issue_comment_url", "/issues/comments{/number}"),
    ("issue_events_url", "/issues/events{/number}"),
    ("issues_url", "/issues{/number}"),
    ("keys_url", "/keys{/key_id}"),
    ("labels_url", "/labels{/name}"),
    ("languages_url", "/languages"),
    ("merges_url", "/merges"),
    ("milestones_url", "/milestones{/number}"),
    ("notifications_url", "/notifications{?since,all,participating}"),
    ("pulls_url", "/pulls{/number}"),
    ("releases_url", "/releases{/id}"),
    ("stargazers_url", "/stargazers"),
    ("statuses_url", "/statuses/{sha}"),
    ("subscribers_url", "/subscribers"),
    ("subscription_url", "/subscription"),
    ("tags_url", "/tags"),
    ("teams_url", "/teams"),
    ("trees_url", "/git/trees{/sha}"),
];

/// A repository (`full-repository` when `full`, else `repository`).
pub fn repository(u: &Urls, s: &State, full_name: &str, full: bool) -> Value {
    let (owner, name) = full_name.split_once('/').unwrap_or((full_name, ""));
    let api = format!("{}/repos/{full_name}", u.api);
    let mut m = Map::new();
    for (key, suffix) in REPO_URLS {
        m.insert((*key).into(), json!(format!("{api}{suffix}")));
    }
    let open = s.issues.values().filter(|i| i.state == "open").count();
    let rest = json!({
        "id": id_of(full_name), "node_id": format!("R_{}", id_of(full_name)), "name": name,
        "full_name": full_name, "owner": user(u, owner), "private": false,
        "html_url": format!("{HTML}/{full_name}"), "description": null, "fork": full_name != s.full_name(),
        "url": api, "clone_url": format!("{HTML}/{full_name}.git"), "git_url": format!("git://github.com/{full_name}.git"),
        "ssh_url": format!("git@github.com:{full_name}.git"), "svn_url": format!("{HTML}/{full_name}"),
        "mirror_url": null, "homepage": null, "language": "Rust", "forks": 0, "forks_count": 0,
        "stargazers_count": 0, "watchers_count": 0, "watchers": 0, "size": 100,
        "default_branch": s.default_branch, "open_issues": open, "open_issues_count": open,
        "has_issues": true, "has_projects": true, "has_wiki": true, "has_pages": false,
        "has_downloads": true, "has_discussions": true, "archived": false, "disabled": false,
        "license": null, "pushed_at": "2026-01-01T00:00:00Z", "created_at": "2025-01-01T00:00:00Z",
        "updated_at": "2026-01-01T00:00:00Z",
    });
    m.extend(rest.as_object().cloned().unwrap_or_default());
    if full {
        m.insert("network_count".into(), json!(0));
        m.insert("subscribers_count".into(), json!(0));
    }
    Value::Object(m)
}

pub fn label(u: &Urls, s: &State, l: &Label) -> Value {
    json!({
        "id": l.id, "node_id": format!("LA_{}", l.id),
        "url": format!("{}/repos/{}/labels/{}", u.api, s.full_name(), crate::encode(&l.name)),
        "name": l.name, "description": l.description, "color": l.color, "default": false,
    })
}

fn labels_of(u: &Urls, s: &State, names: &[String]) -> Vec<Value> {
    names.iter().filter_map(|n| s.labels.get(&n.to_lowercase())).map(|l| label(u, s, l)).collect()
}

/// A pull request's labels: its description says `description` is a string there (GitHub
/// sends an empty one for a label without).
fn pull_labels(u: &Urls, s: &State, names: &[String]) -> Vec<Value> {
    let mut labels = labels_of(u, s, names);
    for l in &mut labels {
        if l["description"].is_null() {
            l["description"] = json!("");
        }
    }
    labels
}

pub fn issue(u: &Urls, s: &State, i: &Issue) -> Value {
    let api = format!("{}/repos/{}", u.api, s.full_name());
    let url = format!("{api}/issues/{}", i.number);
    let kind = if i.pull.is_some() { "pull" } else { "issues" };
    let mut v = json!({
        "id": 500_000 + i.number, "node_id": format!("I_{}", i.number), "url": url,
        "repository_url": api, "labels_url": format!("{url}/labels{{/name}}"),
        "comments_url": format!("{url}/comments"), "events_url": format!("{url}/events"),
        "html_url": format!("{HTML}/{}/{kind}/{}", s.full_name(), i.number), "number": i.number,
        "state": i.state, "state_reason": i.state_reason, "title": i.title, "body": i.body,
        "user": user(u, &i.author), "labels": labels_of(u, s, &i.labels), "assignee": null,
        "assignees": [], "milestone": null, "locked": false, "active_lock_reason": null,
        "comments": s.comments_on(i.number).count(), "closed_at": i.closed_at,
        "created_at": i.created_at, "updated_at": i.updated_at, "author_association": association(s, &i.author),
    });
    if let Some(p) = &i.pull {
        v["pull_request"] = json!({
            "url": format!("{api}/pulls/{}", i.number), "html_url": format!("{HTML}/{}/pull/{}", s.full_name(), i.number),
            "diff_url": format!("{HTML}/{}/pull/{}.diff", s.full_name(), i.number),
            "patch_url": format!("{HTML}/{}/pull/{}.patch", s.full_name(), i.number),
            "merged_at": if p.merged { i.closed_at.clone() } else { None },
        });
        v["draft"] = json!(p.draft);
    }
    v
}

fn association(s: &State, login: &str) -> &'static str {
    match s.collaborators.get(login).map(String::as_str) {
        _ if login == s.owner => "OWNER",
        Some("admin" | "maintain" | "write") => "COLLABORATOR",
        _ => "NONE",
    }
}

pub fn comment(u: &Urls, s: &State, c: &Comment) -> Value {
    let api = format!("{}/repos/{}", u.api, s.full_name());
    json!({
        "id": c.id, "node_id": format!("IC_{}", c.id), "url": format!("{api}/issues/comments/{}", c.id),
        "html_url": format!("{HTML}/{}/issues/{}#issuecomment-{}", s.full_name(), c.issue, c.id),
        "issue_url": format!("{api}/issues/{}", c.issue), "body": c.body, "user": user(u, &c.author),
        "created_at": c.created_at, "updated_at": c.updated_at, "author_association": association(s, &c.author),
    })
}

fn branch(u: &Urls, s: &State, repo: &str, name: &str) -> Value {
    let owner = repo.split('/').next().unwrap_or(repo);
    let sha = s.refs.get(name).cloned().unwrap_or_else(|| format!("{:040x}", id_of(name)));
    json!({"label": format!("{owner}:{name}"), "ref": name, "sha": sha,
           "user": user(u, owner), "repo": repository(u, s, repo, false)})
}

/// A pull request: `pull-request` when `full`, else `pull-request-simple` (listings).
pub fn pull(u: &Urls, s: &State, i: &Issue, full: bool) -> Value {
    let Some(p) = &i.pull else { return Value::Null };
    let api = format!("{}/repos/{}", u.api, s.full_name());
    let url = format!("{api}/pulls/{}", i.number);
    let html = format!("{HTML}/{}/pull/{}", s.full_name(), i.number);
    let link = |href: String| json!({"href": href});
    let mut v = json!({
        "url": url, "id": 700_000 + i.number, "node_id": format!("PR_{}", i.number), "html_url": html,
        "diff_url": format!("{html}.diff"), "patch_url": format!("{html}.patch"),
        "issue_url": format!("{api}/issues/{}", i.number), "commits_url": format!("{url}/commits"),
        "review_comments_url": format!("{url}/comments"), "review_comment_url": format!("{api}/pulls/comments{{/number}}"),
        "comments_url": format!("{api}/issues/{}/comments", i.number),
        "statuses_url": format!("{api}/statuses/{}", format_args!("{:040x}", id_of(&p.head))),
        "number": i.number, "state": i.state, "locked": false, "title": i.title, "user": user(u, &i.author),
        "body": i.body, "labels": pull_labels(u, s, &i.labels), "milestone": null, "active_lock_reason": null,
        "created_at": i.created_at, "updated_at": i.updated_at, "closed_at": i.closed_at,
        "merged_at": if p.merged { i.closed_at.clone() } else { None }, "merge_commit_sha": null,
        "assignee": null, "assignees": [], "requested_reviewers": [], "requested_teams": [],
        "head": branch(u, s, &p.head_repo, &p.head), "base": branch(u, s, &s.full_name(), &p.base),
        "_links": {
            "self": link(url.clone()), "html": link(html.clone()),
            "issue": link(format!("{api}/issues/{}", i.number)),
            "comments": link(format!("{api}/issues/{}/comments", i.number)),
            "review_comments": link(format!("{url}/comments")),
            "review_comment": link(format!("{api}/pulls/comments{{/number}}")),
            "commits": link(format!("{url}/commits")),
            "statuses": link(format!("{api}/statuses/{:040x}", id_of(&p.head))),
        },
        "author_association": association(s, &i.author), "auto_merge": null, "draft": p.draft,
    });
    if full {
        let extra = json!({
            "merged": p.merged, "mergeable": null, "rebaseable": null, "mergeable_state": "unknown",
            "merged_by": null, "comments": s.comments_on(i.number).count(), "review_comments": 0,
            "maintainer_can_modify": false, "commits": 1, "additions": 1, "deletions": 0, "changed_files": 1,
        });
        if let (Some(m), Some(e)) = (v.as_object_mut(), extra.as_object()) {
            m.extend(e.clone());
        }
    }
    v
}
