//! GitHub Actions operations for runbook repairs (hs-ops), as methods on [`GithubForge`]:
//! start a workflow, re-run a run's failed jobs, delete caches by key. Kept apart from
//! the issue and pull-request code; the `Forge` impl in `github.rs` delegates here.
//!
//! A dispatch creates a run and cannot be looked up afterwards, so it is sent again only
//! after a rate limit (GitHub did nothing), never after a 5xx or a dropped connection.

use http::{Method, StatusCode};
use serde_json::json;

use super::*;

impl GithubForge {
    /// `POST /repos/{repo}/actions/workflows/{workflow}/dispatches` (204; 200 with the run
    /// on newer API versions).
    pub(super) async fn actions_workflow_dispatch(
        &self,
        workflow: &str,
        git_ref: &str,
        inputs: &std::collections::BTreeMap<String, String>,
    ) -> ForgeResult<()> {
        let what = format!("dispatch {workflow} on {git_ref}");
        let url = self.url(&format!("/actions/workflows/{}/dispatches", encode(workflow)));
        let body = json!({"ref": git_ref, "inputs": inputs});
        for attempt in 1..=self.policy.max_attempts {
            self.pace_write().await;
            let reply = self
                .send_once(&Method::POST, &url, Some(&body))
                .await
                .map_err(|message| ForgeError::Transport { forge: FORGE, what: what.clone(), message })?;
            if reply.status.is_success() {
                return Ok(());
            }
            match rate_limit_wait(&reply, &self.policy) {
                Some(wait) if attempt < self.policy.max_attempts => {
                    self.wait_before_retry(&what, wait, attempt).await?
                }
                _ => return Err(api_error(&what, &reply)),
            }
        }
        Err(ForgeError::Transport { forge: FORGE, what, message: "rate limited on every attempt".into() })
    }

    /// `POST /repos/{repo}/actions/runs/{run_id}/rerun-failed-jobs` (201).
    pub(super) async fn actions_rerun_failed_jobs(&self, run_id: u64) -> ForgeResult<()> {
        let what = format!("re-run failed jobs of run {run_id}");
        let url = self.url(&format!("/actions/runs/{run_id}/rerun-failed-jobs"));
        let reply = self.idempotent_write(Method::POST, &what, &url, Some(&json!({}))).await?;
        match reply.status {
            s if s.is_success() => Ok(()),
            StatusCode::NOT_FOUND => Err(ForgeError::NotFound { forge: FORGE, what }),
            _ => Err(api_error(&what, &reply)),
        }
    }

    /// `DELETE /repos/{repo}/actions/caches?key=…[&ref=…]` (200 with `total_count`; 404
    /// when no cache has that key, which deletes nothing).
    pub(super) async fn actions_cache_delete(&self, key: &str, git_ref: Option<&str>) -> ForgeResult<u64> {
        let what = format!("delete caches {key}");
        let mut url = self.url(&format!("/actions/caches?key={}", encode(key)));
        if let Some(r) = git_ref {
            url.push_str(&format!("&ref={}", encode(r)));
        }
        let reply = self.idempotent_write(Method::DELETE, &what, &url, None).await?;
        match reply.status {
            s if s.is_success() => {
                let value: Value = serde_json::from_str(&reply.body).unwrap_or(Value::Null);
                Ok(value.get("total_count").and_then(Value::as_u64).unwrap_or(0))
            }
            StatusCode::NOT_FOUND => Ok(0),
            _ => Err(api_error(&what, &reply)),
        }
    }
}
