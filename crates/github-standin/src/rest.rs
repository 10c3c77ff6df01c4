//! The REST routes the stand-in serves, over [`State`]. Answers are what GitHub answers:
//! the same statuses, the same JSON (see [`crate::render`]), pages with `Link` headers.

use serde_json::{Value, json};

use crate::render::{self, Urls};
use crate::state::{Cache, Issue, Label, Pull, State};

pub use crate::request::{Answer, Req};

/// Routes one request. `None`: no such route in the stand-in (answered 404).
pub fn route(s: &mut State, r: &Req) -> Answer {
    let seg: Vec<&str> = r.segments.iter().map(String::as_str).collect();
    if (r.method, seg.as_slice()) == ("GET", ["user"].as_slice()) {
        return token_user(s, &Urls { api: r.api });
    }
    if seg.len() < 3 || seg[0] != "repos" || format!("{}/{}", seg[1], seg[2]) != s.full_name() {
        return Answer::not_found();
    }
    let u = Urls { api: r.api };
    crate::git::refresh_refs(s);
    match (r.method, &seg[3..]) {
        ("GET", []) => Answer::json(200, render::repository(&u, s, &s.full_name(), true)),
        ("GET", ["issues"]) => list_issues(s, r, &u),
        ("POST", ["issues"]) => create_issue(s, r, &u),
        ("GET", ["issues", n]) => with_issue(s, n, |s, i| Answer::json(200, render::issue(&u, s, i))),
        ("PATCH", ["issues", n]) => update_issue(s, r, &u, n),
        ("GET", ["issues", n, "comments"]) => match number(n).filter(|n| s.issues.contains_key(n)) {
            Some(n) => {
                let items = s.comments_on(n).map(|c| render::comment(&u, s, c)).collect();
                page(r, items)
            }
            None => Answer::not_found(),
        },
        ("POST", ["issues", n, "comments"]) => create_comment(s, r, &u, n),
        ("PATCH", ["issues", "comments", id]) => update_comment(s, r, &u, id),
        ("GET", ["issues", n, "labels"]) => with_issue(s, n, |s, i| page(r, issue_labels(&u, s, i))),
        ("POST" | "PUT", ["issues", n, "labels"]) => set_labels(s, r, &u, n),
        ("DELETE", ["issues", n, "labels", name]) => remove_label(s, &u, n, name),
        ("GET", ["labels"]) => page(r, s.labels.values().map(|l| render::label(&u, s, l)).collect()),
        ("GET", ["labels", name]) => match s.labels.get(&name.to_lowercase()) {
            Some(l) => Answer::json(200, render::label(&u, s, l)),
            None => Answer::not_found(),
        },
        ("POST", ["labels"]) => create_label(s, r, &u),
        ("PATCH", ["labels", name]) => update_label(s, r, &u, name),
        ("GET", ["pulls"]) => list_pulls(s, r, &u),
        ("POST", ["pulls"]) => create_pull(s, r, &u),
        ("GET", ["pulls", n]) => match number(n).and_then(|n| s.issues.get(&n)).filter(|i| i.pull.is_some()) {
            Some(i) => Answer::json(200, render::pull(&u, s, i, true)),
            None => Answer::not_found(),
        },
        ("PATCH", ["pulls", n]) => update_pull(s, r, &u, n),
        ("PUT", ["pulls", n, "merge"]) => crate::git::merge(s, r, n),
        ("GET", ["rules", "branches", branch]) => crate::checks::rules(s, branch),
        ("GET", ["commits", _, "check-runs"]) => crate::checks::check_runs(),
        ("GET", ["commits", sha, "status"]) => crate::checks::combined(s, &u, sha),
        ("GET", ["collaborators", login, "permission"]) => permission(s, &u, login),
        ("POST", ["actions", "workflows", id, "dispatches"]) => {
            s.workflow_dispatches.push(json!({"workflow": id, "ref": r.body["ref"], "inputs": r.body["inputs"]}));
            Answer::empty(204)
        }
        ("POST", ["dispatches"]) => {
            s.repository_dispatches.push(r.body.clone());
            Answer::empty(204)
        }
        ("POST", ["actions", "runs", id, "rerun-failed-jobs"]) => match number(id) {
            Some(id) => {
                s.reruns.push(id);
                Answer::json(201, json!({}))
            }
            None => Answer::not_found(),
        },
        ("GET", ["actions", "caches"]) => caches_answer(s.caches.clone(), 200),
        ("DELETE", ["actions", "caches"]) => delete_caches(s, r),
        _ => Answer::not_found(),
    }
}

