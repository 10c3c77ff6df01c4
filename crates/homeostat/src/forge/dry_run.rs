//! `--dry-run`: reads go to the real forge, writes are printed on stderr and not made.

use async_trait::async_trait;

use super::*;

pub struct DryRun {
    inner: Box<dyn Forge>,
}

impl DryRun {
    pub fn new(inner: Box<dyn Forge>) -> Self {
        Self { inner }
    }

    fn would(&self, what: &str, detail: serde_json::Value) {
        let line = serde_json::json!({"dry_run": what, "forge": self.inner.kind(), "write": detail});
        crate::gha::eprint_safe(&line.to_string());
    }
}

#[async_trait]
impl Forge for DryRun {
    fn kind(&self) -> &'static str {
        self.inner.kind()
    }
    fn repo(&self) -> String {
        self.inner.repo()
    }
    fn is_dry_run(&self) -> bool {
        true
    }
    async fn is_own(&self, author: &str) -> ForgeResult<bool> {
        self.inner.is_own(author).await
    }
    async fn list_closed_since(&self, label: &str, since: jiff::Timestamp) -> ForgeResult<Vec<Issue>> {
        self.inner.list_closed_since(label, since).await
    }
    async fn list_issues(&self, label: &str, state: StateFilter) -> ForgeResult<Vec<Issue>> {
        self.inner.list_issues(label, state).await
    }
    async fn get_issue(&self, number: u64) -> ForgeResult<Issue> {
        self.inner.get_issue(number).await
    }
    async fn create_issue(&self, new: &NewIssue) -> ForgeResult<Issue> {
        self.would("create_issue", serde_json::json!(new));
        Ok(Issue {
            number: 0,
            title: new.title.clone(),
            body: new.body.clone(),
            labels: new.labels.clone(),
            state: State::Open,
            url: String::new(),
            author: String::new(),
            created_at: String::new(),
            closed_at: None,
        })
    }
    async fn update_issue(&self, number: u64, update: &IssueUpdate) -> ForgeResult<Issue> {
        self.would("update_issue", serde_json::json!({"number": number, "update": update}));
        let mut issue = self.inner.get_issue(number).await?;
        if let Some(t) = &update.title {
            issue.title.clone_from(t);
        }
        if let Some(b) = &update.body {
            issue.body.clone_from(b);
        }
        if let Some(s) = update.state {
            issue.state = s;
        }
        if let Some(l) = &update.labels {
            issue.labels.clone_from(l);
        }
        Ok(issue)
    }
    async fn add_labels(&self, number: u64, labels: &[String]) -> ForgeResult<()> {
        self.would("add_labels", serde_json::json!({"number": number, "labels": labels}));
        Ok(())
    }
    async fn remove_label(&self, number: u64, label: &str) -> ForgeResult<()> {
        self.would("remove_label", serde_json::json!({"number": number, "label": label}));
        Ok(())
    }
    async fn list_comments(&self, number: u64) -> ForgeResult<Vec<Comment>> {
        self.inner.list_comments(number).await
    }
    async fn create_comment(&self, number: u64, body: &str) -> ForgeResult<Comment> {
        self.would("create_comment", serde_json::json!({"number": number, "body": body}));
        Ok(Comment { id: 0, body: body.to_string(), author: String::new(), created_at: String::new() })
    }
    async fn update_comment(&self, number: u64, comment_id: u64, body: &str) -> ForgeResult<Comment> {
        self.would("update_comment", serde_json::json!({"number": number, "comment_id": comment_id, "body": body}));
        Ok(Comment { id: comment_id, body: body.to_string(), author: String::new(), created_at: String::new() })
    }
    async fn list_pulls(&self, state: StateFilter) -> ForgeResult<Vec<PullRequest>> {
        self.inner.list_pulls(state).await
    }
    async fn list_discussions(&self, label: &str) -> ForgeResult<Vec<Discussion>> {
        self.inner.list_discussions(label).await
    }
    async fn get_pull(&self, number: u64) -> ForgeResult<PullRequest> {
        self.inner.get_pull(number).await
    }
    async fn create_pull(&self, new: &NewPull) -> ForgeResult<PullRequest> {
        self.would("create_pull", serde_json::json!(new));
        Ok(PullRequest {
            number: 0,
            title: new.title.clone(),
            body: new.body.clone(),
            labels: Vec::new(),
            state: State::Open,
            head: new.head.clone(),
            base: new.base.clone(),
            draft: new.draft,
            url: String::new(),
            author: String::new(),
            head_repo: String::new(),
            head_sha: String::new(),
            base_sha: String::new(),
        })
    }
    async fn update_pull(&self, number: u64, update: &PullUpdate) -> ForgeResult<PullRequest> {
        self.would("update_pull", serde_json::json!({"number": number, "update": update}));
        self.inner.get_pull(number).await
    }
    async fn permission(&self, login: &str) -> ForgeResult<Permission> {
        self.inner.permission(login).await
    }
    async fn default_branch(&self) -> ForgeResult<String> {
        self.inner.default_branch().await
    }
    async fn workflow_dispatch(
        &self,
        workflow: &str,
        git_ref: &str,
        inputs: &std::collections::BTreeMap<String, String>,
    ) -> ForgeResult<()> {
        self.would("workflow_dispatch", serde_json::json!({"workflow": workflow, "ref": git_ref, "inputs": inputs}));
        Ok(())
    }
    async fn repository_dispatch(&self, event_type: &str, client_payload: &serde_json::Value) -> ForgeResult<()> {
        self.would(
            "repository_dispatch",
            serde_json::json!({"event_type": event_type, "client_payload": client_payload}),
        );
        Ok(())
    }
    async fn rerun_failed_jobs(&self, run_id: u64) -> ForgeResult<()> {
        self.would("rerun_failed_jobs", serde_json::json!({"run_id": run_id}));
        Ok(())
    }
    async fn required_checks(&self, branch: &str, sha: &str) -> ForgeResult<RequiredChecks> {
        self.inner.required_checks(branch, sha).await
    }
    async fn mark_ready(&self, number: u64) -> ForgeResult<()> {
        self.would("mark_ready", serde_json::json!({"pr": number}));
        Ok(())
    }
    async fn merge_pull(&self, number: u64, sha: &str) -> ForgeResult<String> {
        self.would("merge_pull", serde_json::json!({"pr": number, "sha": sha}));
        Ok(String::new())
    }
    async fn ensure_label(&self, name: &str, color: &str, description: &str) -> ForgeResult<()> {
        self.would("ensure_label", serde_json::json!({"name": name, "color": color, "description": description}));
        Ok(())
    }
    async fn cache_delete(&self, key: &str, git_ref: Option<&str>) -> ForgeResult<u64> {
        self.would("cache_delete", serde_json::json!({"key": key, "ref": git_ref}));
        Ok(0)
    }
}
