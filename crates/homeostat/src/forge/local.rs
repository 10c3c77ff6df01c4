//! The local forge: issues, comments and pull requests as JSON files, so the whole loop
//! runs on one machine with no token.
//!
//! Layout (DESIGN.md): `issues/<n>.json` `{number, title, body, labels[], state,
//! comments:[{id, body, author, created_at}]}`, `pulls/<n>.json` likewise plus `{head,
//! base, draft}`, `discussions/<n>.json` `{number, title, body, labels[], closed, url}` (read
//! only), `collaborators.json` `{"login": "admin|maintain|write|triage|read"}`.
//! Issues and pull requests share one number sequence, as on GitHub. Every write
//! happens under an exclusive lock on `.lock` and replaces the file atomically (write
//! to a temporary file, then rename), so a killed run never leaves half a file.

use std::collections::BTreeMap;
use std::fs::{self, File};
use std::path::{Path, PathBuf};

use async_trait::async_trait;
use serde::{Deserialize, Serialize, de::DeserializeOwned};

use super::*;

pub struct LocalForge {
    dir: PathBuf,
    /// Stamps comments and closes (the run's clock, so a pinned run stays consistent).
    clock: crate::clock::Clock,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct IssueFile {
    #[serde(flatten)]
    issue: Issue,
    #[serde(default)]
    comments: Vec<Comment>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct PullFile {
    #[serde(flatten)]
    pull: PullRequest,
    #[serde(default)]
    comments: Vec<Comment>,
}

/// The login the local forge writes as.
pub const LOCAL_BOT: &str = "homeostat[bot]";

impl LocalForge {
    pub fn open(dir: &Path) -> crate::Result<Self> {
        for sub in ["issues", "pulls"] {
            fs::create_dir_all(dir.join(sub)).map_err(|e| crate::Error::io(dir.join(sub), e))?;
        }
        let forge = Self { dir: dir.to_path_buf(), clock: crate::clock::Clock::system() };
        forge.locked(|| {
            forge.remove_stale_temporaries();
            Ok(())
        })?;
        Ok(forge)
    }

    /// Temporaries are only written under the lock, so any found while holding it were
    /// left by a run that was killed mid-write.
    fn remove_stale_temporaries(&self) {
        for sub in ["issues", "pulls"] {
            let Ok(entries) = fs::read_dir(self.dir.join(sub)) else { continue };
            for entry in entries.flatten() {
                let name = entry.file_name();
                let name = name.to_string_lossy();
                if name.starts_with('.') && name.contains(".tmp") {
                    let _ = fs::remove_file(entry.path());
                }
            }
        }
    }

    /// Stamps what it writes with `clock`.
    pub fn with_clock(self, clock: crate::clock::Clock) -> Self {
        Self { clock, ..self }
    }

    fn now(&self) -> String {
        self.clock.now_seconds().to_string()
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn err(&self, path: &Path, message: impl std::fmt::Display) -> ForgeError {
        ForgeError::Local { path: path.to_path_buf(), message: message.to_string() }
    }

    /// Holds the forge's lock for the duration of `f`.
    fn locked<T>(&self, f: impl FnOnce() -> ForgeResult<T>) -> ForgeResult<T> {
        let path = self.dir.join(".lock");
        let file =
            File::options().create(true).truncate(false).write(true).open(&path).map_err(|e| self.err(&path, e))?;
        file.lock().map_err(|e| self.err(&path, e))?;
        let result = f();
        let _ = file.unlock();
        result
    }

    fn read<T: DeserializeOwned>(&self, path: &Path) -> ForgeResult<T> {
        let text = fs::read_to_string(path).map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => ForgeError::NotFound { forge: "local", what: path.display().to_string() },
            _ => self.err(path, e),
        })?;
        serde_json::from_str(&text).map_err(|e| self.err(path, format!("line {}: {e}", e.line())))
    }

    fn write<T: Serialize>(&self, path: &Path, value: &T) -> ForgeResult<()> {
        let text = serde_json::to_string_pretty(value).map_err(|e| self.err(path, e))?;
        crate::files::write_whole(path, (text + "\n").as_bytes()).map_err(|e| self.err(path, e))
    }

    fn issue_path(&self, n: u64) -> PathBuf {
        self.dir.join("issues").join(format!("{n}.json"))
    }

    fn pull_path(&self, n: u64) -> PathBuf {
        self.dir.join("pulls").join(format!("{n}.json"))
    }

    /// Numbers of the files in `sub`, ascending.
    fn numbers(&self, sub: &str) -> ForgeResult<Vec<u64>> {
        let dir = self.dir.join(sub);
        let mut numbers: Vec<u64> = fs::read_dir(&dir)
            .map_err(|e| self.err(&dir, e))?
            .filter_map(|entry| {
                let name = entry.ok()?.file_name();
                name.to_str()?.strip_suffix(".json")?.parse().ok()
            })
            .collect();
        numbers.sort_unstable();
        Ok(numbers)
    }

    fn next_number(&self) -> ForgeResult<u64> {
        let last = self.numbers("issues")?.into_iter().chain(self.numbers("pulls")?).max().unwrap_or(0);
        Ok(last + 1)
    }

    fn url(&self, kind: &str, n: u64) -> String {
        format!("{}/{kind}/{n}.json", self.dir.display())
    }

    /// Comments live in the issue's or the pull request's file, whichever has the number.
    fn with_comments<T>(&self, number: u64, f: impl FnOnce(&mut Vec<Comment>) -> T) -> ForgeResult<T> {
        let path = self.issue_path(number);
        if path.exists() {
            let mut file: IssueFile = self.read(&path)?;
            let out = f(&mut file.comments);
            self.write(&path, &file)?;
            return Ok(out);
        }
        let path = self.pull_path(number);
        let mut file: PullFile = self.read(&path)?;
        let out = f(&mut file.comments);
        self.write(&path, &file)?;
        Ok(out)
    }

    fn comments_of(&self, number: u64) -> ForgeResult<Vec<Comment>> {
        let path = self.issue_path(number);
        if path.exists() {
            return Ok(self.read::<IssueFile>(&path)?.comments);
        }
        Ok(self.read::<PullFile>(&self.pull_path(number))?.comments)
    }

    fn update_labels(&self, number: u64, f: impl FnOnce(&mut Vec<String>)) -> ForgeResult<()> {
        self.locked(|| {
            let path = self.issue_path(number);
            if path.exists() {
                let mut file: IssueFile = self.read(&path)?;
                f(&mut file.issue.labels);
                return self.write(&path, &file);
            }
            let path = self.pull_path(number);
            let mut file: PullFile = self.read(&path)?;
            f(&mut file.pull.labels);
            self.write(&path, &file)
        })
    }
}

#[async_trait]
impl Forge for LocalForge {
    fn kind(&self) -> &'static str {
        "local"
    }