fn number(text: &str) -> Option<u64> {
    text.parse().ok()
}

fn with_issue(s: &State, n: &str, f: impl FnOnce(&State, &Issue) -> Answer) -> Answer {
    match number(n).and_then(|n| s.issues.get(&n)) {
        Some(i) => f(s, i),
        None => Answer::not_found(),
    }
}

/// One page of `items` as GitHub pages them: `per_page` (default 30, at most 100),
/// `page` from 1, `Link` with `next`, `last`, `first` and `prev` as they apply.
pub fn page(r: &Req, items: Vec<Value>) -> Answer {
    let per = r.q("per_page").and_then(|v| v.parse::<usize>().ok()).unwrap_or(30).clamp(1, 100);
    let at = r.q("page").and_then(|v| v.parse::<usize>().ok()).unwrap_or(1).max(1);
    let last = items.len().div_ceil(per).max(1);
    let chunk: Vec<Value> = items.into_iter().skip((at - 1) * per).take(per).collect();
    let mut answer = Answer::json(200, Value::Array(chunk));
    let link_to = |p: usize| {
        let (path, _) = r.path.split_once('?').unwrap_or((r.path, ""));
        let mut query: Vec<String> = r
            .query
            .iter()
            .filter(|(k, _)| k.as_str() != "page")
            .map(|(k, v)| format!("{k}={}", crate::encode(v)))
            .collect();
        query.push(format!("page={p}"));
        format!("<{}{path}?{}>", r.api, query.join("&"))
    };
    let mut links = Vec::new();
    if at > 1 {
        links.push(format!("{}; rel=\"prev\"", link_to(at - 1)));
    }
    if at < last {
        links.push(format!("{}; rel=\"next\"", link_to(at + 1)));
        links.push(format!("{}; rel=\"last\"", link_to(last)));
    }
    if at > 1 {
        links.push(format!("{}; rel=\"first\"", link_to(1)));
    }
    if !links.is_empty() {
        answer.headers.push(("link".into(), links.join(", ")));
    }
    answer
}

fn list_issues(s: &State, r: &Req, u: &Urls) -> Answer {
    let state = r.q("state").unwrap_or("open");
    // `since`: updated at or after; GitHub refuses what is not an ISO 8601 timestamp.
    let since = match r.q("since").map(str::parse::<jiff::Timestamp>) {
        Some(Err(_)) => return Answer::error(422, "Validation Failed: since"),
        Some(Ok(t)) => Some(t),
        None => None,
    };
    let wanted: Vec<String> = r
        .q("labels")
        .map(|l| l.split(',').map(|x| x.trim().to_lowercase()).filter(|x| !x.is_empty()).collect())
        .unwrap_or_default();
    let mut items: Vec<&Issue> = s
        .issues
        .values()
        .filter(|i| state == "all" || i.state == state)
        .filter(|i| wanted.iter().all(|w| i.labels.iter().any(|l| l.to_lowercase() == *w)))
        .filter(|i| since.is_none_or(|since| i.updated_at.parse::<jiff::Timestamp>().is_ok_and(|t| t >= since)))
        .collect();
    // GitHub's default order: newest first.
    let asc = r.q("direction") == Some("asc");
    items.sort_by_key(|i| i.number);
    if !asc {
        items.reverse();
    }
    page(r, items.into_iter().map(|i| render::issue(u, s, i)).collect())
}

fn apply_labels(s: &mut State, names: &[String]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for n in names {
        s.ensure_label(n);
        let canonical = s.labels.get(&n.to_lowercase()).map(|l| l.name.clone()).unwrap_or_else(|| n.clone());
        if !out.iter().any(|o| o.eq_ignore_ascii_case(&canonical)) {
            out.push(canonical);
        }
    }
    out
}

