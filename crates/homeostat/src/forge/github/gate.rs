//! The merge gate's GitHub calls: required checks (branch protection and rulesets, both
//! readable with `contents: read`), check runs and commit statuses, ready-for-review
//! (GraphQL: REST has no such call), the squash merge pinned to the judged commit, labels.

use super::*;

/// A check run's or status's outcome: `Some(true)` passed, `Some(false)` failed, `None` not yet.
fn outcome(conclusion_or_state: &str) -> Option<bool> {
    match conclusion_or_state {
        "success" | "neutral" | "skipped" => Some(true),
        "failure" | "cancelled" | "timed_out" | "action_required" | "error" | "startup_failure" | "stale" => {
            Some(false)
        }
        _ => None,
    }
}

fn strings_at<'a>(value: &'a Value, pointer: &str, key: Option<&str>) -> impl Iterator<Item = String> + 'a {
    let items = value.pointer(pointer).and_then(Value::as_array).map(Vec::as_slice).unwrap_or_default();
    let key = key.map(str::to_string);
    items.iter().filter_map(move |v| match &key {
        Some(k) => v.get(k).and_then(Value::as_str).map(str::to_string),
        None => v.as_str().map(str::to_string),
    })
}

impl GithubForge {
    /// The contexts branch protection and rulesets require on `branch`.
    async fn required_contexts(&self, branch: &str) -> ForgeResult<Vec<String>> {
        let mut names = Vec::new();
        let what = format!("branch {branch}");
        match self.get_json(&what, &self.url(&format!("/branches/{}", encode(branch)))).await {
            Ok(text) => {
                let v: Value = serde_json::from_str(&text).map_err(|e| bad_json(&what, e))?;
                names.extend(strings_at(&v, "/protection/required_status_checks/contexts", None));
                names.extend(strings_at(&v, "/protection/required_status_checks/checks", Some("context")));
            }
            Err(ForgeError::NotFound { .. }) => {}
            Err(e) => return Err(e),
        }
        let what = format!("rules of branch {branch}");
        match self.get_json(&what, &self.url(&format!("/rules/branches/{}", encode(branch)))).await {
            Ok(text) => {
                let rules: Value = serde_json::from_str(&text).map_err(|e| bad_json(&what, e))?;
                for rule in rules.as_array().into_iter().flatten() {
                    if rule.get("type").and_then(Value::as_str) == Some("required_status_checks") {
                        names.extend(strings_at(rule, "/parameters/required_status_checks", Some("context")));
                    }
                }
            }
            Err(ForgeError::NotFound { .. }) => {}
            Err(e) => return Err(e),
        }
        names.sort();
        names.dedup();
        Ok(names)
    }

    pub(super) async fn gate_required_checks(&self, branch: &str, sha: &str) -> ForgeResult<RequiredChecks> {
        let required = self.required_contexts(branch).await?;
        if required.is_empty() {
            return Ok(RequiredChecks::Green { required });
        }
        let sha = encode(sha);
        let mut seen: std::collections::BTreeMap<String, Option<bool>> = Default::default();
        // One page of 100 check runs: a commit with more required checks than that is not a bot fix.
        let text = self.get_json("check runs", &self.url(&format!("/commits/{sha}/check-runs?per_page=100"))).await?;
        let runs: Value = serde_json::from_str(&text).map_err(|e| bad_json("check runs", e))?;
        for r in runs.get("check_runs").and_then(Value::as_array).into_iter().flatten() {
            let Some(name) = r.get("name").and_then(Value::as_str) else { continue };
            let o = outcome(r.get("conclusion").and_then(Value::as_str).unwrap_or("pending"));
            // A re-run replaces an earlier result: a pass wins over a stale failure.
            let entry = seen.entry(name.to_string()).or_insert(o);
            if o == Some(true) {
                *entry = o;
            }
        }
        let text = self.get_json("commit status", &self.url(&format!("/commits/{sha}/status"))).await?;
        let status: Value = serde_json::from_str(&text).map_err(|e| bad_json("commit status", e))?;
        for s in status.get("statuses").and_then(Value::as_array).into_iter().flatten() {
            if let (Some(name), Some(state)) =
                (s.get("context").and_then(Value::as_str), s.get("state").and_then(Value::as_str))
            {
                seen.entry(name.to_string()).or_insert(outcome(state));
            }
        }
        Ok(RequiredChecks::from_outcomes(
            required.into_iter().map(|n| (n.clone(), seen.get(&n).copied().flatten())).collect(),
        ))
    }

    /// Pins issue `number` (GraphQL only: REST has no pin).
    pub(super) async fn gate_pin_issue(&self, number: u64) -> ForgeResult<()> {
        let what = format!("issue #{number}");
        let text = self.get_json(&what, &self.url(&format!("/issues/{number}"))).await?;
        let issue: Value = serde_json::from_str(&text).map_err(|e| bad_json(&what, e))?;
        let id = issue.get("node_id").and_then(Value::as_str).unwrap_or_default().to_string();
        let query = "mutation($id: ID!) { pinIssue(input: {issueId: $id}) { issue { number } } }";
        self.graphql(&format!("pin #{number}"), query, json!({"id": id})).await.map(|_| ())
    }

    pub(super) async fn gate_mark_ready(&self, number: u64) -> ForgeResult<()> {
        let what = format!("pull request #{number}");
        let text = self.get_json(&what, &self.url(&format!("/pulls/{number}"))).await?;
        let pr: Value = serde_json::from_str(&text).map_err(|e| bad_json(&what, e))?;
        if pr.get("draft").and_then(Value::as_bool) != Some(true) {
            return Ok(());
        }
        let id = pr.get("node_id").and_then(Value::as_str).unwrap_or_default().to_string();
        let query = "mutation($id: ID!) { markPullRequestReadyForReview(input: {pullRequestId: $id}) { pullRequest { isDraft } } }";
        self.graphql(&format!("mark #{number} ready"), query, json!({"id": id})).await.map(|_| ())
    }

    pub(super) async fn gate_merge_pull(&self, number: u64, sha: &str) -> ForgeResult<String> {
        let what = format!("merge pull request #{number}");
        let body = json!({"sha": sha, "merge_method": "squash"});
        // `sha` pins the merge to the judged commit: a push since then makes GitHub refuse it (409).
        let reply = self
            .idempotent_write(Method::PUT, &what, &self.url(&format!("/pulls/{number}/merge")), Some(&body))
            .await?;
        if !reply.status.is_success() {
            return Err(api_error(&what, &reply));
        }
        let v: Value = serde_json::from_str(&reply.body).map_err(|e| bad_json(&what, e))?;
        Ok(v.get("sha").and_then(Value::as_str).unwrap_or_default().to_string())
    }

    pub(super) async fn gate_ensure_label(&self, name: &str, color: &str, description: &str) -> ForgeResult<()> {
        let what = format!("label {name}");
        let body = json!({"name": name, "color": color, "description": description});
        let url = self.url(&format!("/labels/{}", encode(name)));
        let reply = self.idempotent_write(Method::PATCH, &what, &url, Some(&body)).await?;
        if reply.status.is_success() {
            return Ok(());
        }
        if reply.status != StatusCode::NOT_FOUND {
            return Err(api_error(&what, &reply));
        }
        let reply = self.refused_only_write(&what, &self.url("/labels"), &body).await?;
        if reply.status.is_success() { Ok(()) } else { Err(api_error(&what, &reply)) }
    }
}