    fn repo(&self) -> String {
        self.dir.display().to_string()
    }

    async fn is_own(&self, author: &str) -> ForgeResult<bool> {
        Ok(author == LOCAL_BOT)
    }

    async fn list_issues(&self, label: &str, state: StateFilter) -> ForgeResult<Vec<Issue>> {
        let mut out = Vec::new();
        for n in self.numbers("issues")? {
            let file: IssueFile = self.read(&self.issue_path(n))?;
            if state.admits(file.issue.state) && (label.is_empty() || file.issue.has_label(label)) {
                out.push(file.issue);
            }
        }
        Ok(out)
    }

    async fn get_issue(&self, number: u64) -> ForgeResult<Issue> {
        Ok(self.read::<IssueFile>(&self.issue_path(number))?.issue)
    }

    async fn create_issue(&self, new: &NewIssue) -> ForgeResult<Issue> {
        self.locked(|| {
            let number = self.next_number()?;
            let issue = Issue {
                number,
                title: new.title.clone(),
                body: new.body.clone(),
                labels: dedup_labels(&new.labels),
                state: State::Open,
                url: self.url("issues", number),
                author: LOCAL_BOT.into(),
                created_at: self.now(),
                closed_at: None,
            };
            self.write(&self.issue_path(number), &IssueFile { issue: issue.clone(), comments: Vec::new() })?;
            Ok(issue)
        })
    }