fn create_issue(s: &mut State, r: &Req, u: &Urls) -> Answer {
    let Some(title) = r.text("title").or_else(|| r.body.get("title").map(|t| t.to_string())) else {
        return Answer::error(422, "Validation Failed: title is missing");
    };
    let labels = apply_labels(s, &r.strings("labels").unwrap_or_default());
    let number = s.next_number();
    let now = s.now();
    let issue = Issue {
        number,
        title,
        body: r.text("body"),
        labels,
        state: "open".into(),
        state_reason: None,
        author: s.token_login.clone(),
        created_at: now.clone(),
        updated_at: now,
        closed_at: None,
        pull: None,
    };
    s.issues.insert(number, issue);
    let mut a = Answer::json(201, render::issue(u, s, &s.issues[&number]));
    a.headers.push(("location".into(), format!("{}/repos/{}/issues/{number}", r.api, s.full_name())));
    a
}

/// PATCH on an issue or a pull request's issue fields.
fn patch_issue(s: &mut State, r: &Req, n: u64) -> Result<(), Answer> {
    let labels = r.strings("labels").map(|l| apply_labels(s, &l));
    let now = s.now();
    let Some(i) = s.issues.get_mut(&n) else { return Err(Answer::not_found()) };
    if let Some(t) = r.text("title") {
        i.title = t;
    }
    if r.body.get("body").is_some() {
        i.body = r.text("body");
    }
    if let Some(l) = labels {
        i.labels = l;
    }
    match r.text("state").as_deref() {
        Some("closed") if i.state != "closed" => {
            i.state = "closed".into();
            i.state_reason = Some(r.text("state_reason").unwrap_or_else(|| "completed".into()));
            i.closed_at = Some(now.clone());
        }
        Some("open") if i.state != "open" => {
            i.state = "open".into();
            i.state_reason = Some("reopened".into());
            i.closed_at = None;
        }
        _ => {}
    }
    i.updated_at = now;
    Ok(())
}

fn update_issue(s: &mut State, r: &Req, u: &Urls, n: &str) -> Answer {
    let Some(n) = number(n).filter(|n| s.issues.contains_key(n)) else { return Answer::not_found() };
    match patch_issue(s, r, n) {
        Ok(()) => Answer::json(200, render::issue(u, s, &s.issues[&n])),
        Err(a) => a,
    }
}

fn create_comment(s: &mut State, r: &Req, u: &Urls, n: &str) -> Answer {
    let Some(n) = number(n).filter(|n| s.issues.contains_key(n)) else { return Answer::not_found() };
    let Some(body) = r.text("body") else { return Answer::error(422, "Validation Failed: body is missing") };
    let author = s.token_login.clone();
    let id = s.seed_comment(n, &body, &author);
    let mut a = Answer::json(201, render::comment(u, s, &s.comments[&id]));
    a.headers.push(("location".into(), format!("{}/repos/{}/issues/comments/{id}", r.api, s.full_name())));
    a
}

fn update_comment(s: &mut State, r: &Req, u: &Urls, id: &str) -> Answer {
    let now = s.now();
    let Some(c) = number(id).and_then(|id| s.comments.get_mut(&id)) else { return Answer::not_found() };
    if let Some(body) = r.text("body") {
        c.body = body;
    }
    c.updated_at = now;
    let c = c.clone();
    Answer::json(200, render::comment(u, s, &c))
}

/// `GET /user`: who the token is. An installation token (the workflow token, an App's) is
/// refused, as GitHub refuses it; a person's or a machine user's token gets its user.
fn token_user(s: &State, u: &Urls) -> Answer {
    if s.token_login.ends_with("[bot]") {
        return Answer::error(403, "Resource not accessible by integration");
    }
    let mut user = render::user(u, &s.token_login);
    let extra = json!({"user_view_type": "public", "name": null, "company": null, "blog": "", "location": null,
        "email": null, "hireable": null, "bio": null, "public_repos": 0, "public_gists": 0, "followers": 0,
        "following": 0, "created_at": "2020-01-01T00:00:00Z", "updated_at": "2020-01-01T00:00:00Z"});
    user.as_object_mut().into_iter().for_each(|o| o.extend(extra.as_object().cloned().unwrap_or_default()));
    Answer::json(200, user)
}

