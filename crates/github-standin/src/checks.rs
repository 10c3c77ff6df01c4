//! Required checks, for the merge gate's tests: a ruleset on the default branch requiring
//! [`State::required_checks`], and commit statuses per commit ([`State::statuses`]). Check
//! runs are listed empty (the tests report results as commit statuses).

use serde_json::{Value, json};

use crate::render::{self, Urls};
use crate::request::Answer;
use crate::state::State;

/// `GET /repos/{owner}/{repo}/rules/branches/{branch}`.
pub fn rules(s: &State, branch: &str) -> Answer {
    if branch != s.default_branch || s.required_checks.is_empty() {
        return Answer::json(200, json!([]));
    }
    let contexts: Vec<Value> = s.required_checks.iter().map(|c| json!({"context": c})).collect();
    Answer::json(
        200,
        json!([{"type": "required_status_checks", "ruleset_source_type": "Repository",
                "ruleset_source": s.full_name(), "ruleset_id": 1,
                "parameters": {"required_status_checks": contexts, "strict_required_status_checks_policy": false}}]),
    )
}

/// `GET /repos/{owner}/{repo}/commits/{ref}/check-runs`.
pub fn check_runs() -> Answer {
    Answer::json(200, json!({"total_count": 0, "check_runs": []}))
}

/// `GET /repos/{owner}/{repo}/commits/{ref}/status`: the combined status.
pub fn combined(s: &State, u: &Urls, sha: &str) -> Answer {
    let api = format!("{}/repos/{}", u.api, s.full_name());
    let mine = s.statuses.get(sha).cloned().unwrap_or_default();
    let statuses: Vec<Value> = mine
        .iter()
        .enumerate()
        .map(|(i, (context, state))| {
            json!({"url": format!("{api}/statuses/{sha}"), "avatar_url": null, "id": i + 1,
                   "node_id": format!("SC_{}", i + 1), "state": state, "description": null, "target_url": null,
                   "context": context, "created_at": "2026-01-01T00:00:00Z", "updated_at": "2026-01-01T00:00:00Z"})
        })
        .collect();
    let state = if mine.values().any(|v| v == "failure" || v == "error") {
        "failure"
    } else if mine.is_empty() || mine.values().any(|v| v == "pending") {
        "pending"
    } else {
        "success"
    };
    Answer::json(
        200,
        json!({"state": state, "sha": sha, "total_count": statuses.len(), "statuses": statuses,
               "repository": render::repository(u, s, &s.full_name(), false),
               "commit_url": format!("{api}/commits/{sha}"), "url": format!("{api}/commits/{sha}/status")}),
    )
}
