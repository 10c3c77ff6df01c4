//! The ledger: append-only JSON lines `{ts, kind, key, id, ...}` that remember what
//! happened between runs (quotas, cooldowns, budgets, runbook statistics, audit).
//!
//! Locally it is a file (`.homeostat/ledger.jsonl`). In Actions the file is kept on an
//! orphan branch (`homeostat-ledger`): [`BranchSync::pull`] merges the branch's lines
//! into the file before a run, [`BranchSync::push`] commits the union back, fetching and
//! merging again when someone else pushed first. Lines only ever append and carry a
//! unique `id`, so every conflict resolves by taking the union.

use std::collections::BTreeSet;
use std::fs::{self, File, OpenOptions};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};

use crate::clock::Clock;
use crate::error::{Error, Result};

/// Every kind of ledger line a job writes and another reads, in one place.
pub mod kinds {
    /// hs-issue opened an issue; key = fingerprint; fields `issue`, `occurrences`.
    pub const ISSUE_CREATED: &str = "issue.created";
    /// hs-issue held a new fingerprint back by a quota; key = fingerprint.
    pub const ISSUE_HELD: &str = "issue.held";
    /// hs-issue filed an issue from one piece of user feedback; key = feedback id; field `issue`.
    pub const FEEDBACK_FILED: &str = "feedback.filed";
    /// hs-issue held user feedback back by `issues.feedback_per_day`; key = feedback id;
    /// field `feedback` (scrubbed), filed by a later run.
    pub const FEEDBACK_HELD: &str = "feedback.held";
    /// Two runs at once filed one piece of feedback; hs-issue closed its own, later issue;
    /// key = feedback id; fields `issue` (closed), `kept`. Reports count the piece once.
    pub const FEEDBACK_FILED_TWICE: &str = "feedback.filed_twice";
    /// hs-issue counted a known issue's later occurrences; key = issue; fields `issue`,
    /// `occurrences`, `fingerprint`.
    pub const ISSUE_SEEN: &str = "issue.seen";
    /// A closed issue came back (a regression) and hs-issue reopened it; key = issue;
    /// fields as `issue.seen`.
    pub const ISSUE_REOPENED: &str = "issue.reopened";
    /// Two runs at once filed one error; hs-issue closed its own, later issue and counted
    /// the occurrences on the older one (an `issue.seen` line); key = fingerprint; fields
    /// `issue` (closed), `kept`, `occurrences`. Reports take back that issue and its count.
    pub const ISSUE_FILED_TWICE: &str = "issue.filed_twice";
    /// hs-classify gave an issue its risk class; key = issue; fields `class`, `auto_fix`.
    pub const ISSUE_CLASSIFIED: &str = "issue.classified";
    /// One coding-agent run; key = issue; fields `agent`, `mode`, `seconds`, `usd`, `turns`, `exit`.
    pub const AGENT_RUN: &str = "agent.run";
    /// How an hs-agent run ended; key = issue; fields `outcome` (`pr-opened`, …), `pr`.
    pub const AGENT_OUTCOME: &str = "agent.outcome";
    /// A bot pull request merged; key = pr.
    pub const PR_MERGED: &str = "pr.merged";
    /// hs-canary's verdict; key = decision; fields `decision`, `reason`.
    pub const CANARY_DECISION: &str = "canary.decision";
    /// One model call; key = template; field `usd`.
    pub const LLM_CALL: &str = "llm.call";
}

pub use homeostat_core::ledger::Entry;

/// The ledger file, and the clock that stamps its lines (the run's one clock).
#[derive(Debug, Clone)]
pub struct Ledger {
    path: PathBuf,
    clock: Clock,
}

impl Ledger {
    /// A ledger stamped by the system clock.
    pub fn open(path: impl Into<PathBuf>) -> Self {
        Self { path: path.into(), clock: Clock::system() }
    }

    /// A ledger stamped by `clock` (the app context's).
    pub fn with_clock(path: impl Into<PathBuf>, clock: Clock) -> Self {
        Self { path: path.into(), clock }
    }

    /// The run's "now": decisions that compare with ledger lines read this.
    pub fn now(&self) -> jiff::Timestamp {
        self.clock.now()
    }