    async fn update_issue(&self, number: u64, update: &IssueUpdate) -> ForgeResult<Issue> {
        self.locked(|| {
            let path = self.issue_path(number);
            let mut file: IssueFile = self.read(&path)?;
            if let Some(title) = &update.title {
                file.issue.title.clone_from(title);
            }
            if let Some(body) = &update.body {
                file.issue.body.clone_from(body);
            }
            if let Some(state) = update.state {
                if state != file.issue.state {
                    file.issue.closed_at = (state == State::Closed).then(|| self.now());
                }
                file.issue.state = state;
            }
            if let Some(labels) = &update.labels {
                file.issue.labels = dedup_labels(labels);
            }
            self.write(&path, &file)?;
            Ok(file.issue)
        })
    }

    async fn add_labels(&self, number: u64, labels: &[String]) -> ForgeResult<()> {
        self.update_labels(number, |have| {
            have.extend(labels.iter().cloned());
            *have = dedup_labels(have);
        })
    }

    async fn remove_label(&self, number: u64, label: &str) -> ForgeResult<()> {
        self.update_labels(number, |have| have.retain(|l| !l.eq_ignore_ascii_case(label)))
    }

    async fn list_comments(&self, number: u64) -> ForgeResult<Vec<Comment>> {
        self.comments_of(number)
    }

    async fn create_comment(&self, number: u64, body: &str) -> ForgeResult<Comment> {
        self.locked(|| {
            // Comment ids are unique across the forge: number × 1e6 + position.
            self.with_comments(number, |comments| {
                let comment = Comment {
                    id: number * 1_000_000 + comments.len() as u64 + 1,
                    body: body.to_string(),
                    author: LOCAL_BOT.into(),
                    created_at: self.now(),
                };
                comments.push(comment.clone());
                comment
            })
        })
    }

    async fn update_comment(&self, number: u64, comment_id: u64, body: &str) -> ForgeResult<Comment> {
        self.locked(|| {
            self.with_comments(number, |comments| {
                comments.iter_mut().find(|c| c.id == comment_id).map(|c| {
                    c.body = body.to_string();
                    c.clone()
                })
            })?
            .ok_or(ForgeError::NotFound { forge: "local", what: format!("comment {comment_id} on #{number}") })
        })
    }

    async fn list_pulls(&self, state: StateFilter) -> ForgeResult<Vec<PullRequest>> {
        let mut out = Vec::new();
        for n in self.numbers("pulls")? {
            let file: PullFile = self.read(&self.pull_path(n))?;
            if state.admits(file.pull.state) {
                out.push(file.pull);
            }
        }
        Ok(out)
    }

    async fn list_discussions(&self, label: &str) -> ForgeResult<Vec<Discussion>> {
        if !self.dir.join("discussions").is_dir() {
            return Ok(Vec::new());
        }
        let mut out = Vec::new();
        for n in self.numbers("discussions")? {
            let d: Discussion = self.read(&self.dir.join("discussions").join(format!("{n}.json")))?;
            if !d.closed && d.labels.iter().any(|l| l.eq_ignore_ascii_case(label)) {
                out.push(d);
            }
        }
        Ok(out)
    }

    async fn get_pull(&self, number: u64) -> ForgeResult<PullRequest> {
        Ok(self.read::<PullFile>(&self.pull_path(number))?.pull)
    }

    async fn create_pull(&self, new: &NewPull) -> ForgeResult<PullRequest> {
        self.locked(|| {
            let number = self.next_number()?;
            let pull = PullRequest {
                number,
                title: new.title.clone(),
                body: new.body.clone(),
                labels: Vec::new(),
                state: State::Open,
                head: new.head.clone(),
                base: new.base.clone(),
                draft: new.draft,
                url: self.url("pulls", number),
                author: LOCAL_BOT.into(),
                head_repo: String::new(),
                head_sha: String::new(),
                base_sha: String::new(),
            };
            self.write(&self.pull_path(number), &PullFile { pull: pull.clone(), comments: Vec::new() })?;
            Ok(pull)
        })
    }