fn issue_labels(u: &Urls, s: &State, i: &Issue) -> Vec<Value> {
    i.labels.iter().filter_map(|n| s.labels.get(&n.to_lowercase())).map(|l| render::label(u, s, l)).collect()
}

fn set_labels(s: &mut State, r: &Req, u: &Urls, n: &str) -> Answer {
    let Some(n) = number(n).filter(|n| s.issues.contains_key(n)) else { return Answer::not_found() };
    let Some(names) = r.strings("labels") else { return Answer::error(422, "Validation Failed: labels") };
    let names = apply_labels(s, &names);
    if let Some(i) = s.issues.get_mut(&n) {
        if r.method == "PUT" {
            i.labels.clear();
        }
        for name in names {
            if !i.labels.iter().any(|l| l.eq_ignore_ascii_case(&name)) {
                i.labels.push(name);
            }
        }
    }
    Answer::json(200, Value::Array(issue_labels(u, s, &s.issues[&n])))
}

fn remove_label(s: &mut State, u: &Urls, n: &str, name: &str) -> Answer {
    let Some(i) = number(n).and_then(|n| s.issues.get_mut(&n)) else { return Answer::not_found() };
    let before = i.labels.len();
    i.labels.retain(|l| !l.eq_ignore_ascii_case(name));
    if i.labels.len() == before {
        return Answer::error(404, "Label does not exist");
    }
    let i = i.clone();
    Answer::json(200, Value::Array(issue_labels(u, s, &i)))
}

fn create_label(s: &mut State, r: &Req, u: &Urls) -> Answer {
    let Some(name) = r.text("name") else { return Answer::error(422, "Validation Failed: name") };
    let key = name.to_lowercase();
    if s.labels.get(&key).is_some_and(|l| !l.implicit) {
        return Answer::json(
            422,
            json!({"message": "Validation Failed", "errors": [{"resource": "Label", "code": "already_exists", "field": "name"}],
                   "documentation_url": "https://docs.github.com/rest/issues/labels#create-a-label", "status": "422"}),
        );
    }
    let id = s.next_id();
    let color = r.text("color").unwrap_or_else(|| "ededed".into()).trim_start_matches('#').to_string();
    let label = Label { id, name, color, description: r.text("description"), implicit: false };
    s.labels.insert(key.clone(), label);
    Answer::json(201, render::label(u, s, &s.labels[&key]))
}

fn update_label(s: &mut State, r: &Req, u: &Urls, name: &str) -> Answer {
    let key = name.to_lowercase();
    let Some(l) = s.labels.get_mut(&key) else { return Answer::not_found() };
    if let Some(c) = r.text("color") {
        l.color = c.trim_start_matches('#').to_string();
    }
    if r.body.get("description").is_some() {
        l.description = r.text("description");
    }
    l.implicit = false;
    let l = l.clone();
    Answer::json(200, render::label(u, s, &l))
}

fn list_pulls(s: &State, r: &Req, u: &Urls) -> Answer {
    let state = r.q("state").unwrap_or("open");
    let head = r.q("head").map(|h| h.split_once(':').map_or(h, |(_, b)| b));
    let mut items: Vec<&Issue> = s
        .pulls()
        .filter(|i| state == "all" || i.state == state)
        .filter(|i| head.is_none_or(|h| i.pull.as_ref().is_some_and(|p| p.head == h)))
        .filter(|i| r.q("base").is_none_or(|b| i.pull.as_ref().is_some_and(|p| p.base == b)))
        .collect();
    items.sort_by_key(|i| std::cmp::Reverse(i.number));
    page(r, items.into_iter().map(|i| render::pull(u, s, i, false)).collect())
}