    pub fn clock(&self) -> Clock {
        self.clock
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Appends one entry now. `data` must be a JSON object (other values are stored
    /// under `value`).
    pub fn append(&self, kind: &str, key: &str, data: serde_json::Value) -> Result<Entry> {
        self.append_at(self.clock.now(), kind, key, data)
    }

    /// Appends one entry with a given time (tests and replays).
    pub fn append_at(&self, ts: jiff::Timestamp, kind: &str, key: &str, data: serde_json::Value) -> Result<Entry> {
        let data = match data {
            serde_json::Value::Object(map) => map,
            serde_json::Value::Null => serde_json::Map::new(),
            other => serde_json::Map::from_iter([("value".to_string(), other)]),
        };
        let entry =
            Entry { ts, kind: kind.into(), key: key.into(), id: uuid::Uuid::new_v4().simple().to_string(), data };
        let mut line = serde_json::to_string(&entry).map_err(|e| Error::Failed(e.to_string()))?;
        line.push('\n');
        if let Some(dir) = self.path.parent().filter(|d| !d.as_os_str().is_empty()) {
            fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
        }
        let mut file =
            OpenOptions::new().create(true).append(true).open(&self.path).map_err(|e| Error::io(&self.path, e))?;
        // One write of one whole line under O_APPEND: concurrent writers never interleave.
        file.lock().map_err(|e| Error::io(&self.path, e))?;
        let written = file.write_all(line.as_bytes());
        let _ = file.unlock();
        written.map_err(|e| Error::io(&self.path, e))?;
        Ok(entry)
    }

    /// Every readable entry, oldest first. A damaged line is skipped with a warning.
    pub fn entries(&self) -> Result<Vec<Entry>> {
        let file = match File::open(&self.path) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(Error::io(&self.path, e)),
        };
        let mut out = Vec::new();
        for (i, line) in BufReader::new(file).lines().enumerate() {
            let line = line.map_err(|e| Error::io(&self.path, e))?;
            if line.trim().is_empty() {
                continue;
            }
            match serde_json::from_str::<Entry>(&line) {
                Ok(entry) => out.push(entry),
                Err(e) => tracing::warn!("{}:{}: skipping a damaged ledger line: {e}", self.path.display(), i + 1),
            }
        }
        Ok(out)
    }

    /// Entries of `kind` at or after `since`.
    pub fn since(&self, kind: &str, since: jiff::Timestamp) -> Result<Vec<Entry>> {
        Ok(self.entries()?.into_iter().filter(|e| e.kind == kind && e.ts >= since).collect())
    }

    /// How many entries of `kind` (and `key`, when given) are at or after `since`.
    pub fn count(&self, kind: &str, key: Option<&str>, since: jiff::Timestamp) -> Result<usize> {
        Ok(self.since(kind, since)?.iter().filter(|e| key.is_none_or(|k| e.key == k)).count())
    }

    /// The most recent entry of `kind` and `key`.
    pub fn last(&self, kind: &str, key: &str) -> Result<Option<Entry>> {
        Ok(self.entries()?.into_iter().rev().find(|e| e.kind == kind && e.key == key))
    }

    /// Adds lines not yet in the file (by `id`, else by the whole line), keeping order
    /// by time. Returns how many were added.
    fn merge_lines(&self, incoming: &str) -> Result<usize> {
        let mut entries = self.entries()?;
        let mut seen: BTreeSet<String> = entries.iter().map(identity).collect();
        let mut added = 0;
        for line in incoming.lines().filter(|l| !l.trim().is_empty()) {
            if let Ok(entry) = serde_json::from_str::<Entry>(line)
                && seen.insert(identity(&entry))
            {
                entries.push(entry);
                added += 1;
            }
        }
        if added > 0 {
            entries.sort_by_key(|e| e.ts);
            self.rewrite(&entries)?;
        }
        Ok(added)
    }

    fn rewrite(&self, entries: &[Entry]) -> Result<()> {
        let mut text = String::new();
        for e in entries {
            text.push_str(&serde_json::to_string(e).map_err(|e| Error::Failed(e.to_string()))?);
            text.push('\n');
        }
        crate::files::write_whole(&self.path, text.as_bytes())
    }
}

fn identity(e: &Entry) -> String {
    if e.id.is_empty() { serde_json::to_string(e).unwrap_or_default() } else { e.id.clone() }
}

/// Keeps the ledger file in step with an orphan branch on a git remote.
#[derive(Debug, Clone)]
pub struct BranchSync {
    /// A checkout whose remote holds the branch.
    pub repo_dir: PathBuf,
    pub remote: String,
    pub branch: String,
    /// The file's name on the branch.
    pub file_name: String,
    pub max_attempts: u32,
    /// The environment git runs with (the job's token, when there is one).
    pub env: crate::gha::Env,
}

impl BranchSync {
    pub fn new(repo_dir: impl Into<PathBuf>, branch: impl Into<String>) -> Self {
        Self {
            repo_dir: repo_dir.into(),
            remote: "origin".into(),
            branch: branch.into(),
            file_name: "ledger.jsonl".into(),
            max_attempts: 5,
            env: crate::gha::Env::default(),
        }
    }