    async fn update_pull(&self, number: u64, update: &PullUpdate) -> ForgeResult<PullRequest> {
        self.locked(|| {
            let path = self.pull_path(number);
            let mut file: PullFile = self.read(&path)?;
            if let Some(title) = &update.title {
                file.pull.title.clone_from(title);
            }
            if let Some(body) = &update.body {
                file.pull.body.clone_from(body);
            }
            if let Some(state) = update.state {
                file.pull.state = state;
            }
            self.write(&path, &file)?;
            Ok(file.pull)
        })
    }

    async fn permission(&self, login: &str) -> ForgeResult<Permission> {
        let path = self.dir.join("collaborators.json");
        if !path.exists() {
            return Ok(Permission::None);
        }
        let map: BTreeMap<String, String> = self.read(&path)?;
        Ok(map.get(login).map_or(Permission::None, |p| Permission::parse(p)))
    }

    async fn default_branch(&self) -> ForgeResult<String> {
        Ok("main".into())
    }
    async fn workflow_dispatch(
        &self,
        workflow: &str,
        git_ref: &str,
        inputs: &BTreeMap<String, String>,
    ) -> ForgeResult<()> {
        self.record_action(
            serde_json::json!({"action": "workflow_dispatch", "workflow": workflow, "ref": git_ref, "inputs": inputs}),
        )
    }
    async fn repository_dispatch(&self, event_type: &str, client_payload: &serde_json::Value) -> ForgeResult<()> {
        self.record_action(serde_json::json!({"action": "repository_dispatch", "event_type": event_type, "client_payload": client_payload}))
    }
    async fn rerun_failed_jobs(&self, run_id: u64) -> ForgeResult<()> {
        self.record_action(serde_json::json!({"action": "rerun_failed_jobs", "run_id": run_id}))
    }
    async fn required_checks(&self, branch: &str, sha: &str) -> ForgeResult<RequiredChecks> {
        // `checks.json`: {"required": {"<branch>": [names]}, "results": {"<sha>": {"<name>": "success|failure|pending"}}};
        // no file: the repository requires no checks.
        let path = self.dir.join("checks.json");
        if !path.is_file() {
            return Ok(RequiredChecks::Green { required: Vec::new() });
        }
        let file: serde_json::Value = self.read(&path)?;
        let names = file.pointer(&format!("/required/{}", branch.replace('~', "~0").replace('/', "~1")));
        let names: Vec<String> = names
            .and_then(|v| v.as_array())
            .into_iter()
            .flatten()
            .filter_map(|v| v.as_str().map(String::from))
            .collect();
        let outcome = |name: &str| match file.get("results").and_then(|r| r.get(sha)).and_then(|r| r.get(name)) {
            Some(v) if v == "success" => Some(true),
            Some(v) if v == "failure" => Some(false),
            _ => None,
        };
        Ok(RequiredChecks::from_outcomes(names.iter().map(|n| (n.clone(), outcome(n))).collect()))
    }
    async fn mark_ready(&self, number: u64) -> ForgeResult<()> {
        self.locked(|| {
            let path = self.pull_path(number);
            let mut file: PullFile = self.read(&path)?;
            file.pull.draft = false;
            self.write(&path, &file)
        })
    }
    async fn merge_pull(&self, number: u64, sha: &str) -> ForgeResult<String> {
        self.locked(|| {
            let path = self.pull_path(number);
            let mut file: PullFile = self.read(&path)?;
            if file.pull.state != State::Open || file.pull.draft {
                return Err(self.err(&path, "only an open, non-draft pull request merges"));
            }
            file.pull.state = State::Closed;
            self.write(&path, &file)
        })?;
        self.record_action(serde_json::json!({"action": "merge", "pr": number, "sha": sha}))?;
        Ok(sha.to_string())
    }
    async fn ensure_label(&self, name: &str, color: &str, description: &str) -> ForgeResult<()> {
        self.locked(|| {
            let path = self.dir.join("labels.json");
            let mut labels: BTreeMap<String, serde_json::Value> =
                if path.is_file() { self.read(&path)? } else { BTreeMap::new() };
            labels.insert(name.into(), serde_json::json!({"color": color, "description": description}));
            self.write(&path, &labels)
        })
    }
    async fn cache_delete(&self, key: &str, git_ref: Option<&str>) -> ForgeResult<u64> {
        // The local forge holds no caches: the request is recorded, nothing is deleted.
        self.record_action(serde_json::json!({"action": "cache_delete", "key": key, "ref": git_ref}))?;
        Ok(0)
    }
}