fn create_pull(s: &mut State, r: &Req, u: &Urls) -> Answer {
    let (Some(title), Some(head), Some(base)) = (r.text("title"), r.text("head"), r.text("base")) else {
        return Answer::error(422, "Validation Failed: title, head and base are required");
    };
    let (head_repo, head) = match head.split_once(':') {
        Some((owner, b)) if owner != s.owner => (format!("{owner}/{}", s.name), b.to_string()),
        Some((_, b)) => (s.full_name(), b.to_string()),
        None => (s.full_name(), head),
    };
    let exists = s
        .pulls()
        .any(|i| i.state == "open" && i.pull.as_ref().is_some_and(|p| p.head == head && p.head_repo == head_repo));
    if exists {
        return Answer::json(
            422,
            json!({"message": "Validation Failed", "errors": [{"resource": "PullRequest", "code": "custom",
                   "message": format!("A pull request already exists for {head}.")}],
                   "documentation_url": "https://docs.github.com/rest/pulls/pulls#create-a-pull-request", "status": "422"}),
        );
    }
    let number = s.next_number();
    let now = s.now();
    let draft = r.body.get("draft").and_then(Value::as_bool).unwrap_or(false);
    let pull = Pull { head, base, draft, head_repo, merged: false };
    let issue = Issue {
        number,
        title,
        body: r.text("body"),
        labels: Vec::new(),
        state: "open".into(),
        state_reason: None,
        author: s.token_login.clone(),
        created_at: now.clone(),
        updated_at: now,
        closed_at: None,
        pull: Some(pull),
    };
    s.issues.insert(number, issue);
    let mut a = Answer::json(201, render::pull(u, s, &s.issues[&number], true));
    a.headers.push(("location".into(), format!("{}/repos/{}/pulls/{number}", r.api, s.full_name())));
    a
}

fn update_pull(s: &mut State, r: &Req, u: &Urls, n: &str) -> Answer {
    let Some(n) = number(n).filter(|n| s.issues.get(n).is_some_and(|i| i.pull.is_some())) else {
        return Answer::not_found();
    };
    if let Some(base) = r.text("base")
        && let Some(p) = s.issues.get_mut(&n).and_then(|i| i.pull.as_mut())
    {
        p.base = base;
    }
    match patch_issue(s, r, n) {
        Ok(()) => Answer::json(200, render::pull(u, s, &s.issues[&n], true)),
        Err(a) => a,
    }
}

fn permission(s: &State, u: &Urls, login: &str) -> Answer {
    let role = if login == s.owner { Some("admin") } else { s.collaborators.get(login).map(String::as_str) };
    let Some(role) = role else {
        return Answer::error(404, &format!("{login} is not a user"));
    };
    // `permission` is the older field: maintain reads as write, triage as read.
    let permission = match role {
        "maintain" => "write",
        "triage" => "read",
        other => other,
    };
    let mut user = render::user(u, login);
    user["permissions"] = json!({"admin": role == "admin", "maintain": role == "maintain" || role == "admin",
        "push": matches!(role, "admin" | "maintain" | "write"), "triage": role != "read", "pull": true});
    user["role_name"] = json!(role);
    Answer::json(200, json!({"permission": permission, "role_name": role, "user": user}))
}

fn caches_answer(caches: Vec<Cache>, status: u16) -> Answer {
    let items: Vec<Value> = caches
        .iter()
        .map(|c| json!({"id": c.id, "ref": c.git_ref, "key": c.key, "version": "v1",
                        "last_accessed_at": "2026-01-01T00:00:00Z", "created_at": "2026-01-01T00:00:00Z", "size_in_bytes": 1024}))
        .collect();
    Answer::json(status, json!({"total_count": items.len(), "actions_caches": items}))
}

fn delete_caches(s: &mut State, r: &Req) -> Answer {
    let Some(key) = r.q("key") else { return Answer::error(422, "key is required") };
    let (gone, kept): (Vec<Cache>, Vec<Cache>) =
        s.caches.drain(..).partition(|c| c.key == key && r.q("ref").is_none_or(|g| c.git_ref == g));
    s.caches = kept;
    if gone.is_empty() {
        return Answer::error(404, "Not Found");
    }
    s.deleted_caches.extend(gone.iter().cloned());
    caches_answer(gone, 200)
}