    fn git(&self, args: &[&str]) -> Result<std::process::Output> {
        crate::git::command(&self.repo_dir, &self.env)
            .args(args)
            .output()
            .map_err(|e| Error::Git(format!("cannot run git: {e}")))
    }

    /// Fetches the branch; `None` when it does not exist yet.
    fn fetch(&self) -> Result<Option<String>> {
        let refspec = format!("+refs/heads/{}:refs/homeostat/ledger", self.branch);
        let out = self.git(&["fetch", "--quiet", "--no-tags", &self.remote, &refspec])?;
        if !out.status.success() {
            let err = String::from_utf8_lossy(&out.stderr);
            if err.contains("couldn't find remote ref") || err.contains("could not find remote ref") {
                return Ok(None);
            }
            return Err(Error::Git(format!("fetch {}: {}", self.branch, err.trim())));
        }
        let head = self.git(&["rev-parse", "refs/homeostat/ledger"])?;
        Ok(Some(String::from_utf8_lossy(&head.stdout).trim().to_string()))
    }

    /// Merges the branch's lines into the local ledger file.
    pub fn pull(&self, ledger: &Ledger) -> Result<usize> {
        if self.fetch()?.is_none() {
            return Ok(0);
        }
        let spec = format!("refs/homeostat/ledger:{}", self.file_name);
        let out = self.git(&["show", &spec])?;
        if !out.status.success() {
            return Ok(0);
        }
        ledger.merge_lines(&String::from_utf8_lossy(&out.stdout))
    }

    /// Commits the local ledger to the branch and pushes it, merging and retrying when
    /// the remote moved in between.
    pub fn push(&self, ledger: &Ledger) -> Result<()> {
        for attempt in 1..=self.max_attempts {
            let parent = self.fetch()?;
            if parent.is_some() {
                self.pull(ledger)?;
            }
            if self.unchanged(ledger, parent.as_deref())? {
                return Ok(());
            }
            let commit = self.commit(ledger, parent.as_deref())?;
            let refspec = format!("{commit}:refs/heads/{}", self.branch);
            let out = self.git(&["push", "--quiet", &self.remote, &refspec])?;
            if out.status.success() {
                return Ok(());
            }
            tracing::info!(
                "ledger push attempt {attempt} rejected, fetching and merging again: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            );
            std::thread::sleep(std::time::Duration::from_millis(200 * u64::from(attempt)));
        }
        Err(Error::Git(format!("could not push the ledger to {} after {} attempts", self.branch, self.max_attempts)))
    }

    /// Whether the branch already holds exactly the local file.
    fn unchanged(&self, ledger: &Ledger, parent: Option<&str>) -> Result<bool> {
        let Some(parent) = parent else { return Ok(false) };
        let repo = git2::Repository::open(&self.repo_dir)?;
        let tree = repo.find_commit(git2::Oid::from_str(parent)?)?.tree()?;
        let bytes = fs::read(ledger.path()).unwrap_or_default();
        let local = git2::Oid::hash_object(git2::ObjectType::Blob, &bytes)?;
        Ok(tree.get_name(&self.file_name).is_some_and(|e| e.id() == local))
    }

    /// A commit whose tree holds only the ledger file, on top of `parent`.
    fn commit(&self, ledger: &Ledger, parent: Option<&str>) -> Result<String> {
        let repo = git2::Repository::open(&self.repo_dir)?;
        let bytes = fs::read(ledger.path()).unwrap_or_default();
        let blob = repo.blob(&bytes)?;
        let mut tree = repo.treebuilder(None)?;
        tree.insert(&self.file_name, blob, 0o100644)?;
        let tree = repo.find_tree(tree.write()?)?;
        let sig = git2::Signature::now("homeostat[bot]", "homeostat[bot]@users.noreply.github.com")?;
        let parents = match parent {
            Some(p) => vec![repo.find_commit(git2::Oid::from_str(p)?)?],
            None => Vec::new(),
        };
        let parent_refs: Vec<&git2::Commit<'_>> = parents.iter().collect();
        let oid = repo.commit(None, &sig, &sig, "homeostat: ledger", &tree, &parent_refs)?;
        Ok(oid.to_string())
    }
}

/// The ledger of one run. In Actions (with `ledger.branch` set and `repo_dir` a git
/// checkout) the branch's lines are merged in when it opens and the result is pushed back
/// by [`Self::finish`], with the job's token (through `env`, see [`crate::git`]). Every
/// job opens its ledger this way, through the app context.
pub struct LedgerSession {
    pub ledger: Ledger,
    sync: Option<BranchSync>,
}

impl LedgerSession {
    pub fn open(config: &crate::settings::Config, env: &crate::gha::Env, repo_dir: &Path, clock: Clock) -> Self {
        let ledger = Ledger::with_clock(repo_dir.join(&config.ledger.path), clock);
        let wanted = env.in_actions() && !config.ledger.branch.is_empty() && repo_dir.join(".git").exists();
        let sync =
            wanted.then(|| BranchSync { env: env.clone(), ..BranchSync::new(repo_dir, config.ledger.branch.clone()) });
        if let Some(sync) = &sync
            && let Err(e) = sync.pull(&ledger)
        {
            tracing::warn!("ledger: could not read branch {}: {e}; limits count this checkout only", sync.branch);
        }
        Self { ledger, sync }
    }