impl LocalForge {
    /// Appends one Actions operation to `actions.jsonl`, so tests and demos can see it.
    fn record_action(&self, mut line: serde_json::Value) -> ForgeResult<()> {
        use std::io::Write;
        if let Some(map) = line.as_object_mut() {
            map.insert("ts".into(), serde_json::Value::String(self.now()));
        }
        let path = self.dir.join("actions.jsonl");
        self.locked(|| {
            let mut file =
                fs::OpenOptions::new().create(true).append(true).open(&path).map_err(|e| self.err(&path, e))?;
            file.write_all(format!("{line}\n").as_bytes()).map_err(|e| self.err(&path, e))
        })
    }

    /// The Actions operations recorded so far (`actions.jsonl`), oldest first.
    pub fn actions(&self) -> ForgeResult<Vec<serde_json::Value>> {
        let path = self.dir.join("actions.jsonl");
        match fs::read_to_string(&path) {
            Ok(text) => Ok(text.lines().filter_map(|l| serde_json::from_str(l).ok()).collect()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Vec::new()),
            Err(e) => Err(self.err(&path, e)),
        }
    }
}

fn dedup_labels(labels: &[String]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for l in labels {
        if !out.iter().any(|o| o.eq_ignore_ascii_case(l)) {
            out.push(l.clone());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn block<F: std::future::Future>(f: F) -> F::Output {
        tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(f)
    }

    #[test]
    fn issues_and_pulls_share_numbers_and_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let forge = LocalForge::open(dir.path()).unwrap();
        block(async {
            let new = NewIssue { title: "T".into(), body: "B".into(), labels: vec!["a".into(), "A".into()] };
            let i = forge.create_issue(&new).await.unwrap();
            assert_eq!((i.number, i.labels.len()), (1, 1));
            let p = forge
                .create_pull(&NewPull {
                    title: "P".into(),
                    head: "h".into(),
                    base: "main".into(),
                    draft: true,
                    ..Default::default()
                })
                .await
                .unwrap();
            assert_eq!(p.number, 2);
            let c = forge.create_comment(1, "hello").await.unwrap();
            forge.update_comment(1, c.id, "edited").await.unwrap();
            assert_eq!(forge.list_comments(1).await.unwrap()[0].body, "edited");
            forge.update_issue(1, &IssueUpdate { state: Some(State::Closed), ..Default::default() }).await.unwrap();
            assert!(forge.list_issues("a", StateFilter::Open).await.unwrap().is_empty());
            assert_eq!(forge.list_issues("a", StateFilter::All).await.unwrap().len(), 1);
            let raw: serde_json::Value =
                serde_json::from_str(&std::fs::read_to_string(dir.path().join("issues/1.json")).unwrap()).unwrap();
            assert_eq!(raw["comments"][0]["body"], "edited");
            assert_eq!(raw["state"], "closed");
        });
    }

    #[test]
    fn permissions_come_from_collaborators_json() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("collaborators.json"), r#"{"ann": "maintain", "bob": "read"}"#).unwrap();
        let forge = LocalForge::open(dir.path()).unwrap();
        block(async {
            assert!(forge.permission("ann").await.unwrap().can_write());
            assert!(!forge.permission("bob").await.unwrap().can_write());
            assert_eq!(forge.permission("eve").await.unwrap(), Permission::None);
        });
    }
}