    /// Pushes the ledger to its branch. A failure is returned as a warning for the caller
    /// to show: the run's work is done, only the next run's view of it is late.
    pub fn finish(&self) -> Option<String> {
        let sync = self.sync.as_ref()?;
        let e = sync.push(&self.ledger).err()?;
        let message = format!(
            "the ledger could not be pushed to branch {} ({e}); the next run will not see this one",
            sync.branch
        );
        tracing::warn!("{message}");
        Some(message)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn append_count_and_last() {
        let dir = tempfile::tempdir().unwrap();
        let ledger = Ledger::open(dir.path().join("sub/ledger.jsonl"));
        let t0 = jiff::Timestamp::from_second(1_700_000_000).unwrap();
        ledger.append_at(t0, "issue.created", "fp1", json!({"issue": 1})).unwrap();
        ledger.append_at(t0 + jiff::SignedDuration::from_hours(2), "issue.created", "fp2", json!({})).unwrap();
        ledger.append("agent.run", "7", json!({"usd": 0.5})).unwrap();
        assert_eq!(ledger.count("issue.created", None, t0).unwrap(), 2);
        assert_eq!(ledger.count("issue.created", None, t0 + jiff::SignedDuration::from_hours(1)).unwrap(), 1);
        assert_eq!(ledger.last("agent.run", "7").unwrap().unwrap().get_f64("usd"), Some(0.5));
    }

    #[test]
    fn damaged_lines_are_skipped() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("l.jsonl");
        let ledger = Ledger::open(&path);
        ledger.append("a", "k", json!({})).unwrap();
        fs::OpenOptions::new().append(true).open(&path).unwrap().write_all(b"{half\n").unwrap();
        ledger.append("a", "k", json!({})).unwrap();
        assert_eq!(ledger.entries().unwrap().len(), 2);
    }

    fn git(dir: &Path, args: &[&str]) {
        let st = std::process::Command::new("git").arg("-C").arg(dir).args(args).output().unwrap();
        assert!(st.status.success(), "git {args:?}: {}", String::from_utf8_lossy(&st.stderr));
    }

    #[test]
    fn branch_sync_merges_concurrent_writers() {
        let dir = tempfile::tempdir().unwrap();
        let remote = dir.path().join("remote.git");
        fs::create_dir_all(&remote).unwrap();
        git(&remote, &["init", "--bare", "--quiet"]);
        let clone = |name: &str| {
            let p = dir.path().join(name);
            fs::create_dir_all(&p).unwrap();
            git(&p, &["init", "--quiet"]);
            git(&p, &["remote", "add", "origin", remote.to_str().unwrap()]);
            p
        };
        let (a, b) = (clone("a"), clone("b"));
        let (la, lb) = (Ledger::open(a.join("l.jsonl")), Ledger::open(b.join("l.jsonl")));
        let (sa, sb) = (BranchSync::new(&a, "homeostat-ledger"), BranchSync::new(&b, "homeostat-ledger"));
        sa.pull(&la).unwrap();
        sb.pull(&lb).unwrap();
        la.append("run", "a", json!({})).unwrap();
        lb.append("run", "b", json!({})).unwrap();
        sa.push(&la).unwrap();
        // b started from the same empty state: its push must merge a's line, not drop it.
        sb.push(&lb).unwrap();
        sa.pull(&la).unwrap();
        let keys: BTreeSet<String> = la.entries().unwrap().into_iter().map(|e| e.key).collect();
        assert_eq!(keys, BTreeSet::from(["a".to_string(), "b".to_string()]));
        assert_eq!(lb.entries().unwrap().len(), 2);
    }
}
